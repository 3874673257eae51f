//! Load generator for any server of the QuizPulse contract (ours or a Django
//! Channels backend): it signs in with the credentials it is given, opens N
//! sockets that follow one quiz, and measures what `cargo xtask bench` reports:
//!
//! - [`run`]: server memory per socket, fan-out latency (upload → last socket's
//!   `quiz_leaderboard_updated`) over sequential uploads, and sustained
//!   deliveries per second at a rising upload rate;
//! - [`storm`]: connection attempts per second while the server restarts under
//!   the sockets, with the core's jittered backoff or without jitter.
//!
//! Loopback only; every loop is bounded in count and time.

pub mod fleet;
pub mod frame;
pub mod reader;
pub mod run;
pub mod stats;
pub mod storm;
pub mod sys;
pub mod target;
pub mod wire;

/// What can go wrong in a bench run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad arguments.
    #[error("usage: {0}")]
    Usage(String),
    /// A REST call failed or answered something unexpected.
    #[error("http: {0}")]
    Http(String),
    /// A socket could not be opened or subscribed.
    #[error("socket: {0}")]
    Socket(String),
    /// The OS refused (limits, process memory).
    #[error("system: {0}")]
    Io(#[from] std::io::Error),
}

/// Signs in every credential; the access tokens, in order.
pub async fn sign_in_all(
    target: &target::Target,
    credentials: &[target::Credential],
) -> Result<Vec<String>, Error> {
    if credentials.is_empty() {
        return Err(Error::Usage(
            "give at least one --user USER:PASSWORD".to_owned(),
        ));
    }
    let mut tokens = Vec::with_capacity(credentials.len());
    for credential in credentials {
        tokens.push(target.sign_in(credential).await?);
    }
    Ok(tokens)
}
