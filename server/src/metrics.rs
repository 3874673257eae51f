//! The server's metrics, kept in the official `prometheus-client` crate's
//! types and rendered by its encoder for `GET /metrics` (OpenMetrics text,
//! which Prometheus scrapes as it does its own text format).
//!
//! Names are fixed: counters are registered without `_total` and the
//! encoder adds it, so `quizpulse_sockets_total`, `quizpulse_open_sockets`,
//! `quizpulse_broadcast_latency_seconds_count` etc. read as they always did.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bucket upper bounds, in seconds, of the latency histograms.
const BUCKETS: [f64; 14] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A latency histogram with the server's fixed buckets.
#[derive(Clone, Debug)]
pub struct Histogram(prometheus_client::metrics::histogram::Histogram);

impl Default for Histogram {
    fn default() -> Self {
        Self(prometheus_client::metrics::histogram::Histogram::new(
            BUCKETS,
        ))
    }
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        self.0.observe(d.as_secs_f64());
    }
}

/// Counters by one label, `reason`.
pub type ByReason = Family<[(&'static str, &'static str); 1], Counter>;

/// Adds one to `family`'s counter for `reason`.
pub fn inc_reason(family: &ByReason, reason: &'static str) {
    family.get_or_create(&[("reason", reason)]).inc();
}

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    /// Sockets open now (gauge).
    pub open_sockets: Gauge,
    /// Sockets accepted since start.
    pub sockets_total: Counter,
    /// Messages written to sockets (broadcasts and direct replies).
    pub messages_sent: Counter,
    /// Client messages received.
    pub client_messages: Counter,
    /// Client messages answered with `error` (malformed, unknown, over a limit).
    pub client_errors: Counter,
    /// Client messages dropped by the rate limit.
    pub rate_limited: Counter,
    /// Sockets closed with 1013 because their queue was full.
    pub lagged_closed: Counter,
    /// Sockets closed with 4001/4003 at connect.
    pub auth_rejected: Counter,
    /// Sessions stored (uploads and simulator).
    pub sessions_stored: Counter,
    /// Broadcasts fanned out (one per upload, on every instance).
    pub broadcasts: Counter,
    /// Uploads whose publish to the broker was not confirmed: delivered to
    /// this instance's sockets, and every other instance told to resync.
    pub broker_publish_failed: Counter,
    /// Resync notices: sent by this instance after a publish it could not
    /// confirm, or received from another (its sockets then closed with 1012).
    pub broker_resyncs: Counter,
    /// `POST /api/token/` requests (sign-ins), whatever their answer.
    pub token_requests: Counter,
    /// `POST /api/token/refresh/` requests, whatever their answer.
    pub token_refresh_requests: Counter,
    /// Password checks run (argon2id), for known and unknown usernames alike.
    pub password_checks: Counter,
    /// Socket handshakes answered 101 (before the token is checked; a socket
    /// refused at once with 4001/4003/1013 counts too).
    pub socket_handshakes: Counter,
    /// Open sockets closed with 4003 because their account was disabled.
    pub sockets_closed_inactive: Counter,
    /// Sockets refused by a quota (closed 1013 at once), by `reason`:
    /// `user`, `address` or `server`.
    pub sockets_refused: ByReason,
    /// Sign-ins answered 429, by `reason`: `address` (that address's rate),
    /// `username` (that username's failures) or `busy` (the hashing queue is full).
    pub sign_ins_throttled: ByReason,
    /// Uploads refused, by `reason`: `rate` (429, the account's upload rate)
    /// or `score` (400, over the highest score).
    pub uploads_refused: ByReason,
    /// Time of one pass of the fan-out loop (one or more uploads written
    /// to every socket, or left for the socket's task when its kernel
    /// buffer was full).
    pub broadcast_fanout: Histogram,
    /// Time from a session being stored to its broadcast having been
    /// written to every socket (one observation per pass of the fan-out
    /// loop, for its oldest upload).
    pub broadcast_delivery: Histogram,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let open_sockets = Gauge::default();
        let counters: [Counter; 16] = Default::default();
        let [
            sockets_total,
            messages_sent,
            client_messages,
            client_errors,
            rate_limited,
            lagged_closed,
            auth_rejected,
            sessions_stored,
            broadcasts,
            broker_publish_failed,
            broker_resyncs,
            token_requests,
            token_refresh_requests,
            password_checks,
            socket_handshakes,
            sockets_closed_inactive,
        ] = counters;
        let (sockets_refused, sign_ins_throttled, uploads_refused) = (
            ByReason::default(),
            ByReason::default(),
            ByReason::default(),
        );
        let broadcast_fanout = Histogram::default();
        let broadcast_delivery = Histogram::default();
        let mut registry = Registry::default();
        registry.register(
            "quizpulse_open_sockets",
            "WebSocket connections open now",
            open_sockets.clone(),
        );
        for (name, help, counter) in [
            (
                "quizpulse_sockets",
                "WebSocket connections accepted",
                &sockets_total,
            ),
            (
                "quizpulse_messages_sent",
                "Messages written to sockets",
                &messages_sent,
            ),
            (
                "quizpulse_client_messages",
                "Messages received from sockets",
                &client_messages,
            ),
            (
                "quizpulse_client_errors",
                "Client messages answered with an error message",
                &client_errors,
            ),
            (
                "quizpulse_rate_limited",
                "Client messages dropped by the per-socket rate limit",
                &rate_limited,
            ),
            (
                "quizpulse_lagged_closed",
                "Sockets closed with 1013 because they fell too far behind",
                &lagged_closed,
            ),
            (
                "quizpulse_auth_rejected",
                "Sockets closed with 4001 or 4003 at connect",
                &auth_rejected,
            ),
            (
                "quizpulse_sessions_stored",
                "Quiz sessions stored",
                &sessions_stored,
            ),
            (
                "quizpulse_broadcasts",
                "Upload broadcasts fanned out",
                &broadcasts,
            ),
            (
                "quizpulse_broker_publish_failed",
                "Uploads whose broker publish was not confirmed (delivered locally, other instances told to resync)",
                &broker_publish_failed,
            ),
            (
                "quizpulse_broker_resyncs",
                "Resync notices sent to or received from other instances",
                &broker_resyncs,
            ),
            (
                "quizpulse_token_requests",
                "POST /api/token/ requests",
                &token_requests,
            ),
            (
                "quizpulse_token_refresh_requests",
                "POST /api/token/refresh/ requests",
                &token_refresh_requests,
            ),
            (
                "quizpulse_password_checks",
                "Password checks run (argon2id), known and unknown usernames alike",
                &password_checks,
            ),
            (
                "quizpulse_socket_handshakes",
                "Socket handshakes answered 101",
                &socket_handshakes,
            ),
            (
                "quizpulse_sockets_closed_inactive",
                "Open sockets closed with 4003 because their account was disabled",
                &sockets_closed_inactive,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        for (name, help, family) in [
            (
                "quizpulse_sockets_refused",
                "Sockets refused by a quota (closed 1013), by reason: user, address, server",
                &sockets_refused,
            ),
            (
                "quizpulse_sign_ins_throttled",
                "Sign-ins answered 429, by reason: address, username, busy",
                &sign_ins_throttled,
            ),
            (
                "quizpulse_uploads_refused",
                "Uploads refused, by reason: rate (429), score (400)",
                &uploads_refused,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "quizpulse_broadcast_fanout_seconds",
            "Time to queue one upload's messages for every socket",
            broadcast_fanout.0.clone(),
        );
        registry.register(
            "quizpulse_broadcast_latency_seconds",
            "Time from a session being stored to its broadcast being written to every socket",
            broadcast_delivery.0.clone(),
        );
        Self {
            open_sockets,
            sockets_total,
            messages_sent,
            client_messages,
            client_errors,
            rate_limited,
            lagged_closed,
            auth_rejected,
            sessions_stored,
            broadcasts,
            broker_publish_failed,
            broker_resyncs,
            token_requests,
            token_refresh_requests,
            password_checks,
            socket_handshakes,
            sockets_closed_inactive,
            sockets_refused,
            sign_ins_throttled,
            uploads_refused,
            broadcast_fanout,
            broadcast_delivery,
            registry,
        }
    }
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &Counter) {
        counter.inc();
    }

    /// Every metric in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_cumulative_buckets() {
        let m = Metrics::default();
        m.broadcast_fanout.observe(Duration::from_micros(50));
        m.broadcast_fanout.observe(Duration::from_millis(3));
        Metrics::inc(&m.sockets_total);
        m.open_sockets.inc();
        let text = m.render();
        assert!(
            text.contains("quizpulse_broadcast_fanout_seconds_bucket{le=\"0.0001\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("quizpulse_broadcast_fanout_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("quizpulse_broadcast_fanout_seconds_count 2\n"));
        assert!(text.contains("# TYPE quizpulse_open_sockets gauge\n"));
        assert!(text.contains("\nquizpulse_open_sockets 1\n"));
        assert!(text.contains("\nquizpulse_sockets_total 1\n"));
        assert!(text.contains("\nquizpulse_messages_sent_total 0\n"));
        inc_reason(&m.sockets_refused, "user");
        inc_reason(&m.sockets_refused, "user");
        let text = m.render();
        assert!(
            text.contains("\nquizpulse_sockets_refused_total{reason=\"user\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("\nquizpulse_token_refresh_requests_total 0\n"));
        assert!(text.ends_with("# EOF\n"));
    }
}
