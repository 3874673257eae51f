//! Test harness: the real server on 127.0.0.1:0, a reqwest client, and a
//! tokio-tungstenite socket client.
//!
//! `QUIZPULSE_TEST_BACKEND` picks what the server runs on (`cargo xtask test`
//! runs the contract and robustness suites with each):
//! - `sqlite` (the default): one instance over a temporary SQLite file;
//! - `postgres`: one instance over a fresh database of a real PostgreSQL;
//! - `redis`: two instances over one PostgreSQL database sharing broadcasts
//!   through a real Redis; REST calls go to the first, sockets to the second,
//!   so every broadcast a test sees crossed from one instance to the other.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, missing_docs)]

pub mod services;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use quizpulse::wire::TokenPair;
use quizpulse_server::auth::PasswordHashing;
use quizpulse_server::config::{Config, Secret};
use quizpulse_server::{AppState, Server, ServerError, db};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any single wait in a test may take: generous, so that only a
/// server that never answers runs into it, however slow the database or busy
/// the machine (a cold first PostgreSQL run, other builds alongside).
pub const WAIT: Duration = Duration::from_secs(60);

/// A secret that passes the server's strength check.
pub const SECRET: &str = "quizpulse-test-secret-f3a9c07b51e2d846";

/// What the test server runs on (`QUIZPULSE_TEST_BACKEND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One instance, SQLite.
    Sqlite,
    /// One instance, PostgreSQL.
    Postgres,
    /// Two instances, PostgreSQL, broadcasts through Redis.
    Redis,
}

pub fn backend() -> Backend {
    match std::env::var("QUIZPULSE_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("redis") => Backend::Redis,
        Ok("sqlite" | "") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("QUIZPULSE_TEST_BACKEND={other:?}: use sqlite, postgres or redis"),
    }
}

/// A database URL for one test on `backend`; the directory keeps a SQLite
/// file alive.
pub async fn database(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
        Backend::Postgres | Backend::Redis => services::Postgres::shared().fresh_database().await,
    }
}

/// The second instance in `redis` mode.
struct Peer {
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), ServerError>>>,
}

pub struct TestServer {
    /// Where REST calls go.
    pub addr: SocketAddr,
    /// Where sockets connect (the second instance in `redis` mode).
    pub ws_addr: SocketAddr,
    pub state: AppState,
    /// The state of the instance the sockets are on.
    pub ws_state: AppState,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    pub handle: Option<JoinHandle<Result<(), ServerError>>>,
    peer: Option<Peer>,
    pub redis: Option<services::Redis>,
    _dir: tempfile::TempDir,
}

/// Subjects, quizzes and users every test server starts with.
pub const USERS: [&str; 3] = ["alice", "bob", "carol"];

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    start_on(backend(), tweak).await
}

/// A test server on `backend`, whatever `QUIZPULSE_TEST_BACKEND` says.
pub async fn start_on(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let url = database(backend, &dir).await;
    let redis = (backend == Backend::Redis).then(services::Redis::start);
    let mut config = Config::new(url, Secret::new(SECRET));
    config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    config.ws.close_grace = Duration::from_secs(5);
    config.shutdown_grace = Duration::from_secs(5);
    config.broker_url = redis.as_ref().map(services::Redis::url);
    tweak(&mut config);
    let second = redis.is_some().then(|| config.clone());
    let server = Server::bind(config).await.unwrap();
    let addr = server.local_addr().unwrap();
    let state = server.state().clone();
    seed(&state).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let (ws_addr, ws_state, peer) = match second {
        Some(config) => {
            let server = Server::bind(config).await.unwrap();
            let addr = server.local_addr().unwrap();
            let ws_state = server.state().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            let handle = tokio::spawn(server.run(async move {
                let _ = stopped.await;
            }));
            (
                addr,
                ws_state,
                Some(Peer {
                    stop: Some(stop),
                    handle: Some(handle),
                }),
            )
        }
        None => (addr, state.clone(), None),
    };
    TestServer {
        addr,
        ws_addr,
        state,
        ws_state,
        http: reqwest::Client::new(),
        stop: Some(stop),
        handle: Some(handle),
        peer,
        redis,
        _dir: dir,
    }
}

async fn seed(state: &AppState) {
    let pool = &state.db;
    db::upsert_subject(pool, "math", "Mathematics")
        .await
        .unwrap();
    db::upsert_subject(pool, "phys", "Physics").await.unwrap();
    db::upsert_quiz(pool, "qa", "Quadratics", "math")
        .await
        .unwrap();
    db::upsert_quiz(pool, "qb", "Probability", "math")
        .await
        .unwrap();
    db::upsert_quiz(pool, "qc", "Circuits", "phys")
        .await
        .unwrap();
    let hashing = PasswordHashing::insecure_fast();
    for user in USERS {
        let hash = hashing.hash(&format!("{user}-pass")).unwrap();
        db::create_user(pool, user, &hash).await.unwrap();
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A URL on the socket instance (the second one in `redis` mode).
    pub fn ws_instance_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.ws_addr)
    }

    pub fn ws_url(&self, token: &str) -> String {
        format!("ws://{}/ws/leaderboard/?token={token}", self.ws_addr)
    }

    /// Signals shutdown and waits for the server task(s).
    pub async fn stop(&mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(peer) = self.peer.as_mut() {
            if let Some(stop) = peer.stop.take() {
                let _ = stop.send(());
            }
            if let Some(handle) = peer.handle.take() {
                tokio::time::timeout(WAIT, handle).await.unwrap().unwrap()?;
            }
        }
        match self.handle.take() {
            Some(handle) => tokio::time::timeout(WAIT, handle).await.unwrap().unwrap(),
            None => Ok(()),
        }
    }

    pub async fn login(&self, user: &str) -> TokenPair {
        let (status, body) = self
            .post(
                "/api/token/",
                None,
                &json!({"username": user, "password": format!("{user}-pass")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    pub async fn access(&self, user: &str) -> String {
        self.login(user).await.access
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        read(response).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.post_raw(path, token, body.to_string()).await
    }

    pub async fn post_raw(&self, path: &str, token: Option<&str>, body: String) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        read(response).await
    }

    /// Uploads a session as `token`'s user; asserts 201.
    pub async fn upload(&self, token: &str, quiz: &str, score: f64) -> Value {
        let (status, body) = self
            .post(
                "/api/quiz-sessions/",
                Some(token),
                &json!({"quiz_id": quiz, "score": score, "duration_s": 42.0}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        self.settle().await;
        body
    }

    /// Waits until the socket instance has fanned out every session stored
    /// so far (at once on one instance; in `redis` mode broadcasts reach the
    /// second instance a moment after the upload is answered).
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.ws_state.metrics.broadcasts.get() < self.state.metrics.sessions_stored.get() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "broadcasts did not reach the socket instance"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// A metric line with labels (`name{label="value"}`) of the socket instance; 0 when
    /// the server has not written it yet.
    pub async fn labelled_metric(&self, name: &str, label: &str, value: &str) -> u64 {
        let line = format!("{name}{{{label}=\"{value}\"}}");
        self.metric_at(self.ws_addr, &line).await.unwrap_or(0)
    }

    pub async fn connect(&self, token: &str) -> Socket {
        let (socket, _) =
            tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(self.ws_url(token)))
                .await
                .unwrap()
                .unwrap();
        socket
    }

    /// A metric of the instance the sockets are on.
    pub async fn metric(&self, name: &str) -> u64 {
        self.metric_at(self.ws_addr, name)
            .await
            .unwrap_or_else(|| panic!("no metric {name}"))
    }

    /// The value of the metric line `line` (a name, with its labels if any) in the
    /// `/metrics` of the instance at `addr`.
    pub async fn metric_at(&self, addr: SocketAddr, line: &str) -> Option<u64> {
        let text = self
            .http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let prefix = format!("{line} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|n| n.parse().unwrap())
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text:?}"));
    (status, body)
}

/// The next text message as JSON (skipping control frames); panics on close.
pub async fn recv(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("timed out waiting for a message")
            .expect("socket ended")
            .expect("socket error");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Close(frame) => panic!("socket closed: {frame:?}"),
            _ => {}
        }
    }
}

/// Reads until the server's close frame; returns its code (None if the
/// connection ended without one).
pub async fn recv_close(socket: &mut Socket) -> Option<u16> {
    loop {
        let next = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("timed out waiting for close");
        match next {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

pub async fn send(socket: &mut Socket, text: impl Into<String>) {
    socket.send(Message::text(text.into())).await.unwrap();
}

/// Sends a ping and returns every message received before its pong: once
/// it returns, the server has handled everything sent before.
pub async fn barrier(socket: &mut Socket, id: u64) -> Vec<Value> {
    send(socket, json!({"type": "ping", "id": id}).to_string()).await;
    let mut before = Vec::new();
    loop {
        let message = recv(socket).await;
        if message["type"] == "pong" && message["id"] == id {
            return before;
        }
        before.push(message);
    }
}

/// Subscribes and waits for the confirmation.
pub async fn subscribe(socket: &mut Socket, quiz: &str) -> Value {
    send(
        socket,
        json!({"type": "subscribe_quiz", "quiz_id": quiz}).to_string(),
    )
    .await;
    let reply = recv(socket).await;
    assert_eq!(reply["type"], "subscription_confirmed", "{reply}");
    reply
}

pub fn types(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["type"].as_str().unwrap_or("?").to_owned())
        .collect()
}
