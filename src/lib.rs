//! QuizPulse core: every decision the extension makes, with no I/O and no clock.

pub mod wire;
