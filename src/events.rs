//! The connection event log: a ring buffer of the last connection events (attempts,
//! opens, close codes, errors, token refreshes) with their times, shown on the options
//! page's troubleshooting view and copyable as text for a bug report.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// How many entries the log keeps.
pub const EVENT_LOG_CAPACITY: usize = 50;

/// One thing that happened to the connection. Only its sentence ([`fmt::Display`]) is
/// stored and shown; the value stays in memory for the core and its tests.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    /// A socket was asked for. `attempt` 0 is a first try, 1..=5 quick retries,
    /// above that slow retries.
    Attempt {
        /// Which attempt.
        attempt: u32,
        /// The socket URL without the token.
        url: String,
    },
    /// The socket opened.
    Opened,
    /// The socket closed.
    Closed {
        /// WebSocket close code.
        code: u16,
        /// Close reason, possibly empty.
        reason: String,
        /// Whether it had opened first.
        was_open: bool,
    },
    /// The client closed the socket itself.
    ClosedByUs {
        /// Code sent.
        code: u16,
        /// Why.
        reason: String,
    },
    /// A socket error event (browsers give no detail; the close that follows has the code).
    SocketError,
    /// A retry was scheduled.
    RetryScheduled {
        /// Seconds until it.
        in_secs: u64,
        /// Quick retry number, or `None` for the slow retry.
        attempt: Option<u32>,
    },
    /// The access token was refreshed.
    TokenRefreshed,
    /// A refresh failed.
    RefreshFailed {
        /// What went wrong.
        message: String,
    },
    /// A server message could not be decoded (it was ignored).
    BadMessage {
        /// The decoder's complaint.
        message: String,
    },
    /// The server sent an `error` message.
    ServerError {
        /// Its text.
        message: String,
    },
    /// The server answered pings before and stopped: the connection is presumed dead.
    KeepaliveTimeout,
    /// A subscription was not confirmed in time.
    SubscriptionUnconfirmed {
        /// The quiz.
        quiz_id: String,
    },
    /// `seq` jumped: messages were missed, everything shown is refetched.
    SequenceGap {
        /// The `seq` expected.
        expected: u64,
        /// The `seq` received.
        got: u64,
    },
    /// The browser reported going offline or online.
    Network {
        /// `true` for online.
        online: bool,
    },
    /// Anything else worth a line.
    Note {
        /// The line.
        message: String,
    },
}

impl fmt::Display for ConnEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnEvent::Attempt { attempt: 0, url } => write!(f, "connecting to {url}"),
            ConnEvent::Attempt { attempt, url } => {
                write!(f, "connecting to {url} (retry {attempt})")
            }
            ConnEvent::Opened => f.write_str("connected"),
            ConnEvent::Closed {
                code,
                reason,
                was_open,
            } => {
                let when = if *was_open {
                    "closed"
                } else {
                    "failed before opening"
                };
                write!(f, "{when}: code {code} ({})", close_code_meaning(*code))?;
                if !reason.is_empty() {
                    write!(f, ", reason \"{reason}\"")?;
                }
                Ok(())
            }
            ConnEvent::ClosedByUs { code, reason } => {
                write!(f, "closed by QuizPulse: code {code}, {reason}")
            }
            ConnEvent::SocketError => {
                f.write_str("socket error (details follow in the close code)")
            }
            ConnEvent::RetryScheduled {
                in_secs,
                attempt: Some(a),
            } => {
                write!(f, "retry {a} of 5 in {in_secs} s")
            }
            ConnEvent::RetryScheduled {
                in_secs,
                attempt: None,
            } => {
                write!(
                    f,
                    "server unreachable after 5 retries; next try in {in_secs} s"
                )
            }
            ConnEvent::TokenRefreshed => f.write_str("access token refreshed"),
            ConnEvent::RefreshFailed { message } => write!(f, "token refresh failed: {message}"),
            ConnEvent::BadMessage { message } => write!(f, "ignored a server message: {message}"),
            ConnEvent::ServerError { message } => write!(f, "server said error: {message}"),
            ConnEvent::KeepaliveTimeout => {
                f.write_str("no answer to keepalive pings: connection presumed dead")
            }
            ConnEvent::SubscriptionUnconfirmed { quiz_id } => {
                write!(
                    f,
                    "subscription to quiz {quiz_id} not confirmed by the server"
                )
            }
            ConnEvent::SequenceGap { expected, got } => {
                write!(
                    f,
                    "missed server messages (seq {expected} expected, {got} received); refetching"
                )
            }
            ConnEvent::Network { online: true } => f.write_str("browser is online"),
            ConnEvent::Network { online: false } => f.write_str("browser is offline"),
            ConnEvent::Note { message } => f.write_str(message),
        }
    }
}

impl ConnEvent {
    /// The event with every text that came from outside (the browser, the server)
    /// passed through [`redact_secrets`].
    fn redacted(self) -> ConnEvent {
        let clean = |t: String| match redact_secrets(&t) {
            Cow::Borrowed(_) => t,
            Cow::Owned(c) => c,
        };
        match self {
            ConnEvent::Attempt { attempt, url } => ConnEvent::Attempt {
                attempt,
                url: clean(url),
            },
            ConnEvent::Closed {
                code,
                reason,
                was_open,
            } => ConnEvent::Closed {
                code,
                reason: clean(reason),
                was_open,
            },
            ConnEvent::RefreshFailed { message } => ConnEvent::RefreshFailed {
                message: clean(message),
            },
            ConnEvent::BadMessage { message } => ConnEvent::BadMessage {
                message: clean(message),
            },
            ConnEvent::ServerError { message } => ConnEvent::ServerError {
                message: clean(message),
            },
            ConnEvent::Note { message } => ConnEvent::Note {
                message: clean(message),
            },
            other => other,
        }
    }
}

/// Cuts secrets out of a text bound for the log: the value of any `token=` parameter
/// (a socket URL the browser echoes in an error) and anything shaped like a JWT
/// (`eyJ…` in three dot-separated base64url parts) become `[token]`.
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '%');
    let looks_like_jwt = |w: &str| w.starts_with("eyJ") && w.matches('.').count() >= 2;
    if !text.to_ascii_lowercase().contains("token=") && !text.contains("eyJ") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.find(is_word).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        let after_token_param = out
            .as_bytes()
            .rchunks(6)
            .next()
            .is_some_and(|tail| tail.eq_ignore_ascii_case(b"token="));
        if after_token_param || looks_like_jwt(word) {
            out.push_str("[token]");
        } else {
            out.push_str(word);
        }
    }
    Cow::Owned(out)
}

/// What a WebSocket close code means, in a few words.
pub fn close_code_meaning(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "server going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no code given",
        1006 => "connection lost or refused",
        1007 => "invalid data",
        1008 => "policy violation",
        1009 => "message too big",
        1011 => "server error",
        1012 => "server restarting",
        1013 => "try again later",
        1015 => "TLS handshake failed",
        4001 => "token invalid or expired",
        4003 => "forbidden",
        _ => "unknown code",
    }
}

/// A timestamped [`ConnEvent`]. JSON (stored, and in snapshots): `{"at", "text"}`;
/// two entries are equal when those are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    /// When it happened.
    pub at: Timestamp,
    /// What happened: the value for entries logged in this worker's life, `None` for
    /// entries restored from storage (only their sentence is kept).
    #[serde(skip)]
    pub event: Option<ConnEvent>,
    /// What happened, as a sentence.
    pub text: String,
}

impl crate::json::FromJson for LogEntry {
    fn from_json(json: crate::json::Json) -> Result<Self, serde_json::Error> {
        let mut obj = crate::json::Object::new(json, "struct LogEntry")?;
        Ok(LogEntry {
            at: obj.req("at")?,
            event: None,
            text: obj.req("text")?,
        })
    }
}

impl PartialEq for LogEntry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.text == other.text
    }
}

/// The ring buffer of the last [`EVENT_LOG_CAPACITY`] events.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    entries: VecDeque<LogEntry>,
    total: usize,
}

impl EventLog {
    /// Appends an event, dropping the oldest when full. Secrets are cut out of its
    /// texts first (see [`redact_secrets`]): the log is copied into bug reports.
    pub fn push(&mut self, at: Timestamp, event: ConnEvent) {
        let event = event.redacted();
        let text = event.to_string();
        self.restore(LogEntry {
            at,
            event: Some(event),
            text,
        });
    }

    /// Appends an entry as it was stored (or logged), dropping the oldest when full.
    pub fn restore(&mut self, mut entry: LogEntry) {
        if let Cow::Owned(clean) = redact_secrets(&entry.text) {
            entry.text = clean;
        }
        if self.entries.len() == EVENT_LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        self.total = self.total.wrapping_add(1);
    }

    /// Oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// How many events were ever pushed (changes whenever the log does).
    pub fn total(&self) -> usize {
        self.total
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The log as plain text, one `time  sentence` line per entry, for a bug report.
    pub fn to_text(&self) -> String {
        entries_to_text(self.entries.iter())
    }
}

/// Formats entries as `2026-11-26T06:30:00Z  connected` lines.
pub fn entries_to_text<'a>(entries: impl Iterator<Item = &'a LogEntry>) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&e.at.to_rfc3339());
        out.push_str("  ");
        out.push_str(&e.text);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_token_reaches_the_log() {
        let jwt = crate::sim::token(
            "access",
            "7",
            Timestamp::from_secs(1),
            Timestamp::from_secs(2),
        );
        let mut log = EventLog::default();
        log.push(
            Timestamp::ZERO,
            ConnEvent::Note {
                message: format!(
                    "new WebSocket failed: SyntaxError: The URL 'ws://a b/?token={jwt}' is invalid."
                ),
            },
        );
        log.push(
            Timestamp::ZERO,
            ConnEvent::ServerError {
                message: format!("bad token {jwt}, try TOKEN=abc&x=1"),
            },
        );
        log.restore(LogEntry {
            at: Timestamp::ZERO,
            event: None,
            text: format!("stored: ?token={jwt}"),
        });
        let text = log.to_text();
        assert!(!text.contains(&jwt), "{text}");
        assert!(!text.contains("abc"), "{text}");
        assert!(
            text.contains("ws://a b/?token=[token]' is invalid."),
            "{text}"
        );
        assert!(text.contains("TOKEN=[token]&x=1"), "{text}");
        for e in log.entries() {
            assert!(!format!("{:?}", e.event).contains(&jwt));
        }
        // Ordinary texts pass untouched.
        assert!(matches!(
            redact_secrets("closed: code 1006"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn event_log_keeps_the_last_fifty_and_copies_as_text() {
        let mut log = EventLog::default();
        for i in 0..60u64 {
            log.push(
                Timestamp::from_secs(i),
                ConnEvent::Attempt {
                    attempt: 0,
                    url: "ws://x/".into(),
                },
            );
        }
        assert_eq!(log.len(), EVENT_LOG_CAPACITY);
        assert_eq!(
            log.entries().next().map(|e| e.at),
            Some(Timestamp::from_secs(10))
        );
        let mut log = EventLog::default();
        log.push(
            Timestamp::from_secs(0),
            ConnEvent::Closed {
                code: 4001,
                reason: "token expired".into(),
                was_open: true,
            },
        );
        assert_eq!(
            log.to_text(),
            "1970-01-01T00:00:00Z  closed: code 4001 (token invalid or expired), reason \"token expired\"\n"
        );
    }
}
