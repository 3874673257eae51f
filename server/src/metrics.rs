//! Prometheus counters, gauges and histograms, kept in atomics and rendered
//! as the text exposition format by `GET /metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket upper bounds, in seconds, of the latency histograms.
const BUCKETS: [f64; 14] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A fixed-bucket latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, slot) in BUCKETS.iter().zip(&self.counts) {
            if secs <= *bound {
                slot.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bound, slot) in BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                slot.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Every metric the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Sockets open now (gauge).
    pub open_sockets: AtomicU64,
    /// Sockets accepted since start.
    pub sockets_total: AtomicU64,
    /// Messages written to sockets (broadcasts and direct replies).
    pub messages_sent: AtomicU64,
    /// Client messages received.
    pub client_messages: AtomicU64,
    /// Client messages answered with `error` (malformed, unknown, over a limit).
    pub client_errors: AtomicU64,
    /// Client messages dropped by the rate limit.
    pub rate_limited: AtomicU64,
    /// Sockets closed with 1013 because their queue was full.
    pub lagged_closed: AtomicU64,
    /// Sockets closed with 4001/4003 at connect.
    pub auth_rejected: AtomicU64,
    /// Sessions stored (uploads and simulator).
    pub sessions_stored: AtomicU64,
    /// Broadcasts fanned out (one per stored session).
    pub broadcasts: AtomicU64,
    /// Time to fan one upload's three messages out to every queue.
    pub broadcast_fanout: Histogram,
    /// Time from a session being stored to its broadcast being written to
    /// one socket (one observation per write: an upload's messages to one
    /// recipient are written together).
    pub broadcast_delivery: Histogram,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let counters: [(&str, &str, &str, &AtomicU64); 10] = [
            (
                "quizpulse_open_sockets",
                "gauge",
                "WebSocket connections open now.",
                &self.open_sockets,
            ),
            (
                "quizpulse_sockets_total",
                "counter",
                "WebSocket connections accepted.",
                &self.sockets_total,
            ),
            (
                "quizpulse_messages_sent_total",
                "counter",
                "Messages written to sockets.",
                &self.messages_sent,
            ),
            (
                "quizpulse_client_messages_total",
                "counter",
                "Messages received from sockets.",
                &self.client_messages,
            ),
            (
                "quizpulse_client_errors_total",
                "counter",
                "Client messages answered with an error message.",
                &self.client_errors,
            ),
            (
                "quizpulse_rate_limited_total",
                "counter",
                "Client messages dropped by the per-socket rate limit.",
                &self.rate_limited,
            ),
            (
                "quizpulse_lagged_closed_total",
                "counter",
                "Sockets closed with 1013 because they fell too far behind.",
                &self.lagged_closed,
            ),
            (
                "quizpulse_auth_rejected_total",
                "counter",
                "Sockets closed with 4001 or 4003 at connect.",
                &self.auth_rejected,
            ),
            (
                "quizpulse_sessions_stored_total",
                "counter",
                "Quiz sessions stored.",
                &self.sessions_stored,
            ),
            (
                "quizpulse_broadcasts_total",
                "counter",
                "Upload broadcasts fanned out.",
                &self.broadcasts,
            ),
        ];
        for (name, kind, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        self.broadcast_fanout.render(
            &mut out,
            "quizpulse_broadcast_fanout_seconds",
            "Time to queue one upload's messages for every socket.",
        );
        self.broadcast_delivery.render(
            &mut out,
            "quizpulse_broadcast_latency_seconds",
            "Time from a session being stored to its broadcast being written to a socket.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.broadcast_fanout.observe(Duration::from_micros(50));
        m.broadcast_fanout.observe(Duration::from_millis(3));
        let text = m.render();
        assert!(text.contains("quizpulse_broadcast_fanout_seconds_bucket{le=\"0.0001\"} 1"));
        assert!(text.contains("quizpulse_broadcast_fanout_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("quizpulse_broadcast_fanout_seconds_count 2"));
        assert!(text.contains("# TYPE quizpulse_open_sockets gauge"));
    }
}
