//! Benchmark: leaderboard queries over 100 000 sessions (the fan-out figures
//! are `bench/loadgen`'s, run by `cargo xtask bench`).
//!
//! ```text
//! cargo run -p quizpulse-server --release --example boards -- [--sessions 100000] [--markdown]
//! ```
//!
//! Seeds a database with 2 000 players and N sessions and times the board
//! queries in-process. `--markdown` prints the results as a Markdown section
//! body (for `BENCHMARKS.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use quizpulse_server::auth::PasswordHashing;
use quizpulse_server::db::{self, BulkSession};
use quizpulse_server::demo;

struct Args {
    markdown: bool,
    sessions: usize,
}

fn args() -> Args {
    let mut out = Args {
        markdown: false,
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
            ("--sessions", Some(v)) => out.sessions = v,
            (other, _) => {
                eprintln!("unknown or incomplete argument {other:?}");
                eprintln!("usage: boards [--sessions N] [--markdown]");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    out
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let boards = boards(args.sessions).await;
        if args.markdown {
            println!(
                "`cargo run -p quizpulse-server --release --example boards -- --sessions {}`: \
                 queries in-process on a seeded SQLite database.\n",
                args.sessions
            );
        }
        boards.print(args.markdown);
    });
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
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
