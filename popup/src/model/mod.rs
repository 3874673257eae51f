//! What the pages show, as plain data: parsed from storage and the worker's answers,
//! testable natively. Settings and messages are the core's own types.

use quizpulse::PersistKey;
use quizpulse::messages::WorkerMessage;
use quizpulse::settings::Settings;
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
    /// Reads the worker's answer to [`quizpulse::messages::Command::Ping`].
    pub fn from_answer(answer: WorkerMessage) -> Self {
        match answer {
            WorkerMessage::Pong { version } => Self::Ready(version),
            WorkerMessage::Error { message } => Self::Unavailable(message),
            WorkerMessage::Snapshot { .. } => {
                Self::Unavailable("it answered with a snapshot instead of a pong".into())
            }
        }
    }
}

/// The `chrome.storage.local` key of the settings: the one the core reads at start.
pub fn settings_key() -> &'static str {
    PersistKey::Settings.storage_key()
}

/// Stored settings that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The stored settings cannot be read ({0}); saving replaces them.")]
pub struct StoredSettingsError(String);

/// Reads what [`settings_key`] holds: the core's [`Settings`] as JSON text, exactly
/// what the core's `Action::Persist` writes. Nothing stored means the defaults.
pub fn stored_settings(stored: Option<Value>) -> Result<Settings, StoredSettingsError> {
    match stored {
        None => Ok(Settings::default()),
        Some(Value::String(json)) => {
            serde_json::from_str(&json).map_err(|e| StoredSettingsError(e.to_string()))
        }
        Some(_) => Err(StoredSettingsError("not JSON text".into())),
    }
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
            WorkerStatus::from_answer(WorkerMessage::Pong {
                version: "0.1.0".into()
            }),
            WorkerStatus::Ready("0.1.0".into())
        );
        assert_eq!(
            WorkerStatus::from_answer(WorkerMessage::Error {
                message: "nope".into()
            }),
            WorkerStatus::Unavailable("nope".into())
        );
    }

    #[test]
    fn settings_are_the_cores_json_text_under_the_cores_key() {
        assert_eq!(settings_key(), "quizpulse.settings");
        assert_eq!(stored_settings(None), Ok(Settings::default()));
        let saved = Settings {
            server_url: "https://quiz.example.org".into(),
            board_limit: 25,
            ..Settings::default()
        };
        let json = serde_json::to_string(&saved).unwrap();
        assert_eq!(stored_settings(Some(Value::String(json))), Ok(saved));
        assert!(stored_settings(Some(json!({"server_url": "https://x.example"}))).is_err());
        assert!(stored_settings(Some(json!("{not json"))).is_err());
    }

    #[test]
    fn hosts_from_the_manifest() {
        let manifest = json!({"host_permissions": ["http://127.0.0.1/*", "http://localhost/*"]});
        assert_eq!(granted_hosts(&manifest), vec!["127.0.0.1", "localhost"]);
        assert!(granted_hosts(&json!({})).is_empty());
    }
}
