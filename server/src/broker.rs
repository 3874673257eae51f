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
//! When the subscription drops, the instance logs it and resubscribes with a
//! growing delay (up to 2 s). Uploads stored meanwhile are not broadcast
//! (their `PUBLISH` fails), so once resubscribed it closes every local socket
//! with 1012 (service restart): clients reconnect and refetch, and nothing
//! stays stale.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use quizpulse::wire::QuizId;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db;
use crate::hub::{Delivery, Hub, SharedFrame};
use crate::metrics::Metrics;

/// The channel every instance publishes and subscribes to.
pub const CHANNEL: &str = "quizpulse:broadcasts";

/// Longest wait between two resubscription attempts.
const MAX_RETRY: Duration = Duration::from_secs(2);

/// Broker errors.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Talking to Redis failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A message on the channel is not an upload's broadcast.
    #[error("malformed broker message: {0}")]
    Malformed(String),
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

/// Encodes a delivery as the broker's message (JSON).
pub fn encode(delivery: &Delivery, stored_at_us: i64) -> Vec<u8> {
    let wire = WireDelivery {
        quiz: delivery.quiz.as_str().to_owned(),
        everyone: delivery.everyone.iter().map(wire_frame).collect(),
        followers: wire_frame(&delivery.followers),
        stored_at_us,
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// Decodes a broker message; `now_us` (the local clock) turns its storage
/// time into a local instant for the latency histogram.
pub fn decode(payload: &[u8], now_us: i64) -> Result<Delivery, BrokerError> {
    let wire: WireDelivery =
        serde_json::from_slice(payload).map_err(|e| BrokerError::Malformed(e.to_string()))?;
    let age = Duration::from_micros(u64::try_from(now_us - wire.stored_at_us).unwrap_or(0));
    let stored_at = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
    let frame = |f: WireFrame| {
        SharedFrame::from_encoded(f.text, f.seq_at, stored_at)
            .ok_or_else(|| BrokerError::Malformed("a frame's seq offset is wrong".to_owned()))
    };
    Ok(Delivery {
        everyone: wire
            .everyone
            .into_iter()
            .map(frame)
            .collect::<Result<_, _>>()?,
        followers: frame(wire.followers)?,
        quiz: QuizId(wire.quiz),
    })
}

/// A connection to the broker: publishes uploads; its subscriber task
/// delivers everyone's uploads to the local hub.
#[derive(Clone)]
pub struct Broker {
    publisher: ConnectionManager,
    metrics: Arc<Metrics>,
}

impl Broker {
    /// Connects to `url`, subscribes, and spawns the task that delivers
    /// what arrives to `hub` until `shutdown`. Fails if Redis does not answer.
    pub async fn start(
        url: &str,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(Self, JoinHandle<()>), BrokerError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let publisher = ConnectionManager::new_with_config(client.clone(), config).await?;
        let subscription = subscribe(&client).await?;
        tracing::info!(channel = CHANNEL, "subscribed to the broker");
        let task = tokio::spawn(listen(client, subscription, hub, shutdown));
        Ok((Self { publisher, metrics }, task))
    }

    /// Publishes one upload's broadcast. On failure the upload is stored but
    /// not broadcast; the error is logged and counted, and clients learn of
    /// it by the 1012 close once the subscription is back.
    pub async fn publish(&self, delivery: &Delivery, stored_at_us: i64) {
        let payload = encode(delivery, stored_at_us);
        let mut conn = self.publisher.clone();
        let sent: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(CHANNEL)
            .arg(payload)
            .query_async(&mut conn)
            .await;
        if let Err(e) = sent {
            Metrics::inc(&self.metrics.broker_publish_failed);
            tracing::error!(error = %e, quiz = %delivery.quiz, "broker publish failed: upload stored, not broadcast");
        }
    }
}

async fn subscribe(client: &redis::Client) -> Result<PubSub, BrokerError> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    Ok(pubsub)
}

/// Delivers every message to the hub; resubscribes when the connection drops.
async fn listen(
    client: redis::Client,
    first: PubSub,
    hub: Arc<Hub>,
    mut shutdown: watch::Receiver<bool>,
) {
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
                        Ok(delivery) => hub.deliver(&delivery),
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
        let back = decode(&encode(&delivery, 10), 20).unwrap();
        assert_eq!(back.quiz, delivery.quiz);
        assert_eq!(back.everyone.len(), 2);
        for (a, b) in back.everyone.iter().zip(&delivery.everyone) {
            assert_eq!(a.numbered(5), b.numbered(5));
        }
        assert_eq!(back.followers.numbered(9), delivery.followers.numbered(9));
    }

    #[test]
    fn malformed_messages_are_refused() {
        assert!(decode(b"not json", 0).is_err());
        let bad =
            br#"{"quiz":"q","everyone":[],"followers":{"text":"{}","seq_at":1},"stored_at_us":0}"#;
        assert!(matches!(decode(bad, 0), Err(BrokerError::Malformed(_))));
    }
}
