//! The `chrome.*` calls the worker makes, as typed async functions over the raw
//! bindings. Each returns [`ChromeError`] with the browser's own words on failure.

use wasm_bindgen::prelude::*;

use quizpulse_chrome::call;
pub use quizpulse_chrome::{
    ChromeError, clear_timeout, describe, json_text, object, property, set_timeout, stringify,
    strings,
};

/// Reads `keys` from `chrome.storage.local` (`session`: `chrome.storage.session`):
/// the items object, as the browser returns it.
pub async fn storage_get(session: bool, keys: &[&str]) -> Result<JsValue, ChromeError> {
    let keys = strings(keys);
    if session {
        call("chrome.storage.session.get", &[&keys]).await
    } else {
        call("chrome.storage.local.get", &[&keys]).await
    }
}

/// Writes `items` into `chrome.storage.local` (`session`: `chrome.storage.session`).
pub async fn storage_set(session: bool, items: &JsValue) -> Result<(), ChromeError> {
    if session {
        call("chrome.storage.session.set", &[items]).await?;
    } else {
        call("chrome.storage.local.set", &[items]).await?;
    }
    Ok(())
}

/// Removes `key` from `chrome.storage.local`.
pub async fn storage_remove(key: &str) -> Result<(), ChromeError> {
    call("chrome.storage.local.remove", &[&key.into()]).await?;
    Ok(())
}

/// The toolbar button's calls: `chrome.action` (Manifest V3), or
/// `chrome.browserAction` where there is no `action` (the Firefox package, Manifest V2).
struct ButtonApi {
    text: &'static str,
    color: &'static str,
    title: &'static str,
}

const ACTION: ButtonApi = ButtonApi {
    text: "chrome.action.setBadgeText",
    color: "chrome.action.setBadgeBackgroundColor",
    title: "chrome.action.setTitle",
};

const BROWSER_ACTION: ButtonApi = ButtonApi {
    text: "chrome.browserAction.setBadgeText",
    color: "chrome.browserAction.setBadgeBackgroundColor",
    title: "chrome.browserAction.setTitle",
};

/// Sets the toolbar badge's text, colour and tooltip.
pub async fn set_badge(text: &str, color: &str, title: &str) -> Result<(), ChromeError> {
    let api = if property(&quizpulse_chrome::namespace(), "action").is_object() {
        ACTION
    } else {
        BROWSER_ACTION
    };
    call(api.text, &[&object(&[("text", &text.into())])]).await?;
    call(api.color, &[&object(&[("color", &color.into())])]).await?;
    call(api.title, &[&object(&[("title", &title.into())])]).await?;
    Ok(())
}

/// Sets the named alarm to fire at `when` (ms since the epoch), replacing it.
pub async fn alarm_set(name: &str, when: f64) -> Result<(), ChromeError> {
    call(
        "chrome.alarms.create",
        &[&name.into(), &object(&[("when", &when.into())])],
    )
    .await
    .map(|_| ())
}

/// Clears the named alarm.
pub async fn alarm_clear(name: &str) -> Result<(), ChromeError> {
    call("chrome.alarms.clear", &[&name.into()])
        .await
        .map(|_| ())
}

/// Creates a notification (`update`: updates the one with this id in place; when it
/// is gone already, the browser answers `false` and nothing shows).
pub async fn notify(id: &str, options: &JsValue, update: bool) -> Result<bool, ChromeError> {
    if update {
        let updated = call("chrome.notifications.update", &[&id.into(), options]).await?;
        Ok(updated.as_bool().unwrap_or(false))
    } else {
        call("chrome.notifications.create", &[&id.into(), options]).await?;
        Ok(true)
    }
}

/// Removes a notification.
pub async fn notification_clear(id: &str) -> Result<(), ChromeError> {
    call("chrome.notifications.clear", &[&id.into()])
        .await
        .map(|_| ())
}

/// Whether the extension holds host access for the match `pattern` (as this browser
/// reads patterns: `quizpulse_chrome::platform`).
pub async fn has_host_access(pattern: &str) -> Result<bool, ChromeError> {
    let pattern = quizpulse_chrome::platform::current().pattern(pattern);
    let granted = call(
        "chrome.permissions.contains",
        &[&object(&[("origins", &strings(&[&pattern]))])],
    )
    .await?;
    Ok(granted.as_bool().unwrap_or(false))
}

/// One tab as `chrome.tabs.query` describes it (`url` only where the extension has
/// host access: no `tabs` permission).
#[derive(Debug, Clone)]
pub struct Tab {
    /// Tab id.
    pub id: Option<f64>,
    /// Its window.
    pub window_id: Option<f64>,
    /// Its URL, when visible to the extension.
    pub url: Option<String>,
}

/// The items of a JS array an API answered with (read in place: no JSON decoding).
fn list(api: &'static str, value: JsValue) -> Result<js_sys::Array, ChromeError> {
    value.dyn_into().map_err(|_| ChromeError {
        api,
        message: "the answer is not a list".into(),
    })
}

/// Every tab whose URL the extension may see.
pub async fn tabs(query: &JsValue) -> Result<Vec<Tab>, ChromeError> {
    const API: &str = "chrome.tabs.query";
    let found = list(API, call(API, &[query]).await?)?;
    Ok(found
        .iter()
        .map(|tab| Tab {
            id: property(&tab, "id").as_f64(),
            window_id: property(&tab, "windowId").as_f64(),
            url: property(&tab, "url").as_string(),
        })
        .collect())
}

/// Activates a tab and focuses its window.
pub async fn focus_tab(tab: &Tab) -> Result<(), ChromeError> {
    if let Some(id) = tab.id {
        call(
            "chrome.tabs.update",
            &[&id.into(), &object(&[("active", &JsValue::TRUE)])],
        )
        .await?;
    }
    if let Some(window) = tab.window_id {
        call(
            "chrome.windows.update",
            &[&window.into(), &object(&[("focused", &JsValue::TRUE)])],
        )
        .await?;
    }
    Ok(())
}

/// Opens `url` in a new active tab.
pub async fn open_tab(url: &str) -> Result<(), ChromeError> {
    call(
        "chrome.tabs.create",
        &[&object(&[("url", &url.into()), ("active", &JsValue::TRUE)])],
    )
    .await
    .map(|_| ())
}

/// The content scripts registered under `id`: their `matches` lists.
pub async fn registered_scripts(id: &str) -> Result<Vec<Vec<String>>, ChromeError> {
    const API: &str = "chrome.scripting.getRegisteredContentScripts";
    let found = call(API, &[&object(&[("ids", &strings(&[id]))])]).await?;
    Ok(list(API, found)?
        .iter()
        .map(|script| {
            let matches = property(&script, "matches");
            matches
                .dyn_ref::<js_sys::Array>()
                .map(|m| m.iter().filter_map(|p| p.as_string()).collect())
                .unwrap_or_default()
        })
        .collect())
}

/// Registers the content script `file` under `id` for pages matching `pattern`.
pub async fn register_script(id: &str, pattern: &str, file: &str) -> Result<(), ChromeError> {
    let script = object(&[
        ("id", &id.into()),
        ("matches", &strings(&[pattern])),
        ("js", &strings(&[file])),
        ("runAt", &"document_idle".into()),
        ("persistAcrossSessions", &JsValue::TRUE),
    ]);
    call(
        "chrome.scripting.registerContentScripts",
        &[&js_sys::Array::of1(&script)],
    )
    .await
    .map(|_| ())
}

/// Unregisters the content script `id`.
pub async fn unregister_script(id: &str) -> Result<(), ChromeError> {
    call(
        "chrome.scripting.unregisterContentScripts",
        &[&object(&[("ids", &strings(&[id]))])],
    )
    .await
    .map(|_| ())
}

/// Runs the script `file` in a tab that is already open (the script guards itself
/// against running twice).
pub async fn inject_script(tab: f64, file: &str) -> Result<(), ChromeError> {
    let injection = object(&[
        ("target", &object(&[("tabId", &tab.into())])),
        ("files", &strings(&[file])),
    ]);
    call("chrome.scripting.executeScript", &[&injection])
        .await
        .map(|_| ())
}
