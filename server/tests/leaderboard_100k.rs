//! Leaderboards over 100 000 sessions, checked against a naive computation
//! (correctness only; the timing is measured by the `fanout` example).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use quizpulse_server::db::{self, BulkSession};
use serde_json::{Value, json};

const USERS: usize = 2_000;
const SESSIONS: usize = 100_000;
const LIMIT: usize = 100;

/// (rank, user_id, username, score, sessions), best first, ties by username.
type Row = (u64, String, String, f64, u64);

fn rank(mut rows: Vec<(String, String, f64, u64)>, limit: usize) -> Vec<Row> {
    rows.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    let mut out: Vec<Row> = Vec::new();
    for (i, (id, name, score, n)) in rows.into_iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if prev.3 == score => prev.0,
            _ => i as u64 + 1,
        };
        out.push((rank, id, name, score, n));
    }
    out.truncate(limit);
    out
}

fn rows_of(entries: &Value) -> Vec<Row> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["rank"].as_u64().unwrap(),
                e["user_id"].as_str().unwrap().to_owned(),
                e["username"].as_str().unwrap().to_owned(),
                e["score"].as_f64().unwrap(),
                e["sessions"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boards_over_100k_sessions_are_correct() {
    let server = common::start().await;
    let pool = &server.state.db;
    db::upsert_quiz(pool, "qd", "Kinematics", "phys")
        .await
        .unwrap();
    db::upsert_quiz(pool, "qe", "Linear Equations", "math")
        .await
        .unwrap();
    let quizzes = [
        ("qa", "math"),
        ("qb", "math"),
        ("qc", "phys"),
        ("qd", "phys"),
        ("qe", "math"),
    ];

    let mut users: Vec<(i64, String)> = Vec::new();
    for i in 0..USERS {
        let name = format!("user{i:05}");
        let id = db::create_user(pool, &name, "!").await.unwrap();
        users.push((id, name));
    }
    let mut rng = fastrand::Rng::with_seed(7);
    let now = db::now_micros();
    let rows: Vec<BulkSession> = (0..SESSIONS)
        .map(|_| BulkSession {
            quiz_id: quizzes[rng.usize(0..quizzes.len())].0.to_owned(),
            user_id: users[rng.usize(0..USERS)].0,
            // Whole points: ties are common, as on a real quiz.
            score: f64::from(rng.u32(0..=100)),
            duration_s: 60.0,
            completed_at: now - rng.i64(0..7 * 86_400_000_000),
        })
        .collect();
    let started = Instant::now();
    db::insert_sessions_bulk(pool, &rows).await.unwrap();
    eprintln!("seeded {SESSIONS} sessions in {:?}", started.elapsed());

    // Naive expectations.
    let names: HashMap<i64, &str> = users.iter().map(|(id, n)| (*id, n.as_str())).collect();
    let subject_of: HashMap<&str, &str> = quizzes.iter().copied().collect();
    let mut best: BTreeMap<(&str, i64), (f64, u64)> = BTreeMap::new();
    let mut latest: HashMap<&str, i64> = HashMap::new();
    for row in &rows {
        let slot = best
            .entry((row.quiz_id.as_str(), row.user_id))
            .or_insert((f64::MIN, 0));
        slot.0 = slot.0.max(row.score);
        slot.1 += 1;
        let quiz = row.quiz_id.as_str();
        for key in [quiz, subject_of[quiz]] {
            let t = latest.entry(key).or_insert(i64::MIN);
            *t = (*t).max(row.completed_at);
        }
    }
    let mut per_subject: HashMap<(&str, i64), (f64, u64)> = HashMap::new();
    // BTreeMap order: quiz id, then user; sums in quiz order, like the server.
    for ((quiz, user), (score, n)) in &best {
        let slot = per_subject
            .entry((subject_of[quiz], *user))
            .or_insert((0.0, 0));
        slot.0 += score;
        slot.1 += n;
    }

    let token = server.access("alice").await;
    // Quiz boards.
    for (quiz, _) in quizzes {
        let started = Instant::now();
        let (status, board) = server
            .get(
                &format!("/api/quizzes/{quiz}/leaderboard/?limit={LIMIT}"),
                Some(&token),
            )
            .await;
        eprintln!("quiz board {quiz} over HTTP: {:?}", started.elapsed());
        assert_eq!(status, 200);
        let expected = rank(
            best.iter()
                .filter(|((q, _), _)| *q == quiz)
                .map(|((_, u), (s, n))| (u.to_string(), names[u].to_owned(), *s, *n))
                .collect(),
            LIMIT,
        );
        assert_eq!(rows_of(&board["entries"]), expected, "quiz {quiz}");
        assert_eq!(board["updated_at"], json!(db::rfc3339(latest[quiz])));
    }

    // Subject boards.
    let started = Instant::now();
    let (status, boards) = server
        .get(
            &format!("/api/leaderboard/subjects/?limit={LIMIT}"),
            Some(&token),
        )
        .await;
    eprintln!("subject boards over HTTP: {:?}", started.elapsed());
    assert_eq!(status, 200);
    let mut full_subject_ranks: HashMap<&str, Vec<Row>> = HashMap::new();
    for board in boards.as_array().unwrap() {
        let subject = board["subject"]["id"].as_str().unwrap();
        let expected_all = rank(
            per_subject
                .iter()
                .filter(|((s, _), _)| *s == subject)
                .map(|((_, u), (score, n))| (u.to_string(), names[u].to_owned(), *score, *n))
                .collect(),
            usize::MAX,
        );
        let expected: Vec<Row> = expected_all.iter().take(LIMIT).cloned().collect();
        assert_eq!(rows_of(&board["entries"]), expected, "subject {subject}");
        assert_eq!(board["updated_at"], json!(db::rfc3339(latest[subject])));
        let key = if subject == "math" { "math" } else { "phys" };
        full_subject_ranks.insert(key, expected_all);
    }

    // Performance of a few users: rank among all players of the subject.
    for (id, name) in users.iter().step_by(397) {
        let user = db::user_by_id(pool, *id).await.unwrap().unwrap();
        let perf = db::performance(pool, &user).await.unwrap();
        assert_eq!(perf.user.username, *name);
        for standing in &perf.subjects {
            let all = &full_subject_ranks[standing.subject_id.as_str()];
            let row = all.iter().find(|r| r.1 == id.to_string()).unwrap();
            assert_eq!(u64::from(standing.rank), row.0, "{name}");
            assert_eq!(standing.score, row.3);
            assert_eq!(u64::from(standing.sessions), row.4);
        }
        assert_eq!(perf.recent_sessions.len(), 10);
    }
}
