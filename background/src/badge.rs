//! `SetBadge`: the toolbar button's badge text, colour and tooltip.

use quizpulse::badge::Badge;

use crate::chrome::{self, ChromeError};

/// Sets all three, as the core computed them, the tooltip in the user's language.
pub async fn set(badge: &Badge) -> Result<(), ChromeError> {
    let title = quizpulse_chrome::i18n::render(&badge.title);
    chrome::set_badge(&badge.text, &badge.color, &title).await
}
