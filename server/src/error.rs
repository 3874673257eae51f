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
    /// 429 with `Retry-After`: a rate or a queue is full (DRF's `Throttled`
    /// wording); `wait` is rounded up to whole seconds, at least 1.
    #[error("Request was throttled. Expected available in {} second{}.", retry_after(*.0), if retry_after(*.0) == 1 { "" } else { "s" })]
    Throttled(std::time::Duration),
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
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
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
        if let Self::Throttled(wait) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after(*wait)));
        }
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

/// Whole seconds to wait, rounded up, at least 1 (`Retry-After`).
pub fn retry_after(wait: std::time::Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// Fallback for unknown paths: `404 {"detail": "Not found."}`.
pub async fn not_found() -> AppError {
    AppError::NotFound("Not found.".to_owned())
}

/// Fallback for a known path with the wrong method.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn throttled_says_when_in_drf_words_and_retry_after() {
        let e = AppError::Throttled(Duration::from_millis(1500));
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            e.to_string(),
            "Request was throttled. Expected available in 2 seconds."
        );
        let response = e.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(
            AppError::Throttled(Duration::ZERO).to_string(),
            "Request was throttled. Expected available in 1 second."
        );
    }
}
