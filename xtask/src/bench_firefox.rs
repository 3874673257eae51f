//! `cargo xtask bench`, sections `firefox-background` and `idle`: the Firefox add-on's
//! background kind measured with the real add-on (`tests/e2e/firefox/bench/background-kind.mjs`),
//! and the notification after 10 minutes idle in Chromium and Firefox side by side
//! (`tests/e2e/bench/idle.mjs`). Both against the reference server, as the
//! end-to-end suites run it.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::dist;
use crate::firefox;
use crate::setup::Tools;
use crate::util::{cargo, root, run, step, target_dir, which};

/// The node driver for `script` (under `tests/e2e/`), with every variable the suites set.
fn driver(tools: &Tools, script: &[&str]) -> Result<Command> {
    let e2e = root().join("tests").join("e2e");
    if !e2e.join("node_modules").join("selenium-webdriver").is_dir() {
        bail!("tests/e2e has no node_modules: run `cargo xtask setup` first");
    }
    for package in [dist::dist_dir(), firefox::dist_dir()] {
        if !package.join("manifest.json").is_file() {
            bail!("no {}: run `cargo xtask dist` first", package.display());
        }
    }
    let found = tools
        .firefox
        .clone()
        .context("no Firefox: run `cargo xtask setup` first")?;
    let chromium = tools
        .chromium
        .clone()
        .or_else(|| which("chromium"))
        .context("no Chromium: run `cargo xtask setup` first")?;
    step("bench: cargo build -p quizpulse-server");
    run(cargo().args(["build", "--package", "quizpulse-server"]))?;
    let server = target_dir().join("debug").join("quizpulse-server");
    let mut path = e2e.clone();
    path.extend(script);
    let mut cmd = Command::new(&tools.node);
    cmd.current_dir(&e2e)
        .arg(path)
        .env("QUIZPULSE_DIST", dist::dist_dir())
        .env("QUIZPULSE_DIST_FIREFOX", firefox::dist_dir())
        .env("QUIZPULSE_SERVER_BIN", &server)
        .env("QUIZPULSE_CHROMIUM", &chromium)
        .env("QUIZPULSE_FIREFOX", &found.binary)
        .env("QUIZPULSE_GECKODRIVER", &found.geckodriver);
    Ok(cmd)
}

/// The event page against the persistent page, with the real add-on (about 5 minutes).
pub fn background_kind(tools: &Tools) -> Result<String> {
    crate::bench::markdown_of(&mut driver(
        tools,
        &["firefox", "bench", "background-kind.mjs"],
    )?)
}

/// Upload → notification after 10 minutes idle, Chromium and Firefox at once (about
/// 11 minutes).
pub fn idle(tools: &Tools) -> Result<String> {
    crate::bench::markdown_of(&mut driver(tools, &["bench", "idle.mjs"])?)
}
