//! QuizPulse core: every decision the extension makes, with no I/O and no clock.
//!
//! The adapters (the service worker and the popup) feed [`client::Client`] with
//! events through its `handle_*(…, now)` methods and carry out the
//! [`client::Action`]s it returns from [`client::Client::poll_action`]; the core
//! never touches a browser API, a socket or a clock. See `ARCHITECTURE.md`.

pub mod backoff;
pub mod badge;
pub mod cache;
pub mod client;
pub mod conn;
pub mod events;
pub mod jwt;
pub mod messages;
pub mod notify;
pub mod rng;
pub mod settings;
pub mod sim;
pub mod subscriptions;
pub mod time;
pub mod wire;

pub use client::{Action, Client, ClientConfig, FetchRequest, PersistKey, StartInfo, StoredState};
pub use conn::ConnState;
pub use time::Timestamp;
