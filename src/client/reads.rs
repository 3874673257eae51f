//! REST reads: starting due fetches, their results, and the alerts data can raise.

use super::*;

impl Client {
    /// Asks the adapter for an HTTP request.
    pub(super) fn request(
        &mut self,
        purpose: RequestPurpose,
        method: Method,
        path: String,
        body: Option<String>,
        bearer: Option<String>,
    ) -> RequestId {
        self.next_request = self.next_request.wrapping_add(1);
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
    pub(super) fn fetches_held(&self) -> bool {
        matches!(self.phase, Phase::Connecting { .. } | Phase::AwaitingToken)
            || self.refresh_in_flight.is_some()
            || self.auth.is_none()
    }

    /// Starts every due fetch (when a usable token is at hand).
    pub(super) fn pump_fetches(&mut self, now: Timestamp) {
        let Some(auth) = &self.auth else {
            return;
        };
        if self.fetches_held() {
            return;
        }
        if self.cache.next_due().is_none_or(|at| at > now) {
            return;
        }
        if auth.access.looks_spent(now) && self.gate.open(now) {
            // Refreshed first when the gate allows; otherwise the token is used and
            // the server decides (401 brings the refresh back when the gate opens).
            self.start_refresh(RefreshWhy::ForRest, now);
            return;
        }
        let bearer = auth.tokens.access.clone();
        let limit = self.settings.board_limit;
        let mut next = self.next_request;
        let started = self.cache.start_due(now, || {
            next = next.wrapping_add(1);
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

    /// Records a read's result; a 401 refreshes the token and the read is retried once.
    pub(super) fn query_completed(
        &mut self,
        key: QueryKey,
        id: RequestId,
        result: FetchResult,
        now: Timestamp,
    ) {
        if let FetchResult::Response { headers, .. } = &result {
            self.learn_server_time(headers.server_time(), now);
        }
        match self.cache.complete(&key, id, result, now) {
            Completion::Updated { previous, reason } => {
                self.token_proven();
                self.query_updated(&key, previous, reason, now)
            }
            Completion::NeedsToken => self.token_refused(RefreshWhy::ForRest, now),
            Completion::Failed | Completion::Ignored => {}
        }
    }

    /// Side effects of new data: newly seen quizzes, the user's rank changes.
    pub(super) fn query_updated(
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
                        Text::new("toast_new_quiz").plain(title),
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
            (QueryKey::QuizBoard(quiz), Some(QueryData::QuizBoard(_))) => {
                // A live refetch (a server without `entries`): who moved since the last
                // board. Resync results (after a connect, a gap, a start) never alert.
                if reason == FetchReason::Live
                    && let Some(QueryData::QuizBoard(old)) = previous
                {
                    self.board_alert(quiz, &old.entries, now);
                }
            }
            _ => {}
        }
    }

    /// The user's rank changed in a subject between two live reads.
    pub(super) fn rank_alerts(&mut self, old: &Performance, new: &Performance, now: Timestamp) {
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

    /// A subject's name from the cached boards or subjects, or a fallback.
    pub(super) fn subject_name(&self, id: &SubjectId) -> String {
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
}
