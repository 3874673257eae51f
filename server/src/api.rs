//! REST endpoints of the contract (sections 1-3), plus `/healthz` and
//! `/metrics`.
//!
//! Every `/api/` read requires `Authorization: Bearer <access>`, as a Django
//! platform with DRF's `IsAuthenticated` default does (the extension always
//! sends it). Bodies are parsed from the raw bytes whatever the
//! `Content-Type`, so `curl -d '{...}'` works and a malformed body gets
//! `400 {"detail": ...}` instead of a plain-text rejection.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use quizpulse::wire::{
    NewSession, Performance, Quiz, QuizBoard, RefreshRequest, RefreshResponse, SessionEvent,
    Subject, SubjectBoard, TokenPair, TokenRequest,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::auth::{self, AuthUser, CheckError, TokenKind};
use crate::db;
use crate::error::AppError;
use crate::limits::ClientAddr;
use crate::metrics::{Metrics, inc_reason};

/// Default and largest `?limit=` of the leaderboard reads.
pub const DEFAULT_LIMIT: u32 = 10;
/// Largest accepted `?limit=`.
pub const MAX_LIMIT: u32 = 100;

/// Parses a JSON body, mapping every failure to `400 {"detail"}`.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest(
            "Request body is empty; send a JSON object.".to_owned(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "JSON parse error"
        } else {
            "Invalid request body"
        };
        AppError::BadRequest(format!("{what}: {e}"))
    })
}

/// How much of a username keys its failure throttle (Django's usernames are
/// at most 150 characters; a longer one is refused by the password anyway).
const USERNAME_KEY_CHARS: usize = 150;

/// `POST /api/token/`: username and password for an access/refresh pair.
///
/// In order: the client address's rate (429), the username's failures
/// (429), then one password check on a hashing thread (429 at once when
/// every thread is busy and the queue is full). An unknown username is
/// checked against a stand-in hash of the same cost, and a disabled account
/// like any wrong password, so neither answers sooner; a successful sign-in
/// is not counted as a failure.
pub async fn obtain_token(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    body: Bytes,
) -> Result<Json<TokenPair>, AppError> {
    Metrics::inc(&state.metrics.token_requests);
    let request: TokenRequest = parse_body(&body)?;
    let now = Instant::now();
    let throttled = |reason, wait| {
        inc_reason(&state.metrics.sign_ins_throttled, reason);
        AppError::Throttled(wait)
    };
    state
        .limits
        .sign_ins_per_address
        .take(&address, now)
        .map_err(|wait| throttled("address", wait))?;
    let name: String = request.username.chars().take(USERNAME_KEY_CHARS).collect();
    state
        .limits
        .sign_in_failures
        .take(&name, now)
        .map_err(|wait| throttled("username", wait))?;
    let checked = check_credentials(&state, &request).await;
    match checked {
        Ok(Some(user)) => {
            state.limits.sign_in_failures.refund(&name);
            Ok(Json(state.tokens.pair(user.id)?))
        }
        Ok(None) => Err(AppError::BadCredentials),
        Err(CheckFailed::Busy) => {
            // Not an attempt on the password: the username keeps its token.
            state.limits.sign_in_failures.refund(&name);
            Err(throttled("busy", std::time::Duration::from_secs(1)))
        }
        Err(CheckFailed::Error(e)) => {
            state.limits.sign_in_failures.refund(&name);
            Err(e)
        }
    }
}

/// Why a sign-in's credentials could not be judged.
enum CheckFailed {
    /// Every password check is busy.
    Busy,
    /// The database or a hashing thread failed.
    Error(AppError),
}

/// The active account the credentials name, `None` for wrong ones (unknown
/// username, wrong password, disabled account: the same work each time).
async fn check_credentials(
    state: &AppState,
    request: &TokenRequest,
) -> Result<Option<db::UserRow>, CheckFailed> {
    let user = db::user_by_name(&state.db, &request.username)
        .await
        .map_err(|e| CheckFailed::Error(AppError::Internal(e.to_string())))?;
    let phc = match &user {
        Some(user) => user.password_hash.clone(),
        None => state
            .limits
            .passwords
            .stand_in(&state.db)
            .await
            .map_err(CheckFailed::Error)?,
    };
    let ok = state
        .limits
        .passwords
        .verify(request.password.clone(), phc)
        .await
        .map_err(|e| match e {
            CheckError::Busy => CheckFailed::Busy,
            CheckError::Failed(e) => CheckFailed::Error(AppError::Internal(e)),
        })?;
    Ok(user.filter(|user| ok && user.is_active))
}

/// `POST /api/token/refresh/`: a refresh token for a new access token (and a
/// new refresh token when rotation is on).
pub async fn refresh_token(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<RefreshResponse>, AppError> {
    Metrics::inc(&state.metrics.token_refresh_requests);
    let request: RefreshRequest = parse_body(&body)?;
    let user_id = state
        .tokens
        .verify(&request.refresh, TokenKind::Refresh)
        .map_err(|e| AppError::TokenNotValid(e.to_string()))?;
    // A refresh for a deleted or disabled account is refused like a bad token.
    auth::active_user(&state, user_id)
        .await
        .map_err(|e| match e {
            AppError::Unauthorized { detail, .. } => AppError::TokenNotValid(detail),
            other => other,
        })?;
    let access = state.tokens.issue(TokenKind::Access, user_id)?;
    let refresh = if state.config.rotate_refresh {
        Some(state.tokens.issue(TokenKind::Refresh, user_id)?)
    } else {
        None
    };
    Ok(Json(RefreshResponse { access, refresh }))
}

/// `?limit=N` of the leaderboard reads.
#[derive(Debug, Deserialize)]
pub struct LimitQuery {
    /// Entries per board, 1 to [`MAX_LIMIT`].
    pub limit: Option<String>,
}

fn limit(query: Result<Query<LimitQuery>, QueryRejection>) -> Result<u32, AppError> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    match query.limit.as_deref() {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!(
                "limit must be an integer from 1 to {MAX_LIMIT}, not {text:?}."
            ))),
        },
    }
}

fn db_err(e: db::DbError) -> AppError {
    AppError::Internal(e.to_string())
}

/// `GET /api/subjects/`.
pub async fn subjects(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Vec<Subject>>, AppError> {
    Ok(Json(db::subjects(&state.db).await.map_err(db_err)?))
}

/// `GET /api/quizzes/`.
pub async fn quizzes(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Vec<Quiz>>, AppError> {
    Ok(Json(db::quizzes(&state.db).await.map_err(db_err)?))
}

/// `GET /api/leaderboard/subjects/?limit=N`.
pub async fn subject_boards(
    State(state): State<AppState>,
    _user: AuthUser,
    query: Result<Query<LimitQuery>, QueryRejection>,
) -> Result<Json<Vec<SubjectBoard>>, AppError> {
    let limit = limit(query)?;
    Ok(Json(
        db::subject_boards(&state.db, limit).await.map_err(db_err)?,
    ))
}

/// `GET /api/quizzes/<quiz_id>/leaderboard/?limit=N`.
pub async fn quiz_board(
    State(state): State<AppState>,
    _user: AuthUser,
    Path(quiz_id): Path<String>,
    query: Result<Query<LimitQuery>, QueryRejection>,
) -> Result<Json<QuizBoard>, AppError> {
    let limit = limit(query)?;
    let quiz = db::quiz(&state.db, &quiz_id)
        .await
        .map_err(db_err)?
        .ok_or_else(|| AppError::NotFound(format!("No quiz with id {quiz_id:?}.")))?;
    Ok(Json(
        db::quiz_board(&state.db, quiz, limit)
            .await
            .map_err(db_err)?,
    ))
}

/// `GET /api/users/me/performance/`.
pub async fn performance(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Performance>, AppError> {
    Ok(Json(
        db::performance(&state.db, &user).await.map_err(db_err)?,
    ))
}

/// `POST /api/quiz-sessions/`: stores a session as the caller, then
/// broadcasts it. `201` with the stored session; 429 past the account's
/// upload rate (each upload is two or three messages to every socket).
pub async fn upload_session(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    body: Bytes,
) -> Result<(StatusCode, Json<SessionEvent>), AppError> {
    state
        .limits
        .uploads_per_user
        .take(&user.id, Instant::now())
        .map_err(|wait| {
            inc_reason(&state.metrics.uploads_refused, "rate");
            AppError::Throttled(wait)
        })?;
    let new: NewSession = parse_body(&body)?;
    let event = state.record_session(&user, &new).await?;
    Ok((StatusCode::CREATED, Json(event)))
}

/// `GET /healthz`: `200 {"status": "ok"}` when the database answers.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(&state.db)
        .await
    {
        Ok(_) => (
            StatusCode::OK,
            Json(serde_json::json!({
                "status": "ok",
                "sockets": state.hub.len(),
            })),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "database unavailable", "detail": e.to_string()})),
        ),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
}
