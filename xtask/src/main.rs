//! Build tooling: `cargo xtask <command>`.
fn main() {}
