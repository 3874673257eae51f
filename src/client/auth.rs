//! Sign-in, sign-out, settings changes and the token lifecycle: refresh ahead of
//! `exp`, refresh once on 4001, warn once before the sign-in runs out.

use super::*;

impl Client {
    /// Validates the server, switches to it if it changed, and posts the token request.
    pub(super) fn sign_in(
        &mut self,
        server: String,
        username: String,
        password: String,
        now: Timestamp,
    ) {
        let candidate = Settings {
            server_url: server,
            ..self.settings.clone()
        };
        let validated = match candidate.validated() {
            Ok(s) => s,
            Err(e) => {
                self.sign_in = SignInStatus::Failed(e.text());
                return;
            }
        };
        if self.auth.is_some() {
            self.sign_out(now, "signed out");
        }
        if validated.server_url != self.settings.server_url {
            self.server_changed();
        }
        self.settings = validated;
        self.persist_json(PersistKey::Settings, &self.settings.clone());
        let body = TokenRequest {
            username: username.clone(),
            password,
        }
        .to_json_text();
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

    /// Stores the token pair and connects, or says in the sign-in form why not.
    pub(super) fn sign_in_completed(&mut self, result: FetchResult, now: Timestamp) {
        let server = self.settings.api_base().to_owned();
        match result {
            FetchResult::Response {
                status: 200,
                body,
                headers,
            } => match TokenPair::from_json_text(&body) {
                Ok(tokens) => {
                    self.learn_server_time(headers.server_time(), now);
                    let username = self.pending_username.take();
                    let mut auth = Auth::new(tokens, now, now, self.server_now(now));
                    auth.username.clone_from(&username);
                    self.learn_issued_at(&auth.tokens.access, now);
                    self.auth = Some(auth);
                    self.gate = RefreshGate::default();
                    self.sign_in = SignInStatus::Idle;
                    self.persist_auth();
                    self.phase = Phase::Offline;
                    self.attempt = 0;
                    self.slow_n = 0;
                    self.auth_retry_used = false;
                    let who = username.unwrap_or_default();
                    self.notifier.toast(
                        Text::new("toast_signed_in").plain(who),
                        ToastLevel::Success,
                        now,
                    );
                    self.after_sign_in(now, true);
                }
                Err(e) => {
                    self.sign_in =
                        SignInStatus::Failed(Text::new("signin_bad_answer").plain(e.to_string()));
                }
            },
            FetchResult::Response {
                status: 401, body, ..
            } => {
                let detail = ApiError::message_from(&body);
                self.sign_in = SignInStatus::Failed(if detail.is_empty() {
                    Text::new("signin_wrong")
                } else {
                    Text::new("signin_wrong_detail").plain(detail)
                });
            }
            FetchResult::Response { status, body, .. } => {
                self.sign_in = SignInStatus::Failed(
                    Text::new("signin_failed").text(ApiError::describe_status(status, &body)),
                );
            }
            FetchResult::NetworkError { message } => {
                self.sign_in = SignInStatus::Failed(
                    Text::new("signin_unreachable").plain(server).plain(message),
                );
            }
        }
    }

    /// Common tail of sign-in and start-with-tokens: observe the popup's data, plan
    /// token refreshes, connect (unless a resumed backoff waits for its time).
    pub(super) fn after_sign_in(&mut self, now: Timestamp, connect_now: bool) {
        for key in [
            QueryKey::Subjects,
            QueryKey::SubjectBoards,
            QueryKey::Quizzes,
            QueryKey::MyPerformance,
        ] {
            self.cache.observe(key, now);
        }
        self.sync_boards(now);
        self.schedule_token_timers(now);
        if connect_now {
            self.connect(now, false);
        }
    }

    /// Forgets the sign-in: closes the socket with 1000 (no reconnect follows, since the
    /// close event of a socket no longer wanted is ignored), drops tokens and data.
    /// Follow toggles stay.
    pub(super) fn sign_out(&mut self, now: Timestamp, reason: &str) {
        self.close_socket(CLOSE_NORMAL, reason, now);
        self.timers = TimerTable::default();
        self.auth = None;
        self.refresh_in_flight = None;
        self.gate = RefreshGate::default();
        self.attempt = 0;
        self.slow_n = 0;
        self.requests.retain(|_, p| *p == RequestPurpose::SignIn);
        self.cache.clear();
        self.phase = Phase::SignedOut;
        self.sign_in = SignInStatus::Idle;
        self.end_outage();
        self.persist_json(PersistKey::Auth, &AuthRecord::default());
    }

    /// Forgets what belonged to the previous server.
    pub(super) fn server_changed(&mut self) {
        self.server_pongs = false;
        self.ping_unsupported = false;
        self.server_skew_ms = None;
        self.refused = VecSet::new();
        self.cache.clear();
    }

    /// Validates and applies new settings: another server signs out (tokens belong to
    /// the old one), another socket URL reconnects, another board size refetches.
    pub(super) fn save_settings(&mut self, settings: Settings, now: Timestamp) {
        let validated = match settings.validated() {
            Ok(s) => s,
            Err(e) => {
                self.settings_error = Some(e);
                return;
            }
        };
        self.settings_error = None;
        let old = std::mem::replace(&mut self.settings, validated);
        self.persist_json(PersistKey::Settings, &self.settings.clone());
        if old.server_url != self.settings.server_url {
            self.server_changed();
        }
        if old.token_origins() != self.settings.token_origins() {
            // Tokens go only where they were issued for: a sign-in never follows the
            // settings to another server or socket host.
            if self.auth.is_some() {
                self.sign_out(now, "server changed");
                self.notifier
                    .toast(Text::new("toast_server_changed"), ToastLevel::Info, now);
            }
        } else if old.socket_base() != self.settings.socket_base() && self.wanted_socket().is_some()
        {
            self.close_socket(CLOSE_NORMAL, "socket URL changed", now);
            self.phase = Phase::Backoff { attempt: 0 };
            self.attempt = 0;
            self.connect(now, false);
        } else if old.board_limit != self.settings.board_limit {
            self.cache.resync_observed(now);
        }
        if old.language != self.settings.language {
            // The tooltip is words: the badge is set again, in the new language.
            self.last_badge = None;
        }
    }

    /// Plans the access token's refresh ahead of its estimated expiry (never before the
    /// refresh gate opens; nothing when its lifetime is unknown: the server will say)
    /// and the warning before the sign-in (refresh token) runs out, once per token.
    pub(super) fn schedule_token_timers(&mut self, now: Timestamp) {
        let Some(auth) = &self.auth else {
            return;
        };
        match auth.access.refresh_at() {
            Some(at) => {
                let at = self.gate.opens_at().map_or(at, |g| g.max(at));
                self.timers.set(Timer::TokenRefresh, at.max(now));
            }
            None => self.timers.stop(Timer::TokenRefresh),
        }
        match (auth.refresh.expires(), auth.refresh.life) {
            (Some(exp), Some(life)) if auth.warned_expiry != auth.refresh_exp_claim => {
                let lead = (life / 4).min(self.config.refresh_warning);
                self.timers.set(Timer::ExpiryWarning, (exp - lead).max(now));
            }
            _ => self.timers.stop(Timer::ExpiryWarning),
        }
    }

    /// Warns once per refresh token that the sign-in is about to run out (by its own
    /// lifetime on our clock: a rotated token is a new sign-in, not a warning).
    pub(super) fn warn_expiry(&mut self, now: Timestamp) {
        let Some(auth) = &mut self.auth else {
            return;
        };
        let Some(exp) = auth.refresh.expires() else {
            return;
        };
        if auth.warned_expiry == auth.refresh_exp_claim || exp <= now {
            return;
        }
        auth.warned_expiry = auth.refresh_exp_claim;
        let left = exp.saturating_since(now);
        self.persist_auth();
        self.alert(
            Alert::Account {
                message: Text::new("notify_expiry").span(left),
            },
            now,
        );
    }

    /// Posts the refresh token, unless a refresh is already running or the gate is
    /// shut (then the `TokenRefresh` timer brings it back when the gate opens; whatever
    /// waits for the token waits until then). Never refused on the local clock's word:
    /// only the server ends a sign-in.
    pub(super) fn start_refresh(&mut self, why: RefreshWhy, now: Timestamp) {
        if self.refresh_in_flight.is_some() {
            return;
        }
        let Some(auth) = &self.auth else {
            return;
        };
        if !self.gate.open(now) {
            if let Some(at) = self.gate.opens_at() {
                self.timers.set(Timer::TokenRefresh, at);
            }
            return;
        }
        let body = RefreshRequest {
            refresh: auth.tokens.refresh.clone(),
        }
        .to_json_text();
        self.timers.stop(Timer::TokenRefresh);
        self.gate.started(now);
        let id = self.request(
            RequestPurpose::Refresh,
            Method::Post,
            "/api/token/refresh/".into(),
            Some(body),
            None,
        );
        self.refresh_in_flight = Some((id, why));
    }

    /// A new access token (and maybe a rotated refresh token), or a refused refresh
    /// (auth failed), or no usable answer (back off, not an auth failure).
    pub(super) fn refresh_completed(&mut self, id: RequestId, result: FetchResult, now: Timestamp) {
        if self.refresh_in_flight.map(|(i, _)| i) != Some(id) {
            return;
        }
        self.refresh_in_flight = None;
        if self.auth.is_none() {
            return;
        }
        match result {
            FetchResult::Response {
                status: 200,
                body,
                headers,
            } => match RefreshResponse::from_json_text(&body) {
                Ok(r) => {
                    self.learn_server_time(headers.server_time(), now);
                    self.learn_issued_at(&r.access, now);
                    self.replace_tokens(r, now);
                    self.persist_auth();
                    self.log(now, ConnEvent::TokenRefreshed);
                    self.schedule_token_timers(now);
                    self.cache.token_ready(now);
                    if self.phase == Phase::AwaitingToken {
                        self.connect(now, false);
                    }
                }
                Err(e) => self.refresh_failed(
                    Text::new("log_unreadable_answer").plain(e.to_string()),
                    None,
                    now,
                ),
            },
            FetchResult::Response {
                status: 400 | 401,
                body,
                ..
            } => {
                let detail = ApiError::message_from(&body);
                self.log(
                    now,
                    ConnEvent::RefreshFailed {
                        message: Text::new("log_refused").plain(detail),
                    },
                );
                self.auth_failed(now, Text::new("auth_expired"));
            }
            FetchResult::Response {
                status,
                body,
                headers,
            } => {
                let wait = matches!(status, 429 | 503)
                    .then(|| headers.retry_after())
                    .flatten();
                self.refresh_failed(ApiError::describe_status(status, &body), wait, now)
            }
            FetchResult::NetworkError { message } => {
                self.refresh_failed(Text::plain_text(message), None, now)
            }
        }
    }

    /// Takes the tokens of a successful refresh (the refresh token too, when rotated)
    /// and lets the gate's floor follow the new token's lifetime.
    fn replace_tokens(&mut self, r: RefreshResponse, now: Timestamp) {
        let server_now = self.server_now(now);
        let Some(old) = self.auth.take() else {
            return;
        };
        let (refresh, refresh_received) = match r.refresh {
            Some(rotated) => (rotated, now),
            None => (old.tokens.refresh, old.refresh.received),
        };
        let tokens = TokenPair {
            access: r.access,
            refresh,
        };
        let mut auth = Auth::new(tokens, now, refresh_received, server_now);
        auth.username = old.username;
        auth.user_id = auth.user_id.or(old.user_id);
        auth.warned_expiry = old.warned_expiry;
        auth.refreshed = true;
        self.gate.succeeded(now, auth.access.life);
        self.auth = Some(auth);
    }

    /// The refresh got no usable answer: not an auth failure. The gate backs off
    /// (longer when the server said `Retry-After`), and the refresh comes back when it
    /// opens; reads that wait for the token keep waiting and say why.
    pub(super) fn refresh_failed(
        &mut self,
        message: Text,
        retry_after: Option<Duration>,
        now: Timestamp,
    ) {
        self.log(
            now,
            ConnEvent::RefreshFailed {
                message: message.clone(),
            },
        );
        self.gate.failed(now, retry_after);
        // Tried again when planned (never before the gate opens), or as soon as the gate
        // opens when reads wait for the token.
        self.schedule_token_timers(now);
        if self.cache.waits_for_token()
            && let Some(at) = self.gate.opens_at()
        {
            let planned = self.timers.get(Timer::TokenRefresh).unwrap_or(at);
            self.timers.set(Timer::TokenRefresh, planned.min(at));
        }
        self.persist_auth();
        self.cache
            .token_failed(&Text::new("query_refresh_failed").text(message));
        if self.phase == Phase::AwaitingToken {
            self.connection_failed(Failure::Normal, now);
        }
    }

    /// The server refused the current access token (401 on a read). A token it never
    /// accepted, refused right after a refresh, counts as a failed refresh (the gate
    /// backs off), so a server that refuses every new token is not asked in a loop.
    pub(super) fn token_refused(&mut self, why: RefreshWhy, now: Timestamp) {
        if self.auth.as_ref().is_some_and(|a| a.refreshed && !a.proven) {
            self.gate.failed(now, None);
        }
        self.start_refresh(why, now);
    }

    /// The server accepted the current access token.
    pub(super) fn token_proven(&mut self) {
        if let Some(auth) = &mut self.auth
            && !auth.proven
        {
            auth.proven = true;
            self.gate.proven();
        }
    }

    /// Learns the server's clock from a response's `Date` header.
    pub(super) fn learn_server_time(&mut self, server: Option<Timestamp>, now: Timestamp) {
        if let Some(server) = server {
            self.server_skew_ms = Some(server.as_millis() as i64 - now.as_millis() as i64);
        }
    }

    /// Learns the server's clock from a token it just issued (`iat`), when nothing more
    /// precise is known.
    fn learn_issued_at(&mut self, token: &str, now: Timestamp) {
        if self.server_skew_ms.is_none()
            && let Some(iat) = decode_claims(token).ok().and_then(|c| c.issued_at())
        {
            self.learn_server_time(Some(iat), now);
        }
    }

    /// The server's clock at our `now`, when known.
    pub(super) fn server_now(&self, now: Timestamp) -> Option<Timestamp> {
        self.server_skew_ms
            .map(|skew| Timestamp::from_millis((now.as_millis() as i64 + skew).max(0) as u64))
    }
}
