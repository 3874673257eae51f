//! The connection states the UI shows (popup dot, badge, options page).

use serde::{Deserialize, Serialize};

use crate::json::ToJson;
use crate::messages::need;
use crate::text::{Text, k};
use crate::time::Timestamp;

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
        reason: Text,
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
    reason: Option<Text>,
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
    /// A short sentence for the popup's strip and the badge tooltip ("Connection lost:
    /// retry 2 of 5 in 3 s"), as the adapters' catalogs word it.
    pub fn describe(&self, now: Timestamp) -> Text {
        match self {
            ConnState::SignedOut => Text::new("conn_signed_out"),
            ConnState::Connecting => Text::new("conn_connecting"),
            ConnState::Connected { .. } => Text::new("conn_live"),
            ConnState::Retrying {
                attempt,
                of,
                next_at,
            } => Text::new("conn_retrying")
                .number(i64::from(*attempt))
                .number(i64::from(*of))
                .span(next_at.saturating_since(now)),
            ConnState::Suspended { next_at } => {
                Text::new("conn_suspended").span(next_at.saturating_since(now))
            }
            ConnState::AuthFailed { reason } => Text::new("conn_auth_failed").text(reason.clone()),
            ConnState::Offline => Text::new("conn_offline"),
        }
    }

    /// Whether the socket is open.
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnState::Connected { .. })
    }

    /// The popup's connection indicator's name ("Connection: retrying"), one message
    /// per kind of state: signed out, connecting, connected, retrying, offline or auth
    /// failed. Spent quick retries count as offline (the server is unreachable; a slow
    /// retry is still due).
    pub fn name(&self) -> Text {
        Text::new(match self {
            ConnState::SignedOut => k("conn_name_signed_out"),
            ConnState::Connecting => k("conn_name_connecting"),
            ConnState::Connected { .. } => k("conn_name_connected"),
            ConnState::Retrying { .. } => k("conn_name_retrying"),
            ConnState::Suspended { .. } | ConnState::Offline => k("conn_name_offline"),
            ConnState::AuthFailed { .. } => k("conn_name_auth_failed"),
        })
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
    fn every_state_has_its_name_and_only_down_states_offer_retry_now() {
        let at = Timestamp::from_secs(10);
        let cases = [
            (ConnState::SignedOut, "conn_name_signed_out", false),
            (ConnState::Connecting, "conn_name_connecting", false),
            (
                ConnState::Connected { since: at },
                "conn_name_connected",
                false,
            ),
            (
                ConnState::Retrying {
                    attempt: 2,
                    of: 5,
                    next_at: at,
                },
                "conn_name_retrying",
                true,
            ),
            (
                ConnState::Suspended { next_at: at },
                "conn_name_offline",
                true,
            ),
            (
                ConnState::AuthFailed {
                    reason: Text::new("auth_expired"),
                },
                "conn_name_auth_failed",
                false,
            ),
            (ConnState::Offline, "conn_name_offline", true),
        ];
        for (state, name, retry) in cases {
            assert_eq!(state.name(), Text::new(name), "{state:?}");
            assert_eq!(state.can_retry_now(), retry, "{state:?}");
        }
    }

    #[test]
    fn the_sentence_says_when_the_next_try_comes() {
        let retrying = ConnState::Retrying {
            attempt: 2,
            of: 5,
            next_at: Timestamp::from_secs(13),
        };
        assert_eq!(
            retrying.describe(Timestamp::from_secs(10)),
            Text::new("conn_retrying")
                .number(2)
                .number(5)
                .span(std::time::Duration::from_secs(3))
        );
        // Past its time it says "in 0 s", never a negative span.
        let suspended = ConnState::Suspended {
            next_at: Timestamp::from_secs(5),
        };
        assert_eq!(
            suspended.describe(Timestamp::from_secs(10)),
            Text::new("conn_suspended").span(std::time::Duration::ZERO)
        );
    }
}
