//! `--demo`: four users, two subjects, five quizzes, a few hundred past
//! sessions, and a simulator that uploads a session every few seconds through
//! [`AppState::record_session`], the same path as `POST /api/quiz-sessions/`,
//! so every upload is broadcast.

use std::time::Duration;

use crate::db::Pool;
use quizpulse::wire::{NewSession, QuizId};

use crate::AppState;
use crate::auth::PasswordHashing;
use crate::db::{self, DbError};

/// Demo users; each one's password is `<name>-pass`.
pub const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// Demo subjects: (id, name).
pub const SUBJECTS: [(&str, &str); 2] = [("mathematics", "Mathematics"), ("physics", "Physics")];

/// Demo quizzes: (id, title, subject id).
pub const QUIZZES: [(&str, &str, &str); 5] = [
    ("quadratics", "Quadratics", "mathematics"),
    ("linear-equations", "Linear Equations", "mathematics"),
    ("probability", "Probability", "mathematics"),
    ("kinematics", "Kinematics", "physics"),
    ("circuits", "Circuits", "physics"),
];

/// Past sessions seeded into an empty database.
pub const PAST_SESSIONS: usize = 300;

/// How far back the past sessions go.
const HISTORY: Duration = Duration::from_secs(7 * 24 * 3600);

/// A demo user's password.
pub fn password(user: &str) -> String {
    format!("{user}-pass")
}

/// Mean score (out of 100) of each demo user, so the boards have a shape.
fn skill(user_index: usize) -> f64 {
    [82.0, 71.0, 64.0, 55.0]
        .get(user_index)
        .copied()
        .unwrap_or(60.0)
}

/// A plausible score for a demo user: skill plus noise, whole points, 0-100.
fn score_for(user_index: usize, rng: &mut fastrand::Rng) -> f64 {
    let noise = (rng.f64() - 0.5) * 36.0;
    (skill(user_index) + noise).round().clamp(0.0, 100.0)
}

/// Creates whatever demo data is missing: users (if absent), subjects and
/// quizzes (upserted), and past sessions if there are none yet.
pub async fn seed(pool: &Pool, hashing: &PasswordHashing) -> Result<(), DbError> {
    for (id, name) in SUBJECTS {
        db::upsert_subject(pool, id, name).await?;
    }
    for (id, title, subject) in QUIZZES {
        db::upsert_quiz(pool, id, title, subject).await?;
    }
    let mut users = Vec::new();
    for name in USERS {
        let user = match db::user_by_name(pool, name).await? {
            Some(user) => user,
            None => {
                let hash = hashing
                    .hash(&password(name))
                    .map_err(|e| DbError::Sqlx(sqlx::Error::Protocol(format!("hashing: {e}"))))?;
                db::create_user(pool, name, &hash).await?;
                db::user_by_name(pool, name)
                    .await?
                    .ok_or_else(|| DbError::Sqlx(sqlx::Error::RowNotFound))?
            }
        };
        users.push(user);
    }
    if db::session_count(pool).await? > 0 {
        return Ok(());
    }
    let mut rng = fastrand::Rng::new();
    let now = db::now_micros();
    let span = i64::try_from(HISTORY.as_micros()).unwrap_or(i64::MAX);
    let mut times: Vec<i64> = (0..PAST_SESSIONS).map(|_| now - rng.i64(0..span)).collect();
    times.sort_unstable();
    let mut quizzes = Vec::new();
    for (id, _, _) in QUIZZES {
        if let Some(quiz) = db::quiz(pool, id).await? {
            quizzes.push(quiz);
        }
    }
    let mut tx = pool.begin().await?;
    for completed_at in times {
        let u = rng.usize(0..users.len());
        let Some(quiz) = quizzes.get(rng.usize(0..quizzes.len().max(1))) else {
            break;
        };
        let Some(user) = users.get(u) else { break };
        sqlx::query(
            "INSERT INTO sessions (quiz_id, user_id, score, duration_s, completed_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(quiz.id.as_str())
        .bind(user.id)
        .bind(score_for(u, &mut rng))
        .bind(f64::from(rng.u32(60..900)))
        .bind(completed_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Uploads a random demo session every `every` until shutdown.
pub async fn simulate(state: AppState, every: Duration) {
    let mut rng = fastrand::Rng::new();
    let mut shutdown = state.shutdown.clone();
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|&stop| stop) => return,
        }
        let u = rng.usize(0..USERS.len());
        let Some((quiz_id, _, _)) = QUIZZES.get(rng.usize(0..QUIZZES.len())) else {
            continue;
        };
        let user = match db::user_by_name(&state.db, USERS[u]).await {
            Ok(Some(user)) => user,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "simulator: user lookup failed");
                continue;
            }
        };
        let new = NewSession {
            quiz_id: QuizId::from(*quiz_id),
            score: score_for(u, &mut rng),
            duration_s: f64::from(rng.u32(60..900)),
        };
        if let Err(e) = state.record_session(&user, &new).await {
            tracing::warn!(error = %e, "simulator: upload failed");
        }
    }
}
