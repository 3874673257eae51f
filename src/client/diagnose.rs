//! "Test connection": server URL, host access, token and socket, checked one by one,
//! each step saying what failed.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct TestRun {
    /// One step per [`TestCheck`], in [`TestCheck::ALL`]'s order.
    pub(super) steps: Vec<TestStep>,
}

impl TestRun {
    pub(super) fn new() -> TestRun {
        TestRun {
            steps: TestCheck::ALL
                .into_iter()
                .map(|check| TestStep {
                    check,
                    status: StepStatus::Waiting,
                    detail: None,
                })
                .collect(),
        }
    }

    /// The check running now, if any.
    pub(super) fn current(&self) -> Option<TestCheck> {
        self.steps
            .iter()
            .find(|s| s.status == StepStatus::Running)
            .map(|s| s.check)
    }

    /// Whether `check` is the one running.
    pub(super) fn is_running(&self, check: TestCheck) -> bool {
        self.current() == Some(check)
    }

    /// Records `check`'s outcome: a pass starts the next check, a failure skips the rest.
    pub(super) fn set(&mut self, check: TestCheck, status: StepStatus, detail: Text) {
        for s in &mut self.steps {
            if s.check == check {
                s.status = status;
                s.detail = Some(detail.clone());
            } else if s.check > check {
                if status == StepStatus::Failed {
                    s.status = StepStatus::Skipped;
                } else if status == StepStatus::Passed && Some(s.check) == check.next() {
                    s.status = StepStatus::Running;
                }
            }
        }
    }
}

impl Client {
    /// Starts "test connection" with the URL step, then asks for host access.
    pub(super) fn start_test(&mut self) {
        let mut test = TestRun::new();
        match self.settings.validated() {
            Ok(s) => {
                test.set(
                    TestCheck::ServerUrl,
                    StepStatus::Passed,
                    Text::new("step_urls")
                        .plain(s.api_base())
                        .plain(s.socket_base()),
                );
                self.actions.push_back(Action::CheckHostAccess {
                    pattern: s.host_permission_pattern(),
                });
            }
            Err(e) => test.set(TestCheck::ServerUrl, StepStatus::Failed, e.text()),
        }
        self.test = Some(test);
    }

    /// The token step: an authenticated read of the user's performance.
    pub(super) fn test_token_step(&mut self, _now: Timestamp) {
        let Some(test) = &mut self.test else {
            return;
        };
        if !test.is_running(TestCheck::Token) {
            return;
        }
        match &self.auth {
            None => test.set(
                TestCheck::Token,
                StepStatus::Failed,
                Text::new("step_not_signed_in"),
            ),
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

    /// The token step's outcome; then the socket step.
    pub(super) fn test_token_completed(&mut self, result: FetchResult, now: Timestamp) {
        let Some(test) = &mut self.test else {
            return;
        };
        if !test.is_running(TestCheck::Token) {
            return;
        }
        let path = QueryKey::MyPerformance.path(1);
        let (status, detail) = match result {
            FetchResult::Response { status: 200, .. } => {
                (StepStatus::Passed, Text::new("step_token_ok"))
            }
            FetchResult::Response {
                status: 401, body, ..
            } => (
                StepStatus::Failed,
                Text::new("step_token_refused").plain(ApiError::message_from(&body)),
            ),
            FetchResult::Response { status, body, .. } => (
                StepStatus::Failed,
                Text::new("step_http")
                    .text(ApiError::describe_status(status, &body))
                    .plain(path),
            ),
            FetchResult::NetworkError { message } => (
                StepStatus::Failed,
                Text::new("step_no_answer").plain(message),
            ),
        };
        test.set(TestCheck::Token, status, detail);
        if test.is_running(TestCheck::Socket) {
            if let Phase::Open { since, .. } = self.phase {
                let since = self.clock.adapter_time(since);
                test.set(
                    TestCheck::Socket,
                    StepStatus::Passed,
                    Text::new("step_live_since").at(since),
                );
            } else {
                // Reports when the socket opens or closes (or the connect times out).
                self.retry_now(now, true);
            }
        }
    }
}
