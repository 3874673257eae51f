//! Life on an open socket: subscriptions and their confirmations, server messages
//! and what they invalidate or announce.

use super::*;

impl Client {
    /// Sends subscription changes on the open socket. Without one there is nothing to
    /// send: the next open subscribes the whole wanted set.
    pub(super) fn apply_sub_changes(&mut self, changes: Vec<SubChange>, now: Timestamp) {
        for change in changes {
            match (self.phase.clone(), change) {
                (Phase::Open { socket, .. }, SubChange::Subscribe(q)) => {
                    if !self.refused.contains(&q) {
                        self.send_subscribe(socket, q, now)
                    }
                }
                (Phase::Open { socket, .. }, SubChange::Unsubscribe(q)) => {
                    self.announced.remove(&q);
                    self.live.sent.remove(&q);
                    self.live.unconfirmed.remove(&q);
                    self.live.confirmed.remove(&q);
                    self.live.failed_confirm.remove(&q);
                    self.sent_after_ping();
                    let text = ClientMessage::UnsubscribeQuiz { quiz_id: q }.encode();
                    self.actions.push_back(Action::Send { socket, text });
                }
                (_, SubChange::Unsubscribe(q)) => {
                    self.announced.remove(&q);
                }
                (_, SubChange::Subscribe(_)) => {}
            }
        }
        self.sync_boards(now);
    }

    /// Keeps the board of every wanted quiz (followed or open in a tab) and of every
    /// quiz the popup views observed, so they stay fresh in the background and an
    /// opened popup shows them from the cache; lets go of the others.
    pub(super) fn sync_boards(&mut self, now: Timestamp) {
        if self.auth.is_none() {
            return;
        }
        let mut keep = self.subs.wanted();
        keep.extend(self.viewed_quizzes.iter().cloned());
        let stale: Vec<QueryKey> = self
            .cache
            .observed()
            .iter()
            .filter(|k| matches!(k, QueryKey::QuizBoard(q) if !keep.contains(q)))
            .cloned()
            .collect();
        for key in stale {
            self.cache.unobserve(&key);
        }
        for q in keep {
            self.cache.observe(QueryKey::QuizBoard(q), now);
        }
    }

    /// A wanted quiz's board changed from `previous` to what the cache holds now, live:
    /// say who moved, if anyone did.
    pub(super) fn board_alert(&mut self, quiz: &QuizId, previous: &[Entry], now: Timestamp) {
        if !self.subs.is_wanted(quiz) {
            return;
        }
        let Some(QueryData::QuizBoard(board)) = self.cache.data(&QueryKey::QuizBoard(quiz.clone()))
        else {
            return;
        };
        let me = self
            .auth
            .as_ref()
            .and_then(|a| a.user_id.clone())
            .map(UserId::from);
        let moves = moves::moves(previous, &board.entries, me.as_ref());
        if moves.is_empty() {
            return;
        }
        let alert = Alert::BoardChange {
            quiz_id: quiz.clone(),
            quiz_title: self.quiz_title(quiz),
            moves: moves::describe(&moves),
            target: self.settings.quiz_page_url(quiz.as_str()),
        };
        self.alert(alert, now);
    }

    /// Sends `subscribe_quiz` and waits for its confirmation.
    pub(super) fn send_subscribe(&mut self, socket: SocketId, quiz: QuizId, now: Timestamp) {
        self.sent_after_ping();
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

    /// The unconfirmed subscription an `error` answers, when that is clear: the only one
    /// waiting, or the only one whose id the message quotes.
    fn refused_subscription(&self, message: &str) -> Option<QuizId> {
        let mut waiting = self.live.unconfirmed.keys();
        if let (Some(only), None) = (waiting.next(), waiting.next()) {
            return Some(only.clone());
        }
        let mut quoted = self
            .live
            .unconfirmed
            .keys()
            .filter(|q| message.contains(&format!("\"{q}\"")));
        match (quoted.next(), quoted.next()) {
            (Some(q), None) => Some(q.clone()),
            _ => None,
        }
    }

    /// Something the server might answer with `error` went out after the keepalive
    /// ping: an `error` now is no longer surely the ping's answer.
    fn sent_after_ping(&mut self) {
        if let Some((_, after)) = &mut self.live.ping_out {
            *after = true;
        }
    }

    /// Resends a subscription unconfirmed in time, once; then surfaces it.
    pub(super) fn check_confirmations(&mut self, now: Timestamp) {
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
                    Text::new("toast_unconfirmed").plain(title),
                    ToastLevel::Warning,
                    now,
                );
            } else {
                self.sent_after_ping();
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

    /// What a server message invalidates, applies or announces.
    pub(super) fn on_message(&mut self, message: ServerMessage, since: Timestamp, now: Timestamp) {
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
                self.live.last_upload = Some((
                    s.quiz_id.clone(),
                    s.subject_id.clone(),
                    s.completed_at.clone(),
                ));
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
                    (Some(s), Some(e)) => {
                        let stamp = self.upload_time(|(_, subject, _)| subject == &s);
                        self.cache.apply_subject_entries(&s, e, stamp, now)
                    }
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
                let limit = self.settings.board_limit;
                let stamp = self.upload_time(|(quiz, _, _)| quiz == &quiz_id);
                let applied = entries.and_then(|e| {
                    self.cache
                        .apply_quiz_entries(&quiz_id, e, limit, stamp, now)
                });
                match applied {
                    Some(applied) => {
                        if applied.current {
                            self.board_alert(&quiz_id, &applied.previous, now);
                        }
                    }
                    None => {
                        self.cache.invalidate(
                            &QueryKey::QuizBoard(quiz_id),
                            FetchReason::Live,
                            now,
                        );
                    }
                }
            }
            ServerMessage::SubscriptionConfirmed { quiz_id, .. } => {
                self.live.unconfirmed.remove(&quiz_id);
                self.live.failed_confirm.remove(&quiz_id);
                if self.live.sent.contains(&quiz_id) {
                    // Said once per follow, not again on every reconnect's re-subscribe.
                    if self.announced.insert(quiz_id.clone())
                        && self.settings.notifications.subscription_confirmations
                    {
                        let title = self.quiz_title(&quiz_id);
                        self.notifier.toast(
                            Text::new("toast_confirmed").plain(title),
                            ToastLevel::Success,
                            now,
                        );
                    }
                    self.live.confirmed.insert(quiz_id);
                }
            }
            ServerMessage::Pong { .. } => {
                self.server_pongs = true;
                self.live.ping_out = None;
            }
            // A server that does not know `ping` may answer it with `error` (the contract
            // allows it): that is the answer to our keepalive, not news. Said once.
            ServerMessage::Error { .. } if matches!(self.live.ping_out, Some((_, false))) => {
                self.live.ping_out = None;
                if !self.ping_unsupported {
                    self.ping_unsupported = true;
                    self.note(now, Text::new("log_ping_unsupported"));
                }
            }
            ServerMessage::Error { message } => {
                if let Some(quiz) = self.refused_subscription(&message) {
                    self.live.unconfirmed.remove(&quiz);
                    self.live.sent.remove(&quiz);
                    self.live.failed_confirm.insert(quiz.clone());
                    self.refused.insert(quiz);
                }
                self.log(
                    now,
                    ConnEvent::ServerError {
                        message: message.clone(),
                    },
                );
                self.notifier.toast(
                    Text::new("toast_server_said").plain(message),
                    ToastLevel::Warning,
                    now,
                );
            }
            ServerMessage::Unknown { .. } => {}
        }
    }

    /// The `completed_at` of the upload just before a board update, when that upload
    /// is the one `matches` names: the server's own `updated_at` for the board.
    fn upload_time(
        &self,
        matches: impl Fn(&(QuizId, SubjectId, String)) -> bool,
    ) -> Option<String> {
        self.live
            .last_upload
            .as_ref()
            .filter(|upload| matches(upload))
            .map(|(_, _, at)| at.clone())
    }

    /// Whether an event is live news. Whatever arrives on the live socket is (delivery
    /// is at most once: nothing is replayed), unless the server's own clock, as far as
    /// it is known, dates it before the connection (minus a grace) or more than five
    /// minutes back. Without any knowledge of the server's clock, arrival decides: the
    /// browser's clock alone never discards an event.
    pub(super) fn is_fresh(&self, completed_at: &str, since: Timestamp, now: Timestamp) -> bool {
        let (Ok(t), Some(skew)) = (Timestamp::parse_rfc3339(completed_at), self.server_skew_ms)
        else {
            return true;
        };
        let on_server = |ts: Timestamp| -> i64 { ts.as_millis() as i64 + skew };
        let t = t.as_millis() as i64;
        let grace = self.config.event_grace.as_millis() as i64;
        t + grace >= on_server(since) && t + 300_000 >= on_server(now)
    }

    /// A quiz's title from whatever data is cached, or a fallback.
    pub(super) fn quiz_title(&self, quiz: &QuizId) -> String {
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

    /// The quiz shown in the active tab, if any.
    pub(super) fn active_quiz(&self) -> Option<&QuizId> {
        self.active_tab.and_then(|t| self.subs.quiz_in_tab(t))
    }

    /// Runs `f` with the notification policy and what it needs to know of the world.
    pub(super) fn with_alert_context<R>(
        &mut self,
        f: impl FnOnce(&mut Notifier, &AlertContext<'_>) -> R,
    ) -> R {
        let active = self.active_quiz().cloned();
        let ctx = AlertContext {
            prefs: &self.settings.notifications,
            utc_offset_minutes: self.utc_offset_minutes,
            active_quiz: active.as_ref(),
        };
        f(&mut self.notifier, &ctx)
    }

    /// Offers an alert to the notification policy and shows what it lets through.
    pub(super) fn alert(&mut self, alert: Alert, now: Timestamp) {
        if let Some(n) = self.with_alert_context(|notifier, ctx| notifier.offer(alert, ctx, now)) {
            self.actions.push_back(Action::Notify(n));
        }
    }
}
