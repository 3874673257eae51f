// Loads the extension's wasm (one module for the worker and the pages) and renders the
// options page.
// With it, platform.json: what this browser can do (one per package).
import init, { optionsMain } from './wasm/quizpulse.js';

const platform = fetch('platform.json').then((r) => r.json()).catch(() => null);
await init({ module_or_path: new URL('./wasm/quizpulse_bg.wasm', import.meta.url) });
optionsMain(document.getElementById('app'), await platform);
