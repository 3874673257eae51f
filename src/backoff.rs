//! Reconnect delays: five quick attempts with exponential backoff and full jitter
//! (the seed's "max 5 attempts"), then a slow retry every 30 s to 5 min instead of
//! giving up (woken by `chrome.alarms`, whose floor is 30 s).

use std::time::Duration;

use crate::rng::Rng;

/// The reconnect policy's numbers. [`Backoff::default`] is the design brief's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    /// How many quick retries before switching to the slow retry (5).
    pub quick_attempts: u32,
    /// The ceiling of the first quick retry's delay (1 s); it doubles per attempt.
    pub base: Duration,
    /// The ceiling no quick delay exceeds (30 s).
    pub quick_cap: Duration,
    /// The shortest slow-retry delay (30 s).
    pub slow_min: Duration,
    /// The longest slow-retry delay (5 min).
    pub slow_max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            quick_attempts: 5,
            base: Duration::from_secs(1),
            quick_cap: Duration::from_secs(30),
            slow_min: Duration::from_secs(30),
            slow_max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The ceiling of quick retry `attempt` (1-based): `min(cap, base * 2^(attempt-1))`.
    pub fn quick_ceiling(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(20);
        self.base.saturating_mul(1 << shift).min(self.quick_cap)
    }

    /// The delay before quick retry `attempt` (1-based): full jitter, uniform in
    /// `0..=quick_ceiling(attempt)`.
    pub fn quick_delay(&self, attempt: u32, rng: &mut Rng) -> Duration {
        let ceiling = self.quick_ceiling(attempt).as_millis() as u64;
        Duration::from_millis(rng.below_or_eq(ceiling))
    }

    /// The delay before slow retry `n` (0-based): the ceiling `min(slow_max, slow_min * 2^n)`,
    /// jittered uniformly over its upper quarter and never below `slow_min`.
    pub fn slow_delay(&self, n: u32, rng: &mut Rng) -> Duration {
        let shift = n.min(20);
        let ceiling = self.slow_min.saturating_mul(1 << shift).min(self.slow_max);
        let hi = ceiling.as_millis() as u64;
        let lo = (hi / 4 * 3).max(self.slow_min.as_millis() as u64);
        Duration::from_millis(rng.between(lo, hi))
    }

    /// A "reconnect soon" delay for a server going away or restarting (close codes
    /// 1001, 1012, 1013): 1–5 s, spread so that every client of a restarting server
    /// does not come back in the same millisecond.
    pub fn soon_delay(&self, rng: &mut Rng) -> Duration {
        Duration::from_millis(rng.between(1_000, 5_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use proptest::prelude::{prop_assert, proptest};

    #[test]
    fn quick_ceilings_double_from_one_second() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=6).map(|a| b.quick_ceiling(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30]);
    }

    #[test]
    fn full_jitter_uses_the_whole_range() {
        let b = Backoff::default();
        let mut rng = Rng::new(1);
        let delays: Vec<Duration> = (0..200).map(|_| b.quick_delay(4, &mut rng)).collect();
        assert!(delays.iter().any(|d| *d < Duration::from_secs(2)));
        assert!(delays.iter().any(|d| *d > Duration::from_secs(6)));
    }

    proptest! {
        #[test]
        fn backoff_delays_stay_within_bounds(seed: u64, attempt in 0u32..100, n in 0u32..100) {
            let b = Backoff::default();
            let mut rng = Rng::new(seed);
            let q = b.quick_delay(attempt, &mut rng);
            prop_assert!(q <= b.quick_ceiling(attempt));
            prop_assert!(q <= b.quick_cap);
            let s = b.slow_delay(n, &mut rng);
            prop_assert!(s >= b.slow_min && s <= b.slow_max);
            let soon = b.soon_delay(&mut rng);
            prop_assert!(soon >= Duration::from_secs(1) && soon <= Duration::from_secs(5));
        }
    }
}
