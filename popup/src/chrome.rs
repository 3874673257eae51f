//! The few `chrome.*` extension APIs the pages use, as typed async functions.

use js_sys::{Object, Promise, Reflect};
use quizpulse::messages::{Command, WorkerMessage};

use crate::model::Stored;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "session"], js_name = get)]
    fn session_get(key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "storage", "local"], js_name = get)]
    fn local_get(key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = openOptionsPage)]
    fn open_options_page_raw() -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = sendMessage)]
    fn send_message_raw(message: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = getManifest)]
    fn get_manifest_raw() -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "permissions"], js_name = contains)]
    fn permissions_contains_raw(permissions: &Object) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "permissions"], js_name = request)]
    fn permissions_request_raw(permissions: &Object) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["chrome", "runtime"], js_name = connect)]
    fn runtime_connect(info: &Object) -> Result<Port, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
    fn clipboard_write_text(text: &str) -> Result<Promise, JsValue>;

    /// A `chrome.runtime.Port` to the service worker.
    #[derive(Clone)]
    pub type Port;

    #[wasm_bindgen(method, catch, js_name = postMessage)]
    fn post_message(this: &Port, message: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(method, getter, js_name = onMessage)]
    fn on_message(this: &Port) -> PortEvent;

    #[wasm_bindgen(method, getter, js_name = onDisconnect)]
    fn on_disconnect(this: &Port) -> PortEvent;

    type PortEvent;

    #[wasm_bindgen(method, js_name = addListener)]
    fn add_listener(this: &PortEvent, listener: &js_sys::Function);

    /// The page's `TextEncoder`.
    #[wasm_bindgen(js_name = TextEncoder)]
    type Utf8Encoder;

    #[wasm_bindgen(constructor, js_class = TextEncoder)]
    fn new() -> Utf8Encoder;

    #[wasm_bindgen(method, js_class = TextEncoder)]
    fn encode(this: &Utf8Encoder, text: &js_sys::JsString) -> js_sys::Uint8Array;
}

/// A JS string's text, or `None` for anything else. The browser encodes it to UTF-8
/// and one native copy brings it into wasm: wasm-bindgen's own string copy walks the
/// text a character at a time in JS, which on a freshly opened page costs milliseconds
/// for a snapshot of a few KB (and grows with it).
pub fn js_text(value: &JsValue) -> Option<String> {
    let text = value.dyn_ref::<js_sys::JsString>()?;
    let bytes = Utf8Encoder::new().encode(text).to_vec();
    // `TextEncoder` always writes UTF-8; the slow copy is only a fallback.
    String::from_utf8(bytes).ok().or_else(|| value.as_string())
}

/// A failed extension API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChromeError {
    /// The browser rejected or threw; the text is what it said.
    #[error("{api} failed: {message}")]
    Api {
        /// Which API.
        api: &'static str,
        /// The browser's error message.
        message: String,
    },
    /// The value came back in a shape the page does not understand.
    #[error("{api} returned unexpected data: {message}")]
    Data {
        /// Which API.
        api: &'static str,
        /// What did not fit.
        message: String,
    },
}

fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| format!("{err:?}"))
}

async fn call(
    api: &'static str,
    promise: Result<Promise, JsValue>,
) -> Result<JsValue, ChromeError> {
    let api_err = |e: JsValue| ChromeError::Api {
        api,
        message: describe(&e),
    };
    JsFuture::from(promise.map_err(api_err)?)
        .await
        .map_err(api_err)
}
fn stored(api: &'static str, value: &JsValue) -> Result<Option<Stored>, ChromeError> {
    if value.is_undefined() {
        return Ok(None);
    }
    if let Some(text) = js_text(value) {
        return Ok(Some(Stored::Text(text)));
    }
    let text = js_sys::JSON::stringify(value).map_err(|e| ChromeError::Data {
        api,
        message: describe(&e),
    })?;
    Ok(Some(Stored::Data(String::from(text))))
}

fn json_text(api: &'static str, value: &JsValue) -> Result<String, ChromeError> {
    Ok(stored(api, value)?.map_or_else(|| "null".to_owned(), |s| s.json().to_owned()))
}

fn to_js<T: serde::Serialize>(api: &'static str, value: &T) -> Result<JsValue, ChromeError> {
    let text = serde_json::to_string(value).map_err(|e| ChromeError::Data {
        api,
        message: e.to_string(),
    })?;
    js_sys::JSON::parse(&text).map_err(|e| ChromeError::Data {
        api,
        message: describe(&e),
    })
}

fn not_bool(api: &'static str) -> ChromeError {
    ChromeError::Data {
        api,
        message: "not a boolean".into(),
    }
}

async fn area_value(
    api: &'static str,
    promise: Result<Promise, JsValue>,
    key: &str,
) -> Result<Option<Stored>, ChromeError> {
    let items = call(api, promise).await?;
    let value = Reflect::get(&items, &JsValue::from_str(key)).map_err(|e| ChromeError::Data {
        api,
        message: describe(&e),
    })?;
    stored(api, &value)
}

/// Reads one key of `chrome.storage.session`; `None` when it is not set.
pub async fn session_value(key: &str) -> Result<Option<Stored>, ChromeError> {
    area_value("chrome.storage.session.get", session_get(key), key).await
}

/// What a page's loader read of `chrome.storage.session` before the wasm was ready:
/// `chrome.storage.session.get(key)`'s answer (`{[key]: value}`), or `{error: message}`
/// when the read failed. `None` when the loader read nothing (`undefined`).
pub fn preread_session_value(
    items: &JsValue,
    key: &str,
) -> Option<Result<Option<Stored>, ChromeError>> {
    const API: &str = "chrome.storage.session.get";
    if items.is_undefined() || items.is_null() {
        return None;
    }
    let field = |name: &str| {
        Reflect::get(items, &JsValue::from_str(name)).map_err(|e| ChromeError::Data {
            api: API,
            message: describe(&e),
        })
    };
    Some(match field("error") {
        Ok(error) if !error.is_undefined() => Err(ChromeError::Api {
            api: API,
            message: describe(&error),
        }),
        Ok(_) => field(key).and_then(|value| stored(API, &value)),
        Err(err) => Err(err),
    })
}

/// Reads one key of `chrome.storage.local`; `None` when it is not set.
pub async fn local_value(key: &str) -> Result<Option<Stored>, ChromeError> {
    area_value("chrome.storage.local.get", local_get(key), key).await
}

/// Opens the extension's options page (focusing it if it is already open).
pub async fn open_options_page() -> Result<(), ChromeError> {
    call("chrome.runtime.openOptionsPage", open_options_page_raw())
        .await
        .map(|_| ())
}

/// Sends a command to the service worker as a one-shot message and returns its answer.
pub async fn send_message(command: &Command) -> Result<WorkerMessage, ChromeError> {
    const API: &str = "chrome.runtime.sendMessage";
    let message = to_js(API, command)?;
    let answer = call(API, send_message_raw(&message)).await?;
    crate::model::read_worker_message(&json_text(API, &answer)?)
        .map_err(|message| ChromeError::Data { api: API, message })
}

/// The origins object `chrome.permissions` takes: `{origins: [pattern]}`.
fn origins(api: &'static str, pattern: &str) -> Result<Object, ChromeError> {
    let request = Object::new();
    let list = js_sys::Array::of1(&JsValue::from_str(pattern));
    Reflect::set(&request, &JsValue::from_str("origins"), &list).map_err(|e| ChromeError::Api {
        api,
        message: describe(&e),
    })?;
    Ok(request)
}

/// Whether the extension holds host access for a match pattern (`https://host/*`).
pub async fn has_host_access(pattern: &str) -> Result<bool, ChromeError> {
    const API: &str = "chrome.permissions.contains";
    let request = origins(API, pattern)?;
    let granted = call(API, permissions_contains_raw(&request)).await?;
    granted.as_bool().ok_or_else(|| not_bool(API))
}

/// Asks the user for host access to `pattern`. Must be called from a click (a user
/// gesture) before any `await`: the request is made synchronously, the answer awaited.
pub fn request_host_access(
    pattern: &str,
) -> impl Future<Output = Result<bool, ChromeError>> + use<> {
    const API: &str = "chrome.permissions.request";
    let promise = origins(API, pattern).map(|request| permissions_request_raw(&request));
    async move {
        let granted = call(API, promise?).await?;
        granted.as_bool().ok_or_else(|| not_bool(API))
    }
}

/// Copies text to the clipboard.
pub async fn copy_text(text: &str) -> Result<(), ChromeError> {
    call("navigator.clipboard.writeText", clipboard_write_text(text))
        .await
        .map(|_| ())
}

/// Connects a port to the service worker. `on_message` gets every message posted to
/// it; `on_disconnect` runs once when the worker goes away.
pub fn connect(
    name: &str,
    on_message: impl FnMut(JsValue) + 'static,
    on_disconnect: impl FnMut() + 'static,
) -> Result<Port, ChromeError> {
    const API: &str = "chrome.runtime.connect";
    let info = Object::new();
    Reflect::set(&info, &JsValue::from_str("name"), &JsValue::from_str(name)).map_err(|e| {
        ChromeError::Api {
            api: API,
            message: describe(&e),
        }
    })?;
    let port = runtime_connect(&info).map_err(|e| ChromeError::Api {
        api: API,
        message: describe(&e),
    })?;
    let message = Closure::<dyn FnMut(JsValue)>::new(on_message);
    port.on_message()
        .add_listener(message.as_ref().unchecked_ref());
    let disconnect = Closure::<dyn FnMut()>::new(on_disconnect);
    port.on_disconnect()
        .add_listener(disconnect.as_ref().unchecked_ref());
    // The listeners live as long as the page.
    message.forget();
    disconnect.forget();
    Ok(port)
}

/// Posts a command on a port.
pub fn post(port: &Port, command: &Command) -> Result<(), ChromeError> {
    const API: &str = "Port.postMessage";
    let message = to_js(API, command)?;
    port.post_message(&message).map_err(|e| ChromeError::Api {
        api: API,
        message: describe(&e),
    })
}

/// A port message as JSON text.
pub fn message_text(value: &JsValue) -> Result<String, ChromeError> {
    json_text("Port.onMessage", value)
}

/// The page's `localStorage`, for the popup's own UI state only.
pub fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The extension's manifest, as JSON.
pub fn manifest() -> Result<serde_json::Value, ChromeError> {
    const API: &str = "chrome.runtime.getManifest";
    let value = get_manifest_raw().map_err(|e| ChromeError::Api {
        api: API,
        message: describe(&e),
    })?;
    serde_json::from_str(&json_text(API, &value)?).map_err(|e| ChromeError::Data {
        api: API,
        message: e.to_string(),
    })
}
