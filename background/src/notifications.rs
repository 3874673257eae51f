//! `Notify` and `ClearNotification`: browser notifications, created or updated in
//! place as the core says.

use quizpulse::notify::Notification;
use quizpulse_chrome::i18n::render;

use crate::chrome::{self, ChromeError};

/// The icon every notification shows.
const ICON: &str = "icons/icon-128.png";

/// Shows `notification` in the user's language: `chrome.notifications.update` when it
/// replaces one issued before (so it does not pop up again), else `create`. An update
/// of one the user already closed creates it afresh.
pub async fn show(notification: &Notification) -> Result<(), ChromeError> {
    let (title, message) = (render(&notification.title), render(&notification.message));
    let options = chrome::object(&[
        ("type", &"basic".into()),
        ("iconUrl", &ICON.into()),
        ("title", &title.into()),
        ("message", &message.into()),
        (
            "requireInteraction",
            &notification.require_interaction.into(),
        ),
        ("silent", &notification.update.into()),
    ]);
    if notification.update && chrome::notify(&notification.id, &options, true).await? {
        return Ok(());
    }
    chrome::notify(&notification.id, &options, false).await?;
    Ok(())
}

/// Removes notification `id`.
pub async fn clear(id: &str) -> Result<(), ChromeError> {
    chrome::notification_clear(id).await
}
