//! The broadcast hub: every open socket's queue, and the per-quiz groups.
//!
//! Fan-out cost. A broadcast is serialised once into [`SharedFrame`]s (the
//! contract's text with `sent_at`, without `seq`) behind an `Arc`. One upload
//! becomes two [`Batch`]es, its frames in order: one for the sockets that follow
//! the quiz, one for the others. The fan-out loop queues one `Batch` (a
//! reference-count bump) per socket under one lock, so each socket's task is
//! woken once per upload and writes the upload's messages with one flush. Each
//! task splices its own `seq` in ([`SharedFrame::numbered`]): one copy of the
//! shared bytes plus a few digits, done in parallel on the recipients' tasks,
//! never a second serialisation.
//!
//! Slow readers. Each socket has a bounded queue of batches. When a broadcast
//! finds a queue full, that socket is dropped from the hub at once (it
//! receives nothing more) and its task is told to close with 1013; everyone
//! else is unaffected. The client reconnects and refetches, as the contract's
//! at-most-once delivery requires of it anyway.
//!
//! Ordering. One upload's messages travel as one batch, queued for every
//! socket under one lock hold, so every socket sees `quiz_session_uploaded`,
//! `leaderboard_updated`, then (if it follows the quiz)
//! `quiz_leaderboard_updated`, with no other upload's messages in between.
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
use tokio::sync::{Notify, mpsc};

use crate::metrics::Metrics;

/// A connection's id in the hub.
pub type ConnId = u64;

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
        out.push_str(", \"seq\": ");
        out.push_str(&digits);
        out.push_str(&inner.text[inner.seq_at..]);
        out
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

/// One broadcast's frames for one socket, in the contract's order; every
/// socket that gets the same frames shares one `Batch`.
#[derive(Clone, Debug)]
pub struct Batch(Arc<[SharedFrame]>);

impl Batch {
    /// The frames, in the order they must be sent.
    pub fn frames(&self) -> &[SharedFrame] {
        &self.0
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
    /// Its broadcast queue (one batch per broadcast).
    pub rx: mpsc::Receiver<Batch>,
    /// Signalled when the hub dropped it: close with [`Registration::kick_code`].
    pub kicked: Arc<Notify>,
    /// Why it was dropped: 1013 (lagging) unless [`Hub::restart_all`] set 1012.
    kick_code: Arc<AtomicU16>,
}

impl Registration {
    /// The close code and reason for a kick: 1013 for a full queue, 1012
    /// when the hub restarted every socket (broadcasts may have been lost).
    pub fn kick_code(&self) -> (u16, &'static str) {
        match self.kick_code.load(Ordering::Relaxed) {
            CLOSE_SERVICE_RESTART => (CLOSE_SERVICE_RESTART, RESTARTED),
            _ => (CLOSE_TRY_AGAIN_LATER, LAGGING),
        }
    }
}

/// Close code 1012 (service restart).
pub const CLOSE_SERVICE_RESTART: u16 = 1012;
/// Close code 1013 (try again later).
const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
/// Close reason for 1013.
const LAGGING: &str = "too far behind: reconnect and refetch";
/// Close reason for 1012.
const RESTARTED: &str = "broadcasts were interrupted: reconnect and refetch";

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
    tx: mpsc::Sender<Batch>,
    kicked: Arc<Notify>,
    kick_code: Arc<AtomicU16>,
    quizzes: HashSet<QuizId>,
}

#[derive(Default)]
struct Inner {
    next_id: ConnId,
    conns: HashMap<ConnId, Conn>,
    groups: HashMap<QuizId, HashSet<ConnId>>,
}

impl Inner {
    fn remove(&mut self, id: ConnId) -> Option<Conn> {
        let conn = self.conns.remove(&id)?;
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

/// The hub. Cheap to share behind an `Arc`.
pub struct Hub {
    inner: Mutex<Inner>,
    metrics: Arc<Metrics>,
    queue_capacity: usize,
    max_subscriptions: usize,
}

impl Hub {
    /// A hub whose sockets get queues of `queue_capacity` broadcasts and may
    /// follow `max_subscriptions` quizzes each.
    pub fn new(metrics: Arc<Metrics>, queue_capacity: usize, max_subscriptions: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            metrics,
            queue_capacity: queue_capacity.max(1),
            max_subscriptions,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain maps behind: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a socket; it receives every broadcast from now on.
    pub fn register(&self) -> Registration {
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let kicked = Arc::new(Notify::new());
        let kick_code = Arc::new(AtomicU16::new(CLOSE_TRY_AGAIN_LATER));
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.conns.insert(
            id,
            Conn {
                tx,
                kicked: Arc::clone(&kicked),
                kick_code: Arc::clone(&kick_code),
                quizzes: HashSet::new(),
            },
        );
        Registration {
            id,
            rx,
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

    /// Queues one upload's broadcast for the local sockets: the one way
    /// broadcasts enter the hub (see [`Delivery`]).
    pub fn deliver(&self, delivery: &Delivery) {
        self.broadcast(&delivery.everyone, &delivery.quiz, &delivery.followers);
    }

    /// Drops every socket and tells each to close with 1012 (service
    /// restart), so clients reconnect and refetch: used when broadcasts may
    /// have been lost (the broker connection dropped). Returns how many.
    pub fn restart_all(&self) -> usize {
        let mut inner = self.lock();
        let conns: Vec<Conn> = inner.conns.drain().map(|(_, conn)| conn).collect();
        inner.groups.clear();
        drop(inner);
        for conn in &conns {
            conn.kick_code
                .store(CLOSE_SERVICE_RESTART, Ordering::Relaxed);
            conn.kicked.notify_one();
        }
        conns.len()
    }

    /// Queues `everyone` (in order) for every socket, followed by `followers`
    /// for the sockets in `quiz`'s group, as one batch per socket. Sockets
    /// whose queue is full are dropped and told to close with 1013.
    pub fn broadcast(&self, everyone: &[SharedFrame], quiz: &QuizId, followers: &SharedFrame) {
        let started = Instant::now();
        let plain = Batch(everyone.into());
        let following = Batch(
            everyone
                .iter()
                .chain(std::iter::once(followers))
                .cloned()
                .collect(),
        );
        let mut inner = self.lock();
        let mut dropped: Vec<ConnId> = Vec::new();
        let group = inner.groups.get(quiz);
        for (id, conn) in &inner.conns {
            let batch = if group.is_some_and(|g| g.contains(id)) {
                &following
            } else {
                &plain
            };
            if conn.tx.try_send(batch.clone()).is_err() {
                dropped.push(*id);
            }
        }
        for id in dropped {
            if let Some(conn) = inner.remove(id) {
                conn.kicked.notify_one();
                Metrics::inc(&self.metrics.lagged_closed);
                tracing::warn!(conn = id, "socket fell too far behind; closing with 1013");
            }
        }
        drop(inner);
        Metrics::inc(&self.metrics.broadcasts);
        self.metrics.broadcast_fanout.observe(started.elapsed());
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

    #[test]
    fn restart_all_kicks_every_socket_with_1012() {
        let hub = Hub::new(Arc::new(Metrics::default()), 8, 2);
        let a = hub.register();
        hub.subscribe(a.id, &"qa".into()).unwrap();
        assert_eq!(a.kick_code().0, 1013);
        assert_eq!(hub.restart_all(), 1);
        assert!(hub.is_empty());
        assert_eq!(hub.followers(&"qa".into()), 0);
        assert_eq!(a.kick_code().0, CLOSE_SERVICE_RESTART);
    }

    #[test]
    fn groups_receive_only_their_quiz() {
        let hub = Hub::new(Arc::new(Metrics::default()), 8, 2);
        let mut a = hub.register();
        let mut b = hub.register();
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
            followers: follow,
        });
        let to_a = a.rx.try_recv().unwrap();
        assert_eq!(to_a.frames().len(), 2);
        assert!(
            to_a.frames()[1]
                .numbered(2)
                .contains("quiz_leaderboard_updated")
        );
        assert!(a.rx.try_recv().is_err());
        let to_b = b.rx.try_recv().unwrap();
        assert_eq!(to_b.frames().len(), 1);
        assert!(
            to_b.frames()[0]
                .numbered(1)
                .contains("\"leaderboard_updated\"")
        );
        assert!(b.rx.try_recv().is_err());
    }

    #[test]
    fn subscription_limit_and_unsubscribe() {
        let hub = Hub::new(Arc::new(Metrics::default()), 8, 2);
        let a = hub.register();
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

    #[test]
    fn a_full_queue_gets_its_socket_kicked_and_no_one_else() {
        let metrics = Arc::new(Metrics::default());
        let hub = Hub::new(Arc::clone(&metrics), 2, 10);
        let slow = hub.register();
        let mut fast = hub.register();
        let follow = frame(ServerMessage::QuizLeaderboardUpdated {
            quiz_id: "q".into(),
            entries: None,
        });
        for _ in 0..3 {
            hub.broadcast(&[frame(updated("s"))], &"q".into(), &follow);
            while fast.rx.try_recv().is_ok() {}
        }
        assert_eq!(hub.len(), 1);
        assert_eq!(metrics.lagged_closed.get(), 1);
        drop(slow);
    }
}
