//! Answers to messages from extension pages (popup, options, tabs): each message is
//! decoded as the core's [`Command`] and answered with the core's [`WorkerMessage`].

use quizpulse::messages::{Command, WorkerMessage};
use serde_json::Value;

/// This build's version, reported in [`WorkerMessage::Pong`].
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Answers one message: a [`WorkerMessage`] for every input, never a panic.
///
/// The worker does not run the core's client yet, so a command other than
/// [`Command::Ping`] is answered with an error that says it was not carried out.
pub fn respond(raw: Value) -> WorkerMessage {
    match Command::from_value(raw) {
        Ok(Command::Ping) => WorkerMessage::Pong {
            version: VERSION.to_owned(),
        },
        Ok(command) => WorkerMessage::Error {
            message: format!(
                "the service worker does not run the live client yet: {:?} was not carried out",
                command.kind()
            ),
        },
        Err(err) => WorkerMessage::Error {
            message: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(raw: Value) -> Value {
        serde_json::to_value(respond(raw)).unwrap()
    }

    #[test]
    fn ping_gets_pong_with_the_crate_version() {
        assert_eq!(
            answer(json!({"type": "ping"})),
            json!({"type": "pong", "version": env!("CARGO_PKG_VERSION")})
        );
        assert_eq!(
            answer(json!({"type": "ping", "from": "popup"})),
            json!({"type": "pong", "version": VERSION})
        );
    }

    #[test]
    fn other_commands_are_refused_by_name() {
        assert_eq!(
            answer(json!({"type": "follow", "quiz_id": 7})),
            json!({
                "type": "error",
                "message": "the service worker does not run the live client yet: \"follow\" was not carried out"
            })
        );
    }

    #[test]
    fn anything_else_gets_an_error_that_says_why() {
        assert_eq!(
            answer(json!({"type": "launch_rockets"})),
            json!({"type": "error", "message": "unknown message type \"launch_rockets\""})
        );
        assert_eq!(
            answer(json!("ping")),
            json!({"type": "error", "message": "a message must be an object with a string \"type\""})
        );
        assert_eq!(
            answer(json!({"type": "follow"})),
            json!({"type": "error", "message": "malformed \"follow\" message: missing field `quiz_id`"})
        );
    }
}
