//! The values the client hands to the adapter and the facts it gets at start:
//! actions, requests, storage keys.

use super::*;

/// Identifies one socket the client asked for.
pub type SocketId = u64;
/// Identifies one HTTP request the client asked for.
pub type RequestId = u64;

/// The storage keys the client persists to (all JSON), each in its [`StorageArea`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersistKey {
    /// [`Settings`].
    Settings,
    /// The tokens and sign-in state ([`AuthRecord`]); never leaves the worker.
    Auth,
    /// Follow toggles and seen quizzes ([`FollowState`]).
    Follows,
    /// `muted_until` (a [`Timestamp`] or `null`).
    Mute,
    /// Notification id → the URL a click opens.
    NotificationTargets,
    /// The connection event log (a list of [`crate::events::LogEntry`]), so the
    /// troubleshooting view survives a worker restart.
    EventLog,
    /// The current outage ([`Outage`]), so a restarted worker neither notifies a lost
    /// connection twice nor forgets to say it is back.
    Outage,
    /// The reconnect backoff ([`RetryPlan`]), so a worker stopped between retries goes
    /// on with it instead of starting over.
    Retry,
}

/// What is stored under [`PersistKey::Retry`]: where the reconnect backoff stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryPlan {
    /// Failed attempts since the last stable connection.
    pub attempt: u32,
    /// Slow retries since the quick ones ran out.
    pub slow_n: u32,
    /// When the next attempt is due (the adapter's clock), if one is planned.
    pub next_at: Option<Timestamp>,
}
crate::json_struct!(RetryPlan default {
    attempt,
    slow_n,
    next_at,
});

/// What is stored under [`PersistKey::Outage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Outage {
    /// Since when the connection is lost (`None`: not lost).
    pub since: Option<Timestamp>,
    /// Whether the user was notified that it stays lost (then "back" is notified too).
    pub notified: bool,
}

crate::json_struct!(Outage default {
    since,
    notified,
});

/// Which `chrome.storage` area a key lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageArea {
    /// `chrome.storage.local`: survives browser restarts.
    Local,
    /// `chrome.storage.session`: survives worker restarts, not browser restarts.
    Session,
    /// Survives browser restarts like [`StorageArea::Local`], but only the extension's
    /// own pages and worker can read it (never a content script): the sign-in's tokens.
    Secrets,
}

impl PersistKey {
    /// Every key, for loading them all at start.
    pub const ALL: [PersistKey; 8] = [
        PersistKey::Settings,
        PersistKey::Auth,
        PersistKey::Follows,
        PersistKey::Mute,
        PersistKey::NotificationTargets,
        PersistKey::EventLog,
        PersistKey::Outage,
        PersistKey::Retry,
    ];

    /// The storage key string.
    pub fn storage_key(self) -> &'static str {
        match self {
            PersistKey::Settings => "quizpulse.settings",
            PersistKey::Auth => "quizpulse.auth",
            PersistKey::Follows => "quizpulse.follows",
            PersistKey::Mute => "quizpulse.mute",
            PersistKey::NotificationTargets => "quizpulse.notification_targets",
            PersistKey::EventLog => "quizpulse.event_log",
            PersistKey::Outage => "quizpulse.outage",
            PersistKey::Retry => "quizpulse.retry",
        }
    }

    /// The storage area.
    pub fn area(self) -> StorageArea {
        match self {
            PersistKey::EventLog | PersistKey::Outage | PersistKey::Retry => StorageArea::Session,
            PersistKey::Auth => StorageArea::Secrets,
            _ => StorageArea::Local,
        }
    }
}

/// What is stored under [`PersistKey::Auth`].
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthRecord {
    /// The tokens, when signed in.
    pub tokens: Option<TokenPair>,
    /// The username given at sign-in.
    pub username: Option<String>,
    /// Why the sign-in was refused, when it was (the state survives restarts).
    pub failed: Option<Text>,
    /// The refresh token (by its `exp` claim) already warned about (warn once).
    pub warned_expiry: Option<Timestamp>,
    /// When the access token was received (the adapter's clock).
    pub access_received: Option<Timestamp>,
    /// When the refresh token was received (the adapter's clock).
    pub refresh_received: Option<Timestamp>,
    /// No token refresh before this (the adapter's clock): the floor survives restarts.
    pub refresh_not_before: Option<Timestamp>,
    /// The REST origin the tokens were issued by and may be sent to.
    pub server: Option<String>,
    /// The socket origin the access token may be sent to.
    pub socket: Option<String>,
}

crate::json_struct!(AuthRecord default {
    tokens,
    username,
    failed,
    warned_expiry,
    access_received,
    refresh_received,
    refresh_not_before,
    server,
    socket,
});

impl fmt::Debug for AuthRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRecord")
            .field("signed_in", &self.tokens.is_some())
            .field("username", &self.username)
            .field("failed", &self.failed)
            .field("server", &self.server)
            .field("socket", &self.socket)
            .finish()
    }
}

/// What the adapter read from storage at start: raw JSON per key (missing keys absent).
/// Unreadable values are logged and replaced by defaults, never fatal.
#[derive(Clone, Default)]
pub struct StoredState {
    /// JSON text per key.
    pub values: VecMap<PersistKey, String>,
}

impl StoredState {
    /// Adds one stored value.
    pub fn with(mut self, key: PersistKey, json: impl Into<String>) -> Self {
        self.values.insert(key, json.into());
        self
    }
}

/// Facts the adapter knows at worker start.
#[derive(Debug, Clone)]
pub struct StartInfo {
    /// What storage held.
    pub stored: StoredState,
    /// `navigator.onLine`.
    pub online: bool,
    /// The local zone's offset east of UTC in minutes (`-new Date().getTimezoneOffset()`).
    pub utc_offset_minutes: i32,
}

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// GET.
    Get,
    /// POST (JSON body).
    Post,
}

/// What a request is for (the adapter need not care; it helps logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestPurpose {
    /// `POST /api/token/`.
    SignIn,
    /// `POST /api/token/refresh/`.
    Refresh,
    /// A REST read.
    Query(QueryKey),
    /// The token step of "test connection".
    TestToken,
}

/// An HTTP request to perform; report the outcome with [`Client::handle_fetch_completed`].
#[derive(Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// Pass it back with the result.
    pub id: RequestId,
    /// What it is for.
    pub purpose: RequestPurpose,
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Path and query relative to the server's origin.
    pub path: String,
    /// JSON body for POST (`Content-Type: application/json`).
    pub body: Option<String>,
    /// `Authorization: Bearer <this>` when set.
    pub bearer: Option<String>,
}

impl fmt::Debug for FetchRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchRequest")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("has_body", &self.body.is_some())
            .field("bearer", &self.bearer.as_ref().map(|_| ".."))
            .finish()
    }
}

/// What the adapter must do. Carry actions out in the order they come.
///
/// `Debug` output redacts secrets (the token in a socket URL, the stored sign-in), so
/// actions may be logged.
#[derive(Clone, PartialEq)]
pub enum Action {
    /// Open a WebSocket to `url` (the token is in its query) and report its events with `socket`.
    OpenSocket {
        /// Its id.
        socket: SocketId,
        /// The URL.
        url: String,
    },
    /// Close that socket (if it is still there).
    CloseSocket {
        /// Its id.
        socket: SocketId,
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Send a text frame on that socket (drop it if the socket is gone).
    Send {
        /// Its id.
        socket: SocketId,
        /// The frame.
        text: String,
    },
    /// Perform an HTTP request.
    Fetch(FetchRequest),
    /// Create (or replace, same id) a browser notification.
    Notify(Notification),
    /// Remove a browser notification.
    ClearNotification {
        /// Its id.
        id: String,
    },
    /// Focus a tab showing `url`, or open one.
    OpenTab {
        /// The page.
        url: String,
    },
    /// Write JSON under a `chrome.storage.local` key.
    Persist {
        /// Which key.
        key: PersistKey,
        /// The value.
        json: String,
    },
    /// Set the toolbar badge.
    SetBadge(Badge),
    /// Set the wake-up alarm (one alarm, replaced each time) or clear it (`None`).
    ScheduleAlarm {
        /// When to call [`Client::handle_alarm`].
        at: Option<Timestamp>,
    },
    /// Check whether the extension may access `pattern`; answer with
    /// [`Client::handle_host_access`].
    CheckHostAccess {
        /// A match pattern like `https://quiz.example.com/*`.
        pattern: String,
    },
    /// Hand the new state to its targets: every open popup port (`to_popup`) and
    /// `chrome.storage.session` under [`SNAPSHOT_KEY`] (`to_storage`), so the next popup
    /// paints at once. The core throttles both: the popup gets at most one snapshot per
    /// [`PUBLISH_POPUP_EVERY`], storage one per [`PUBLISH_STORAGE_EVERY`]; the last state
    /// of a burst always follows (by timer). At least one flag is set.
    Publish {
        /// The state.
        snapshot: Box<Snapshot>,
        /// Post it on every open popup port.
        to_popup: bool,
        /// Write it to `chrome.storage.session` under [`SNAPSHOT_KEY`] (as JSON text, like
        /// every [`Action::Persist`]).
        to_storage: bool,
    },
}

/// The `chrome.storage.session` key of the last published snapshot (JSON text), which a
/// popup reads to paint before the worker's port answers.
pub const SNAPSHOT_KEY: &str = "quizpulse.snapshot";

/// The popup gets at most one snapshot this often (the last one of a burst follows).
pub const PUBLISH_POPUP_EVERY: Duration = Duration::from_millis(100);

/// The toolbar badge is set at most this often (the last state of a burst follows).
pub const BADGE_EVERY: Duration = Duration::from_millis(250);

/// `chrome.storage.session` gets at most one snapshot this often.
pub const PUBLISH_STORAGE_EVERY: Duration = Duration::from_secs(1);

impl fmt::Debug for StoredState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

/// `…?token=<jwt>` → `…?token=..`.
fn redact_url(url: &str) -> String {
    match url.split_once("?token=") {
        Some((base, _)) => format!("{base}?token=.."),
        None => url.to_owned(),
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::OpenSocket { socket, url } => f
                .debug_struct("OpenSocket")
                .field("socket", socket)
                .field("url", &redact_url(url))
                .finish(),
            Action::CloseSocket {
                socket,
                code,
                reason,
            } => f
                .debug_struct("CloseSocket")
                .field("socket", socket)
                .field("code", code)
                .field("reason", reason)
                .finish(),
            Action::Send { socket, text } => f
                .debug_struct("Send")
                .field("socket", socket)
                .field("text", text)
                .finish(),
            Action::Fetch(r) => f.debug_tuple("Fetch").field(r).finish(),
            Action::Notify(n) => f.debug_tuple("Notify").field(n).finish(),
            Action::ClearNotification { id } => {
                f.debug_struct("ClearNotification").field("id", id).finish()
            }
            Action::OpenTab { url } => f.debug_struct("OpenTab").field("url", url).finish(),
            Action::Persist { key, json } => {
                let shown: &str = if *key == PersistKey::Auth { ".." } else { json };
                f.debug_struct("Persist")
                    .field("key", key)
                    .field("json", &shown)
                    .finish()
            }
            Action::SetBadge(b) => f.debug_tuple("SetBadge").field(b).finish(),
            Action::ScheduleAlarm { at } => {
                f.debug_struct("ScheduleAlarm").field("at", at).finish()
            }
            Action::CheckHostAccess { pattern } => f
                .debug_struct("CheckHostAccess")
                .field("pattern", pattern)
                .finish(),
            Action::Publish {
                to_popup,
                to_storage,
                ..
            } => f
                .debug_struct("Publish")
                .field("to_popup", to_popup)
                .field("to_storage", to_storage)
                .finish_non_exhaustive(),
        }
    }
}
