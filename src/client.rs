//! The sans-IO client: every decision the extension makes, driven by inputs and read
//! out as actions, in the shape of `quinn-proto`'s `Connection`.
//!
//! - Inputs are `handle_*(…, now)` calls (browser events, socket events, fetch results,
//!   timers, popup commands). `now` is the adapter's clock (`Date.now()`); it must not go
//!   backwards.
//! - After every input, drain [`Client::poll_action`] and carry each [`Action`] out in
//!   order, then ask [`Client::poll_timeout`] when to call [`Client::handle_timeout`].
//! - Nothing here performs I/O, reads a clock or keeps a handle: the adapter executes
//!   values and reports back, the core decides.
//!
//! Sockets and requests carry ids ([`SocketId`], [`RequestId`]); an event about a socket
//! or a request the client no longer cares about is ignored, so a late `close` from a
//! socket that was already replaced cannot disturb the new one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backoff::Backoff;
use crate::badge::{Badge, BadgeInput, badge};
use crate::cache::{Cache, CacheTiming, Completion, FetchReason, FetchResult, QueryData, QueryKey};
use crate::conn::ConnState;
use crate::events::{ConnEvent, EventLog, LogEntry, close_code_meaning};
use crate::jwt::decode_claims;
use crate::messages::{
    Account, Command, QueryView, QuizRow, SignInStatus, Snapshot, StepStatus, SubscriptionStatus,
    TestStep,
};
use crate::notify::{Alert, AlertContext, MUTE_SPAN, Notification, Notifier, ToastLevel};
use crate::rng::Rng;
use crate::settings::Settings;
use crate::subscriptions::{FollowState, Outbox, SubChange, Subscriptions, TabId};
use crate::time::{Timestamp, human_duration};
use crate::wire::{
    ApiError, ClientMessage, Performance, QuizId, RefreshRequest, RefreshResponse, ServerFrame,
    ServerMessage, TokenPair, TokenRequest,
};

/// Identifies one socket the client asked for.
pub type SocketId = u64;
/// Identifies one HTTP request the client asked for.
pub type RequestId = u64;

/// Close code the client sends when it gives up on a socket itself (dead keepalive,
/// connect timeout). Browsers allow 1000 and 3000–4999 in `close()`.
pub const CLOSE_CLIENT_GAVE_UP: u16 = 4000;
/// Close code for a deliberate, final close (sign-out, settings change).
pub const CLOSE_NORMAL: u16 = 1000;

/// Timing and policy numbers. [`ClientConfig::default`] is the design brief's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Seed of the jitter RNG (the adapter passes random bits; tests a constant).
    pub seed: u64,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Keepalive ping interval (20 s).
    pub keepalive: Duration,
    /// How long a ping may go unanswered once the server has answered pings (10 s).
    pub pong_timeout: Duration,
    /// How long a socket may take to open (15 s).
    pub connect_timeout: Duration,
    /// How long a `subscribe_quiz` may go unconfirmed before it is sent again (10 s).
    pub confirm_timeout: Duration,
    /// How long a connection must stay open before the retry counters reset (10 s).
    pub stable_after: Duration,
    /// Refresh the access token at the earlier of 80% of its remaining life and this
    /// long before `exp` (30 s).
    pub refresh_margin: Duration,
    /// Warn about the sign-in (refresh token) running out this long before (1 h, or a
    /// quarter of its lifetime when that is shorter).
    pub refresh_warning: Duration,
    /// Server events older than the connection by more than this never notify (30 s).
    pub event_grace: Duration,
    /// Refetch timing.
    pub cache: CacheTiming,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            seed: 0x5eed,
            backoff: Backoff::default(),
            keepalive: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(15),
            confirm_timeout: Duration::from_secs(10),
            stable_after: Duration::from_secs(10),
            refresh_margin: Duration::from_secs(30),
            refresh_warning: Duration::from_secs(3600),
            event_grace: Duration::from_secs(30),
            cache: CacheTiming::default(),
        }
    }
}

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
}

/// Which `chrome.storage` area a key lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageArea {
    /// `chrome.storage.local`: survives browser restarts.
    Local,
    /// `chrome.storage.session`: survives worker restarts, not browser restarts.
    Session,
}

impl PersistKey {
    /// Every key, for loading them all at start.
    pub const ALL: [PersistKey; 6] = [
        PersistKey::Settings,
        PersistKey::Auth,
        PersistKey::Follows,
        PersistKey::Mute,
        PersistKey::NotificationTargets,
        PersistKey::EventLog,
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
        }
    }

    /// The storage area.
    pub fn area(self) -> StorageArea {
        match self {
            PersistKey::EventLog => StorageArea::Session,
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
    pub failed: Option<String>,
    /// The refresh token expiry already warned about (warn once).
    pub warned_expiry: Option<Timestamp>,
}

impl fmt::Debug for AuthRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRecord")
            .field("signed_in", &self.tokens.is_some())
            .field("username", &self.username)
            .field("failed", &self.failed)
            .finish()
    }
}

/// What the adapter read from storage at start: raw JSON per key (missing keys absent).
/// Unreadable values are logged and replaced by defaults, never fatal.
#[derive(Clone, Default)]
pub struct StoredState {
    /// JSON text per key.
    pub values: BTreeMap<PersistKey, String>,
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
    /// Hand the popup (and `chrome.storage.session`) the new state.
    Publish(Box<Snapshot>),
}

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
            Action::Publish(_) => f.write_str("Publish(..)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Reconnect = 0,
    ConnectTimeout = 1,
    Keepalive = 2,
    PongDeadline = 3,
    Stable = 4,
    TokenRefresh = 5,
    ExpiryWarning = 6,
}

const TIMERS: [Timer; 7] = [
    Timer::Reconnect,
    Timer::ConnectTimeout,
    Timer::Keepalive,
    Timer::PongDeadline,
    Timer::Stable,
    Timer::TokenRefresh,
    Timer::ExpiryWarning,
];

#[derive(Debug, Clone, Default)]
struct TimerTable([Option<Timestamp>; 7]);

impl TimerTable {
    fn set(&mut self, t: Timer, at: Timestamp) {
        self.0[t as usize] = Some(at);
    }
    fn stop(&mut self, t: Timer) {
        self.0[t as usize] = None;
    }
    fn get(&self, t: Timer) -> Option<Timestamp> {
        self.0[t as usize]
    }
    fn expired(&self, t: Timer, now: Timestamp) -> bool {
        self.0[t as usize].is_some_and(|at| at <= now)
    }
    fn next(&self) -> Option<Timestamp> {
        self.0.iter().flatten().min().copied()
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Transient: the socket just went away and no plan is made yet.
    Idle,
    SignedOut,
    AuthFailed(String),
    Offline,
    /// Wants to connect once a fresh access token arrives.
    AwaitingToken,
    Connecting {
        socket: SocketId,
    },
    Open {
        socket: SocketId,
        since: Timestamp,
    },
    /// Quick retry `attempt` (1-based) at the Reconnect timer.
    Backoff {
        attempt: u32,
    },
    /// Slow retry at the Reconnect timer (and the alarm).
    Suspended,
}

/// How a connection ended, for the retry decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// Count it and back off.
    Normal,
    /// The server is going away or restarting: come back in 1–5 s.
    Soon,
}

struct Auth {
    tokens: TokenPair,
    access_exp: Option<Timestamp>,
    refresh_exp: Option<Timestamp>,
    refresh_iat: Option<Timestamp>,
    user_id: Option<String>,
    username: Option<String>,
    warned_expiry: Option<Timestamp>,
}

impl Auth {
    fn new(tokens: TokenPair, username: Option<String>, warned_expiry: Option<Timestamp>) -> Auth {
        let access = decode_claims(&tokens.access).ok();
        let refresh = decode_claims(&tokens.refresh).ok();
        Auth {
            access_exp: access.as_ref().and_then(|c| c.expires_at()),
            user_id: access.as_ref().and_then(|c| c.user_id.clone()),
            refresh_exp: refresh.as_ref().and_then(|c| c.expires_at()),
            refresh_iat: refresh.as_ref().and_then(|c| c.issued_at()),
            tokens,
            username,
            warned_expiry,
        }
    }

    /// Expired or about to (within 5 s): not worth opening a socket with.
    fn access_expired(&self, now: Timestamp) -> bool {
        self.access_exp
            .is_some_and(|exp| now + Duration::from_secs(5) >= exp)
    }
}

/// Per-connection state, reset at every open.
#[derive(Debug, Clone, Default)]
struct Live {
    next_ping: u64,
    /// Quizzes subscribed on this socket.
    sent: BTreeSet<QuizId>,
    /// Awaiting confirmation: deadline, and whether it was already resent.
    unconfirmed: BTreeMap<QuizId, (Timestamp, bool)>,
    confirmed: BTreeSet<QuizId>,
    failed_confirm: BTreeSet<QuizId>,
    last_seq: Option<u64>,
    /// Server clock minus ours, from `sent_at` (ms).
    skew_ms: i64,
    got_message: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshWhy {
    Scheduled,
    /// Before a connect, or after 4001 / 1006-before-open.
    ForSocket,
    /// A REST read got 401.
    ForRest,
}

#[derive(Debug, Clone)]
struct TestRun {
    steps: Vec<TestStep>,
}

impl TestRun {
    fn new() -> TestRun {
        let step = |name: &str| TestStep {
            name: name.into(),
            status: StepStatus::Waiting,
            detail: String::new(),
        };
        TestRun {
            steps: vec![
                step("Server URL"),
                step("Host access"),
                step("Sign-in token"),
                step("Live socket"),
            ],
        }
    }

    fn current(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.status == StepStatus::Running)
    }

    fn set(&mut self, i: usize, status: StepStatus, detail: String) {
        if let Some(s) = self.steps.get_mut(i) {
            s.status = status;
            s.detail = detail;
        }
        if status == StepStatus::Failed {
            for s in self.steps.iter_mut().skip(i + 1) {
                s.status = StepStatus::Skipped;
            }
        } else if status == StepStatus::Passed
            && let Some(next) = self.steps.get_mut(i + 1)
        {
            next.status = StepStatus::Running;
        }
    }
}

/// The QuizPulse client state machine. See the module docs for the calling convention.
pub struct Client {
    config: ClientConfig,
    rng: Rng,
    settings: Settings,
    settings_error: Option<String>,
    auth: Option<Auth>,
    phase: Phase,
    online: bool,
    utc_offset_minutes: i32,
    /// Failed connection attempts since the last stable connection.
    attempt: u32,
    /// Slow retries since the quick ones ran out.
    slow_n: u32,
    /// A token refresh was already spent on a 4001 / 1006-before-open.
    auth_retry_used: bool,
    /// The server answered a ping at least once: silence now means a dead connection.
    server_pongs: bool,
    live: Live,
    last_message_at: Option<Timestamp>,
    next_socket: SocketId,
    next_request: RequestId,
    requests: BTreeMap<RequestId, RequestPurpose>,
    refresh_in_flight: Option<(RequestId, RefreshWhy)>,
    refresh_failures: u32,
    sign_in: SignInStatus,
    pending_username: Option<String>,
    subs: Subscriptions,
    outbox: Outbox,
    cache: Cache,
    notifier: Notifier,
    events: EventLog,
    timers: TimerTable,
    active_tab: Option<TabId>,
    viewed_quizzes: BTreeSet<QuizId>,
    test: Option<TestRun>,
    actions: VecDeque<Action>,
    last_badge: Option<Badge>,
    last_alarm: Option<Option<Timestamp>>,
    last_published: Option<Snapshot>,
    persisted_follows: Option<FollowState>,
    /// Total events logged when the log was last persisted.
    persisted_log_len: Option<usize>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("phase", &self.phase)
            .field("signed_in", &self.auth.is_some())
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client in the signed-out state; call [`Client::handle_start`] next.
    pub fn new(config: ClientConfig) -> Client {
        Client {
            rng: Rng::new(config.seed),
            cache: Cache::new(config.cache.clone()),
            config,
            settings: Settings::default(),
            settings_error: None,
            auth: None,
            phase: Phase::SignedOut,
            online: true,
            utc_offset_minutes: 0,
            attempt: 0,
            slow_n: 0,
            auth_retry_used: false,
            server_pongs: false,
            live: Live::default(),
            last_message_at: None,
            next_socket: 0,
            next_request: 0,
            requests: BTreeMap::new(),
            refresh_in_flight: None,
            refresh_failures: 0,
            sign_in: SignInStatus::Idle,
            pending_username: None,
            subs: Subscriptions::default(),
            outbox: Outbox::default(),
            notifier: Notifier::default(),
            events: EventLog::default(),
            timers: TimerTable::default(),
            active_tab: None,
            viewed_quizzes: BTreeSet::new(),
            test: None,
            actions: VecDeque::new(),
            last_badge: None,
            last_alarm: None,
            last_published: None,
            persisted_follows: None,
            persisted_log_len: None,
        }
    }

    // ------------------------------------------------------------------ outputs

    /// The next thing to do, if any. Drain after every input.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Client::handle_timeout`] next (`None`: no timer needed).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let confirm = self.live.unconfirmed.values().map(|(at, _)| *at).min();
        let fetch = if self.fetches_held() {
            None
        } else {
            self.cache.next_due()
        };
        [
            self.timers.next(),
            fetch,
            self.notifier.next_deadline(),
            confirm,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The connection state the UI shows.
    pub fn state(&self) -> ConnState {
        match &self.phase {
            Phase::SignedOut => ConnState::SignedOut,
            Phase::AuthFailed(reason) => ConnState::AuthFailed {
                reason: reason.clone(),
            },
            Phase::Offline => ConnState::Offline,
            Phase::Idle | Phase::AwaitingToken | Phase::Connecting { .. } => ConnState::Connecting,
            Phase::Open { since, .. } => ConnState::Connected { since: *since },
            Phase::Backoff { attempt } => ConnState::Retrying {
                attempt: *attempt,
                of: self.config.backoff.quick_attempts,
                next_at: self.timers.get(Timer::Reconnect).unwrap_or_default(),
            },
            Phase::Suspended => ConnState::Suspended {
                next_at: self.timers.get(Timer::Reconnect).unwrap_or_default(),
            },
        }
    }

    /// The socket the client currently wants (connecting or open), if any.
    pub fn wanted_socket(&self) -> Option<SocketId> {
        match self.phase {
            Phase::Connecting { socket } | Phase::Open { socket, .. } => Some(socket),
            _ => None,
        }
    }

    /// The current settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The subscription registry.
    pub fn subscriptions(&self) -> &Subscriptions {
        &self.subs
    }

    /// The leaderboard cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The connection event log.
    pub fn event_log(&self) -> &EventLog {
        &self.events
    }

    /// Quizzes subscribed on the open socket.
    pub fn subscribed_on_socket(&self) -> &BTreeSet<QuizId> {
        &self.live.sent
    }

    /// Whether the client still waits for the answer to request `id` (an answer to a
    /// forgotten request, e.g. one from before a sign-out, is ignored).
    pub fn is_request_pending(&self, id: RequestId) -> bool {
        self.requests.contains_key(&id)
    }

    /// Unread alerts.
    pub fn unread(&self) -> u32 {
        self.notifier.unread()
    }

    // ------------------------------------------------------------------ inputs

    /// The worker started and storage was read. Restores settings, sign-in, follows,
    /// mute and notification targets, then connects at once when signed in (a worker
    /// start is one of the "reconnect now" moments).
    pub fn handle_start(&mut self, info: StartInfo, now: Timestamp) {
        self.online = info.online;
        self.utc_offset_minutes = info.utc_offset_minutes;
        let stored = info.stored.values;
        if let Some(json) = stored.get(&PersistKey::Settings) {
            match serde_json::from_str::<Settings>(json)
                .map_err(|e| e.to_string())
                .and_then(|s| s.validated().map_err(|e| e.to_string()))
            {
                Ok(s) => self.settings = s,
                Err(e) => self.note(
                    now,
                    format!("stored settings unreadable, defaults used ({e})"),
                ),
            }
        }
        if let Some(json) = stored.get(&PersistKey::Follows) {
            match serde_json::from_str::<FollowState>(json) {
                Ok(f) => {
                    self.persisted_follows = Some(f.clone());
                    self.subs = Subscriptions::from_state(f);
                }
                Err(e) => self.note(now, format!("stored follows unreadable ({e})")),
            }
        }
        let muted = stored
            .get(&PersistKey::Mute)
            .and_then(|j| serde_json::from_str::<Option<Timestamp>>(j).ok())
            .flatten();
        let targets = stored
            .get(&PersistKey::NotificationTargets)
            .and_then(|j| serde_json::from_str::<BTreeMap<String, String>>(j).ok())
            .unwrap_or_default();
        self.notifier = Notifier::restore(muted, targets);
        if let Some(entries) = stored
            .get(&PersistKey::EventLog)
            .and_then(|j| serde_json::from_str::<Vec<LogEntry>>(j).ok())
        {
            let mut log = EventLog::default();
            for e in entries {
                log.push(e.at, e.event);
            }
            self.events = log;
            self.persisted_log_len = Some(self.events.total());
        }
        self.note(now, "service worker started".into());
        let record = match stored
            .get(&PersistKey::Auth)
            .map(|j| serde_json::from_str::<AuthRecord>(j))
        {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                self.note(now, format!("stored sign-in unreadable ({e})"));
                AuthRecord::default()
            }
            None => AuthRecord::default(),
        };
        if let Some(tokens) = record.tokens {
            self.auth = Some(Auth::new(tokens, record.username, record.warned_expiry));
            self.phase = Phase::Offline;
            self.after_sign_in(now);
        } else if let Some(reason) = record.failed {
            self.phase = Phase::AuthFailed(reason);
        }
        self.finish(now);
    }

    /// Same as a start without storage changes: the worker woke up (e.g. `onStartup`).
    pub fn handle_worker_started(&mut self, now: Timestamp) {
        self.retry_now(now, false);
        self.finish(now);
    }

    /// A popup command.
    pub fn handle_command(&mut self, command: Command, now: Timestamp) {
        match command {
            Command::Ping => {}
            Command::Hello => {
                self.notifier.mark_read();
                self.retry_now(now, false);
            }
            Command::Follow { quiz_id } => {
                let changes = self.subs.follow(quiz_id);
                self.apply_sub_changes(changes, now);
                self.persist_follows();
            }
            Command::Unfollow { quiz_id } => {
                let changes = self.subs.unfollow(&quiz_id);
                self.apply_sub_changes(changes, now);
                self.persist_follows();
            }
            Command::RetryNow => {
                if matches!(self.phase, Phase::AuthFailed(_) | Phase::SignedOut) {
                    self.notifier
                        .toast("Sign in first.".into(), ToastLevel::Warning, now);
                } else {
                    self.retry_now(now, true);
                }
            }
            Command::SignIn {
                server,
                username,
                password,
            } => self.sign_in(server, username, password.0, now),
            Command::SignOut => self.sign_out(now, None),
            Command::MuteForAnHour => {
                self.notifier.mute_until(now + MUTE_SPAN);
                self.persist_mute(now);
            }
            Command::Unmute => {
                self.notifier.unmute();
                self.persist_mute(now);
            }
            Command::SaveSettings { settings } => self.save_settings(settings, now),
            Command::TestConnection => self.start_test(),
            Command::ViewQuiz { quiz_id } => {
                self.viewed_quizzes.insert(quiz_id.clone());
                if self.auth.is_some() {
                    self.cache.observe(QueryKey::QuizBoard(quiz_id), now);
                }
            }
            Command::CloseQuiz { quiz_id } => {
                self.viewed_quizzes.remove(&quiz_id);
                self.cache.unobserve(&QueryKey::QuizBoard(quiz_id));
            }
            Command::DismissToast { id } => {
                self.notifier.dismiss_toast(id);
            }
            Command::MarkRead => self.notifier.mark_read(),
        }
        self.finish(now);
    }

    /// The popup opened (its port connected): same as [`Command::Hello`].
    pub fn handle_popup_opened(&mut self, now: Timestamp) {
        self.handle_command(Command::Hello, now);
    }

    /// The popup's port disconnected.
    pub fn handle_popup_closed(&mut self, now: Timestamp) {
        for q in std::mem::take(&mut self.viewed_quizzes) {
            self.cache.unobserve(&QueryKey::QuizBoard(q));
        }
        self.finish(now);
    }

    /// The socket opened.
    pub fn handle_socket_opened(&mut self, socket: SocketId, now: Timestamp) {
        if self.phase != (Phase::Connecting { socket }) {
            return;
        }
        self.timers.stop(Timer::ConnectTimeout);
        self.timers.stop(Timer::Reconnect);
        self.phase = Phase::Open { socket, since: now };
        self.log(now, ConnEvent::Opened);
        self.live = Live::default();
        self.timers
            .set(Timer::Keepalive, now + self.config.keepalive);
        self.timers
            .set(Timer::Stable, now + self.config.stable_after);
        // The server's side of a new socket subscribes to nothing: send the full set.
        // Pending folded changes are covered by it (subscribes) or moot (unsubscribes).
        self.outbox.drain();
        for quiz in self.subs.wanted() {
            self.send_subscribe(socket, quiz, now);
        }
        // Delivery is at most once: whatever was missed while away is refetched.
        self.cache.resync_observed(now);
        if let Some(test) = &mut self.test
            && test.current() == Some(3)
        {
            test.set(
                3,
                StepStatus::Passed,
                format!("connected to {}", self.settings.socket_base()),
            );
        }
        self.finish(now);
    }

    /// A text frame arrived.
    pub fn handle_socket_message(&mut self, socket: SocketId, text: &str, now: Timestamp) {
        let Phase::Open {
            socket: open,
            since,
        } = self.phase
        else {
            return;
        };
        if open != socket {
            return;
        }
        self.last_message_at = Some(now);
        self.timers.stop(Timer::PongDeadline);
        if !self.live.got_message {
            self.live.got_message = true;
            // The server accepted the token: a later 4001 may spend a refresh again.
            self.auth_retry_used = false;
        }
        let frame = match ServerFrame::decode(text) {
            Ok(f) => f,
            Err(e) => {
                self.log(
                    now,
                    ConnEvent::BadMessage {
                        message: e.to_string(),
                    },
                );
                self.finish(now);
                return;
            }
        };
        if let Some(sent) = frame
            .sent_at
            .as_deref()
            .and_then(|s| Timestamp::parse_rfc3339(s).ok())
        {
            self.live.skew_ms = sent.as_millis() as i64 - now.as_millis() as i64;
        }
        if let Some(seq) = frame.seq {
            if let Some(last) = self.live.last_seq
                && seq > last + 1
            {
                self.log(
                    now,
                    ConnEvent::SequenceGap {
                        expected: last + 1,
                        got: seq,
                    },
                );
                self.cache.resync_observed(now);
            }
            self.live.last_seq = Some(seq);
        }
        self.on_message(frame.message, since, now);
        self.finish(now);
    }

    /// The socket closed (`was_open`: whether `open` had fired).
    pub fn handle_socket_closed(
        &mut self,
        socket: SocketId,
        code: u16,
        reason: &str,
        was_open: bool,
        now: Timestamp,
    ) {
        if self.wanted_socket() != Some(socket) {
            return;
        }
        let was_open = was_open || matches!(self.phase, Phase::Open { .. });
        self.log(
            now,
            ConnEvent::Closed {
                code,
                reason: reason.to_owned(),
                was_open,
            },
        );
        self.socket_gone();
        self.phase = Phase::Idle;
        if let Some(test) = &mut self.test
            && test.current() == Some(3)
        {
            test.set(
                3,
                StepStatus::Failed,
                format!("closed with code {code} ({})", close_code_meaning(code)),
            );
        }
        match code {
            4003 => self.auth_failed(
                now,
                "the server refused this account (close 4003). Sign in again.".into(),
            ),
            4001 => {
                if self.auth_retry_used {
                    self.auth_failed(now, "the server rejected the token again right after a refresh (close 4001). Sign in again.".into());
                } else {
                    self.auth_retry_used = true;
                    self.phase = Phase::AwaitingToken;
                    self.start_refresh(RefreshWhy::ForSocket, now);
                }
            }
            1006 if !was_open && !self.auth_retry_used => {
                // A Django backend refuses a bad token at the handshake; the browser only
                // says 1006. Maybe auth: refresh once, then retry at once.
                self.auth_retry_used = true;
                self.phase = Phase::AwaitingToken;
                self.start_refresh(RefreshWhy::ForSocket, now);
            }
            1001 | 1012 | 1013 => self.connection_failed(Failure::Soon, now),
            _ => self.connection_failed(Failure::Normal, now),
        }
        self.finish(now);
    }

    /// The socket reported an error (a close follows; only logged).
    pub fn handle_socket_error(&mut self, socket: SocketId, now: Timestamp) {
        if self.wanted_socket() == Some(socket) {
            self.log(now, ConnEvent::SocketError);
            self.finish(now);
        }
    }

    /// An HTTP request finished.
    pub fn handle_fetch_completed(&mut self, id: RequestId, result: FetchResult, now: Timestamp) {
        let Some(purpose) = self.requests.remove(&id) else {
            return;
        };
        match purpose {
            RequestPurpose::SignIn => self.sign_in_completed(result, now),
            RequestPurpose::Refresh => self.refresh_completed(id, result, now),
            RequestPurpose::Query(key) => self.query_completed(key, id, result, now),
            RequestPurpose::TestToken => self.test_token_completed(result, now),
        }
        self.finish(now);
    }

    /// A timer is due (call at or after [`Client::poll_timeout`]'s time).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        for t in TIMERS {
            if self.timers.expired(t, now) {
                self.timers.stop(t);
                self.on_timer(t, now);
            }
        }
        self.check_confirmations(now);
        if self.notifier.expire_mute(now) {
            self.persist_mute(now);
        }
        self.notifier.expire_toasts(now);
        let prefs = self.settings.notifications.clone();
        let active = self.active_quiz().cloned();
        let ctx = AlertContext {
            prefs: &prefs,
            utc_offset_minutes: self.utc_offset_minutes,
            active_quiz: active.as_ref(),
        };
        if let Some(n) = self.notifier.poll_summary(&ctx, now) {
            self.actions.push_back(Action::Notify(n));
        }
        self.finish(now);
    }

    /// The alarm fired (the worker may have slept since the last call).
    pub fn handle_alarm(&mut self, now: Timestamp) {
        self.handle_timeout(now);
    }

    /// `navigator.onLine` changed.
    pub fn handle_online(&mut self, online: bool, now: Timestamp) {
        if online == self.online {
            return;
        }
        self.online = online;
        self.log(now, ConnEvent::Network { online });
        if online {
            self.retry_now(now, false);
        } else if matches!(self.phase, Phase::Backoff { .. } | Phase::Suspended) {
            // An open socket is kept: a loopback server works offline, and a dead
            // socket reports its own close.
            self.timers.stop(Timer::Reconnect);
            self.phase = Phase::Offline;
        }
        self.finish(now);
    }

    /// `chrome.idle` reports the machine active again (woken from sleep): reconnect
    /// now if waiting; if the socket looks open, probe it with a ping at once (a socket
    /// that died during sleep is then found out within the pong timeout, when the
    /// server answers pings).
    pub fn handle_idle_active(&mut self, now: Timestamp) {
        if matches!(self.phase, Phase::Open { .. }) {
            self.ping(now);
        } else {
            self.retry_now(now, false);
        }
        self.finish(now);
    }

    /// A tab shows `/quizzes/<id>` (or, with `None`, navigated away from quiz pages).
    pub fn handle_tab_quiz(&mut self, tab: TabId, quiz: Option<QuizId>, now: Timestamp) {
        let changes = match quiz {
            Some(q) => self.subs.tab_shows(tab, q),
            None => self.subs.tab_gone(tab),
        };
        self.apply_sub_changes(changes, now);
        self.finish(now);
    }

    /// A tab closed.
    pub fn handle_tab_closed(&mut self, tab: TabId, now: Timestamp) {
        let changes = self.subs.tab_gone(tab);
        self.apply_sub_changes(changes, now);
        if self.active_tab == Some(tab) {
            self.active_tab = None;
        }
        self.finish(now);
    }

    /// The active tab of the focused window changed (`None`: no browser window focused).
    pub fn handle_tab_activated(&mut self, tab: Option<TabId>, now: Timestamp) {
        self.active_tab = tab;
        self.finish(now);
    }

    /// A notification was clicked: open (or focus) its page, mark all read.
    pub fn handle_notification_clicked(&mut self, id: &str, now: Timestamp) {
        let url = self.notifier.target_of(id).map(str::to_owned);
        self.notifier.mark_read();
        self.notifier.closed(id);
        self.actions
            .push_back(Action::ClearNotification { id: id.to_owned() });
        if let Some(url) = url {
            self.actions.push_back(Action::OpenTab { url });
        }
        self.persist_targets();
        self.finish(now);
    }

    /// A notification was dismissed.
    pub fn handle_notification_closed(&mut self, id: &str, now: Timestamp) {
        if self.notifier.closed(id) {
            self.persist_targets();
        }
        self.finish(now);
    }

    /// The answer to [`Action::CheckHostAccess`].
    pub fn handle_host_access(&mut self, granted: bool, now: Timestamp) {
        let origin = self.settings.host_permission_pattern();
        if let Some(test) = &mut self.test
            && test.current() == Some(1)
        {
            if granted {
                test.set(1, StepStatus::Passed, format!("may access {origin}"));
            } else {
                test.set(
                        1,
                        StepStatus::Failed,
                        format!("QuizPulse may not access {origin}: grant access when signing in or in the options page"),
                    );
            }
        }
        if granted {
            self.test_token_step(now);
        }
        self.finish(now);
    }

    /// The local zone changed (daylight saving), for quiet hours.
    pub fn set_utc_offset(&mut self, minutes: i32) {
        self.utc_offset_minutes = minutes;
    }

    // ------------------------------------------------------------------ connection

    fn retry_now(&mut self, now: Timestamp, force: bool) {
        if self.auth.is_none() {
            return;
        }
        let waiting = matches!(
            self.phase,
            Phase::Backoff { .. } | Phase::Suspended | Phase::Offline
        );
        if !waiting {
            return;
        }
        if !self.online && !force {
            return;
        }
        self.attempt = 0;
        self.slow_n = 0;
        self.timers.stop(Timer::Reconnect);
        self.connect(now, force);
    }

    fn connect(&mut self, now: Timestamp, ignore_offline: bool) {
        if matches!(self.phase, Phase::Connecting { .. } | Phase::Open { .. }) {
            return;
        }
        let Some(auth) = &self.auth else {
            self.phase = Phase::SignedOut;
            return;
        };
        if !self.online && !ignore_offline {
            self.phase = Phase::Offline;
            return;
        }
        if auth.access_expired(now) {
            self.phase = Phase::AwaitingToken;
            self.start_refresh(RefreshWhy::ForSocket, now);
            return;
        }
        let url = self.settings.socket_url_with_token(&auth.tokens.access);
        self.next_socket += 1;
        let socket = self.next_socket;
        self.log(
            now,
            ConnEvent::Attempt {
                attempt: self.attempt,
                url: self.settings.socket_base(),
            },
        );
        self.actions.push_back(Action::OpenSocket { socket, url });
        self.phase = Phase::Connecting { socket };
        self.timers
            .set(Timer::ConnectTimeout, now + self.config.connect_timeout);
    }

    /// Clears what belonged to the socket that just went away.
    fn socket_gone(&mut self) {
        self.timers.stop(Timer::ConnectTimeout);
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::PongDeadline);
        self.timers.stop(Timer::Stable);
        self.live = Live::default();
    }

    /// Closes our socket (if any) deliberately.
    fn close_socket(&mut self, code: u16, reason: &str, now: Timestamp) {
        if let Some(socket) = self.wanted_socket() {
            self.actions.push_back(Action::CloseSocket {
                socket,
                code,
                reason: reason.to_owned(),
            });
            self.log(
                now,
                ConnEvent::ClosedByUs {
                    code,
                    reason: reason.to_owned(),
                },
            );
        }
        self.socket_gone();
    }

    fn connection_failed(&mut self, failure: Failure, now: Timestamp) {
        if self.auth.is_none() {
            self.phase = Phase::SignedOut;
            return;
        }
        if !self.online {
            self.phase = Phase::Offline;
            return;
        }
        self.attempt += 1;
        let backoff = &self.config.backoff;
        if self.attempt <= backoff.quick_attempts {
            let delay = match failure {
                Failure::Normal => backoff.quick_delay(self.attempt, &mut self.rng),
                Failure::Soon => backoff.soon_delay(&mut self.rng),
            };
            self.phase = Phase::Backoff {
                attempt: self.attempt,
            };
            self.timers.set(Timer::Reconnect, now + delay);
            self.log(
                now,
                ConnEvent::RetryScheduled {
                    in_secs: delay.as_secs(),
                    attempt: Some(self.attempt),
                },
            );
        } else {
            let delay = backoff.slow_delay(self.slow_n, &mut self.rng);
            self.slow_n += 1;
            self.phase = Phase::Suspended;
            self.timers.set(Timer::Reconnect, now + delay);
            self.log(
                now,
                ConnEvent::RetryScheduled {
                    in_secs: delay.as_secs(),
                    attempt: None,
                },
            );
        }
    }

    fn auth_failed(&mut self, now: Timestamp, reason: String) {
        self.close_socket(CLOSE_NORMAL, "sign-in refused", now);
        self.timers = TimerTable::default();
        self.cache.token_failed("Sign in again to load this.");
        self.cache.cancel_all();
        self.requests.retain(|_, p| *p == RequestPurpose::SignIn);
        let record = AuthRecord {
            tokens: None,
            username: self.auth.as_ref().and_then(|a| a.username.clone()),
            failed: Some(reason.clone()),
            warned_expiry: None,
        };
        self.auth = None;
        self.refresh_in_flight = None;
        self.persist_json(PersistKey::Auth, &record);
        self.phase = Phase::AuthFailed(reason.clone());
        self.alert(
            Alert::Account {
                message: format!("Sign-in needed: {reason}"),
            },
            now,
        );
    }

    fn on_timer(&mut self, t: Timer, now: Timestamp) {
        match t {
            Timer::Reconnect => {
                if matches!(self.phase, Phase::Backoff { .. } | Phase::Suspended) {
                    self.connect(now, false);
                }
            }
            Timer::ConnectTimeout => {
                if matches!(self.phase, Phase::Connecting { .. }) {
                    self.close_socket(CLOSE_CLIENT_GAVE_UP, "connect timeout", now);
                    if let Some(test) = &mut self.test
                        && test.current() == Some(3)
                    {
                        test.set(
                            3,
                            StepStatus::Failed,
                            "the socket did not open within 15 s".into(),
                        );
                    }
                    self.connection_failed(Failure::Normal, now);
                }
            }
            Timer::Keepalive => self.ping(now),
            Timer::PongDeadline => {
                if matches!(self.phase, Phase::Open { .. }) {
                    self.log(now, ConnEvent::KeepaliveTimeout);
                    self.close_socket(CLOSE_CLIENT_GAVE_UP, "keepalive timeout", now);
                    self.connection_failed(Failure::Normal, now);
                }
            }
            Timer::Stable => {
                self.attempt = 0;
                self.slow_n = 0;
                self.auth_retry_used = false;
            }
            Timer::TokenRefresh => self.start_refresh(RefreshWhy::Scheduled, now),
            Timer::ExpiryWarning => self.warn_expiry(now),
        }
    }

    /// Sends a keepalive ping and plans the next one. Once the server has answered
    /// pings, an unanswered one means a dead connection.
    fn ping(&mut self, now: Timestamp) {
        let Phase::Open { socket, .. } = self.phase else {
            return;
        };
        self.live.next_ping += 1;
        let text = ClientMessage::Ping {
            id: self.live.next_ping,
        }
        .encode();
        self.actions.push_back(Action::Send { socket, text });
        if self.server_pongs && self.timers.get(Timer::PongDeadline).is_none() {
            self.timers
                .set(Timer::PongDeadline, now + self.config.pong_timeout);
        }
        self.timers
            .set(Timer::Keepalive, now + self.config.keepalive);
    }

    // ------------------------------------------------------------------ subscriptions

    fn apply_sub_changes(&mut self, changes: Vec<SubChange>, now: Timestamp) {
        for change in changes {
            match (self.phase.clone(), change) {
                (Phase::Open { socket, .. }, SubChange::Subscribe(q)) => {
                    self.send_subscribe(socket, q, now)
                }
                (Phase::Open { socket, .. }, SubChange::Unsubscribe(q)) => {
                    self.live.sent.remove(&q);
                    self.live.unconfirmed.remove(&q);
                    self.live.confirmed.remove(&q);
                    self.live.failed_confirm.remove(&q);
                    let text = ClientMessage::UnsubscribeQuiz { quiz_id: q }.encode();
                    self.actions.push_back(Action::Send { socket, text });
                }
                (_, change) => self.outbox.push(change),
            }
        }
    }

    fn send_subscribe(&mut self, socket: SocketId, quiz: QuizId, now: Timestamp) {
        let text = ClientMessage::SubscribeQuiz {
            quiz_id: quiz.clone(),
        }
        .encode();
        self.actions.push_back(Action::Send { socket, text });
        self.live.sent.insert(quiz.clone());
        self.live.confirmed.remove(&quiz);
        self.live
            .unconfirmed
            .insert(quiz, (now + self.config.confirm_timeout, false));
    }

    fn check_confirmations(&mut self, now: Timestamp) {
        let Phase::Open { socket, .. } = self.phase else {
            return;
        };
        let due: Vec<(QuizId, bool)> = self
            .live
            .unconfirmed
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(q, (_, resent))| (q.clone(), *resent))
            .collect();
        for (quiz, resent) in due {
            if resent {
                self.live.unconfirmed.remove(&quiz);
                self.live.failed_confirm.insert(quiz.clone());
                self.log(
                    now,
                    ConnEvent::SubscriptionUnconfirmed {
                        quiz_id: quiz.to_string(),
                    },
                );
                let title = self.quiz_title(&quiz);
                self.notifier.toast(
                    format!("The server did not confirm following {title}; updates for it may be missing."),
                    ToastLevel::Warning,
                    now,
                );
            } else {
                let text = ClientMessage::SubscribeQuiz {
                    quiz_id: quiz.clone(),
                }
                .encode();
                self.actions.push_back(Action::Send { socket, text });
                self.live
                    .unconfirmed
                    .insert(quiz, (now + self.config.confirm_timeout, true));
            }
        }
    }

    // ------------------------------------------------------------------ messages

    fn on_message(&mut self, message: ServerMessage, since: Timestamp, now: Timestamp) {
        match message {
            ServerMessage::QuizSessionUploaded { session } => {
                self.cache
                    .invalidate(&QueryKey::Quizzes, FetchReason::Live, now);
                self.cache
                    .invalidate(&QueryKey::MyPerformance, FetchReason::Live, now);
                let Some(s) = session else {
                    let boards: Vec<QueryKey> = self
                        .cache
                        .keys()
                        .filter(|k| matches!(k, QueryKey::QuizBoard(_)))
                        .cloned()
                        .collect();
                    for k in boards {
                        self.cache.invalidate(&k, FetchReason::Live, now);
                    }
                    return;
                };
                self.cache.invalidate(
                    &QueryKey::QuizBoard(s.quiz_id.clone()),
                    FetchReason::Live,
                    now,
                );
                let new =
                    self.subs
                        .saw_quizzes([&s.quiz_id], false, self.settings.follow_new_quizzes);
                for q in new {
                    let changes = self.subs.follow(q);
                    self.apply_sub_changes(changes, now);
                }
                self.persist_follows();
                let mine = self.auth.as_ref().and_then(|a| a.user_id.as_deref())
                    == Some(s.user_id.as_str());
                if self.subs.is_wanted(&s.quiz_id)
                    && !mine
                    && self.is_fresh(&s.completed_at, since, now)
                {
                    let alert = Alert::NewSession {
                        quiz_title: self.quiz_title(&s.quiz_id),
                        target: self.settings.quiz_page_url(s.quiz_id.as_str()),
                        quiz_id: s.quiz_id,
                        username: s.username,
                        score: s.score,
                    };
                    self.alert(alert, now);
                }
            }
            ServerMessage::LeaderboardUpdated {
                subject_id,
                entries,
            } => {
                let applied = match (subject_id, entries) {
                    (Some(s), Some(e)) => self.cache.apply_subject_entries(&s, e, now),
                    _ => false,
                };
                if !applied {
                    self.cache
                        .invalidate(&QueryKey::SubjectBoards, FetchReason::Live, now);
                }
                self.cache
                    .invalidate(&QueryKey::MyPerformance, FetchReason::Live, now);
            }
            ServerMessage::QuizLeaderboardUpdated { quiz_id, entries } => {
                let applied =
                    entries.is_some_and(|e| self.cache.apply_quiz_entries(&quiz_id, e, now));
                if !applied {
                    self.cache
                        .invalidate(&QueryKey::QuizBoard(quiz_id), FetchReason::Live, now);
                }
            }
            ServerMessage::SubscriptionConfirmed { quiz_id, .. } => {
                self.live.unconfirmed.remove(&quiz_id);
                self.live.failed_confirm.remove(&quiz_id);
                if self.live.sent.contains(&quiz_id) {
                    self.live.confirmed.insert(quiz_id);
                }
            }
            ServerMessage::Pong { .. } => self.server_pongs = true,
            ServerMessage::Error { message } => {
                self.log(
                    now,
                    ConnEvent::ServerError {
                        message: message.clone(),
                    },
                );
                self.notifier.toast(
                    format!("The server said: {message}"),
                    ToastLevel::Warning,
                    now,
                );
            }
            ServerMessage::Unknown { .. } => {}
        }
    }

    /// Whether an event is live news: not older than the connection (minus a grace for
    /// clock differences) and not older than five minutes, in the server's clock.
    fn is_fresh(&self, completed_at: &str, since: Timestamp, now: Timestamp) -> bool {
        let Ok(t) = Timestamp::parse_rfc3339(completed_at) else {
            // Live delivery with an unreadable time: it arrived now, so it is news.
            return true;
        };
        let shift = |ts: Timestamp| -> i64 { ts.as_millis() as i64 + self.live.skew_ms };
        let t = t.as_millis() as i64;
        let grace = self.config.event_grace.as_millis() as i64;
        t + grace >= shift(since) && t + 300_000 >= shift(now)
    }

    fn quiz_title(&self, quiz: &QuizId) -> String {
        if let Some(QueryData::Quizzes(list)) = self.cache.data(&QueryKey::Quizzes)
            && let Some(q) = list.iter().find(|q| &q.id == quiz)
        {
            return q.title.clone();
        }
        if let Some(QueryData::QuizBoard(b)) = self.cache.data(&QueryKey::QuizBoard(quiz.clone())) {
            return b.quiz.title.clone();
        }
        format!("quiz {quiz}")
    }

    fn active_quiz(&self) -> Option<&QuizId> {
        self.active_tab.and_then(|t| self.subs.quiz_in_tab(t))
    }

    fn alert(&mut self, alert: Alert, now: Timestamp) {
        let prefs = self.settings.notifications.clone();
        let active = self.active_quiz().cloned();
        let ctx = AlertContext {
            prefs: &prefs,
            utc_offset_minutes: self.utc_offset_minutes,
            active_quiz: active.as_ref(),
        };
        if let Some(n) = self.notifier.offer(alert, &ctx, now) {
            let has_target = n.target.is_some();
            self.actions.push_back(Action::Notify(n));
            if has_target {
                self.persist_targets();
            }
        }
    }

    // ------------------------------------------------------------------ auth

    fn sign_in(&mut self, server: String, username: String, password: String, now: Timestamp) {
        let candidate = Settings {
            server_url: server,
            ..self.settings.clone()
        };
        let validated = match candidate.validated() {
            Ok(s) => s,
            Err(e) => {
                self.sign_in = SignInStatus::Failed(e.to_string());
                return;
            }
        };
        if self.auth.is_some() {
            self.sign_out(now, None);
        }
        if validated.server_url != self.settings.server_url {
            self.server_changed();
        }
        self.settings = validated;
        self.persist_json(PersistKey::Settings, &self.settings.clone());
        let body = serde_json::to_string(&TokenRequest {
            username: username.clone(),
            password,
        })
        .unwrap_or_default();
        self.pending_username = Some(username);
        self.sign_in = SignInStatus::InProgress;
        self.request(
            RequestPurpose::SignIn,
            Method::Post,
            "/api/token/".into(),
            Some(body),
            None,
        );
    }

    fn sign_in_completed(&mut self, result: FetchResult, now: Timestamp) {
        let server = self.settings.api_base().to_owned();
        match result {
            FetchResult::Response { status: 200, body } => {
                match serde_json::from_str::<TokenPair>(&body) {
                    Ok(tokens) => {
                        let username = self.pending_username.take();
                        self.auth = Some(Auth::new(tokens, username.clone(), None));
                        self.sign_in = SignInStatus::Idle;
                        self.persist_auth();
                        self.phase = Phase::Offline;
                        self.attempt = 0;
                        self.slow_n = 0;
                        self.auth_retry_used = false;
                        let who = username.unwrap_or_default();
                        self.notifier.toast(
                            format!("Signed in as {who}"),
                            ToastLevel::Success,
                            now,
                        );
                        self.after_sign_in(now);
                    }
                    Err(e) => {
                        self.sign_in = SignInStatus::Failed(format!(
                            "The server's answer was not a token pair ({e})."
                        ));
                    }
                }
            }
            FetchResult::Response { status: 401, body } => {
                let detail = ApiError::message_from(&body);
                self.sign_in = SignInStatus::Failed(if detail.is_empty() {
                    "Wrong username or password.".into()
                } else {
                    format!("Wrong username or password ({detail}).")
                });
            }
            FetchResult::Response { status, body } => {
                let detail = ApiError::message_from(&body);
                let what = if status >= 500 {
                    "The server failed"
                } else {
                    "The server refused the sign-in"
                };
                self.sign_in = SignInStatus::Failed(format!("{what} (HTTP {status}: {detail})."));
            }
            FetchResult::NetworkError { message } => {
                self.sign_in = SignInStatus::Failed(format!(
                    "Cannot reach {server} ({message}). Check the server URL and that QuizPulse may access it."
                ));
            }
        }
    }

    /// Common tail of sign-in and start-with-tokens: observe the popup's data, plan
    /// token refreshes, connect.
    fn after_sign_in(&mut self, now: Timestamp) {
        for key in [
            QueryKey::Subjects,
            QueryKey::SubjectBoards,
            QueryKey::Quizzes,
            QueryKey::MyPerformance,
        ] {
            self.cache.observe(key, now);
        }
        for q in self.viewed_quizzes.clone() {
            self.cache.observe(QueryKey::QuizBoard(q), now);
        }
        self.schedule_token_timers(now);
        self.connect(now, false);
    }

    fn sign_out(&mut self, now: Timestamp, _reason: Option<&str>) {
        self.close_socket(CLOSE_NORMAL, "signed out", now);
        self.timers = TimerTable::default();
        self.auth = None;
        self.refresh_in_flight = None;
        self.requests.retain(|_, p| *p == RequestPurpose::SignIn);
        self.cache.clear();
        self.phase = Phase::SignedOut;
        self.sign_in = SignInStatus::Idle;
        self.persist_json(PersistKey::Auth, &AuthRecord::default());
    }

    fn server_changed(&mut self) {
        self.server_pongs = false;
        self.cache.clear();
    }

    fn save_settings(&mut self, settings: Settings, now: Timestamp) {
        let validated = match settings.validated() {
            Ok(s) => s,
            Err(e) => {
                self.settings_error = Some(e.to_string());
                return;
            }
        };
        self.settings_error = None;
        let old = std::mem::replace(&mut self.settings, validated);
        self.persist_json(PersistKey::Settings, &self.settings.clone());
        if old.server_url != self.settings.server_url {
            // Tokens belong to the old server.
            if self.auth.is_some() {
                self.sign_out(now, Some("server changed"));
                self.notifier.toast(
                    "Server changed: sign in to the new one.".into(),
                    ToastLevel::Info,
                    now,
                );
            }
            self.server_changed();
        } else if old.socket_base() != self.settings.socket_base() && self.wanted_socket().is_some()
        {
            self.close_socket(CLOSE_NORMAL, "socket URL changed", now);
            self.phase = Phase::Backoff { attempt: 0 };
            self.attempt = 0;
            self.connect(now, false);
        } else if old.board_limit != self.settings.board_limit {
            self.cache.resync_observed(now);
        }
    }

    fn schedule_token_timers(&mut self, now: Timestamp) {
        let Some(auth) = &self.auth else {
            return;
        };
        match auth.access_exp {
            Some(exp) => {
                let remaining = exp.saturating_since(now);
                let by_share = remaining.mul_f64(0.8);
                let by_margin = remaining.saturating_sub(self.config.refresh_margin);
                self.timers
                    .set(Timer::TokenRefresh, now + by_share.min(by_margin));
            }
            None => self.timers.stop(Timer::TokenRefresh),
        }
        match auth.refresh_exp {
            Some(exp) if auth.warned_expiry != Some(exp) => {
                let lifetime = auth.refresh_iat.map(|iat| exp.saturating_since(iat));
                let lead = lifetime.map_or(self.config.refresh_warning, |l| {
                    (l / 4).min(self.config.refresh_warning)
                });
                self.timers.set(Timer::ExpiryWarning, (exp - lead).max(now));
            }
            _ => self.timers.stop(Timer::ExpiryWarning),
        }
    }

    fn warn_expiry(&mut self, now: Timestamp) {
        let Some(auth) = &mut self.auth else {
            return;
        };
        let Some(exp) = auth.refresh_exp else {
            return;
        };
        if auth.warned_expiry == Some(exp) || exp <= now {
            return;
        }
        auth.warned_expiry = Some(exp);
        let left = human_duration(exp.saturating_since(now));
        self.persist_auth();
        self.alert(
            Alert::Account {
                message: format!(
                    "Your sign-in expires in {left}. Sign in again to stay connected."
                ),
            },
            now,
        );
    }

    fn start_refresh(&mut self, why: RefreshWhy, now: Timestamp) {
        if self.refresh_in_flight.is_some() {
            return;
        }
        let Some(auth) = &self.auth else {
            return;
        };
        if auth.refresh_exp.is_some_and(|exp| exp <= now) {
            self.auth_failed(now, "your sign-in has expired.".into());
            return;
        }
        let body = serde_json::to_string(&RefreshRequest {
            refresh: auth.tokens.refresh.clone(),
        })
        .unwrap_or_default();
        self.timers.stop(Timer::TokenRefresh);
        let id = self.request(
            RequestPurpose::Refresh,
            Method::Post,
            "/api/token/refresh/".into(),
            Some(body),
            None,
        );
        self.refresh_in_flight = Some((id, why));
    }

    fn refresh_completed(&mut self, id: RequestId, result: FetchResult, now: Timestamp) {
        if self.refresh_in_flight.map(|(i, _)| i) != Some(id) {
            return;
        }
        self.refresh_in_flight = None;
        let Some((old_refresh, username, warned)) = self.auth.as_ref().map(|a| {
            (
                a.tokens.refresh.clone(),
                a.username.clone(),
                a.warned_expiry,
            )
        }) else {
            return;
        };
        match result {
            FetchResult::Response { status: 200, body } => {
                match serde_json::from_str::<RefreshResponse>(&body) {
                    Ok(r) => {
                        let rotated = r.refresh.unwrap_or(old_refresh);
                        self.auth = Some(Auth::new(
                            TokenPair {
                                access: r.access,
                                refresh: rotated,
                            },
                            username,
                            warned,
                        ));
                        self.refresh_failures = 0;
                        self.persist_auth();
                        self.log(now, ConnEvent::TokenRefreshed);
                        self.schedule_token_timers(now);
                        self.cache.token_ready(now);
                        if self.phase == Phase::AwaitingToken {
                            self.connect(now, false);
                        }
                    }
                    Err(e) => self.refresh_failed(format!("unreadable answer ({e})"), now),
                }
            }
            FetchResult::Response {
                status: 400 | 401,
                body,
            } => {
                let detail = ApiError::message_from(&body);
                self.log(
                    now,
                    ConnEvent::RefreshFailed {
                        message: format!("refused: {detail}"),
                    },
                );
                self.auth_failed(now, "your sign-in has expired or was revoked.".into());
            }
            FetchResult::Response { status, body } => {
                let detail = ApiError::message_from(&body);
                self.refresh_failed(format!("HTTP {status}: {detail}"), now);
            }
            FetchResult::NetworkError { message } => self.refresh_failed(message, now),
        }
    }

    /// The refresh did not get an answer: not an auth failure. Try again later.
    fn refresh_failed(&mut self, message: String, now: Timestamp) {
        self.log(
            now,
            ConnEvent::RefreshFailed {
                message: message.clone(),
            },
        );
        self.refresh_failures += 1;
        let shift = (self.refresh_failures - 1).min(4);
        self.timers.set(
            Timer::TokenRefresh,
            now + Duration::from_secs(5).saturating_mul(1 << shift),
        );
        self.cache
            .token_failed(&format!("Cannot refresh the sign-in ({message})."));
        if self.phase == Phase::AwaitingToken {
            self.connection_failed(Failure::Normal, now);
        }
    }

    // ------------------------------------------------------------------ fetches

    fn request(
        &mut self,
        purpose: RequestPurpose,
        method: Method,
        path: String,
        body: Option<String>,
        bearer: Option<String>,
    ) -> RequestId {
        self.next_request += 1;
        let id = self.next_request;
        self.requests.insert(id, purpose.clone());
        let url = format!("{}{}", self.settings.api_base(), path);
        self.actions.push_back(Action::Fetch(FetchRequest {
            id,
            purpose,
            method,
            url,
            path,
            body,
            bearer,
        }));
        id
    }

    /// Whether reads wait: while a socket is about to open (the open refetches everything
    /// on screen anyway, and a read made just before it could miss an update), or while
    /// a token refresh they need is running.
    fn fetches_held(&self) -> bool {
        matches!(self.phase, Phase::Connecting { .. } | Phase::AwaitingToken)
            || self.refresh_in_flight.is_some()
            || self.auth.is_none()
    }

    /// Starts every due fetch (when a usable token is at hand).
    fn pump_fetches(&mut self, now: Timestamp) {
        let Some(auth) = &self.auth else {
            return;
        };
        if self.fetches_held() {
            return;
        }
        if self.cache.next_due().is_none_or(|at| at > now) {
            return;
        }
        if auth.access_expired(now) {
            self.start_refresh(RefreshWhy::ForRest, now);
            return;
        }
        let bearer = auth.tokens.access.clone();
        let limit = self.settings.board_limit;
        let mut next = self.next_request;
        let started = self.cache.start_due(now, || {
            next += 1;
            next
        });
        self.next_request = next;
        for (key, id, _) in started {
            let path = key.path(limit);
            let url = format!("{}{}", self.settings.api_base(), path);
            let purpose = RequestPurpose::Query(key);
            self.requests.insert(id, purpose.clone());
            self.actions.push_back(Action::Fetch(FetchRequest {
                id,
                purpose,
                method: Method::Get,
                url,
                path,
                body: None,
                bearer: Some(bearer.clone()),
            }));
        }
    }

    fn query_completed(
        &mut self,
        key: QueryKey,
        id: RequestId,
        result: FetchResult,
        now: Timestamp,
    ) {
        match self.cache.complete(&key, id, result, now) {
            Completion::Updated { previous, reason } => {
                self.query_updated(&key, previous, reason, now)
            }
            Completion::NeedsToken => self.start_refresh(RefreshWhy::ForRest, now),
            Completion::Failed | Completion::Ignored => {}
        }
    }

    fn query_updated(
        &mut self,
        key: &QueryKey,
        previous: Option<QueryData>,
        reason: FetchReason,
        now: Timestamp,
    ) {
        match (key, self.cache.data(key).cloned()) {
            (QueryKey::Quizzes, Some(QueryData::Quizzes(list))) => {
                let ids: Vec<QuizId> = list.iter().map(|q| q.id.clone()).collect();
                let new = self
                    .subs
                    .saw_quizzes(ids.iter(), true, self.settings.follow_new_quizzes);
                for q in new {
                    let title = self.quiz_title(&q);
                    let changes = self.subs.follow(q);
                    self.apply_sub_changes(changes, now);
                    self.notifier.toast(
                        format!("New quiz {title}: now following it"),
                        ToastLevel::Info,
                        now,
                    );
                }
                self.persist_follows();
            }
            (QueryKey::MyPerformance, Some(QueryData::Performance(perf))) => {
                if let Some(auth) = &mut self.auth {
                    auth.username
                        .get_or_insert_with(|| perf.user.username.clone());
                    auth.user_id.get_or_insert_with(|| perf.user.id.to_string());
                }
                if reason == FetchReason::Live
                    && let Some(QueryData::Performance(old)) = previous
                {
                    self.rank_alerts(&old, &perf, now);
                }
            }
            _ => {}
        }
    }

    fn rank_alerts(&mut self, old: &Performance, new: &Performance, now: Timestamp) {
        for s in &new.subjects {
            let Some(before) = old.subjects.iter().find(|o| o.subject_id == s.subject_id) else {
                continue;
            };
            if before.rank != s.rank {
                let subject = self.subject_name(&s.subject_id);
                let target = self
                    .settings
                    .site_url
                    .clone()
                    .or_else(|| Some(self.settings.api_base().to_owned()));
                self.alert(
                    Alert::RankChange {
                        subject,
                        from: before.rank,
                        to: s.rank,
                        target,
                    },
                    now,
                );
            }
        }
    }

    fn subject_name(&self, id: &crate::wire::SubjectId) -> String {
        if let Some(QueryData::SubjectBoards(boards)) = self.cache.data(&QueryKey::SubjectBoards)
            && let Some(b) = boards.iter().find(|b| &b.subject.id == id)
        {
            return b.subject.name.clone();
        }
        if let Some(QueryData::Subjects(list)) = self.cache.data(&QueryKey::Subjects)
            && let Some(s) = list.iter().find(|s| &s.id == id)
        {
            return s.name.clone();
        }
        format!("subject {id}")
    }

    // ------------------------------------------------------------------ test connection

    fn start_test(&mut self) {
        let mut test = TestRun::new();
        match self.settings.validated() {
            Ok(s) => {
                test.steps[0].status = StepStatus::Passed;
                test.steps[0].detail =
                    format!("REST at {}, socket at {}", s.api_base(), s.socket_base());
                test.steps[1].status = StepStatus::Running;
                self.actions.push_back(Action::CheckHostAccess {
                    pattern: s.host_permission_pattern(),
                });
            }
            Err(e) => test.set(0, StepStatus::Failed, e.to_string()),
        }
        self.test = Some(test);
    }

    fn test_token_step(&mut self, _now: Timestamp) {
        let Some(test) = &mut self.test else {
            return;
        };
        if test.current() != Some(2) {
            return;
        }
        match &self.auth {
            None => test.set(2, StepStatus::Failed, "not signed in".into()),
            Some(auth) => {
                let bearer = auth.tokens.access.clone();
                self.request(
                    RequestPurpose::TestToken,
                    Method::Get,
                    QueryKey::MyPerformance.path(1),
                    None,
                    Some(bearer),
                );
            }
        }
    }

    fn test_token_completed(&mut self, result: FetchResult, now: Timestamp) {
        let Some(test) = &mut self.test else {
            return;
        };
        if test.current() != Some(2) {
            return;
        }
        match result {
            FetchResult::Response { status: 200, .. } => {
                test.set(2, StepStatus::Passed, "the server accepts the token".into())
            }
            FetchResult::Response { status: 401, body } => test.set(
                2,
                StepStatus::Failed,
                format!(
                    "the server refuses the token ({}); sign in again",
                    ApiError::message_from(&body)
                ),
            ),
            FetchResult::Response { status, body } => test.set(
                2,
                StepStatus::Failed,
                format!(
                    "HTTP {status} from {} ({})",
                    QueryKey::MyPerformance.path(1),
                    ApiError::message_from(&body)
                ),
            ),
            FetchResult::NetworkError { message } => test.set(
                2,
                StepStatus::Failed,
                format!("no answer from the server ({message})"),
            ),
        }
        if test.current() == Some(3) {
            if let Phase::Open { since, .. } = self.phase {
                let detail = format!("live since {since}");
                if let Some(test) = &mut self.test {
                    test.set(3, StepStatus::Passed, detail);
                }
            } else {
                // Reports when the socket opens or closes (or the connect times out).
                self.retry_now(now, true);
            }
        }
    }

    // ------------------------------------------------------------------ bookkeeping

    fn note(&mut self, now: Timestamp, message: String) {
        self.log(now, ConnEvent::Note { message });
    }

    fn log(&mut self, now: Timestamp, event: ConnEvent) {
        self.events.push(now, event);
    }

    fn persist_json<T: Serialize>(&mut self, key: PersistKey, value: &T) {
        if let Ok(json) = serde_json::to_string(value) {
            self.actions.push_back(Action::Persist { key, json });
        }
    }

    fn persist_auth(&mut self) {
        let Some(auth) = &self.auth else {
            return;
        };
        let record = AuthRecord {
            tokens: Some(auth.tokens.clone()),
            username: auth.username.clone(),
            failed: None,
            warned_expiry: auth.warned_expiry,
        };
        self.persist_json(PersistKey::Auth, &record);
    }

    /// Writes the follow state when it changed since the last write.
    fn persist_follows(&mut self) {
        if self.persisted_follows.as_ref() == Some(self.subs.state()) {
            return;
        }
        let state = self.subs.state().clone();
        self.persist_json(PersistKey::Follows, &state);
        self.persisted_follows = Some(state);
    }

    fn persist_mute(&mut self, now: Timestamp) {
        let muted = self.notifier.muted_until(now);
        self.persist_json(PersistKey::Mute, &muted);
    }

    fn persist_targets(&mut self) {
        let targets = self.notifier.targets().clone();
        self.persist_json(PersistKey::NotificationTargets, &targets);
    }

    /// Runs after every input: start due fetches, then the event log, badge, alarm
    /// and snapshot.
    fn finish(&mut self, now: Timestamp) {
        self.pump_fetches(now);
        if self.persisted_log_len != Some(self.events.total()) {
            self.persisted_log_len = Some(self.events.total());
            let entries: Vec<LogEntry> = self.events.entries().cloned().collect();
            self.persist_json(PersistKey::EventLog, &entries);
        }
        let state = self.state();
        let b = badge(BadgeInput {
            state: &state,
            unread: self.notifier.unread(),
            server_error: self.cache.has_server_error(),
            muted_until: self.notifier.muted_until(now),
            now,
        });
        if self.last_badge.as_ref() != Some(&b) {
            self.last_badge = Some(b.clone());
            self.actions.push_back(Action::SetBadge(b));
        }
        // The alarm wakes a sleeping worker for the slow retry; an open socket keeps
        // the worker alive, and quick retries are shorter than its idle timeout.
        let alarm = match self.phase {
            Phase::Suspended => self.timers.get(Timer::Reconnect),
            _ => None,
        };
        if self.last_alarm != Some(alarm) {
            self.last_alarm = Some(alarm);
            self.actions.push_back(Action::ScheduleAlarm { at: alarm });
        }
        let mut snap = self.snapshot(now);
        snap.generated_at = Timestamp::ZERO;
        if self.last_published.as_ref() != Some(&snap) {
            self.last_published = Some(snap.clone());
            snap.generated_at = now;
            self.actions.push_back(Action::Publish(Box::new(snap)));
        }
    }

    /// The state for the popup. Carries no token and no password.
    pub fn snapshot(&self, now: Timestamp) -> Snapshot {
        let state = self.state();
        let view = |key: &QueryKey| -> (Option<QueryData>, QueryView<()>) {
            match self.cache.get(key) {
                None => (None, QueryView::default()),
                Some(q) => (
                    q.data.clone(),
                    QueryView {
                        data: None,
                        updated_at: q.updated_at,
                        stale: q.stale,
                        fetching: q.in_flight.is_some(),
                        error: q.error.clone(),
                    },
                ),
            }
        };
        fn with<T>(v: QueryView<()>, data: Option<T>) -> QueryView<T> {
            QueryView {
                data,
                updated_at: v.updated_at,
                stale: v.stale,
                fetching: v.fetching,
                error: v.error,
            }
        }
        let (boards, boards_view) = view(&QueryKey::SubjectBoards);
        let boards = match boards {
            Some(QueryData::SubjectBoards(b)) => Some(b),
            _ => None,
        };
        let (perf, perf_view) = view(&QueryKey::MyPerformance);
        let perf = match perf {
            Some(QueryData::Performance(p)) => Some(p),
            _ => None,
        };
        let (quizzes, quiz_list) = view(&QueryKey::Quizzes);
        let quizzes = match quizzes {
            Some(QueryData::Quizzes(list)) => list,
            _ => Vec::new(),
        };
        let rows = quizzes
            .into_iter()
            .map(|quiz| {
                let subscription = if !self.subs.is_wanted(&quiz.id) {
                    SubscriptionStatus::None
                } else if self.live.confirmed.contains(&quiz.id) {
                    SubscriptionStatus::Confirmed
                } else if self.live.failed_confirm.contains(&quiz.id) {
                    SubscriptionStatus::Unconfirmed
                } else {
                    SubscriptionStatus::Pending
                };
                QuizRow {
                    followed: self.subs.is_followed(&quiz.id),
                    open_in_tab: self.subs.tab_count(&quiz.id) > 0,
                    url: self.settings.quiz_page_url(quiz.id.as_str()),
                    subscription,
                    quiz,
                }
            })
            .collect();
        let mut quiz_boards = BTreeMap::new();
        for key in self.cache.keys() {
            if let QueryKey::QuizBoard(id) = key {
                if !self.cache.is_observed(key) {
                    continue;
                }
                let (data, v) = view(key);
                let data = match data {
                    Some(QueryData::QuizBoard(b)) => Some(b),
                    _ => None,
                };
                quiz_boards.insert(id.to_string(), with(v, data));
            }
        }
        let mut subject_names = BTreeMap::new();
        if let Some(QueryData::Subjects(list)) = self.cache.data(&QueryKey::Subjects) {
            for s in list {
                subject_names.insert(s.id.clone(), s.name.clone());
            }
        }
        if let Some(b) = &boards {
            for board in b {
                subject_names.insert(board.subject.id.clone(), board.subject.name.clone());
            }
        }
        let account = self.auth.as_ref().map(|a| Account {
            username: a.username.clone(),
            user_id: a.user_id.clone(),
            expires_at: a.refresh_exp,
        });
        Snapshot {
            generated_at: now,
            connection_text: state.describe(now),
            badge: badge(BadgeInput {
                state: &state,
                unread: self.notifier.unread(),
                server_error: self.cache.has_server_error(),
                muted_until: self.notifier.muted_until(now),
                now,
            }),
            connection: state,
            last_message_at: self.last_message_at,
            account,
            sign_in: self.sign_in.clone(),
            subject_boards: with(boards_view, boards),
            quiz_list,
            quizzes: rows,
            quiz_boards,
            my_standing: with(perf_view, perf),
            subject_names,
            last_update: self.cache.last_update(),
            toasts: self.notifier.toasts().cloned().collect(),
            unread: self.notifier.unread(),
            muted_until: self.notifier.muted_until(now),
            events: self.events.entries().cloned().collect(),
            events_text: self.events.to_text(),
            settings: self.settings.clone(),
            settings_error: self.settings_error.clone(),
            test: self.test.as_ref().map(|t| t.steps.clone()),
        }
    }
}
