//! Sign-in under abuse (issue 18, finding 3): password checks bounded (a
//! few threads, a bounded queue answering 429 with `Retry-After`), throttled
//! per client address and per username, and the same work for an unknown
//! username as for a known one.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{SECRET, start_with};
use quizpulse_server::auth::PasswordHashing;
use quizpulse_server::config::Rate;
use quizpulse_server::db;
use serde_json::{Value, json};

async fn sign_in(
    server: &common::TestServer,
    user: &str,
    password: &str,
    forwarded: Option<&str>,
) -> (u16, Option<u64>, Value) {
    let mut request = server
        .http
        .post(server.url("/api/token/"))
        .json(&json!({"username": user, "password": password}));
    if let Some(address) = forwarded {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, response.json().await.unwrap())
}

fn throttled(server: &common::TestServer, reason: &'static str) -> u64 {
    server
        .state
        .metrics
        .sign_ins_throttled
        .get_or_create(&[("reason", reason)])
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_are_throttled_per_address_then_per_username() {
    let server = start_with(|c| {
        c.sign_in.per_address = Rate::new(8, Duration::from_secs(3600));
        c.sign_in.failures_per_username = Rate::new(3, Duration::from_secs(3600));
    })
    .await;
    // Successful sign-ins are not failures: any number of them (within the
    // address's rate).
    for _ in 0..2 {
        assert_eq!(sign_in(&server, "alice", "alice-pass", None).await.0, 200);
    }
    // Three wrong passwords for bob: then bob is throttled, right password or not.
    for _ in 0..3 {
        assert_eq!(sign_in(&server, "bob", "wrong", None).await.0, 401);
    }
    let (status, retry, body) = sign_in(&server, "bob", "bob-pass", None).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some_and(|s| (1..=1200).contains(&s)), "{retry:?}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Request was throttled."),
        "{body}"
    );
    // Unknown usernames count too (nothing tells them apart).
    for _ in 0..2 {
        assert_eq!(sign_in(&server, "nobody", "x", None).await.0, 401);
    }
    // Eight attempts from this address so far: the ninth is refused before
    // anything else, even for carol.
    let (status, retry, _) = sign_in(&server, "carol", "carol-pass", None).await;
    assert_eq!(status, 429);
    assert!(retry.is_some());
    assert_eq!(throttled(&server, "username"), 1);
    assert_eq!(throttled(&server, "address"), 1);
    let text = server.state.metrics.render();
    assert!(
        text.contains("\nquizpulse_sign_ins_throttled_total{reason=\"address\"} 1\n"),
        "{text}"
    );
}

/// Behind a reverse proxy every request comes from the proxy: with
/// `--client-ip-header`, the address the proxy put last in the header is the
/// client's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_the_forwarded_address_is_throttled() {
    let server = start_with(|c| {
        c.sign_in.per_address = Rate::new(2, Duration::from_secs(3600));
        c.client_ip_header = Some("X-Forwarded-For".to_owned());
    })
    .await;
    let one = Some("198.51.100.1, 203.0.113.1");
    let two = Some("203.0.113.2");
    for _ in 0..2 {
        assert_eq!(sign_in(&server, "alice", "alice-pass", one).await.0, 200);
    }
    assert_eq!(sign_in(&server, "alice", "alice-pass", one).await.0, 429);
    assert_eq!(sign_in(&server, "alice", "alice-pass", two).await.0, 200);
    // The spoofable first address is not the key: only the proxy's last one.
    let same_last = Some("192.0.2.99, 203.0.113.1");
    assert_eq!(
        sign_in(&server, "alice", "alice-pass", same_last).await.0,
        429
    );
}

/// An unknown username, a wrong password, a disabled account and a right
/// password each cost exactly one password check, against a hash with the
/// same parameters: none answers sooner than another (the timing is
/// measured in `cargo xtask bench signin`, not asserted here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sign_in_costs_one_password_check_with_the_accounts_parameters() {
    let server = start_with(|_| {}).await;
    db::set_user_active(&server.state.db, "carol", false)
        .await
        .unwrap();
    let checks = || server.state.metrics.password_checks.get();
    for (user, password, status) in [
        ("nobody", "x", 401),
        ("alice", "wrong", 401),
        ("carol", "carol-pass", 401),
        ("alice", "alice-pass", 200),
        ("someone-else", "y", 401),
    ] {
        let before = checks();
        assert_eq!(
            sign_in(&server, user, password, None).await.0,
            status,
            "{user}"
        );
        assert_eq!(checks(), before + 1, "{user}");
    }
    // The stand-in for unknown usernames has the accounts' parameters.
    let stand_in = server
        .state
        .limits
        .passwords
        .stand_in(&server.state.db)
        .await
        .unwrap();
    let alice = db::user_by_name(&server.state.db, "alice")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    let params = |phc: &str| phc.rsplitn(3, '$').nth(2).unwrap().to_owned();
    assert_eq!(params(&stand_in), params(&alice));
    // The three failures went to three usernames' throttles; alice's success
    // did not count against her.
    assert_eq!(throttled(&server, "username"), 0);
}

/// The server binary, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}

/// The status and `Retry-After` of a raw HTTP/1.1 response.
fn read_response(mut stream: TcpStream) -> (u16, Option<u64>) {
    stream.set_read_timeout(Some(common::WAIT)).unwrap();
    let mut text = Vec::new();
    stream.read_to_end(&mut text).unwrap();
    let text = String::from_utf8_lossy(&text);
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let retry = text.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("retry-after:")
            .map(|v| v.trim().parse().unwrap())
    });
    (status, retry)
}

/// Hashing memory per password check of `user add`'s argon2id (19 MiB).
const HASH_KIB: u64 = 19 * 1024;

/// 300 sign-ins at once on an account with `user add`'s password hash took
/// the server from 46 MB to 1.3 GB (a blocking thread and 19 MiB each). Now
/// two hashing threads and a queue of eight: the rest are answered 429 with
/// `Retry-After` at once, and the server's peak memory grows by at most the
/// two hashes' 38 MiB plus 64 MiB for the 300 connections and their
/// requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_sign_ins_at_once_stay_within_the_memory_bound() {
    const SIGN_INS: usize = 300;
    const WORKERS: u64 = 2;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("signin.db").display());
    let pool = db::connect(&url).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let hash = PasswordHashing::default().hash("erin-pass").unwrap();
    db::create_user(&pool, "erin", &hash).await.unwrap();
    pool.close().await;

    let port = common::services::free_port();
    let server = Process(
        Command::new(env!("CARGO_BIN_EXE_quizpulse-server"))
            .args([
                "serve",
                "--db",
                &url,
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--hash-workers", &WORKERS.to_string(), "--hash-queue", "8"])
            .args(["--sign-in-rate", "0", "--sign-in-failures", "0"])
            .env("QUIZPULSE_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = server.0.id();
    let deadline = Instant::now() + common::WAIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let results = tokio::task::spawn_blocking(move || {
        // One sign-in first, so the server is warm (its first hash allocated).
        let body = json!({"username": "erin", "password": "erin-pass"}).to_string();
        let request = format!(
            "POST /api/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut warm = TcpStream::connect(("127.0.0.1", port)).unwrap();
        warm.write_all(request.as_bytes()).unwrap();
        assert_eq!(read_response(warm).0, 200);
        let before = status_kib(pid, "VmRSS");
        // Every request whole but its last byte on its own connection, then
        // the 300 last bytes: they reach the server together.
        let (head, last) = request.as_bytes().split_at(request.len() - 1);
        let mut streams: Vec<TcpStream> = (0..SIGN_INS)
            .map(|_| {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_nodelay(true).unwrap();
                s.write_all(head).unwrap();
                s
            })
            .collect();
        for s in &mut streams {
            s.write_all(last).unwrap();
        }
        let answers: Vec<(u16, Option<u64>)> = streams.into_iter().map(read_response).collect();
        (before, status_kib(pid, "VmHWM"), answers)
    })
    .await
    .unwrap();
    let (before, peak, answers) = results;
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == 429).collect();
    assert_eq!(ok + busy.len(), SIGN_INS, "{answers:?}");
    // At least the two running and the eight waiting sign in; the rest of
    // what arrived while they hashed is turned away at once.
    assert!(ok >= 1, "{answers:?}");
    assert!(!busy.is_empty(), "no sign-in was turned away: {answers:?}");
    assert!(busy.iter().all(|(_, retry)| *retry == Some(1)), "{busy:?}");
    let bound = WORKERS * HASH_KIB + 64 * 1024;
    eprintln!(
        "300 sign-ins at once: {ok} signed in, {} answered 429; peak RSS {peak} KiB, {} KiB over the {before} KiB before (bound {bound} KiB)",
        busy.len(),
        peak.saturating_sub(before)
    );
    assert!(
        peak.saturating_sub(before) <= bound,
        "peak {peak} KiB, {before} KiB before: over the {bound} KiB bound"
    );
}
