//! The server binary is killed with SIGKILL while 50 clients upload without
//! pause; after a restart every session answered 201 is stored and every
//! board equals one recomputed from the sessions table. On SQLite and on
//! PostgreSQL.
//!
//! The uploads never stop on their own before the kill (each client uploads
//! until the server is gone), so the kill always lands mid-stream, however
//! fast or slow the machine.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::services::{Postgres, free_port};
use quizpulse_server::auth::PasswordHashing;
use quizpulse_server::db;
use serde_json::{Value, json};

/// Clients uploading at once, each until the server is gone.
const UPLOADERS: usize = 50;
/// A bound on the uploads of one run (never reached: the kill comes first).
const MAX_UPLOADS: usize = 100_000;
const USERS: usize = 20;
/// The kill comes once this many uploads were answered.
const KILL_AFTER: usize = 300;
const QUIZZES: [(&str, &str); 4] = [
    ("qa", "math"),
    ("qb", "math"),
    ("qc", "phys"),
    ("qd", "phys"),
];

/// A server process, killed (SIGKILL) when dropped, even on a panic.
struct Process(Child);

impl Process {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The server binary, serving `url` on `port`.
fn spawn(url: &str, port: u16) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_quizpulse-server"))
            .args(["serve", "--db", url, "--bind", &format!("127.0.0.1:{port}")])
            // Every client uploads as fast as it can: no upload rate here.
            .args(["--upload-rate", "0"])
            .env("QUIZPULSE_JWT_SECRET", common::SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await
            && response.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn seed(url: &str) {
    let pool = db::connect(url).await.unwrap();
    db::migrate(&pool).await.unwrap();
    db::upsert_subject(&pool, "math", "Mathematics")
        .await
        .unwrap();
    db::upsert_subject(&pool, "phys", "Physics").await.unwrap();
    for (quiz, subject) in QUIZZES {
        db::upsert_quiz(&pool, quiz, quiz, subject).await.unwrap();
    }
    let hash = PasswordHashing::insecure_fast().hash("pw").unwrap();
    for u in 0..USERS {
        db::create_user(&pool, &format!("user{u}"), &hash)
            .await
            .unwrap();
    }
    pool.close().await;
}

/// Per-(board, user) rows: (score, sessions, newest time).
type Board = BTreeMap<(String, i64), (f64, i64, i64)>;

async fn rows(pool: &db::Pool, sql: &'static str) -> Board {
    let rows: Vec<(String, i64, f64, i64, i64)> =
        sqlx::query_as(sql).fetch_all(pool).await.unwrap();
    rows.into_iter()
        .map(|(board, user, score, sessions, at)| ((board, user), (score, sessions, at)))
        .collect()
}

async fn crash_and_recover(url: String) {
    seed(&url).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut server = spawn(&url, port);
    wait_healthy(&http, &base).await;
    let mut tokens = Vec::new();
    for u in 0..USERS {
        let response: Value = http
            .post(format!("{base}/api/token/"))
            .json(&json!({"username": format!("user{u}"), "password": "pw"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(response["access"].as_str().unwrap().to_owned());
    }

    let answered = Arc::new(AtomicUsize::new(0));
    let attempted = Arc::new(AtomicUsize::new(0));
    let uploaders: Vec<_> = (0..UPLOADERS)
        .map(|u| {
            let http = http.clone();
            let url = format!("{base}/api/quiz-sessions/");
            let token = tokens[u % USERS].clone();
            let (answered, attempted) = (Arc::clone(&answered), Arc::clone(&attempted));
            tokio::spawn(async move {
                let mut stored = Vec::new();
                loop {
                    let i = attempted.fetch_add(1, Ordering::Relaxed);
                    if i >= MAX_UPLOADS {
                        return stored;
                    }
                    let (quiz, _) = QUIZZES[i % QUIZZES.len()];
                    let body =
                        json!({"quiz_id": quiz, "score": (i * 37 % 101) as f64, "duration_s": 1.0});
                    let result = http.post(&url).bearer_auth(&token).json(&body).send().await;
                    let id = match result {
                        Ok(response) if response.status() == 201 => {
                            match response.json::<Value>().await {
                                Ok(event) => event["session_id"].as_str().map(str::to_owned),
                                Err(_) => None,
                            }
                        }
                        _ => None,
                    };
                    match id {
                        Some(id) => {
                            stored.push(id);
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        // The server is gone (or failed this one): this client stops.
                        None => return stored,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    while answered.load(Ordering::Relaxed) < KILL_AFTER {
        assert!(Instant::now() < deadline, "uploads did not progress");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill(); // SIGKILL
    let mut confirmed = HashSet::new();
    for uploader in uploaders {
        confirmed.extend(uploader.await.unwrap());
    }
    let attempted = attempted.load(Ordering::Relaxed).min(MAX_UPLOADS);
    assert!(confirmed.len() >= KILL_AFTER);
    assert!(
        confirmed.len() < attempted,
        "the kill cut no upload short ({attempted} attempted, all answered)"
    );

    // Restart on the same database: it must come up and serve.
    let _server = spawn(&url, port);
    wait_healthy(&http, &base).await;
    let pool = db::connect(&url).await.unwrap();
    let stored: HashSet<String> = sqlx::query_scalar::<_, i64>("SELECT id FROM sessions")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    let lost: Vec<_> = confirmed.difference(&stored).collect();
    assert!(lost.is_empty(), "answered 201 but not stored: {lost:?}");

    // Every board equals one recomputed from the sessions.
    let quiz_stats = rows(
        &pool,
        "SELECT quiz_id, user_id, best, sessions, last_at FROM quiz_user_stats",
    )
    .await;
    let quiz_recomputed = rows(
        &pool,
        "SELECT quiz_id, user_id, MAX(score), COUNT(*), MAX(completed_at) \
         FROM sessions GROUP BY quiz_id, user_id",
    )
    .await;
    assert_eq!(quiz_stats, quiz_recomputed);
    let subject_stats = rows(
        &pool,
        "SELECT subject_id, user_id, score, sessions, last_at FROM subject_user_stats",
    )
    .await;
    let subject_recomputed = rows(
        &pool,
        "SELECT q.subject_id, b.user_id, SUM(b.best), CAST(SUM(b.n) AS BIGINT), MAX(b.at) \
         FROM (SELECT quiz_id, user_id, MAX(score) AS best, COUNT(*) AS n, MAX(completed_at) AS at \
               FROM sessions GROUP BY quiz_id, user_id) b \
         JOIN quizzes q ON q.id = b.quiz_id GROUP BY q.subject_id, b.user_id",
    )
    .await;
    assert_eq!(subject_stats, subject_recomputed);
    // And the restarted server serves those boards.
    let boards: Value = http
        .get(format!("{base}/api/leaderboard/subjects/"))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let top = &boards[0]["entries"][0];
    let user: i64 = top["user_id"].as_str().unwrap().parse().unwrap();
    let expected = subject_recomputed[&("math".to_owned(), user)].0;
    assert_eq!(top["score"].as_f64().unwrap(), expected);
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_uploads_loses_no_answered_session_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crash_and_recover(format!(
        "sqlite://{}",
        dir.path().join("crash.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_uploads_loses_no_answered_session_on_postgres() {
    let url = Postgres::shared().fresh_database().await;
    crash_and_recover(url).await;
}

/// A kill of the process loses nothing committed even with
/// `synchronous = NORMAL`, but a power cut can: the server opens SQLite with
/// `FULL` (each commit synced to the disk before the upload is answered),
/// unless `--sqlite-synchronous normal` says otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commits_reach_the_disk_before_an_upload_is_answered() {
    use quizpulse_server::config::SqliteSync;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sync.db").display());
    for (sync, pragma) in [
        (None, 2),
        (Some(SqliteSync::Full), 2),
        (Some(SqliteSync::Normal), 1),
    ] {
        let pool = match sync {
            None => db::connect(&url).await.unwrap(),
            Some(sync) => db::connect_with(&url, sync).await.unwrap(),
        };
        // Every connection of the pool, not just the first.
        let mut conns = Vec::new();
        for _ in 0..3 {
            conns.push(pool.acquire().await.unwrap());
        }
        for conn in &mut conns {
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(level, pragma, "{sync:?}");
        }
        drop(conns);
        pool.close().await;
    }
}
