//! Messages between extension pages (popup, options, tabs) and the service worker,
//! over `chrome.runtime.sendMessage`.
//!
//! These few types live here until the core crate's `messages` module takes them over;
//! the JSON shape (`{"type": "ping"}` → `{"type": "pong", "version": "…"}`) stays.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// This crate's version, reported in [`Response::Pong`].
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A one-shot request to the service worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Is the worker up, and which version is it?
    Ping,
}

/// The service worker's answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::Ping`].
    Pong {
        /// The worker's crate version.
        version: String,
    },
    /// The request was not understood; `message` says why.
    Error {
        /// A human-readable reason.
        message: String,
    },
}

/// Why a raw message is not a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The message is not a JSON object with a string `type`.
    #[error("a message must be an object with a string \"type\"")]
    NoType,
    /// The `type` is not one the worker knows.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// The `type` is known but the fields do not fit it.
    #[error("malformed {kind:?} message: {reason}")]
    Malformed {
        /// The message's `type`.
        kind: String,
        /// What serde said.
        reason: String,
    },
}

impl Request {
    /// Reads a request from the JSON an extension page sent.
    pub fn from_json(raw: Value) -> Result<Self, MessageError> {
        let kind = raw
            .get("type")
            .and_then(Value::as_str)
            .ok_or(MessageError::NoType)?
            .to_string();
        serde_json::from_value(raw).map_err(|err| {
            if err.to_string().starts_with("unknown variant") {
                MessageError::UnknownType(kind)
            } else {
                MessageError::Malformed {
                    kind,
                    reason: err.to_string(),
                }
            }
        })
    }
}

/// Answers one raw message: a [`Response`] for every input, never a panic.
pub fn respond(raw: Value) -> Response {
    match Request::from_json(raw) {
        Ok(Request::Ping) => Response::Pong {
            version: VERSION.to_string(),
        },
        Err(err) => Response::Error {
            message: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ping_gets_pong_with_the_crate_version() {
        let response = respond(json!({"type": "ping"}));
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"type": "pong", "version": env!("CARGO_PKG_VERSION")})
        );
    }

    #[test]
    fn unknown_fields_on_a_ping_are_ignored() {
        assert_eq!(
            respond(json!({"type": "ping", "from": "popup"})),
            Response::Pong {
                version: VERSION.into()
            }
        );
    }

    #[test]
    fn anything_else_gets_an_error_that_says_why() {
        assert_eq!(
            respond(json!({"type": "launch_rockets"})),
            Response::Error {
                message: "unknown message type \"launch_rockets\"".into()
            }
        );
        assert_eq!(
            respond(json!("ping")),
            Response::Error {
                message: MessageError::NoType.to_string()
            }
        );
        assert_eq!(
            respond(json!({"kind": "ping"})),
            Response::Error {
                message: MessageError::NoType.to_string()
            }
        );
    }
}
