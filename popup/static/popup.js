// Loads the extension's wasm (one module for the worker and the pages) and renders
// the popup. External (not inline) because the CSP allows only 'self' scripts.
// popup_cache.js started compiling the wasm and reading the cached snapshot, the
// settings and the popup's place; the wasm gets what it read (undefined: it reads it
// itself).
import init, { popupMain } from './wasm/quizpulse.js';

await init({ module_or_path: globalThis.quizpulseWasm ?? new URL('./wasm/quizpulse_bg.wasm', import.meta.url) });
popupMain(
  document.getElementById('app'),
  await globalThis.quizpulseCache,
  globalThis.quizpulsePlace,
  await globalThis.quizpulsePlatform,
  await globalThis.quizpulseSettings,
);
