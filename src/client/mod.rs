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

use std::collections::VecDeque;

use crate::small::{VecMap, VecSet};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backoff::Backoff;
use crate::badge::{Badge, BadgeInput, badge};
use crate::cache::{Cache, CacheTiming, Completion, FetchReason, FetchResult, QueryData, QueryKey};
use crate::conn::ConnState;
use crate::events::{ConnEvent, EventLog, LogEntry, close_text};
use crate::json::{FromJson, ToJson};
use crate::jwt::decode_claims;
use crate::messages::{
    Account, Command, Page, QueryView, QuizRow, SignInStatus, Snapshot, StepStatus,
    SubscriptionStatus, TestCheck, TestStep,
};
use crate::moves;
use crate::notify::{Alert, AlertContext, MUTE_SPAN, Notification, Notifier, ToastLevel};
use crate::rng::Rng;
use crate::settings::{Settings, SettingsError};
use crate::subscriptions::{FollowState, SubChange, Subscriptions, TabId};
use crate::text::Text;
use crate::time::Timestamp;
use crate::wire::{
    ApiError, ClientMessage, Entry, Performance, QuizId, RefreshRequest, RefreshResponse,
    ServerFrame, ServerMessage, SubjectId, TokenPair, TokenRequest, UserId,
};

mod action;
mod auth;
mod connection;
mod diagnose;
mod live;
mod reads;
mod timers;
mod tokens;
mod view;

pub use action::{
    Action, AuthRecord, BADGE_EVERY, FetchRequest, Method, Outage, PUBLISH_POPUP_EVERY,
    PUBLISH_STORAGE_EVERY, PersistKey, RequestId, RequestPurpose, RetryPlan, SNAPSHOT_KEY,
    SocketId, StartInfo, StorageArea, StoredState,
};
use diagnose::TestRun;
use timers::{TIMERS, Timer, TimerTable};
use tokens::{Auth, Clock, RefreshGate};
pub use tokens::{MAX_REFRESH_BACKOFF, MIN_REFRESH_GAP, REFRESH_BACKOFF_BASE};

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
    /// The shortest time between two socket attempts, whatever asks for them (1 s).
    pub attempt_floor: Duration,
    /// The event log is written to storage at most this often (1 s); the last state
    /// of a burst follows.
    pub log_write_every: Duration,
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
            attempt_floor: Duration::from_secs(1),
            log_write_every: Duration::from_secs(1),
            refresh_warning: Duration::from_secs(3600),
            event_grace: Duration::from_secs(30),
            cache: CacheTiming::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Transient: the socket just went away and no plan is made yet.
    Idle,
    SignedOut,
    AuthFailed(Text),
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

/// Per-connection state, reset at every open.
#[derive(Debug, Clone, Default)]
struct Live {
    next_ping: u64,
    /// Quizzes subscribed on this socket.
    sent: VecSet<QuizId>,
    /// Awaiting confirmation: deadline, and whether it was already resent.
    unconfirmed: VecMap<QuizId, (Timestamp, bool)>,
    confirmed: VecSet<QuizId>,
    failed_confirm: VecSet<QuizId>,
    last_seq: Option<u64>,
    got_message: bool,
    /// The keepalive ping awaiting its answer, and whether anything else that the
    /// server might answer with `error` was sent after it.
    ping_out: Option<(u64, bool)>,
    /// The last `quiz_session_uploaded` on this socket: its quiz, subject and
    /// `completed_at`, the server's time for the board updates that follow it.
    last_upload: Option<(QuizId, SubjectId, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshWhy {
    Scheduled,
    /// Before a connect, or after 4001 / 1006-before-open.
    ForSocket,
    /// A REST read got 401.
    ForRest,
}

/// The QuizPulse client state machine. See the module docs for the calling convention.
pub struct Client {
    config: ClientConfig,
    /// The client's own time (the adapter's readings, never going back).
    clock: Clock,
    rng: Rng,
    settings: Settings,
    settings_error: Option<SettingsError>,
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
    requests: VecMap<RequestId, RequestPurpose>,
    refresh_in_flight: Option<(RequestId, RefreshWhy)>,
    /// The floor under token refreshes.
    gate: RefreshGate,
    /// The server's clock minus ours (ms), as last learned (`sent_at`, `Date`, `iat`).
    server_skew_ms: Option<i64>,
    /// When the last socket was asked for (the floor between attempts).
    last_attempt: Option<Timestamp>,
    /// The retry plan as last persisted.
    persisted_retry: Option<RetryPlan>,
    /// When the event log was last persisted (the floor between writes).
    log_persisted_at: Option<Timestamp>,
    /// The server answers our keepalive ping with `error` (it does not know `ping`).
    ping_unsupported: bool,
    sign_in: SignInStatus,
    pending_username: Option<String>,
    subs: Subscriptions,
    cache: Cache,
    notifier: Notifier,
    events: EventLog,
    timers: TimerTable,
    active_tab: Option<TabId>,
    viewed_quizzes: VecSet<QuizId>,
    /// Quizzes whose `subscribe_quiz` this server answered with `error`: not sent again
    /// (on any socket) until the user follows the quiz anew or the server changes.
    refused: VecSet<QuizId>,
    /// Quizzes whose subscription was confirmed (and said) since they became wanted:
    /// a reconnect's re-subscribe is not news.
    announced: VecSet<QuizId>,
    /// The current outage (persisted in the session area).
    outage: Outage,
    test: Option<TestRun>,
    actions: VecDeque<Action>,
    last_badge: Option<Badge>,
    /// When `last_badge` was set (the badge is throttled like the popup's snapshot).
    badge_at: Option<Timestamp>,
    last_alarm: Option<Option<Timestamp>>,
    published: view::Published,
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
            clock: Clock::default(),
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
            requests: VecMap::new(),
            refresh_in_flight: None,
            gate: RefreshGate::default(),
            server_skew_ms: None,
            last_attempt: None,
            persisted_retry: None,
            log_persisted_at: None,
            ping_unsupported: false,
            sign_in: SignInStatus::Idle,
            pending_username: None,
            subs: Subscriptions::default(),
            notifier: Notifier::default(),
            events: EventLog::default(),
            timers: TimerTable::default(),
            active_tab: None,
            viewed_quizzes: VecSet::new(),
            announced: VecSet::new(),
            refused: VecSet::new(),
            outage: Outage::default(),
            test: None,
            actions: VecDeque::new(),
            last_badge: None,
            badge_at: None,
            last_alarm: None,
            published: view::Published::default(),
            persisted_follows: None,
            persisted_log_len: None,
        }
    }

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
        .map(|at| self.clock.adapter_time(at))
    }

    /// The connection state the UI shows.
    pub fn state(&self) -> ConnState {
        match &self.phase {
            Phase::SignedOut => ConnState::SignedOut,
            Phase::AuthFailed(reason) => ConnState::AuthFailed {
                reason: reason.clone(),
            },
            Phase::Offline => ConnState::Offline,
            // Attempt 0 waits only for the floor between attempts: it is a connect.
            Phase::Idle
            | Phase::AwaitingToken
            | Phase::Connecting { .. }
            | Phase::Backoff { attempt: 0 } => ConnState::Connecting,
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

    /// Quizzes whose subscription the server refused (not sent again until followed
    /// anew).
    pub fn refused_subscriptions(&self) -> &VecSet<QuizId> {
        &self.refused
    }

    /// Quizzes subscribed on the open socket.
    pub fn subscribed_on_socket(&self) -> &VecSet<QuizId> {
        &self.live.sent
    }

    /// Whether the client still waits for the answer to request `id` (an answer to a
    /// forgotten request, e.g. one from before a sign-out, is ignored).
    pub fn is_request_pending(&self, id: RequestId) -> bool {
        self.requests.contains_key(&id)
    }

    /// The client's own time at the last input: the adapter's clock made monotonic
    /// (a step back counts as no time passing).
    pub fn time(&self) -> Timestamp {
        self.clock.latest()
    }

    /// Unread alerts.
    pub fn unread(&self) -> u32 {
        self.notifier.unread()
    }

    /// The worker started and storage was read. Restores settings, sign-in, follows,
    /// mute and notification targets, then connects at once when signed in (a worker
    /// start is one of the "reconnect now" moments).
    pub fn handle_start(&mut self, info: StartInfo, now: Timestamp) {
        let now = self.clock.tick(now);
        self.online = info.online;
        self.utc_offset_minutes = info.utc_offset_minutes;
        let stored = info.stored.values;
        if let Some(json) = stored.get(&PersistKey::Settings) {
            match <Settings as FromJson>::from_json_text(json)
                .map_err(|e| Text::plain_text(e.to_string()))
                .and_then(|s| s.validated().map_err(|e| e.text()))
            {
                Ok(s) => self.settings = s,
                Err(why) => self.note(now, Text::new("log_stored_settings_unreadable").text(why)),
            }
        }
        if let Some(json) = stored.get(&PersistKey::Follows) {
            match <FollowState as FromJson>::from_json_text(json) {
                Ok(f) => {
                    self.persisted_follows = Some(f.clone());
                    self.subs = Subscriptions::from_state(f);
                }
                Err(e) => self.note(
                    now,
                    Text::new("log_stored_follows_unreadable").plain(e.to_string()),
                ),
            }
        }
        // Stored times are the adapter's clock of an earlier life; a clock that went back
        // meanwhile must not stretch a mute past the hour it was set for.
        let muted = stored
            .get(&PersistKey::Mute)
            .and_then(|j| <Option<Timestamp> as FromJson>::from_json_text(j).ok())
            .flatten()
            .map(|t| t.min(now + MUTE_SPAN));
        let targets = stored
            .get(&PersistKey::NotificationTargets)
            .and_then(|j| <VecMap<String, String> as FromJson>::from_json_text(j).ok())
            .unwrap_or_default();
        self.notifier = Notifier::restore(muted, targets);
        // Follows restored here were confirmed in an earlier life of the worker.
        self.announced = self.subs.state().follows.clone();
        if let Some(outage) = stored
            .get(&PersistKey::Outage)
            .and_then(|j| <Outage as FromJson>::from_json_text(j).ok())
        {
            self.outage = Outage {
                since: outage.since.map(|t| t.min(now)),
                ..outage
            };
        }
        if let Some(entries) = stored
            .get(&PersistKey::EventLog)
            .and_then(|j| <Vec<LogEntry> as FromJson>::from_json_text(j).ok())
        {
            let mut log = EventLog::default();
            for e in entries {
                log.restore(e);
            }
            self.events = log;
            self.persisted_log_len = Some(self.events.total());
        }
        self.note(now, Text::new("log_worker_started"));
        let record = match stored
            .get(&PersistKey::Auth)
            .map(|j| <AuthRecord as FromJson>::from_json_text(j))
        {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                self.note(
                    now,
                    Text::new("log_stored_signin_unreadable").plain(e.to_string()),
                );
                AuthRecord::default()
            }
            None => AuthRecord::default(),
        };
        let retry = stored
            .get(&PersistKey::Retry)
            .and_then(|j| <RetryPlan as FromJson>::from_json_text(j).ok());
        self.persisted_retry = retry;
        // A record from before origins were stored is bound to the settings it is found
        // with (and stored with them at once, below).
        let (server, socket) = self.settings.token_origins();
        let bound_elsewhere = record.tokens.is_some()
            && (record.server.as_ref().is_some_and(|s| *s != server)
                || record.socket.as_ref().is_some_and(|s| *s != socket));
        if bound_elsewhere {
            // The settings changed while the worker slept: the tokens stay with the
            // server that issued them.
            self.note(now, Text::new("log_signed_out_other_server"));
            self.persist_json(PersistKey::Auth, &AuthRecord::default());
        } else if let Some(tokens) = record.tokens {
            // Receipt times from an earlier life, never in the future (a clock that
            // went back); without them, the token is as old as it says it is.
            let issued = |t: &str| decode_claims(t).ok().and_then(|c| c.issued_at());
            let access_received = record
                .access_received
                .or_else(|| issued(&tokens.access))
                .unwrap_or(now)
                .min(now);
            let refresh_received = record
                .refresh_received
                .or_else(|| issued(&tokens.refresh))
                .unwrap_or(now)
                .min(now);
            let mut auth = Auth::new(tokens, access_received, refresh_received, None);
            auth.username = record.username;
            auth.warned_expiry = record.warned_expiry;
            self.auth = Some(auth);
            self.gate = RefreshGate::restore(record.refresh_not_before, now);
            if record.server.is_none() {
                self.persist_auth();
            }
            self.phase = Phase::Offline;
            let waits = retry.is_some_and(|plan| self.resume_retry(plan, now));
            self.after_sign_in(now, !waits);
        } else if let Some(reason) = record.failed {
            self.phase = Phase::AuthFailed(reason);
        }
        self.finish(now);
    }

    /// Same as a start without storage changes: the worker woke up (e.g. `onStartup`).
    pub fn handle_worker_started(&mut self, now: Timestamp) {
        let now = self.clock.tick(now);
        self.retry_now(now, false);
        self.finish(now);
    }

    /// A popup command.
    pub fn handle_command(&mut self, command: Command, now: Timestamp) {
        let now = self.clock.tick(now);
        match command {
            Command::Ping => {}
            Command::Hello => {
                // A popup that just opened gets a snapshot even if nothing changed.
                self.published.popup_asked = true;
                self.notifier.mark_read();
                self.retry_now(now, false);
            }
            Command::Follow { quiz_id } => {
                if self.refused.remove(&quiz_id)
                    && let Phase::Open { socket, .. } = self.phase
                    && self.subs.is_wanted(&quiz_id)
                {
                    // Asked for again by the user: one more try.
                    self.send_subscribe(socket, quiz_id.clone(), now);
                }
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
                        .toast(Text::new("toast_sign_in_first"), ToastLevel::Warning, now);
                } else {
                    self.retry_now(now, true);
                }
            }
            Command::SignIn {
                server,
                username,
                password,
            } => self.sign_in(server, username, password.0, now),
            Command::SignOut => self.sign_out(now, "signed out"),
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
                self.viewed_quizzes.insert(quiz_id);
                self.sync_boards(now);
            }
            Command::CloseQuiz { quiz_id } => {
                self.viewed_quizzes.remove(&quiz_id);
                self.sync_boards(now);
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

    /// A page's port connected. The popup: [`Client::handle_popup_opened`]. Any other
    /// page gets a snapshot at once and changes nothing else: the unread count stays
    /// until the popup is seen.
    pub fn handle_page_opened(&mut self, page: Page, now: Timestamp) {
        match page {
            Page::Popup => self.handle_popup_opened(now),
            Page::Options => {
                let now = self.clock.tick(now);
                self.published.popup_asked = true;
                self.finish(now);
            }
        }
    }

    /// The popup's port disconnected.
    pub fn handle_popup_closed(&mut self, now: Timestamp) {
        let now = self.clock.tick(now);
        self.viewed_quizzes.clear();
        self.sync_boards(now);
        self.finish(now);
    }

    /// `chrome.storage.onChanged` for [`PersistKey::Settings`]: settings written by
    /// something other than this worker (`json` is the new value). The same rules as
    /// [`Command::SaveSettings`] apply (validated; another server signs out). The
    /// worker's own write comes back here too and changes nothing.
    pub fn handle_settings_changed(&mut self, json: &str, now: Timestamp) {
        let now = self.clock.tick(now);
        match <Settings as FromJson>::from_json_text(json) {
            Ok(settings) => {
                if settings.validated().as_ref() != Ok(&self.settings) {
                    self.save_settings(settings, now);
                }
            }
            Err(e) => {
                self.note(
                    now,
                    Text::new("log_settings_elsewhere_unreadable").plain(e.to_string()),
                );
                self.settings_error = Some(SettingsError::ServerUrl(
                    Text::new("settings_unreadable").plain(e.to_string()),
                ));
            }
        }
        self.finish(now);
    }

    /// The socket opened.
    pub fn handle_socket_opened(&mut self, socket: SocketId, now: Timestamp) {
        let now = self.clock.tick(now);
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
        self.connection_back(now);
        // The server's side of a new socket subscribes to nothing: send the full set,
        // which covers every change made while there was no open socket.
        for quiz in self.subs.wanted() {
            if !self.refused.contains(&quiz) {
                self.send_subscribe(socket, quiz, now);
            }
        }
        // Delivery is at most once: whatever was missed while away is refetched.
        self.cache.resync_observed(now);
        if let Some(test) = &mut self.test
            && test.is_running(TestCheck::Socket)
        {
            test.set(
                TestCheck::Socket,
                StepStatus::Passed,
                Text::new("step_connected").plain(self.settings.socket_base()),
            );
        }
        self.finish(now);
    }

    /// A text frame arrived.
    pub fn handle_socket_message(&mut self, socket: SocketId, text: &str, now: Timestamp) {
        let now = self.clock.tick(now);
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
            // The server accepted the token. (A later 4001 may spend a refresh again only
            // once the connection was stable: a frame and then 4001 must not loop.)
            self.live.got_message = true;
            self.token_proven();
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
            self.learn_server_time(Some(sent), now);
        }
        if let Some(seq) = frame.seq {
            // `seq` comes from outside: no arithmetic on it may overflow.
            if let Some(expected) = self.live.last_seq.map(|last| last.saturating_add(1))
                && seq > expected
            {
                self.log(now, ConnEvent::SequenceGap { expected, got: seq });
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
        let now = self.clock.tick(now);
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
        if was_open && !matches!(code, 4001 | 4003) {
            self.connection_lost(now);
        }
        if let Some(test) = &mut self.test
            && test.is_running(TestCheck::Socket)
        {
            test.set(
                TestCheck::Socket,
                StepStatus::Failed,
                Text::new("step_closed")
                    .plain(code.to_string())
                    .text(close_text(code)),
            );
        }
        match code {
            4003 => self.auth_failed(now, Text::new("auth_refused_4003")),
            4001 => {
                if self.auth_retry_used {
                    self.auth_failed(now, Text::new("auth_rejected_4001"));
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
        let now = self.clock.tick(now);
        if self.wanted_socket() == Some(socket) {
            self.log(now, ConnEvent::SocketError);
            self.finish(now);
        }
    }

    /// An HTTP request finished.
    pub fn handle_fetch_completed(&mut self, id: RequestId, result: FetchResult, now: Timestamp) {
        let now = self.clock.tick(now);
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
        let now = self.clock.tick(now);
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
        let (summary, updates) = self.with_alert_context(|notifier, ctx| {
            (
                notifier.poll_summary(ctx, now),
                notifier.poll_updates(ctx, now),
            )
        });
        self.actions
            .extend(summary.into_iter().chain(updates).map(Action::Notify));
        self.finish(now);
    }

    /// The alarm fired (the worker may have slept since the last call).
    pub fn handle_alarm(&mut self, now: Timestamp) {
        self.handle_timeout(now);
    }

    /// `navigator.onLine` changed.
    pub fn handle_online(&mut self, online: bool, now: Timestamp) {
        let now = self.clock.tick(now);
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
        let now = self.clock.tick(now);
        if matches!(self.phase, Phase::Open { .. }) {
            self.ping(now);
        } else {
            self.retry_now(now, false);
        }
        self.finish(now);
    }

    /// A tab shows `/quizzes/<id>` (or, with `None`, navigated away from quiz pages).
    /// A quiz id a page may not ask for ([`crate::subscriptions::is_page_quiz_id`]) counts
    /// as no quiz page.
    pub fn handle_tab_quiz(&mut self, tab: TabId, quiz: Option<QuizId>, now: Timestamp) {
        let now = self.clock.tick(now);
        let quiz = quiz.filter(|q| crate::subscriptions::is_page_quiz_id(q.as_str()));
        let changes = match quiz {
            Some(q) => self.subs.tab_shows(tab, q),
            None => self.subs.tab_gone(tab),
        };
        self.apply_sub_changes(changes, now);
        self.finish(now);
    }

    /// A tab closed.
    pub fn handle_tab_closed(&mut self, tab: TabId, now: Timestamp) {
        let now = self.clock.tick(now);
        let changes = self.subs.tab_gone(tab);
        self.apply_sub_changes(changes, now);
        if self.active_tab == Some(tab) {
            self.active_tab = None;
        }
        self.finish(now);
    }

    /// The active tab of the focused window changed (`None`: no browser window focused).
    pub fn handle_tab_activated(&mut self, tab: Option<TabId>, now: Timestamp) {
        let now = self.clock.tick(now);
        self.active_tab = tab;
        self.finish(now);
    }

    /// A notification was clicked: open (or focus) its page, mark all read.
    pub fn handle_notification_clicked(&mut self, id: &str, now: Timestamp) {
        let now = self.clock.tick(now);
        let url = self.notifier.target_of(id).map(str::to_owned);
        self.notifier.mark_read();
        self.notifier.closed(id, true);
        self.actions
            .push_back(Action::ClearNotification { id: id.to_owned() });
        if let Some(url) = url {
            self.actions.push_back(Action::OpenTab { url });
        }
        self.finish(now);
    }

    /// A notification was closed: by the user (`by_user`), or by the system (a timeout).
    pub fn handle_notification_closed(&mut self, id: &str, by_user: bool, now: Timestamp) {
        let now = self.clock.tick(now);
        self.notifier.closed(id, by_user);
        self.finish(now);
    }

    /// The answer to [`Action::CheckHostAccess`].
    pub fn handle_host_access(&mut self, granted: bool, now: Timestamp) {
        let now = self.clock.tick(now);
        let origin = self.settings.host_permission_pattern();
        if let Some(test) = &mut self.test
            && test.is_running(TestCheck::HostAccess)
        {
            if granted {
                test.set(
                    TestCheck::HostAccess,
                    StepStatus::Passed,
                    Text::new("step_may_access").plain(origin),
                );
            } else {
                test.set(
                    TestCheck::HostAccess,
                    StepStatus::Failed,
                    Text::new("step_no_access").plain(origin),
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

    /// The local zone's offset east of UTC that quiet hours are judged in.
    pub fn utc_offset_minutes(&self) -> i32 {
        self.utc_offset_minutes
    }
}
