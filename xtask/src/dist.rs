//! `cargo xtask dist [--server URL] [--wasm-pack] [--browser chrome|firefox]`: the
//! extension, built for release, in `dist/` (loadable unpacked) and
//! `dist/quizpulse-<version>.zip` (the Chrome Web Store upload), and the Firefox add-on
//! in `dist-firefox/` with its upload and source archive (`firefox.rs`). Both packages
//! hold the same wasm, loaders, pages and icons; they differ in their manifest and in
//! `platform.json` (what the browser can do, read by the adapters). Without
//! `--browser`, both are built.
//!
//! One wasm module serves the service worker and both pages: the crate
//! `quizpulse-extension` links `background/` and `popup/`, so the core and its serde code
//! are shipped once. By default it is built with cargo (std rebuilt with
//! `panic=immediate-abort`) and the exact-version `wasm-bindgen` directly, then shrunk
//! with `wasm-opt` from npm's binaryen. `--wasm-pack` runs `wasm-pack build --mode
//! no-install --profile wasm-release --no-opt` instead (same profile, same std build and
//! flags passed through, same wasm-bindgen, same wasm-opt step after it). wasm-pack is not the
//! default because with a custom profile it reads its settings from a differently
//! named metadata section and drops wasm-opt arguments, it would run a `wasm-opt`
//! from PATH rather than the pinned npm one, and it checks its own version online;
//! the direct pipeline has every flag in view and makes no network call.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use quizpulse::settings::{Settings, parse_url};

use crate::setup::{Tools, WASM_TARGET};
use crate::util::{self, gzip_len, kib, note, root, step, target_dir, workspace_version};

/// The server a default build is made for (the reference server's demo address).
pub const DEFAULT_SERVER: &str = quizpulse::settings::LOOPBACK_SERVER_URL;
/// Host access a default (loopback) build gets at install time.
const LOOPBACK_HOSTS: &[&str] = &["http://127.0.0.1/*", "http://localhost/*"];
/// The Cargo profile for wasm (opt-level z, LTO; in the workspace Cargo.toml).
const WASM_PROFILE: &str = "wasm-release";
/// The one wasm crate: it links the worker (`background/`) and the pages (`popup/`), so
/// the core and its serde code are shipped once.
const WASM_PACKAGE: &str = "quizpulse-extension";
/// Its library file stem (what cargo writes).
const WASM_STEM: &str = "quizpulse_extension";
/// The name of the bound module in `dist/wasm/` (`quizpulse.js`, `quizpulse_bg.wasm`),
/// which the loaders import.
pub const WASM_OUT: &str = "quizpulse";
/// The std build for the wasm: rebuilt from source (`-Zbuild-std`, rust-src from rustup
/// or Debian's rust-web-src; see `setup`) so that panics abort at once. With
/// `panic=immediate-abort` no panic message is formatted and no panic machinery is
/// linked: about 23 KB of gzip less. A panic is a wasm `unreachable` trap, which Chrome
/// logs with its stack ("RuntimeError: unreachable"), and the loaders catch and log.
const BUILD_STD: &str = "-Zbuild-std=std,panic_abort";
/// The rustflags of the wasm build (`CARGO_ENCODED_RUSTFLAGS`: `\x1f`-separated; with
/// `--target` they reach only the wasm crates, not build scripts or proc macros).
const WASM_RUSTFLAGS: &str = "-Zunstable-options\x1f-Cpanic=immediate-abort";

/// Sets what the wasm build needs on a cargo (or wasm-pack) command: `RUSTC_BOOTSTRAP`
/// for the unstable std build, the rustflags, and the server baked into the core.
fn wasm_build_env(cmd: &mut Command, tools: &Tools, server: &str) {
    cmd.env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_ENCODED_RUSTFLAGS", WASM_RUSTFLAGS)
        .env_remove("RUSTFLAGS")
        .env(SERVER_ENV, server);
    if let Some(rustc) = &tools.wasm_rustc {
        cmd.env("RUSTC", rustc);
    }
}

/// wasm-opt's level: `-Os` gave a smaller gzip than `-Oz` on this module (the raw file
/// is larger, but it compresses better), measured with binaryen 132.
pub const WASM_OPT_LEVEL: &str = "-Os";
/// WebAssembly features that rustc's wasm32 target emits by default; Chrome 116 has them all.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];
/// What wasm-opt may assume: nothing lives in the first KiB of linear memory, so
/// `load(add(p, C))` with `C` below 1 KiB becomes `load offset=C (p)`. The two differ
/// only where `p + C` wraps past 2^32 (into that first KiB), and Rust's pointer
/// arithmetic never wraps (rustc's stack starts at 1 MiB and grows down; data and heap
/// lie above it). −1.1 KB gzip.
pub const WASM_OPT_ASSUME: &[&str] = &["--low-memory-unused"];
/// Custom sections nothing reads at run time (the toolchain's names and the target's
/// feature list): dropped.
const WASM_STRIP: &[&str] = &["--strip-producers", "--strip-target-features"];

/// A browser a package is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    /// Chromium browsers (Chrome, Edge, …): Manifest V3, a service worker.
    Chrome,
    /// Firefox: Manifest V2 with a persistent background page (see `firefox.rs`).
    Firefox,
}

impl Browser {
    /// Every browser, in build order.
    pub const ALL: [Browser; 2] = [Browser::Chrome, Browser::Firefox];

    /// `--browser NAME`.
    pub fn parse(name: &str) -> Option<Browser> {
        match name {
            "chrome" | "chromium" => Some(Browser::Chrome),
            "firefox" => Some(Browser::Firefox),
            _ => None,
        }
    }

    /// The package's folder: `dist/`, `dist-firefox/`.
    pub fn dir(self) -> PathBuf {
        match self {
            Browser::Chrome => dist_dir(),
            Browser::Firefox => crate::firefox::dist_dir(),
        }
    }

    /// `platform.json`: what this browser's extension APIs can do, which the adapters
    /// read instead of asking which browser they run in (`quizpulse_chrome::platform`).
    pub fn platform(self) -> Value {
        match self {
            Browser::Chrome => serde_json::json!({
                "browser": "Chrome",
                "notifications": {
                    "keep_on_screen": true,
                    "silent": true,
                    "update": true,
                    "closed_by_user": true,
                },
                "match_pattern_ports": true,
            }),
            Browser::Firefox => crate::firefox::platform(),
        }
    }
}

impl std::fmt::Display for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Browser::Chrome => "chrome",
            Browser::Firefox => "firefox",
        })
    }
}

/// One built package.
#[derive(Debug, Clone)]
pub struct Package {
    /// For which browser.
    pub browser: Browser,
    /// Its folder.
    pub dir: PathBuf,
    /// The store upload's path.
    pub zip: PathBuf,
    /// The upload's size in bytes.
    pub zip_len: usize,
}

/// What a dist build produced.
#[derive(Debug, Clone)]
pub struct Report {
    /// `(file name, raw bytes, gzip bytes)` of each optimised wasm file.
    pub wasm: Vec<(String, usize, usize)>,
    /// Every package built, in [`Browser::ALL`] order.
    pub packages: Vec<Package>,
}

impl Report {
    /// The package built for `browser`.
    pub fn package(&self, browser: Browser) -> Option<&Package> {
        self.packages.iter().find(|p| p.browser == browser)
    }
}

/// The `dist/` folder (the Chromium package).
pub fn dist_dir() -> PathBuf {
    root().join("dist")
}

/// Builds both packages for `server` (an origin such as `https://quiz.example.org`).
pub fn run(tools: &Tools, server: Option<&str>) -> Result<Report> {
    run_with(tools, server, Builder::Direct, &Browser::ALL)
}

/// How the wasm is compiled and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// `cargo build` then `wasm-bindgen` (the default).
    Direct,
    /// `wasm-pack build --mode no-install --profile wasm-release --no-opt` (the same
    /// cargo profile and wasm-bindgen; a cross-check that wasm-pack works offline).
    WasmPack,
}

/// Like [`run`], choosing the wasm front end and the browsers.
pub fn run_with(
    tools: &Tools,
    server: Option<&str>,
    builder: Builder,
    browsers: &[Browser],
) -> Result<Report> {
    let version = workspace_version()?;
    let server = build_server(server.unwrap_or(DEFAULT_SERVER))?;
    let server = server.as_str();
    let hosts = host_permissions(server)?;
    step(format!(
        "dist: QuizPulse {version} for {server} (host access: {})",
        hosts.join(", ")
    ));

    if builder == Builder::Direct {
        build_wasm(tools, server)?;
    }
    // The optimised module and its glue, copied into every package.
    let out = target_dir().join("dist-wasm");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    std::fs::create_dir_all(out.join("wasm"))?;

    let built = target_dir()
        .join(WASM_TARGET)
        .join(WASM_PROFILE)
        .join(format!("{WASM_STEM}.wasm"));
    let bindgen_dir = target_dir().join("wasm-bindgen").join(WASM_PACKAGE);
    if bindgen_dir.exists() {
        std::fs::remove_dir_all(&bindgen_dir)?;
    }
    if builder == Builder::Direct {
        step(format!("dist: wasm-bindgen --target web {WASM_PACKAGE}"));
        util::run(
            Command::new(&tools.wasm_bindgen)
                .args(["--target", "web", "--no-typescript"])
                .args(["--out-name", WASM_OUT, "--out-dir"])
                .arg(&bindgen_dir)
                .arg(&built),
        )?;
    } else {
        step(format!("dist: wasm-pack build {WASM_PACKAGE}"));
        let mut cmd = Command::new(&tools.wasm_pack);
        cmd.current_dir(root())
            .args([
                "build",
                "extension",
                "--mode",
                "no-install",
                "--profile",
                WASM_PROFILE,
            ])
            .args([
                "--target",
                "web",
                "--no-pack",
                "--no-opt",
                "--no-typescript",
                "--out-name",
                WASM_OUT,
                "--out-dir",
            ])
            .arg(&bindgen_dir)
            .args(["--", BUILD_STD]);
        wasm_build_env(&mut cmd, tools, server);
        util::run(&mut cmd)?;
    }
    let bg = format!("{WASM_OUT}_bg.wasm");
    step(format!("dist: wasm-opt {WASM_OPT_LEVEL} {bg}"));
    util::run(
        Command::new(&tools.node)
            .arg(&tools.wasm_opt)
            .arg(bindgen_dir.join(&bg))
            .arg(WASM_OPT_LEVEL)
            .args(WASM_OPT_ASSUME)
            .args(WASM_FEATURES)
            .args(WASM_STRIP)
            .arg("-o")
            .arg(out.join("wasm").join(&bg)),
    )?;
    let js = format!("{WASM_OUT}.js");
    // The glue without its comments and indentation (as generated when it cannot be
    // compacted safely).
    let glue = std::fs::read_to_string(bindgen_dir.join(&js))?;
    let glue = crate::glue::compact(&glue).unwrap_or(glue);
    std::fs::write(out.join("wasm").join(&js), glue)?;
    let bytes = std::fs::read(out.join("wasm").join(&bg))?;
    let wasm = vec![(format!("wasm/{bg}"), bytes.len(), gzip_len(&bytes)?)];

    let rustc = tools
        .wasm_rustc
        .clone()
        .unwrap_or_else(|| PathBuf::from("rustc"));
    let mut packages = Vec::new();
    for &browser in browsers {
        packages.push(package(browser, &out, &version, server, &hosts, &rustc)?);
    }
    for (name, raw, gz) in &wasm {
        note(format!("{name}: {} raw, {} gzip", kib(*raw), kib(*gz)));
    }
    Ok(Report { wasm, packages })
}

/// Writes `browser`'s package folder from the optimised wasm in `wasm_dir` and the
/// sources, then its store upload (and, for Firefox, its source archive, naming
/// `rustc`, the compiler of the wasm).
fn package(
    browser: Browser,
    wasm_dir: &Path,
    version: &str,
    server: &str,
    hosts: &[String],
    rustc: &Path,
) -> Result<Package> {
    let out = browser.dir();
    step(format!(
        "dist ({browser}): {}: manifest, catalogs, loaders, pages, styles, icons",
        out.display()
    ));
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    util::copy_dir(wasm_dir, &out)?;
    let manifest = chrome_manifest(version, hosts)?;
    let manifest = match browser {
        Browser::Chrome => manifest,
        Browser::Firefox => crate::firefox::manifest(&manifest)?,
    };
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    std::fs::write(
        out.join(PLATFORM_FILE),
        serde_json::to_string_pretty(&browser.platform())? + "\n",
    )?;
    std::fs::write(
        out.join("build.json"),
        serde_json::to_string_pretty(
            &serde_json::json!({ "version": version, "server": server, "browser": browser.to_string() }),
        )? + "\n",
    )?;
    // The worker's loader and the quiz page script it registers.
    for script in ["service_worker.js", "quiz_page.js"] {
        std::fs::copy(
            root().join("background").join("js").join(script),
            out.join(script),
        )
        .with_context(|| format!("copying background/js/{script}"))?;
    }
    util::copy_dir(&root().join("popup").join("static"), &out)?;
    // The loaders without their comment lines and indentation, like the glue: the
    // budget counts every byte the browser loads, and the comments are for the
    // repository's readers (the Firefox source archive keeps them).
    for entry in std::fs::read_dir(&out)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "js") {
            let js = std::fs::read_to_string(&path)?;
            if let Some(compact) = crate::glue::compact(&js) {
                std::fs::write(&path, compact)?;
            }
        }
    }
    // The catalogs: `_locales/<lang>/messages.json`, which the manifest's `__MSG_…__`
    // names and `chrome.i18n` read.
    write_catalogs(&root().join("_locales"), &out.join("_locales"))?;
    std::fs::create_dir_all(out.join("icons"))?;
    for size in [16, 32, 48, 128] {
        let name = format!("icon-{size}.png");
        std::fs::copy(
            root().join("icons").join(&name),
            out.join("icons").join(&name),
        )
        .with_context(|| format!("copying icons/{name}"))?;
    }

    let zip = out.join(format!("quizpulse-{version}.zip"));
    write_zip(&out, &zip)?;
    let zip_len = usize::try_from(std::fs::metadata(&zip)?.len())?;
    if browser == Browser::Firefox {
        crate::firefox::source_archive(&out, version, rustc)?;
    }

    step(format!("dist ({browser}): sizes"));
    let sizes = crate::budget::measure(&out)?;
    print!("{}", crate::budget::table(&sizes));
    note(format!(
        "{}: {}",
        zip.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into()),
        kib(zip_len)
    ));
    note(match browser {
        Browser::Chrome => format!(
            "load {} unpacked in Chrome, or upload {}",
            out.display(),
            zip.display()
        ),
        Browser::Firefox => format!(
            "load {} in Firefox (about:debugging, Load Temporary Add-on), or upload {}",
            out.join("manifest.json").display(),
            zip.display()
        ),
    });
    Ok(Package {
        browser,
        dir: out,
        zip,
        zip_len,
    })
}

/// `platform.json` (the adapters' `quizpulse_chrome::platform::FILE`).
pub const PLATFORM_FILE: &str = "platform.json";

/// The compile-time variable that makes `server` the core's default server
/// (`quizpulse::settings::DEFAULT_SERVER_URL`).
const SERVER_ENV: &str = "QUIZPULSE_SERVER";

/// Compiles the wasm crate with the wasm profile, for `server`.
fn build_wasm(tools: &Tools, server: &str) -> Result<()> {
    step(format!(
        "dist: cargo build --profile {WASM_PROFILE} --target {WASM_TARGET} -p {WASM_PACKAGE} \
         {BUILD_STD} (panic=immediate-abort)"
    ));
    let mut cmd = util::cargo();
    cmd.args([
        "build",
        "--profile",
        WASM_PROFILE,
        "--target",
        WASM_TARGET,
        "--lib",
    ])
    .args(["--package", WASM_PACKAGE, BUILD_STD]);
    wasm_build_env(&mut cmd, tools, server);
    util::run(&mut cmd)
}

/// `--server` checked by the extension's own rules (the core's settings) and
/// normalised to its origin.
fn build_server(server: &str) -> Result<String> {
    let settings = Settings {
        server_url: server.to_owned(),
        ..Settings::default()
    };
    match settings.validated() {
        Ok(valid) => Ok(valid.server_url),
        Err(err) => bail!("--server {server}: {err}"),
    }
}

/// The `host_permissions` for a build made for `server`: the core's match pattern for
/// its origin, or both loopback names (any port) for a loopback server.
pub fn host_permissions(server: &str) -> Result<Vec<String>> {
    let settings = Settings {
        server_url: build_server(server)?,
        ..Settings::default()
    };
    let loopback = parse_url(&settings.server_url, &["http", "https"])
        .is_ok_and(|url| matches!(url.host.as_str(), "127.0.0.1" | "localhost"));
    if loopback {
        return Ok(LOOPBACK_HOSTS.iter().map(|h| (*h).to_string()).collect());
    }
    Ok(vec![settings.host_permission_pattern()])
}

/// The Chromium package's manifest: the root `manifest.json` with this build's version
/// and host access.
fn chrome_manifest(version: &str, hosts: &[String]) -> Result<Value> {
    let text =
        std::fs::read_to_string(root().join("manifest.json")).context("reading manifest.json")?;
    let mut manifest: Value = serde_json::from_str(&text).context("parsing manifest.json")?;
    let object = manifest
        .as_object_mut()
        .context("manifest.json is not an object")?;
    object.insert("version".into(), Value::String(version.to_string()));
    object.insert("host_permissions".into(), serde_json::to_value(hosts)?);
    Ok(manifest)
}

/// Copies the catalogs (`from/<lang>/messages.json`) into `to/`, as compact JSON
/// without the `description`s (they are for translators; the browser reads only the
/// messages and their placeholders).
fn write_catalogs(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let lang = entry?.file_name();
        let source = from.join(&lang).join("messages.json");
        let text = std::fs::read_to_string(&source)
            .with_context(|| format!("reading {}", source.display()))?;
        let catalog = compact_catalog(&text).with_context(|| format!("in {}", source.display()))?;
        std::fs::create_dir_all(to.join(&lang))?;
        std::fs::write(to.join(&lang).join("messages.json"), catalog)?;
    }
    Ok(())
}

/// A catalog's text without its `description`s, compact.
fn compact_catalog(text: &str) -> Result<String> {
    let mut catalog: Value = serde_json::from_str(text).context("not JSON")?;
    let entries = catalog
        .as_object_mut()
        .context("a catalog must be a JSON object")?;
    for entry in entries.values_mut() {
        if let Some(entry) = entry.as_object_mut() {
            entry.remove("description");
        }
    }
    Ok(serde_json::to_string(&catalog)?)
}

/// Zips every file of `dir` (but the zip itself), sorted, with fixed timestamps.
fn write_zip(dir: &Path, zip_path: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files)?;
    files.sort();
    let file = std::fs::File::create(zip_path)?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for relative in files {
        let name = relative.to_string_lossy().replace('\\', "/");
        if dir.join(&relative) == zip_path {
            continue;
        }
        zip.start_file(name, options)?;
        zip.write_all(&std::fs::read(dir.join(&relative))?)?;
    }
    zip.finish()?;
    Ok(())
}

fn collect_files(base: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(base, &path, files)?;
        } else if path.extension().is_none_or(|e| e != "zip") {
            files.push(path.strip_prefix(base)?.to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field the adapters read (`chrome/src/platform.rs`) is in each browser's
    /// `platform.json`, and nothing else is.
    #[test]
    fn each_platform_file_has_the_fields_the_adapters_read() {
        let reader = include_str!("../../chrome/src/platform.rs");
        let mut read: Vec<String> = reader
            .split("flag(")
            .skip(1)
            .filter_map(|call| {
                let (object, rest) = call.split_once(", \"")?;
                let (name, _) = rest.split_once('"')?;
                Some(match object {
                    "&notifications" => format!("notifications.{name}"),
                    _ => name.to_owned(),
                })
            })
            .collect();
        read.sort();
        assert!(read.len() >= 5, "{read:?}");
        for browser in Browser::ALL {
            let platform = browser.platform();
            let mut written = Vec::new();
            for (key, value) in platform.as_object().unwrap() {
                match value {
                    Value::Object(fields) => {
                        written.extend(fields.keys().map(|field| format!("{key}.{field}")))
                    }
                    Value::Bool(_) => written.push(key.clone()),
                    _ => assert_eq!(key, "browser"),
                }
            }
            written.sort();
            assert_eq!(written, read, "{browser}");
        }
    }

    #[test]
    fn default_build_is_loopback_only() {
        assert_eq!(
            host_permissions(DEFAULT_SERVER).unwrap(),
            vec!["http://127.0.0.1/*", "http://localhost/*"]
        );
    }

    #[test]
    fn a_server_origin_becomes_one_match_pattern() {
        assert_eq!(
            host_permissions("https://quiz.example.org").unwrap(),
            vec!["https://quiz.example.org/*"]
        );
        assert_eq!(
            host_permissions("https://quiz.example.org:8443").unwrap(),
            vec!["https://quiz.example.org:8443/*"]
        );
        assert_eq!(
            host_permissions("http://localhost:9000").unwrap(),
            vec!["http://127.0.0.1/*", "http://localhost/*"]
        );
    }

    #[test]
    fn catalogs_ship_compact_without_descriptions() {
        let text = r#"{
          "hello": {
            "message": "Hello, $NAME$!",
            "description": "A greeting.",
            "placeholders": {"name": {"content": "$1", "example": "ann"}}
          }
        }"#;
        let compact = compact_catalog(text).unwrap();
        assert!(!compact.contains("description") && !compact.contains('\n'));
        let back: Value = serde_json::from_str(&compact).unwrap();
        assert_eq!(back["hello"]["message"], "Hello, $NAME$!");
        assert_eq!(back["hello"]["placeholders"]["name"]["content"], "$1");
        assert!(compact_catalog("[]").is_err());
    }

    #[test]
    fn bad_servers_are_refused() {
        for bad in [
            "quiz.example.org",
            "ftp://x.org",
            "https://",
            "https://a@b.org",
            "https://*/",
            "https://quiz.example.org/app/",
        ] {
            assert!(host_permissions(bad).is_err(), "{bad}");
        }
    }
}
