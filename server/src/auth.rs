//! Authentication, SimpleJWT-compatible: HS256 access and refresh tokens with
//! claims `token_type`, `exp`, `iat`, `jti`, `user_id` (a string), no leeway;
//! argon2id password hashes; the `Authorization: Bearer` extractor.

use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use quizpulse::wire::{TokenClaims, TokenPair, UserId};

use crate::AppState;
use crate::config::{Secret, hex};
use crate::db::{self, UserRow};
use crate::error::AppError;

/// Which of the two SimpleJWT token kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Short-lived; authorises REST calls and the socket.
    Access,
    /// Long-lived; only buys new access tokens.
    Refresh,
}

impl TokenKind {
    /// The `token_type` claim.
    pub fn claim(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// Why a token was refused; the text is SimpleJWT's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Past its `exp`.
    #[error("Token is expired")]
    Expired,
    /// Bad signature, malformed, or missing claims.
    #[error("Token is invalid")]
    Invalid,
    /// A refresh token where an access token was needed, or the reverse.
    #[error("Token has wrong type")]
    WrongType,
}

/// Signs and checks tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl Tokens {
    /// Keys from the shared secret, with the two lifetimes.
    pub fn new(secret: &Secret, access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        // SimpleJWT's LEEWAY is 0: an expired token is expired.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    /// A signed token of `kind` for `user_id`.
    pub fn issue(&self, kind: TokenKind, user_id: i64) -> Result<String, AppError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| AppError::Internal(format!("getrandom: {e}")))?;
        let claims = TokenClaims {
            token_type: kind.claim().to_owned(),
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            iat: now,
            jti: hex(&jti),
            user_id: UserId(user_id.to_string()),
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing a token: {e}")))
    }

    /// An access and a refresh token for `user_id`.
    pub fn pair(&self, user_id: i64) -> Result<TokenPair, AppError> {
        Ok(TokenPair {
            access: self.issue(TokenKind::Access, user_id)?,
            refresh: self.issue(TokenKind::Refresh, user_id)?,
        })
    }

    /// Checks signature, expiry and type; returns the user id.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<i64, TokenError> {
        let data = jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        if data.claims.token_type != kind.claim() {
            return Err(TokenError::WrongType);
        }
        data.claims
            .user_id
            .as_str()
            .parse()
            .map_err(|_| TokenError::Invalid)
    }
}

/// Hashes passwords with argon2id.
#[derive(Clone)]
pub struct PasswordHashing {
    argon2: Argon2<'static>,
}

impl Default for PasswordHashing {
    /// argon2id with the crate's defaults (19 MiB, 2 passes): OWASP's minimum.
    fn default() -> Self {
        Self {
            argon2: Argon2::default(),
        }
    }
}

impl PasswordHashing {
    /// Deliberately weak parameters (8 KiB, 1 pass), for tests and for the
    /// `--demo` accounts, whose passwords are public anyway: start-up and
    /// sign-in stay fast even in a debug build. Never for real accounts
    /// (`user add` uses [`PasswordHashing::default`]).
    pub fn insecure_fast() -> Self {
        let params = Params::new(Params::MIN_M_COST, 1, 1, None).unwrap_or(Params::DEFAULT);
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        }
    }

    /// A PHC string (`$argon2id$v=19$...`) with a random salt.
    pub fn hash(&self, password: &str) -> Result<String, AppError> {
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("hashing a password: {e}")))
    }
}

/// True if `password` matches the PHC string (whatever parameters made it).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The user behind a valid `Authorization: Bearer <access>` header.
#[derive(Clone, Debug)]
pub struct AuthUser(pub UserRow);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Err(AppError::NotAuthenticated);
        };
        let header = header
            .to_str()
            .map_err(|_| AppError::BadRequest("Authorization header must be ASCII.".to_owned()))?;
        let mut words = header.split_whitespace();
        let (Some(scheme), token, None) = (words.next(), words.next(), words.next()) else {
            return Err(AppError::TokenNotValid(
                "Invalid Authorization header: use \"Bearer <access token>\".".to_owned(),
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            // DRF treats another scheme as no credentials for this authenticator.
            return Err(AppError::NotAuthenticated);
        }
        let Some(token) = token else {
            return Err(AppError::TokenNotValid(
                "Invalid Authorization header. No credentials provided.".to_owned(),
            ));
        };
        let user_id = state
            .tokens
            .verify(token, TokenKind::Access)
            .map_err(|e| AppError::TokenNotValid(e.to_string()))?;
        let user = active_user(state, user_id).await?;
        Ok(Self(user))
    }
}

/// The user `user_id` if it exists and is active (SimpleJWT's codes otherwise).
pub async fn active_user(state: &AppState, user_id: i64) -> Result<UserRow, AppError> {
    match db::user_by_id(&state.db, user_id).await {
        Ok(Some(user)) if user.is_active => Ok(user),
        Ok(Some(_)) => Err(AppError::Unauthorized {
            detail: "User is inactive".to_owned(),
            code: "user_inactive",
        }),
        Ok(None) => Err(AppError::Unauthorized {
            detail: "User not found".to_owned(),
            code: "user_not_found",
        }),
        Err(e) => Err(AppError::Internal(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(access: Duration) -> Tokens {
        Tokens::new(&Secret::new("test-secret"), access, Duration::from_secs(60))
    }

    #[test]
    fn tokens_round_trip_and_check_their_type() {
        let t = tokens(Duration::from_secs(60));
        let pair = t.pair(7).unwrap();
        assert_eq!(t.verify(&pair.access, TokenKind::Access), Ok(7));
        assert_eq!(t.verify(&pair.refresh, TokenKind::Refresh), Ok(7));
        assert_eq!(
            t.verify(&pair.refresh, TokenKind::Access),
            Err(TokenError::WrongType)
        );
        assert_eq!(
            t.verify("nope", TokenKind::Access),
            Err(TokenError::Invalid)
        );
        let other = Tokens::new(
            &Secret::new("other"),
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        assert_eq!(
            other.verify(&pair.access, TokenKind::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn claims_are_simplejwt_shaped() {
        let t = tokens(Duration::from_secs(300));
        let access = t.issue(TokenKind::Access, 42).unwrap();
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            &access,
            &DecodingKey::from_secret(b"test-secret"),
            &Validation::new(jsonwebtoken::Algorithm::HS256),
        )
        .unwrap()
        .claims;
        let header = jsonwebtoken::decode_header(&access).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
        assert_eq!(claims["token_type"], "access");
        assert_eq!(claims["user_id"], "42");
        assert_eq!(claims["jti"].as_str().unwrap().len(), 32);
        let (exp, iat) = (
            claims["exp"].as_i64().unwrap(),
            claims["iat"].as_i64().unwrap(),
        );
        assert_eq!(exp - iat, 300);
    }

    #[test]
    fn expired_tokens_are_refused_without_leeway() {
        let t = tokens(Duration::ZERO);
        let access = t.issue(TokenKind::Access, 1).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(
            t.verify(&access, TokenKind::Access),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn passwords_verify() {
        let h = PasswordHashing::insecure_fast().hash("alice-pass").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("alice-pass", &h));
        assert!(!verify_password("bob-pass", &h));
        assert!(!verify_password("alice-pass", "not a hash"));
    }
}
