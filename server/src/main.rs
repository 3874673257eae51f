//! QuizPulse reference server.
fn main() {}
