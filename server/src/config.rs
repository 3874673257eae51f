//! Runtime configuration: everything the server needs to start, with the
//! defaults the contract assumes (SimpleJWT's lifetimes, the socket limits of
//! issue 4). The CLI in `main.rs` fills it from flags and environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Server configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    pub bind: SocketAddr,
    /// Database URL: `sqlite://quizpulse.db` (created if missing) or
    /// `postgres://user:password@host/db` (must exist).
    pub db_url: String,
    /// Redis URL (`redis://host:port`) of the broker shared by instances;
    /// `None` broadcasts to this process's sockets only.
    pub broker_url: Option<String>,
    /// HS256 signing key for access and refresh tokens.
    pub jwt_secret: Secret,
    /// Access-token lifetime (SimpleJWT default: 5 minutes).
    pub access_ttl: Duration,
    /// Refresh-token lifetime (SimpleJWT default: 1 day).
    pub refresh_ttl: Duration,
    /// Whether `POST /api/token/refresh/` also returns a new refresh token
    /// (SimpleJWT's `ROTATE_REFRESH_TOKENS`, off by default).
    pub rotate_refresh: bool,
    /// Socket limits.
    pub ws: WsLimits,
    /// Demo data and simulator; `None` outside `--demo`.
    pub demo: Option<DemoConfig>,
    /// How long shutdown waits for sockets to finish their close handshake.
    pub shutdown_grace: Duration,
}

impl Config {
    /// A configuration with every default and the given database and secret.
    pub fn new(db_url: impl Into<String>, jwt_secret: Secret) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            db_url: db_url.into(),
            broker_url: None,
            jwt_secret,
            access_ttl: Duration::from_secs(5 * 60),
            refresh_ttl: Duration::from_secs(24 * 60 * 60),
            rotate_refresh: false,
            ws: WsLimits::default(),
            demo: None,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Per-socket limits. Exceeding a soft limit earns an `error` message and the
/// socket stays open; only a lagging reader (queue full) is closed, with 1013.
#[derive(Clone, Debug)]
pub struct WsLimits {
    /// Largest client message accepted (64 KiB); larger ones get an `error`.
    pub max_message_bytes: usize,
    /// Hard cap on a frame the socket layer will read at all (1 MiB). A frame
    /// over this breaks the WebSocket framing and ends the connection (1009).
    pub hard_frame_bytes: usize,
    /// Most quizzes one socket may follow at once (1 000).
    pub max_subscriptions: usize,
    /// Client messages per second per socket (50); the excess is dropped and
    /// the client is told once per one-second window.
    pub rate_per_sec: u32,
    /// Broadcasts (one upload's two or three messages each) that may wait for
    /// one socket (256). A socket whose queue is full when a broadcast arrives
    /// is closed with 1013.
    pub queue_capacity: usize,
    /// How long a closing socket (1013, 1001, 4001) may take to take its close frame.
    pub close_grace: Duration,
    /// tungstenite read buffer per socket (1 KiB; its default is 128 KiB). It
    /// is allocated up front for every socket, and clients send only small
    /// messages; a larger one still arrives whole (the buffer grows for it).
    pub read_buffer_bytes: usize,
    /// tungstenite write buffer target per socket (4 KiB; default 128 KiB).
    pub write_buffer_bytes: usize,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024,
            hard_frame_bytes: 1024 * 1024,
            max_subscriptions: 1000,
            rate_per_sec: 50,
            queue_capacity: 256,
            close_grace: Duration::from_secs(10),
            read_buffer_bytes: 1024,
            write_buffer_bytes: 4 * 1024,
        }
    }
}

/// `--demo` settings.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Interval between simulated uploads; zero disables the simulator.
    pub simulate_every: Duration,
}

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// A random 256-bit secret, hex-encoded (for `--demo`).
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(hex(&bytes)))
    }

    /// The secret's text (for signing and for printing in demo mode).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Parses a duration such as `300`, `300s`, `1500ms`, `5m`, `2h` or `1d`
/// (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 300s, 5m, 1d)"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m, h or d)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("4s"), Ok(Duration::from_secs(4)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn secrets_do_not_leak_into_debug() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(..)");
        assert_eq!(Secret::random().unwrap().expose().len(), 64);
    }
}
