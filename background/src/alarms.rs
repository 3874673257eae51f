//! `ScheduleAlarm`: the one named alarm that wakes a sleeping worker.

use quizpulse::Timestamp;

use crate::chrome::{self, ChromeError};
use crate::driver::ALARM_NAME;

/// Sets the alarm for `at`, or clears it (`None`).
pub async fn schedule(at: Option<Timestamp>) -> Result<(), ChromeError> {
    match at {
        // Milliseconds since the epoch are exact in f64.
        Some(at) => chrome::alarm_set(ALARM_NAME, at.as_millis() as f64).await,
        None => chrome::alarm_clear(ALARM_NAME).await,
    }
}
