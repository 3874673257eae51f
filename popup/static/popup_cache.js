// Runs while the page is still being parsed, before the module loader and the wasm
// are loaded (a classic script in <head> runs earlier than any module), and starts
// what the first render needs, so that it waits on none of it:
// - the cached snapshot (chrome.storage.session under the core's SNAPSHOT_KEY);
// - the wasm's compilation, as soon as its bytes arrive (the preload in popup.html);
// - the popup's own place (localStorage under UiState::KEY): the page's first touch of
//   localStorage opens it, which costs milliseconds better spent while files load.
// - platform.json: what this browser can do (one per package).
// - the settings (chrome.storage.local): their language.
// popup.js hands them to the wasm.
// Firefox: `chrome` gives no promises in Manifest V2, `browser` does.
globalThis.quizpulseCache = (globalThis.browser ?? chrome).storage.session
  .get('quizpulse.snapshot')
  .catch((error) => ({ error: String(error?.message ?? error) }));
globalThis.quizpulseSettings = (globalThis.browser ?? chrome).storage.local
  .get('quizpulse.settings')
  .catch((error) => ({ error: String(error?.message ?? error) }));
globalThis.quizpulseWasm = WebAssembly.compileStreaming(fetch('wasm/quizpulse_bg.wasm'));
globalThis.quizpulsePlatform = fetch('platform.json').then((r) => r.json()).catch(() => null);
// Not awaited until popup.js: a failure is reported there, by the wasm's init.
globalThis.quizpulseWasm.catch(() => {});
try {
  globalThis.quizpulsePlace = localStorage.getItem('quizpulse.popup');
} catch {
  // Storage disabled: the popup opens on its first tab.
  globalThis.quizpulsePlace = null;
}
