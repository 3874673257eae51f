// Loads the extension's wasm (one module for the worker and the pages) and renders
// the popup. External (not inline) because the CSP allows only 'self' scripts.
// popup_cache.js started reading the cached snapshot; the wasm gets the answer (or
// undefined, and reads it itself).
import init, { popupMain } from './wasm/quizpulse.js';

await init({ module_or_path: new URL('./wasm/quizpulse_bg.wasm', import.meta.url) });
popupMain(document.getElementById('app'), await globalThis.quizpulseCache);
