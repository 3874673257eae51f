//! QuizPulse popup (wasm).
