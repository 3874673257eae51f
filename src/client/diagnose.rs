//! "Test connection": server URL, host access, token and socket, checked one by one,
//! each step saying what failed.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct TestRun {
    pub(super) steps: Vec<TestStep>,
}

impl TestRun {
    pub(super) fn new() -> TestRun {
        let step = |name: &str| TestStep {
            name: name.into(),
            status: StepStatus::Waiting,
            detail: String::new(),
        };
        TestRun {
            steps: vec![
                step("Server URL"),
                step("Host access"),
                step("Sign-in token"),
                step("Live socket"),
            ],
        }
    }

    pub(super) fn current(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.status == StepStatus::Running)
    }

    pub(super) fn set(&mut self, i: usize, status: StepStatus, detail: String) {
        if let Some(s) = self.steps.get_mut(i) {
            s.status = status;
            s.detail = detail;
        }
        if status == StepStatus::Failed {
            for s in self.steps.iter_mut().skip(i + 1) {
                s.status = StepStatus::Skipped;
            }
        } else if status == StepStatus::Passed
            && let Some(next) = self.steps.get_mut(i + 1)
        {
            next.status = StepStatus::Running;
        }
    }
}

impl Client {
    /// Starts "test connection" with the URL step, then asks for host access.
    pub(super) fn start_test(&mut self) {
        let mut test = TestRun::new();
        match self.settings.validated() {
            Ok(s) => {
                test.steps[0].status = StepStatus::Passed;
                test.steps[0].detail =
                    format!("REST at {}, socket at {}", s.api_base(), s.socket_base());
                test.steps[1].status = StepStatus::Running;
                self.actions.push_back(Action::CheckHostAccess {
                    pattern: s.host_permission_pattern(),
                });
            }
            Err(e) => test.set(0, StepStatus::Failed, e.to_string()),
        }
        self.test = Some(test);
    }

    /// The token step: an authenticated read of the user's performance.
    pub(super) fn test_token_step(&mut self, _now: Timestamp) {
        let Some(test) = &mut self.test else {
            return;
        };
        if test.current() != Some(2) {
            return;
        }
        match &self.auth {
            None => test.set(2, StepStatus::Failed, "not signed in".into()),
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
        if test.current() != Some(2) {
            return;
        }
        match result {
            FetchResult::Response { status: 200, .. } => {
                test.set(2, StepStatus::Passed, "the server accepts the token".into())
            }
            FetchResult::Response { status: 401, body } => test.set(
                2,
                StepStatus::Failed,
                format!(
                    "the server refuses the token ({}); sign in again",
                    ApiError::message_from(&body)
                ),
            ),
            FetchResult::Response { status, body } => test.set(
                2,
                StepStatus::Failed,
                format!(
                    "HTTP {status} from {} ({})",
                    QueryKey::MyPerformance.path(1),
                    ApiError::message_from(&body)
                ),
            ),
            FetchResult::NetworkError { message } => test.set(
                2,
                StepStatus::Failed,
                format!("no answer from the server ({message})"),
            ),
        }
        if test.current() == Some(3) {
            if let Phase::Open { since, .. } = self.phase {
                let detail = format!("live since {since}");
                if let Some(test) = &mut self.test {
                    test.set(3, StepStatus::Passed, detail);
                }
            } else {
                // Reports when the socket opens or closes (or the connect times out).
                self.retry_now(now, true);
            }
        }
    }
}
