//! A simulated adapter on simulated time, for tests of the core (and of anything built
//! on it). It carries out [`Action`]s the way the service worker would, keeping what a
//! browser would keep (open sockets, storage, the alarm, the badge, the last snapshot,
//! requests awaiting an answer), and drives timers by jumping the clock.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::badge::Badge;
use crate::cache::{FetchResult, ResponseHeaders};
use crate::client::{
    Action, Client, ClientConfig, FetchRequest, PUBLISH_POPUP_EVERY, PersistKey, RequestId,
    SocketId, StartInfo, StoredState,
};
use crate::jwt::unsigned_token;
use crate::messages::{Command, Snapshot};
use crate::notify::Notification;
use crate::time::Timestamp;

/// 2026-11-26T06:00:00Z, the simulations' default start.
pub const T0: Timestamp = Timestamp(1_795_672_800_000);

/// A SimpleJWT-shaped (unsigned) token of `kind` (`"access"`/`"refresh"`) for `user_id`,
/// issued at `iat` and expiring at `exp`.
pub fn token(kind: &str, user_id: &str, iat: Timestamp, exp: Timestamp) -> String {
    unsigned_token(&format!(
        r#"{{"token_type": "{kind}", "exp": {}, "iat": {}, "jti": "j{}", "user_id": "{user_id}"}}"#,
        exp.as_millis() / 1000,
        iat.as_millis() / 1000,
        exp.as_millis()
    ))
}

/// The JSON of a `200` token response: access valid for `access_life`, refresh for
/// `refresh_life`, both issued at `now`, for user `"7"`.
pub fn token_pair_json(now: Timestamp, access_life: Duration, refresh_life: Duration) -> String {
    format!(
        r#"{{"access": "{}", "refresh": "{}"}}"#,
        token("access", "7", now, now + access_life),
        token("refresh", "7", now, now + refresh_life)
    )
}

/// Stored state of a user signed in at `now` (access 5 min, refresh 1 day), following
/// `follows`.
pub fn signed_in_storage(now: Timestamp, follows: &[&str]) -> StoredState {
    let pair = token_pair_json(now, Duration::from_secs(300), Duration::from_secs(86_400));
    let follows: Vec<String> = follows.iter().map(|q| format!("\"{q}\"")).collect();
    StoredState::default()
        .with(
            PersistKey::Auth,
            format!(r#"{{"tokens": {pair}, "username": "ann"}}"#),
        )
        .with(
            PersistKey::Follows,
            format!(
                r#"{{"follows": [{}], "seen": [], "baseline_taken": true}}"#,
                follows.join(", ")
            ),
        )
}

/// The simulated browser around a [`Client`].
///
/// Two clocks run: [`Sim::server_now`], the true time (the server's clock, which
/// issues tokens and sends `Date`), and [`Sim::now`], the browser's clock the client is
/// fed. They agree unless a test sets them apart ([`Sim::with_clock_offset`]) or the
/// browser's clock jumps ([`Sim::jump_clock`]); [`Sim::advance`] moves both.
#[derive(Debug)]
pub struct Sim {
    /// The client under test.
    pub client: Client,
    /// The browser's clock, as the client is fed it.
    pub now: Timestamp,
    /// True time (the server's clock).
    pub server_now: Timestamp,
    /// Every action ever taken, in order.
    pub history: Vec<Action>,
    /// When each action of [`Sim::history`] was taken: in true time, and on the
    /// client's own clock ([`Client::time`]).
    pub history_at: Vec<(Timestamp, Timestamp)>,
    /// Actions since the last [`Sim::take`].
    pub recent: Vec<Action>,
    /// Sockets opened and not closed (by either side).
    pub open_sockets: BTreeSet<SocketId>,
    /// The greatest number of sockets ever held at once.
    pub max_open_sockets: usize,
    /// `chrome.storage.local`.
    pub storage: BTreeMap<PersistKey, String>,
    /// The alarm.
    pub alarm: Option<Timestamp>,
    /// The badge.
    pub badge: Option<Badge>,
    /// How many `SetBadge` actions were carried out.
    pub badge_sets: usize,
    /// The last snapshot published to the popup.
    pub snapshot: Option<Snapshot>,
    /// When the driver's timer fires, in true time (re-armed after every input from
    /// [`Client::poll_timeout`], as a delay from the browser's clock).
    pub armed: Option<Timestamp>,
    /// The last snapshot written to `chrome.storage.session`.
    pub stored_snapshot: Option<Snapshot>,
    /// Requests not answered yet.
    pub outstanding: BTreeMap<RequestId, FetchRequest>,
    /// Notifications on screen.
    pub notifications: BTreeMap<String, Notification>,
}

impl Sim {
    /// A simulation at [`T0`] with `config`; nothing started yet.
    pub fn new(config: ClientConfig) -> Sim {
        Sim {
            client: Client::new(config),
            now: T0,
            server_now: T0,
            history: Vec::new(),
            history_at: Vec::new(),
            recent: Vec::new(),
            open_sockets: BTreeSet::new(),
            max_open_sockets: 0,
            storage: BTreeMap::new(),
            alarm: None,
            badge: None,
            badge_sets: 0,
            snapshot: None,
            armed: None,
            stored_snapshot: None,
            outstanding: BTreeMap::new(),
            notifications: BTreeMap::new(),
        }
    }

    /// A simulation whose browser clock is `offset_ms` ahead of the server's (behind,
    /// when negative).
    pub fn with_clock_offset(config: ClientConfig, offset_ms: i64) -> Sim {
        let mut sim = Sim::new(config);
        sim.now = shifted(T0, offset_ms);
        sim
    }

    /// The browser's clock jumps by `ms` (back, when negative) without any true time
    /// passing: an NTP or manual correction.
    pub fn jump_clock(&mut self, ms: i64) {
        self.now = shifted(self.now, ms);
    }

    /// The `Date` header the server sends now.
    pub fn date_header(&self) -> ResponseHeaders {
        ResponseHeaders {
            date: Some(self.server_now.to_http_date()),
            retry_after: None,
        }
    }

    /// Starts the worker with `stored`, online.
    pub fn start(&mut self, stored: StoredState) {
        self.storage
            .extend(stored.values.iter().map(|(k, v)| (*k, v.clone())));
        let now = self.now;
        self.client.handle_start(
            StartInfo {
                stored,
                online: true,
                utc_offset_minutes: 0,
            },
            now,
        );
        self.drain();
    }

    /// A new worker over the same storage (the old one was killed): sockets and
    /// requests are gone.
    pub fn restart_worker(&mut self, config: ClientConfig) {
        let stored = StoredState {
            values: self.storage.clone().into_iter().collect(),
        };
        self.client = Client::new(config);
        self.open_sockets.clear();
        self.outstanding.clear();
        self.start(stored);
    }

    /// Runs an input at the current time, then carries out the actions.
    pub fn input(&mut self, f: impl FnOnce(&mut Client, Timestamp)) {
        let now = self.now;
        f(&mut self.client, now);
        self.drain();
    }

    /// A popup command.
    pub fn command(&mut self, command: Command) {
        self.input(|c, now| c.handle_command(command, now));
    }

    /// Carries out every pending action.
    pub fn drain(&mut self) {
        while let Some(action) = self.client.poll_action() {
            match &action {
                Action::OpenSocket { socket, .. } => {
                    self.open_sockets.insert(*socket);
                    self.max_open_sockets = self.max_open_sockets.max(self.open_sockets.len());
                }
                Action::CloseSocket { socket, .. } => {
                    self.open_sockets.remove(socket);
                }
                Action::Fetch(r) => {
                    self.outstanding.insert(r.id, r.clone());
                }
                Action::Persist { key, json } => {
                    self.storage.insert(*key, json.clone());
                }
                Action::ScheduleAlarm { at } => self.alarm = *at,
                Action::SetBadge(b) => {
                    self.badge = Some(b.clone());
                    self.badge_sets += 1;
                }
                Action::Publish {
                    snapshot,
                    to_popup,
                    to_storage,
                } => {
                    if *to_storage {
                        self.stored_snapshot = Some((**snapshot).clone());
                    }
                    if *to_popup {
                        self.snapshot = Some((**snapshot).clone());
                    }
                }
                Action::Notify(n) => {
                    self.notifications.insert(n.id.clone(), n.clone());
                }
                Action::ClearNotification { id } => {
                    self.notifications.remove(id);
                }
                Action::Send { .. } | Action::OpenTab { .. } | Action::CheckHostAccess { .. } => {}
            }
            self.history.push(action.clone());
            self.history_at.push((self.server_now, self.client.time()));
            self.recent.push(action);
        }
        self.armed = self
            .client
            .poll_timeout()
            .map(|at| self.server_now + at.saturating_since(self.now));
    }

    /// The actions since the last call.
    pub fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.recent)
    }

    /// Moves time forward by `d`, firing every timer on the way at its time. Like the
    /// driver's `setTimeout`, a timer fires after the delay it was armed with, in true
    /// time: a browser clock that jumps meanwhile does not move it.
    pub fn advance(&mut self, d: Duration) {
        let target = self.server_now + d;
        let mut spins = 0u32;
        while let Some(at) = self.armed {
            if at > target {
                break;
            }
            if at <= self.server_now {
                spins += 1;
                assert!(
                    spins < 1000,
                    "livelock: poll_timeout keeps answering {at} at {}",
                    self.server_now
                );
            } else {
                spins = 0;
            }
            let step = at.saturating_since(self.server_now);
            self.now = self.now + step;
            self.server_now = self.server_now + step;
            let now = self.now;
            self.client.handle_timeout(now);
            self.drain();
        }
        let rest = target.saturating_since(self.server_now);
        self.now = self.now + rest;
        self.server_now = target;
    }

    /// Moves time forward without any timer firing (the worker slept), then fires the alarm.
    pub fn sleep_then_alarm(&mut self, d: Duration) {
        self.now = self.now + d;
        self.server_now = self.server_now + d;
        self.input(|c, now| c.handle_alarm(now));
    }

    /// What an open popup shows once the publish throttle let the latest state through:
    /// moves time forward by [`PUBLISH_POPUP_EVERY`] (firing timers on the way), then
    /// returns the last snapshot published to the popup.
    pub fn shown(&mut self) -> Snapshot {
        self.advance(PUBLISH_POPUP_EVERY);
        match &self.snapshot {
            Some(s) => s.clone(),
            None => panic!("Sim::shown: nothing was ever published to the popup"),
        }
    }

    /// The socket the client wants (connecting or open).
    pub fn socket(&self) -> Option<SocketId> {
        self.client.wanted_socket()
    }

    /// The socket the client wants, or a panic that says the test expected one: a
    /// socket event without a socket would otherwise test nothing.
    fn wanted(&self, what: &str) -> SocketId {
        match self.socket() {
            Some(s) => s,
            None => panic!(
                "Sim::{what}: the client wants no socket (state {:?})",
                self.client.state()
            ),
        }
    }

    /// Fires `open` on the wanted socket. Panics when there is none, or when it is
    /// already open.
    pub fn open(&mut self) {
        let s = self.wanted("open");
        if self.client.state().is_connected() {
            panic!("Sim::open: socket {s} is already open");
        }
        self.input(|c, now| c.handle_socket_opened(s, now));
    }

    /// The server sends `text` on the wanted socket. Panics when no socket is open.
    pub fn server_says(&mut self, text: &str) {
        let s = self.wanted("server_says");
        if !self.client.state().is_connected() {
            panic!("Sim::server_says: socket {s} is not open yet");
        }
        self.input(|c, now| c.handle_socket_message(s, text, now));
    }

    /// The wanted socket closes with `code` (`was_open` as the browser reports it).
    /// Panics when the client wants no socket.
    pub fn server_closes(&mut self, code: u16, was_open: bool) {
        let s = self.wanted("server_closes");
        self.open_sockets.remove(&s);
        self.input(|c, now| c.handle_socket_closed(s, code, "", was_open, now));
    }

    /// Texts sent on sockets since the last [`Sim::take`] (without taking).
    pub fn sent(&self) -> Vec<String> {
        self.recent
            .iter()
            .filter_map(|a| match a {
                Action::Send { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    /// Outstanding requests whose path starts with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<FetchRequest> {
        self.outstanding
            .values()
            .filter(|r| r.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Answers request `id` (with the server's `Date`).
    pub fn respond(&mut self, id: RequestId, status: u16, body: &str) {
        let headers = self.date_header();
        self.respond_with(id, status, body, headers);
    }

    /// Answers request `id` with `headers`.
    pub fn respond_with(
        &mut self,
        id: RequestId,
        status: u16,
        body: &str,
        headers: ResponseHeaders,
    ) {
        if self.outstanding.remove(&id).is_some() {
            let result = FetchResult::Response {
                status,
                body: body.to_owned(),
                headers,
            };
            self.input(|c, now| c.handle_fetch_completed(id, result, now));
        }
    }

    /// Answers every outstanding request whose path starts with `prefix`.
    pub fn respond_all(&mut self, prefix: &str, status: u16, body: &str) -> usize {
        let ids: Vec<RequestId> = self.requests(prefix).iter().map(|r| r.id).collect();
        for id in &ids {
            self.respond(*id, status, body);
        }
        ids.len()
    }

    /// Fails request `id` at the network level.
    pub fn fail(&mut self, id: RequestId, message: &str) {
        if self.outstanding.remove(&id).is_some() {
            let result = FetchResult::NetworkError {
                message: message.to_owned(),
            };
            self.input(|c, now| c.handle_fetch_completed(id, result, now));
        }
    }

    /// Answers the outstanding token refresh with a fresh pair (access `access_life`).
    pub fn refresh_ok(&mut self, access_life: Duration) -> bool {
        let Some(r) = self.requests("/api/token/refresh/").pop() else {
            return false;
        };
        let body = format!(
            r#"{{"access": "{}"}}"#,
            token(
                "access",
                "7",
                self.server_now,
                self.server_now + access_life
            )
        );
        self.respond(r.id, 200, &body);
        true
    }

    /// Answers every outstanding read with a plausible empty-ish body.
    pub fn answer_reads(&mut self) {
        let ids: Vec<(RequestId, String)> = self
            .outstanding
            .values()
            .filter(|r| r.bearer.is_some())
            .map(|r| (r.id, r.path.clone()))
            .collect();
        for (id, path) in ids {
            let body = default_body(&path);
            self.respond(id, 200, &body);
        }
    }

    /// How many times `pred` matched an action in the whole history.
    pub fn count(&self, pred: impl Fn(&Action) -> bool) -> usize {
        self.history.iter().filter(|a| pred(a)).count()
    }
}

/// `t` moved by `ms` (back, when negative).
fn shifted(t: Timestamp, ms: i64) -> Timestamp {
    Timestamp::from_millis((t.as_millis() as i64 + ms).max(0) as u64)
}

/// A valid `200` body for a read of `path`.
pub fn default_body(path: &str) -> String {
    if path.starts_with("/api/users/me/performance/") {
        r#"{"user": {"id": "7", "username": "ann"}, "subjects": [], "recent_sessions": []}"#.into()
    } else if let Some(rest) = path.strip_prefix("/api/quizzes/")
        && let Some((id, _)) = rest.split_once("/leaderboard/")
    {
        format!(
            r#"{{"quiz": {{"id": "{id}", "title": "Quiz {id}", "subject_id": "s1"}}, "entries": [], "updated_at": null}}"#
        )
    } else {
        "[]".into()
    }
}
