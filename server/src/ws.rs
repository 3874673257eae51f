//! The socket, `GET /ws/leaderboard/?token=<access>`.
//!
//! The handler does the HTTP upgrade itself (axum's extractor only checks
//! the request) so that it owns the TCP stream: the socket's bytes are
//! written through an [`Outlet`] that the hub's fan-out loop writes
//! broadcasts into directly. One task per connection ([`run`]) reads the
//! client's frames with tungstenite and selects over: shutdown (close 1001),
//! a kick from the hub (close 1013, or 1012 on a restart), bytes the fan-out
//! left for it to finish writing, and the client's messages (answered
//! directly: `subscription_confirmed`, `pong`, `error`). A bad or expired
//! token is accepted and then closed with 4001; a disabled account with 4003
//! (and an open socket whose account is disabled later, at once); a socket
//! over a quota (per process, client address or account, see
//! [`crate::limits`]) with 1013.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use hyper_util::rt::TokioIo;
use quizpulse::wire::{ClientMessage, ServerFrame, ServerMessage};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tracing::Instrument;

use crate::AppState;
use crate::auth::TokenKind;
use crate::db::{self, UserRow};
use crate::hub::{LAGGING, Registration, SubscribeError};
use crate::limits::{ClientAddr, QuotaRefusal, SocketTicket};
use crate::metrics::{Metrics, inc_reason};
use crate::outlet::{Outlet, OutletIo};

/// Close code: the token is bad or expired (refresh, then reconnect).
pub const CLOSE_TOKEN_NOT_VALID: u16 = 4001;
/// Close code: the account may not connect (do not retry until signed in again).
pub const CLOSE_FORBIDDEN: u16 = 4003;
/// Close code: the server is going away (reconnect at once elsewhere / later).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: the client fell too far behind (reconnect and refetch).
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
/// Close code: a frame over the hard size cap broke the connection.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// The socket's query string.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// Access token.
    pub token: Option<String>,
}

/// Why a socket is refused right after the handshake.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// 4001, 4003, or 1013 (a quota).
    pub code: u16,
    /// Close reason (short, ASCII).
    pub reason: &'static str,
}

impl Refusal {
    /// The refusal of a socket over a quota, counted.
    fn quota(state: &AppState, over: QuotaRefusal) -> Self {
        inc_reason(&state.metrics.sockets_refused, over.label());
        Self {
            code: CLOSE_TRY_AGAIN_LATER,
            reason: over.close_reason(),
        }
    }
}

/// `GET /ws/leaderboard/`: checks the quotas and the token, upgrades in any
/// case, and closes at once with 1013 if a quota is full, 4001/4003 if the
/// token was refused (as a Channels consumer that accepts first does). The
/// token is checked at connect only: an open socket outlives its access
/// token, as on a Django backend (but not its account being disabled).
pub async fn handler(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    query: Result<Query<WsQuery>, QueryRejection>,
    request: Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let on_upgrade = parts.extensions.get::<hyper::upgrade::OnUpgrade>().cloned();
    // axum's extractor checks the handshake headers (and says what is wrong);
    // the upgrade itself is done here, to own the TCP stream.
    if let Err(rejection) = WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        return refuse_upgrade(&rejection);
    }
    let key = parts.headers.get(header::SEC_WEBSOCKET_KEY);
    let (Some(on_upgrade), Some(key)) = (on_upgrade, key) else {
        let body = quizpulse::wire::ApiError::detail(
            "This endpoint is a WebSocket over HTTP/1.1 (with Sec-WebSocket-Key)".to_owned(),
        );
        return (StatusCode::UPGRADE_REQUIRED, axum::Json(body)).into_response();
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let token = query.ok().and_then(|Query(q)| q.token);
    // The process's and the address's quotas first (no database work for a
    // socket over them), then the token, then the account's quota.
    let (user, ticket) = match state.limits.sockets.admit(address) {
        Err(over) => (Err(Refusal::quota(&state, over)), None),
        Ok(mut ticket) => match authenticate(&state, token.as_deref()).await {
            Ok(user) => match ticket.for_user(user.id) {
                Ok(()) => (Ok(user), Some(ticket)),
                Err(over) => (Err(Refusal::quota(&state, over)), Some(ticket)),
            },
            Err(refusal) => (Err(refusal), Some(ticket)),
        },
    };
    Metrics::inc(&state.metrics.socket_handshakes);
    // Boxed: the socket's task grows by 8 bytes, not 48. Tokio rounds a task
    // up to 128 bytes and mimalloc's bins there are 512 apart: this task (a
    // 2.7 KB future that holds `AppState`) sits in the 3 072-byte bin, and crossing it costs half a KiB per socket (measured
    // at 10 000 sockets when the limits were five `Arc`s in `AppState`).
    let ticket = ticket.map(Box::new);
    tokio::spawn(async move {
        // Holds the socket's place in the quotas until it has closed.
        let _ticket: Option<Box<SocketTicket>> = ticket;
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::info!(error = %e, "socket upgrade failed");
                return;
            }
        };
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(hyper::upgrade::Parts { io, read_buf, .. }) => {
                // Copied out and dropped so hyper's read buffer (kilobytes)
                // is freed now, not held for the socket's life.
                let read = read_buf.to_vec();
                drop(read_buf);
                connection(io.into_inner(), read, state, user).await;
            }
            Err(_) => tracing::error!("socket upgrade: the connection is not a TCP stream"),
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// A request to the socket path that is not a valid WebSocket handshake.
fn refuse_upgrade(rejection: &WebSocketUpgradeRejection) -> Response {
    let status = rejection.status();
    let body = quizpulse::wire::ApiError::detail(format!(
        "This endpoint is a WebSocket: {}",
        rejection.body_text()
    ));
    (status, axum::Json(body)).into_response()
}

/// Runs an upgraded connection: `tcp` after the handshake, `read` the bytes
/// the HTTP layer had read past it.
pub async fn connection(
    tcp: TcpStream,
    read: Vec<u8>,
    state: AppState,
    user: Result<UserRow, Refusal>,
) {
    // Each write is a whole batch of frames: no reason to wait for more.
    let _ = tcp.set_nodelay(true);
    let outlet = Arc::new(Outlet::new(tcp));
    let limits = &state.config.ws;
    let config = WebSocketConfig::default()
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_message_size(Some(limits.hard_frame_bytes))
        .max_frame_size(Some(limits.hard_frame_bytes));
    let ws = WebSocketStream::from_partially_read(
        OutletIo(Arc::clone(&outlet)),
        read,
        Role::Server,
        Some(config),
    )
    .await;
    run(outlet, ws, state, user).await;
}

/// Checks the `?token=` of a socket.
pub async fn authenticate(state: &AppState, token: Option<&str>) -> Result<UserRow, Refusal> {
    const BAD: Refusal = Refusal {
        code: CLOSE_TOKEN_NOT_VALID,
        reason: "token_not_valid",
    };
    let token = token.filter(|t| !t.is_empty()).ok_or(BAD)?;
    let user_id = state
        .tokens
        .verify(token, TokenKind::Access)
        .map_err(|_| BAD)?;
    match db::user_by_id(&state.db, user_id).await {
        Ok(Some(user)) if user.is_active => Ok(user),
        Ok(Some(_)) => Err(Refusal {
            code: CLOSE_FORBIDDEN,
            reason: "user_inactive",
        }),
        Ok(None) => Err(BAD),
        Err(e) => {
            tracing::error!(error = %e, "socket auth lookup failed");
            Err(Refusal {
                code: 1011,
                reason: "server error",
            })
        }
    }
}

/// How a connection ended, for the close frame and the log.
#[derive(Debug)]
enum End {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The client closed or the transport failed: nothing more to send.
    Gone,
}

/// Per-connection state of the client side: the rate limit (`seq` is
/// kept by the [`Outlet`], which numbers every frame it sends).
struct Session {
    window_start: Instant,
    in_window: u32,
    warned: bool,
}

impl Session {
    /// Counts one client message; `Some(warn)` if it must be dropped, with
    /// `warn` true for the first drop of the window.
    fn over_limit(&mut self, limit: u32) -> Option<bool> {
        let now = Instant::now();
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.in_window = 0;
            self.warned = false;
        }
        self.in_window = self.in_window.saturating_add(1);
        if self.in_window <= limit {
            return None;
        }
        let first = !self.warned;
        self.warned = true;
        Some(first)
    }
}

/// Runs one connection to its end: `outlet` is its write end (shared with
/// the hub), `ws` the WebSocket over it. `user` is the outcome of
/// [`authenticate`]: a refusal is sent as a close frame at once.
pub async fn run<S>(outlet: Arc<Outlet>, mut ws: S, state: AppState, user: Result<UserRow, Refusal>)
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Sink<Message> + Unpin,
{
    let metrics = Arc::clone(&state.metrics);
    let grace = state.config.ws.close_grace;
    let user = match user {
        Ok(user) => user,
        Err(refusal) => {
            Metrics::inc(&metrics.auth_rejected);
            tracing::info!(
                code = refusal.code,
                reason = refusal.reason,
                "socket refused"
            );
            outlet.close();
            finish(&mut ws, refusal.code, refusal.reason, grace).await;
            return;
        }
    };

    let reg = state.hub.register(Arc::clone(&outlet), user.id);
    Metrics::inc(&metrics.sockets_total);
    metrics.open_sockets.inc();
    let span = tracing::info_span!("socket", conn = reg.id, user = %user.username);
    async move {
        tracing::info!("socket open");

        let mut shutdown = state.shutdown.clone();
        let mut session = Session {
            window_start: Instant::now(),
            in_window: 0,
            warned: false,
        };

        // Built once and polled in place: a socket woken to finish a write does
        // not re-register with the shared shutdown channel or its kick every time.
        let stop = shutdown_signalled(&mut shutdown);
        let kick = reg.kicked.notified();
        tokio::pin!(stop, kick);

        let end = loop {
            tokio::select! {
                biased;
                () = &mut stop => {
                    break End::Close(CLOSE_GOING_AWAY, "server shutting down");
                }
                () = &mut kick => {
                    let (code, reason) = reg.kick_code();
                    break End::Close(code, reason);
                }
                () = outlet.backlog().notified() => {
                    // The kernel's buffer was full: finish what the fan-out left.
                    if let Err(end) = flush_guarded(&outlet, &reg, &mut kick, &mut stop).await {
                        break end;
                    }
                }
                incoming = ws.next() => {
                    let reply = match incoming {
                        Some(Ok(Message::Text(text))) => {
                            Box::pin(handle_text(&state, reg.id, &mut session, text.as_str())).await
                        }
                        Some(Ok(Message::Binary(bytes))) => {
                            handle_binary(&state, &mut session, bytes.len())
                        }
                        Some(Ok(Message::Close(_))) | None => break End::Gone,
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => None,
                        Some(Err(tungstenite::Error::Capacity(e))) => {
                            tracing::info!(error = %e, "socket frame over the hard cap");
                            break End::Close(CLOSE_TOO_BIG, "frame over the hard size cap");
                        }
                        Some(Err(e)) => {
                            tracing::info!(error = %e, "socket read failed");
                            break End::Gone;
                        }
                    };
                    if let Some(message) = reply {
                        let sent = outlet.push_text(|seq| {
                            ServerFrame {
                                message,
                                seq: Some(seq),
                                sent_at: Some(db::rfc3339(db::now_micros())),
                            }
                            .encode()
                        });
                        if sent {
                            Metrics::inc(&metrics.messages_sent);
                        }
                    }
                }
            }
        };

        outlet.close();
        state.hub.unregister(reg.id);
        match end {
            End::Close(code, reason) => {
                tracing::info!(code, reason, "closing socket");
                finish(&mut ws, code, reason, grace).await;
            }
            End::Gone => {
                // Flushes tungstenite's reply to a client's close frame, if any.
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.close()).await;
                tracing::info!("socket closed by client");
            }
        }
        // Counted down only now, so shutdown can wait for every close handshake.
        metrics.open_sockets.dec();
    }
    .instrument(span)
    .await;
}

/// A write that makes no progress for this long means the client stopped
/// reading: the socket is closed with 1013 even if no broadcast found too
/// many waiting (e.g. it floods pings and never reads the pongs).
const WRITE_STALL: Duration = Duration::from_secs(30);

/// Finishes writing what waits in `outlet`, unless shutdown or a kick from
/// the hub comes first or the write stalls; the `Err` says how the
/// connection must end (a kick closes with the code the hub set).
async fn flush_guarded<K, S>(
    outlet: &Outlet,
    reg: &Registration,
    kick: &mut std::pin::Pin<&mut K>,
    stop: &mut std::pin::Pin<&mut S>,
) -> Result<(), End>
where
    K: Future<Output = ()>,
    S: Future<Output = ()>,
{
    tokio::select! {
        biased;
        () = stop.as_mut() => Err(End::Close(CLOSE_GOING_AWAY, "server shutting down")),
        () = kick.as_mut() => {
            let (code, reason) = reg.kick_code();
            Err(End::Close(code, reason))
        }
        sent = tokio::time::timeout(WRITE_STALL, outlet.flush()) => match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Close(CLOSE_TRY_AGAIN_LATER, LAGGING)),
        },
    }
}

fn error(message: String) -> ServerMessage {
    ServerMessage::Error { message }
}

/// Handles one text message; returns the direct reply, if any.
async fn handle_text(
    state: &AppState,
    conn: crate::hub::ConnId,
    session: &mut Session,
    text: &str,
) -> Option<ServerMessage> {
    let metrics = &state.metrics;
    let limits = &state.config.ws;
    Metrics::inc(&metrics.client_messages);
    if let Some(warn) = session.over_limit(limits.rate_per_sec) {
        Metrics::inc(&metrics.rate_limited);
        return warn.then(|| rate_limit_error(limits.rate_per_sec));
    }
    let reply = answer(state, conn, text).await;
    if matches!(reply, Some(ServerMessage::Error { .. })) {
        Metrics::inc(&metrics.client_errors);
    }
    reply
}

/// Binary frames are not part of the protocol: an `error`, rate-limited
/// like any other client message.
fn handle_binary(state: &AppState, session: &mut Session, len: usize) -> Option<ServerMessage> {
    let metrics = &state.metrics;
    Metrics::inc(&metrics.client_messages);
    if let Some(warn) = session.over_limit(state.config.ws.rate_per_sec) {
        Metrics::inc(&metrics.rate_limited);
        return warn.then(|| rate_limit_error(state.config.ws.rate_per_sec));
    }
    Metrics::inc(&metrics.client_errors);
    Some(error(format!(
        "binary frames are not supported ({len} bytes ignored); send JSON text"
    )))
}

fn rate_limit_error(limit: u32) -> ServerMessage {
    error(format!(
        "rate limit: at most {limit} messages per second; the rest of this second's messages are dropped"
    ))
}

async fn answer(state: &AppState, conn: crate::hub::ConnId, text: &str) -> Option<ServerMessage> {
    let limits = &state.config.ws;
    if text.len() > limits.max_message_bytes {
        return Some(error(format!(
            "message too large: {} bytes; the limit is {} bytes",
            text.len(),
            limits.max_message_bytes
        )));
    }
    let message = match ClientMessage::decode(text) {
        Ok(message) => message,
        Err(e) => return Some(error(format!("invalid message: {e}"))),
    };
    match message {
        ClientMessage::Ping { id } => Some(ServerMessage::Pong { id }),
        ClientMessage::UnsubscribeQuiz { quiz_id } => {
            state.hub.unsubscribe(conn, &quiz_id);
            None
        }
        ClientMessage::SubscribeQuiz { quiz_id } => {
            let quiz = match db::quiz(&state.db, quiz_id.as_str()).await {
                Ok(Some(quiz)) => quiz,
                Ok(None) => return Some(error(format!("unknown quiz \"{quiz_id}\""))),
                Err(e) => {
                    tracing::error!(error = %e, "quiz lookup failed");
                    return Some(error("server error; try again".to_owned()));
                }
            };
            match state.hub.subscribe(conn, &quiz.id) {
                Ok(()) => Some(ServerMessage::SubscriptionConfirmed {
                    message: format!("Subscribed to quiz {} ({})", quiz.id, quiz.title),
                    quiz_id: quiz.id,
                }),
                Err(e @ SubscribeError::TooMany(_)) => {
                    Some(error(format!("{e}; unsubscribe from one first")))
                }
                Err(SubscribeError::Gone) => None,
            }
        }
    }
}

/// Resolves once shutdown has been signalled (never if the sender is gone).
async fn shutdown_signalled(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|&stop| stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Sends a close frame, then waits (bounded) for the client's close reply.
async fn finish<S>(ws: &mut S, code: u16, reason: &'static str, grace: Duration)
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Sink<Message> + Unpin,
{
    let close = Message::Close(Some(CloseFrame {
        code: code.into(),
        reason: reason.into(),
    }));
    if tokio::time::timeout(grace, ws.send(close)).await.is_err() {
        return;
    }
    let drain = async {
        while let Some(Ok(message)) = ws.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(grace.min(Duration::from_secs(2)), drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Secret};
    use crate::hub::SharedFrame;
    use crate::outlet::tests::pair;

    type Client = WebSocketStream<TcpStream>;

    /// A state whose database is never touched by these tests.
    fn state() -> (AppState, watch::Sender<bool>) {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .connect_lazy("sqlite::memory:")
            .unwrap();
        let (stop, shutdown) = watch::channel(false);
        let config = Config::new("sqlite::memory:", Secret::new("s"));
        (AppState::new(config, pool, shutdown), stop)
    }

    fn user() -> UserRow {
        UserRow {
            id: 1,
            username: "alice".into(),
            password_hash: String::new(),
            is_active: true,
        }
    }

    /// Runs a connection over a loopback TCP pair (the handshake skipped).
    async fn spawn(
        state: AppState,
        user: Result<UserRow, Refusal>,
    ) -> (Client, tokio::task::JoinHandle<()>) {
        let (server, client) = pair().await;
        let task = tokio::spawn(connection(server, Vec::new(), state, user));
        let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        (client, task)
    }

    fn close_code(message: Option<Result<Message, tungstenite::Error>>) -> Option<u16> {
        match message {
            Some(Ok(Message::Close(Some(frame)))) => Some(frame.code.into()),
            _ => None,
        }
    }

    async fn wait_for(what: impl Fn() -> bool) {
        // A generous bound: only a broken server waits it out.
        for _ in 0..6000 {
            if what() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("condition not reached in 60 s");
    }

    #[tokio::test]
    async fn a_refused_socket_gets_its_close_code() {
        let (state, _stop) = state();
        let refusal = Refusal {
            code: CLOSE_TOKEN_NOT_VALID,
            reason: "token_not_valid",
        };
        let (mut client, task) = spawn(state, Err(refusal)).await;
        assert_eq!(close_code(client.next().await), Some(4001));
        drop(client);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn ping_is_answered_with_seq_and_the_socket_closes_1001_on_shutdown() {
        let (state, stop) = state();
        let metrics = Arc::clone(&state.metrics);
        let (mut client, task) = spawn(state, Ok(user())).await;
        client
            .send(Message::Text(r#"{"type": "ping", "id": 5}"#.into()))
            .await
            .unwrap();
        let Some(Ok(Message::Text(text))) = client.next().await else {
            panic!("no pong");
        };
        let frame = ServerFrame::decode(text.as_str()).unwrap();
        assert_eq!(frame.message, ServerMessage::Pong { id: 5 });
        assert_eq!(frame.seq, Some(1));
        assert!(frame.sent_at.is_some());
        stop.send(true).unwrap();
        assert_eq!(close_code(client.next().await), Some(1001));
        drop(client);
        task.await.unwrap();
        assert_eq!(metrics.open_sockets.get(), 0);
    }

    #[tokio::test]
    async fn broadcasts_and_replies_share_one_seq_in_order() {
        let (state, _stop) = state();
        let hub = Arc::clone(&state.hub);
        let (mut client, _task) = spawn(state, Ok(user())).await;
        wait_for(|| hub.len() == 1).await;
        let frame = |text: &str| {
            SharedFrame::new(
                ServerMessage::Error {
                    message: text.to_owned(),
                },
                "2026-11-30T00:00:00.000000Z",
                Instant::now(),
            )
        };
        hub.broadcast(&[frame("one"), frame("two")], &"q".into(), &frame("follow"));
        client
            .send(Message::Text(r#"{"type": "ping", "id": 1}"#.into()))
            .await
            .unwrap();
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let Some(Ok(Message::Text(text))) = client.next().await else {
                panic!("socket ended");
            };
            let frame = ServerFrame::decode(text.as_str()).unwrap();
            seen.push((frame.seq, frame.message));
        }
        assert_eq!(seen[0].0, Some(1));
        assert_eq!(seen[1].0, Some(2));
        assert_eq!(seen[2], (Some(3), ServerMessage::Pong { id: 1 }));
    }

    /// A restart (1012) that arrives while the task is still writing a
    /// backlog closes with 1012, not the lagging code.
    #[tokio::test]
    async fn a_restart_during_a_stalled_write_closes_1012() {
        let (state, _stop) = state();
        let hub = Arc::clone(&state.hub);
        let (mut client, _task) = spawn(state, Ok(user())).await;
        wait_for(|| hub.len() == 1).await;
        let big = SharedFrame::new(
            ServerMessage::Error {
                message: "x".repeat(8 << 20),
            },
            "2026-11-30T00:00:00.000000Z",
            Instant::now(),
        );
        // The client does not read: the kernel takes part, the task waits
        // to write the rest.
        hub.broadcast(std::slice::from_ref(&big), &"q".into(), &big);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(hub.restart_all(), 1);
        let mut code = None;
        while let Some(message) = client.next().await {
            match message {
                Ok(Message::Close(Some(frame))) => {
                    code = Some(u16::from(frame.code));
                    break;
                }
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(code, Some(1012));
    }

    #[test]
    fn rate_limit_warns_once_per_window() {
        let mut s = Session {
            window_start: Instant::now(),
            in_window: 0,
            warned: false,
        };
        for _ in 0..3 {
            assert_eq!(s.over_limit(3), None);
        }
        assert_eq!(s.over_limit(3), Some(true));
        assert_eq!(s.over_limit(3), Some(false));
        s.window_start -= Duration::from_secs(2);
        assert_eq!(s.over_limit(3), None);
    }
}
