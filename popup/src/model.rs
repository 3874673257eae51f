//! What the pages show, as plain data: parsed from storage and the worker's answers,
//! testable natively. The shapes here are provisional: the core crate's `messages`
//! and settings modules take them over.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The connection state shown by the dot in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Nobody is signed in: no connection is attempted.
    SignedOut,
    /// A connection is being opened.
    Connecting,
    /// The live connection is up.
    Online,
    /// The connection is down and will be retried.
    Offline,
    /// The server refused the credentials.
    AuthInvalid,
}

impl Connection {
    /// Reads the snapshot's `connection` field, the core's `ConnState`
    /// (`{"state": "connected", ...}`; a bare string is read the same way). Anything
    /// unknown counts as signed out.
    pub fn from_snapshot(snapshot: Option<&Value>) -> Self {
        let connection = snapshot.and_then(|s| s.get("connection"));
        let state = connection
            .and_then(|c| c.get("state"))
            .or(connection)
            .and_then(Value::as_str);
        match state {
            Some("connecting" | "retrying") => Self::Connecting,
            Some("connected") => Self::Online,
            Some("offline" | "suspended") => Self::Offline,
            Some("auth_failed") => Self::AuthInvalid,
            _ => Self::SignedOut,
        }
    }

    /// The words next to the dot.
    pub fn label(self) -> &'static str {
        match self {
            Self::SignedOut => "Signed out",
            Self::Connecting => "Connecting…",
            Self::Online => "Live",
            Self::Offline => "Offline",
            Self::AuthInvalid => "Sign-in expired",
        }
    }

    /// The CSS modifier that colours the dot.
    pub fn css(self) -> &'static str {
        match self {
            Self::SignedOut => "status status--signed-out",
            Self::Connecting => "status status--connecting",
            Self::Online => "status status--online",
            Self::Offline => "status status--offline",
            Self::AuthInvalid => "status status--auth",
        }
    }
}

/// What the worker said to a ping, for the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerStatus {
    /// No answer yet.
    Asking,
    /// It answered with its version.
    Ready(String),
    /// It did not answer, or answered with an error.
    Unavailable(String),
}

impl WorkerStatus {
    /// Reads the worker's answer to `{"type":"ping"}`.
    pub fn from_pong(answer: &Value) -> Self {
        match (
            answer.get("type").and_then(Value::as_str),
            answer.get("version").and_then(Value::as_str),
        ) {
            (Some("pong"), Some(version)) => Self::Ready(version.to_string()),
            _ => Self::Unavailable(
                answer
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unexpected answer")
                    .to_string(),
            ),
        }
    }
}

/// The settings the options page edits, stored under `chrome.storage.local` key
/// [`Settings::KEY`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The quiz platform's base URL, e.g. `https://quiz.example.org`.
    #[serde(default)]
    pub server_url: Option<String>,
}

impl Settings {
    /// The storage key.
    pub const KEY: &'static str = "settings";
}

/// Why a server address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerUrlError {
    /// Nothing was typed.
    #[error("Enter the address of your quiz server.")]
    Empty,
    /// It is not an http(s) URL with a host.
    #[error("Enter a full address starting with https:// (or http:// for a local server).")]
    NotHttp,
}

/// A first check of a typed server address: trimmed, `http(s)://host…`, no trailing
/// slash. The core's settings validation replaces this.
pub fn normalize_server_url(input: &str) -> Result<String, ServerUrlError> {
    let url = input.trim();
    if url.is_empty() {
        return Err(ServerUrlError::Empty);
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(ServerUrlError::NotHttp)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('@') {
        return Err(ServerUrlError::NotHttp);
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The host names a manifest's `host_permissions` grant, for display
/// (`http://127.0.0.1/*` → `127.0.0.1`).
pub fn granted_hosts(manifest: &Value) -> Vec<String> {
    manifest
        .get("host_permissions")
        .and_then(Value::as_array)
        .map(|patterns| {
            patterns
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|p| p.split_once("://").map(|(_, rest)| rest))
                .map(|rest| rest.split('/').next().unwrap_or_default().to_string())
                .filter(|host| !host.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn no_snapshot_means_signed_out() {
        assert_eq!(Connection::from_snapshot(None), Connection::SignedOut);
        assert_eq!(
            Connection::from_snapshot(Some(&json!({}))),
            Connection::SignedOut
        );
        let state =
            |connection| Connection::from_snapshot(Some(&json!({ "connection": connection })));
        assert_eq!(
            state(json!({"state": "connected", "since": 1})),
            Connection::Online
        );
        assert_eq!(
            state(json!({"state": "auth_failed", "reason": "x"})),
            Connection::AuthInvalid
        );
        assert_eq!(
            state(json!({"state": "suspended", "next_at": 1})),
            Connection::Offline
        );
        assert_eq!(state(json!("retrying")), Connection::Connecting);
        assert_eq!(state(json!({"state": "signed_out"})), Connection::SignedOut);
    }

    #[test]
    fn pong_and_errors() {
        assert_eq!(
            WorkerStatus::from_pong(&json!({"type": "pong", "version": "0.1.0"})),
            WorkerStatus::Ready("0.1.0".into())
        );
        assert_eq!(
            WorkerStatus::from_pong(&json!({"type": "error", "message": "nope"})),
            WorkerStatus::Unavailable("nope".into())
        );
    }

    #[test]
    fn server_urls() {
        assert_eq!(
            normalize_server_url(" https://quiz.example.org/ "),
            Ok("https://quiz.example.org".into())
        );
        assert_eq!(
            normalize_server_url("http://127.0.0.1:8000"),
            Ok("http://127.0.0.1:8000".into())
        );
        assert_eq!(normalize_server_url(""), Err(ServerUrlError::Empty));
        assert_eq!(
            normalize_server_url("quiz.example.org"),
            Err(ServerUrlError::NotHttp)
        );
        assert_eq!(
            normalize_server_url("https://"),
            Err(ServerUrlError::NotHttp)
        );
        assert_eq!(
            normalize_server_url("ftp://x.org"),
            Err(ServerUrlError::NotHttp)
        );
    }

    #[test]
    fn hosts_from_the_manifest() {
        let manifest = json!({"host_permissions": ["http://127.0.0.1/*", "http://localhost/*"]});
        assert_eq!(granted_hosts(&manifest), vec!["127.0.0.1", "localhost"]);
        assert!(granted_hosts(&json!({})).is_empty());
    }
}
