//! Build tooling for QuizPulse, run as `cargo xtask <command>`.
//!
//! Commands: `setup`, `dist [--server URL]`, `demo [--browser]`, `i18n`, `test`, `bench`.

mod bench;
mod bench_chart;
mod bench_firefox;
mod bench_server;
mod bench_worker;
mod budget;
mod demo;
mod dist;
mod firefox;
mod glue;
mod i18n;
mod popup_bench;
mod setup;
mod test;
mod util;

use std::process::ExitCode;

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup                 install what is missing: wasm32 target, wasm-bindgen-cli (the lock
                        file's version), wasm-pack, wasm-opt and web-ext (npm), chromium
                        and chromedriver, firefox-esr and geckodriver, the end-to-end
                        suite's npm packages
  dist [--server URL] [--wasm-pack] [--browser chrome|firefox]
                        build the extension into dist/ and dist/quizpulse-<version>.zip, and
                        the Firefox add-on into dist-firefox/ (its upload and source
                        archive beside it), for the server at URL (default
                        http://127.0.0.1:8000, loopback access); --browser builds one of
                        them only; --wasm-pack compiles through wasm-pack instead of
                        cargo+wasm-bindgen
  demo [--browser]      build dist/, start the reference server with demo data on
                        127.0.0.1:8000; --browser opens Chromium with the extension loaded
  i18n                  check the catalogs (_locales/) against the code: every key used
                        exists in every language, none unused, placeholders and plural
                        forms agree, no English left in the pages and the worker
  test                  setup, fmt, clippy, native tests, i18n, wasm build, web-ext lint,
                        end-to-end suites (Chromium, Firefox);
                        ends with one line `N passed, N failed`
  bench [SECTION...]    measure and record it in BENCHMARKS.md: size, popup, core, server
                        (boards), fanout (ours vs the Django Channels peer), worker, idle
                        (notification after 10 minutes idle, Chromium and Firefox),
                        firefox-background (event page vs persistent page); all of them
                        by default";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result<bool> {
    let command = args.first().map_or("help", String::as_str);
    let rest = args.get(1..).unwrap_or_default();
    match command {
        "setup" => {
            no_args(rest)?;
            setup::run(setup::Scope::All).map(|_| true)
        }
        "dist" => {
            const DIST_USAGE: &str =
                "usage: cargo xtask dist [--server URL] [--wasm-pack] [--browser chrome|firefox]";
            let mut server = None;
            let mut builder = dist::Builder::Direct;
            let mut browsers = dist::Browser::ALL.to_vec();
            let mut rest = rest.iter();
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "--server" => {
                        server = Some(rest.next().map(String::as_str).unwrap_or_default())
                    }
                    "--wasm-pack" => builder = dist::Builder::WasmPack,
                    "--browser" => {
                        let name = rest.next().map(String::as_str).unwrap_or_default();
                        match dist::Browser::parse(name) {
                            Some(browser) => browsers = vec![browser],
                            None => bail!("--browser `{name}`: chrome or firefox\n{DIST_USAGE}"),
                        }
                    }
                    _ => match arg.strip_prefix("--server=") {
                        Some(url) => server = Some(url),
                        None => bail!("{DIST_USAGE}"),
                    },
                }
            }
            if server == Some("") {
                bail!("--server needs a URL, e.g. --server https://quiz.example.org");
            }
            let tools = setup::run(setup::Scope::Build)?;
            dist::run_with(&tools, server, builder, &browsers).map(|_| true)
        }
        "demo" => {
            let browser = match rest {
                [] => false,
                [flag] if flag == "--browser" => true,
                _ => bail!("usage: cargo xtask demo [--browser]"),
            };
            demo::run(browser).map(|()| true)
        }
        "test" => {
            no_args(rest)?;
            test::run()
        }
        "i18n" => {
            no_args(rest)?;
            i18n::run()
        }
        "bench" => bench::run(rest).map(|()| true),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(true)
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

fn no_args(rest: &[String]) -> Result<()> {
    if let Some(extra) = rest.first() {
        bail!("unexpected argument `{extra}`\n\n{USAGE}");
    }
    Ok(())
}
