//! `cargo xtask test`: every check the project has, in the order CI runs them,
//! streaming output as it goes and ending with one line `N passed, N failed`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::budget;
use crate::dist;
use crate::setup::{self, Scope};
use crate::util::{self, Streamed, root, run_streaming, secs, step, target_dir};

/// Time limits per suite: generous for a cold build on 2 cores, but a hung test
/// fails its suite instead of eating CI's whole budget.
const FMT_LIMIT: Duration = Duration::from_secs(5 * 60);
const CLIPPY_LIMIT: Duration = Duration::from_secs(30 * 60);
const CARGO_TEST_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Each extra run of the server suites (postgres, redis): built already, so short.
const SERVER_SUITE_LIMIT: Duration = Duration::from_secs(10 * 60);
const E2E_LIMIT: Duration = Duration::from_secs(15 * 60);

/// One row of the summary table.
struct Suite {
    name: &'static str,
    kind: &'static str,
    passed: u64,
    failed: u64,
    took: Duration,
}

/// Runs everything; returns whether all of it passed.
pub fn run() -> Result<bool> {
    let mut suites = Vec::new();
    let started = Instant::now();

    let t = Instant::now();
    let tools = setup::run(Scope::All);
    suites.push(check("setup", tools.is_ok(), t));
    let tools = match tools {
        Ok(tools) => tools,
        Err(err) => {
            println!("setup failed: {err:#}");
            return Ok(summary(&suites, started));
        }
    };

    suites.push(command_check(
        "cargo fmt --check",
        util::cargo().args(["fmt", "--all", "--check"]),
        FMT_LIMIT,
    ));
    suites.push(command_check(
        "cargo clippy",
        util::cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        CLIPPY_LIMIT,
    ));
    suites.push(cargo_test());
    let t = Instant::now();
    let catalogs = crate::i18n::run();
    if let Err(err) = &catalogs {
        println!("i18n check failed: {err:#}");
    }
    suites.push(check("i18n catalogs", catalogs.is_ok_and(|ok| ok), t));
    for backend in ["postgres", "redis"] {
        suites.push(server_suites_on(backend));
    }

    let t = Instant::now();
    step("test: wasm build (cargo xtask dist)");
    let built = dist::run(&tools, None);
    if let Err(err) = &built {
        println!("dist failed: {err:#}");
    }
    suites.push(check("wasm build (dist)", built.is_ok(), t));
    if built.is_ok() {
        suites.push(size_budget());
    }

    let t = Instant::now();
    step("test: cargo build -p quizpulse-server (for the end-to-end suite)");
    let server_ok = util::cargo()
        .args(["build", "--package", "quizpulse-server"])
        .status()
        .is_ok_and(|s| s.success());
    suites.push(check("server build", server_ok, t));

    if built.is_ok() {
        suites.push(e2e(&tools, server_ok));
    } else {
        suites.push(Suite {
            name: "end-to-end (node --test)",
            kind: "not run",
            passed: 0,
            failed: 1,
            took: Duration::ZERO,
        });
    }
    Ok(summary(&suites, started))
}

/// Every wasm and JS file in `dist/`, gzip -9, summed: fails over the budget.
fn size_budget() -> Suite {
    let t = Instant::now();
    step(format!(
        "test: size (all wasm + JS in dist/, gzip -9; budget {} bytes)",
        budget::BUDGET
    ));
    let ok = match budget::measure(&dist::dist_dir()) {
        Ok(sizes) => {
            print!("{}", budget::table(&sizes));
            if !sizes.fits() {
                println!(
                    "OVER the size budget by {} bytes (see BENCHMARKS.md; `twiggy top` on target/wasm-bindgen/*/*_bg.wasm)",
                    sizes.total_gzip() - budget::BUDGET
                );
            }
            sizes.fits()
        }
        Err(err) => {
            println!("size: {err:#}");
            false
        }
    };
    check("size (budget)", ok, t)
}

fn check(name: &'static str, ok: bool, started: Instant) -> Suite {
    Suite {
        name,
        kind: "check",
        passed: u64::from(ok),
        failed: u64::from(!ok),
        took: started.elapsed(),
    }
}

fn command_check(name: &'static str, cmd: &mut Command, limit: Duration) -> Suite {
    let started = Instant::now();
    step(format!("test: {name}"));
    let ok = run_streaming(cmd, limit).is_ok_and(|run| run.success);
    check(name, ok, started)
}

/// Runs a suite's command; a command that cannot start counts as a failed run.
fn stream(cmd: &mut Command, limit: Duration) -> Streamed {
    run_streaming(cmd, limit).unwrap_or_else(|err| {
        println!("{err:#}");
        Streamed {
            success: false,
            timed_out: false,
            lines: Vec::new(),
        }
    })
}

/// `cargo test --workspace` (the server suites on SQLite), counting every
/// `test result:` line.
fn cargo_test() -> Suite {
    step("test: cargo test --workspace");
    cargo_test_suite(
        "cargo test",
        util::cargo().args(["test", "--workspace"]),
        CARGO_TEST_LIMIT,
    )
}

/// The server's contract and robustness suites again on `backend`
/// (`postgres`: PostgreSQL; `redis`: two instances on PostgreSQL behind Redis).
fn server_suites_on(backend: &'static str) -> Suite {
    step(format!("test: server contract and robustness on {backend}"));
    cargo_test_suite(
        if backend == "redis" {
            "server tests, two instances behind redis"
        } else {
            "server tests on postgres"
        },
        util::cargo()
            .args([
                "test",
                "--package",
                "quizpulse-server",
                "--test",
                "contract",
                "--test",
                "robustness",
            ])
            .env("QUIZPULSE_TEST_BACKEND", backend),
        SERVER_SUITE_LIMIT,
    )
}

fn cargo_test_suite(name: &'static str, cmd: &mut Command, limit: Duration) -> Suite {
    let started = Instant::now();
    let run = stream(cmd, limit);
    let ok = run.success;
    let (mut passed, mut failed) = (0, 0);
    for line in &run.lines {
        if let Some((p, f)) = parse_cargo_result(line) {
            passed += p;
            failed += f;
        }
    }
    if !ok && (failed == 0 || run.timed_out) {
        failed += 1; // it did not compile, a harness crashed, or it ran out of time
    }
    Suite {
        name,
        kind: "tests",
        passed,
        failed,
        took: started.elapsed(),
    }
}

/// Parses `test result: ok. 12 passed; 0 failed; ...`.
fn parse_cargo_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let count = |label: &str| -> Option<u64> {
        rest.split(';')
            .find_map(|part| {
                part.trim()
                    .rsplit_once(' ')
                    .filter(|(_, l)| *l == label)
                    .map(|(n, _)| n)
            })
            .and_then(|n| n.rsplit(' ').next()?.parse().ok())
    };
    Some((count("passed")?, count("failed")?))
}

/// The end-to-end suite: `node --test` over tests/e2e/*.test.mjs.
fn e2e(tools: &setup::Tools, server_built: bool) -> Suite {
    let started = Instant::now();
    step("test: end-to-end suite (node --test, headless Chromium)");
    let dir = root().join("tests").join("e2e");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.to_string_lossy().ends_with(".test.mjs"));
    files.sort();
    let mut cmd = Command::new(&tools.node);
    cmd.current_dir(&dir)
        .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
        .args(files.iter().filter_map(|f| f.file_name()))
        .env("QUIZPULSE_DIST", dist::dist_dir())
        .env("NO_COLOR", "1");
    if let Some(chromium) = &tools.chromium {
        cmd.env("QUIZPULSE_CHROMIUM", chromium);
    }
    let server_bin = target_dir().join("debug").join("quizpulse-server");
    if server_built && server_bin.is_file() {
        cmd.env("QUIZPULSE_SERVER_BIN", server_bin);
    }
    let run = stream(&mut cmd, E2E_LIMIT);
    let ok = run.success;
    let (mut passed, mut failed) = (0, 0);
    for line in &run.lines {
        let line = line.trim().trim_start_matches(['ℹ', '#']).trim();
        let mut words = line.split_whitespace();
        match (
            words.next(),
            words.next().and_then(|n| n.parse::<u64>().ok()),
        ) {
            (Some("pass"), Some(n)) => passed = n,
            (Some("fail" | "cancelled"), Some(n)) => failed += n,
            _ => {}
        }
    }
    if files.is_empty() || (!ok && (failed == 0 || run.timed_out)) {
        failed += 1;
    }
    Suite {
        name: "end-to-end (node --test)",
        kind: "tests",
        passed,
        failed,
        took: started.elapsed(),
    }
}

fn summary(suites: &[Suite], started: Instant) -> bool {
    println!();
    println!(
        "{:<28} {:<8} {:>7} {:>7} {:>9}",
        "suite", "kind", "passed", "failed", "time"
    );
    for s in suites {
        println!(
            "{:<28} {:<8} {:>7} {:>7} {:>9}",
            s.name,
            s.kind,
            s.passed,
            s.failed,
            secs(s.took)
        );
    }
    let passed: u64 = suites.iter().map(|s| s.passed).sum();
    let failed: u64 = suites.iter().map(|s| s.failed).sum();
    println!(
        "{:<28} {:<8} {:>7} {:>7} {:>9}",
        "total",
        "",
        passed,
        failed,
        secs(started.elapsed())
    );
    println!("{passed} passed, {failed} failed");
    util::flush();
    failed == 0
}

#[cfg(test)]
mod tests {
    use super::parse_cargo_result;

    #[test]
    fn reads_cargo_test_summaries() {
        assert_eq!(
            parse_cargo_result(
                "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"
            ),
            Some((12, 0))
        );
        assert_eq!(
            parse_cargo_result("test result: FAILED. 3 passed; 2 failed; 0 ignored"),
            Some((3, 2))
        );
        assert_eq!(parse_cargo_result("running 3 tests"), None);
    }
}
