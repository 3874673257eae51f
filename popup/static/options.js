// Loads the options page's wasm (the same module as the popup) and renders it.
import init, { optionsMain } from './wasm/quizpulse_popup.js';

await init({ module_or_path: new URL('./wasm/quizpulse_popup_bg.wasm', import.meta.url) });
optionsMain(document.getElementById('app'));
