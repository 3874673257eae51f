// Loads the extension's wasm (one module for the worker and the pages) and renders the
// options page.
// With it, platform.json: what this browser can do (one per package), and the settings
// (chrome.storage.local): their language.
import init, { optionsMain } from './wasm/quizpulse.js';

const platform = fetch('platform.json').then((r) => r.json()).catch(() => null);
const settings = (globalThis.browser ?? chrome).storage.local
  .get('quizpulse.settings')
  .catch((error) => ({ error: String(error?.message ?? error) }));
await init({ module_or_path: new URL('./wasm/quizpulse_bg.wasm', import.meta.url) });
optionsMain(document.getElementById('app'), await platform, await settings);
