//! The server binary is killed with SIGKILL in the middle of 1 000
//! concurrent uploads; after a restart every session answered 201 is stored
//! and every board equals one recomputed from the sessions table. On SQLite
//! and on PostgreSQL.
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

const UPLOADS: usize = 1000;
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
            .env("QUIZPULSE_JWT_SECRET", common::SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
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
    let uploads: Vec<_> = (0..UPLOADS)
        .map(|i| {
            let http = http.clone();
            let url = format!("{base}/api/quiz-sessions/");
            let token = tokens[i % USERS].clone();
            let (quiz, _) = QUIZZES[i % QUIZZES.len()];
            let answered = Arc::clone(&answered);
            tokio::spawn(async move {
                let body =
                    json!({"quiz_id": quiz, "score": (i * 37 % 101) as f64, "duration_s": 1.0});
                let result = http.post(url).bearer_auth(token).json(&body).send().await;
                let stored = match result {
                    Ok(response) if response.status() == 201 => {
                        let event: Value = response.json().await.ok()?;
                        event["session_id"].as_str().map(str::to_owned)
                    }
                    _ => None,
                };
                answered.fetch_add(1, Ordering::Relaxed);
                stored
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while answered.load(Ordering::Relaxed) < KILL_AFTER {
        assert!(Instant::now() < deadline, "uploads did not progress");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill(); // SIGKILL
    let mut confirmed = HashSet::new();
    for upload in uploads {
        if let Some(id) = upload.await.unwrap() {
            confirmed.insert(id);
        }
    }
    assert!(
        confirmed.len() >= KILL_AFTER / 2,
        "too few uploads answered 201 before the kill"
    );
    assert!(
        confirmed.len() < UPLOADS,
        "the kill came after every upload"
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
