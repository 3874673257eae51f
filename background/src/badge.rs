//! `SetBadge`: the toolbar button's badge text, colour and tooltip.

use quizpulse::badge::Badge;

use crate::chrome::{self, ChromeError};

/// Sets all three, as the core computed them.
pub async fn set(badge: &Badge) -> Result<(), ChromeError> {
    chrome::set_badge(&badge.text, &badge.color, &badge.title).await
}
