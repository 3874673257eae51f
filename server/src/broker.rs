//! The Redis broker (`--broker redis://…`): broadcasts shared by every server
//! process, the role `channels_redis` plays for Django Channels.
//!
//! Each upload is published once, as one message carrying its three frames
//! already serialised (so an upload stays whole and no instance serialises it
//! again), on one channel. Every instance, the publishing one included,
//! receives it from its subscription and hands it to its hub
//! ([`crate::hub::Hub::deliver`]). One channel gives one order: Redis relays
//! messages in the order it executed the `PUBLISH`es, and an upload publishes
//! before its subject's lock is released (`crate::order`), so every socket on
//! every instance sees a subject's uploads in the order they were stored.
//!
//! No upload answered 201 silently reaches nobody (issue 18):
//!
//! - A `PUBLISH` that fails (the publishing connection was cut: a Redis
//!   `timeout`, `CLIENT KILL`, a proxy's idle cut) is retried on a new
//!   connection until it is confirmed or [`PUBLISH_LIMIT`] has passed. Every
//!   message carries an id and each instance delivers an id once, so a retry
//!   of a message that did go out is not delivered twice.
//! - A publish still unconfirmed then (Redis down, or paused by a failover
//!   and so perhaps delivered later) is delivered to this instance's sockets
//!   directly, and every other instance is told to resync: a resync notice is
//!   published, retried until Redis takes it, and each other instance closes
//!   its sockets with 1012 on it (clients reconnect and refetch, and see the
//!   upload, which is stored).
//! - When the subscription drops, the instance resubscribes with a growing
//!   delay (up to 2 s) and, once resubscribed, closes every local socket with
//!   1012: messages published meanwhile never reached it.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use quizpulse::wire::QuizId;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::db;
use crate::hub::{Delivery, Hub, SharedFrame};
use crate::metrics::Metrics;

/// The channel every instance publishes and subscribes to.
pub const CHANNEL: &str = "quizpulse:broadcasts";

/// Longest wait between two resubscription (or resync notice) attempts.
const MAX_RETRY: Duration = Duration::from_secs(2);

/// How long an upload's publish is tried (it holds its subject's turn
/// meanwhile) before it is delivered locally and the others told to resync.
pub const PUBLISH_LIMIT: Duration = Duration::from_secs(1);

/// Message ids each instance remembers, to deliver each message once.
const SEEN: usize = 4096;

/// Broker errors.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Talking to Redis failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A message on the channel is not an upload's broadcast.
    #[error("malformed broker message: {0}")]
    Malformed(String),
    /// Redis did not answer in time.
    #[error("no answer from Redis within {0:?}")]
    Timeout(Duration),
}

/// One encoded frame on the wire: the shared text and where `seq` goes.
#[derive(Serialize, Deserialize)]
struct WireFrame {
    text: String,
    seq_at: usize,
}

/// One upload's broadcast on the wire.
#[derive(Serialize, Deserialize)]
struct WireDelivery {
    /// Random, per message: a retried publish is delivered once.
    #[serde(default)]
    id: u64,
    quiz: String,
    everyone: Vec<WireFrame>,
    followers: WireFrame,
    /// When the session was stored, microseconds since the epoch.
    stored_at_us: i64,
}

fn wire_frame(frame: &SharedFrame) -> WireFrame {
    let (text, seq_at) = frame.encoded();
    WireFrame {
        text: text.to_owned(),
        seq_at,
    }
}

/// A resync notice on the wire: the instance that could not confirm a
/// publish; every other instance closes its sockets with 1012.
#[derive(Serialize, Deserialize)]
struct WireResync {
    resync: u64,
}

/// A message on the channel.
#[derive(Debug)]
pub enum Message {
    /// An upload's broadcast, with its message id.
    Delivery(u64, Delivery),
    /// Instance `.0` could not confirm a publish: resync.
    Resync(u64),
}

/// Encodes a delivery as the broker's message (JSON), with message id `id`.
pub fn encode(delivery: &Delivery, id: u64, stored_at_us: i64) -> Vec<u8> {
    let wire = WireDelivery {
        id,
        quiz: delivery.quiz.as_str().to_owned(),
        everyone: delivery.everyone.iter().map(wire_frame).collect(),
        followers: wire_frame(&delivery.followers),
        stored_at_us,
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// Encodes a resync notice from instance `instance`.
pub fn encode_resync(instance: u64) -> Vec<u8> {
    serde_json::to_vec(&WireResync { resync: instance }).unwrap_or_default()
}

/// Decodes a broker message; `now_us` (the local clock) turns a delivery's
/// storage time into a local instant for the latency histogram.
pub fn decode(payload: &[u8], now_us: i64) -> Result<Message, BrokerError> {
    if payload.starts_with(b"{\"resync\"") {
        let WireResync { resync } =
            serde_json::from_slice(payload).map_err(|e| BrokerError::Malformed(e.to_string()))?;
        return Ok(Message::Resync(resync));
    }
    let wire: WireDelivery =
        serde_json::from_slice(payload).map_err(|e| BrokerError::Malformed(e.to_string()))?;
    let id = wire.id;
    let age = Duration::from_micros(u64::try_from(now_us - wire.stored_at_us).unwrap_or(0));
    let stored_at = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
    let frame = |f: WireFrame| {
        SharedFrame::from_encoded(f.text, f.seq_at, stored_at)
            .ok_or_else(|| BrokerError::Malformed("a frame's seq offset is wrong".to_owned()))
    };
    let delivery = Delivery {
        everyone: wire
            .everyone
            .into_iter()
            .map(frame)
            .collect::<Result<_, _>>()?,
        followers: frame(wire.followers)?,
        quiz: QuizId(wire.quiz),
    };
    Ok(Message::Delivery(id, delivery))
}

/// The ids of the last [`SEEN`] messages delivered here.
#[derive(Default)]
struct Seen {
    order: VecDeque<u64>,
    ids: HashSet<u64>,
}

impl Seen {
    /// Records `id`; false if it was delivered already.
    fn first(&mut self, id: u64) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

/// Tasks aborted when this is dropped.
struct AbortOnDrop<const N: usize>([JoinHandle<()>; N]);

impl<const N: usize> Drop for AbortOnDrop<N> {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// What the publisher and the subscriber of one instance share.
struct Shared {
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    /// This instance's id in resync notices.
    instance: u64,
    seen: Mutex<Seen>,
    /// A resync notice waits to be published.
    resync_pending: AtomicBool,
    resync_wake: Notify,
}

impl Shared {
    /// Delivers `delivery` to the local hub unless message `id` was already.
    fn deliver_once(&self, id: u64, delivery: &Delivery) {
        let first = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first(id);
        if first {
            self.hub.deliver(delivery);
        }
    }
}

/// A connection to the broker: publishes uploads; its subscriber task
/// delivers everyone's uploads to the local hub.
#[derive(Clone)]
pub struct Broker {
    publisher: ConnectionManager,
    shared: Arc<Shared>,
}

impl Broker {
    /// Connects to `url`, subscribes, and spawns the task that delivers
    /// what arrives to `hub` until `shutdown` (and the one that publishes
    /// resync notices). Fails if Redis does not answer.
    pub async fn start(
        url: &str,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(Self, JoinHandle<()>), BrokerError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(PUBLISH_LIMIT))
            .set_response_timeout(Some(PUBLISH_LIMIT))
            .set_number_of_retries(1);
        let publisher = ConnectionManager::new_with_config(client.clone(), config).await?;
        let subscription = subscribe(&client).await?;
        tracing::info!(channel = CHANNEL, "subscribed to the broker");
        let shared = Arc::new(Shared {
            hub,
            metrics,
            instance: fastrand::u64(..),
            seen: Mutex::new(Seen::default()),
            resync_pending: AtomicBool::new(false),
            resync_wake: Notify::new(),
        });
        let broker = Self { publisher, shared };
        let resyncs = tokio::spawn(broker.clone().publish_resyncs(shutdown.clone()));
        let listener = tokio::spawn(listen(
            client,
            subscription,
            Arc::clone(&broker.shared),
            shutdown,
        ));
        // One handle for both: aborting it (or its end) aborts both.
        let task = tokio::spawn(async move {
            let mut tasks = AbortOnDrop([listener, resyncs]);
            let _ = (&mut tasks.0[0]).await;
        });
        Ok((broker, task))
    }

    /// Publishes one upload's broadcast, retrying on a new connection for
    /// up to [`PUBLISH_LIMIT`]. If Redis has not confirmed it by then, the
    /// upload is delivered to this instance's sockets directly, counted, and
    /// every other instance is told to resync (see the module docs).
    pub async fn publish(&self, delivery: &Delivery, stored_at_us: i64) {
        let id = fastrand::u64(..);
        let payload = encode(delivery, id, stored_at_us);
        if let Err(e) = self.publish_payload(&payload).await {
            Metrics::inc(&self.shared.metrics.broker_publish_failed);
            tracing::error!(
                error = %e,
                quiz = %delivery.quiz,
                "broker publish not confirmed: delivered here, other instances told to resync"
            );
            self.shared.deliver_once(id, delivery);
            self.shared.resync_pending.store(true, Ordering::Release);
            self.shared.resync_wake.notify_one();
        }
    }

    /// `PUBLISH`es `payload`, again after a failure (the connection manager
    /// reconnects meanwhile), until Redis confirms it or the limit passes.
    async fn publish_payload(&self, payload: &[u8]) -> Result<(), BrokerError> {
        let deadline = tokio::time::Instant::now() + PUBLISH_LIMIT;
        let mut conn = self.publisher.clone();
        loop {
            let sent: Result<Result<i64, redis::RedisError>, _> = tokio::time::timeout_at(
                deadline,
                redis::cmd("PUBLISH")
                    .arg(CHANNEL)
                    .arg(payload)
                    .query_async(&mut conn),
            )
            .await;
            match sent {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e))
                    if tokio::time::Instant::now() + Duration::from_millis(20) < deadline =>
                {
                    tracing::warn!(error = %e, "broker publish failed; retrying");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => return Err(BrokerError::Timeout(PUBLISH_LIMIT)),
            }
        }
    }

    /// Publishes a resync notice whenever one is pending, until Redis takes
    /// it (retried with a growing delay, up to 2 s).
    async fn publish_resyncs(self, mut shutdown: watch::Receiver<bool>) {
        let mut retry = Duration::from_millis(100);
        loop {
            if !self.shared.resync_pending.load(Ordering::Acquire) {
                tokio::select! {
                    _ = shutdown.wait_for(|&stop| stop) => return,
                    () = self.shared.resync_wake.notified() => {}
                }
                continue;
            }
            // Cleared before publishing: a failure meanwhile sets it again.
            self.shared.resync_pending.store(false, Ordering::Release);
            match self
                .publish_payload(&encode_resync(self.shared.instance))
                .await
            {
                Ok(()) => {
                    Metrics::inc(&self.shared.metrics.broker_resyncs);
                    tracing::warn!(
                        "told the other instances to resync (their sockets close with 1012)"
                    );
                    retry = Duration::from_millis(100);
                }
                Err(e) => {
                    self.shared.resync_pending.store(true, Ordering::Release);
                    tracing::warn!(error = %e, retry_in = ?retry, "resync notice not published yet");
                    tokio::select! {
                        _ = shutdown.wait_for(|&stop| stop) => return,
                        () = tokio::time::sleep(retry) => {}
                    }
                    retry = (retry * 2).min(MAX_RETRY);
                }
            }
        }
    }
}

async fn subscribe(client: &redis::Client) -> Result<PubSub, BrokerError> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    Ok(pubsub)
}

/// Delivers every message to the hub (each message id once), closes the
/// local sockets with 1012 on another instance's resync notice, and
/// resubscribes when the connection drops.
async fn listen(
    client: redis::Client,
    first: PubSub,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let hub = &shared.hub;
    let mut subscription = Some(first);
    let mut retry = Duration::from_millis(100);
    loop {
        let pubsub = match subscription.take() {
            Some(pubsub) => pubsub,
            None => {
                tokio::select! {
                    _ = shutdown.wait_for(|&stop| stop) => return,
                    () = tokio::time::sleep(retry) => {}
                }
                match subscribe(&client).await {
                    Ok(pubsub) => {
                        let closed = hub.restart_all();
                        tracing::warn!(
                            closed,
                            "resubscribed to the broker; closed local sockets with 1012 so clients refetch"
                        );
                        retry = Duration::from_millis(100);
                        pubsub
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in = ?retry, "broker still unreachable");
                        retry = (retry * 2).min(MAX_RETRY);
                        continue;
                    }
                }
            }
        };
        let mut messages = pubsub.into_on_message();
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|&stop| stop) => return,
                message = messages.next() => match message {
                    Some(message) => match decode(message.get_payload_bytes(), db::now_micros()) {
                        Ok(Message::Delivery(id, delivery)) => shared.deliver_once(id, &delivery),
                        Ok(Message::Resync(from)) if from != shared.instance => {
                            Metrics::inc(&shared.metrics.broker_resyncs);
                            let closed = hub.restart_all();
                            tracing::warn!(
                                closed,
                                "another instance could not confirm a broadcast; closed local sockets with 1012 so clients refetch"
                            );
                        }
                        Ok(Message::Resync(_)) => {}
                        Err(e) => tracing::warn!(error = %e, "ignored a broker message"),
                    },
                    None => break,
                },
            }
        }
        tracing::warn!("lost the broker subscription; resubscribing");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quizpulse::wire::ServerMessage;

    #[test]
    fn deliveries_round_trip_byte_for_byte() {
        let at = "2026-11-26T06:00:00.000000Z";
        let frame = |quiz: &str| {
            SharedFrame::new(
                ServerMessage::QuizLeaderboardUpdated {
                    quiz_id: quiz.into(),
                    entries: None,
                },
                at,
                Instant::now(),
            )
        };
        let delivery = Delivery {
            everyone: vec![frame("a"), frame("b")],
            quiz: "q\"1".into(),
            followers: frame("c"),
        };
        let Message::Delivery(id, back) = decode(&encode(&delivery, 77, 10), 20).unwrap() else {
            panic!("not a delivery");
        };
        assert_eq!(id, 77);
        assert_eq!(back.quiz, delivery.quiz);
        assert_eq!(back.everyone.len(), 2);
        for (a, b) in back.everyone.iter().zip(&delivery.everyone) {
            assert_eq!(a.numbered(5), b.numbered(5));
        }
        assert_eq!(back.followers.numbered(9), delivery.followers.numbered(9));
    }

    #[test]
    fn resync_notices_round_trip_and_ids_are_delivered_once() {
        assert!(matches!(
            decode(&encode_resync(42), 0).unwrap(),
            Message::Resync(42)
        ));
        let mut seen = Seen::default();
        assert!(seen.first(1));
        assert!(!seen.first(1));
        for id in 2..=SEEN as u64 + 1 {
            assert!(seen.first(id));
        }
        // The oldest is forgotten once SEEN newer ones came.
        assert!(seen.first(1));
        assert_eq!(seen.ids.len(), SEEN);
    }

    #[test]
    fn malformed_messages_are_refused() {
        assert!(decode(b"not json", 0).is_err());
        let bad =
            br#"{"quiz":"q","everyone":[],"followers":{"text":"{}","seq_at":1},"stored_at_us":0}"#;
        assert!(matches!(decode(bad, 0), Err(BrokerError::Malformed(_))));
    }
}
