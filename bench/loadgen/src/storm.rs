//! Reconnect storm: N sockets, the server restarts under them, and every
//! socket comes back on the core's own policy ([`quizpulse::backoff`]): the
//! "reconnect soon" delay after 1001/1012/1013, quick retries with full jitter
//! after a failed attempt. Without jitter, every delay is its ceiling, as a
//! naive client would do. The figure is the peak of connection attempts per
//! second, from the first close until every socket is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use quizpulse::backoff::Backoff;
use quizpulse::rng::Rng;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::Error;
use crate::fleet::socket_config;
use crate::target::Target;

/// Width of one bucket of the attempt histogram.
const BUCKET: Duration = Duration::from_millis(100);

/// A storm's settings.
#[derive(Debug, Clone)]
pub struct StormPlan {
    /// Sockets.
    pub sockets: usize,
    /// Full jitter (the core's policy) or every delay at its ceiling.
    pub jitter: bool,
    /// Longest wait for the restart, and then for every socket to return.
    pub timeout: Duration,
    /// Seed of the sockets' random delays.
    pub seed: u64,
}

struct Shared {
    epoch: Instant,
    /// Bench-clock ms of the first close (0 = no storm yet).
    storm_ms: AtomicU64,
    connected: AtomicUsize,
    returned: AtomicUsize,
    refused: AtomicU64,
    done: AtomicBool,
    buckets: Box<[AtomicU32]>,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        (self.epoch.elapsed().as_millis() as u64).max(1)
    }

    fn storm_started(&self) -> Option<u64> {
        match self.storm_ms.load(Ordering::Acquire) {
            0 => None,
            ms => Some(ms),
        }
    }

    fn count_attempt(&self) {
        if let Some(start) = self.storm_started() {
            let i = (self.now_ms().saturating_sub(start) / BUCKET.as_millis() as u64) as usize;
            if let Some(bucket) = self.buckets.get(i) {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The delay before reconnecting after a close by the server.
fn soon(policy: &Backoff, jitter: bool, rng: &mut Rng) -> Duration {
    if jitter {
        policy.soon_delay(rng)
    } else {
        policy.quick_ceiling(1)
    }
}

/// The delay before retry `attempt` (1-based) after a failed attempt.
fn retry(policy: &Backoff, attempt: u32, jitter: bool, rng: &mut Rng) -> Duration {
    if jitter {
        policy.quick_delay(attempt, rng)
    } else {
        policy.quick_ceiling(attempt)
    }
}

/// Peak attempts in any one-second window of the histogram.
pub fn peak_per_second(buckets: &[u32]) -> u32 {
    let per_window = (Duration::from_secs(1).as_millis() / BUCKET.as_millis()) as usize;
    if buckets.len() <= per_window {
        return buckets.iter().sum();
    }
    buckets
        .windows(per_window)
        .map(|w| w.iter().sum())
        .max()
        .unwrap_or(0)
}

/// Connects every socket, calls `ready` (the caller restarts the server),
/// and measures the storm until every socket is back or the time is up.
pub async fn storm(
    target: &Target,
    tokens: &[String],
    plan: &StormPlan,
    ready: impl FnOnce(),
) -> Result<Value, Error> {
    if tokens.is_empty() {
        return Err(Error::Usage("no access tokens".to_owned()));
    }
    let buckets = (plan.timeout.as_millis() / BUCKET.as_millis()) as usize + 1;
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        storm_ms: AtomicU64::new(0),
        connected: AtomicUsize::new(0),
        returned: AtomicUsize::new(0),
        refused: AtomicU64::new(0),
        done: AtomicBool::new(false),
        buckets: (0..buckets).map(|_| AtomicU32::new(0)).collect(),
    });
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::with_capacity(plan.sockets);
    for i in 0..plan.sockets {
        let url = target.socket_url(&tokens[i % tokens.len()]);
        let shared = Arc::clone(&shared);
        let gate = Arc::clone(&gate);
        let jitter = plan.jitter;
        let seed = plan.seed.wrapping_add(i as u64);
        tasks.push(tokio::spawn(async move {
            client(url, shared, gate, jitter, seed).await
        }));
    }
    let cleanup = |tasks: &[tokio::task::JoinHandle<()>]| tasks.iter().for_each(|t| t.abort());

    let deadline = Instant::now() + plan.timeout;
    while shared.connected.load(Ordering::Acquire) < plan.sockets {
        if Instant::now() > deadline {
            cleanup(&tasks);
            return Err(Error::Socket(
                "the sockets did not all connect in time".to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ready();
    let deadline = Instant::now() + plan.timeout;
    while shared.storm_started().is_none() {
        if Instant::now() > deadline {
            cleanup(&tasks);
            return Err(Error::Socket(
                "no socket was closed: was the server restarted?".to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deadline = Instant::now() + plan.timeout;
    while shared.returned.load(Ordering::Acquire) < plan.sockets && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let start = shared.storm_started().unwrap_or(0);
    let all_back = shared.returned.load(Ordering::Acquire);
    let elapsed_ms = shared.now_ms().saturating_sub(start);
    shared.done.store(true, Ordering::Release);
    cleanup(&tasks);
    let counts: Vec<u32> = shared
        .buckets
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    let used = (elapsed_ms / BUCKET.as_millis() as u64) as usize + 1;
    let attempts: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let peak = peak_per_second(&counts);
    eprintln!(
        "loadgen: storm ({}): peak {peak} attempts/s, {attempts} attempts, {all_back}/{} back in {elapsed_ms} ms",
        if plan.jitter { "jitter" } else { "no jitter" },
        plan.sockets
    );
    Ok(json!({
        "sockets": plan.sockets,
        "jitter": plan.jitter,
        "peak_attempts_per_s": peak,
        "attempts": attempts,
        "refused": shared.refused.load(Ordering::Relaxed),
        "returned": all_back,
        "all_back_ms": if all_back >= plan.sockets { Some(elapsed_ms) } else { None },
        "per_100ms": &counts[..used.min(counts.len())],
    }))
}

/// One socket's life: connect, read until closed, wait as the policy says, again.
async fn client(
    url: String,
    shared: Arc<Shared>,
    gate: Arc<tokio::sync::Semaphore>,
    jitter: bool,
    seed: u64,
) {
    let policy = Backoff::default();
    let mut rng = Rng::new(seed);
    let mut attempt = 0u32;
    let mut first = true;
    while !shared.done.load(Ordering::Acquire) {
        // Only the first connect is paced, so the start-up is not a storm itself.
        let permit = if first {
            gate.acquire().await.ok()
        } else {
            None
        };
        shared.count_attempt();
        let opened = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async_with_config(
                url.as_str(),
                Some(socket_config()),
                false,
            ),
        )
        .await;
        drop(permit);
        let delay = match opened {
            Ok(Ok((mut socket, _))) => {
                attempt = 0;
                shared.connected.fetch_add(1, Ordering::AcqRel);
                if !first {
                    shared.returned.fetch_add(1, Ordering::AcqRel);
                }
                first = false;
                while let Some(Ok(message)) = socket.next().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
                shared.connected.fetch_sub(1, Ordering::AcqRel);
                let now = shared.now_ms();
                let _ =
                    shared
                        .storm_ms
                        .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire);
                soon(&policy, jitter, &mut rng)
            }
            Ok(Err(_)) | Err(_) => {
                shared.refused.fetch_add(1, Ordering::Relaxed);
                attempt += 1;
                retry(&policy, attempt, jitter, &mut rng)
            }
        };
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_the_busiest_second() {
        let mut buckets = vec![0u32; 30];
        buckets[3] = 5;
        buckets[12] = 7;
        buckets[13] = 8;
        buckets[25] = 100;
        assert_eq!(peak_per_second(&buckets), 100);
        buckets[25] = 1;
        assert_eq!(peak_per_second(&buckets), 15);
        assert_eq!(peak_per_second(&[1, 2, 3]), 6);
    }

    #[test]
    fn no_jitter_means_every_client_waits_the_same() {
        let policy = Backoff::default();
        let mut a = Rng::new(1);
        let mut b = Rng::new(2);
        assert_eq!(soon(&policy, false, &mut a), soon(&policy, false, &mut b));
        assert_eq!(retry(&policy, 3, false, &mut a), Duration::from_secs(4));
        let spread: Vec<Duration> = (0..50).map(|_| soon(&policy, true, &mut a)).collect();
        assert!(spread.iter().any(|d| *d != spread[0]));
    }
}
