//! Benchmark: broadcast fan-out to N loopback sockets, and leaderboard
//! queries over 100 000 sessions.
//!
//! ```text
//! cargo run -p quizpulse-server --release --example fanout -- [--sockets 1000] [--uploads 40] [--sessions 100000] [--markdown]
//! ```
//!
//! Part 1 starts the server in a child process (this binary re-executed), so
//! its resident memory can be read from `/proc` before and after N sockets
//! connect (half of them following the uploaded quiz), then times each upload
//! from the `POST` to the last socket's `quiz_session_uploaded`. Part 2 seeds
//! a database with 2 000 players and 100 000 sessions and times the board
//! queries in-process. Numbers depend on the machine: both the clients and the
//! server share its cores here. `--markdown` prints the results as a Markdown
//! section body (for `BENCHMARKS.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use quizpulse_server::auth::PasswordHashing;
use quizpulse_server::config::{Config, Secret};
use quizpulse_server::db::{self, BulkSession};
use quizpulse_server::{Server, demo};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    markdown: bool,
    sockets: usize,
    uploads: usize,
    sessions: usize,
}

fn args() -> Args {
    let mut out = Args {
        markdown: false,
        sockets: 1000,
        uploads: 40,
        sessions: 100_000,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        if argv[i] == "--markdown" {
            out.markdown = true;
            i += 1;
            continue;
        }
        let value = argv.get(i + 1).and_then(|v| v.parse().ok());
        match (argv[i].as_str(), value) {
            ("--sockets", Some(v)) => out.sockets = v,
            ("--uploads", Some(v)) => out.uploads = v,
            ("--sessions", Some(v)) => out.sessions = v,
            (other, _) => {
                eprintln!("unknown or incomplete argument {other:?}");
                eprintln!("usage: fanout [--sockets N] [--uploads N] [--sessions N] [--markdown]");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    out
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if argv.get(1).map(String::as_str) == Some("__serve") {
        runtime.block_on(child_server(argv[2].clone()));
        return;
    }
    let args = args();
    runtime.block_on(async {
        let fanout = fanout(&args).await;
        let boards = boards(args.sessions).await;
        if args.markdown {
            println!(
                "`cargo run -p quizpulse-server --release --example fanout -- --sockets {} --uploads {} --sessions {}`: \
                 server in a child process, clients in this one, all on loopback on the same machine.\n",
                args.sockets, args.uploads, args.sessions
            );
        }
        fanout.print(args.markdown);
        boards.print(args.markdown);
    });
}

/// The server process of part 1: demo quizzes, a `bench` user, no simulator.
/// Prints its address, serves until stdin closes.
async fn child_server(db_url: String) {
    let mut config = Config::new(db_url, Secret::new("bench-secret"));
    config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = Server::bind(config).await.unwrap();
    let state = server.state().clone();
    let fast = PasswordHashing::insecure_fast();
    demo::seed(&state.db, &fast).await.unwrap();
    db::create_user(&state.db, "bench", &fast.hash("bench").unwrap())
        .await
        .unwrap();
    println!("ADDR {}", server.local_addr().unwrap());
    let stdin_closed = async {
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .ok();
    };
    server.run(stdin_closed).await.unwrap();
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn fanout(args: &Args) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("fanout.db").display());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["__serve", &db_url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr: SocketAddr = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(addr) = line.strip_prefix("ADDR ") {
            break addr.parse().unwrap();
        }
    };
    let http = reqwest::Client::new();
    let pair: Value = http
        .post(format!("http://{addr}/api/token/"))
        .json(&json!({"username": "bench", "password": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = pair["access"].as_str().unwrap().to_owned();

    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = rss_kib(pid);
    let (tx, mut deliveries) = mpsc::unbounded_channel::<(String, Instant, usize)>();
    let mut bytes_received = 0usize;
    let connect_started = Instant::now();
    let mut tasks = Vec::with_capacity(args.sockets);
    for i in 0..args.sockets {
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws/leaderboard/?token={token}"))
                .await
                .unwrap_or_else(|e| panic!("socket {i}: {e} (is `ulimit -n` high enough?)"));
        if i % 2 == 0 {
            socket
                .send(Message::text(
                    r#"{"type": "subscribe_quiz", "quiz_id": "quadratics"}"#,
                ))
                .await
                .unwrap();
            let _confirmed = socket.next().await;
        }
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    let at = Instant::now();
                    let len = text.len();
                    if text
                        .as_str()
                        .starts_with(r#"{"type": "quiz_session_uploaded""#)
                    {
                        let value: Value = serde_json::from_str(text.as_str()).unwrap();
                        let id = value["data"]["session_id"].as_str().unwrap().to_owned();
                        let _ = tx.send((id, at, len));
                    } else {
                        let _ = tx.send((String::new(), at, len));
                    }
                }
            }
        }));
    }
    let connect_time = connect_started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_kib(pid);

    let mut per_upload = Vec::with_capacity(args.uploads);
    let mut every_delivery = Vec::with_capacity(args.uploads * args.sockets);
    let expected_frames = args.sockets * 2 + args.sockets.div_ceil(2);
    for u in 0..args.uploads {
        let started = Instant::now();
        let stored: Value = http
            .post(format!("http://{addr}/api/quiz-sessions/"))
            .bearer_auth(&token)
            .json(&json!({"quiz_id": "quadratics", "score": (u % 100) as f64, "duration_s": 60.0}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = stored["session_id"].as_str().unwrap().to_owned();
        let mut frames = 0;
        let mut last = started;
        let mut seen: HashMap<bool, usize> = HashMap::new();
        while frames < expected_frames {
            let (sid, at, len) = tokio::time::timeout(Duration::from_secs(30), deliveries.recv())
                .await
                .expect("deliveries stalled")
                .unwrap();
            frames += 1;
            bytes_received += len;
            if sid == id {
                every_delivery.push(at.duration_since(started));
                last = last.max(at);
                *seen.entry(true).or_default() += 1;
            }
        }
        assert_eq!(seen.get(&true).copied().unwrap_or(0), args.sockets);
        per_upload.push(last.duration_since(started));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    per_upload.sort();
    every_delivery.sort();

    let metrics = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let server_side = |q: f64| -> String {
        let name = "quizpulse_broadcast_latency_seconds";
        let buckets: Vec<(String, f64)> = metrics
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{name}_bucket{{le=\"")))
            .filter_map(|l| {
                let (le, count) = l.split_once("\"} ")?;
                Some((le.to_owned(), count.parse().ok()?))
            })
            .collect();
        let total = buckets.last().map_or(0.0, |b| b.1);
        buckets
            .iter()
            .find(|(_, count)| *count >= total * q)
            .map_or("?".to_owned(), |(le, _)| format!("<= {le} s"))
    };
    let server_p50 = server_side(0.5);
    let server_p99 = server_side(0.99);
    let lagged = metrics
        .lines()
        .find_map(|l| l.strip_prefix("quizpulse_lagged_closed_total "))
        .unwrap_or("?")
        .to_owned();

    let stop_started = Instant::now();
    drop(child.stdin.take());
    let _ = child.wait();
    let shutdown_time = stop_started.elapsed();
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }

    let mut report = Report::new(format!(
        "Fan-out: {} sockets ({} following the quiz), {} uploads",
        args.sockets,
        args.sockets.div_ceil(2),
        args.uploads
    ));
    report.row(
        format!("connect {} sockets", args.sockets),
        format!("{connect_time:.2?}"),
    );
    report.row(
        "server RSS per connection",
        format!(
            "{:.1} KiB ({rss_before} KiB idle, {rss_after} KiB with the sockets)",
            (rss_after.saturating_sub(rss_before)) as f64 / args.sockets as f64
        ),
    );
    report.row(
        "upload -> last socket's quiz_session_uploaded",
        format!(
            "p50 {:.2?}, p99 {:.2?}, max {:.2?}",
            percentile(&per_upload, 0.5),
            percentile(&per_upload, 0.99),
            per_upload.last().copied().unwrap_or_default()
        ),
    );
    report.row(
        "upload -> each delivery",
        format!(
            "p50 {:.2?}, p99 {:.2?}",
            percentile(&every_delivery, 0.5),
            percentile(&every_delivery, 0.99)
        ),
    );
    report.row(
        "server side: stored -> written (histogram bucket)",
        format!("p50 {server_p50}, p99 {server_p99}"),
    );
    report.row(
        "bytes received per socket per upload",
        format!(
            "{:.0}",
            bytes_received as f64 / (args.uploads * args.sockets) as f64
        ),
    );
    report.row("sockets closed for lagging", lagged);
    report.row(
        format!("graceful shutdown with {} sockets open", args.sockets),
        format!("{shutdown_time:.2?}"),
    );
    report
}

/// Results of one part, printed as text or as a Markdown table.
struct Report {
    title: String,
    rows: Vec<(String, String)>,
}

impl Report {
    fn new(title: String) -> Self {
        Self {
            title,
            rows: Vec::new(),
        }
    }

    fn row(&mut self, label: impl Into<String>, value: impl Into<String>) {
        self.rows.push((label.into(), value.into()));
    }

    fn print(&self, markdown: bool) {
        if markdown {
            println!("**{}**\n", self.title);
            println!("| measure | result |\n|---|---|");
            for (label, value) in &self.rows {
                println!("| {label} | {value} |");
            }
            println!();
        } else {
            println!("== {}", self.title);
            for (label, value) in &self.rows {
                println!("{label}: {value}");
            }
        }
    }
}

async fn boards(sessions: usize) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::connect(&format!(
        "sqlite://{}",
        dir.path().join("boards.db").display()
    ))
    .await
    .unwrap();
    db::migrate(&pool).await.unwrap();
    let fast = PasswordHashing::insecure_fast();
    demo::seed(&pool, &fast).await.unwrap();
    let mut users = Vec::new();
    for i in 0..2000 {
        users.push(
            db::create_user(&pool, &format!("player{i:04}"), "!")
                .await
                .unwrap(),
        );
    }
    let quizzes: Vec<&str> = demo::QUIZZES.iter().map(|q| q.0).collect();
    let mut rng = fastrand::Rng::with_seed(1);
    let now = db::now_micros();
    let rows: Vec<BulkSession> = (0..sessions)
        .map(|_| BulkSession {
            quiz_id: quizzes[rng.usize(0..quizzes.len())].to_owned(),
            user_id: users[rng.usize(0..users.len())],
            score: f64::from(rng.u32(0..=100)),
            duration_s: 60.0,
            completed_at: now - rng.i64(0..7 * 86_400_000_000),
        })
        .collect();
    let started = Instant::now();
    db::insert_sessions_bulk(&pool, &rows).await.unwrap();
    let seeded = started.elapsed();
    let user = db::user_by_id(&pool, users[0]).await.unwrap().unwrap();

    async fn time<F, Fut>(runs: usize, mut f: F) -> (Duration, Duration)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            f().await;
            samples.push(started.elapsed());
        }
        samples.sort();
        (percentile(&samples, 0.5), percentile(&samples, 0.99))
    }
    let quiz = time(200, || async {
        db::quiz_entries(&pool, "quadratics", 10).await.unwrap();
    })
    .await;
    let subject = time(200, || async {
        db::subject_entries(&pool, "mathematics", 10).await.unwrap();
    })
    .await;
    let all = time(100, || async {
        db::subject_boards(&pool, 10).await.unwrap();
    })
    .await;
    let perf = time(100, || async {
        db::performance(&pool, &user).await.unwrap();
    })
    .await;
    let mut report = Report::new(format!(
        "Boards over {sessions} sessions, 2000 players (seeded in {seeded:.2?})"
    ));
    for (label, (p50, p99)) in [
        ("quiz board, top 10", quiz),
        ("subject board, top 10", subject),
        ("all subject boards (2), top 10", all),
        ("one user's performance", perf),
    ] {
        report.row(label, format!("p50 {p50:.2?}, p99 {p99:.2?}"));
    }
    pool.close().await;
    report
}
