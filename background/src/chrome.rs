//! The `chrome.*` calls the worker makes, as typed async functions over the raw
//! bindings. Each returns [`ChromeError`] with the browser's own words on failure.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "local"], js_name = get)]
    fn local_get(keys: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "local"], js_name = set)]
    fn local_set(items: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = get)]
    fn session_get(keys: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = set)]
    fn session_set(items: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "action"], js_name = setBadgeText)]
    fn action_set_badge_text(details: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "action"], js_name = setBadgeBackgroundColor)]
    fn action_set_badge_background_color(details: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "action"], js_name = setTitle)]
    fn action_set_title(details: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "alarms"], js_name = create)]
    fn alarms_create(name: &str, info: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "alarms"], js_name = clear)]
    fn alarms_clear(name: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "notifications"], js_name = create)]
    fn notifications_create(id: &str, options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "notifications"], js_name = update)]
    fn notifications_update(id: &str, options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "notifications"], js_name = clear)]
    fn notifications_clear(id: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "permissions"], js_name = contains)]
    fn permissions_contains(permissions: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = query)]
    fn tabs_query(query: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = update)]
    fn tabs_update(tab: f64, properties: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "tabs"], js_name = create)]
    fn tabs_create(properties: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "windows"], js_name = update)]
    fn windows_update(window: f64, properties: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "scripting"], js_name = getRegisteredContentScripts)]
    fn scripting_get_registered(filter: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "scripting"], js_name = registerContentScripts)]
    fn scripting_register(scripts: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "scripting"], js_name = unregisterContentScripts)]
    fn scripting_unregister(filter: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "scripting"], js_name = executeScript)]
    fn scripting_execute(injection: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout_raw(callback: &Function, ms: f64) -> f64;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout_raw(handle: f64);
}

/// A failed extension API call: which API, and what the browser said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{api} failed: {message}")]
pub struct ChromeError {
    /// Which API.
    pub api: &'static str,
    /// The browser's message.
    pub message: String,
}

/// The message of a thrown JS value (an `Error`'s message, a string, or its debug form).
pub fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| format!("{err:?}"))
}

async fn call(
    api: &'static str,
    promise: Result<Promise, JsValue>,
) -> Result<JsValue, ChromeError> {
    let fail = |e: JsValue| ChromeError {
        api,
        message: describe(&e),
    };
    JsFuture::from(promise.map_err(fail)?).await.map_err(fail)
}

/// A plain JS object with these properties (the options objects `chrome.*` takes;
/// built in place, with no JSON text in between).
pub fn object(properties: &[(&str, &JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (name, value) in properties {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

/// A JS array of strings.
pub fn strings(items: &[&str]) -> JsValue {
    items
        .iter()
        .map(|item| JsValue::from_str(item))
        .collect::<js_sys::Array>()
        .into()
}

/// JSON text as a JS value; `undefined` if it is not JSON (never the case for text
/// this crate serialised itself).
pub fn json_text(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

/// A JS value as JSON text (`JSON.stringify`), when it has one.
pub fn stringify(value: &JsValue) -> Option<String> {
    js_sys::JSON::stringify(value).ok().map(String::from)
}

/// Reads `keys` from `chrome.storage.local` (`session`: `chrome.storage.session`):
/// the items object, as the browser returns it.
pub async fn storage_get(session: bool, keys: &[&str]) -> Result<JsValue, ChromeError> {
    let keys = strings(keys);
    if session {
        call("chrome.storage.session.get", session_get(&keys)).await
    } else {
        call("chrome.storage.local.get", local_get(&keys)).await
    }
}

/// Writes `items` into `chrome.storage.local` (`session`: `chrome.storage.session`).
pub async fn storage_set(session: bool, items: &JsValue) -> Result<(), ChromeError> {
    if session {
        call("chrome.storage.session.set", session_set(items)).await?;
    } else {
        call("chrome.storage.local.set", local_set(items)).await?;
    }
    Ok(())
}

/// Sets the toolbar badge's text, colour and tooltip.
pub async fn set_badge(text: &str, color: &str, title: &str) -> Result<(), ChromeError> {
    call(
        "chrome.action.setBadgeText",
        action_set_badge_text(&object(&[("text", &text.into())])),
    )
    .await?;
    call(
        "chrome.action.setBadgeBackgroundColor",
        action_set_badge_background_color(&object(&[("color", &color.into())])),
    )
    .await?;
    call(
        "chrome.action.setTitle",
        action_set_title(&object(&[("title", &title.into())])),
    )
    .await?;
    Ok(())
}

/// Sets the named alarm to fire at `when` (ms since the epoch), replacing it.
pub async fn alarm_set(name: &str, when: f64) -> Result<(), ChromeError> {
    call(
        "chrome.alarms.create",
        alarms_create(name, &object(&[("when", &when.into())])),
    )
    .await
    .map(|_| ())
}

/// Clears the named alarm.
pub async fn alarm_clear(name: &str) -> Result<(), ChromeError> {
    call("chrome.alarms.clear", alarms_clear(name))
        .await
        .map(|_| ())
}

/// Creates a notification (`update`: updates the one with this id in place; when it
/// is gone already, the browser answers `false` and nothing shows).
pub async fn notify(id: &str, options: &JsValue, update: bool) -> Result<bool, ChromeError> {
    if update {
        let updated = call(
            "chrome.notifications.update",
            notifications_update(id, options),
        )
        .await?;
        Ok(updated.as_bool().unwrap_or(false))
    } else {
        call(
            "chrome.notifications.create",
            notifications_create(id, options),
        )
        .await?;
        Ok(true)
    }
}

/// Removes a notification.
pub async fn notification_clear(id: &str) -> Result<(), ChromeError> {
    call("chrome.notifications.clear", notifications_clear(id))
        .await
        .map(|_| ())
}

/// Whether the extension holds host access for the match `pattern`.
pub async fn has_host_access(pattern: &str) -> Result<bool, ChromeError> {
    let granted = call(
        "chrome.permissions.contains",
        permissions_contains(&object(&[("origins", &strings(&[pattern]))])),
    )
    .await?;
    Ok(granted.as_bool().unwrap_or(false))
}

/// One tab as `chrome.tabs.query` describes it (`url` only where the extension has
/// host access: no `tabs` permission).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tab {
    /// Tab id.
    pub id: Option<f64>,
    /// Its window.
    pub window_id: Option<f64>,
    /// Its URL, when visible to the extension.
    pub url: Option<String>,
}

/// Every tab whose URL the extension may see.
pub async fn tabs(query: &JsValue) -> Result<Vec<Tab>, ChromeError> {
    let found = call("chrome.tabs.query", tabs_query(query)).await?;
    let text = stringify(&found).unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| ChromeError {
        api: "chrome.tabs.query",
        message: e.to_string(),
    })
}

/// Activates a tab and focuses its window.
pub async fn focus_tab(tab: &Tab) -> Result<(), ChromeError> {
    if let Some(id) = tab.id {
        call(
            "chrome.tabs.update",
            tabs_update(id, &object(&[("active", &JsValue::TRUE)])),
        )
        .await?;
    }
    if let Some(window) = tab.window_id {
        call(
            "chrome.windows.update",
            windows_update(window, &object(&[("focused", &JsValue::TRUE)])),
        )
        .await?;
    }
    Ok(())
}

/// Opens `url` in a new active tab.
pub async fn open_tab(url: &str) -> Result<(), ChromeError> {
    call(
        "chrome.tabs.create",
        tabs_create(&object(&[("url", &url.into()), ("active", &JsValue::TRUE)])),
    )
    .await
    .map(|_| ())
}

/// The content scripts registered under `id`: their `matches` lists.
pub async fn registered_scripts(id: &str) -> Result<Vec<Vec<String>>, ChromeError> {
    #[derive(serde::Deserialize)]
    struct Script {
        #[serde(default)]
        matches: Vec<String>,
    }
    let found = call(
        "chrome.scripting.getRegisteredContentScripts",
        scripting_get_registered(&object(&[("ids", &strings(&[id]))])),
    )
    .await?;
    let scripts: Vec<Script> = serde_json::from_str(&stringify(&found).unwrap_or_default())
        .map_err(|e| ChromeError {
            api: "chrome.scripting.getRegisteredContentScripts",
            message: e.to_string(),
        })?;
    Ok(scripts.into_iter().map(|s| s.matches).collect())
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
        scripting_register(&js_sys::Array::of1(&script)),
    )
    .await
    .map(|_| ())
}

/// Unregisters the content script `id`.
pub async fn unregister_script(id: &str) -> Result<(), ChromeError> {
    call(
        "chrome.scripting.unregisterContentScripts",
        scripting_unregister(&object(&[("ids", &strings(&[id]))])),
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
    call(
        "chrome.scripting.executeScript",
        scripting_execute(&injection),
    )
    .await
    .map(|_| ())
}

/// `setTimeout` in the worker's global scope.
pub fn set_timeout(callback: &Function, ms: f64) -> f64 {
    set_timeout_raw(callback, ms)
}

/// `clearTimeout` in the worker's global scope.
pub fn clear_timeout(handle: f64) {
    clear_timeout_raw(handle);
}
