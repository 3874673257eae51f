//! QuizPulse reference server: the platform contract (`spec/protocol.md`)
//! implemented for real on one machine, including its optional parts.
//!
//! - [`config`]: flags and defaults; [`db`]: SQLite or PostgreSQL storage and
//!   leaderboards; [`order`]: one upload at a time per subject; [`broker`]:
//!   broadcasts shared between instances through Redis;
//!   [`auth`]: SimpleJWT-compatible tokens and argon2 passwords;
//! - [`api`]: the REST endpoints; [`ws`]: the socket; [`outlet`]: a socket's
//!   write end, shared with the fan-out; [`hub`]: the broadcast
//!   hub with per-quiz groups; [`demo`]: demo data and the upload simulator;
//! - [`limits`]: throttles and quotas against abuse;
//! - [`metrics`]: Prometheus counters; [`error`]: errors as DRF-style JSON.
//!
//! [`app`] builds the router from an [`AppState`]; [`Server`] binds, runs and
//! shuts down (closing every socket with 1001); [`serve`] does both.

pub mod api;
pub mod auth;
pub mod broker;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod order;
pub mod outlet;
pub mod pages;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{Method, Request, header};
use axum::routing::{get, post};
use quizpulse::wire::{NewSession, QuizRef, ServerMessage, SessionEvent};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::auth::{PasswordChecks, PasswordHashing, Tokens};
use crate::broker::{Broker, BrokerError};
use crate::config::{Config, WeakSecret};
use crate::db::{DbError, Pool, SessionInput, UserRow};
use crate::error::AppError;
use crate::hub::{Delivery, Hub, SharedFrame};
use crate::limits::{AddrKey, PeerAddr, SocketQuotas, Throttle};
use crate::metrics::{Metrics, inc_reason};
use crate::order::{SubjectLocks, SubjectTurn};

/// Entries carried by `leaderboard_updated` / `quiz_leaderboard_updated`.
pub const BROADCAST_ENTRIES: u32 = 10;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database pool (SQLite or PostgreSQL).
    pub db: Pool,
    /// Token signing and checking.
    pub tokens: Arc<Tokens>,
    /// The socket hub.
    pub hub: Arc<Hub>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Becomes `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// One upload at a time per subject (store, boards, broadcast), across
    /// instances on PostgreSQL: see [`order`].
    subjects: Arc<SubjectLocks>,
    /// The Redis broker, when broadcasts are shared between instances.
    broker: Option<Broker>,
    /// The limits against abuse (one `Arc`: every socket's task holds a
    /// clone of this state, so it stays small).
    pub limits: Arc<Limits>,
}

/// The limits' state, shared by every handler.
pub struct Limits {
    /// Password checks: a few threads and a bounded queue.
    pub passwords: PasswordChecks,
    /// Sign-in attempts per client address.
    pub sign_ins_per_address: Throttle<AddrKey>,
    /// Failed sign-ins per username.
    pub sign_in_failures: Throttle<String>,
    /// Uploads per account.
    pub uploads_per_user: Throttle<i64>,
    /// Open sockets per process, address and account.
    pub sockets: Arc<SocketQuotas>,
}

impl AppState {
    /// State over an open (migrated) database, broadcasting to the local hub.
    pub fn new(config: Config, db: Pool, shutdown: watch::Receiver<bool>) -> Self {
        let metrics = Arc::new(Metrics::default());
        let hub = Arc::new(Hub::new(
            Arc::clone(&metrics),
            config.ws.queue_capacity,
            config.ws.max_subscriptions,
        ));
        let tokens = Arc::new(
            Tokens::new(&config.jwt_secret, config.access_ttl, config.refresh_ttl)
                .with_clock_offset(config.token_clock_offset),
        );
        let limits = Arc::new(Limits {
            passwords: PasswordChecks::new(
                config.sign_in.hash_workers,
                config.sign_in.hash_queue,
                Arc::clone(&metrics),
            ),
            sign_ins_per_address: Throttle::new(config.sign_in.per_address),
            sign_in_failures: Throttle::new(config.sign_in.failures_per_username),
            uploads_per_user: Throttle::new(config.quotas.uploads_per_user),
            sockets: Arc::new(SocketQuotas::new(config.quotas.clone())),
        });
        Self {
            db,
            tokens,
            hub,
            metrics,
            shutdown,
            subjects: Arc::new(SubjectLocks::default()),
            broker: None,
            limits,
            config: Arc::new(config),
        }
    }

    /// Closes every open socket of the disabled account `user` with 4003.
    pub fn close_sockets_of_inactive(&self, user: i64) -> usize {
        let closed = self.hub.kick_user(user);
        if closed > 0 {
            self.metrics.sockets_closed_inactive.inc_by(closed as u64);
            tracing::info!(
                user,
                closed,
                "account disabled: its sockets closed with 4003"
            );
        }
        closed
    }

    /// The per-subject upload turns (see [`order`]).
    pub fn subject_locks(&self) -> &SubjectLocks {
        &self.subjects
    }

    /// Connects the broker (`config.broker_url`), if any: broadcasts then go
    /// through Redis and arrive from it. Returns the subscriber task.
    pub async fn start_broker(&mut self) -> Result<Option<JoinHandle<()>>, BrokerError> {
        let Some(url) = self.config.broker_url.clone() else {
            return Ok(None);
        };
        let (broker, task) = Broker::start(
            &url,
            Arc::clone(&self.hub),
            Arc::clone(&self.metrics),
            self.shutdown.clone(),
        )
        .await?;
        // The broker's own tasks (subscriber, resync notices) end on shutdown.
        self.broker = Some(broker);
        Ok(Some(task))
    }

    /// Validates and stores a session as `user`, then broadcasts it: the one
    /// path for `POST /api/quiz-sessions/` and the demo simulator.
    ///
    /// Storing and broadcasting run in a task of their own, so a client that
    /// hangs up mid-request cannot cut them short: a stored session is always
    /// broadcast, and its subject's turn always released.
    pub async fn record_session(
        &self,
        user: &UserRow,
        new: &NewSession,
    ) -> Result<SessionEvent, AppError> {
        let max = self.config.max_score;
        if !new.score.is_finite() || new.score < 0.0 || new.score > max {
            inc_reason(&self.metrics.uploads_refused, "score");
            return Err(AppError::BadRequest(format!(
                "score must be a number from 0 to {max}."
            )));
        }
        if !new.duration_s.is_finite() || new.duration_s < 0.0 {
            return Err(AppError::BadRequest(
                "duration_s must be a finite number of seconds, 0 or more.".to_owned(),
            ));
        }
        let quiz = db::quiz(&self.db, new.quiz_id.as_str())
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .ok_or_else(|| AppError::NotFound(format!("No quiz with id {:?}.", new.quiz_id.0)))?;
        let state = self.clone();
        let user = user.clone();
        let (score, duration_s) = (new.score, new.duration_s);
        tokio::spawn(async move {
            let mut turn = state
                .subjects
                .lock(&state.db, &quiz.subject_id)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let stored = state
                .store_and_broadcast(&mut turn, &quiz, &user, score, duration_s)
                .await;
            turn.release().await;
            stored
        })
        .await
        .map_err(|e| AppError::Internal(format!("upload task: {e}")))?
    }

    /// Stores the session and broadcasts it, in the subject's turn.
    async fn store_and_broadcast(
        &self,
        turn: &mut SubjectTurn,
        quiz: &QuizRef,
        user: &UserRow,
        score: f64,
        duration_s: f64,
    ) -> Result<SessionEvent, AppError> {
        let completed_at = db::now_micros();
        let conn = turn.conn().map_err(|e| AppError::Internal(e.to_string()))?;
        let event = db::insert_session(
            &mut *conn,
            &SessionInput {
                quiz,
                user_id: user.id,
                username: &user.username,
                score,
                duration_s,
                completed_at,
            },
        )
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let stored_at = Instant::now();
        let stored_at_us = db::now_micros();
        Metrics::inc(&self.metrics.sessions_stored);

        // The session is stored: from here on nothing fails the request.
        let subject_entries =
            db::subject_entries_on(&mut *conn, quiz.subject_id.as_str(), BROADCAST_ENTRIES)
                .await
                .map(|(entries, _)| entries)
                .map_err(|e| tracing::error!(error = %e, "subject board for broadcast"))
                .ok();
        let quiz_entries = db::quiz_entries_on(&mut *conn, quiz.id.as_str(), BROADCAST_ENTRIES)
            .await
            .map(|(entries, _)| entries)
            .map_err(|e| tracing::error!(error = %e, "quiz board for broadcast"))
            .ok();
        let sent_at = db::rfc3339(db::now_micros());
        let delivery = Delivery {
            everyone: vec![
                SharedFrame::new(
                    ServerMessage::QuizSessionUploaded {
                        session: Some(event.clone()),
                    },
                    &sent_at,
                    stored_at,
                ),
                SharedFrame::new(
                    ServerMessage::LeaderboardUpdated {
                        subject_id: Some(quiz.subject_id.clone()),
                        entries: subject_entries,
                    },
                    &sent_at,
                    stored_at,
                ),
            ],
            quiz: quiz.id.clone(),
            followers: SharedFrame::new(
                ServerMessage::QuizLeaderboardUpdated {
                    quiz_id: quiz.id.clone(),
                    entries: quiz_entries,
                },
                &sent_at,
                stored_at,
            ),
        };
        match &self.broker {
            Some(broker) => broker.publish(&delivery, stored_at_us).await,
            None => self.hub.deliver(&delivery),
        }
        tracing::info!(
            session = %event.session_id,
            quiz = %event.quiz_id,
            user = %event.username,
            score = event.score,
            "session stored and broadcast"
        );
        Ok(event)
    }
}

/// CORS: any origin may call with `Authorization` (bearer tokens, never
/// cookies, so no credentials mode is involved). The extension itself needs
/// none of this (host permissions); it lets a web page tool use the API.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600))
}

/// The router: the contract's paths (trailing slashes and all), `/healthz`,
/// `/metrics`, and JSON 404/405 for everything else.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/api/token/", post(api::obtain_token))
        .route("/api/token/refresh/", post(api::refresh_token))
        .route("/api/subjects/", get(api::subjects))
        .route("/api/quizzes/", get(api::quizzes))
        .route("/api/leaderboard/subjects/", get(api::subject_boards))
        .route("/api/quizzes/{quiz_id}/leaderboard/", get(api::quiz_board))
        .route("/api/users/me/performance/", get(api::performance))
        .route("/api/quiz-sessions/", post(api::upload_session))
        .route("/ws/leaderboard/", get(ws::handler))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/quizzes/{quiz_id}/", get(pages::quiz_page))
        .route("/quizzes/{quiz_id}", get(pages::quiz_page_redirect))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(cors())
        .layer(
            // Path only: the socket's query string carries the access token.
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                tracing::debug_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path()
                )
            }),
        )
        .with_state(state)
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Opening, migrating or seeding the database failed.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// Binding or serving failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// Seeding demo data failed.
    #[error("demo data: {0}")]
    Demo(String),
    /// The broker (Redis) could not be reached.
    #[error("broker: {0}")]
    Broker(#[from] BrokerError),
    /// The JWT secret is too weak to sign tokens with.
    #[error("{0}")]
    WeakSecret(#[from] WeakSecret),
}

/// A bound server, not yet serving: tests read [`Server::local_addr`] and
/// may seed the database through [`Server::state`] before [`Server::run`].
pub struct Server {
    listener: TcpListener,
    state: AppState,
    stop: watch::Sender<bool>,
    subscriber: Option<JoinHandle<()>>,
}

impl Server {
    /// Opens and migrates the database, seeds demo data under `--demo`, and
    /// binds the listener.
    pub async fn bind(config: Config) -> Result<Self, ServerError> {
        config.jwt_secret.check_strength()?;
        let pool = db::connect_with(&config.db_url, config.sqlite_synchronous).await?;
        db::migrate(&pool).await?;
        if config.demo.is_some() {
            // The demo passwords are public: cheap argon2id parameters keep
            // start-up and sign-in fast even in a debug build.
            demo::seed(&pool, &PasswordHashing::insecure_fast())
                .await
                .map_err(|e| ServerError::Demo(e.to_string()))?;
        }
        let listener = TcpListener::bind(config.bind).await?;
        let (stop, shutdown) = watch::channel(false);
        let mut state = AppState::new(config, pool, shutdown);
        let subscriber = state.start_broker().await?;
        Ok(Self {
            listener,
            state,
            stop,
            subscriber,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, std::io::Error> {
        self.listener.local_addr()
    }

    /// The state handlers will share.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then closes every socket with 1001
    /// (waiting up to `shutdown_grace` for them) and closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let Self {
            listener,
            state,
            stop,
            subscriber,
        } = self;
        let simulator = state
            .config
            .demo
            .as_ref()
            .filter(|demo| !demo.simulate_every.is_zero())
            .map(|demo| tokio::spawn(demo::simulate(state.clone(), demo.simulate_every)));
        let accounts = tokio::spawn(check_accounts(state.clone()));
        let served = accept(
            listener,
            app(state.clone()),
            state.shutdown.clone(),
            async {
                shutdown.await;
                tracing::info!("shutting down: closing sockets with 1001");
                let _ = stop.send(true);
            },
        )
        .await;
        let _ = stop.send(true);
        let deadline = Instant::now() + state.config.shutdown_grace;
        let open = || state.metrics.open_sockets.get();
        while open() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if let Some(simulator) = simulator {
            simulator.abort();
        }
        accounts.abort();
        if let Some(subscriber) = subscriber {
            subscriber.abort();
        }
        state.db.close().await;
        served?;
        Ok(())
    }
}

/// Every `account_check_every`, closes with 4003 the open sockets of accounts
/// disabled since they connected (`user disable` runs in another process;
/// one query for the disabled accounts, only while sockets are open).
async fn check_accounts(state: AppState) {
    let every = state
        .config
        .account_check_every
        .max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|&stop| stop) => return,
        }
        if state.hub.is_empty() {
            continue;
        }
        match db::inactive_user_ids(&state.db).await {
            Ok(inactive) => {
                if inactive.is_empty() {
                    continue;
                }
                for user in state.hub.users() {
                    if inactive.binary_search(&user).is_ok() {
                        state.close_sockets_of_inactive(user);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "checking for disabled accounts"),
        }
    }
}

/// Serves HTTP/1.1 connections from `listener` with `router` until `stop`
/// resolves, then lets each connection finish its request (`closing` turns
/// true for them) and returns once all have ended.
///
/// The server runs its own accept loop (rather than `axum::serve`) so that
/// an upgraded connection hands over its plain `TcpStream`: the socket's
/// bytes are written by the fan-out loop directly (see [`outlet`]).
async fn accept(
    listener: TcpListener,
    router: Router,
    closing: watch::Receiver<bool>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (done_tx, done_rx) = watch::channel(());
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, mostly: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // The peer's address goes with every request (the limits count per client).
        let service =
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                router.clone(),
                move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(PeerAddr(peer));
                    request
                },
            ));
        let mut closing = closing.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                () = async { let _ = closing.wait_for(|&stop| stop).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(done);
        });
    }
    drop(listener);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// Binds and serves `config` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let server = Server::bind(config).await?;
    tracing::info!(addr = %server.local_addr()?, "listening");
    server.run(shutdown).await
}
