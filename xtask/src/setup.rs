//! `cargo xtask setup`: detect what the build needs and install what is missing.
//!
//! Every step first checks (local version checks only, no network), and installs
//! only when the check fails. A failing step says what to do by hand.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::util::{
    self, cargo_bin_dir, locked_version, note, output_of, root, run_with_timeout, secs, step,
    target_dir, which,
};

/// The wasm target triple.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Debian's wasm-capable rustc (package `rustc-web`).
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
/// Debian's cargo matching it (package `cargo-web`).
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
/// The Debian packages that give a wasm-capable toolchain with its library source;
/// `rust-web-llvm` provides the `rust-lld` that rustc links wasm with.
const DEBIAN_RUST_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "lld-22",
];
/// Marker written next to the wasm32 std we built, naming the rustc that built it.
const STD_STAMP: &str = ".quizpulse-wasm-std";

/// Everything the other commands need, found or installed by [`run`].
#[derive(Debug, Clone)]
pub struct Tools {
    /// `RUSTC` to use for wasm builds; `None` when the rustup toolchain has the target.
    pub wasm_rustc: Option<PathBuf>,
    /// `wasm-bindgen` at exactly the lock file's version.
    pub wasm_bindgen: PathBuf,
    /// `wasm-pack` (`cargo xtask dist --wasm-pack`; the default build calls cargo and
    /// wasm-bindgen directly).
    pub wasm_pack: PathBuf,
    /// `wasm-opt` from the npm package `binaryen` (a node script).
    pub wasm_opt: PathBuf,
    /// Chromium, for the end-to-end suite (`None` when setup ran for building only).
    pub chromium: Option<PathBuf>,
    /// Firefox ESR and geckodriver, for the Firefox suite (`None` when setup ran for
    /// building only).
    pub firefox: Option<Firefox>,
    /// `web-ext` (npm, beside wasm-opt): lints the Firefox package.
    pub web_ext: PathBuf,
    /// `node`.
    pub node: PathBuf,
}

/// What drives the Firefox suite.
#[derive(Debug, Clone)]
pub struct Firefox {
    /// Debian's Firefox ESR.
    pub binary: PathBuf,
    /// geckodriver (crates.io), at [`GECKODRIVER_VERSION`].
    pub geckodriver: PathBuf,
}

/// Debian's Firefox ESR (package `firefox-esr`).
const FIREFOX: &str = "/usr/bin/firefox-esr";
/// The geckodriver `cargo install` builds (about 5 minutes on 2 cores).
pub const GECKODRIVER_VERSION: &str = "0.37.1";

struct Ctx {
    apt_updated: bool,
}

/// What a command needs from setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only what building `dist/` needs.
    Build,
    /// Everything, the browser and the end-to-end packages too.
    All,
}

/// Runs every setup step of `scope`; fast when everything is already there.
pub fn run(scope: Scope) -> Result<Tools> {
    let started = Instant::now();
    step(format!(
        "setup ({}): checking the toolchain, installing only what is missing",
        if scope == Scope::All {
            "everything"
        } else {
            "build tools"
        }
    ));
    let mut ctx = Ctx { apt_updated: false };
    let mut failures = Vec::new();

    let node = attempt(
        &mut failures,
        "node and npm",
        "install Node.js 20+ and npm: `apt-get install -y nodejs npm`",
        check_node,
    );
    let wasm_rustc = attempt(
        &mut failures,
        "wasm32 target",
        "either `rustup target add wasm32-unknown-unknown`, or `apt-get install -y rustc-web \
         cargo-web rust-web-src lld-22` and build the wasm32 std into its sysroot \
         (see shared toolchain notes, step 2)",
        || ensure_wasm_target(&mut ctx),
    );
    let wasm_bindgen = attempt(
        &mut failures,
        "wasm-bindgen-cli",
        "`cargo install wasm-bindgen-cli --version <the wasm-bindgen version in Cargo.lock>`",
        ensure_wasm_bindgen,
    );
    let wasm_pack = attempt(
        &mut failures,
        "wasm-pack",
        "`cargo install wasm-pack`",
        ensure_wasm_pack,
    );
    let npm_tools = attempt(
        &mut failures,
        "wasm-opt and web-ext (npm binaryen, web-ext)",
        "`npm ci` in a folder holding xtask/tools/package.json and package-lock.json",
        ensure_npm_tools,
    );
    let chromium = if scope == Scope::All {
        attempt(
            &mut failures,
            "chromium and chromedriver",
            "`apt-get install -y chromium chromium-driver`",
            || ensure_chromium(&mut ctx),
        )
        .map(Some)
    } else {
        Some(None)
    };
    let firefox = if scope == Scope::All {
        attempt(
            &mut failures,
            "firefox-esr and geckodriver",
            &format!(
                "`apt-get install -y --no-install-recommends firefox-esr` and \
                 `cargo install geckodriver --version {GECKODRIVER_VERSION}`"
            ),
            || ensure_firefox(&mut ctx),
        )
        .map(Some)
    } else {
        Some(None)
    };
    if scope == Scope::All {
        attempt(
            &mut failures,
            "postgresql and redis-server (server tests)",
            "`apt-get install -y postgresql redis-server`",
            || ensure_db_servers(&mut ctx),
        );
        attempt(
            &mut failures,
            "end-to-end npm packages",
            "`cd tests/e2e && npm ci`",
            ensure_e2e_packages,
        );
    }

    if !failures.is_empty() {
        bail!("setup failed: {}", failures.join(", "));
    }
    let (
        Some(node),
        Some(wasm_rustc),
        Some(wasm_bindgen),
        Some(wasm_pack),
        Some((wasm_opt, web_ext)),
        Some(chromium),
        Some(firefox),
    ) = (
        node,
        wasm_rustc,
        wasm_bindgen,
        wasm_pack,
        npm_tools,
        chromium,
        firefox,
    )
    else {
        bail!("setup failed");
    };
    step(format!("setup: done in {}", secs(started.elapsed())));
    Ok(Tools {
        wasm_rustc,
        wasm_bindgen,
        wasm_pack,
        wasm_opt,
        chromium,
        firefox,
        web_ext,
        node,
    })
}

/// Runs one step, printing its outcome and, on failure, the manual fix.
fn attempt<T>(
    failures: &mut Vec<String>,
    name: &str,
    by_hand: &str,
    f: impl FnOnce() -> Result<T>,
) -> Option<T> {
    let started = Instant::now();
    match f() {
        Ok(value) => {
            note(format!("ok: {name} ({})", secs(started.elapsed())));
            Some(value)
        }
        Err(err) => {
            println!("    FAILED: {name}: {err:#}");
            println!("    to do it by hand: {by_hand}");
            failures.push(name.to_string());
            None
        }
    }
}

fn check_node() -> Result<PathBuf> {
    let node = which("node").context("node is not on PATH")?;
    let version =
        output_of(Command::new(&node).arg("--version")).context("node --version failed")?;
    which("npm").context("npm is not on PATH")?;
    note(format!("node {version}"));
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        bail!("node {version} is too old (20 or later is needed for `node --test`)");
    }
    Ok(node)
}

fn apt_install(ctx: &mut Ctx, packages: &[&str]) -> Result<()> {
    let sudo = output_of(Command::new("id").arg("-u")).as_deref() != Some("0");
    let apt = |args: &[&str]| {
        let mut cmd = if sudo {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        } else {
            Command::new("apt-get")
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    if !ctx.apt_updated {
        util::run(&mut apt(&["update"]))?;
        ctx.apt_updated = true;
    }
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend_from_slice(packages);
    util::run(&mut apt(&args))
}

// ---------------------------------------------------------------- wasm32 target

fn rustup_has_wasm_target() -> bool {
    output_of(Command::new("rustup").args(["target", "list", "--installed"]))
        .is_some_and(|list| list.lines().any(|l| l.trim() == WASM_TARGET))
}

fn ensure_wasm_target(ctx: &mut Ctx) -> Result<Option<PathBuf>> {
    let force_debian = std::env::var("QUIZPULSE_WASM_TOOLCHAIN").as_deref() == Ok("debian");
    if force_debian {
        note(
            "QUIZPULSE_WASM_TOOLCHAIN=debian: using Debian's rustc-web even if rustup has the target",
        );
    } else if rustup_has_wasm_target() {
        note("rustup's toolchain has the wasm32 target");
        if rustup_has_std_source() {
            return Ok(None);
        }
        note("adding rustup's rust-src (dist rebuilds std; bounded like the target add)");
        let status = run_with_timeout(
            Command::new("rustup").args(["component", "add", "rust-src"]),
            RUSTUP_LIMIT,
        )?;
        if status.is_some_and(|s| s.success()) && rustup_has_std_source() {
            return Ok(None);
        }
        note("rustup could not add rust-src; using Debian's rustc-web (with rust-web-src) instead");
    }
    let rustc = Path::new(DEBIAN_RUSTC);
    if debian_std_ready(rustc)? && std_source(rustc).is_some() {
        note(format!("{DEBIAN_RUSTC} has a wasm32 std in its sysroot"));
        return Ok(Some(rustc.to_path_buf()));
    }
    // On a machine with a working rustup download, this is all it takes.
    if !force_debian && which("rustup").is_some() && !rustc.exists() {
        note("trying rustup first (bounded: it hangs where its download host is unreachable)");
        let [target_add, component_add] = RUSTUP_WASM;
        let target = run_with_timeout(Command::new("rustup").args(target_add), RUSTUP_LIMIT)?;
        let source = if target.is_some_and(|s| s.success()) {
            run_with_timeout(Command::new("rustup").args(component_add), RUSTUP_LIMIT)?
        } else {
            None
        };
        if source.is_some_and(|s| s.success())
            && rustup_has_wasm_target()
            && rustup_has_std_source()
        {
            return Ok(None);
        }
        note("rustup could not add the target and rust-src; using Debian's rustc-web instead");
    }
    if !rustc.exists() || std_source(rustc).is_none() || which("rust-lld").is_none() {
        note("installing Debian's wasm-capable Rust (rustc-web 1.96 with its library source)");
        apt_install(ctx, DEBIAN_RUST_PACKAGES)?;
    }
    if !std_built_by(rustc)? {
        build_wasm_std(rustc)?;
    }
    if !debian_std_ready(rustc)? {
        bail!("built the wasm32 std, but {DEBIAN_RUSTC} still does not find it");
    }
    Ok(Some(rustc.to_path_buf()))
}

/// The rustup commands that add the wasm32 target and the standard library's
/// source, each bounded by [`RUSTUP_LIMIT`]. Two commands: rustup 1.29 refuses
/// `target add … --component rust-src` ("unexpected argument '--component'").
const RUSTUP_WASM: [[&str; 3]; 2] = [
    ["target", "add", WASM_TARGET],
    ["component", "add", "rust-src"],
];

/// How long a `rustup` download may take before setup gives up on it (it hangs where
/// its download host is unreachable).
const RUSTUP_LIMIT: Duration = Duration::from_secs(60);

/// The standard library's source under `rustc`'s sysroot, which `cargo xtask dist`
/// needs: it rebuilds std with `panic=immediate-abort` (`-Zbuild-std`).
pub fn std_source(rustc: &Path) -> Option<PathBuf> {
    let sysroot = output_of(Command::new(rustc).args(["--print", "sysroot"]))?;
    let library = Path::new(&sysroot)
        .join("lib")
        .join("rustlib")
        .join("src")
        .join("rust")
        .join("library");
    library.join("std").is_dir().then_some(library)
}

/// True when rustup's toolchain (the `rustc` on PATH) has `rust-src`.
fn rustup_has_std_source() -> bool {
    std_source(Path::new("rustc")).is_some()
}

fn rustc_id(rustc: &Path) -> Option<String> {
    output_of(Command::new(rustc).arg("-vV"))
}

fn wasm_libdir(rustc: &Path) -> Result<PathBuf> {
    let dir =
        output_of(Command::new(rustc).args(["--target", WASM_TARGET, "--print", "target-libdir"]))
            .with_context(|| format!("`{} --print target-libdir` failed", rustc.display()))?;
    Ok(PathBuf::from(dir))
}

/// True when `rustc` has a wasm32 std that this setup built with this very rustc,
/// and the `rust-lld` to link with.
fn debian_std_ready(rustc: &Path) -> Result<bool> {
    if which("rust-lld").is_none() || !std_built_by(rustc)? {
        return Ok(false);
    }
    let has_std = std::fs::read_dir(wasm_libdir(rustc)?).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    });
    Ok(has_std)
}

/// True when the wasm32 std in `rustc`'s sysroot was built by this setup with this rustc.
fn std_built_by(rustc: &Path) -> Result<bool> {
    let Some(id) = rustc_id(rustc) else {
        return Ok(false);
    };
    let stamp = std::fs::read_to_string(wasm_libdir(rustc)?.join(STD_STAMP)).unwrap_or_default();
    Ok(stamp == id)
}

/// Builds the wasm32 standard library once and installs it into `rustc`'s sysroot.
fn build_wasm_std(rustc: &Path) -> Result<()> {
    note("building the wasm32 standard library once (a few minutes)");
    let dir = target_dir().join("tools").join("wasm-std");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"wasm-std-build\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
         [lib]\npath = \"lib.rs\"\n\n\
         # lto = true makes the rlibs carry bitcode; LTO builds need it.\n\
         [profile.release]\npanic = \"abort\"\nlto = true\ncodegen-units = 1\n\n[workspace]\n",
    )?;
    std::fs::write(dir.join("lib.rs"), "//! Empty: only here to build std.\n")?;
    let build_target = dir.join("target");
    let cargo = if Path::new(DEBIAN_CARGO).exists() {
        DEBIAN_CARGO
    } else {
        "cargo"
    };
    util::run(
        Command::new(cargo)
            .current_dir(&dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("RUSTC", rustc)
            .env("CARGO_TARGET_DIR", &build_target)
            .env_remove("RUSTUP_TOOLCHAIN")
            .args(["build", "--release", "--target", WASM_TARGET])
            .arg("-Zbuild-std=std,panic_abort,panic_unwind"),
    )?;

    let libdir = wasm_libdir(rustc)?;
    std::fs::create_dir_all(&libdir)
        .with_context(|| format!("creating {} (needs root)", libdir.display()))?;
    for entry in std::fs::read_dir(&libdir)?.flatten() {
        if entry.file_name().to_string_lossy().ends_with(".rlib") {
            std::fs::remove_file(entry.path())?;
        }
    }
    let deps = build_target.join(WASM_TARGET).join("release").join("deps");
    let mut copied = 0;
    for entry in std::fs::read_dir(&deps).with_context(|| format!("reading {}", deps.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".rlib") && !name.starts_with("libwasm_std_build") {
            std::fs::copy(entry.path(), libdir.join(&name))
                .with_context(|| format!("copying {name} into {}", libdir.display()))?;
            copied += 1;
        }
    }
    let id = rustc_id(rustc).context("rustc -vV failed")?;
    std::fs::write(libdir.join(STD_STAMP), id)?;
    note(format!(
        "installed {copied} rlibs into {}",
        libdir.display()
    ));
    Ok(())
}

// ---------------------------------------------------------------- cargo-installed tools

fn find_tool(name: &str) -> Option<PathBuf> {
    let in_cargo = cargo_bin_dir().join(name);
    if in_cargo.is_file() {
        Some(in_cargo)
    } else {
        which(name)
    }
}

fn cargo_install(args: &[&str]) -> Result<()> {
    // A native install: never with the wasm rustc.
    util::run(
        Command::new("cargo")
            .current_dir(util::home_dir())
            .env_remove("RUSTC")
            .arg("install")
            .args(args),
    )
}

fn ensure_wasm_bindgen() -> Result<PathBuf> {
    let wanted = locked_version("wasm-bindgen")?;
    let current = find_tool("wasm-bindgen").and_then(|p| {
        let v = output_of(Command::new(&p).arg("--version"))?;
        Some((p, v))
    });
    if let Some((path, version)) = &current {
        if version.split_whitespace().nth(1) == Some(wanted.as_str()) {
            note(format!("{version} (matches Cargo.lock)"));
            return Ok(path.clone());
        }
        note(format!(
            "found {version}, but Cargo.lock has wasm-bindgen {wanted}"
        ));
    }
    note(format!(
        "installing wasm-bindgen-cli {wanted} (about 3 minutes on 2 cores)"
    ));
    // No --locked: the registry here may lag the newest versions its lock file names.
    cargo_install(&["wasm-bindgen-cli", "--version", &wanted])?;
    let path = find_tool("wasm-bindgen").context("wasm-bindgen is not found after install")?;
    let version = output_of(Command::new(&path).arg("--version")).unwrap_or_default();
    if version.split_whitespace().nth(1) != Some(wanted.as_str()) {
        bail!("installed `{version}`, expected {wanted}");
    }
    Ok(path)
}

fn ensure_wasm_pack() -> Result<PathBuf> {
    if let Some(path) = find_tool("wasm-pack")
        && let Some(version) = output_of(Command::new(&path).arg("--version"))
    {
        note(version);
        return Ok(path);
    }
    note("installing wasm-pack (about 2.5 minutes on 2 cores)");
    cargo_install(&["wasm-pack"])?;
    find_tool("wasm-pack").context("wasm-pack is not found after install")
}

// ---------------------------------------------------------------- npm tools

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The version a package-lock.json pins for `package`.
fn pinned_npm_version(lock: &Path, package: &str) -> Result<String> {
    let lock = read_json(lock)?;
    lock["packages"][format!("node_modules/{package}")]["version"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("{package} is not in the lock file"))
}

fn installed_npm_version(dir: &Path, package: &str) -> Option<String> {
    let manifest = read_json(&dir.join("node_modules").join(package).join("package.json")).ok()?;
    manifest["version"].as_str().map(str::to_string)
}

fn npm_ci(dir: &Path) -> Result<()> {
    util::run(Command::new("npm").current_dir(dir).args([
        "ci",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))
}

/// The folder where the npm-installed build tools live (not committed).
pub fn tools_npm_dir() -> PathBuf {
    target_dir().join("tools").join("npm")
}

/// wasm-opt (npm `binaryen`) and web-ext, both at `xtask/tools/package-lock.json`'s
/// versions, installed under `target/tools/npm`: their paths.
fn ensure_npm_tools() -> Result<(PathBuf, PathBuf)> {
    let source = root().join("xtask").join("tools");
    let dir = tools_npm_dir();
    let lock = source.join("package-lock.json");
    let wanted = ["binaryen", "web-ext"]
        .map(|package| pinned_npm_version(&lock, package).map(|v| (package, v)));
    let wasm_opt = dir
        .join("node_modules")
        .join("binaryen")
        .join("bin")
        .join("wasm-opt");
    let web_ext = dir
        .join("node_modules")
        .join("web-ext")
        .join("bin")
        .join("web-ext.js");
    let versions = || {
        let wasm_opt = output_of(Command::new("node").arg(&wasm_opt).arg("--version"))?;
        let web_ext = output_of(Command::new("node").arg(&web_ext).arg("--version"))?;
        Some(format!("{wasm_opt}; web-ext {web_ext}"))
    };
    let same_lock = std::fs::read(dir.join("package-lock.json")).ok() == std::fs::read(&lock).ok();
    let mut installed = same_lock;
    for wanted in &wanted {
        let (package, version) = wanted.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        installed &= installed_npm_version(&dir, package).as_deref() == Some(version.as_str());
    }
    if installed && let Some(versions) = versions() {
        note(versions);
        return Ok((wasm_opt, web_ext));
    }
    note(format!(
        "installing binaryen and web-ext from npm into {}",
        dir.display()
    ));
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(source.join("package.json"), dir.join("package.json"))?;
    std::fs::copy(&lock, dir.join("package-lock.json"))?;
    npm_ci(&dir)?;
    note(versions().context("wasm-opt or web-ext --version failed after install")?);
    Ok((wasm_opt, web_ext))
}

fn ensure_e2e_packages() -> Result<()> {
    let dir = root().join("tests").join("e2e");
    let lock = dir.join("package-lock.json");
    // Every direct dependency at the lock file's version, or `npm ci` again (a new
    // package in the lock must not go unnoticed on a machine that ran setup before).
    let lock_json = read_json(&lock)?;
    let root_package = &lock_json["packages"][""];
    let mut direct: Vec<&str> = ["dependencies", "devDependencies"]
        .iter()
        .filter_map(|field| root_package[*field].as_object())
        .flat_map(|deps| deps.keys().map(String::as_str))
        .collect();
    direct.sort_unstable();
    let mut missing = Vec::new();
    for package in &direct {
        let wanted = pinned_npm_version(&lock, package)?;
        if installed_npm_version(&dir, package).as_deref() != Some(wanted.as_str()) {
            missing.push(format!("{package} {wanted}"));
        }
    }
    if missing.is_empty() {
        note(direct.join(", "));
        return Ok(());
    }
    note(format!(
        "installing the end-to-end suite's packages ({})",
        missing.join(", ")
    ));
    npm_ci(&dir)
}

// ---------------------------------------------------------------- postgresql, redis

/// PostgreSQL's `initdb` (Debian keeps it in `/usr/lib/postgresql/N/bin`).
fn find_initdb() -> Option<PathBuf> {
    if let Some(dir) = output_of(Command::new("pg_config").arg("--bindir")) {
        let initdb = PathBuf::from(dir.trim()).join("initdb");
        if initdb.exists() {
            return Some(initdb);
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin").join("initdb"))
        .filter(|p| p.exists())
        .collect();
    dirs.sort();
    dirs.pop().or_else(|| find_tool("initdb"))
}

/// The server tests start their own PostgreSQL and Redis (never the
/// packages' system services): only the programs are needed.
fn ensure_db_servers(ctx: &mut Ctx) -> Result<()> {
    let versions = || {
        let initdb = find_initdb()?;
        let pg = output_of(Command::new(initdb).arg("--version"))?;
        let redis = output_of(Command::new("redis-server").arg("--version"))?;
        Some((pg, redis))
    };
    if versions().is_none() {
        note("installing Debian's postgresql and redis-server");
        apt_install(ctx, &["postgresql", "redis-server"])?;
    }
    let (pg, redis) = versions().context("initdb or redis-server missing after install")?;
    note(format!(
        "{pg}; {}",
        redis.split(" sha=").next().unwrap_or(&redis)
    ));
    Ok(())
}

// ---------------------------------------------------------------- chromium

fn ensure_chromium(ctx: &mut Ctx) -> Result<PathBuf> {
    let chromium = PathBuf::from("/usr/bin/chromium");
    let driver = PathBuf::from("/usr/bin/chromedriver");
    let versions = || {
        let c = output_of(Command::new(&chromium).arg("--version"))?;
        let d = output_of(Command::new(&driver).arg("--version"))?;
        Some((c, d))
    };
    if let Some((c, d)) = versions() {
        note(format!("{c}; {}", d.split(" (").next().unwrap_or(&d)));
        return Ok(chromium);
    }
    note("installing Debian's chromium and chromium-driver");
    apt_install(ctx, &["chromium", "chromium-driver"])?;
    let (c, _) = versions().context("chromium --version fails after install")?;
    note(c);
    Ok(chromium)
}

// ---------------------------------------------------------------- firefox

/// The version geckodriver reports (`geckodriver 0.37.1 (…)` → `0.37.1`).
fn geckodriver_version(path: &Path) -> Option<String> {
    let text = output_of(Command::new(path).arg("--version"))?;
    let first = text.lines().next()?;
    first.split_whitespace().nth(1).map(str::to_owned)
}

fn ensure_firefox(ctx: &mut Ctx) -> Result<Firefox> {
    let binary = PathBuf::from(FIREFOX);
    let firefox_version = || output_of(Command::new(&binary).arg("--version"));
    if firefox_version().is_none() {
        note("installing Debian's firefox-esr");
        apt_install(ctx, &["firefox-esr"])?;
    }
    let version = firefox_version().context("firefox-esr --version fails after install")?;
    let current = find_tool("geckodriver").and_then(|p| Some((geckodriver_version(&p)?, p)));
    let geckodriver = match current {
        Some((found, path)) if found == GECKODRIVER_VERSION => path,
        found => {
            if let Some((found, _)) = found {
                note(format!(
                    "found geckodriver {found}, the suite is pinned to {GECKODRIVER_VERSION}"
                ));
            }
            note(format!(
                "installing geckodriver {GECKODRIVER_VERSION} from crates.io (about 5 minutes on 2 cores)"
            ));
            cargo_install(&["geckodriver", "--version", GECKODRIVER_VERSION])?;
            let path =
                find_tool("geckodriver").context("geckodriver is not found after install")?;
            if geckodriver_version(&path).as_deref() != Some(GECKODRIVER_VERSION) {
                bail!("installed geckodriver, but it does not say {GECKODRIVER_VERSION}");
            }
            path
        }
    };
    note(format!("{version}; geckodriver {GECKODRIVER_VERSION}"));
    Ok(Firefox {
        binary,
        geckodriver,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option the wasm commands pass is one rustup says its subcommand
    /// takes (checked against the installed rustup's `--help`; skipped where
    /// there is no rustup).
    #[test]
    fn the_rustup_commands_use_only_options_rustup_takes() {
        for command in RUSTUP_WASM {
            let [sub, action, _] = command;
            let Some(help) = output_of(Command::new("rustup").args([sub, action, "--help"])) else {
                return;
            };
            for option in command.iter().filter(|a| a.starts_with("--")) {
                assert!(
                    help.contains(option),
                    "`rustup {sub} {action}` takes no {option}"
                );
            }
        }
    }
}
