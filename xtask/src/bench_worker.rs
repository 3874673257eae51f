//! `cargo xtask bench`, section `worker`: the live service worker in headless Chromium
//! against the reference server (`tests/e2e/bench/worker.mjs`): upload → notification
//! latency and the worker's JS heap under socket traffic.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::dist;
use crate::setup::Tools;
use crate::util::{cargo, root, run, step, target_dir, which};

/// Builds the server (debug, as for the end-to-end suite), runs the node driver on the built `dist/` (the size
/// section builds it first) and returns its Markdown.
pub fn measure(tools: &Tools) -> Result<String> {
    let e2e = root().join("tests").join("e2e");
    if !e2e.join("node_modules").join("playwright-core").is_dir() {
        bail!("tests/e2e has no node_modules: run `cargo xtask setup` first");
    }
    let chromium = tools
        .chromium
        .clone()
        .or_else(|| which("chromium"))
        .context("no Chromium: run `cargo xtask setup` first")?;
    if !dist::dist_dir().join("manifest.json").is_file() {
        bail!("no dist/: run `cargo xtask dist` first");
    }
    // The same server build as the end-to-end suite's: what is measured is the worker.
    step("bench: cargo build -p quizpulse-server");
    run(cargo().args(["build", "--package", "quizpulse-server"]))?;
    let server = target_dir().join("debug").join("quizpulse-server");

    let mut cmd = Command::new(&tools.node);
    cmd.current_dir(&e2e)
        .arg(e2e.join("bench").join("worker.mjs"))
        .env("QUIZPULSE_DIST", dist::dist_dir())
        .env("QUIZPULSE_SERVER_BIN", &server)
        .env("QUIZPULSE_CHROMIUM", &chromium)
        // The driver uploads 3 333 sessions as one account as fast as the
        // worker takes them (the heap after 10 000 messages): the server it
        // starts inherits this, and lets it.
        .env("QUIZPULSE_UPLOAD_RATE", "0");
    crate::bench::markdown_of(&mut cmd)
}
