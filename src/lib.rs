//! QuizPulse core: every decision the extension makes, with no I/O and no clock.
//!
//! The adapters (the service worker and the popup) feed [`client::Client`] with
//! events through its `handle_*(…, now)` methods and carry out the
//! [`client::Action`]s it returns from [`client::Client::poll_action`]; the core
//! never touches a browser API, a socket or a clock. See `ARCHITECTURE.md`.
//!
//! ```
//! use quizpulse::{Action, Client, ClientConfig, StartInfo, StoredState, Timestamp};
//!
//! let mut client = Client::new(ClientConfig::default());
//! let now = Timestamp::from_millis(1_795_672_800_000); // Date.now()
//! let info = StartInfo { stored: StoredState::default(), online: true, utc_offset_minutes: 0 };
//! client.handle_start(info, now);
//! while let Some(action) = client.poll_action() {
//!     match action {
//!         Action::SetBadge(badge) => assert_eq!(badge.text, "?"), // signed out
//!         Action::Publish { snapshot, .. } => assert!(snapshot.account.is_none()),
//!         Action::ScheduleAlarm { at } => assert_eq!(at, None), // clears a stale alarm
//!         Action::Persist { key, .. } => assert_eq!(key.storage_key(), "quizpulse.event_log"),
//!         other => panic!("nothing else to do when signed out: {other:?}"),
//!     }
//! }
//! assert_eq!(client.poll_timeout(), None); // no timer needed
//! ```

pub mod backoff;
pub mod badge;
pub mod cache;
pub mod client;
pub mod conn;
pub mod events;
pub mod json;
pub mod jwt;
pub mod messages;
pub mod moves;
pub mod notify;
pub mod rng;
pub mod settings;
pub mod sim;
pub mod small;
pub mod subscriptions;
pub mod text;
pub mod time;
pub mod wire;

pub use client::{Action, Client, ClientConfig, FetchRequest, PersistKey, StartInfo, StoredState};
pub use conn::ConnState;
pub use text::{Arg, Text};
pub use time::Timestamp;
