//! `cargo xtask demo [--browser]`: `dist/`, the reference server with demo data on
//! 127.0.0.1:8000, and instructions. Ctrl-C stops everything it started.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::dist;
use crate::setup::{self, Scope};
use crate::util::{self, display, note, run_with_timeout, step, target_dir};

const BIND: &str = "127.0.0.1:8000";

/// The demo accounts the reference server seeds with `--demo`.
pub const DEMO_ACCOUNTS: &[(&str, &str)] = &[
    ("alice", "alice-pass"),
    ("bob", "bob-pass"),
    ("carol", "carol-pass"),
    ("dave", "dave-pass"),
];

/// Runs the demo until Ctrl-C.
pub fn run(browser: bool) -> Result<()> {
    let tools = setup::run(if browser { Scope::All } else { Scope::Build })?;
    dist::run(&tools, None)?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("installing the Ctrl-C handler")?;
    }

    step("demo: building the reference server");
    util::run(util::cargo().args(["build", "--package", "quizpulse-server"]))?;
    let server_bin = target_dir().join("debug").join("quizpulse-server");
    let demo_dir = target_dir().join("demo");
    std::fs::create_dir_all(&demo_dir)?;
    let db = demo_dir.join("quizpulse-demo.db");
    for suffix in ["", "-shm", "-wal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }

    let mut server = Command::new(&server_bin);
    server
        .args(["serve", "--bind", BIND, "--db"])
        .arg(format!("sqlite://{}", db.display()))
        .arg("--demo");
    step("demo: starting the reference server (fresh demo database)");
    note(format!("$ {}", display(&server)));
    let mut children: Vec<(&str, Child)> = Vec::new();
    children.push((
        "server",
        server.spawn().context("starting the reference server")?,
    ));

    let result = wait_for_port(BIND, &stop, &mut children).and_then(|()| {
        print_instructions();
        if browser && let Some(child) = open_browser(&tools)? {
            children.push(("chromium", child));
        }
        println!("\nPress Ctrl-C to stop.");
        util::flush();
        let mut browser_reported = false;
        while !stop.load(Ordering::SeqCst) {
            for (name, child) in &mut children {
                if let Some(status) = child.try_wait()? {
                    if *name == "server" {
                        bail!("the reference server exited ({status})");
                    }
                    if !browser_reported {
                        println!("Chromium exited ({status}); the server keeps running.");
                        browser_reported = true;
                    }
                }
            }
            thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    });
    stop_all(&mut children);
    result
}

fn wait_for_port(bind: &str, stop: &AtomicBool, children: &mut [(&str, Child)]) -> Result<()> {
    let addr: SocketAddr = bind.parse()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        for (_, child) in children.iter_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("the reference server exited before listening ({status})");
            }
        }
        thread::sleep(Duration::from_millis(200));
    }
    bail!("the reference server did not listen on {bind} within 60 s")
}

fn print_instructions() {
    let dist = dist::dist_dir();
    println!();
    println!("QuizPulse demo is running.");
    println!(
        "  Reference server: http://{BIND}/  (websocket: ws://{BIND}/ws/leaderboard/?token=...)"
    );
    println!();
    println!("Load the extension in Chrome or Chromium:");
    println!("  1. open chrome://extensions");
    println!("  2. switch on \"Developer mode\" (top right)");
    println!("  3. \"Load unpacked\" and choose {}", dist.display());
    println!("  4. pin QuizPulse from the puzzle-piece menu and click its icon");
    println!(
        "  (loaded from this folder its id is {id}: the popup is also at\n   chrome-extension://{id}/popup.html, settings at chrome-extension://{id}/options.html)",
        id = unpacked_extension_id(&dist)
    );
    println!();
    println!("Demo accounts (username / password):");
    for (user, pass) in DEMO_ACCOUNTS {
        println!("  {user:<6} / {pass}");
    }
}

fn open_browser(tools: &setup::Tools) -> Result<Option<Child>> {
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if !has_display {
        println!(
            "\n--browser: no DISPLAY or WAYLAND_DISPLAY is set, so there is no screen to open"
        );
        println!("Chromium on; load dist/ by hand on a machine with a desktop (steps above).");
        return Ok(None);
    }
    let Some(chromium) = &tools.chromium else {
        println!("\n--browser: chromium is not installed");
        return Ok(None);
    };
    let dist = dist::dist_dir();
    let profile = target_dir().join("demo").join("chromium-profile");
    let sandbox: &[&str] = if is_root() { &["--no-sandbox"] } else { &[] };
    let mut cmd = Command::new(chromium);
    cmd.arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--disable-extensions-except={}", dist.display()))
        .arg(format!("--load-extension={}", dist.display()))
        .args(sandbox)
        .args([
            "--no-first-run",
            "--disable-background-networking",
            "--disable-sync",
        ]);
    step("demo: opening Chromium with the extension loaded");
    note(format!("$ {}", display(&cmd)));
    let child = cmd.spawn().context("starting chromium")?;

    // Then the options page, and the popup as a page (a toolbar popup cannot be opened
    // from outside), at the id Chrome gives this unpacked folder. URLs given at start
    // race the extension's loading and are blocked, so they go to the running browser
    // through a second invocation on the same profile, once the extension is up.
    thread::sleep(Duration::from_secs(3));
    let id = unpacked_extension_id(&dist);
    let mut open = Command::new(chromium);
    open.arg(format!("--user-data-dir={}", profile.display()))
        .args(sandbox)
        .arg(format!("chrome-extension://{id}/options.html"))
        .arg(format!("chrome-extension://{id}/popup.html"));
    note(format!("$ {}", display(&open)));
    if !run_with_timeout(&mut open, Duration::from_secs(20))?.is_some_and(|s| s.success()) {
        println!("could not open the extension's pages; open them from the puzzle-piece menu");
    }
    Ok(Some(child))
}

/// The id Chrome gives an unpacked extension: the first 128 bits of the SHA-256 of its
/// absolute path, as hex digits mapped 0-f to a-p.
fn unpacked_extension_id(dir: &std::path::Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    digest
        .iter()
        .take(16)
        .flat_map(|byte| [byte >> 4, byte & 0x0f])
        .map(|nibble| char::from(b'a' + nibble))
        .collect()
}

/// Chromium refuses to start as root unless its sandbox is off.
fn is_root() -> bool {
    util::output_of(Command::new("id").arg("-u")).as_deref() == Some("0")
}

/// Asks every child to stop (SIGTERM), then kills what is left after 5 s.
fn stop_all(children: &mut [(&str, Child)]) {
    step("demo: stopping");
    for (_, child) in children.iter_mut() {
        if child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for (name, child) in children.iter_mut() {
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => thread::sleep(Duration::from_millis(100)),
            }
        }
        note(format!("stopped {name}"));
    }
}

#[cfg(test)]
mod tests {
    use super::unpacked_extension_id;

    #[test]
    fn unpacked_ids_follow_chrome() {
        // Chrome gave this id to an extension loaded from /work/main/dist.
        assert_eq!(
            unpacked_extension_id(std::path::Path::new("/work/main/dist")),
            "cecpmgecdffjijkjcjgdoklomefnejlc"
        );
    }
}
