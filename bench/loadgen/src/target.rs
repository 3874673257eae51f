//! The server under test: its base URL (loopback only), its users, and the
//! contract's two REST calls the bench makes (sign-in and upload).

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Error;

/// One `username:password` pair.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}:..)", self.username)
    }
}

impl std::str::FromStr for Credential {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        match text.split_once(':') {
            Some((user, pass)) if !user.is_empty() && !pass.is_empty() => Ok(Self {
                username: user.to_owned(),
                password: pass.to_owned(),
            }),
            _ => Err(Error::Usage(format!(
                "credential {:?} is not USER:PASSWORD",
                text.split(':').next().unwrap_or("")
            ))),
        }
    }
}

/// A contract server on loopback: `http://127.0.0.1:PORT` (no path).
#[derive(Debug, Clone)]
pub struct Target {
    base: String,
    http: reqwest::Client,
}

impl Target {
    /// Checks that `base` is `http://` on a loopback address.
    pub fn new(base: &str) -> Result<Self, Error> {
        let base = base.trim_end_matches('/');
        let rest = base.strip_prefix("http://").ok_or_else(|| {
            Error::Usage(format!("{base:?}: the base URL must start with http://"))
        })?;
        let host = rest.rsplit_once(':').map_or(rest, |(host, _)| host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback || rest.contains('/') {
            return Err(Error::Usage(format!(
                "{base:?}: only a loopback base URL such as http://127.0.0.1:8000 is allowed"
            )));
        }
        // The bench bounds its own waits (an upload's delivery window): a slow
        // server's late answer is measured there, so this is only a backstop.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| Error::Http(e.to_string()))?;
        Ok(Self {
            base: base.to_owned(),
            http,
        })
    }

    /// `host:port` of the server.
    pub fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The socket's path and query for an access token.
    pub fn socket_path(access: &str) -> String {
        format!("/ws/leaderboard/?token={access}")
    }

    /// The socket URL for an access token.
    pub fn socket_url(&self, access: &str) -> String {
        format!(
            "ws://{}/ws/leaderboard/?token={access}",
            self.base.trim_start_matches("http://")
        )
    }

    /// `POST /api/token/`: the access token.
    pub async fn sign_in(&self, credential: &Credential) -> Result<String, Error> {
        let body = json!({"username": credential.username, "password": credential.password});
        let reply = self.post("/api/token/", None, &body).await?;
        reply["access"].as_str().map(str::to_owned).ok_or_else(|| {
            Error::Http(format!(
                "sign-in of {:?} returned no access token",
                credential.username
            ))
        })
    }

    /// `POST /api/quiz-sessions/`: the stored session's id, as text. The
    /// contract's ids are strings, any string (digits on our server and
    /// Django's, a UUID on another); an integer is taken as its digits.
    pub async fn upload(&self, access: &str, quiz: &str, score: f64) -> Result<String, Error> {
        let body = json!({"quiz_id": quiz, "score": score, "duration_s": 60.0});
        let reply = self
            .post("/api/quiz-sessions/", Some(access), &body)
            .await?;
        session_id(&reply)
            .ok_or_else(|| Error::Http(format!("upload returned no session_id: {reply}")))
    }

    async fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> Result<Value, Error> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::Http(format!("POST {path}: {e}")))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| Error::Http(format!("POST {path}: {e}")))?;
        if !status.is_success() {
            return Err(Error::Http(format!("POST {path}: {status}: {text}")));
        }
        serde_json::from_str(&text).map_err(|e| Error::Http(format!("POST {path}: {e}: {text}")))
    }
}

/// An upload answer's `session_id`: a non-empty string, or an integer's digits.
fn session_id(reply: &Value) -> Option<String> {
    match &reply["session_id"] {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_answers_carry_any_string_id() {
        for (reply, id) in [
            (
                json!({"session_id": "81aeb76d-5c1e-4a1b-9f0e-2f6c3b1d9a77"}),
                Some("81aeb76d-5c1e-4a1b-9f0e-2f6c3b1d9a77"),
            ),
            (json!({"session_id": "301"}), Some("301")),
            (json!({"session_id": 301}), Some("301")),
            (json!({"session_id": ""}), None),
            (json!({"session_id": null}), None),
            (json!({}), None),
        ] {
            assert_eq!(session_id(&reply).as_deref(), id, "{reply}");
        }
    }

    #[test]
    fn only_loopback_targets() {
        assert!(Target::new("http://127.0.0.1:8000").is_ok());
        assert!(Target::new("http://localhost:8000/").is_ok());
        assert!(Target::new("http://[::1]:8000").is_ok());
        assert!(Target::new("http://10.0.0.1:8000").is_err());
        assert!(Target::new("http://example.com").is_err());
        assert!(Target::new("https://127.0.0.1:8000").is_err());
        assert!(Target::new("http://127.0.0.1:8000/api").is_err());
        let t = Target::new("http://127.0.0.1:8000").unwrap();
        assert_eq!(
            t.socket_url("T"),
            "ws://127.0.0.1:8000/ws/leaderboard/?token=T"
        );
    }

    #[test]
    fn credentials_parse_and_hide_the_password() {
        let c: Credential = "alice:alice-pass".parse().unwrap();
        assert_eq!(c.username, "alice");
        assert_eq!(c.password, "alice-pass");
        assert_eq!(format!("{c:?}"), "Credential(alice:..)");
        assert!("alice".parse::<Credential>().is_err());
        assert!(":x".parse::<Credential>().is_err());
    }
}
