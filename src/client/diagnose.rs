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
                    name: check.name().into(),
                    status: StepStatus::Waiting,
                    detail: String::new(),
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
    pub(super) fn set(&mut self, check: TestCheck, status: StepStatus, detail: String) {
        for s in &mut self.steps {
            if s.check == check {
                s.status = status;
                s.detail.clone_from(&detail);
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
                    format!("REST at {}, socket at {}", s.api_base(), s.socket_base()),
                );
                self.actions.push_back(Action::CheckHostAccess {
                    pattern: s.host_permission_pattern(),
                });
            }
            Err(e) => test.set(TestCheck::ServerUrl, StepStatus::Failed, e.to_string()),
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
            None => test.set(TestCheck::Token, StepStatus::Failed, "not signed in".into()),
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
            FetchResult::Response { status: 200, .. } => (
                StepStatus::Passed,
                "the server accepts the token".to_owned(),
            ),
            FetchResult::Response {
                status: 401, body, ..
            } => (
                StepStatus::Failed,
                format!(
                    "the server refuses the token ({}); sign in again",
                    ApiError::message_from(&body)
                ),
            ),
            FetchResult::Response { status, body, .. } => (
                StepStatus::Failed,
                format!("{} from {path}", ApiError::describe_status(status, &body)),
            ),
            FetchResult::NetworkError { message } => (
                StepStatus::Failed,
                format!("no answer from the server ({message})"),
            ),
        };
        test.set(TestCheck::Token, status, detail);
        if test.is_running(TestCheck::Socket) {
            if let Phase::Open { since, .. } = self.phase {
                test.set(
                    TestCheck::Socket,
                    StepStatus::Passed,
                    format!("live since {since}"),
                );
            } else {
                // Reports when the socket opens or closes (or the connect times out).
                self.retry_now(now, true);
            }
        }
    }
}
