//! QuizPulse's one wasm module: the service worker ([`quizpulse_background`]) and the
//! popup and options pages ([`quizpulse_popup`]) linked into a single cdylib.
//!
//! Both adapters link the core and its serde code; shipping them as one module pays
//! for that code once (about 100 KB of gzip less than two modules). Nothing runs on
//! instantiation: each loader calls its own entry point after `init()` — the worker's
//! `workerStart` and its handlers, the pages' `popupMain` or `optionsMain` — so the
//! worker's start-up never runs in a page.

pub use quizpulse_background;
pub use quizpulse_popup;
