//! `Notify` and `ClearNotification`: browser notifications, created or updated in
//! place as the core says, in the user's language, with only the options the package's
//! browser takes ([`quizpulse_chrome::platform`]: Firefox refuses a whole `create` that
//! carries `requireInteraction` or `silent`, and has no `update`).

use quizpulse::notify::Notification;
use quizpulse_chrome::i18n::render;
use quizpulse_chrome::platform::{self, Notifications};
use wasm_bindgen::JsValue;

use crate::chrome::{self, ChromeError};

/// The icon every notification shows.
const ICON: &str = "icons/icon-128.png";

/// Shows `notification` in the user's language: `chrome.notifications.update` when it
/// replaces one issued before (so it does not pop up again), else `create`. An update
/// of one the user already closed creates it afresh; where the browser cannot update in
/// place, the `create` under the same id replaces it.
pub async fn show(notification: &Notification) -> Result<(), ChromeError> {
    let can = platform::current().notifications;
    let options = options(notification, can);
    if notification.update && can.update && chrome::notify(&notification.id, &options, true).await?
    {
        return Ok(());
    }
    chrome::notify(&notification.id, &options, false).await?;
    Ok(())
}

/// The options object, with the optional fields this browser takes.
fn options(notification: &Notification, can: Notifications) -> JsValue {
    let (title, message) = (render(&notification.title), render(&notification.message));
    let options = chrome::object(&[
        ("type", &"basic".into()),
        ("iconUrl", &ICON.into()),
        ("title", &title.into()),
        ("message", &message.into()),
    ]);
    let set = |name: &str, value: bool| {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&options, &name.into(), &value.into());
    };
    if can.keep_on_screen {
        set("requireInteraction", notification.require_interaction);
    }
    if can.silent {
        set("silent", notification.update);
    }
    options
}

/// Whether a close the browser reported is the user's: the browser's word where it
/// tells the two apart, else not (Firefox says "by the user" for every close, a time-out
/// by the system too; a notification whose group the system closed is re-created
/// rather than started anew, which is also right when the user closed it).
pub fn closed_by_user(reported: bool) -> bool {
    reported && platform::current().notifications.closed_by_user
}

/// Removes notification `id`.
pub async fn clear(id: &str) -> Result<(), ChromeError> {
    chrome::notification_clear(id).await
}
