//! `cargo xtask bench`: measurements recorded in `BENCHMARKS.md`.
//!
//! Each benchmark owns one section of the file, between `<!-- bench:NAME -->` and
//! `<!-- /bench:NAME -->`, and rewrites only that section; sections it does not know
//! stay as they are. To add one, write a function returning the section's Markdown
//! and add it to [`SECTIONS`]. The machines are noisy: each benchmark compares within
//! one run (ratios, counts) rather than against numbers from another day.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::budget;
use crate::dist;
use crate::popup_bench;
use crate::setup::{self, Scope, Tools};
use crate::util::{cargo, display, kib, locked_version, output_of, root, step, today_utc};

/// A benchmark: its section name and the function that measures and renders it.
type Section = (&'static str, fn(&Tools) -> Result<String>);

/// Every benchmark, in the order they appear in the file.
const SECTIONS: &[Section] = &[
    ("size", extension_size),
    ("popup", popup_bench::popup_open),
    ("core", core_throughput),
    ("server", server_boards),
    ("limits", server_limits),
    ("fanout", server_fanout),
    ("worker", crate::bench_worker::measure),
    ("idle", crate::bench_firefox::idle),
    ("firefox-background", crate::bench_firefox::background_kind),
];

const HEADER: &str = "# Benchmarks\n\n\
Written by `cargo xtask bench`; each section is rewritten by its own benchmark and says \
the command, date and toolchain that produced it.\n";

/// Runs the benchmarks named in `only` (every one when empty) and updates their
/// sections of `BENCHMARKS.md`.
pub fn run(only: &[String]) -> Result<()> {
    if let Some(unknown) = only
        .iter()
        .find(|o| !SECTIONS.iter().any(|(name, _)| name == o))
    {
        let names: Vec<&str> = SECTIONS.iter().map(|(name, _)| *name).collect();
        bail!(
            "unknown benchmark `{unknown}` (there are: {})",
            names.join(", ")
        );
    }
    // The popup's open time needs the browser and the end-to-end packages too.
    let tools = setup::run(Scope::All)?;
    let path = root().join("BENCHMARKS.md");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| HEADER.to_string());
    for (name, measure) in SECTIONS {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let body = measure(&tools)?;
        text = replace_section(&text, name, &body);
        // Written after each section, so a long run that is stopped keeps what it measured.
        std::fs::write(&path, &text)?;
    }
    std::fs::write(&path, text)?;
    step(format!("bench: wrote {}", path.display()));
    Ok(())
}

/// Replaces (or appends) the section `name` of `text` with `body`.
fn replace_section(text: &str, name: &str, body: &str) -> String {
    let open = format!("<!-- bench:{name} -->");
    let close = format!("<!-- /bench:{name} -->");
    let block = format!("{open}\n{}\n{close}", body.trim_end());
    match (text.find(&open), text.find(&close)) {
        (Some(start), Some(end)) if end > start => {
            format!("{}{block}{}", &text[..start], &text[end + close.len()..])
        }
        _ => format!("{}\n\n{block}\n", text.trim_end()),
    }
}

/// Runs a benchmark example in release mode with `--markdown` and returns what it
/// printed (its own section body, naming the command).
fn markdown_example(package: &str, example: &str, args: &[&str]) -> Result<String> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        package,
        "--example",
        example,
        "--",
    ])
    .args(args)
    .arg("--markdown");
    markdown_of(&mut cmd)
}

/// Runs a benchmark command that prints its section body as Markdown; fails with its
/// stderr, and returns the body with the date it was measured.
pub(crate) fn markdown_of(cmd: &mut Command) -> Result<String> {
    step(format!("bench: {}", display(cmd)));
    let out = cmd
        .output()
        .with_context(|| format!("could not start `{}`", display(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8(out.stdout).context("benchmark output is not UTF-8")?;
    println!("{text}");
    Ok(format!(
        "{}\n\nMeasured {}.\n",
        text.trim_end(),
        today_utc()
    ))
}

/// The core's cost per socket message, and its refetch coalescing under a burst.
fn core_throughput(_: &Tools) -> Result<String> {
    markdown_example("quizpulse", "core_throughput", &[])
}

/// The reference server's leaderboard queries over 100 000 sessions.
fn server_boards(_: &Tools) -> Result<String> {
    markdown_example("quizpulse-server", "boards", &[])
}

/// What the reference server's limits and SQLite durability cost (issue 18).
fn server_limits(_: &Tools) -> Result<String> {
    markdown_example("quizpulse-server", "limits", &[])
}

/// Fan-out, memory, sustained rate, two instances, reconnect storm: ours and
/// the Django Channels peer under one load generator (`bench_server`).
fn server_fanout(_: &Tools) -> Result<String> {
    crate::bench_server::run()
}

/// The extension's size: each wasm file raw and gzip, and the store zip.
fn extension_size(tools: &Tools) -> Result<String> {
    let report = dist::run(tools, None)?;
    let rustc = match &tools.wasm_rustc {
        Some(rustc) => output_of(Command::new(rustc).arg("--version")),
        None => output_of(Command::new("rustc").arg("--version")),
    }
    .unwrap_or_else(|| "rustc (unknown version)".into());
    let wasm_opt = output_of(
        Command::new(&tools.node)
            .arg(&tools.wasm_opt)
            .arg("--version"),
    )
    .unwrap_or_else(|| "wasm-opt (unknown version)".into());
    let bindgen = locked_version("wasm-bindgen").unwrap_or_default();
    let mut md = String::new();
    md.push_str("## Extension size\n\n");
    md.push_str(&format!(
        "`cargo xtask bench` (a default `cargo xtask dist`: one wasm module for the worker and \
         the pages (crate `quizpulse-extension`), profile `wasm-release` with std rebuilt for \
         `panic=immediate-abort`, wasm-bindgen {bindgen} `--target web`, `wasm-opt {} {}`), {}.\n\
         Toolchain: {rustc}; {wasm_opt}.\n\n",
        dist::WASM_OPT_LEVEL,
        dist::WASM_OPT_ASSUME.join(" "),
        today_utc()
    ));
    let sizes = budget::measure(&dist::dist_dir())?;
    md.push_str(
        "Every wasm and JS file in `dist/`, raw and gzip -9; the budget is their gzip total \
         (what `cargo xtask test` checks).\n\n",
    );
    md.push_str("| file | raw | gzip -9 |\n|---|---:|---:|\n");
    for f in &sizes.files {
        md.push_str(&format!(
            "| `{}` | {} ({} B) | {} ({} B) |\n",
            f.name,
            kib(f.raw),
            f.raw,
            kib(f.gzip),
            f.gzip
        ));
    }
    let wasm_raw: usize = report.wasm.iter().map(|(_, raw, _)| raw).sum();
    let wasm_gz: usize = sizes
        .files
        .iter()
        .filter(|f| f.name.ends_with(".wasm"))
        .map(|f| f.gzip)
        .sum();
    md.push_str(&format!(
        "| all wasm | {} | {} |\n",
        kib(wasm_raw),
        kib(wasm_gz)
    ));
    md.push_str(&format!(
        "| all JS | {} | {} |\n",
        kib(sizes.total_raw() - wasm_raw),
        kib(sizes.total_gzip() - wasm_gz)
    ));
    md.push_str(&format!(
        "| **total (budget {} B)** | {} | **{} ({} B, {:.0}% of the budget: {})** |\n",
        budget::BUDGET,
        kib(sizes.total_raw()),
        kib(sizes.total_gzip()),
        sizes.total_gzip(),
        sizes.total_gzip() as f64 * 100.0 / budget::BUDGET as f64,
        if sizes.fits() { "fits" } else { "over" }
    ));
    for package in &report.packages {
        let zip_name = package
            .zip
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let folder = package
            .dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        md.push_str(&format!(
            "| `{folder}/{zip_name}` (the whole {} package) | {} ({} B) | |\n",
            package.browser,
            kib(package.zip_len),
            package.zip_len
        ));
    }
    if let Some(firefox) = report.package(dist::Browser::Firefox) {
        let sizes = budget::measure(&firefox.dir)?;
        md.push_str(&format!(
            "\nThe Firefox package (`dist-firefox/`) holds the same wasm and JS files: \
             {} B gzip -9 in all ({:.0}% of the budget: {}); it differs from `dist/` in its \
             manifest and `platform.json` only.\n",
            sizes.total_gzip(),
            sizes.total_gzip() as f64 * 100.0 / budget::BUDGET as f64,
            if sizes.fits() { "fits" } else { "over" }
        ));
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::replace_section;

    #[test]
    fn sections_are_replaced_in_place_and_others_kept() {
        let text = "# B\n\n<!-- bench:a -->\nold a\n<!-- /bench:a -->\n\n<!-- bench:b -->\nb\n<!-- /bench:b -->\n";
        let out = replace_section(text, "a", "new a\n");
        assert_eq!(
            out,
            "# B\n\n<!-- bench:a -->\nnew a\n<!-- /bench:a -->\n\n<!-- bench:b -->\nb\n<!-- /bench:b -->\n"
        );
        let out = replace_section(&out, "c", "c");
        assert!(out.ends_with("<!-- bench:c -->\nc\n<!-- /bench:c -->\n"));
    }
}
