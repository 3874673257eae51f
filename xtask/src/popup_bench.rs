//! The popup's open time, for `cargo xtask bench`: navigation start to the first board
//! row drawn from the cached snapshot and to the first paint (medians of 20 opens),
//! beside a blank extension page's open time and first paint in the same run and
//! browser, and the popup's wasm size.
//!
//! The browser part is `tests/e2e/bench/popup-open.mjs` (Playwright, like the
//! end-to-end suite); this module runs it on the `dist/` the size benchmark just built.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::dist;
use crate::setup::Tools;
use crate::util::{display, gzip_len, kib, root, run_streaming, step, today_utc};

/// How many opens the median is taken over.
const OPENS: &str = "20";
/// The whole run's time limit.
const LIMIT: Duration = Duration::from_secs(300);

/// Measures and renders the section.
pub fn popup_open(tools: &Tools) -> Result<String> {
    let chromium = tools
        .chromium
        .as_ref()
        .context("the popup benchmark needs Chromium (cargo xtask setup installs it)")?;
    let dir = root().join("tests").join("e2e");
    let mut cmd = Command::new(&tools.node);
    cmd.current_dir(&dir)
        .args(["bench/popup-open.mjs", "--opens", OPENS, "--markdown"])
        .env("QUIZPULSE_DIST", dist::dist_dir())
        .env("QUIZPULSE_CHROMIUM", chromium)
        .env("NO_COLOR", "1");
    step(format!("bench: {}", display(&cmd)));
    let run = run_streaming(&mut cmd, LIMIT)?;
    if !run.success {
        bail!(
            "`{}` failed{}",
            display(&cmd),
            if run.timed_out { " (timed out)" } else { "" }
        );
    }
    let table: Vec<&str> = run
        .lines
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with('|'))
        .collect();
    if table.is_empty() {
        bail!("`{}` printed no table", display(&cmd));
    }
    let wasm = dist::dist_dir()
        .join("wasm")
        .join(format!("{}_bg.wasm", dist::WASM_OUT));
    let bytes = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let gz = gzip_len(&bytes)?;
    let mut md = String::from("## Popup open time\n\n");
    md.push_str(&format!(
        "`cargo xtask bench` (`node tests/e2e/bench/popup-open.mjs --opens {OPENS} --markdown` on the \
         `dist/` above, headless Chromium, a fresh profile; the cached snapshot is \
         `tests/e2e/fixtures/snapshot.json`), {}. Target: the popup within 50 ms of the blank page. \
         The popup paints nothing before the wasm's first render, which has the boards, so its first \
         contentful paint is the boards' (the script checks that it does not come before the first row); \
         the blank page's is its one line of text. Where the time goes: \
         `node tests/e2e/bench/popup-trace.mjs` (the section after this one).\n\n",
        today_utc()
    ));
    md.push_str(&table.join("\n"));
    md.push('\n');
    md.push_str(&format!(
        "| the pages' wasm (`{}_bg.wasm`, one module shared with the worker, after `wasm-opt`) | {} raw, {} gzip |\n",
        dist::WASM_OUT,
        kib(bytes.len()),
        kib(gz)
    ));
    Ok(md)
}
