// Starts reading the cached snapshot (chrome.storage.session under the core's
// SNAPSHOT_KEY) while the page is still being parsed, before the module loader and the
// wasm are loaded: a classic script in <head> runs earlier than any module. popup.js
// hands what it read to the wasm, so the first render already shows the boards.
globalThis.quizpulseCache = chrome.storage.session
  .get('quizpulse.snapshot')
  .catch((error) => ({ error: String(error?.message ?? error) }));
