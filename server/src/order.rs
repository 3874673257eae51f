//! Per-subject ordering of uploads.
//!
//! An upload stores its session, reads the subject's and the quiz's boards and
//! hands the three messages on (to the hub, or to the broker). Two uploads in
//! the same subject must do that one after the other: `leaderboard_updated`
//! carries the subject's board, so a later message must never carry entries
//! older than an earlier one's, and the triggers that recompute a user's
//! subject total must not interleave. Uploads in different subjects share
//! nothing and run side by side.
//!
//! [`SubjectLocks::lock`] takes, in this order, an in-process async mutex for
//! the subject (so uploads on one instance queue in memory, not in the
//! database) and, on PostgreSQL, a session-level advisory lock keyed by the
//! subject on the connection that then runs the upload's queries (so
//! instances sharing the database queue too). The lock is released only after
//! the messages were handed on: a broker then sees one subject's uploads in
//! the order they were stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use quizpulse::wire::SubjectId;
use sqlx::AnyConnection;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Executor};
use tokio::sync::OwnedMutexGuard;

use crate::db::{Backend, DbError, Pool};

/// First key of every advisory lock this server takes (`pg_advisory_lock(int, int)`),
/// so they cannot collide with another application's locks on the same database.
const ADVISORY_CLASS: i32 = 0x5150;

/// The in-process locks, one per subject seen so far (subjects are few and
/// long-lived, so the map is never pruned).
#[derive(Default)]
pub struct SubjectLocks {
    locks: Mutex<HashMap<SubjectId, Arc<tokio::sync::Mutex<()>>>>,
}

impl SubjectLocks {
    /// Waits for the subject's turn and returns the connection to run the
    /// upload on. Call [`SubjectTurn::release`] when done.
    pub async fn lock(&self, pool: &Pool, subject: &SubjectId) -> Result<SubjectTurn, DbError> {
        let local = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(locks.entry(subject.clone()).or_default())
        };
        let local = local.lock_owned().await;
        let mut conn = pool.acquire().await?;
        let advisory = Backend::of(pool) == Backend::Postgres;
        if advisory {
            // `pg_advisory_lock` returns `void`, which the Any driver cannot
            // decode: count its one row instead.
            sqlx::query("SELECT COUNT(*) FROM pg_advisory_lock($1, hashtext($2))")
                .bind(ADVISORY_CLASS)
                .bind(subject.as_str())
                .execute(&mut *conn)
                .await?;
        }
        Ok(SubjectTurn {
            conn: Some(conn),
            subject: subject.clone(),
            advisory,
            _local: local,
        })
    }
}

/// One upload's turn in its subject: holds the locks and the connection.
///
/// Dropped without [`SubjectTurn::release`] (a panic), the connection is
/// closed instead of returned to the pool, which ends the advisory lock.
pub struct SubjectTurn {
    conn: Option<PoolConnection<Any>>,
    subject: SubjectId,
    advisory: bool,
    _local: OwnedMutexGuard<()>,
}

impl SubjectTurn {
    /// The connection holding the turn: run the upload's queries on it.
    pub fn conn(&mut self) -> Result<&mut AnyConnection, DbError> {
        match self.conn.as_mut() {
            Some(conn) => Ok(&mut **conn),
            None => Err(DbError::Sqlx(sqlx::Error::PoolClosed)),
        }
    }

    /// Ends the turn: unlocks the advisory lock (closing the connection if
    /// that fails, which ends it too) and the in-process lock.
    pub async fn release(mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if self.advisory {
            let unlocked = (&mut *conn)
                .execute(
                    sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2))")
                        .bind(ADVISORY_CLASS)
                        .bind(self.subject.as_str()),
                )
                .await;
            if let Err(e) = unlocked {
                tracing::warn!(error = %e, subject = %self.subject, "advisory unlock failed; closing that connection");
                conn.close_on_drop();
            }
        }
    }
}

impl Drop for SubjectTurn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut()
            && self.advisory
        {
            conn.close_on_drop();
        }
    }
}
