//! What the client publishes after every input: persistence, the event log, the badge,
//! the alarm and the popup's snapshot.

use super::*;

/// One target's last publish: which snapshot version, when.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sent {
    pub(super) version: u64,
    pub(super) at: Option<Timestamp>,
}

/// What the publish throttle remembers.
#[derive(Debug, Default)]
pub(super) struct Published {
    /// The last snapshot computed (with `generated_at` zeroed, to compare).
    pub(super) last: Option<Snapshot>,
    /// Bumped whenever the computed snapshot changes.
    pub(super) version: u64,
    pub(super) popup: Sent,
    pub(super) storage: Sent,
    /// A popup opened: it gets a snapshot even if nothing changed.
    pub(super) popup_asked: bool,
    /// An input came while both windows were closed: compute at the next window.
    pub(super) pending: bool,
}

impl Client {
    /// Logs a free-form line.
    pub(super) fn note(&mut self, now: Timestamp, message: Text) {
        self.log(now, ConnEvent::Note { message });
    }

    /// Logs a connection event.
    pub(super) fn log(&mut self, now: Timestamp, event: ConnEvent) {
        self.events.push(now, event);
    }

    /// Asks the adapter to store `value` under `key`.
    pub(super) fn persist_json<T: ToJson>(&mut self, key: PersistKey, value: &T) {
        let json = value.to_json_text();
        self.actions.push_back(Action::Persist { key, json });
    }

    /// Stores the tokens and sign-in state.
    pub(super) fn persist_auth(&mut self) {
        let Some(auth) = &self.auth else {
            return;
        };
        let (server, socket) = self.settings.token_origins();
        let record = AuthRecord {
            tokens: Some(auth.tokens.clone()),
            username: auth.username.clone(),
            failed: None,
            warned_expiry: auth.warned_expiry,
            access_received: Some(self.clock.adapter_time(auth.access.received)),
            refresh_received: Some(self.clock.adapter_time(auth.refresh.received)),
            refresh_not_before: self.gate.opens_at().map(|t| self.clock.adapter_time(t)),
            server: Some(server),
            socket: Some(socket),
        };
        self.persist_json(PersistKey::Auth, &record);
    }

    /// Writes the follow state when it changed since the last write.
    pub(super) fn persist_follows(&mut self) {
        if self.persisted_follows.as_ref() == Some(self.subs.state()) {
            return;
        }
        let state = self.subs.state().clone();
        self.persist_json(PersistKey::Follows, &state);
        self.persisted_follows = Some(state);
    }

    /// Stores the mute's end (on the adapter's clock, as every stored time).
    pub(super) fn persist_mute(&mut self, now: Timestamp) {
        let muted = self
            .notifier
            .muted_until(now)
            .map(|t| self.clock.adapter_time(t));
        self.persist_json(PersistKey::Mute, &muted);
    }

    /// Stores where each notification leads.
    pub(super) fn persist_targets(&mut self) {
        let targets = self.notifier.targets().clone();
        self.persist_json(PersistKey::NotificationTargets, &targets);
    }

    /// Runs after every input: start due fetches, then the notification targets, the
    /// event log, badge, alarm and snapshot.
    pub(super) fn finish(&mut self, now: Timestamp) {
        self.pump_fetches(now);
        if self.notifier.take_targets_changed() {
            self.persist_targets();
        }
        self.persist_log(now);
        let plan = self.retry_plan();
        if self.auth.is_some() && self.persisted_retry != Some(plan) {
            self.persisted_retry = Some(plan);
            self.persist_json(PersistKey::Retry, &plan);
        }
        let state = self.state();
        let b = badge(BadgeInput {
            state: &state,
            unread: self.notifier.unread(),
            server_error: self.cache.has_server_error(),
            muted_until: self.notifier.muted_until(now),
            now,
        });
        // At most one badge per BADGE_EVERY: a burst of alerts repaints it once, and
        // its last state always follows (by timer).
        if self.last_badge.as_ref() == Some(&b) {
            self.timers.stop(Timer::Badge);
        } else {
            match self
                .badge_at
                .map(|at| at + BADGE_EVERY)
                .filter(|next| *next > now)
            {
                Some(next) => self.timers.set(Timer::Badge, next),
                None => {
                    self.last_badge = Some(b.clone());
                    self.badge_at = Some(now);
                    self.timers.stop(Timer::Badge);
                    self.actions.push_back(Action::SetBadge(b));
                }
            }
        }
        // The alarm wakes a sleeping worker for the slow retry; an open socket keeps
        // the worker alive, and quick retries are shorter than its idle timeout.
        let alarm = match self.phase {
            Phase::Suspended => self.timers.get(Timer::Reconnect),
            _ => None,
        };
        if self.last_alarm != Some(alarm) {
            self.last_alarm = Some(alarm);
            let at = alarm.map(|t| self.clock.adapter_time(t));
            self.actions.push_back(Action::ScheduleAlarm { at });
        }
        self.publish(now);
    }

    /// Writes the event log when it grew, at most once per
    /// [`ClientConfig::log_write_every`]; the last state of a burst follows by timer.
    fn persist_log(&mut self, now: Timestamp) {
        if self.persisted_log_len == Some(self.events.total()) {
            self.timers.stop(Timer::LogWrite);
            return;
        }
        if let Some(next) = self
            .log_persisted_at
            .map(|at| at + self.config.log_write_every)
            .filter(|next| *next > now)
        {
            self.timers.set(Timer::LogWrite, next);
            return;
        }
        self.timers.stop(Timer::LogWrite);
        self.persisted_log_len = Some(self.events.total());
        self.log_persisted_at = Some(now);
        let entries: Vec<LogEntry> = self.events.entries().cloned().collect();
        self.persist_json(PersistKey::EventLog, &entries);
    }

    /// Publishes the snapshot when it changed, throttled per target: the popup at most
    /// every [`PUBLISH_POPUP_EVERY`], session storage every [`PUBLISH_STORAGE_EVERY`].
    /// What a window holds back goes out by the `Publish` timer, so the last state of a
    /// burst is never lost. Inside both windows the snapshot is not even computed.
    fn publish(&mut self, now: Timestamp) {
        let p = &mut self.published;
        let popup_next = p.popup.at.map(|t| t + PUBLISH_POPUP_EVERY);
        let storage_next = p.storage.at.map(|t| t + PUBLISH_STORAGE_EVERY);
        let popup_ready = popup_next.is_none_or(|t| t <= now);
        let storage_ready = storage_next.is_none_or(|t| t <= now);
        if popup_ready || storage_ready {
            let mut snap = self.snapshot(now);
            snap.generated_at = Timestamp::ZERO;
            let p = &mut self.published;
            p.pending = false;
            if p.last.as_ref() != Some(&snap) {
                p.version = p.version.wrapping_add(1);
                p.last = Some(snap);
            }
        } else {
            self.published.pending = true;
        }
        let p = &mut self.published;
        let to_popup = popup_ready && (p.popup.version != p.version || p.popup_asked);
        let to_storage = storage_ready && p.storage.version != p.version;
        if (to_popup || to_storage)
            && let Some(last) = &p.last
        {
            let mut snapshot = Box::new(last.clone());
            snapshot.generated_at = now;
            if to_popup {
                p.popup = Sent {
                    version: p.version,
                    at: Some(now),
                };
                p.popup_asked = false;
            }
            if to_storage {
                p.storage = Sent {
                    version: p.version,
                    at: Some(now),
                };
            }
            self.actions.push_back(Action::Publish {
                snapshot,
                to_popup,
                to_storage,
            });
        }
        // The trailing publish: whatever a window still holds back.
        let p = &self.published;
        let popup_due = (p.pending || p.popup.version != p.version || p.popup_asked)
            .then(|| p.popup.at.map(|t| t + PUBLISH_POPUP_EVERY))
            .flatten();
        let storage_due = (p.pending || p.storage.version != p.version)
            .then(|| p.storage.at.map(|t| t + PUBLISH_STORAGE_EVERY))
            .flatten();
        match popup_due.into_iter().chain(storage_due).min() {
            Some(at) => self.timers.set(Timer::Publish, at),
            None => self.timers.stop(Timer::Publish),
        }
    }

    /// The state for the popup. Carries no token and no password.
    pub fn snapshot(&self, now: Timestamp) -> Snapshot {
        let now = self.clock.peek(now);
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
                } else if self.live.failed_confirm.contains(&quiz.id)
                    || self.refused.contains(&quiz.id)
                {
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
        let mut quiz_boards = VecMap::new();
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
        let mut subject_names = VecMap::new();
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
            expires_at: a.refresh.expires(),
        });
        Snapshot {
            generated_at: now,
            clock_shift_ms: self.clock.shift_ms(),
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
            settings: self.settings.clone(),
            settings_error: self.settings_error.clone(),
            test: self.test.as_ref().map(|t| t.steps.clone()),
        }
    }
}
