//! Errors, and how each one reaches a client: as the JSON bodies Django REST
//! Framework and SimpleJWT send (`{"detail": ...}`, plus `"code"` for token
//! errors), never as a plain-text rejection.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quizpulse::wire::ApiError;

/// Why a REST call failed. Each variant maps to one status and body.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the body or query is malformed or invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 401 without a code: no `Authorization` header (DRF's wording).
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// 401 `token_not_valid`: a bad, expired or wrong-type token.
    #[error("{0}")]
    TokenNotValid(String),
    /// 401 with another SimpleJWT code (`user_not_found`, `user_inactive`).
    #[error("{detail}")]
    Unauthorized {
        /// Human-readable reason.
        detail: String,
        /// SimpleJWT's code.
        code: &'static str,
    },
    /// 401 from `POST /api/token/`: wrong username or password.
    #[error("No active account found with the given credentials")]
    BadCredentials,
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 405 (DRF's wording).
    #[error("Method not allowed.")]
    MethodNotAllowed,
    /// 500: storage failed. Logged; the client gets a generic body.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// 500: anything else that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The status this error is sent with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotAuthenticated
            | Self::TokenNotValid(_)
            | Self::Unauthorized { .. }
            | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Db(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body this error is sent with.
    pub fn body(&self) -> ApiError {
        match self {
            Self::TokenNotValid(detail) => ApiError {
                detail: Some(detail.clone()),
                code: Some("token_not_valid".to_owned()),
            },
            Self::Unauthorized { detail, code } => ApiError {
                detail: Some(detail.clone()),
                code: Some((*code).to_owned()),
            },
            Self::Db(_) | Self::Internal(_) => ApiError::detail("A server error occurred."),
            other => ApiError::detail(other.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (status, Json(self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // DRF answers 401 with the scheme the client should use.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        response
    }
}

/// Fallback for unknown paths: `404 {"detail": "Not found."}`.
pub async fn not_found() -> AppError {
    AppError::NotFound("Not found.".to_owned())
}

/// Fallback for a known path with the wrong method.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
