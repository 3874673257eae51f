//! The client's timer table (as in `quinn-proto`): one deadline per kind of timer.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    Reconnect = 0,
    ConnectTimeout = 1,
    Keepalive = 2,
    PongDeadline = 3,
    Stable = 4,
    TokenRefresh = 5,
    ExpiryWarning = 6,
    /// The trailing publish of a throttled snapshot.
    Publish = 7,
    /// The trailing badge of a throttled burst.
    Badge = 8,
    /// The trailing write of the event log.
    LogWrite = 9,
}

pub(super) const TIMERS: [Timer; 10] = [
    Timer::Reconnect,
    Timer::ConnectTimeout,
    Timer::Keepalive,
    Timer::PongDeadline,
    Timer::Stable,
    Timer::TokenRefresh,
    Timer::ExpiryWarning,
    Timer::Publish,
    Timer::Badge,
    Timer::LogWrite,
];

#[derive(Debug, Clone, Default)]
pub(super) struct TimerTable([Option<Timestamp>; TIMERS.len()]);

impl TimerTable {
    pub(super) fn set(&mut self, t: Timer, at: Timestamp) {
        self.0[t as usize] = Some(at);
    }
    pub(super) fn stop(&mut self, t: Timer) {
        self.0[t as usize] = None;
    }
    pub(super) fn get(&self, t: Timer) -> Option<Timestamp> {
        self.0[t as usize]
    }
    pub(super) fn expired(&self, t: Timer, now: Timestamp) -> bool {
        self.0[t as usize].is_some_and(|at| at <= now)
    }
    pub(super) fn next(&self) -> Option<Timestamp> {
        self.0.iter().flatten().min().copied()
    }
}
