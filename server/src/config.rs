//! Runtime configuration: everything the server needs to start, with the
//! defaults the contract assumes (SimpleJWT's lifetimes, the socket limits of
//! issue 4) and the limits of issue 18 (scores, sign-in, quotas). The CLI in
//! `main.rs` fills it from flags and environment variables.

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
    /// The highest score a session may carry (`--max-score`, 1000): an upload
    /// over it is refused with 400, so every board sum stays finite.
    pub max_score: f64,
    /// Shift of the clock tokens are issued and checked with, in seconds
    /// (`--token-clock-offset`; 0). The server stays consistent with itself:
    /// only a client comparing `exp` with its own clock sees the shift.
    pub token_clock_offset: i64,
    /// Sign-in limits (password hashing, throttles).
    pub sign_in: SignInLimits,
    /// Quotas on sockets and uploads.
    pub quotas: Quotas,
    /// A request header carrying the client's address, set by a reverse proxy
    /// in front of the server (`--client-ip-header X-Forwarded-For`; its last
    /// address is taken). `None`: the TCP peer's address.
    pub client_ip_header: Option<String>,
    /// How often open sockets' accounts are checked, so a disabled account's
    /// sockets close with 4003 (1 s).
    pub account_check_every: Duration,
    /// SQLite's `synchronous` setting (`--sqlite-synchronous`; `full`).
    pub sqlite_synchronous: SqliteSync,
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
            max_score: DEFAULT_MAX_SCORE,
            token_clock_offset: 0,
            sign_in: SignInLimits::default(),
            quotas: Quotas::default(),
            client_ip_header: None,
            account_check_every: Duration::from_secs(1),
            sqlite_synchronous: SqliteSync::Full,
        }
    }
}

/// Default of [`Config::max_score`].
pub const DEFAULT_MAX_SCORE: f64 = 1000.0;

/// The largest `--max-score` accepted: with every best at most this, a subject
/// total of up to 10^290 quizzes stays finite, and sums of up to 9 000 quizzes
/// stay exact in whole points.
pub const MAX_MAX_SCORE: f64 = 1e12;

/// Checks a `--max-score` value.
pub fn parse_max_score(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if value.is_finite() && value > 0.0 && value <= MAX_MAX_SCORE {
        Ok(value)
    } else {
        Err(format!(
            "the highest score must be a number above 0 and at most {MAX_MAX_SCORE:e}, not {text:?}"
        ))
    }
}

/// SQLite's `synchronous` pragma: when a commit reaches the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqliteSync {
    /// Every commit is on the disk before it returns (one `fsync` of the
    /// write-ahead log per commit): an upload answered 201 survives a power
    /// cut. The default.
    Full,
    /// Commits are on the disk at the next checkpoint: a power cut (not a
    /// crash of the process) may lose the last uploads, already answered 201.
    Normal,
}

impl SqliteSync {
    /// The pragma's value.
    pub fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }

    /// Parses `full` or `normal`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            _ => Err(format!("{text:?}: use full or normal")),
        }
    }
}

/// A rate: at most `count` events per `per`, as a bucket of `count` that
/// refills evenly over `per` (so a burst of `count` is allowed, then one
/// every `per / count`). `count == 0` means no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Events per period (and the largest burst); 0: unlimited.
    pub count: u32,
    /// The period.
    pub per: Duration,
}

impl Rate {
    /// `count` per `per`.
    pub const fn new(count: u32, per: Duration) -> Self {
        Self { count, per }
    }

    /// No limit.
    pub const UNLIMITED: Self = Self {
        count: 0,
        per: Duration::from_secs(1),
    };

    /// True when this rate limits nothing.
    pub fn is_unlimited(&self) -> bool {
        self.count == 0 || self.per.is_zero()
    }

    /// Parses `30/min`, `60/m`, `10/1h`, `5/15m`, `2/s` (a period after the
    /// slash, its number optional), or `0` / `off` for no limit.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "0" || text.eq_ignore_ascii_case("off") {
            return Ok(Self::UNLIMITED);
        }
        let (count, per) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a rate (try 30/min, 10/1h, or 0 for none)"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {count:?} is not a whole number"))?;
        let per = per.trim();
        let per = match per {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86_400),
            other => parse_duration(other)?,
        };
        if count > 0 && per.is_zero() {
            return Err(format!("{text:?}: the period is zero"));
        }
        Ok(Self { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unlimited() {
            f.write_str("unlimited")
        } else {
            write!(f, "{}/{:?}", self.count, self.per)
        }
    }
}

/// Sign-in limits: `POST /api/token/` runs argon2id (19 MiB, tens of
/// milliseconds of one core) for every attempt on any username, so it is
/// bounded and throttled.
#[derive(Clone, Debug)]
pub struct SignInLimits {
    /// Password checks that run at once, each on its own thread
    /// (`--hash-workers`; the cores, at most 4). Memory for hashing is at most
    /// this many times the hash's memory cost (19 MiB for `user add`'s).
    pub hash_workers: usize,
    /// Sign-ins that may wait for a hashing thread (`--hash-queue`; 32). Past
    /// them, a sign-in is answered 429 with `Retry-After` at once.
    pub hash_queue: usize,
    /// Sign-in attempts per client address (`--sign-in-rate`; 60/min: a
    /// classroom behind one address signs in at once).
    pub per_address: Rate,
    /// Failed sign-ins per username, from any address (`--sign-in-failures`;
    /// 10/1h). A successful sign-in does not count. Past it the username is
    /// answered 429, whatever the password, until the bucket refills.
    pub failures_per_username: Rate,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            hash_workers: default_hash_workers(),
            hash_queue: 32,
            per_address: Rate::new(60, Duration::from_secs(60)),
            failures_per_username: Rate::new(10, Duration::from_secs(3600)),
        }
    }
}

/// The default of [`SignInLimits::hash_workers`]: the machine's cores, at most 4.
pub fn default_hash_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4)
}

/// Quotas on sockets and uploads. A socket over a quota is accepted and closed
/// at once with 1013 (try again later), as the contract's clients expect of
/// an overloaded server; an upload over its rate is answered 429.
#[derive(Clone, Debug)]
pub struct Quotas {
    /// Sockets one account may hold open (`--max-sockets-per-user`; 20: one
    /// per browser profile and device, with room to spare). 0: no limit.
    pub sockets_per_user: usize,
    /// Sockets one client address may hold open, counted before the token is
    /// checked (`--max-sockets-per-address`; 2 000: a school or campus behind
    /// one address; IPv6 addresses count per /64). 0: no limit.
    pub sockets_per_address: usize,
    /// Sockets the process holds open at most (`--max-sockets`; 50 000). 0: no limit.
    pub sockets_total: usize,
    /// Uploads per account (`--upload-rate`; 30/min). Each upload sends two or
    /// three messages to every socket.
    pub uploads_per_user: Rate,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            sockets_per_user: 20,
            sockets_per_address: 2000,
            sockets_total: 50_000,
            uploads_per_user: Rate::new(30, Duration::from_secs(60)),
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

/// Parses a signed duration in whole seconds: `-1h`, `+30m`, `90s`, `0`.
pub fn parse_clock_offset(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = parse_duration(rest)?;
    let secs = i64::try_from(magnitude.as_secs())
        .map_err(|_| format!("{text:?} is too large an offset"))?;
    Ok(sign * secs)
}

/// Why a JWT secret is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakSecret {
    /// Shorter than HS256's key size.
    #[error(
        "the JWT secret is {0} bytes; HS256 needs at least 32 (RFC 7518 3.2): generate one with `openssl rand -hex 32`"
    )]
    TooShort(usize),
    /// Long enough, but too predictable.
    #[error(
        "the JWT secret looks guessable (about {0} bits; at least 96 are needed): generate one with `openssl rand -hex 32`"
    )]
    Guessable(u32),
}

/// Smallest secret, in bytes (HS256's hash output, RFC 7518 section 3.2).
pub const MIN_SECRET_BYTES: usize = 32;
/// Smallest estimated entropy, in bits: random hex of 16 bytes (32 digits,
/// 128 bits) estimates at 96 or more.
pub const MIN_SECRET_BITS: u32 = 96;

impl Secret {
    /// Checks that the secret can sign tokens nobody can guess: at least 32
    /// bytes (HS256's key size), and at least [`MIN_SECRET_BITS`] by
    /// [`estimated_bits`]. Random hex of 32 bytes (`openssl rand -hex 32`)
    /// estimates at about 240 bits; `change-me`, a word repeated or a run
    /// like `abcd…` at under 60.
    pub fn check_strength(&self) -> Result<(), WeakSecret> {
        let bytes = self.0.as_bytes();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(WeakSecret::TooShort(bytes.len()));
        }
        let bits = estimated_bits(bytes);
        if bits < MIN_SECRET_BITS {
            return Err(WeakSecret::Guessable(bits));
        }
        Ok(())
    }
}

/// A secret's entropy estimate, in bits, as a compressor would count it:
/// reading left to right, a repeat of 3 or more bytes seen before costs only
/// where it is and how long, a run of 3 or more bytes in steps of one
/// (`aaaa`, `abcd`, `9876`) costs one byte and its length, and any other
/// byte costs the secret's own entropy per byte (Shannon's, over the
/// frequencies of its bytes). Only the first 1 KiB is read.
pub fn estimated_bits(bytes: &[u8]) -> u32 {
    let bytes = &bytes[..bytes.len().min(1024)];
    let n = bytes.len();
    if n == 0 {
        return 0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let per_byte: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n as f64;
            -p * p.log2()
        })
        .sum();
    let mut bits = 0.0;
    let mut i = 0;
    while i < n {
        let repeat = (0..i)
            .map(|j| {
                (0..n - i)
                    .take_while(|&l| bytes[j + l] == bytes[i + l])
                    .count()
            })
            .max()
            .unwrap_or(0);
        let mut run = 1;
        if i + 1 < n {
            let step = i16::from(bytes[i + 1]) - i16::from(bytes[i]);
            if step.abs() <= 1 {
                while i + run < n
                    && i16::from(bytes[i + run]) - i16::from(bytes[i + run - 1]) == step
                {
                    run += 1;
                }
            }
        }
        if repeat >= 3 && repeat >= run {
            bits += (i.max(2) as f64).log2() + (repeat as f64).log2();
            i += repeat;
        } else if run >= 3 {
            bits += per_byte + 4.0;
            i += run;
        } else {
            bits += per_byte;
            i += 1;
        }
    }
    bits as u32
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
    fn rates_and_offsets_parse() {
        assert_eq!(
            Rate::parse("30/min"),
            Ok(Rate::new(30, Duration::from_secs(60)))
        );
        assert_eq!(
            Rate::parse("10/1h"),
            Ok(Rate::new(10, Duration::from_secs(3600)))
        );
        assert_eq!(
            Rate::parse("5/15m"),
            Ok(Rate::new(5, Duration::from_secs(900)))
        );
        assert_eq!(Rate::parse("2/s"), Ok(Rate::new(2, Duration::from_secs(1))));
        assert!(Rate::parse("0").unwrap().is_unlimited());
        assert!(Rate::parse("off").unwrap().is_unlimited());
        assert!(Rate::parse("30").is_err());
        assert!(Rate::parse("x/min").is_err());
        assert!(Rate::parse("3/0s").is_err());
        assert_eq!(parse_clock_offset("-1h"), Ok(-3600));
        assert_eq!(parse_clock_offset("+30m"), Ok(1800));
        assert_eq!(parse_clock_offset("90s"), Ok(90));
        assert_eq!(parse_clock_offset("0"), Ok(0));
        assert!(parse_clock_offset("-soon").is_err());
        assert_eq!(parse_max_score("100"), Ok(100.0));
        for bad in ["0", "-5", "inf", "NaN", "1e13", "many"] {
            assert!(parse_max_score(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn weak_jwt_secrets_are_refused() {
        for weak in [
            "",
            "change-me",
            "bench-secret",
            "test-secret",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
            "0123456789012345678901234567890123456789",
            "change-me-change-me-change-me-change-me",
            "passwordpasswordpasswordpassword",
            "secretsecretsecretsecretsecretsecret",
            "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6",
        ] {
            assert!(
                Secret::new(weak).check_strength().is_err(),
                "{weak:?} was accepted ({} bits)",
                estimated_bits(weak.as_bytes())
            );
        }
        for strong in [
            Secret::random().unwrap().expose().to_owned(),
            // `openssl rand -base64 32`, `openssl rand -hex 16`
            "q3Vw0Pz8mYk1+fJ2xR6tLhN9bGcD4sQeUaZiWoT7E5A=".to_owned(),
            "3f9a0c7b51e2d8466e0b9f2a4c1d7e85".to_owned(),
            // The end-to-end suite's fixed secret.
            "quizpulse-e2e-secret-0123456789abcdef".to_owned(),
        ] {
            assert_eq!(
                Secret::new(strong.as_str()).check_strength(),
                Ok(()),
                "{strong:?}: {} bits",
                estimated_bits(strong.as_bytes())
            );
        }
    }

    #[test]
    fn secrets_do_not_leak_into_debug() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(..)");
        assert_eq!(Secret::random().unwrap().expose().len(), 64);
    }
}
