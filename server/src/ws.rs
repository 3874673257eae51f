//! The socket, `GET /ws/leaderboard/?token=<access>`.
//!
//! One task per connection ([`run`]), generic over the socket's `Sink` and
//! `Stream` halves so it can be driven by channels in unit tests. The task
//! selects over: shutdown (close 1001), a kick from the hub (close 1013), its
//! broadcast queue (each frame numbered with this socket's `seq`; whatever is
//! queued is written together and flushed once), and the
//! client's messages (answered directly: `subscription_confirmed`, `pong`,
//! `error`). A bad or expired token is accepted and then closed with 4001; a
//! disabled account with 4003.

use std::fmt::Display;
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{
    CloseFrame, Message, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use quizpulse::wire::{ClientMessage, ServerFrame, ServerMessage};
use serde::Deserialize;
use tokio::sync::watch;
use tracing::Instrument;

use crate::AppState;
use crate::auth::TokenKind;
use crate::db::{self, UserRow};
use crate::hub::SubscribeError;
use crate::metrics::Metrics;

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
    /// 4001 or 4003.
    pub code: u16,
    /// Close reason (short, ASCII).
    pub reason: &'static str,
}

/// `GET /ws/leaderboard/`: checks the token, upgrades in any case, and closes
/// with 4001/4003 at once if the token was refused (as a Channels consumer that
/// accepts first does). The token is checked at connect only: an open socket
/// outlives its access token, as on a Django backend.
pub async fn handler(
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(state): State<AppState>,
    query: Result<Query<WsQuery>, QueryRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            let status = rejection.status();
            let body = quizpulse::wire::ApiError::detail(format!(
                "This endpoint is a WebSocket: {}",
                rejection.body_text()
            ));
            return (status, axum::Json(body)).into_response();
        }
    };
    let token = query.ok().and_then(|Query(q)| q.token);
    let user = authenticate(&state, token.as_deref()).await;
    let limits = &state.config.ws;
    upgrade
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_message_size(limits.hard_frame_bytes)
        .max_frame_size(limits.hard_frame_bytes)
        .on_upgrade(move |socket| {
            let (sink, stream) = socket.split();
            run(sink, stream, state, user)
        })
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

/// Per-connection state of the client side: `seq` and the rate limit.
struct Session {
    seq: u64,
    window_start: Instant,
    in_window: u32,
    warned: bool,
}

impl Session {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

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

/// Runs one connection to its end. `user` is the outcome of
/// [`authenticate`]: a refusal is sent as a close frame at once.
pub async fn run<W, R>(mut sink: W, mut stream: R, state: AppState, user: Result<UserRow, Refusal>)
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let metrics = std::sync::Arc::clone(&state.metrics);
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
            finish(&mut sink, &mut stream, refusal.code, refusal.reason, grace).await;
            return;
        }
    };

    let mut reg = state.hub.register();
    Metrics::inc(&metrics.sockets_total);
    metrics.open_sockets.inc();
    let span = tracing::info_span!("socket", conn = reg.id, user = %user.username);
    async move {
    tracing::info!("socket open");

    let mut shutdown = state.shutdown.clone();
    let mut session = Session {
        seq: 0,
        window_start: Instant::now(),
        in_window: 0,
        warned: false,
    };

    // Built once and polled in place: a socket woken for a broadcast does not
    // re-register with the shared shutdown channel or its kick every time.
    let stop = shutdown_signalled(&mut shutdown);
    let kick = reg.kicked.notified();
    tokio::pin!(stop, kick);
    let mut texts = Vec::new();

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
            batch = reg.rx.recv() => {
                let Some(batch) = batch else {
                    break End::Close(CLOSE_TRY_AGAIN_LATER, LAGGING);
                };
                // One upload is one batch; take whatever else is queued too,
                // write it all, flush once: one syscall.
                let mut last = batch.frames().last().cloned();
                texts.extend(batch.frames().iter().map(|f| f.numbered(session.next_seq())));
                while texts.len() < MAX_BATCH {
                    let Ok(batch) = reg.rx.try_recv() else { break };
                    last = batch.frames().last().cloned().or(last);
                    texts.extend(batch.frames().iter().map(|f| f.numbered(session.next_seq())));
                }
                let sent = texts.len() as u64;
                if let Err(end) = send_guarded(&mut sink, texts.drain(..), &mut kick, &mut stop).await {
                    break end;
                }
                metrics.messages_sent.inc_by(sent);
                if let Some(frame) = last {
                    metrics.broadcast_delivery.observe(frame.age());
                }
            }
            incoming = stream.next() => {
                let reply = match incoming {
                    Some(Ok(Message::Text(text))) => {
                        Box::pin(handle_text(&state, reg.id, &mut session, text.as_str())).await
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        handle_binary(&state, &mut session, bytes.len())
                    }
                    Some(Ok(Message::Close(_))) | None => break End::Gone,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    Some(Err(e)) => {
                        tracing::info!(error = %e, "socket read failed");
                        if e.to_string().contains("Space limit exceeded")
                            || e.to_string().to_ascii_lowercase().contains("too long")
                        {
                            break End::Close(CLOSE_TOO_BIG, "frame over the hard size cap");
                        }
                        break End::Gone;
                    }
                };
                if let Some(message) = reply {
                    let frame = ServerFrame {
                        message,
                        seq: Some(session.next_seq()),
                        sent_at: Some(db::rfc3339(db::now_micros())),
                    };
                    let text = std::iter::once(frame.encode());
                    if let Err(end) = send_guarded(&mut sink, text, &mut kick, &mut stop).await {
                        break end;
                    }
                    Metrics::inc(&metrics.messages_sent);
                }
            }
        }
    };

    state.hub.unregister(reg.id);
    match end {
        End::Close(code, reason) => {
            tracing::info!(code, reason, "closing socket");
            finish(&mut sink, &mut stream, code, reason, grace).await;
        }
        End::Gone => {
            // Flushes tungstenite's reply to a client's close frame, if any.
            let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
            tracing::info!("socket closed by client");
        }
    }
    // Counted down only now, so shutdown can wait for every close handshake.
    metrics.open_sockets.dec();
    }
    .instrument(span)
    .await;
}

/// Close reason for 1013.
const LAGGING: &str = "too far behind: reconnect and refetch";

/// A write that makes no progress for this long means the client stopped
/// reading: the socket is closed with 1013 even if no broadcast found its
/// queue full (e.g. it floods pings and never reads the pongs).
const WRITE_STALL: Duration = Duration::from_secs(30);

/// Most queued broadcast frames written in one go.
const MAX_BATCH: usize = 32;

/// Writes `texts` and flushes once, unless shutdown or a kick from the hub
/// comes first or the write stalls; the `Err` says how the connection must end.
async fn send_guarded<W, K, S>(
    sink: &mut W,
    texts: impl Iterator<Item = String>,
    kick: &mut std::pin::Pin<&mut K>,
    stop: &mut std::pin::Pin<&mut S>,
) -> Result<(), End>
where
    W: Sink<Message> + Unpin,
    K: Future<Output = ()>,
    S: Future<Output = ()>,
{
    let write = async {
        for text in texts {
            sink.feed(Message::Text(text.into())).await?;
        }
        sink.flush().await
    };
    tokio::select! {
        biased;
        () = stop.as_mut() => Err(End::Close(CLOSE_GOING_AWAY, "server shutting down")),
        () = kick.as_mut() => Err(End::Close(CLOSE_TRY_AGAIN_LATER, LAGGING)),
        sent = tokio::time::timeout(WRITE_STALL, write) => match sent {
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
async fn finish<W, R>(
    sink: &mut W,
    stream: &mut R,
    code: u16,
    reason: &'static str,
    grace: Duration,
) where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let close = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if tokio::time::timeout(grace, sink.send(close)).await.is_err() {
        return;
    }
    let drain = async {
        while let Some(Ok(message)) = stream.next().await {
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
    use futures_channel::mpsc;

    type Out = mpsc::Receiver<Message>;
    type In = mpsc::Sender<Result<Message, axum::Error>>;

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

    /// Runs a connection over channels, as the testing-websockets example does.
    fn spawn(
        state: AppState,
        user: Result<UserRow, Refusal>,
    ) -> (In, Out, tokio::task::JoinHandle<()>) {
        let (sink, out) = mpsc::channel(64);
        let (input, stream) = mpsc::channel(64);
        let task = tokio::spawn(run(sink, stream, state, user));
        (input, out, task)
    }

    fn close_code(message: Option<Message>) -> Option<u16> {
        match message {
            Some(Message::Close(Some(frame))) => Some(frame.code),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_refused_socket_gets_its_close_code() {
        let (state, _stop) = state();
        let refusal = Refusal {
            code: CLOSE_TOKEN_NOT_VALID,
            reason: "token_not_valid",
        };
        let (input, mut out, task) = spawn(state, Err(refusal));
        assert_eq!(close_code(out.next().await), Some(4001));
        drop(input);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn ping_is_answered_with_seq_and_the_socket_closes_1001_on_shutdown() {
        let (state, stop) = state();
        let metrics = std::sync::Arc::clone(&state.metrics);
        let (mut input, mut out, task) = spawn(state, Ok(user()));
        input
            .send(Ok(Message::Text(r#"{"type": "ping", "id": 5}"#.into())))
            .await
            .unwrap();
        let Some(Message::Text(text)) = out.next().await else {
            panic!("no pong");
        };
        let frame = ServerFrame::decode(text.as_str()).unwrap();
        assert_eq!(frame.message, ServerMessage::Pong { id: 5 });
        assert_eq!(frame.seq, Some(1));
        assert!(frame.sent_at.is_some());
        stop.send(true).unwrap();
        assert_eq!(close_code(out.next().await), Some(1001));
        drop(input);
        task.await.unwrap();
        assert_eq!(metrics.open_sockets.get(), 0);
    }

    #[test]
    fn rate_limit_warns_once_per_window() {
        let mut s = Session {
            seq: 0,
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
