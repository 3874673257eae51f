//! The binary as an operator runs it: `serve` refuses to start without a
//! secret outside `--demo`, or with a guessable one; `user add` reads the
//! password from stdin or the environment; `migrate` (which never prints the
//! database's password); and `serve --demo` goes live and closes its sockets
//! with 1001 on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_quizpulse-server");

fn db_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("cli.db").display())
}

#[test]
fn serve_without_a_secret_outside_demo_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--db", &db_url(&dir)])
        .env_remove("QUIZPULSE_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("QUIZPULSE_JWT_SECRET"), "{stderr}");
}

#[test]
fn serve_refuses_a_guessable_jwt_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (secret, says) in [
        ("change-me", "at least 32"),
        ("change-me-change-me-change-me-change-me", "guessable"),
        ("abcdefghijklmnopqrstuvwxyzabcdefghijklmnop", "guessable"),
    ] {
        for demo in [false, true] {
            let mut cmd = Command::new(BIN);
            cmd.args(["serve", "--bind", "127.0.0.1:0", "--db", &db_url(&dir)])
                .env("QUIZPULSE_JWT_SECRET", secret)
                .stdout(Stdio::null());
            if demo {
                cmd.arg("--demo");
            }
            let out = cmd.output().unwrap();
            assert!(!out.status.success(), "{secret:?} was accepted");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(says), "{secret:?}: {stderr}");
            assert!(stderr.contains("openssl rand -hex 32"), "{stderr}");
            assert!(!stderr.contains(secret), "the secret was printed: {stderr}");
        }
    }
}

#[test]
fn user_add_reads_stdin_or_env_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(&dir);
    let mut child = Command::new(BIN)
        .args(["user", "add", "erin", "--db", &url])
        .env_remove("QUIZPULSE_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"erin-secret\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user erin"));

    let out = Command::new(BIN)
        .args(["user", "add", "erin", "--db", &url])
        .env("QUIZPULSE_PASSWORD", "other")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));

    let out = Command::new(BIN)
        .args(["user", "disable", "nobody", "--db", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());

    let out = Command::new(BIN)
        .args(["migrate", "--db", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// `migrate` says where it applied the migrations, without the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_does_not_print_the_database_password() {
    let url = common::services::Postgres::shared().fresh_database().await;
    // The test cluster trusts every connection: any password goes.
    let with_password = url.replacen("postgres@", "postgres:hunter2-secret@", 1);
    assert_ne!(with_password, url);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["migrate", "--db", &with_password])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("migrations applied to postgres://postgres:***@"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_goes_live_and_sigterm_closes_sockets_1001() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--bind",
            "127.0.0.1:0",
            "--db",
            &db_url(&dir),
            "--simulate-every",
            "200ms",
        ])
        .env_remove("QUIZPULSE_JWT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.rsplit("http://").next().unwrap().trim().to_owned();
    let banner: Vec<String> = lines.by_ref().take(6).map(Result::unwrap).collect();
    assert!(
        banner
            .iter()
            .any(|l| l.contains("alice") && l.contains("alice-pass"))
    );
    assert!(banner.iter().any(|l| l.contains("JWT secret (random")));

    let http = reqwest::Client::new();
    let pair: Value = http
        .post(format!("http://{addr}/api/token/"))
        .json(&json!({"username": "dave", "password": "dave-pass"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = pair["access"].as_str().unwrap();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/leaderboard/?token={token}"))
            .await
            .unwrap();

    // The simulator's uploads arrive without anyone posting.
    let deadline = Instant::now() + common::WAIT;
    loop {
        assert!(Instant::now() < deadline, "no simulated upload arrived");
        let message = tokio::time::timeout(common::WAIT, socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["type"] == "quiz_session_uploaded" {
                break;
            }
        }
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = loop {
        match tokio::time::timeout(common::WAIT, socket.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(code, Some(1001));
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}
