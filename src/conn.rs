//! The connection states the UI shows (popup dot, badge, options page).

use serde::{Deserialize, Serialize};

use crate::json::ToJson;
use crate::messages::need;
use crate::time::{Timestamp, human_duration};

/// Where the live connection stands, as the user sees it.
///
/// JSON: `{"state": "retrying", "attempt": 2, "of": 5, "next_at": …}`. Decoding reads a
/// flat record and checks it ([`RawConnState`]) rather than serde's buffered
/// internally-tagged decoding, which costs the wasm pages a lot of code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "RawConnState")]
pub enum ConnState {
    /// No tokens: sign in first.
    SignedOut,
    /// A socket is opening (or a token is being fetched for it).
    Connecting,
    /// The socket is open.
    Connected {
        /// Since when.
        since: Timestamp,
    },
    /// Quick retries: `attempt` of `of` comes at `next_at`.
    Retrying {
        /// Which quick retry is next (1-based).
        attempt: u32,
        /// How many quick retries there are (5).
        of: u32,
        /// When it comes.
        next_at: Timestamp,
    },
    /// The quick retries are spent; a slow retry (30 s to 5 min) comes at `next_at`.
    Suspended {
        /// When the next try comes.
        next_at: Timestamp,
    },
    /// The server rejected the sign-in (close 4003, or the refresh token was refused,
    /// or 4001 again right after a refresh): nothing happens until the user signs in.
    AuthFailed {
        /// What happened, for people.
        reason: String,
    },
    /// The browser is offline; the connection comes back when it is online.
    Offline,
}

/// The JSON fields of every [`ConnState`], for decoding.
#[derive(Deserialize)]
pub struct RawConnState {
    state: String,
    since: Option<Timestamp>,
    attempt: Option<u32>,
    of: Option<u32>,
    next_at: Option<Timestamp>,
    reason: Option<String>,
}

crate::from_json_struct!(RawConnState {
    state: req,
    since: opt,
    attempt: opt,
    of: opt,
    next_at: opt,
    reason: opt,
});

impl crate::json::FromJson for ConnState {
    fn from_json(json: crate::json::Json) -> Result<Self, serde_json::Error> {
        ConnState::try_from(RawConnState::from_json(json)?).map_err(serde::de::Error::custom)
    }
}

impl ToJson for ConnState {
    fn write_json(&self, out: &mut String) {
        use crate::json::push;
        match self {
            ConnState::SignedOut => push(out, r#"{"state":"signed_out"}"#),
            ConnState::Connecting => push(out, r#"{"state":"connecting"}"#),
            ConnState::Connected { since } => {
                push(out, r#"{"state":"connected","since":"#);
                since.write_json(out);
                out.push('}');
            }
            ConnState::Retrying {
                attempt,
                of,
                next_at,
            } => {
                push(out, r#"{"state":"retrying","attempt":"#);
                attempt.write_json(out);
                push(out, r#","of":"#);
                of.write_json(out);
                push(out, r#","next_at":"#);
                next_at.write_json(out);
                out.push('}');
            }
            ConnState::Suspended { next_at } => {
                push(out, r#"{"state":"suspended","next_at":"#);
                next_at.write_json(out);
                out.push('}');
            }
            ConnState::AuthFailed { reason } => {
                push(out, r#"{"state":"auth_failed","reason":"#);
                reason.write_json(out);
                out.push('}');
            }
            ConnState::Offline => push(out, r#"{"state":"offline"}"#),
        }
    }
}

impl TryFrom<RawConnState> for ConnState {
    type Error = String;

    fn try_from(r: RawConnState) -> Result<Self, String> {
        Ok(match r.state.as_str() {
            "signed_out" => ConnState::SignedOut,
            "connecting" => ConnState::Connecting,
            "connected" => ConnState::Connected {
                since: need(r.since, "since")?,
            },
            "retrying" => ConnState::Retrying {
                attempt: need(r.attempt, "attempt")?,
                of: need(r.of, "of")?,
                next_at: need(r.next_at, "next_at")?,
            },
            "suspended" => ConnState::Suspended {
                next_at: need(r.next_at, "next_at")?,
            },
            "auth_failed" => ConnState::AuthFailed {
                reason: need(r.reason, "reason")?,
            },
            "offline" => ConnState::Offline,
            other => return Err(format!("unknown connection state `{other}`")),
        })
    }
}

impl ConnState {
    /// A short sentence for the popup and the badge tooltip.
    pub fn describe(&self, now: Timestamp) -> String {
        match self {
            ConnState::SignedOut => "Signed out: sign in to see live leaderboards".into(),
            ConnState::Connecting => "Connecting…".into(),
            ConnState::Connected { .. } => "Live".into(),
            ConnState::Retrying {
                attempt,
                of,
                next_at,
            } => format!(
                "Connection lost: retry {attempt} of {of} in {}",
                human_duration(next_at.saturating_since(now))
            ),
            ConnState::Suspended { next_at } => format!(
                "Server unreachable: next try in {}",
                human_duration(next_at.saturating_since(now))
            ),
            ConnState::AuthFailed { reason } => format!("Sign-in needed: {reason}"),
            ConnState::Offline => "Offline: waiting for the network".into(),
        }
    }

    /// Whether the socket is open.
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnState::Connected { .. })
    }

    /// The state in one or two words, for the popup's connection indicator
    /// ("Connection: retrying"): `connected`, `connecting`, `retrying`, `offline`,
    /// `signed out` or `auth failed`. Spent quick retries count as `offline` (the
    /// server is unreachable; a slow retry is still due).
    pub fn word(&self) -> &'static str {
        match self {
            ConnState::SignedOut => "signed out",
            ConnState::Connecting => "connecting",
            ConnState::Connected { .. } => "connected",
            ConnState::Retrying { .. } => "retrying",
            ConnState::Suspended { .. } | ConnState::Offline => "offline",
            ConnState::AuthFailed { .. } => "auth failed",
        }
    }

    /// Whether "Retry now" can do something: the socket is down and will be retried.
    pub fn can_retry_now(&self) -> bool {
        matches!(
            self,
            ConnState::Retrying { .. } | ConnState::Suspended { .. } | ConnState::Offline
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_its_word_and_only_down_states_offer_retry_now() {
        let at = Timestamp::from_secs(10);
        let cases = [
            (ConnState::SignedOut, "signed out", false),
            (ConnState::Connecting, "connecting", false),
            (ConnState::Connected { since: at }, "connected", false),
            (
                ConnState::Retrying {
                    attempt: 2,
                    of: 5,
                    next_at: at,
                },
                "retrying",
                true,
            ),
            (ConnState::Suspended { next_at: at }, "offline", true),
            (
                ConnState::AuthFailed {
                    reason: "refused".into(),
                },
                "auth failed",
                false,
            ),
            (ConnState::Offline, "offline", true),
        ];
        for (state, word, retry) in cases {
            assert_eq!(state.word(), word, "{state:?}");
            assert_eq!(state.can_retry_now(), retry, "{state:?}");
        }
    }
}
