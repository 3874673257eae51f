// Loads the extension's wasm (one module for the worker and the pages) and renders the
// options page.
import init, { optionsMain } from './wasm/quizpulse.js';

await init({ module_or_path: new URL('./wasm/quizpulse_bg.wasm', import.meta.url) });
optionsMain(document.getElementById('app'));
