//! Messages from extension pages (popup, options, tabs): each is decoded as the core's
//! [`Command`]. A ping is answered here; every other command goes to the client.

use quizpulse::messages::{Command, CommandError, WorkerMessage};

/// This build's version, reported in [`WorkerMessage::Pong`].
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The answer to a message from anything but the extension's own pages (a content
/// script, another extension).
pub const NOT_FROM_A_PAGE: &str = "QuizPulse takes commands only from its own pages";

/// The answer to a message that is not JSON data.
pub const NOT_JSON: &str = "a message must be JSON data";

/// What to do with one message.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// Answer at once (a ping, or a message that is not a command).
    Answer(WorkerMessage),
    /// Hand it to the client; the answer is the state after it.
    Carry(Command),
}

/// Decodes one message, given as JSON text: never a panic, a bad one gets an error
/// that says why.
pub fn classify(text: &str) -> Incoming {
    match Command::from_json(text) {
        Ok(Command::Ping) => Incoming::Answer(WorkerMessage::Pong {
            version: VERSION.to_owned(),
        }),
        Ok(command) => Incoming::Carry(command),
        Err(CommandError::NotJson(_)) => Incoming::Answer(WorkerMessage::Error {
            message: NOT_JSON.into(),
        }),
        Err(err) => Incoming::Answer(WorkerMessage::Error {
            message: err.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quizpulse::wire::QuizId;
    use serde_json::{Value, json};

    fn answer(raw: Value) -> Value {
        match classify(&raw.to_string()) {
            Incoming::Answer(message) => serde_json::to_value(message).unwrap(),
            Incoming::Carry(command) => panic!("{command:?} is carried, not answered"),
        }
    }

    #[test]
    fn text_that_is_not_json_is_answered_with_an_error() {
        assert_eq!(
            classify("{\"type\": "),
            Incoming::Answer(WorkerMessage::Error {
                message: NOT_JSON.into()
            })
        );
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
    fn commands_go_to_the_client() {
        assert_eq!(
            classify(&json!({"type": "follow", "quiz_id": 7}).to_string()),
            Incoming::Carry(Command::Follow {
                quiz_id: QuizId::from("7")
            })
        );
        assert_eq!(
            classify(&json!({"type": "sign_out"}).to_string()),
            Incoming::Carry(Command::SignOut)
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
