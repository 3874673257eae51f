//! The Firefox add-on: `dist-firefox/`, the same wasm, loaders, pages and icons as
//! `dist/`, with a Manifest V2 manifest made from the root one, Firefox's
//! `platform.json`, the upload (`quizpulse-<version>.zip`) and the source archive with
//! its build steps that addons.mozilla.org asks of compiled code
//! (`quizpulse-<version>-source.zip`).
//!
//! **Why Manifest V2 with a persistent background page.** Firefox has no background
//! service worker: a Manifest V3 add-on's background scripts run in an event page,
//! which Firefox stops after about 30 s without extension events, and an open
//! WebSocket does not keep it (measured with the real add-on: ARCHITECTURE.md,
//! "Firefox", and `tests/e2e/firefox/background-kind.mjs`). A stopped page has no
//! socket, so an upload is seen only when something else wakes the page. Firefox
//! keeps Manifest V2 with `"persistent": true`, whose page lives as long as the
//! browser: one socket for every tab, and notifications with the popup closed.
//!
//! The same background code runs in it: the loader (`service_worker.js`) is loaded as
//! a module background script, the browser differences are in the adapters (the
//! `browser` namespace where Firefox's `chrome` returns no promises, `browserAction`
//! where there is no `action`, the notification options Firefox takes).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::util::{note, output_of, root, step};

/// The add-on's id (a GUID of its own: it claims no domain). Fixed forever: Firefox
/// and addons.mozilla.org know an add-on by it, and its storage is kept under it.
pub const GECKO_ID: &str = "{6bc32f01-d61e-4854-8bae-65475719b6ca}";

/// The oldest Firefox the add-on declares. What it needs: `background.type` "module"
/// (112), `storage.session` (115), `scripting` in Manifest V2 (102) with
/// `persistAcrossSessions: true` (105), `'wasm-unsafe-eval'` (102); and a Firefox that
/// accepts the manifest at all: 127 and older refuse a manifest with
/// `data_collection_permissions`. 128 is the first version that has all of it (and an
/// ESR).
pub const STRICT_MIN_VERSION: &str = "128.0";

/// What the add-on transmits, for Firefox's built-in consent
/// (`data_collection_permissions.required`):
/// - `authenticationInfo`: the username and password typed at sign-in, and the tokens
///   they are exchanged for, go to the quiz server the user chose (and nowhere else);
/// - `browsingActivity`: while a tab shows a quiz page of the configured quiz site
///   (`/quizzes/<id>/`), the add-on subscribes to that quiz's updates on the same
///   server, which so learns that the account has that page open.
///
/// Nothing else leaves the browser: no analytics, no third party.
pub const DATA_COLLECTION: &[&str] = &["authenticationInfo", "browsingActivity"];

/// The `dist-firefox/` folder.
pub fn dist_dir() -> PathBuf {
    root().join("dist-firefox")
}

/// Firefox's `platform.json` (`quizpulse_chrome::platform`): its notifications take
/// neither `requireInteraction` nor `silent` (a `create` with either is refused whole),
/// it has no `notifications.update`, its `onClosed` says "by the user" for every
/// close, a time-out by the system included, and its match patterns have no port (one
/// with a port matches nothing).
pub fn platform() -> Value {
    json!({
        "browser": "Firefox",
        "notifications": {
            "keep_on_screen": false,
            "silent": false,
            "update": false,
            "closed_by_user": false,
        },
        "match_pattern_ports": false,
    })
}

/// The keys of the Chromium manifest carried over unchanged.
const SAME: &[&str] = &[
    "name",
    "short_name",
    "description",
    "version",
    "icons",
    "default_locale",
    "author",
    "homepage_url",
];

/// The Firefox manifest from the Chromium package's (`dist/manifest.json`, version and
/// host access already set): Manifest V2, a persistent background page running the
/// same loader as a module, `browser_action`, host access in `permissions`, the same
/// content security policy, and the gecko settings. A key it does not know is an
/// error, so that a new one is carried over on purpose.
pub fn manifest(chrome: &Value) -> Result<Value> {
    let chrome = chrome
        .as_object()
        .context("the manifest is not an object")?;
    let mut out = Map::new();
    let strings = |key: &str| -> Result<Vec<Value>> {
        match chrome.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(items.clone()),
            Some(_) => bail!("manifest.json: `{key}` is not a list of strings"),
        }
    };
    for (key, value) in chrome {
        match key.as_str() {
            k if SAME.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            "manifest_version" => {
                if value != &json!(3) {
                    bail!("manifest.json: expected manifest_version 3, found {value}");
                }
            }
            // Chrome's only.
            "minimum_chrome_version" => {}
            "action" => {
                out.insert("browser_action".into(), value.clone());
            }
            "options_ui" => {
                let mut options = value
                    .as_object()
                    .context("manifest.json: `options_ui` is not an object")?
                    .clone();
                // In Manifest V2 Firefox styles the page as its own unless told not to.
                options.insert("browser_style".into(), json!(false));
                out.insert(key.clone(), Value::Object(options));
            }
            "background" => {
                let worker = value
                    .get("service_worker")
                    .and_then(Value::as_str)
                    .context("manifest.json: `background.service_worker` is missing")?;
                out.insert(
                    key.clone(),
                    json!({ "scripts": [worker], "type": "module", "persistent": true }),
                );
            }
            "content_security_policy" => {
                let pages = value
                    .get("extension_pages")
                    .and_then(Value::as_str)
                    .context(
                        "manifest.json: `content_security_policy.extension_pages` is missing",
                    )?;
                out.insert(key.clone(), json!(pages));
            }
            "permissions" | "host_permissions" | "optional_host_permissions" => {}
            other => bail!(
                "manifest.json has `{other}`, which the Firefox package does not carry yet: \
                 add it to xtask/src/firefox.rs (unchanged in SAME, or converted)"
            ),
        }
    }
    out.insert("manifest_version".into(), json!(2));
    let mut permissions = strings("permissions")?;
    // Firefox's match patterns have no port: without it, one covers the host's every port.
    for host in strings("host_permissions")? {
        let pattern = host.as_str().unwrap_or_default();
        let pattern = Value::String(without_port(pattern));
        if !permissions.contains(&pattern) {
            permissions.push(pattern);
        }
    }
    out.insert("permissions".into(), Value::Array(permissions));
    let optional = strings("optional_host_permissions")?;
    if !optional.is_empty() {
        out.insert("optional_permissions".into(), Value::Array(optional));
    }
    out.insert(
        "browser_specific_settings".into(),
        json!({
            "gecko": {
                "id": GECKO_ID,
                "strict_min_version": STRICT_MIN_VERSION,
                "data_collection_permissions": { "required": DATA_COLLECTION },
            }
        }),
    );
    Ok(Value::Object(out))
}

/// A match pattern without its host's port (`https://h:8443/*` → `https://h/*`), as
/// `quizpulse_chrome::platform::without_port` does at run time.
fn without_port(pattern: &str) -> String {
    let Some((scheme, rest)) = pattern.split_once("://") else {
        return pattern.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => host,
        _ => authority,
    };
    format!("{scheme}://{host}{path}")
}

/// The build steps in the source archive, for addons.mozilla.org's review.
fn build_steps(version: &str, toolchain: &str) -> String {
    format!(
        "# QuizPulse {version} for Firefox: building it from this source\n\
         \n\
         The add-on's logic is Rust compiled to WebAssembly (`wasm/quizpulse_bg.wasm`), \
         bound by wasm-bindgen (`wasm/quizpulse.js`, generated). Everything else in the \
         package is copied from this tree as it is: the loaders \
         (`background/js/service_worker.js`, `background/js/quiz_page.js`, \
         `popup/static/*.js`), the pages and styles (`popup/static/`), the icons \
         (`icons/`). The manifest is `manifest.json` converted by \
         `xtask/src/firefox.rs`.\n\
         \n\
         ## Steps (Debian 12 or later, as root or with sudo; Rust from rustup; Node.js 20+ and npm)\n\
         \n\
         ```sh\n\
         cargo xtask dist --browser firefox\n\
         ```\n\
         \n\
         It first installs what the build needs and is missing, and says what it does: \
         the wasm32 target with the standard library's source (rustup's, or, where rustup \
         cannot download it, Debian's `rustc-web` with its wasm32 standard library built \
         once), `wasm-bindgen-cli` at Cargo.lock's version, and binaryen's `wasm-opt` from \
         npm as pinned by `xtask/tools/package-lock.json`. The package is then \
         `dist-firefox/` and its upload `dist-firefox/quizpulse-{version}.zip`, which \
         holds the same files.\n\
         \n\
         ## The toolchain this upload was built with\n\
         \n\
         {toolchain}\n"
    )
}

/// The tools' versions, for the build steps; `rustc` is the one the wasm was built with.
fn toolchain(rustc: &Path) -> String {
    let version = |cmd: &mut Command| {
        output_of(cmd)
            .map(|v| v.lines().next().unwrap_or_default().to_owned())
            .unwrap_or_else(|| "(not found)".into())
    };
    let rustc = format!(
        "{} (`{}`)",
        version(Command::new(rustc).arg("--version")),
        rustc.display()
    );
    format!(
        "- rustc: {rustc}, with its standard library rebuilt (`-Zbuild-std`)\n\
         - wasm-bindgen: {} (Cargo.lock)\n\
         - node: {}\n\
         - wasm-opt: binaryen from npm, as pinned in `xtask/tools/package-lock.json`",
        crate::util::locked_version("wasm-bindgen").unwrap_or_default(),
        version(Command::new("node").arg("--version")),
    )
}

/// Writes `quizpulse-<version>-source.zip` into `out`: every file git tracks in this
/// checkout (as it is on disk), and `BUILD-FIREFOX.md` with the build steps and the
/// toolchain (`rustc`: the compiler the wasm was built with).
pub fn source_archive(out: &Path, version: &str, rustc: &Path) -> Result<PathBuf> {
    let listed = Command::new("git")
        .current_dir(root())
        .args(["ls-files", "-z"])
        .output()
        .context("running git ls-files (the source archive lists the tracked files)")?;
    if !listed.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&listed.stderr).trim()
        );
    }
    let mut files: Vec<String> = listed
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .filter(|name| root().join(name).is_file())
        .collect();
    files.sort();
    let path = out.join(format!("quizpulse-{version}-source.zip"));
    let file = std::fs::File::create(&path)?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let prefix = format!("quizpulse-{version}");
    zip.start_file(format!("{prefix}/BUILD-FIREFOX.md"), options)?;
    zip.write_all(build_steps(version, &toolchain(rustc)).as_bytes())?;
    for name in &files {
        zip.start_file(format!("{prefix}/{name}"), options)?;
        zip.write_all(
            &std::fs::read(root().join(name)).with_context(|| format!("reading {name}"))?,
        )?;
    }
    zip.finish()?;
    note(format!(
        "{}: {} files and BUILD-FIREFOX.md (the source for review)",
        path.display(),
        files.len()
    ));
    Ok(path)
}

/// `web-ext lint` on `dist-firefox/` (npm `web-ext`, installed by setup beside
/// wasm-opt): its JSON report's errors, warnings and notices. Fails on an error.
pub fn lint(web_ext: &Path, node: &Path) -> Result<Lint> {
    step(format!(
        "web-ext lint --source-dir {}",
        dist_dir().display()
    ));
    let run = Command::new(node)
        .arg(web_ext)
        .args([
            "lint",
            "--output",
            "json",
            "--no-config-discovery",
            "--source-dir",
        ])
        .arg(dist_dir())
        .output()
        .context("running web-ext lint")?;
    let text = String::from_utf8_lossy(&run.stdout);
    let start = text
        .find('{')
        .context("web-ext lint printed no JSON report")?;
    let report: Value = serde_json::from_str(&text[start..]).with_context(|| {
        format!(
            "reading web-ext lint's report: {}",
            String::from_utf8_lossy(&run.stderr).trim()
        )
    })?;
    let list = |kind: &str| -> Vec<String> {
        report[kind]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                format!(
                    "{} {}{}",
                    m["code"].as_str().unwrap_or("?"),
                    m["message"].as_str().unwrap_or_default(),
                    m["file"]
                        .as_str()
                        .map(|f| format!(" ({f})"))
                        .unwrap_or_default()
                )
            })
            .collect()
    };
    Ok(Lint {
        errors: list("errors"),
        warnings: list("warnings"),
        notices: list("notices"),
    })
}

/// What `web-ext lint` said.
#[derive(Debug, Clone, Default)]
pub struct Lint {
    /// Errors: the package would be refused.
    pub errors: Vec<String>,
    /// Warnings (each explained in README.md, "Firefox").
    pub warnings: Vec<String>,
    /// Notices.
    pub notices: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrome() -> Value {
        let text = std::fs::read_to_string(root().join("manifest.json")).unwrap();
        let mut manifest: Value = serde_json::from_str(&text).unwrap();
        manifest["version"] = json!("1.2.3");
        manifest["host_permissions"] = json!(["http://127.0.0.1/*", "http://localhost/*"]);
        manifest
    }

    #[test]
    fn the_firefox_manifest_is_v2_with_a_persistent_module_page() {
        let firefox = manifest(&chrome()).unwrap();
        assert_eq!(firefox["manifest_version"], json!(2));
        assert_eq!(
            firefox["background"],
            json!({ "scripts": ["service_worker.js"], "type": "module", "persistent": true })
        );
        assert_eq!(firefox["version"], json!("1.2.3"));
        assert_eq!(
            firefox["browser_action"]["default_popup"],
            json!("popup.html")
        );
        assert!(firefox.get("action").is_none());
        assert!(firefox.get("host_permissions").is_none());
        assert!(firefox.get("minimum_chrome_version").is_none());
        assert_eq!(firefox["options_ui"]["browser_style"], json!(false));
        assert_eq!(firefox["options_ui"]["page"], json!("options.html"));
    }

    #[test]
    fn host_access_moves_into_permissions_and_the_policy_is_the_same() {
        let source = chrome();
        let firefox = manifest(&source).unwrap();
        let permissions: Vec<&str> = firefox["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for api in source["permissions"].as_array().unwrap() {
            assert!(permissions.contains(&api.as_str().unwrap()), "{api}");
        }
        assert!(permissions.contains(&"http://127.0.0.1/*"));
        assert!(permissions.contains(&"http://localhost/*"));
        assert_eq!(
            firefox["optional_permissions"],
            source["optional_host_permissions"]
        );
        assert_eq!(
            firefox["content_security_policy"],
            source["content_security_policy"]["extension_pages"]
        );
    }

    #[test]
    fn a_server_with_a_port_is_granted_without_it() {
        let mut source = chrome();
        source["host_permissions"] = json!(["https://quiz.example.org:8443/*"]);
        let firefox = manifest(&source).unwrap();
        let permissions = firefox["permissions"].as_array().unwrap();
        assert!(permissions.contains(&json!("https://quiz.example.org/*")));
        assert!(
            !permissions
                .iter()
                .any(|p| p.as_str().unwrap().contains(":8443"))
        );
    }

    #[test]
    fn the_gecko_settings_declare_id_version_and_data() {
        let firefox = manifest(&chrome()).unwrap();
        let gecko = &firefox["browser_specific_settings"]["gecko"];
        assert_eq!(gecko["id"], json!(GECKO_ID));
        assert_eq!(gecko["strict_min_version"], json!("128.0"));
        assert_eq!(
            gecko["data_collection_permissions"]["required"],
            json!(["authenticationInfo", "browsingActivity"])
        );
    }

    #[test]
    fn an_unknown_manifest_key_is_refused_not_dropped() {
        let mut source = chrome();
        source["side_panel"] = json!({ "default_path": "x.html" });
        let err = manifest(&source).unwrap_err().to_string();
        assert!(err.contains("side_panel"), "{err}");
    }

    #[test]
    fn firefox_has_none_of_the_optional_notification_features() {
        let platform = platform();
        assert_eq!(platform["browser"], json!("Firefox"));
        for (name, value) in platform["notifications"].as_object().unwrap() {
            assert_eq!(value, &json!(false), "{name}");
        }
    }

    #[test]
    fn the_build_steps_name_the_command() {
        let steps = build_steps("9.9.9", "- rustc: x");
        assert!(steps.contains("cargo xtask dist --browser firefox"));
        assert!(steps.contains("quizpulse-9.9.9.zip"));
    }
}
