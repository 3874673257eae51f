//! The connection event log: a ring buffer of the last connection events (attempts,
//! opens, close codes, errors, token refreshes) with their times, shown on the options
//! page's troubleshooting view and copyable as text for a bug report.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::text::{Arg, Text, k};
use crate::time::Timestamp;

/// How many entries the log keeps.
pub const EVENT_LOG_CAPACITY: usize = 50;

/// One thing that happened to the connection. Only its text ([`ConnEvent::text`]) is
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
        message: Text,
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
        message: Text,
    },
}

impl ConnEvent {
    /// What happened, for the log's reader to put into words. The machine part (URLs,
    /// close codes, `seq` numbers, what the server or the browser said) is carried as
    /// it is, for bug reports.
    pub fn text(&self) -> Text {
        match self {
            ConnEvent::Attempt { attempt: 0, url } => {
                Text::new("log_connecting").plain(url.as_str())
            }
            ConnEvent::Attempt { attempt, url } => Text::new("log_connecting_retry")
                .plain(url.as_str())
                .number(i64::from(*attempt)),
            ConnEvent::Opened => Text::new("log_connected"),
            ConnEvent::Closed {
                code,
                reason,
                was_open,
            } => {
                let key = match (*was_open, reason.is_empty()) {
                    (true, true) => k("log_closed"),
                    (true, false) => k("log_closed_reason"),
                    (false, true) => k("log_failed_early"),
                    (false, false) => k("log_failed_early_reason"),
                };
                let text = Text::new(key)
                    .plain(code.to_string())
                    .text(close_text(*code));
                if reason.is_empty() {
                    text
                } else {
                    text.plain(reason.as_str())
                }
            }
            ConnEvent::ClosedByUs { code, reason } => Text::new("log_closed_by_us")
                .plain(code.to_string())
                .text(our_reason(reason)),
            ConnEvent::SocketError => Text::new("log_socket_error"),
            ConnEvent::RetryScheduled {
                in_secs,
                attempt: Some(a),
            } => Text::new("log_retry")
                .number(i64::from(*a))
                .number(i64::from(QUICK_RETRIES))
                .span(Duration::from_secs(*in_secs)),
            ConnEvent::RetryScheduled {
                in_secs,
                attempt: None,
            } => Text::new("log_retry_slow")
                .number(i64::from(QUICK_RETRIES))
                .span(Duration::from_secs(*in_secs)),
            ConnEvent::TokenRefreshed => Text::new("log_token_refreshed"),
            ConnEvent::RefreshFailed { message } => {
                Text::new("log_refresh_failed").text(message.clone())
            }
            ConnEvent::BadMessage { message } => {
                Text::new("log_bad_message").plain(message.as_str())
            }
            ConnEvent::ServerError { message } => {
                Text::new("log_server_error").plain(message.as_str())
            }
            ConnEvent::KeepaliveTimeout => Text::new("log_keepalive_timeout"),
            ConnEvent::SubscriptionUnconfirmed { quiz_id } => {
                Text::new("log_subscription_unconfirmed").plain(quiz_id.as_str())
            }
            ConnEvent::SequenceGap { expected, got } => Text::new("log_sequence_gap")
                .plain(expected.to_string())
                .plain(got.to_string()),
            ConnEvent::Network { online: true } => Text::new("log_online"),
            ConnEvent::Network { online: false } => Text::new("log_offline"),
            ConnEvent::Note { message } => message.clone(),
        }
    }
}

/// The quick retries the log counts ("retry 2 of 5").
const QUICK_RETRIES: u32 = 5;

/// Why the client closed its socket: the reason it sent (to the server, in the close
/// frame), as a message for the log.
fn our_reason(reason: &str) -> Text {
    Text::new(match reason {
        "signed out" => k("close_why_signed_out"),
        "server changed" => k("close_why_server_changed"),
        "socket URL changed" => k("close_why_socket_changed"),
        "sign-in refused" => k("close_why_sign_in_refused"),
        "connect timeout" => k("close_why_connect_timeout"),
        "keepalive timeout" => k("close_why_keepalive_timeout"),
        other => return Text::plain_text(other),
    })
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
                message: redact_text(message),
            },
            ConnEvent::BadMessage { message } => ConnEvent::BadMessage {
                message: clean(message),
            },
            ConnEvent::ServerError { message } => ConnEvent::ServerError {
                message: clean(message),
            },
            ConnEvent::Note { message } => ConnEvent::Note {
                message: redact_text(message),
            },
            other => other,
        }
    }
}

/// A [`Text`] with [`redact_secrets`] applied to every outside text in it.
pub fn redact_text(mut text: Text) -> Text {
    redact_in(&mut text);
    text
}

fn redact_in(text: &mut Text) {
    for arg in &mut text.args {
        match arg {
            Arg::Plain(plain) => {
                if let Cow::Owned(clean) = redact_secrets(plain) {
                    *plain = clean;
                }
            }
            Arg::Text(inner) => redact_in(inner),
            _ => {}
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
pub fn close_text(code: u16) -> Text {
    Text::new(match code {
        1000 => k("close_1000"),
        1001 => k("close_1001"),
        1002 => k("close_1002"),
        1003 => k("close_1003"),
        1005 => k("close_1005"),
        1006 => k("close_1006"),
        1007 => k("close_1007"),
        1008 => k("close_1008"),
        1009 => k("close_1009"),
        1011 => k("close_1011"),
        1012 => k("close_1012"),
        1013 => k("close_1013"),
        1015 => k("close_1015"),
        4001 => k("close_4001"),
        4003 => k("close_4003"),
        _ => k("close_unknown"),
    })
}

/// A timestamped [`ConnEvent`]. JSON (stored, and in snapshots): `{"at", "text"}`, the
/// text typed ([`ConnEvent::text`]); two entries are equal when those are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    /// When it happened.
    pub at: Timestamp,
    /// What happened: the value for entries logged in this worker's life, `None` for
    /// entries restored from storage (only their sentence is kept).
    #[serde(skip)]
    pub event: Option<ConnEvent>,
    /// What happened, for people.
    pub text: Text,
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

impl crate::json::ToJson for LogEntry {
    fn write_json(&self, out: &mut String) {
        crate::json::push(out, r#"{"at":"#);
        self.at.write_json(out);
        crate::json::push(out, r#","text":"#);
        self.text.write_json(out);
        out.push('}');
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
        let text = event.text();
        self.restore(LogEntry {
            at,
            event: Some(event),
            text,
        });
    }

    /// Appends an entry as it was stored (or logged), dropping the oldest when full.
    pub fn restore(&mut self, mut entry: LogEntry) {
        entry.text = redact_text(entry.text);
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
                message: Text::new("x").text(Text::plain_text(format!(
                    "new WebSocket failed: SyntaxError: The URL 'ws://a b/?token={jwt}' is invalid."
                ))),
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
            text: Text::plain_text(format!("stored: ?token={jwt}")),
        });
        // Every outside text of every entry, as the copy for a bug report has them.
        let text = serde_json::to_string(&log.entries().collect::<Vec<_>>()).unwrap();
        assert!(!text.contains(&jwt), "{text}");
        assert!(!text.contains("abc"), "{text}");
        assert!(
            text.contains("ws://a b/?token=[token]' is invalid."),
            "{text}"
        );
        assert!(text.contains("stored: ?token=[token]"), "{text}");
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
    fn event_log_keeps_the_last_fifty_with_what_happened_typed() {
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
        let entry = log.entries().next().unwrap();
        assert_eq!(
            entry.text,
            Text::new("log_closed_reason")
                .plain("4001")
                .text(Text::new("close_4001"))
                .plain("token expired")
        );
        // Stored and read back, typed.
        let json = serde_json::to_string(entry).unwrap();
        assert_eq!(
            <LogEntry as crate::json::FromJson>::from_json_text(&json).unwrap(),
            *entry
        );
        // The reasons the client closes with are said in words; others as they are.
        assert_eq!(
            ConnEvent::ClosedByUs {
                code: 1000,
                reason: "signed out".into()
            }
            .text(),
            Text::new("log_closed_by_us")
                .plain("1000")
                .text(Text::new("close_why_signed_out"))
        );
        assert_eq!(our_reason("bye"), Text::plain_text("bye"));
    }
}
