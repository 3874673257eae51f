//! Authentication, SimpleJWT-compatible: HS256 access and refresh tokens with
//! claims `token_type`, `exp`, `iat`, `jti`, `user_id` (a string), no leeway,
//! on a clock that may be shifted (`--token-clock-offset`); argon2id password
//! hashes, checked by [`PasswordChecks`] (a few threads, a bounded queue, the
//! same work for unknown usernames); the `Authorization: Bearer` extractor.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
use crate::metrics::Metrics;

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
    /// Seconds added to the real clock for `iat`, `exp` and the expiry check.
    clock_offset: i64,
}

impl Tokens {
    /// Keys from the shared secret, with the two lifetimes.
    pub fn new(secret: &Secret, access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        // `exp` is checked here against the token clock (see `verify`); it
        // must be there.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            access_ttl,
            refresh_ttl,
            clock_offset: 0,
        }
    }

    /// The same, on a clock `seconds` off the real one (negative: behind):
    /// tokens are issued with `iat`/`exp` on it and checked against it, so
    /// the server agrees with itself while a client whose clock is right
    /// sees every token's times shifted (`--token-clock-offset`).
    pub fn with_clock_offset(mut self, seconds: i64) -> Self {
        self.clock_offset = seconds;
        self
    }

    /// Now on the token clock, in seconds since the epoch.
    fn now(&self) -> i64 {
        chrono::Utc::now()
            .timestamp()
            .saturating_add(self.clock_offset)
    }

    /// A signed token of `kind` for `user_id`.
    pub fn issue(&self, kind: TokenKind, user_id: i64) -> Result<String, AppError> {
        let now = self.now();
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

    /// Checks signature, expiry (no leeway: a token is expired once the
    /// token clock is past its `exp`, as SimpleJWT's `LEEWAY = 0`) and type;
    /// returns the user id.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<i64, TokenError> {
        let data = jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        if data.claims.exp < self.now() {
            return Err(TokenError::Expired);
        }
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

/// Why a password check did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Every hashing thread is busy and the queue is full: answer 429.
    #[error("every password check is busy")]
    Busy,
    /// The check could not run (a hashing thread failed).
    #[error("password check: {0}")]
    Failed(String),
}

/// Password checks, bounded: at most `workers` run at once, each on a
/// blocking thread of its own (so hashing memory is at most `workers` times
/// the hash's memory cost), and at most `queue` more wait for one; past
/// that, [`CheckError::Busy`] at once. An unknown username is checked
/// against a stand-in hash with the same parameters as the accounts'
/// ([`PasswordChecks::stand_in`]), so it takes the same time as a known one.
pub struct PasswordChecks {
    running: Arc<tokio::sync::Semaphore>,
    /// Checks admitted (running or waiting).
    admitted: Arc<AtomicUsize>,
    capacity: usize,
    stand_in: tokio::sync::OnceCell<String>,
    metrics: Arc<Metrics>,
}

/// Gives an admitted check's place back when dropped (the check ended, or
/// its request went away while waiting).
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordChecks {
    /// `workers` threads (at least one) and a queue of `queue`.
    pub fn new(workers: usize, queue: usize, metrics: Arc<Metrics>) -> Self {
        let workers = workers.max(1);
        Self {
            running: Arc::new(tokio::sync::Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: workers.saturating_add(queue),
            stand_in: tokio::sync::OnceCell::new(),
            metrics,
        }
    }

    /// Checks `password` against the PHC string `phc` on a hashing thread,
    /// waiting for one if needed; `Busy` at once when the queue is full.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, CheckError> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(CheckError::Busy);
        }
        let admitted = Admitted(Arc::clone(&self.admitted));
        let permit = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|e| CheckError::Failed(e.to_string()))?;
        Metrics::inc(&self.metrics.password_checks);
        // The permit and the place go with the thread: a request that goes
        // away does not let another hash start while this one still runs.
        tokio::task::spawn_blocking(move || {
            let ok = verify_password(&password, &phc);
            drop((permit, admitted));
            ok
        })
        .await
        .map_err(|e| CheckError::Failed(e.to_string()))
    }

    /// Checks admitted now (running or waiting).
    pub fn admitted(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// The stand-in hash for unknown usernames: a random password hashed
    /// with the parameters of the newest account's hash (`user add`'s
    /// argon2id defaults when there is none, or it cannot be read), made
    /// once, on first use.
    pub async fn stand_in(&self, pool: &db::Pool) -> Result<String, AppError> {
        self.stand_in
            .get_or_try_init(|| async {
                let newest = db::newest_password_hash(pool)
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                tokio::task::spawn_blocking(move || stand_in_for(newest.as_deref()))
                    .await
                    .map_err(|e| AppError::Internal(format!("stand-in hash: {e}")))?
            })
            .await
            .cloned()
    }
}

/// A random password hashed with the parameters (algorithm, version, memory,
/// passes, lanes, output length) of `reference`, or with `user add`'s.
pub fn stand_in_for(reference: Option<&str>) -> Result<String, AppError> {
    let argon2 = reference
        .and_then(|phc| PasswordHash::new(phc).ok())
        .and_then(|hash| {
            let params = Params::try_from(&hash).ok()?;
            let algorithm = Algorithm::new(hash.algorithm.as_str()).ok()?;
            let version = hash
                .version
                .and_then(|v| Version::try_from(v).ok())
                .unwrap_or_default();
            Some(Argon2::new(algorithm, version, params))
        })
        .unwrap_or_default();
    let mut password = [0u8; 32];
    getrandom::fill(&mut password).map_err(|e| AppError::Internal(format!("getrandom: {e}")))?;
    argon2
        .hash_password(&password)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing the stand-in: {e}")))
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

/// The user `user_id` if it exists and is active (SimpleJWT's codes
/// otherwise). A disabled account found here has its open sockets closed
/// with 4003 at once (the periodic check would close them shortly anyway).
pub async fn active_user(state: &AppState, user_id: i64) -> Result<UserRow, AppError> {
    match db::user_by_id(&state.db, user_id).await {
        Ok(Some(user)) if user.is_active => Ok(user),
        Ok(Some(_)) => Err({
            state.close_sockets_of_inactive(user_id);
            AppError::Unauthorized {
                detail: "User is inactive".to_owned(),
                code: "user_inactive",
            }
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
    fn a_shifted_token_clock_issues_and_checks_on_its_own_time() {
        let behind = tokens(Duration::from_secs(300)).with_clock_offset(-3600);
        let access = behind.issue(TokenKind::Access, 3).unwrap();
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            &access,
            &DecodingKey::from_secret(b"test-secret"),
            &{
                let mut v = Validation::new(jsonwebtoken::Algorithm::HS256);
                v.validate_exp = false;
                v
            },
        )
        .unwrap()
        .claims;
        let real_now = chrono::Utc::now().timestamp();
        let iat = claims["iat"].as_i64().unwrap();
        assert!((real_now - 3600 - iat).abs() <= 2, "iat {iat}");
        // Valid on its own clock, expired on the real one.
        assert_eq!(behind.verify(&access, TokenKind::Access), Ok(3));
        let real = tokens(Duration::from_secs(300));
        assert_eq!(
            real.verify(&access, TokenKind::Access),
            Err(TokenError::Expired)
        );
        // A clock ahead takes a real token for expired once its life is past.
        let ahead = tokens(Duration::from_secs(300)).with_clock_offset(600);
        let fresh = real.issue(TokenKind::Access, 3).unwrap();
        assert_eq!(
            ahead.verify(&fresh, TokenKind::Access),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn the_stand_in_hash_has_the_accounts_parameters() {
        let fast = PasswordHashing::insecure_fast().hash("pw").unwrap();
        let stand_in = stand_in_for(Some(&fast)).unwrap();
        let params = |phc: &str| {
            let hash = PasswordHash::new(phc).unwrap();
            (
                hash.algorithm.to_string(),
                hash.version,
                hash.params.to_string(),
                hash.hash.map(|h| h.len()),
            )
        };
        assert_eq!(params(&stand_in), params(&fast));
        assert_ne!(stand_in, fast);
        assert!(!verify_password("pw", &stand_in));
        // No account yet, or an unreadable hash: `user add`'s parameters.
        let full = PasswordHashing::default().hash("pw").unwrap();
        for reference in [None, Some("not a hash")] {
            assert_eq!(params(&stand_in_for(reference).unwrap()), params(&full));
        }
    }

    #[tokio::test]
    async fn password_checks_past_the_queue_are_busy_at_once() {
        let metrics = Arc::new(Metrics::default());
        let checks = Arc::new(PasswordChecks::new(1, 1, Arc::clone(&metrics)));
        let phc = PasswordHashing::default().hash("pw").unwrap();
        // Hold the one worker: the next two checks wait (worker + queue).
        let held = Arc::clone(&checks.running).acquire_owned().await.unwrap();
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let checks = Arc::clone(&checks);
                let phc = phc.clone();
                tokio::spawn(async move { checks.verify("pw".into(), phc).await })
            })
            .collect();
        while checks.admitted() < 2 {
            tokio::task::yield_now().await;
        }
        // A third is refused at once.
        assert_eq!(
            checks.verify("pw".into(), phc.clone()).await,
            Err(CheckError::Busy)
        );
        drop(held);
        for waiter in waiting {
            assert_eq!(waiter.await.unwrap(), Ok(true));
        }
        assert_eq!(checks.admitted(), 0);
        assert_eq!(checks.verify("nope".into(), phc).await, Ok(false));
        assert_eq!(metrics.password_checks.get(), 3);
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
