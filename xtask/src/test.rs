//! `cargo xtask test`: every check the project has, in the order CI runs them,
//! streaming output as it goes and ending with one line `N passed, N failed`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::budget;
use crate::dist::{self, Browser};
use crate::firefox;
use crate::setup::{self, Scope};
use crate::util::{self, Streamed, note, root, run_streaming, secs, step, target_dir};

/// Time limits per suite: generous for a cold build on 2 cores, but a hung test
/// fails its suite instead of eating CI's whole budget.
const FMT_LIMIT: Duration = Duration::from_secs(5 * 60);
const CLIPPY_LIMIT: Duration = Duration::from_secs(30 * 60);
const CARGO_TEST_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Each extra run of the server suites (postgres, redis): built already, so short.
const SERVER_SUITE_LIMIT: Duration = Duration::from_secs(10 * 60);
/// The Chromium suite (about 10 minutes on a busy 2-core machine).
const E2E_LIMIT: Duration = Duration::from_secs(25 * 60);
/// The Firefox suite (one browser, a restart, a 10 s quiet wait after sign-out).
const FIREFOX_E2E_LIMIT: Duration = Duration::from_secs(10 * 60);

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
        for browser in Browser::ALL {
            suites.push(size_budget(browser));
        }
        suites.push(web_ext_lint(&tools));
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
        suites.push(e2e_firefox(&tools, server_ok));
    } else {
        for name in ["end-to-end (node --test)", "end-to-end, Firefox"] {
            suites.push(Suite {
                name,
                kind: "not run",
                passed: 0,
                failed: 1,
                took: Duration::ZERO,
            });
        }
    }
    Ok(summary(&suites, started))
}

/// Every wasm and JS file of `browser`'s package, gzip -9, summed: fails over the
/// budget. Each package is held to it on its own.
fn size_budget(browser: Browser) -> Suite {
    let t = Instant::now();
    let dir = browser.dir();
    let folder = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    step(format!(
        "test: size (all wasm + JS in {folder}/, gzip -9; budget {} bytes)",
        budget::BUDGET
    ));
    let ok = match budget::measure(&dir) {
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
    check(
        match browser {
            Browser::Chrome => "size (budget), dist/",
            Browser::Firefox => "size (budget), dist-firefox/",
        },
        ok,
        t,
    )
}

/// `web-ext lint` on `dist-firefox/`: no error, and every warning's code explained in
/// README.md (its Firefox section lists them).
fn web_ext_lint(tools: &setup::Tools) -> Suite {
    let t = Instant::now();
    let ok = match firefox::lint(&tools.web_ext, &tools.node) {
        Ok(lint) => {
            let readme = std::fs::read_to_string(root().join("README.md")).unwrap_or_default();
            for (kind, list) in [
                ("error", &lint.errors),
                ("warning", &lint.warnings),
                ("notice", &lint.notices),
            ] {
                for item in list {
                    note(format!("{kind}: {item}"));
                }
            }
            let unexplained: Vec<&String> = lint
                .warnings
                .iter()
                .filter(|w| {
                    let code = w.split_whitespace().next().unwrap_or_default();
                    !readme.contains(&format!("`{code}`"))
                })
                .collect();
            for warning in &unexplained {
                println!("web-ext lint: a warning README.md does not explain: {warning}");
            }
            note(format!(
                "{} errors, {} warnings ({} not explained in README.md), {} notices",
                lint.errors.len(),
                lint.warnings.len(),
                unexplained.len(),
                lint.notices.len()
            ));
            lint.errors.is_empty() && unexplained.is_empty()
        }
        Err(err) => {
            println!("web-ext lint: {err:#}");
            false
        }
    };
    check("web-ext lint (dist-firefox/)", ok, t)
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
    step("test: end-to-end suite (node --test, headless Chromium)");
    let mut cmd = Command::new(&tools.node);
    if let Some(chromium) = &tools.chromium {
        cmd.env("QUIZPULSE_CHROMIUM", chromium);
    }
    node_suite(
        "end-to-end (node --test)",
        cmd,
        &root().join("tests").join("e2e"),
        server_built,
        E2E_LIMIT,
    )
}

/// The Firefox suite: `node --test` over tests/e2e/firefox/*.test.mjs, headless
/// Firefox ESR through geckodriver, the built `dist-firefox/`.
fn e2e_firefox(tools: &setup::Tools, server_built: bool) -> Suite {
    step("test: end-to-end suite, Firefox (node --test, headless Firefox ESR)");
    let mut cmd = Command::new(&tools.node);
    cmd.env("QUIZPULSE_DIST_FIREFOX", firefox::dist_dir());
    if let Some(found) = &tools.firefox {
        cmd.env("QUIZPULSE_FIREFOX", &found.binary)
            .env("QUIZPULSE_GECKODRIVER", &found.geckodriver);
    }
    node_suite(
        "end-to-end, Firefox",
        cmd,
        &root().join("tests").join("e2e").join("firefox"),
        server_built,
        FIREFOX_E2E_LIMIT,
    )
}

/// `node --test` over the `*.test.mjs` files of `dir`, counting node's summary lines.
fn node_suite(
    name: &'static str,
    mut cmd: Command,
    dir: &Path,
    server_built: bool,
    limit: Duration,
) -> Suite {
    let started = Instant::now();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.to_string_lossy().ends_with(".test.mjs"));
    files.sort();
    cmd.current_dir(dir)
        .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
        .args(files.iter().filter_map(|f| f.file_name()))
        .env("QUIZPULSE_DIST", dist::dist_dir())
        .env("NO_COLOR", "1");
    let server_bin = target_dir().join("debug").join("quizpulse-server");
    if server_built && server_bin.is_file() {
        cmd.env("QUIZPULSE_SERVER_BIN", server_bin);
    }
    let run = stream(&mut cmd, limit);
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
        name,
        kind: "tests",
        passed,
        failed,
        took: started.elapsed(),
    }
}

fn summary(suites: &[Suite], started: Instant) -> bool {
    // The first column as wide as the longest suite's name.
    let w = suites
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0)
        .max(5);
    println!();
    println!(
        "{:<w$} {:<8} {:>7} {:>7} {:>9}",
        "suite", "kind", "passed", "failed", "time"
    );
    for s in suites {
        println!(
            "{:<w$} {:<8} {:>7} {:>7} {:>9}",
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
        "{:<w$} {:<8} {:>7} {:>7} {:>9}",
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
