//! The broadcast hub: every open socket's queue, and the per-quiz groups.
//!
//! Fan-out cost. A broadcast is serialised once into [`SharedFrame`]s (the
//! contract's text with `sent_at`, without `seq`) behind an `Arc`. The
//! fan-out loop ([`Hub::deliver`]) then writes each socket's bytes itself:
//! WebSocket frame headers plus the shared text with that socket's `seq`
//! spliced in, all of an upload's frames in one buffer, handed to the kernel
//! with one non-blocking `send` on the socket ([`crate::outlet`]). No task
//! is woken, no channel is used and nothing is allocated per socket in the
//! common case; only when the kernel's send buffer is full does the
//! socket's task finish the write.
//!
//! Threads. A pass over many sockets (more than 2 048 a thread) is
//! split into runs of the roster, one scoped thread per core: the kernel's
//! loopback send is most of a socket's cost and it runs in parallel. The
//! roster is kept in the order the sockets came, which is nearly the order
//! of their memory, so a pass touches pages in sequence.
//!
//! Batching. One pass of the fan-out loop runs at a time. Uploads that arrive
//! meanwhile are queued (their threads return at once, so an upload's
//! subject turn does not wait for an earlier upload's fan-out) and go out
//! together in its next pass: under load each socket gets several uploads in
//! one write, which is what carries a high sustained rate.
//!
//! Slow readers. A socket whose unwritten bytes hold more than the hub's
//! capacity of broadcasts is dropped from the hub at once (it receives
//! nothing more) and its task is told to close with 1013; everyone else is
//! unaffected. The client reconnects and refetches, as the contract's
//! at-most-once delivery requires of it anyway.
//!
//! Ordering. The fan-out loop takes uploads in arrival order, and a socket's
//! bytes go out in the order its [`crate::outlet::Outlet`] accepted them, so
//! every socket sees `quiz_session_uploaded`, `leaderboard_updated`, then
//! (if it follows the quiz) `quiz_leaderboard_updated`, with no other
//! upload's messages in between, and every socket sees uploads in the same
//! order.
//!
//! Entry point. Every upload reaches the sockets through [`Hub::deliver`] with
//! one [`Delivery`]: straight from `record_session` on a lone instance, or from
//! the broker's subscription (`crate::broker`) when instances share Redis. A
//! [`Delivery`] travels between processes as its frames' encoded text
//! ([`SharedFrame::encoded`] and [`SharedFrame::from_encoded`]), never
//! re-serialised.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use quizpulse::wire::{QuizId, ServerFrame, ServerMessage};
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::outlet::{Outlet, Push};

/// A connection's id in the hub.
pub type ConnId = u64;

/// What goes before a frame's `seq` digits.
const SEQ_KEY: &str = ", \"seq\": ";

/// A broadcast message serialised once, shared by every recipient.
#[derive(Clone, Debug)]
pub struct SharedFrame(Arc<SharedInner>);

#[derive(Debug)]
struct SharedInner {
    /// `{"type": ..., ..., "sent_at": "..."}`.
    text: String,
    /// Byte offset where `, "seq": N` goes (just before `, "sent_at"`).
    seq_at: usize,
    /// When the session behind it was stored (for the latency histogram).
    stored_at: Instant,
}

impl SharedFrame {
    /// Serialises `message` once, with `sent_at`, leaving room for `seq`.
    pub fn new(message: ServerMessage, sent_at: &str, stored_at: Instant) -> Self {
        let body = ServerFrame::new(message).encode();
        let head = body.strip_suffix('}').unwrap_or(&body);
        let quoted = serde_json::to_string(sent_at).unwrap_or_else(|_| "null".to_owned());
        let mut text = String::with_capacity(body.len() + quoted.len() + 16);
        text.push_str(head);
        let seq_at = text.len();
        text.push_str(", \"sent_at\": ");
        text.push_str(&quoted);
        text.push('}');
        Self(Arc::new(SharedInner {
            text,
            seq_at,
            stored_at,
        }))
    }

    /// The frame as one connection sends it: `seq` spliced in before
    /// `sent_at`, byte-identical to encoding the whole frame with both set.
    pub fn numbered(&self, seq: u64) -> String {
        let inner = &*self.0;
        let digits = seq.to_string();
        let mut out = String::with_capacity(inner.text.len() + digits.len() + 9);
        out.push_str(&inner.text[..inner.seq_at]);
        out.push_str(SEQ_KEY);
        out.push_str(&digits);
        out.push_str(&inner.text[inner.seq_at..]);
        out
    }

    /// Appends this frame as one socket sends it on the wire: an unmasked
    /// WebSocket text frame of [`SharedFrame::numbered`]`(seq)`, built in
    /// place (no intermediate `String`).
    pub fn write_ws_frame(&self, seq: u64, out: &mut Vec<u8>) {
        let inner = &*self.0;
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = seq;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let digits = &digits[at..];
        let len = inner.text.len() + SEQ_KEY.len() + digits.len();
        crate::outlet::write_header(len, out);
        out.extend_from_slice(&inner.text.as_bytes()[..inner.seq_at]);
        out.extend_from_slice(SEQ_KEY.as_bytes());
        out.extend_from_slice(digits);
        out.extend_from_slice(&inner.text.as_bytes()[inner.seq_at..]);
    }

    /// The shared text and the byte offset where `seq` goes: what a broker
    /// carries to other instances ([`SharedFrame::from_encoded`] takes it back).
    pub fn encoded(&self) -> (&str, usize) {
        (&self.0.text, self.0.seq_at)
    }

    /// A frame from [`SharedFrame::encoded`]'s parts, as received from a
    /// broker; `stored_at` is the local instant matching the session's
    /// storage time. `None` unless `seq_at` is a character boundary of
    /// `text` just before `, "sent_at": `.
    pub fn from_encoded(text: String, seq_at: usize, stored_at: Instant) -> Option<Self> {
        let tail = text.get(seq_at..)?;
        if !tail.starts_with(", \"sent_at\": ") || !text.starts_with('{') {
            return None;
        }
        Some(Self(Arc::new(SharedInner {
            text,
            seq_at,
            stored_at,
        })))
    }

    /// Time since the session behind this frame was stored.
    pub fn age(&self) -> Duration {
        self.0.stored_at.elapsed()
    }

    /// Length of the shared text in bytes.
    pub fn len(&self) -> usize {
        self.0.text.len()
    }

    /// Always false: a frame has at least its `type`.
    pub fn is_empty(&self) -> bool {
        self.0.text.is_empty()
    }
}

/// One upload's broadcast as the hub takes it: `everyone` (in order) for
/// every socket, then `followers` for the sockets following `quiz`.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// `quiz_session_uploaded` then `leaderboard_updated`.
    pub everyone: Vec<SharedFrame>,
    /// The quiz whose followers get `followers`.
    pub quiz: QuizId,
    /// `quiz_leaderboard_updated`.
    pub followers: SharedFrame,
}

/// What a socket's task gets when it joins the hub.
#[derive(Debug)]
pub struct Registration {
    /// Its id.
    pub id: ConnId,
    /// Signalled when the hub dropped it: close with [`Registration::kick_code`].
    pub kicked: Arc<Notify>,
    /// Why it was dropped: 1013 (lagging) unless [`Hub::restart_all`] set
    /// 1012 or [`Hub::kick_user`] 4003.
    kick_code: Arc<AtomicU16>,
}

impl Registration {
    /// The close code and reason for a kick: 1013 for a full queue, 1012
    /// when the hub restarted every socket (broadcasts may have been lost),
    /// 4003 when the socket's account was disabled.
    pub fn kick_code(&self) -> (u16, &'static str) {
        match self.kick_code.load(Ordering::Relaxed) {
            CLOSE_SERVICE_RESTART => (CLOSE_SERVICE_RESTART, RESTARTED),
            CLOSE_FORBIDDEN => (CLOSE_FORBIDDEN, INACTIVE),
            _ => (CLOSE_TRY_AGAIN_LATER, LAGGING),
        }
    }
}

/// Close code 1012 (service restart).
pub const CLOSE_SERVICE_RESTART: u16 = 1012;
/// Close code 1013 (try again later).
const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
/// Close reason for 1013.
pub const LAGGING: &str = "too far behind: reconnect and refetch";
/// Close reason for 1012.
const RESTARTED: &str = "broadcasts were interrupted: reconnect and refetch";
/// Close code 4003 (the account may not connect).
const CLOSE_FORBIDDEN: u16 = 4003;
/// Close reason for 4003, as at connect.
const INACTIVE: &str = "user_inactive";

/// Most uploads written to the sockets in one pass of the fan-out loop.
const MAX_UPLOADS_PER_PASS: usize = 64;

/// Why a subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// The socket follows the maximum number of quizzes already.
    #[error("subscription limit reached: a socket may follow at most {0} quizzes")]
    TooMany(usize),
    /// The socket is no longer in the hub (it is being closed).
    #[error("this connection is closing")]
    Gone,
}

struct Conn {
    outlet: Arc<Outlet>,
    kicked: Arc<Notify>,
    kick_code: Arc<AtomicU16>,
    quizzes: HashSet<QuizId>,
    /// The account it was opened with.
    user: i64,
}

/// Every socket's id and outlet, in one array the fan-out loop walks.
type Roster = Arc<[(ConnId, Arc<Outlet>)]>;

#[derive(Default)]
struct Inner {
    next_id: ConnId,
    conns: HashMap<ConnId, Conn>,
    groups: HashMap<QuizId, HashSet<ConnId>>,
    /// Each account's sockets.
    users: HashMap<i64, HashSet<ConnId>>,
    /// `conns` as a [`Roster`], rebuilt only after sockets come or go: a
    /// pass shares it (one reference count) instead of touching each
    /// socket's `Arc` twice.
    roster: Option<Roster>,
}

impl Inner {
    fn roster(&mut self) -> Roster {
        let conns = &self.conns;
        Arc::clone(self.roster.get_or_insert_with(|| {
            let mut roster: Vec<_> = conns
                .iter()
                .map(|(id, conn)| (*id, Arc::clone(&conn.outlet)))
                .collect();
            // In the order the sockets came: their memory, ours and the
            // kernel's, was allocated in that order, so a pass walks it
            // nearly in address order.
            roster.sort_unstable_by_key(|(id, _)| *id);
            roster.into()
        }))
    }

    fn remove(&mut self, id: ConnId) -> Option<Conn> {
        let conn = self.conns.remove(&id)?;
        self.roster = None;
        if let Some(sockets) = self.users.get_mut(&conn.user) {
            sockets.remove(&id);
            if sockets.is_empty() {
                self.users.remove(&conn.user);
            }
        }
        for quiz in &conn.quizzes {
            if let Some(group) = self.groups.get_mut(quiz) {
                group.remove(&id);
                if group.is_empty() {
                    self.groups.remove(quiz);
                }
            }
        }
        Some(conn)
    }
}

/// The fan-out loop's reusable buffers (one loop runs at a time).
#[derive(Default)]
struct FanOut {
    /// For each thread of a pass, one socket's bytes for its uploads.
    scratches: Vec<Vec<u8>>,
    /// For each socket of the roster, a bit per upload it follows.
    follows: Vec<u64>,
}

/// One thread's share of a pass: a run of the roster.
struct Piece<'a> {
    conns: &'a [(ConnId, Arc<Outlet>)],
    /// `follows` bits of those sockets.
    follows: &'a [u64],
    scratch: &'a mut Vec<u8>,
}

/// What one thread's share of a pass came to.
#[derive(Default)]
struct Written {
    /// Messages handed to the kernel or queued.
    sent: u64,
    /// Sockets refused as too far behind.
    full: Vec<ConnId>,
}

impl Written {
    fn add(&mut self, other: Self) {
        self.sent += other.sent;
        self.full.extend(other.full);
    }
}

/// Sockets per fan-out thread below which a pass does not split: a thread
/// costs tens of microseconds to start, a socket's write a few.
const MIN_PART: usize = 2048;

/// The hub. Cheap to share behind an `Arc`.
pub struct Hub {
    inner: Mutex<Inner>,
    /// Uploads waiting for the fan-out loop.
    waiting: Mutex<Vec<Delivery>>,
    /// Held by the one thread running the fan-out loop.
    fanout: Mutex<FanOut>,
    metrics: Arc<Metrics>,
    queue_capacity: usize,
    max_subscriptions: usize,
    /// Threads a pass may use: the machine's cores.
    fanout_threads: usize,
    /// Sockets per thread below which a pass does not split.
    min_part: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves plain maps behind: keep going.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// A hub whose sockets may have `queue_capacity` broadcasts waiting
    /// (beyond what the kernel took) and may follow `max_subscriptions`
    /// quizzes each.
    pub fn new(metrics: Arc<Metrics>, queue_capacity: usize, max_subscriptions: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            waiting: Mutex::new(Vec::new()),
            fanout: Mutex::new(FanOut::default()),
            metrics,
            queue_capacity: queue_capacity.max(1),
            max_subscriptions,
            fanout_threads: std::thread::available_parallelism().map_or(1, usize::from),
            min_part: MIN_PART,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Adds a socket of account `user`, written through `outlet`; it
    /// receives every broadcast from now on.
    pub fn register(&self, outlet: Arc<Outlet>, user: i64) -> Registration {
        let kicked = Arc::new(Notify::new());
        let kick_code = Arc::new(AtomicU16::new(CLOSE_TRY_AGAIN_LATER));
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.roster = None;
        inner.conns.insert(
            id,
            Conn {
                outlet,
                kicked: Arc::clone(&kicked),
                kick_code: Arc::clone(&kick_code),
                quizzes: HashSet::new(),
                user,
            },
        );
        inner.users.entry(user).or_default().insert(id);
        Registration {
            id,
            kicked,
            kick_code,
        }
    }

    /// Removes a socket and its subscriptions.
    pub fn unregister(&self, id: ConnId) {
        self.lock().remove(id);
    }

    /// Adds the socket to a quiz's group. Idempotent; refused past the limit.
    pub fn subscribe(&self, id: ConnId, quiz: &QuizId) -> Result<(), SubscribeError> {
        let mut inner = self.lock();
        let conn = inner.conns.get_mut(&id).ok_or(SubscribeError::Gone)?;
        if conn.quizzes.contains(quiz) {
            return Ok(());
        }
        if conn.quizzes.len() >= self.max_subscriptions {
            return Err(SubscribeError::TooMany(self.max_subscriptions));
        }
        conn.quizzes.insert(quiz.clone());
        inner.groups.entry(quiz.clone()).or_default().insert(id);
        Ok(())
    }

    /// Removes the socket from a quiz's group; false if it was not in it.
    pub fn unsubscribe(&self, id: ConnId, quiz: &QuizId) -> bool {
        let mut inner = self.lock();
        let Some(conn) = inner.conns.get_mut(&id) else {
            return false;
        };
        if !conn.quizzes.remove(quiz) {
            return false;
        }
        if let Some(group) = inner.groups.get_mut(quiz) {
            group.remove(&id);
            if group.is_empty() {
                inner.groups.remove(quiz);
            }
        }
        true
    }

    /// Writes one upload's broadcast to the local sockets: the one way
    /// broadcasts enter the hub (see [`Delivery`]). If no thread runs the
    /// fan-out loop, this one does (until nothing waits) and returns once
    /// its upload was written or queued for every socket; otherwise the
    /// upload waits for the running loop's next pass, where it goes out
    /// together with every other upload that arrived meanwhile (one write
    /// per socket for all of them), and this returns at once.
    pub fn deliver(&self, delivery: &Delivery) {
        lock(&self.waiting).push(delivery.clone());
        loop {
            let mut fanout = match self.fanout.try_lock() {
                Ok(fanout) => fanout,
                Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                // The running loop takes ours (it looks again after letting go).
                Err(std::sync::TryLockError::WouldBlock) => return,
            };
            loop {
                let mut batch = std::mem::take(&mut *lock(&self.waiting));
                if batch.is_empty() {
                    break;
                }
                while !batch.is_empty() {
                    let rest = batch.split_off(batch.len().min(MAX_UPLOADS_PER_PASS));
                    self.fan_out(&mut fanout, &batch);
                    batch = rest;
                }
            }
            drop(fanout);
            // An upload queued after our last look whose thread found the
            // loop still held: run again for it.
            if lock(&self.waiting).is_empty() {
                return;
            }
        }
    }

    /// Drops every socket and tells each to close with 1012 (service
    /// restart), so clients reconnect and refetch: used when broadcasts may
    /// have been lost (the broker connection dropped). Returns how many.
    pub fn restart_all(&self) -> usize {
        let mut inner = self.lock();
        let conns: Vec<Conn> = inner.conns.drain().map(|(_, conn)| conn).collect();
        inner.groups.clear();
        inner.users.clear();
        inner.roster = None;
        drop(inner);
        for conn in &conns {
            conn.kick_code
                .store(CLOSE_SERVICE_RESTART, Ordering::Relaxed);
            conn.kicked.notify_one();
        }
        conns.len()
    }

    /// Drops every socket of account `user` and tells each to close with
    /// 4003 (the account was disabled). Returns how many.
    pub fn kick_user(&self, user: i64) -> usize {
        let mut inner = self.lock();
        let ids: Vec<ConnId> = inner
            .users
            .get(&user)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default();
        let conns: Vec<Conn> = ids.into_iter().filter_map(|id| inner.remove(id)).collect();
        drop(inner);
        for conn in &conns {
            conn.kick_code.store(CLOSE_FORBIDDEN, Ordering::Relaxed);
            conn.kicked.notify_one();
        }
        conns.len()
    }

    /// The accounts with a socket open now.
    pub fn users(&self) -> Vec<i64> {
        self.lock().users.keys().copied().collect()
    }

    /// Queues `everyone` (in order) for every socket, followed by `followers`
    /// for the sockets in `quiz`'s group. Sockets with too many broadcasts
    /// waiting are dropped and told to close with 1013.
    pub fn broadcast(&self, everyone: &[SharedFrame], quiz: &QuizId, followers: &SharedFrame) {
        self.deliver(&Delivery {
            everyone: everyone.to_vec(),
            quiz: quiz.clone(),
            followers: followers.clone(),
        });
    }

    /// One pass of the fan-out loop: every socket gets `uploads` (at most
    /// 64) in order, in one write.
    fn fan_out(&self, fanout: &mut FanOut, uploads: &[Delivery]) {
        let started = Instant::now();
        let FanOut { scratches, follows } = fanout;
        let roster = {
            let mut inner = self.lock();
            let roster = inner.roster();
            let groups: Vec<Option<&HashSet<ConnId>>> =
                uploads.iter().map(|d| inner.groups.get(&d.quiz)).collect();
            follows.clear();
            follows.extend(roster.iter().map(|(id, _)| {
                groups.iter().enumerate().fold(0u64, |bits, (bit, group)| {
                    if group.is_some_and(|g| g.contains(id)) {
                        bits | 1 << bit
                    } else {
                        bits
                    }
                })
            }));
            roster
        };
        let everyone: u64 = uploads.iter().map(|d| d.everyone.len() as u64).sum();
        let parts = (roster.len() / self.min_part).clamp(1, self.fanout_threads);
        let chunk = roster.len().div_ceil(parts).max(1);
        if scratches.len() < parts {
            scratches.resize_with(parts, Vec::new);
        }
        let pieces = roster
            .chunks(chunk)
            .zip(follows.chunks(chunk))
            .zip(scratches.iter_mut());
        let Written { sent, full } = std::thread::scope(|scope| {
            let mut pieces = pieces.map(|((conns, follows), scratch)| Piece {
                conns,
                follows,
                scratch,
            });
            let first = pieces.next();
            let others: Vec<_> = pieces
                .map(|piece| scope.spawn(|| self.write(piece, uploads, everyone)))
                .collect();
            let mut written = first.map_or_else(Written::default, |piece| {
                self.write(piece, uploads, everyone)
            });
            for other in others {
                match other.join() {
                    Ok(part) => written.add(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            written
        });
        drop(roster);
        for scratch in scratches.iter_mut() {
            if scratch.capacity() > 1 << 20 {
                *scratch = Vec::new();
            }
        }
        if !full.is_empty() {
            let mut inner = self.lock();
            for id in full {
                if let Some(conn) = inner.remove(id) {
                    conn.kicked.notify_one();
                    Metrics::inc(&self.metrics.lagged_closed);
                    tracing::warn!(conn = id, "socket fell too far behind; closing with 1013");
                }
            }
        }
        self.metrics.messages_sent.inc_by(sent);
        self.metrics.broadcasts.inc_by(uploads.len() as u64);
        self.metrics.broadcast_fanout.observe(started.elapsed());
        if let Some(first) = uploads.first().and_then(|d| d.everyone.first()) {
            self.metrics.broadcast_delivery.observe(first.age());
        }
    }

    /// Writes `uploads` to one piece of the roster; what became of them.
    fn write(&self, piece: Piece<'_>, uploads: &[Delivery], everyone: u64) -> Written {
        let mut written = Written::default();
        for ((id, outlet), &follows) in piece.conns.iter().zip(piece.follows) {
            let frames = uploads.iter().enumerate().flat_map(|(bit, d)| {
                let follower = (follows >> bit) & 1 == 1;
                d.everyone.iter().chain(follower.then_some(&d.followers))
            });
            match outlet.push_broadcast(frames, uploads.len(), piece.scratch, self.queue_capacity) {
                Push::Sent | Push::Queued => {
                    written.sent += everyone + u64::from(follows.count_ones());
                }
                Push::Full => written.full.push(*id),
                Push::Closed => {}
            }
        }
        written
    }

    /// Sockets in the hub now.
    pub fn len(&self) -> usize {
        self.lock().conns.len()
    }

    /// True when no socket is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sockets following `quiz` now.
    pub fn followers(&self, quiz: &QuizId) -> usize {
        self.lock().groups.get(quiz).map_or(0, HashSet::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outlet::tests::{pair, read_texts};
    use quizpulse::wire::Entry;

    fn frame(message: ServerMessage) -> SharedFrame {
        SharedFrame::new(message, "2026-11-26T06:00:00.000000Z", Instant::now())
    }

    fn updated(subject: &str) -> ServerMessage {
        ServerMessage::LeaderboardUpdated {
            subject_id: Some(subject.into()),
            entries: Some(vec![Entry {
                rank: 1,
                user_id: "1".into(),
                username: "alice".into(),
                score: 9.5,
                sessions: 2,
            }]),
        }
    }

    #[test]
    fn numbered_frames_equal_a_full_encode() {
        let message = updated("maths");
        let shared = frame(message.clone());
        for seq in [0, 7, u64::MAX] {
            let full = ServerFrame {
                message: message.clone(),
                seq: Some(seq),
                sent_at: Some("2026-11-26T06:00:00.000000Z".to_owned()),
            }
            .encode();
            assert_eq!(shared.numbered(seq), full);
        }
    }

    #[test]
    fn encoded_frames_round_trip_and_bad_offsets_are_refused() {
        let shared = frame(updated("maths"));
        let (text, seq_at) = shared.encoded();
        let back = SharedFrame::from_encoded(text.to_owned(), seq_at, Instant::now()).unwrap();
        assert_eq!(back.numbered(3), shared.numbered(3));
        assert!(SharedFrame::from_encoded(text.to_owned(), seq_at + 1, Instant::now()).is_none());
        assert!(
            SharedFrame::from_encoded(text.to_owned(), text.len() + 5, Instant::now()).is_none()
        );
    }

    /// A registered socket over loopback and the client end that reads it.
    async fn socket(hub: &Hub) -> (Registration, Arc<Outlet>, tokio::net::TcpStream) {
        let (server, client) = pair().await;
        let outlet = Arc::new(Outlet::new(server));
        (hub.register(Arc::clone(&outlet), 1), outlet, client)
    }

    #[tokio::test]
    async fn restart_all_kicks_every_socket_with_1012() {
        let hub = Hub::new(Arc::new(Metrics::default()), 8, 2);
        let (a, _outlet, _client) = socket(&hub).await;
        hub.subscribe(a.id, &"qa".into()).unwrap();
        assert_eq!(a.kick_code().0, 1013);
        assert_eq!(hub.restart_all(), 1);
        assert!(hub.is_empty());
        assert_eq!(hub.followers(&"qa".into()), 0);
        assert_eq!(a.kick_code().0, CLOSE_SERVICE_RESTART);
    }

    #[tokio::test]
    async fn kick_user_closes_that_accounts_sockets_with_4003_only() {
        let hub = Hub::new(Arc::new(Metrics::default()), 8, 2);
        let (a, _oa, _ca) = socket(&hub).await;
        let (b, _ob, _cb) = socket(&hub).await;
        let (server, _cc) = pair().await;
        let other = hub.register(Arc::new(Outlet::new(server)), 2);
        hub.subscribe(a.id, &"qa".into()).unwrap();
        let mut users = hub.users();
        users.sort_unstable();
        assert_eq!(users, [1, 2]);
        assert_eq!(hub.kick_user(1), 2);
        assert_eq!(a.kick_code(), (4003, "user_inactive"));
        assert_eq!(b.kick_code().0, 4003);
        assert_eq!(other.kick_code().0, 1013);
        assert_eq!(hub.len(), 1);
        assert_eq!(hub.followers(&"qa".into()), 0);
        assert_eq!(hub.users(), [2]);
        assert_eq!(hub.kick_user(1), 0);
    }

    #[tokio::test]
    async fn groups_receive_only_their_quiz() {
        let hub = Hub::new(Arc::new(Metrics::default()), 8, 2);
        let (a, _oa, mut ca) = socket(&hub).await;
        let (b, _ob, mut cb) = socket(&hub).await;
        hub.subscribe(a.id, &"qa".into()).unwrap();
        hub.subscribe(b.id, &"qb".into()).unwrap();
        let everyone = [frame(updated("s"))];
        let follow = frame(ServerMessage::QuizLeaderboardUpdated {
            quiz_id: "qa".into(),
            entries: None,
        });
        hub.deliver(&Delivery {
            everyone: everyone.to_vec(),
            quiz: "qa".into(),
            followers: follow.clone(),
        });
        // A marker upload for a quiz nobody follows: b's next frame must be
        // its own `leaderboard_updated`, not a `quiz_leaderboard_updated`.
        hub.deliver(&Delivery {
            everyone: everyone.to_vec(),
            quiz: "none".into(),
            followers: follow.clone(),
        });
        let to_a = read_texts(&mut ca, 3).await;
        assert_eq!(to_a[0], everyone[0].numbered(1));
        assert_eq!(to_a[1], follow.numbered(2));
        assert_eq!(to_a[2], everyone[0].numbered(3));
        let to_b = read_texts(&mut cb, 2).await;
        assert_eq!(to_b[0], everyone[0].numbered(1));
        assert_eq!(to_b[1], everyone[0].numbered(2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pass_split_over_threads_keeps_each_sockets_order() {
        let metrics = Arc::new(Metrics::default());
        let mut hub = Hub::new(Arc::clone(&metrics), 8, 2);
        // Seven sockets, at least two a piece: three threads (3, 3 and 1 sockets).
        hub.fanout_threads = 4;
        hub.min_part = 2;
        let mut sockets = Vec::new();
        for i in 0..7 {
            let (registration, outlet, client) = socket(&hub).await;
            if i % 2 == 0 {
                hub.subscribe(registration.id, &"q".into()).unwrap();
            }
            sockets.push((i % 2 == 0, registration, outlet, client));
        }
        let everyone = [frame(updated("s"))];
        let follow = frame(ServerMessage::QuizLeaderboardUpdated {
            quiz_id: "q".into(),
            entries: None,
        });
        for _ in 0..3 {
            hub.broadcast(&everyone, &"q".into(), &follow);
        }
        for (follows, _registration, _outlet, client) in &mut sockets {
            let per_upload = if *follows { 2 } else { 1 };
            let texts = read_texts(client, 3 * per_upload).await;
            let mut seq = 0;
            for upload in texts.chunks(per_upload) {
                seq += 1;
                assert_eq!(upload[0], everyone[0].numbered(seq));
                if *follows {
                    seq += 1;
                    assert_eq!(upload[1], follow.numbered(seq));
                }
            }
        }
        // 7 sockets x 3 uploads, plus the 4 followers' 3 quiz boards.
        assert_eq!(metrics.messages_sent.get(), 7 * 3 + 4 * 3);
    }

    #[tokio::test]
    async fn subscription_limit_and_unsubscribe() {
        let hub = Hub::new(Arc::new(Metrics::default()), 8, 2);
        let (a, _outlet, _client) = socket(&hub).await;
        hub.subscribe(a.id, &"1".into()).unwrap();
        hub.subscribe(a.id, &"2".into()).unwrap();
        hub.subscribe(a.id, &"2".into()).unwrap();
        assert_eq!(
            hub.subscribe(a.id, &"3".into()),
            Err(SubscribeError::TooMany(2))
        );
        assert!(hub.unsubscribe(a.id, &"2".into()));
        assert!(!hub.unsubscribe(a.id, &"2".into()));
        assert_eq!(hub.followers(&"2".into()), 0);
        hub.subscribe(a.id, &"3".into()).unwrap();
        hub.unregister(a.id);
        assert_eq!(hub.followers(&"1".into()), 0);
        assert!(hub.is_empty());
    }

    #[tokio::test]
    async fn too_many_waiting_gets_its_socket_kicked_and_no_one_else() {
        let metrics = Arc::new(Metrics::default());
        let hub = Hub::new(Arc::clone(&metrics), 2, 10);
        let (slow, slow_outlet, _slow_client) = socket(&hub).await;
        let (_fast, _fast_outlet, mut fast_client) = socket(&hub).await;
        // The slow socket's kernel buffer is full (its client never reads).
        let mut scratch = Vec::new();
        let stuck = [frame(ServerMessage::Error {
            message: "x".repeat(8 << 20),
        })];
        slow_outlet.push_broadcast(stuck.iter(), 0, &mut scratch, 2);
        let follow = frame(ServerMessage::QuizLeaderboardUpdated {
            quiz_id: "q".into(),
            entries: None,
        });
        let small = frame(updated("s"));
        for _ in 0..3 {
            hub.broadcast(std::slice::from_ref(&small), &"q".into(), &follow);
        }
        assert_eq!(hub.len(), 1);
        assert_eq!(metrics.lagged_closed.get(), 1);
        assert_eq!(slow.kick_code().0, 1013);
        let texts = read_texts(&mut fast_client, 3).await;
        assert_eq!(texts[2], small.numbered(3));
    }

    #[test]
    fn wire_frames_carry_the_numbered_text() {
        let shared = frame(updated("maths"));
        for seq in [0, 9, 10, 12345, u64::MAX] {
            let mut out = Vec::new();
            shared.write_ws_frame(seq, &mut out);
            let text = shared.numbered(seq);
            assert_eq!(out[0], 0x81);
            assert_eq!(&out[out.len() - text.len()..], text.as_bytes());
        }
    }
}
