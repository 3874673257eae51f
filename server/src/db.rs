//! Storage: SQLite or PostgreSQL through sqlx's `Any` driver, with
//! runtime-bound queries (no build-time database) and embedded migrations.
//!
//! One set of queries serves both engines: they use `$N` placeholders (which
//! SQLite accepts too), `RETURNING id` instead of `last_insert_rowid`, and
//! cast sums and booleans to `BIGINT` / integers so both decode alike. The
//! schema exists once per dialect (`migrations/sqlite`, `migrations/postgres`)
//! with the same tables, indexes and triggers.
//!
//! Leaderboards never scan sessions. Triggers keep, in the same statement as
//! each session insert (see `migrations/`), `quiz_user_stats` (one row per
//! quiz and user: best score, session count, newest time) and
//! `subject_user_stats` (one row per subject and user: the sum of that user's
//! bests over the subject's quizzes, recomputed rather than incremented so equal
//! bests always give equal totals). A board is an index range over its
//! players, sorted; a user's rank is a count of players with a higher score.
//!
//! Ranking is standard competition ranking ("1224"): a row's rank is one more
//! than the number of rows with a strictly higher score, so ties share a rank
//! and the next rank skips. Within a tie rows are ordered by username.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use quizpulse::wire::{
    Entry, Performance, Quiz, QuizBoard, QuizId, QuizRef, RecentSession, SessionEvent, Subject,
    SubjectBoard, SubjectId, SubjectStanding, UserId, UserRef,
};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyConnection, ConnectOptions, Connection, Executor, Row};

use crate::config::SqliteSync;

/// The pool every query runs on (SQLite or PostgreSQL).
pub type Pool = sqlx::AnyPool;

/// SQLite's migrations (`server/migrations/sqlite`).
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
/// PostgreSQL's migrations (`server/migrations/postgres`): the same schema.
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How many recent sessions `GET /api/users/me/performance/` lists.
pub const RECENT_SESSIONS: u32 = 10;

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The query failed.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A user with this name exists already.
    #[error("user {0:?} exists already")]
    UserExists(String),
    /// The URL names neither SQLite nor PostgreSQL.
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
}

/// The database engine behind a [`Pool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file, one server process (no cross-instance locks).
    Sqlite,
    /// Shared by any number of server processes.
    Postgres,
}

impl Backend {
    /// The engine a URL names (`sqlite:` or `postgres:`/`postgresql:`).
    pub fn of_url(url: &str) -> Result<Self, DbError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            _ => Err(DbError::UnsupportedUrl(redact(url))),
        }
    }

    /// The engine of an open pool.
    pub fn of(pool: &Pool) -> Self {
        Self::of_url(pool.connect_options().database_url.as_ref()).unwrap_or(Self::Sqlite)
    }
}

/// `url` without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.rsplit_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

/// Opens the database with SQLite's `synchronous = FULL` (see [`connect_with`]).
pub async fn connect(url: &str) -> Result<Pool, DbError> {
    connect_with(url, SqliteSync::Full).await
}

/// Opens the database. SQLite: created if missing, WAL journal (set once on
/// the file), `synchronous` as `sync` says (`FULL`: a commit, so an upload
/// answered 201, is on the disk before it returns, even across a power cut),
/// foreign keys on, a 5 s busy timeout. PostgreSQL: the database must exist
/// (its own `synchronous_commit`, on by default, makes commits durable).
pub async fn connect_with(url: &str, sync: SqliteSync) -> Result<Pool, DbError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url)?;
    let mut any_url = url.to_owned();
    if backend == Backend::Sqlite {
        // WAL is a property of the file: set it once, creating the file.
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        options.connect().await?.close().await?;
        if !url.contains("mode=") && !url.contains(":memory:") {
            any_url.push(if url.contains('?') { '&' } else { '?' });
            any_url.push_str("mode=rwc");
        }
    }
    let options = AnyConnectOptions::from_str(&any_url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        })
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    let pragma = match sync {
                        SqliteSync::Full => "PRAGMA synchronous = FULL",
                        SqliteSync::Normal => "PRAGMA synchronous = NORMAL",
                    };
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Applies pending migrations (the pool's dialect).
pub async fn migrate(pool: &Pool) -> Result<(), DbError> {
    match Backend::of(pool) {
        Backend::Sqlite => SQLITE_MIGRATOR.run(pool).await?,
        Backend::Postgres => POSTGRES_MIGRATOR.run(pool).await?,
    }
    Ok(())
}

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// Formats stored microseconds as RFC 3339 UTC with microseconds, as Django
/// REST Framework does (`2026-11-26T06:29:26.123456Z`).
pub fn rfc3339(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Competition ranks for scores sorted best first: equal scores share a
/// rank, and the next distinct score's rank counts every row above it
/// (`[9, 7, 7, 5]` ranks `[1, 2, 2, 4]`).
pub fn competition_ranks(sorted_desc: &[f64]) -> Vec<u32> {
    let mut ranks = Vec::with_capacity(sorted_desc.len());
    let mut previous: Option<(f64, u32)> = None;
    for (i, &score) in sorted_desc.iter().enumerate() {
        let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let rank = match previous {
            Some((prev, rank)) if prev == score => rank,
            _ => position,
        };
        previous = Some((score, rank));
        ranks.push(rank);
    }
    ranks
}

/// One unranked board row, as the queries return it.
type BoardRow = (i64, String, f64, i64);

/// The largest score a board shows. Uploads are bounded far below it
/// (`--max-score`), and the totals' triggers clamp each best to
/// [`BEST_CLAMP`], so only a row written some other way can exceed it; it
/// is then shown as this, never as infinity or `null` (which no JSON reader
/// takes for a number).
pub const SCORE_CEILING: f64 = f64::MAX;

/// Each best as a subject total counts it (migration
/// `20261210000003_bounded_totals`): with every term at most 10^300, a sum
/// of up to 10^8 quizzes stays finite.
pub const BEST_CLAMP: f64 = 1e300;

/// A stored score as the API sends it: finite (infinity as
/// [`SCORE_CEILING`], not-a-number as 0).
pub fn finite_score(score: f64) -> f64 {
    if score.is_nan() {
        0.0
    } else {
        score.clamp(-SCORE_CEILING, SCORE_CEILING)
    }
}

fn ranked(rows: Vec<BoardRow>) -> Vec<Entry> {
    let rows: Vec<BoardRow> = rows
        .into_iter()
        .map(|(id, name, score, sessions)| (id, name, finite_score(score), sessions))
        .collect();
    let scores: Vec<f64> = rows.iter().map(|r| r.2).collect();
    rows.into_iter()
        .zip(competition_ranks(&scores))
        .map(|((user_id, username, score, sessions), rank)| Entry {
            rank,
            user_id: UserId(user_id.to_string()),
            username,
            score,
            sessions: u32::try_from(sessions).unwrap_or(u32::MAX),
        })
        .collect()
}

/// A user as stored.
#[derive(Clone, Debug)]
pub struct UserRow {
    /// Row id (sent as a string).
    pub id: i64,
    /// Unique name.
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// A disabled account gets 401 on REST and 4003 on the socket.
    pub is_active: bool,
}

fn user_row(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        password_hash: row.try_get(2)?,
        is_active: row.try_get::<i64, _>(3)? != 0,
    })
}

/// Creates a user with an already-hashed password; returns its id.
pub async fn create_user(pool: &Pool, username: &str, password_hash: &str) -> Result<i64, DbError> {
    let result: Result<i64, _> = sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, is_active, created_at) \
         VALUES ($1, $2, TRUE, $3) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(now_micros())
    .fetch_one(pool)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(DbError::UserExists(username.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Looks a user up by name.
pub async fn user_by_name(pool: &Pool, username: &str) -> Result<Option<UserRow>, DbError> {
    let row =
        sqlx::query("SELECT id, username, password_hash, CAST(is_active AS INTEGER) FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(pool)
            .await?;
    Ok(row.as_ref().map(user_row).transpose()?)
}

/// Looks a user up by id.
pub async fn user_by_id(pool: &Pool, id: i64) -> Result<Option<UserRow>, DbError> {
    let row = sqlx::query(
        "SELECT id, username, password_hash, CAST(is_active AS INTEGER) FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(user_row).transpose()?)
}

/// The newest account's password hash, if there is an account (its
/// parameters are those of the stand-in hash for unknown usernames).
pub async fn newest_password_hash(pool: &Pool) -> Result<Option<String>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT password_hash FROM users ORDER BY id DESC LIMIT 1")
            .fetch_optional(pool)
            .await?,
    )
}

/// Ids of every disabled account, ascending.
pub async fn inactive_user_ids(pool: &Pool) -> Result<Vec<i64>, DbError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE is_active = $1 ORDER BY id")
            .bind(false)
            .fetch_all(pool)
            .await?,
    )
}

/// Enables or disables an account; false if there is no such user.
pub async fn set_user_active(pool: &Pool, username: &str, active: bool) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE users SET is_active = $1 WHERE username = $2")
        .bind(active)
        .bind(username)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Creates or renames a subject.
pub async fn upsert_subject(pool: &Pool, id: &str, name: &str) -> Result<(), DbError> {
    sqlx::query("INSERT INTO subjects (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name")
        .bind(id)
        .bind(name)
        .execute(pool)
        .await?;
    Ok(())
}

/// Creates or renames a quiz (its subject must exist).
pub async fn upsert_quiz(
    pool: &Pool,
    id: &str,
    title: &str,
    subject_id: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO quizzes (id, title, subject_id) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET title = excluded.title",
    )
    .bind(id)
    .bind(title)
    .bind(subject_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Every subject, by id.
pub async fn subjects(pool: &Pool) -> Result<Vec<Subject>, DbError> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM subjects ORDER BY id")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| Subject {
            id: SubjectId(id),
            name,
        })
        .collect())
}

/// Every quiz with its session count, by subject then id.
pub async fn quizzes(pool: &Pool) -> Result<Vec<Quiz>, DbError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT q.id, q.title, q.subject_id, \
                CAST(COALESCE((SELECT SUM(s.sessions) FROM quiz_user_stats s WHERE s.quiz_id = q.id), 0) AS BIGINT) \
         FROM quizzes q ORDER BY q.subject_id, q.id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, subject_id, count)| Quiz {
            id: QuizId(id),
            title,
            subject_id: SubjectId(subject_id),
            sessions_count: u64::try_from(count).unwrap_or(0),
        })
        .collect())
}

/// One quiz, if it exists.
pub async fn quiz(pool: &Pool, id: &str) -> Result<Option<QuizRef>, DbError> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT id, title, subject_id FROM quizzes WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id, title, subject_id)| QuizRef {
        id: QuizId(id),
        title,
        subject_id: SubjectId(subject_id),
    }))
}

/// A session to store.
#[derive(Clone, Debug)]
pub struct SessionInput<'a> {
    /// The quiz (must exist).
    pub quiz: &'a QuizRef,
    /// Who took it.
    pub user_id: i64,
    /// Their username (echoed in the event).
    pub username: &'a str,
    /// Score (finite, non-negative: checked by the caller).
    pub score: f64,
    /// Seconds taken.
    pub duration_s: f64,
    /// Completion time, microseconds since the epoch.
    pub completed_at: i64,
}

/// Stores a session (and, through the trigger, its stats) and returns the
/// event the contract sends for it.
pub async fn insert_session(
    conn: &mut AnyConnection,
    input: &SessionInput<'_>,
) -> Result<SessionEvent, DbError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sessions (quiz_id, user_id, score, duration_s, completed_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(input.quiz.id.as_str())
    .bind(input.user_id)
    .bind(input.score)
    .bind(input.duration_s)
    .bind(input.completed_at)
    .fetch_one(conn)
    .await?;
    Ok(SessionEvent {
        session_id: id.to_string().into(),
        quiz_id: input.quiz.id.clone(),
        subject_id: input.quiz.subject_id.clone(),
        user_id: input.user_id.to_string().into(),
        username: input.username.to_owned(),
        score: input.score,
        completed_at: rfc3339(input.completed_at),
    })
}

/// One row for [`insert_sessions_bulk`].
#[derive(Clone, Debug)]
pub struct BulkSession {
    /// The quiz (must exist).
    pub quiz_id: String,
    /// The user (must exist).
    pub user_id: i64,
    /// Score.
    pub score: f64,
    /// Seconds taken.
    pub duration_s: f64,
    /// Completion time, microseconds since the epoch.
    pub completed_at: i64,
}

/// Stores many sessions in one transaction, 500 rows per statement (for
/// seeding benchmarks and tests; no broadcast).
pub async fn insert_sessions_bulk(pool: &Pool, rows: &[BulkSession]) -> Result<(), DbError> {
    const CHUNK: usize = 500;
    let mut tx = pool.begin().await?;
    for chunk in rows.chunks(CHUNK) {
        let placeholders = (0..chunk.len())
            .map(|i| {
                let n = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        // Only placeholders are formatted into the text; every value is bound.
        let sql = format!(
            "INSERT INTO sessions (quiz_id, user_id, score, duration_s, completed_at) VALUES {placeholders}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            query = query
                .bind(row.quiz_id.as_str())
                .bind(row.user_id)
                .bind(row.score)
                .bind(row.duration_s)
                .bind(row.completed_at);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Top `limit` entries of a quiz and the time of its newest session.
pub async fn quiz_entries(
    pool: &Pool,
    quiz_id: &str,
    limit: u32,
) -> Result<(Vec<Entry>, Option<String>), DbError> {
    quiz_entries_on(&mut *pool.acquire().await?, quiz_id, limit).await
}

/// [`quiz_entries`] on one connection (an upload's, in its subject turn).
pub async fn quiz_entries_on(
    conn: &mut AnyConnection,
    quiz_id: &str,
    limit: u32,
) -> Result<(Vec<Entry>, Option<String>), DbError> {
    board_entries(
        conn,
        "SELECT s.user_id, u.username, s.best, s.sessions \
         FROM quiz_user_stats s JOIN users u ON u.id = s.user_id \
         WHERE s.quiz_id = $1 ORDER BY s.best DESC, u.username ASC LIMIT $2",
        "SELECT MAX(last_at) FROM quiz_user_stats WHERE quiz_id = $1",
        quiz_id,
        limit,
    )
    .await
}

/// One board's ranked rows (`rows_sql` binds the id and the limit) and the time of
/// its newest session (`updated_sql` binds the id).
async fn board_entries(
    conn: &mut AnyConnection,
    rows_sql: &'static str,
    updated_sql: &'static str,
    id: &str,
    limit: u32,
) -> Result<(Vec<Entry>, Option<String>), DbError> {
    let rows: Vec<BoardRow> = sqlx::query_as(rows_sql)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
    let updated: Option<i64> = sqlx::query_scalar(updated_sql)
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok((ranked(rows), updated.map(rfc3339)))
}

/// A quiz's board (top `limit`).
pub async fn quiz_board(pool: &Pool, quiz: QuizRef, limit: u32) -> Result<QuizBoard, DbError> {
    let (entries, updated_at) = quiz_entries(pool, quiz.id.as_str(), limit).await?;
    Ok(QuizBoard {
        quiz,
        entries,
        updated_at,
    })
}

/// Top `limit` entries of a subject and the time of its newest session.
pub async fn subject_entries(
    pool: &Pool,
    subject_id: &str,
    limit: u32,
) -> Result<(Vec<Entry>, Option<String>), DbError> {
    subject_entries_on(&mut *pool.acquire().await?, subject_id, limit).await
}

/// [`subject_entries`] on one connection (an upload's, in its subject turn).
pub async fn subject_entries_on(
    conn: &mut AnyConnection,
    subject_id: &str,
    limit: u32,
) -> Result<(Vec<Entry>, Option<String>), DbError> {
    board_entries(
        conn,
        "SELECT s.user_id, u.username, s.score, s.sessions \
         FROM subject_user_stats s JOIN users u ON u.id = s.user_id \
         WHERE s.subject_id = $1 ORDER BY s.score DESC, u.username ASC LIMIT $2",
        "SELECT MAX(last_at) FROM subject_user_stats WHERE subject_id = $1",
        subject_id,
        limit,
    )
    .await
}

/// Every subject's board (top `limit` each), subjects by id.
pub async fn subject_boards(pool: &Pool, limit: u32) -> Result<Vec<SubjectBoard>, DbError> {
    let mut boards = Vec::new();
    for subject in subjects(pool).await? {
        let (entries, updated_at) = subject_entries(pool, subject.id.as_str(), limit).await?;
        boards.push(SubjectBoard {
            subject,
            entries,
            updated_at,
        });
    }
    Ok(boards)
}

/// A user's standing in every subject they have played, and their newest
/// sessions.
pub async fn performance(pool: &Pool, user: &UserRow) -> Result<Performance, DbError> {
    let standings: Vec<(String, f64, i64, i64)> = sqlx::query_as(
        "SELECT s.subject_id, s.score, s.sessions, \
                (SELECT COUNT(*) FROM subject_user_stats o \
                 WHERE o.subject_id = s.subject_id AND o.score > s.score) + 1 \
         FROM subject_user_stats s WHERE s.user_id = $1 ORDER BY s.subject_id",
    )
    .bind(user.id)
    .fetch_all(pool)
    .await?;
    let subjects = standings
        .into_iter()
        .map(|(subject_id, score, sessions, rank)| SubjectStanding {
            subject_id: SubjectId(subject_id),
            rank: u32::try_from(rank).unwrap_or(u32::MAX),
            score: finite_score(score),
            sessions: u32::try_from(sessions).unwrap_or(u32::MAX),
        })
        .collect();
    let recent: Vec<(i64, String, f64, i64)> = sqlx::query_as(
        "SELECT id, quiz_id, score, completed_at FROM sessions \
         WHERE user_id = $1 ORDER BY completed_at DESC, id DESC LIMIT $2",
    )
    .bind(user.id)
    .bind(i64::from(RECENT_SESSIONS))
    .fetch_all(pool)
    .await?;
    Ok(Performance {
        user: UserRef {
            id: UserId(user.id.to_string()),
            username: user.username.clone(),
        },
        subjects,
        recent_sessions: recent
            .into_iter()
            .map(|(id, quiz_id, score, at)| RecentSession {
                session_id: id.to_string().into(),
                quiz_id: QuizId(quiz_id),
                score: finite_score(score),
                completed_at: rfc3339(at),
            })
            .collect(),
    })
}

/// Number of stored sessions.
pub async fn session_count(pool: &Pool) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(pool)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_a_rank_and_the_next_rank_skips() {
        assert_eq!(competition_ranks(&[]), Vec::<u32>::new());
        assert_eq!(competition_ranks(&[5.0]), vec![1]);
        assert_eq!(competition_ranks(&[9.0, 9.0, 7.0]), vec![1, 1, 3]);
        assert_eq!(competition_ranks(&[9.0, 7.0, 7.0, 5.0]), vec![1, 2, 2, 4]);
        assert_eq!(competition_ranks(&[3.0, 3.0, 3.0]), vec![1, 1, 1]);
        assert_eq!(
            competition_ranks(&[10.0, 8.5, 8.5, 8.5, 2.0, 2.0, 0.0]),
            vec![1, 2, 2, 2, 5, 5, 7]
        );
    }

    #[test]
    fn urls_name_their_engine_and_lose_their_password() {
        assert_eq!(Backend::of_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgres://u:p@127.0.0.1:5/db").unwrap(),
            Backend::Postgres
        );
        let refused = Backend::of_url("mysql://u:hunter2@h/db").unwrap_err();
        assert!(!refused.to_string().contains("hunter2"), "{refused}");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn scores_reach_the_api_finite() {
        assert_eq!(finite_score(12.5), 12.5);
        assert_eq!(finite_score(f64::INFINITY), f64::MAX);
        assert_eq!(finite_score(f64::NAN), 0.0);
        let entries = ranked(vec![
            (1, "a".into(), f64::INFINITY, 2),
            (2, "b".into(), 5.0, 1),
        ]);
        assert_eq!(entries[0].score, f64::MAX);
        let json = serde_json::to_string(&entries).unwrap();
        assert!(!json.contains("null"), "{json}");
    }

    #[test]
    fn times_format_like_drf() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(1_764_138_566_123_456),
            "2025-11-26T06:29:26.123456Z"
        );
    }
}
