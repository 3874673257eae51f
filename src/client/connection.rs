//! The connection state machine: connecting, backing off, giving up on a dead socket,
//! and the timers that drive it.

use super::*;

impl Client {
    /// The "reconnect now" moments (popup, online, wake, worker start, Retry now): skip
    /// the backoff when waiting. `force` ignores the browser's offline flag.
    pub(super) fn retry_now(&mut self, now: Timestamp, force: bool) {
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

    /// Opens a socket, or first refreshes an access token whose life looks spent (when
    /// the refresh gate allows; otherwise the token is tried and the server decides).
    /// Never two attempts within [`ClientConfig::attempt_floor`], whatever asks.
    pub(super) fn connect(&mut self, now: Timestamp, ignore_offline: bool) {
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
        if auth.access.looks_spent(now) && self.gate.open(now) {
            self.phase = Phase::AwaitingToken;
            self.start_refresh(RefreshWhy::ForSocket, now);
            return;
        }
        if let Some(next) = Some(self.attempt_floor_end()).filter(|next| *next > now) {
            self.phase = Phase::Backoff {
                attempt: self.attempt,
            };
            self.timers.set(Timer::Reconnect, next);
            return;
        }
        let url = self.settings.socket_url_with_token(&auth.tokens.access);
        self.next_socket = self.next_socket.wrapping_add(1);
        let socket = self.next_socket;
        self.last_attempt = Some(now);
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

    /// The earliest time the next socket attempt may start.
    fn attempt_floor_end(&self) -> Timestamp {
        self.last_attempt
            .map_or(Timestamp::ZERO, |at| at + self.config.attempt_floor)
    }

    /// Clears what belonged to the socket that just went away.
    pub(super) fn socket_gone(&mut self) {
        self.timers.stop(Timer::ConnectTimeout);
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::PongDeadline);
        self.timers.stop(Timer::Stable);
        self.live = Live::default();
    }

    /// Closes our socket (if any) deliberately.
    pub(super) fn close_socket(&mut self, code: u16, reason: &str, now: Timestamp) {
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

    /// Counts a failed connection and schedules the next try: quick retries with full
    /// jitter, then the slow retry (which the alarm wakes).
    pub(super) fn connection_failed(&mut self, failure: Failure, now: Timestamp) {
        if self.auth.is_none() {
            self.phase = Phase::SignedOut;
            return;
        }
        if !self.online {
            self.phase = Phase::Offline;
            return;
        }
        self.attempt = self.attempt.saturating_add(1);
        let backoff = &self.config.backoff;
        if self.attempt <= backoff.quick_attempts {
            let delay = match failure {
                Failure::Normal => backoff.quick_delay(self.attempt, &mut self.rng),
                Failure::Soon => backoff.soon_delay(&mut self.rng),
            };
            self.phase = Phase::Backoff {
                attempt: self.attempt,
            };
            let at = (now + delay).max(self.attempt_floor_end());
            self.timers.set(Timer::Reconnect, at);
            self.log(
                now,
                ConnEvent::RetryScheduled {
                    in_secs: delay.as_secs(),
                    attempt: Some(self.attempt),
                },
            );
        } else {
            let delay = backoff.slow_delay(self.slow_n, &mut self.rng);
            self.slow_n = self.slow_n.saturating_add(1);
            self.phase = Phase::Suspended;
            self.outage_persists(now);
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

    /// The sign-in is refused: stop everything until the user signs in again, and say so.
    pub(super) fn auth_failed(&mut self, now: Timestamp, reason: Text) {
        self.close_socket(CLOSE_NORMAL, "sign-in refused", now);
        self.timers = TimerTable::default();
        self.cache.token_failed(&Text::new("query_sign_in_again"));
        self.cache.cancel_all();
        self.requests.retain(|_, p| *p == RequestPurpose::SignIn);
        let record = AuthRecord {
            username: self.auth.as_ref().and_then(|a| a.username.clone()),
            failed: Some(reason.clone()),
            ..AuthRecord::default()
        };
        self.auth = None;
        self.refresh_in_flight = None;
        self.gate = RefreshGate::default();
        self.attempt = 0;
        self.slow_n = 0;
        self.persist_json(PersistKey::Auth, &record);
        self.phase = Phase::AuthFailed(reason.clone());
        self.end_outage();
        self.alert(
            Alert::Account {
                message: Text::new("conn_auth_failed").text(reason),
            },
            now,
        );
    }

    /// One expired timer.
    pub(super) fn on_timer(&mut self, t: Timer, now: Timestamp) {
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
                        && test.is_running(TestCheck::Socket)
                    {
                        test.set(
                            TestCheck::Socket,
                            StepStatus::Failed,
                            Text::new("step_socket_timeout").span(self.config.connect_timeout),
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
                    self.connection_lost(now);
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
            // `finish` publishes and writes what the throttles held back.
            Timer::Publish | Timer::Badge | Timer::LogWrite => {}
        }
    }

    /// Sends a keepalive ping and plans the next one. Once the server has answered
    /// pings, an unanswered one means a dead connection.
    pub(super) fn ping(&mut self, now: Timestamp) {
        let Phase::Open { socket, .. } = self.phase else {
            return;
        };
        self.live.next_ping = self.live.next_ping.wrapping_add(1);
        self.live.ping_out = Some((self.live.next_ping, false));
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

    /// An open connection went away, not by the user's choice: say so in the popup.
    pub(super) fn connection_lost(&mut self, now: Timestamp) {
        if self.outage.since.is_none() {
            self.outage.since = Some(now);
            self.persist_outage();
        }
        self.notifier
            .toast(Text::new("toast_connection_lost"), ToastLevel::Warning, now);
    }

    /// The quick retries are spent: the connection stays lost. A browser notification
    /// says so, once per outage (the outage is persisted, so a worker restart does not
    /// say it again).
    pub(super) fn outage_persists(&mut self, now: Timestamp) {
        let since = *self.outage.since.get_or_insert(now);
        if !self.outage.notified {
            let server = self.settings.api_base().to_owned();
            let alert = Alert::Connection {
                lost: true,
                message: Text::new("notify_connection_lost")
                    .plain(server)
                    .ago(now.saturating_since(since)),
            };
            if let Some(n) = self.with_alert_context(|n, ctx| n.notice(alert, ctx, now)) {
                self.outage.notified = true;
                self.actions.push_back(Action::Notify(n));
            }
        }
        self.persist_outage();
    }

    /// The socket opened after an outage: say it is back (a notification only when the
    /// loss was notified).
    pub(super) fn connection_back(&mut self, now: Timestamp) {
        let Some(since) = self.outage.since else {
            return;
        };
        let away = now.saturating_since(since);
        self.notifier.toast(
            Text::new("toast_connection_back").span(away),
            ToastLevel::Success,
            now,
        );
        if self.outage.notified {
            let alert = Alert::Connection {
                lost: false,
                message: Text::new("notify_connection_back").span(away),
            };
            if let Some(n) = self.with_alert_context(|n, ctx| n.notice(alert, ctx, now)) {
                self.actions.push_back(Action::Notify(n));
            }
        }
        self.outage = Outage::default();
        self.persist_outage();
    }

    /// Signed out or refused: an outage is no longer news; its notification goes.
    pub(super) fn end_outage(&mut self) {
        if self.outage == Outage::default() {
            return;
        }
        if self.outage.notified {
            self.actions.push_back(Action::ClearNotification {
                id: "connection".into(),
            });
        }
        self.outage = Outage::default();
        self.persist_outage();
    }

    /// Stores the outage (session area).
    pub(super) fn persist_outage(&mut self) {
        let outage = Outage {
            since: self.outage.since.map(|t| self.clock.adapter_time(t)),
            ..self.outage
        };
        self.persist_json(PersistKey::Outage, &outage);
    }

    /// The reconnect backoff as it stands (next attempt on the adapter's clock).
    pub(super) fn retry_plan(&self) -> RetryPlan {
        let next_at = match self.phase {
            Phase::Backoff { .. } | Phase::Suspended => self.timers.get(Timer::Reconnect),
            _ => None,
        };
        RetryPlan {
            attempt: self.attempt,
            slow_n: self.slow_n,
            next_at: next_at.map(|t| self.clock.adapter_time(t)),
        }
    }

    /// Takes up a stored backoff after a worker restart: the counters go on, and a
    /// planned attempt still ahead waits for its time (cut to the longest delay, in case
    /// the clock went back meanwhile). Returns whether an attempt waits.
    pub(super) fn resume_retry(&mut self, plan: RetryPlan, now: Timestamp) -> bool {
        self.attempt = plan.attempt;
        self.slow_n = plan.slow_n;
        let Some(at) = plan.next_at.filter(|at| *at > now) else {
            return false;
        };
        let backoff = &self.config.backoff;
        let at = at.min(now + backoff.slow_max.max(backoff.quick_cap));
        self.phase = if self.attempt <= backoff.quick_attempts {
            Phase::Backoff {
                attempt: self.attempt,
            }
        } else {
            Phase::Suspended
        };
        self.timers.set(Timer::Reconnect, at);
        true
    }
}
