//! QuizPulse background (wasm).
