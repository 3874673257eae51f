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
                self.sign_in = SignInStatus::Failed(e.to_string());
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

    /// Stores the token pair and connects, or says in the sign-in form why not.
    pub(super) fn sign_in_completed(&mut self, result: FetchResult, now: Timestamp) {
        let server = self.settings.api_base().to_owned();
        match result {
            FetchResult::Response { status: 200, body } => match TokenPair::from_json_text(&body) {
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
                    self.notifier
                        .toast(format!("Signed in as {who}"), ToastLevel::Success, now);
                    self.after_sign_in(now);
                }
                Err(e) => {
                    self.sign_in = SignInStatus::Failed(format!(
                        "The server's answer was not a token pair ({e})."
                    ));
                }
            },
            FetchResult::Response { status: 401, body } => {
                let detail = ApiError::message_from(&body);
                self.sign_in = SignInStatus::Failed(if detail.is_empty() {
                    "Wrong username or password.".into()
                } else {
                    format!("Wrong username or password ({detail}).")
                });
            }
            FetchResult::Response { status, body } => {
                self.sign_in = SignInStatus::Failed(format!(
                    "Sign-in failed: {}.",
                    ApiError::describe_status(status, &body)
                ));
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
    pub(super) fn after_sign_in(&mut self, now: Timestamp) {
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
        self.connect(now, false);
    }

    /// Forgets the sign-in: closes the socket with 1000 (no reconnect follows, since the
    /// close event of a socket no longer wanted is ignored), drops tokens and data.
    /// Follow toggles stay.
    pub(super) fn sign_out(&mut self, now: Timestamp, reason: &str) {
        self.close_socket(CLOSE_NORMAL, reason, now);
        self.timers = TimerTable::default();
        self.auth = None;
        self.refresh_in_flight = None;
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
        self.cache.clear();
    }

    /// Validates and applies new settings: another server signs out (tokens belong to
    /// the old one), another socket URL reconnects, another board size refetches.
    pub(super) fn save_settings(&mut self, settings: Settings, now: Timestamp) {
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
                self.sign_out(now, "server changed");
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

    /// Plans the access token's refresh (the earlier of 80% of its remaining life and
    /// 30 s before `exp`; nothing when `exp` is unknown) and the warning before the
    /// refresh token runs out (once per token).
    pub(super) fn schedule_token_timers(&mut self, now: Timestamp) {
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

    /// Warns once that the sign-in (refresh token) is about to run out.
    pub(super) fn warn_expiry(&mut self, now: Timestamp) {
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

    /// Posts the refresh token, unless a refresh is already running.
    pub(super) fn start_refresh(&mut self, why: RefreshWhy, now: Timestamp) {
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

    /// A new access token (and maybe a rotated refresh token), or a refused refresh
    /// (auth failed), or no answer (retry later, not an auth failure).
    pub(super) fn refresh_completed(&mut self, id: RequestId, result: FetchResult, now: Timestamp) {
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
                match RefreshResponse::from_json_text(&body) {
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
                self.refresh_failed(ApiError::describe_status(status, &body), now);
            }
            FetchResult::NetworkError { message } => self.refresh_failed(message, now),
        }
    }

    /// The refresh did not get an answer: not an auth failure. Try again later.
    pub(super) fn refresh_failed(&mut self, message: String, now: Timestamp) {
        self.log(
            now,
            ConnEvent::RefreshFailed {
                message: message.clone(),
            },
        );
        self.refresh_failures = self.refresh_failures.saturating_add(1);
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
}
