//! Time the client can trust: its own clock, which never runs backwards, and token
//! lifetimes measured on it.
//!
//! A token's `exp` and `iat` are on the *server's* clock; the browser's clock may be
//! minutes, hours or a day off. So a token is judged by its own lifetime (`exp − iat`,
//! both on the server's clock), counted from the moment it was received on ours. The
//! local clock never declares a token expired: that is the server's verdict (401 or
//! close 4001). Refreshing ahead of the estimated expiry is fine; refusing to use a
//! token is not.
//!
//! Every refresh goes through [`RefreshGate`], a floor no server answer can break: two
//! successful refreshes at least half the token's lifetime and never less than
//! [`MIN_REFRESH_GAP`] apart; failed ones back off (1 s, 2 s, 4 s … a minute), longer
//! when the server says so with `Retry-After`.

use std::time::Duration;

use crate::jwt::{Claims, decode_claims};
use crate::time::Timestamp;
use crate::wire::TokenPair;

/// The shortest time between two successful refreshes (and between a refresh and the
/// next attempt, whatever the token's claims say).
pub const MIN_REFRESH_GAP: Duration = Duration::from_secs(5);
/// The first delay after a failed refresh; it doubles per failure up to
/// [`MAX_REFRESH_BACKOFF`].
pub const REFRESH_BACKOFF_BASE: Duration = Duration::from_secs(1);
/// The longest delay after failed refreshes (unless `Retry-After` asks for longer).
pub const MAX_REFRESH_BACKOFF: Duration = Duration::from_secs(60);
/// How far ahead of its estimated expiry a token is refreshed, at most.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// The longest an access token without `iat` is believed to live.
const MAX_PLAUSIBLE_ACCESS: Duration = Duration::from_secs(24 * 3600);
/// The longest a refresh token without `iat` is believed to live.
const MAX_PLAUSIBLE_REFRESH: Duration = Duration::from_secs(400 * 24 * 3600);

/// The client's own clock: the adapter's readings made monotonic.
///
/// The adapter passes its clock with every input. When a reading goes back (an NTP or
/// manual correction, a wrong monotonic source), no time is taken to have passed and the
/// clock goes on from where it was; when it jumps ahead, the time is taken as passed
/// (as after a sleep). Deadlines are kept on this clock, so they neither freeze after a
/// step back nor depend on the zone; [`Clock::adapter_time`] turns one back into the
/// adapter's reading for the timers and alarms it sets.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Clock {
    /// The adapter's last reading.
    last: Option<Timestamp>,
    /// The client's time at that reading.
    now: Timestamp,
}

impl Clock {
    /// Takes the adapter's reading and returns the client's time.
    pub(super) fn tick(&mut self, reading: Timestamp) -> Timestamp {
        self.now = self.peek(reading);
        self.last = Some(reading);
        self.now
    }

    /// The client's time at the last reading.
    pub(super) fn latest(&self) -> Timestamp {
        self.now
    }

    /// The client's time at `reading`, without taking it.
    pub(super) fn peek(&self, reading: Timestamp) -> Timestamp {
        match self.last {
            None => reading,
            Some(last) => self.now + reading.saturating_since(last),
        }
    }

    /// How far the client's time is ahead of the adapter's (ms): 0 unless the
    /// adapter's clock went back (it is never behind).
    pub(super) fn shift_ms(&self) -> u64 {
        self.last.map_or(0, |last| {
            self.now.as_millis().saturating_sub(last.as_millis())
        })
    }

    /// The adapter's reading at the client's time `at`.
    pub(super) fn adapter_time(&self, at: Timestamp) -> Timestamp {
        match self.last {
            None => at,
            Some(_) => Timestamp::from_millis(at.as_millis().saturating_sub(self.shift_ms())),
        }
    }
}

/// One token's timing on the client's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TokenTiming {
    /// When the client got it.
    pub(super) received: Timestamp,
    /// How long the server means it to live, when that can be told.
    pub(super) life: Option<Duration>,
}

impl TokenTiming {
    /// The timing of a token with `claims`, received at `received`. `server_now` is the
    /// client's best estimate of the server's clock at `received` (for a token without
    /// `iat`), when it has one.
    pub(super) fn new(
        claims: Option<&Claims>,
        received: Timestamp,
        server_now: Option<Timestamp>,
        max_plausible: Duration,
    ) -> TokenTiming {
        let exp = claims.and_then(Claims::expires_at);
        let iat = claims.and_then(Claims::issued_at);
        let life = match (exp, iat) {
            (Some(exp), Some(iat)) if exp > iat => Some(exp.saturating_since(iat)),
            // Without `iat`, `exp` is read against the server's clock as best known
            // (or ours), and believed only when the life it gives is plausible.
            (Some(exp), None) => {
                let left = exp.saturating_since(server_now.unwrap_or(received));
                (!left.is_zero() && left <= max_plausible).then_some(left)
            }
            _ => None,
        };
        TokenTiming { received, life }
    }

    /// When it is estimated to run out (`None`: unknown; the server will say).
    pub(super) fn expires(&self) -> Option<Timestamp> {
        self.life.map(|l| self.received + l)
    }

    /// When to refresh it ahead of expiry: 30 s before, but never before three
    /// quarters of its life, nor sooner than [`MIN_REFRESH_GAP`] after receipt.
    pub(super) fn refresh_at(&self) -> Option<Timestamp> {
        let life = self.life?;
        let ahead = life
            .saturating_sub(REFRESH_MARGIN)
            .max(life.mul_f64(0.75))
            .max(MIN_REFRESH_GAP);
        Some(self.received + ahead)
    }

    /// Whether its estimated life is (nearly) over: worth refreshing before use.
    pub(super) fn looks_spent(&self, now: Timestamp) -> bool {
        self.expires()
            .is_some_and(|exp| now + Duration::from_secs(5) >= exp)
    }
}

/// The signed-in state: the tokens and what is known of them.
pub(super) struct Auth {
    pub(super) tokens: TokenPair,
    pub(super) access: TokenTiming,
    pub(super) refresh: TokenTiming,
    /// The refresh token's `exp` claim: which refresh token it is (for "warn once").
    pub(super) refresh_exp_claim: Option<Timestamp>,
    pub(super) user_id: Option<String>,
    pub(super) username: Option<String>,
    /// The refresh token (by its `exp` claim) already warned about.
    pub(super) warned_expiry: Option<Timestamp>,
    /// The server accepted the current access token (a read succeeded or the socket
    /// carried a message): a later 401 is news, not a sign of a bad refresh.
    pub(super) proven: bool,
    /// The current access token came from a refresh (not from sign-in or storage).
    pub(super) refreshed: bool,
}

impl Auth {
    /// The state for `tokens`: the access token received at `access_received`, the
    /// refresh token at `refresh_received`; `server_now` as in [`TokenTiming::new`].
    pub(super) fn new(
        tokens: TokenPair,
        access_received: Timestamp,
        refresh_received: Timestamp,
        server_now: Option<Timestamp>,
    ) -> Auth {
        let access = decode_claims(&tokens.access).ok();
        let refresh = decode_claims(&tokens.refresh).ok();
        Auth {
            access: TokenTiming::new(
                access.as_ref(),
                access_received,
                server_now,
                MAX_PLAUSIBLE_ACCESS,
            ),
            refresh: TokenTiming::new(
                refresh.as_ref(),
                refresh_received,
                server_now,
                MAX_PLAUSIBLE_REFRESH,
            ),
            refresh_exp_claim: refresh.as_ref().and_then(Claims::expires_at),
            user_id: access.and_then(|c| c.user_id),
            tokens,
            username: None,
            warned_expiry: None,
            proven: false,
            refreshed: false,
        }
    }
}

/// The floor under every token refresh.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RefreshGate {
    /// No refresh starts before this.
    not_before: Option<Timestamp>,
    /// Failed refreshes (or fresh tokens refused) in a row.
    failures: u32,
}

impl RefreshGate {
    /// Whether a refresh may start now.
    pub(super) fn open(&self, now: Timestamp) -> bool {
        self.not_before.is_none_or(|t| t <= now)
    }

    /// When the gate opens (`None`: open).
    pub(super) fn opens_at(&self) -> Option<Timestamp> {
        self.not_before
    }

    /// A refresh starts: none other before [`REFRESH_BACKOFF_BASE`], whatever happens.
    pub(super) fn started(&mut self, now: Timestamp) {
        self.not_before = Some(now + REFRESH_BACKOFF_BASE);
    }

    /// A refresh brought a token living `life`: the next one waits at least half of it.
    pub(super) fn succeeded(&mut self, now: Timestamp, life: Option<Duration>) {
        self.failures = 0;
        let gap = life.map_or(MIN_REFRESH_GAP, |l| (l / 2).max(MIN_REFRESH_GAP));
        self.not_before = Some(now + gap);
    }

    /// A refresh failed, or the token it brought was refused at once: back off, at
    /// least as long as `retry_after` asks.
    pub(super) fn failed(&mut self, now: Timestamp, retry_after: Option<Duration>) {
        self.failures = self.failures.saturating_add(1);
        let shift = (self.failures - 1).min(10);
        let backoff = REFRESH_BACKOFF_BASE
            .saturating_mul(1 << shift)
            .min(MAX_REFRESH_BACKOFF);
        let wait = retry_after.map_or(backoff, |r| r.max(backoff));
        let at = now + wait;
        self.not_before = Some(self.not_before.map_or(at, |t| t.max(at)));
    }

    /// The token works: failures are forgotten (the floor after a success stays).
    pub(super) fn proven(&mut self) {
        self.failures = 0;
    }

    /// Re-bases the floor after the worker restarted: a floor further ahead than the
    /// longest wait is a clock that went back, and is cut to that.
    pub(super) fn restore(not_before: Option<Timestamp>, now: Timestamp) -> RefreshGate {
        let cap = now + crate::cache::MAX_RETRY_AFTER;
        RefreshGate {
            not_before: not_before.map(|t| t.min(cap)),
            failures: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::decode_claims;
    use crate::sim::token;

    const T: Timestamp = Timestamp(1_795_672_800_000);

    fn timing(token_text: &str, received: Timestamp) -> TokenTiming {
        let claims = decode_claims(token_text).ok();
        TokenTiming::new(claims.as_ref(), received, None, MAX_PLAUSIBLE_ACCESS)
    }

    #[test]
    fn a_token_lives_exp_minus_iat_from_receipt_whatever_our_clock_says() {
        let five = Duration::from_secs(300);
        // Issued by a server whose clock is an hour behind ours, a day ahead, or equal.
        for server in [
            T - Duration::from_secs(3600),
            T + Duration::from_secs(86_400),
            T,
        ] {
            let t = timing(&token("access", "1", server, server + five), T);
            assert_eq!(t.life, Some(five));
            assert_eq!(t.expires(), Some(T + five));
            assert_eq!(t.refresh_at(), Some(T + Duration::from_secs(270)));
            assert!(!t.looks_spent(T + Duration::from_secs(200)));
        }
    }

    #[test]
    fn short_tokens_are_refreshed_at_three_quarters_and_never_within_the_floor() {
        let t = timing(&token("access", "1", T, T + Duration::from_secs(10)), T);
        assert_eq!(t.refresh_at(), Some(T + Duration::from_millis(7_500)));
        let t = timing(&token("access", "1", T, T + Duration::from_secs(2)), T);
        assert_eq!(t.refresh_at(), Some(T + MIN_REFRESH_GAP));
    }

    #[test]
    fn without_iat_exp_is_believed_only_when_plausible() {
        let exp_only = |exp: Timestamp| {
            crate::jwt::unsigned_token(&format!(r#"{{"exp": {}}}"#, exp.as_millis() / 1000))
        };
        let t = timing(&exp_only(T + Duration::from_secs(300)), T);
        assert_eq!(t.life, Some(Duration::from_secs(300)));
        // Already past on our clock, or years ahead: unknown, the server decides.
        assert_eq!(timing(&exp_only(T - Duration::from_secs(60)), T).life, None);
        let far = T + Duration::from_secs(10 * 86_400);
        assert_eq!(timing(&exp_only(far), T).life, None);
        // An `exp` before `iat` says nothing.
        let odd = token("access", "1", T, T - Duration::from_secs(1));
        assert_eq!(timing(&odd, T).life, None);
        assert!(!timing(&odd, T).looks_spent(T + Duration::from_secs(86_400)));
    }

    #[test]
    fn the_gate_keeps_a_floor_and_backs_off() {
        let mut g = RefreshGate::default();
        assert!(g.open(T));
        g.started(T);
        assert!(!g.open(T));
        g.succeeded(T, Some(Duration::from_secs(10)));
        assert_eq!(g.opens_at(), Some(T + MIN_REFRESH_GAP));
        g.succeeded(T, Some(Duration::from_secs(300)));
        assert_eq!(g.opens_at(), Some(T + Duration::from_secs(150)));
        let mut g = RefreshGate::default();
        let waits: Vec<u64> = (0..9)
            .map(|_| {
                g.failed(T, None);
                g.opens_at().unwrap().saturating_since(T).as_secs()
            })
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        g.failed(T, Some(Duration::from_secs(600)));
        assert_eq!(g.opens_at(), Some(T + Duration::from_secs(600)));
    }

    #[test]
    fn the_clock_never_runs_back_and_maps_deadlines_to_the_adapter() {
        let mut c = Clock::default();
        assert_eq!(c.tick(T), T);
        let t1 = c.tick(T + Duration::from_secs(10));
        assert_eq!(t1, T + Duration::from_secs(10));
        // The adapter's clock steps back an hour: no time passed, and it goes on.
        let back = T + Duration::from_secs(10) - Duration::from_secs(3600);
        assert_eq!(c.tick(back), t1);
        assert_eq!(
            c.tick(back + Duration::from_secs(5)),
            t1 + Duration::from_secs(5)
        );
        // A deadline 20 s ahead of the client's time is 20 s ahead of the adapter's.
        let deadline = c.tick(back + Duration::from_secs(5)) + Duration::from_secs(20);
        assert_eq!(c.adapter_time(deadline), back + Duration::from_secs(25));
        // A jump ahead is time passed.
        let ahead = back + Duration::from_secs(5) + Duration::from_secs(7200);
        assert_eq!(c.tick(ahead), t1 + Duration::from_secs(7205));
    }
}
