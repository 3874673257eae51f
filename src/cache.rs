//! The leaderboard cache and its refetch rules, like React Query: data lives under
//! query keys; server messages invalidate keys; at most one fetch is in flight per
//! key; a burst of invalidations inside the debounce window causes one fetch; a message
//! that arrives while a fetch is in flight marks the key to be fetched once more after
//! it; stale data stays visible (marked stale) while it is refetched; errors are kept
//! next to the last good data with a message a person can act on.

use crate::json::FromJson;
use crate::small::{VecMap, VecSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::text::Text;
use crate::time::Timestamp;
use crate::wire::{
    ApiError, Entry, Performance, Quiz, QuizBoard, QuizId, Subject, SubjectBoard, SubjectId,
};

/// What a fetch is for: one per REST read of the contract.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "quiz_id", rename_all = "snake_case")]
pub enum QueryKey {
    /// `GET /api/subjects/`.
    Subjects,
    /// `GET /api/leaderboard/subjects/?limit=N`.
    SubjectBoards,
    /// `GET /api/quizzes/`.
    Quizzes,
    /// `GET /api/quizzes/<id>/leaderboard/?limit=N`.
    QuizBoard(QuizId),
    /// `GET /api/users/me/performance/`.
    MyPerformance,
}

impl QueryKey {
    /// The path and query of the REST call, relative to the server's origin.
    pub fn path(&self, limit: u32) -> String {
        match self {
            QueryKey::Subjects => "/api/subjects/".into(),
            QueryKey::SubjectBoards => format!("/api/leaderboard/subjects/?limit={limit}"),
            QueryKey::Quizzes => "/api/quizzes/".into(),
            QueryKey::QuizBoard(id) => format!(
                "/api/quizzes/{}/leaderboard/?limit={limit}",
                crate::settings::percent_encode(id.as_str())
            ),
            QueryKey::MyPerformance => "/api/users/me/performance/".into(),
        }
    }
}

/// Data held under a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum QueryData {
    /// Subjects.
    Subjects(Vec<Subject>),
    /// Subject boards.
    SubjectBoards(Vec<SubjectBoard>),
    /// The quiz list.
    Quizzes(Vec<Quiz>),
    /// One quiz board.
    QuizBoard(QuizBoard),
    /// The user's performance.
    Performance(Performance),
}

impl QueryData {
    /// Decodes a `200` body as the data of `key`.
    pub fn decode(key: &QueryKey, body: &str) -> Result<QueryData, serde_json::Error> {
        Ok(match key {
            QueryKey::Subjects => QueryData::Subjects(FromJson::from_json_text(body)?),
            QueryKey::SubjectBoards => QueryData::SubjectBoards(FromJson::from_json_text(body)?),
            QueryKey::Quizzes => QueryData::Quizzes(FromJson::from_json_text(body)?),
            QueryKey::QuizBoard(_) => QueryData::QuizBoard(FromJson::from_json_text(body)?),
            QueryKey::MyPerformance => QueryData::Performance(FromJson::from_json_text(body)?),
        })
    }
}

/// Why a fetch was started. Only [`FetchReason::Live`] results may raise notifications;
/// [`FetchReason::Resync`] (after a connect or a start) only refreshes what is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchReason {
    /// A first load or a refetch after a (re)connect, a gap or an error.
    Resync,
    /// A server message said this changed.
    Live,
}

/// The outcome of a REST call as the adapter saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchResult {
    /// The server answered (any status).
    Response {
        /// HTTP status.
        status: u16,
        /// Body text.
        body: String,
        /// The headers the client reads.
        headers: ResponseHeaders,
    },
    /// No answer: network down, DNS, CORS, host access missing, aborted.
    NetworkError {
        /// The browser's message.
        message: String,
    },
}

/// The response headers the client reads (the adapter copies them verbatim).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeaders {
    /// `Date`: the server's clock (an HTTP date), which every HTTP server sends.
    pub date: Option<String>,
    /// `Retry-After` (seconds, or an HTTP date), sent with 429 and 503.
    pub retry_after: Option<String>,
}

/// The longest `Retry-After` the client honours: a server asking for more is still
/// tried again after this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

impl ResponseHeaders {
    /// `Date` as a timestamp on the server's clock.
    pub fn server_time(&self) -> Option<Timestamp> {
        self.date.as_deref().and_then(crate::time::parse_http_date)
    }

    /// How long `Retry-After` asks the client to wait (capped at [`MAX_RETRY_AFTER`]):
    /// whole seconds, or an HTTP date measured against the response's own `Date` (both
    /// on the server's clock; without `Date` a date form cannot be trusted and is ignored).
    pub fn retry_after(&self) -> Option<Duration> {
        let text = self.retry_after.as_deref()?.trim();
        let wait = match text.parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => crate::time::parse_http_date(text)?.saturating_since(self.server_time()?),
        };
        Some(wait.min(MAX_RETRY_AFTER))
    }
}

/// How many quiz boards that are neither followed, open in a tab nor on screen the
/// cache keeps (the most recently updated): reopening a board shows it at once, and
/// browsing many quizzes does not grow the worker's memory without end.
pub const KEEP_UNOBSERVED_BOARDS: usize = 8;

/// One key's state.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The last good data.
    pub data: Option<QueryData>,
    /// When [`Query::data`] was received.
    pub updated_at: Option<Timestamp>,
    /// Whether the data is known to be out of date.
    pub stale: bool,
    /// The request in flight, if any.
    pub in_flight: Option<(u64, FetchReason)>,
    /// When the next fetch is due, and why.
    pub due: Option<(Timestamp, FetchReason)>,
    /// Fetch once more when the one in flight completes.
    pub refetch_after: Option<FetchReason>,
    /// The last error, cleared by the next success.
    pub error: Option<Text>,
    /// Consecutive errors (for the retry delay).
    pub errors: u32,
    /// A 401 was answered by refreshing the token once; another 401 is an error.
    pub auth_retried: bool,
    /// Waiting for a fresh access token before fetching again.
    pub waiting_for_token: bool,
    /// When the last fetch started.
    pub last_started: Option<Timestamp>,
}

/// What a completed fetch means to the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// New data stored; `previous` is what it replaced.
    Updated {
        /// The replaced data.
        previous: Option<QueryData>,
        /// Why the fetch was made.
        reason: FetchReason,
    },
    /// The access token was refused: refresh it, then the key is fetched again.
    NeedsToken,
    /// An error was recorded on the key.
    Failed,
    /// Not a request this cache is waiting for (stale id): ignored.
    Ignored,
}

/// What applying a message's entries replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The entries before.
    pub previous: Vec<Entry>,
    /// Whether they were the live state (no resync pending), so the difference is news.
    pub current: bool,
}

/// Timing of the refetch rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheTiming {
    /// How long invalidations are gathered before a fetch starts (300 ms).
    pub debounce: Duration,
    /// The shortest interval between two fetch starts of one key (1 s).
    pub min_interval: Duration,
    /// The first retry delay after an error (15 s, doubling to 2 min).
    pub error_retry: Duration,
}

impl Default for CacheTiming {
    fn default() -> Self {
        CacheTiming {
            debounce: Duration::from_millis(300),
            min_interval: Duration::from_secs(1),
            error_retry: Duration::from_secs(15),
        }
    }
}

/// The cache: queries by key, and which keys are on screen (observed).
#[derive(Debug, Clone, Default)]
pub struct Cache {
    queries: VecMap<QueryKey, Query>,
    observed: VecSet<QueryKey>,
    timing: CacheTiming,
}

impl Cache {
    /// An empty cache with the given timing.
    pub fn new(timing: CacheTiming) -> Self {
        Cache {
            timing,
            ..Cache::default()
        }
    }

    /// A key's state.
    pub fn get(&self, key: &QueryKey) -> Option<&Query> {
        self.queries.get(key)
    }

    /// A key's data.
    pub fn data(&self, key: &QueryKey) -> Option<&QueryData> {
        self.queries.get(key).and_then(|q| q.data.as_ref())
    }

    /// Every key with state.
    pub fn keys(&self) -> impl Iterator<Item = &QueryKey> {
        self.queries.keys()
    }

    /// Keys on screen.
    pub fn observed(&self) -> &VecSet<QueryKey> {
        &self.observed
    }

    /// Whether `key` is on screen.
    pub fn is_observed(&self, key: &QueryKey) -> bool {
        self.observed.contains(key)
    }

    /// Keys currently being fetched.
    pub fn in_flight(&self) -> impl Iterator<Item = (&QueryKey, u64)> {
        self.queries
            .iter()
            .filter_map(|(k, q)| q.in_flight.map(|(id, _)| (k, id)))
    }

    /// Puts `key` on screen; it is fetched at once when it has no fresh data.
    pub fn observe(&mut self, key: QueryKey, now: Timestamp) {
        if self.observed.insert(key.clone()) {
            let q = self.queries.get_or_insert_with(key, Query::default);
            if q.data.is_none() || q.stale {
                schedule(q, now, FetchReason::Resync);
            }
        }
    }

    /// Takes `key` off screen (its data is kept; nothing is fetched for it).
    pub fn unobserve(&mut self, key: &QueryKey) {
        self.observed.remove(key);
        if let Some(q) = self.queries.get_mut(key) {
            q.due = None;
        }
        self.evict_boards();
    }

    /// Drops the least recently updated unobserved quiz boards beyond
    /// [`KEEP_UNOBSERVED_BOARDS`] (a late answer for one is then ignored).
    fn evict_boards(&mut self) {
        // No sort: one more element type sorted is one more copy of std's sort in the
        // wasm, and the list is short.
        loop {
            let is_idle =
                |k: &QueryKey| matches!(k, QueryKey::QuizBoard(_)) && !self.observed.contains(k);
            let idle = self.queries.iter().filter(|(k, _)| is_idle(k));
            if idle.count() <= KEEP_UNOBSERVED_BOARDS {
                return;
            }
            let Some(oldest) = self
                .queries
                .iter()
                .filter(|(k, _)| is_idle(k))
                .min_by_key(|(_, q)| q.updated_at)
                .map(|(k, _)| k.clone())
            else {
                return;
            };
            self.queries.remove(&oldest);
        }
    }

    /// A server message says `key` changed. Unobserved keys are only marked stale.
    pub fn invalidate(&mut self, key: &QueryKey, reason: FetchReason, now: Timestamp) {
        let observed = self.observed.contains(key);
        let Some(q) = self.queries.get_mut(key) else {
            return;
        };
        q.stale = true;
        if !observed {
            return;
        }
        if q.in_flight.is_some() {
            q.refetch_after = Some(merge(q.refetch_after, reason));
            return;
        }
        if let Some((at, r)) = q.due {
            q.due = Some((at, merge(Some(r), reason)));
            return;
        }
        let at = match reason {
            FetchReason::Resync => now,
            FetchReason::Live => {
                let throttle = q.last_started.map_or(now, |t| t + self.timing.min_interval);
                (now + self.timing.debounce).max(throttle)
            }
        };
        q.due = Some((at, reason));
    }

    /// Every key on screen is refetched now (after a (re)connect or a `seq` gap).
    pub fn resync_observed(&mut self, now: Timestamp) {
        let keys: Vec<QueryKey> = self.observed.iter().cloned().collect();
        for key in keys {
            let q = self.queries.get_or_insert_with(key, Query::default);
            q.stale = q.data.is_some() || q.stale;
            if q.in_flight.is_some() {
                q.refetch_after = Some(FetchReason::Resync);
            } else {
                q.due = Some((now, FetchReason::Resync));
            }
        }
    }

    /// Keys due for a fetch at `now`, each marked in flight with an id from `next_id`.
    /// Keys waiting for a token are skipped.
    pub fn start_due(
        &mut self,
        now: Timestamp,
        mut next_id: impl FnMut() -> u64,
    ) -> Vec<(QueryKey, u64, FetchReason)> {
        let mut out = Vec::new();
        for (key, q) in self.queries.iter_mut() {
            if q.in_flight.is_some() || q.waiting_for_token || !self.observed.contains(key) {
                continue;
            }
            if let Some((at, reason)) = q.due
                && at <= now
            {
                let id = next_id();
                q.due = None;
                q.in_flight = Some((id, reason));
                q.last_started = Some(now);
                out.push((key.clone(), id, reason));
            }
        }
        out
    }

    /// The earliest time a fetch is due (for `poll_timeout`).
    pub fn next_due(&self) -> Option<Timestamp> {
        self.queries
            .iter()
            .filter(|(k, q)| {
                q.in_flight.is_none() && !q.waiting_for_token && self.observed.contains(*k)
            })
            .filter_map(|(_, q)| q.due.map(|(at, _)| at))
            .min()
    }

    /// Records the outcome of request `id` for `key`.
    pub fn complete(
        &mut self,
        key: &QueryKey,
        id: u64,
        result: FetchResult,
        now: Timestamp,
    ) -> Completion {
        let timing = self.timing.clone();
        let Some(q) = self.queries.get_mut(key) else {
            return Completion::Ignored;
        };
        let Some((in_flight_id, reason)) = q.in_flight else {
            return Completion::Ignored;
        };
        if in_flight_id != id {
            return Completion::Ignored;
        }
        q.in_flight = None;
        let follow_up = q.refetch_after.take();
        let completion = match result {
            FetchResult::Response { status, body, .. } if (200..300).contains(&status) => {
                match QueryData::decode(key, &body) {
                    Ok(data) => {
                        let previous = q.data.replace(data);
                        q.updated_at = Some(now);
                        q.stale = follow_up.is_some();
                        q.error = None;
                        q.errors = 0;
                        q.auth_retried = false;
                        Completion::Updated { previous, reason }
                    }
                    Err(e) => fail(
                        q,
                        Text::new("query_not_understood").plain(e.to_string()),
                        now,
                        &timing,
                    ),
                }
            }
            FetchResult::Response {
                status: 401, body, ..
            } => {
                if q.auth_retried {
                    let detail = ApiError::message_from(&body);
                    q.error = Some(Text::new("query_refused").plain(detail));
                    q.stale = q.data.is_some();
                    Completion::Failed
                } else {
                    q.auth_retried = true;
                    q.waiting_for_token = true;
                    q.due = Some((now, reason));
                    return Completion::NeedsToken;
                }
            }
            FetchResult::Response { status: 404, .. } if matches!(key, QueryKey::QuizBoard(_)) => {
                q.error = Some(Text::new("query_quiz_gone"));
                q.stale = q.data.is_some();
                Completion::Failed
            }
            FetchResult::Response {
                status,
                body,
                headers,
            } => {
                let completion = fail(q, ApiError::describe_status(status, &body), now, &timing);
                // A server that says when to come back is believed (within bounds).
                if let (Some(wait), Some((at, reason))) = (headers.retry_after(), q.due) {
                    q.due = Some((at.max(now + wait), reason));
                }
                completion
            }
            FetchResult::NetworkError { message } => fail(
                q,
                Text::new("query_unreachable").plain(message),
                now,
                &timing,
            ),
        };
        if let Some(r) = follow_up {
            let throttle = q.last_started.map_or(now, |t| t + timing.min_interval);
            let at = (now + timing.debounce).max(throttle);
            q.due = Some(
                q.due
                    .map_or((at, r), |(d, dr)| (d.min(at), merge(Some(dr), r))),
            );
        }
        completion
    }

    /// A fresh access token arrived: keys that waited for it are due now.
    pub fn token_ready(&mut self, now: Timestamp) {
        for q in self.queries.values_mut() {
            if q.waiting_for_token {
                q.waiting_for_token = false;
                if q.due.is_none() {
                    q.due = Some((now, FetchReason::Resync));
                }
            }
        }
    }

    /// Whether any key waits for a token.
    pub fn waits_for_token(&self) -> bool {
        self.queries.values().any(|q| q.waiting_for_token)
    }

    /// The token could not be refreshed yet: keys waiting for it say `message` and go on
    /// waiting (the next token fetches them).
    pub fn token_failed(&mut self, message: &Text) {
        for q in self.queries.values_mut() {
            if q.waiting_for_token {
                q.error = Some(message.clone());
            }
        }
    }

    /// Replaces one subject's entries from a `leaderboard_updated` message. Returns
    /// whether the subject was in the cached boards. The board's `updated_at` becomes
    /// `server_time` (the upload's `completed_at`, what the server's own board says)
    /// or, when that is not known, the receive time.
    pub fn apply_subject_entries(
        &mut self,
        subject: &SubjectId,
        entries: Vec<Entry>,
        server_time: Option<String>,
        now: Timestamp,
    ) -> bool {
        let Some(q) = self.queries.get_mut(&QueryKey::SubjectBoards) else {
            return false;
        };
        let Some(QueryData::SubjectBoards(boards)) = &mut q.data else {
            return false;
        };
        let Some(board) = boards.iter_mut().find(|b| &b.subject.id == subject) else {
            return false;
        };
        board.entries = entries;
        board.updated_at = Some(server_time.unwrap_or_else(|| now.to_rfc3339()));
        q.updated_at = Some(now);
        if q.in_flight.is_some() {
            q.refetch_after = Some(merge(q.refetch_after, FetchReason::Live));
        }
        true
    }

    /// Replaces a quiz board's entries from a `quiz_leaderboard_updated` message, and
    /// cancels the refetch a live message before it scheduled (the entries are the
    /// board's new state: the contract's server never sends older ones after newer).
    ///
    /// Not applied (`None`: refetch instead) when the board is not cached, or when the
    /// entries may not be the whole board: fewer than `limit` entries where the cached
    /// board had more. A fetch in flight may return a board older than these entries:
    /// it is refetched once after, and neither result raises alerts (the entries did).
    /// `server_time` as for [`Cache::apply_subject_entries`].
    pub fn apply_quiz_entries(
        &mut self,
        quiz: &QuizId,
        mut entries: Vec<Entry>,
        limit: u32,
        server_time: Option<String>,
        now: Timestamp,
    ) -> Option<Applied> {
        let q = self.queries.get_mut(&QueryKey::QuizBoard(quiz.clone()))?;
        let Some(QueryData::QuizBoard(board)) = &mut q.data else {
            return None;
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if entries.len() < limit && board.entries.len() > entries.len() {
            return None;
        }
        entries.truncate(limit);
        // The previous entries are the live state only when no resync is pending: after
        // a (re)connect they may be from before it, and comparing them would replay
        // changes made while away.
        let resync = |r: Option<FetchReason>| r == Some(FetchReason::Resync);
        let current = !(resync(q.in_flight.map(|(_, r)| r))
            || resync(q.due.map(|(_, r)| r))
            || resync(q.refetch_after));
        let previous = std::mem::replace(&mut board.entries, entries);
        board.updated_at = Some(server_time.unwrap_or_else(|| now.to_rfc3339()));
        q.updated_at = Some(now);
        if let Some((id, _)) = q.in_flight {
            q.in_flight = Some((id, FetchReason::Resync));
            q.refetch_after = Some(FetchReason::Resync);
            q.stale = true;
        } else {
            if q.due.is_some_and(|(_, r)| r == FetchReason::Live) {
                q.due = None;
            }
            q.stale = q.due.is_some();
        }
        Some(Applied { previous, current })
    }

    /// Forgets everything (sign-out, another server).
    pub fn clear(&mut self) {
        self.queries.clear();
        self.observed.clear();
    }

    /// Cancels every in-flight and due fetch (their late results are ignored).
    pub fn cancel_all(&mut self) {
        for q in self.queries.values_mut() {
            q.in_flight = None;
            q.due = None;
            q.refetch_after = None;
            q.waiting_for_token = false;
        }
    }

    /// The most recent data time of any key.
    pub fn last_update(&self) -> Option<Timestamp> {
        self.queries.values().filter_map(|q| q.updated_at).max()
    }

    /// Whether the latest outcome of some observed key was a server or network error.
    pub fn has_server_error(&self) -> bool {
        self.queries
            .iter()
            .any(|(k, q)| self.observed.contains(k) && q.errors > 0)
    }
}

fn merge(a: Option<FetchReason>, b: FetchReason) -> FetchReason {
    // A resync result must not notify; once a resync is pending the merged fetch is one.
    match (a, b) {
        (Some(FetchReason::Resync), _) | (_, FetchReason::Resync) => FetchReason::Resync,
        _ => FetchReason::Live,
    }
}

fn schedule(q: &mut Query, now: Timestamp, reason: FetchReason) {
    if q.in_flight.is_none() && q.due.is_none() {
        q.due = Some((now, reason));
    }
}

fn fail(q: &mut Query, message: Text, now: Timestamp, timing: &CacheTiming) -> Completion {
    q.error = Some(message);
    q.errors = q.errors.saturating_add(1);
    q.stale = q.data.is_some();
    let shift = (q.errors - 1).min(3);
    let delay = timing
        .error_retry
        .saturating_mul(1 << shift)
        .min(Duration::from_secs(120));
    q.due = Some((now + delay, FetchReason::Resync));
    Completion::Failed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> FetchResult {
        FetchResult::Response {
            status: 200,
            body: body.into(),
            headers: ResponseHeaders::default(),
        }
    }

    fn ids() -> impl FnMut() -> u64 {
        let mut n = 0;
        move || {
            n += 1;
            n
        }
    }

    #[test]
    fn query_paths_follow_the_contract() {
        assert_eq!(
            QueryKey::SubjectBoards.path(10),
            "/api/leaderboard/subjects/?limit=10"
        );
        assert_eq!(
            QueryKey::QuizBoard("7".into()).path(5),
            "/api/quizzes/7/leaderboard/?limit=5"
        );
        assert_eq!(
            QueryKey::MyPerformance.path(10),
            "/api/users/me/performance/"
        );
        assert_eq!(QueryKey::Quizzes.path(10), "/api/quizzes/");
        assert_eq!(QueryKey::Subjects.path(10), "/api/subjects/");
    }

    #[test]
    fn burst_of_invalidations_within_the_window_causes_one_fetch() {
        let mut c = Cache::default();
        let t0 = Timestamp(1_000_000);
        let mut next = ids();
        c.observe(QueryKey::Quizzes, t0);
        let started = c.start_due(t0, &mut next);
        assert_eq!(started.len(), 1);
        c.complete(&QueryKey::Quizzes, started[0].1, ok("[]"), t0);
        let t1 = t0 + Duration::from_secs(10);
        for i in 0..50 {
            c.invalidate(
                &QueryKey::Quizzes,
                FetchReason::Live,
                t1 + Duration::from_millis(i * 5),
            );
        }
        assert!(
            c.start_due(t1 + Duration::from_millis(250), &mut next)
                .is_empty()
        );
        let started = c.start_due(t1 + Duration::from_millis(300), &mut next);
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].2, FetchReason::Live);
        assert_eq!(c.next_due(), None);
    }

    #[test]
    fn message_during_fetch_refetches_once_after() {
        let mut c = Cache::default();
        let t0 = Timestamp(1_000_000);
        let mut next = ids();
        c.observe(QueryKey::Quizzes, t0);
        let id = c.start_due(t0, &mut next)[0].1;
        for _ in 0..5 {
            c.invalidate(&QueryKey::Quizzes, FetchReason::Live, t0);
        }
        assert!(
            c.start_due(t0 + Duration::from_secs(5), &mut next)
                .is_empty(),
            "one in flight per key"
        );
        c.complete(
            &QueryKey::Quizzes,
            id,
            ok("[]"),
            t0 + Duration::from_millis(100),
        );
        assert!(c.get(&QueryKey::Quizzes).unwrap().stale);
        let later = c.start_due(t0 + Duration::from_secs(1), &mut next);
        assert_eq!(later.len(), 1);
        c.complete(
            &QueryKey::Quizzes,
            later[0].1,
            ok("[]"),
            t0 + Duration::from_secs(2),
        );
        assert!(
            c.start_due(t0 + Duration::from_secs(60), &mut next)
                .is_empty()
        );
        assert!(!c.get(&QueryKey::Quizzes).unwrap().stale);
    }

    #[test]
    fn fetch_error_keeps_stale_data_with_a_clear_message() {
        let mut c = Cache::default();
        let t0 = Timestamp(1_000_000);
        let mut next = ids();
        c.observe(QueryKey::Quizzes, t0);
        let id = c.start_due(t0, &mut next)[0].1;
        c.complete(
            &QueryKey::Quizzes,
            id,
            ok(r#"[{"id": "1", "title": "Quadratics", "subject_id": "m", "sessions_count": 3}]"#),
            t0,
        );
        c.invalidate(&QueryKey::Quizzes, FetchReason::Live, t0);
        let id = c.start_due(t0 + Duration::from_secs(1), &mut next)[0].1;
        let r = c.complete(
            &QueryKey::Quizzes,
            id,
            FetchResult::Response {
                status: 502,
                body: "Bad Gateway".into(),
                headers: ResponseHeaders::default(),
            },
            t0 + Duration::from_secs(1),
        );
        assert_eq!(r, Completion::Failed);
        let q = c.get(&QueryKey::Quizzes).unwrap();
        assert!(q.stale);
        assert!(matches!(&q.data, Some(QueryData::Quizzes(v)) if v.len() == 1));
        assert_eq!(
            q.error,
            Some(
                Text::new("http_server_error_detail")
                    .plain("502")
                    .plain("Bad Gateway")
            )
        );
        assert!(c.has_server_error());
        assert_eq!(c.next_due(), Some(t0 + Duration::from_secs(16)));
    }

    #[test]
    fn a_read_answered_429_waits_as_long_as_retry_after_says() {
        let mut c = Cache::default();
        let t0 = Timestamp(1_000_000);
        let mut next = ids();
        c.observe(QueryKey::Quizzes, t0);
        let id = c.start_due(t0, &mut next)[0].1;
        let headers = ResponseHeaders {
            date: None,
            retry_after: Some("90".into()),
        };
        let r = FetchResult::Response {
            status: 429,
            body: String::new(),
            headers,
        };
        assert_eq!(
            c.complete(&QueryKey::Quizzes, id, r, t0),
            Completion::Failed
        );
        assert_eq!(c.next_due(), Some(t0 + Duration::from_secs(90)));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_bounded() {
        let at = |date: Option<&str>, value: &str| {
            ResponseHeaders {
                date: date.map(str::to_owned),
                retry_after: Some(value.to_owned()),
            }
            .retry_after()
        };
        let date = "Thu, 26 Nov 2026 06:00:00 GMT";
        assert_eq!(at(None, "120"), Some(Duration::from_secs(120)));
        assert_eq!(at(None, "99999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            at(Some(date), "Thu, 26 Nov 2026 06:00:30 GMT"),
            Some(Duration::from_secs(30))
        );
        // A date without the server's own Date cannot be measured: ignored.
        assert_eq!(at(None, "Thu, 26 Nov 2026 06:00:30 GMT"), None);
        assert_eq!(at(Some(date), "soon"), None);
    }

    #[test]
    fn boards_nobody_looks_at_are_bounded() {
        let mut c = Cache::default();
        let t0 = Timestamp(1_000_000);
        let mut next = ids();
        for i in 0..100u64 {
            let key = QueryKey::QuizBoard(QuizId::from(format!("q{i}")));
            let now = t0 + Duration::from_secs(i);
            c.observe(key.clone(), now);
            let id = c.start_due(now, &mut next)[0].1;
            let body = format!(
                r#"{{"quiz": {{"id": "q{i}", "title": "Q", "subject_id": "s"}}, "entries": [], "updated_at": null}}"#
            );
            c.complete(&key, id, ok(&body), now);
            c.unobserve(&key);
        }
        let kept: Vec<&QueryKey> = c.keys().collect();
        assert_eq!(kept.len(), KEEP_UNOBSERVED_BOARDS);
        // The most recently updated ones stay.
        assert!(kept.contains(&&QueryKey::QuizBoard(QuizId::from("q99".to_owned()))));
        assert!(!kept.contains(&&QueryKey::QuizBoard(QuizId::from("q0".to_owned()))));
    }

    #[test]
    fn rest_401_asks_for_a_token_once_then_reports() {
        let mut c = Cache::default();
        let t0 = Timestamp(1_000_000);
        let mut next = ids();
        c.observe(QueryKey::MyPerformance, t0);
        let id = c.start_due(t0, &mut next)[0].1;
        let unauthorized = || {
            FetchResult::Response {
            status: 401,
            body: r#"{"detail": "Given token not valid for any token type", "code": "token_not_valid"}"#.into(),
            headers: ResponseHeaders::default(),
        }
        };
        assert_eq!(
            c.complete(&QueryKey::MyPerformance, id, unauthorized(), t0),
            Completion::NeedsToken
        );
        assert!(c.start_due(t0, &mut next).is_empty(), "waits for the token");
        c.token_ready(t0);
        let id = c.start_due(t0, &mut next)[0].1;
        assert_eq!(
            c.complete(&QueryKey::MyPerformance, id, unauthorized(), t0),
            Completion::Failed
        );
        let error = c.get(&QueryKey::MyPerformance).unwrap().error.clone();
        assert_eq!(error.map(|e| e.key), Some("query_refused".into()));
    }

    #[test]
    fn stale_completion_ids_are_ignored() {
        let mut c = Cache::default();
        let t0 = Timestamp(5);
        c.observe(QueryKey::Quizzes, t0);
        let mut next = ids();
        let id = c.start_due(t0, &mut next)[0].1;
        assert_eq!(
            c.complete(&QueryKey::Quizzes, id + 1, ok("[]"), t0),
            Completion::Ignored
        );
        c.cancel_all();
        assert_eq!(
            c.complete(&QueryKey::Quizzes, id, ok("[]"), t0),
            Completion::Ignored
        );
    }

    #[test]
    fn entries_in_a_message_are_applied_without_a_fetch() {
        let mut c = Cache::default();
        let t0 = Timestamp(5);
        let mut next = ids();
        let key = QueryKey::QuizBoard("7".into());
        c.observe(key.clone(), t0);
        let id = c.start_due(t0, &mut next)[0].1;
        let body = r#"{"quiz": {"id": "7", "title": "T", "subject_id": "s"}, "entries": [], "updated_at": null}"#;
        c.complete(&key, id, ok(body), t0);
        let entry = Entry {
            rank: 1,
            user_id: "u".into(),
            username: "ann".into(),
            score: 9.0,
            sessions: 1,
        };
        c.invalidate(&key, FetchReason::Live, t0 + Duration::from_secs(1));
        assert!(
            c.next_due().is_some(),
            "the upload before scheduled a refetch"
        );
        let applied = c
            .apply_quiz_entries(
                &"7".into(),
                vec![entry],
                10,
                None,
                t0 + Duration::from_secs(1),
            )
            .unwrap();
        assert!(applied.current && applied.previous.is_empty());
        assert_eq!(c.next_due(), None, "the entries cancel it");
        assert!(!c.get(&key).unwrap().stale);
        assert!(
            c.start_due(t0 + Duration::from_secs(60), &mut next)
                .is_empty()
        );
        assert!(matches!(c.data(&key), Some(QueryData::QuizBoard(b)) if b.entries.len() == 1));
    }
}
