//! The few `chrome.*` extension APIs the pages use, as typed async functions.

use js_sys::Reflect;
use quizpulse::json::{Json, ToJson};
use quizpulse::messages::{Command, WorkerMessage};
use quizpulse::text::k;
use quizpulse_chrome::i18n::isolate;
use quizpulse_chrome::{describe, invoke, object, settle, strings};

use crate::model::Stored;
use wasm_bindgen::prelude::*;

pub use quizpulse_chrome::Port;

#[wasm_bindgen]
extern "C" {
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

impl ChromeError {
    /// What went wrong, for people, in their language: the API's name and the
    /// browser's own words stay as they are.
    pub fn words(&self) -> String {
        let (key, api, message) = match self {
            ChromeError::Api { api, message } => (k("error_api_failed"), api, message),
            ChromeError::Data { api, message } => (k("error_api_data"), api, message),
        };
        quizpulse_chrome::i18n::tr(key, &[isolate(api), isolate(message)])
    }
}

impl From<quizpulse_chrome::ChromeError> for ChromeError {
    fn from(err: quizpulse_chrome::ChromeError) -> ChromeError {
        ChromeError::Api {
            api: err.api,
            message: err.message,
        }
    }
}

async fn call(api: &'static str, args: &[&JsValue]) -> Result<JsValue, ChromeError> {
    Ok(quizpulse_chrome::call(api, args).await?)
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

fn to_js<T: ToJson>(api: &'static str, value: &T) -> Result<JsValue, ChromeError> {
    let text = value.to_json_text();
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

async fn area_value(api: &'static str, key: &str) -> Result<Option<Stored>, ChromeError> {
    let items = call(api, &[&key.into()]).await?;
    let value = Reflect::get(&items, &JsValue::from_str(key)).map_err(|e| ChromeError::Data {
        api,
        message: describe(&e),
    })?;
    stored(api, &value)
}

/// Reads one key of `chrome.storage.session`; `None` when it is not set.
pub async fn session_value(key: &str) -> Result<Option<Stored>, ChromeError> {
    area_value("chrome.storage.session.get", key).await
}

/// What a page's loader read of `chrome.storage.session` before the wasm was ready (or
/// of `chrome.storage.local`: the popup's settings):
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
    area_value("chrome.storage.local.get", key).await
}

/// Opens the extension's options page (focusing it if it is already open).
pub async fn open_options_page() -> Result<(), ChromeError> {
    call("chrome.runtime.openOptionsPage", &[])
        .await
        .map(|_| ())
}

/// Sends a command to the service worker as a one-shot message and returns its answer.
pub async fn send_message(command: &Command) -> Result<WorkerMessage, ChromeError> {
    const API: &str = "chrome.runtime.sendMessage";
    let message = to_js(API, command)?;
    let answer = call(API, &[&message]).await?;
    crate::model::read_worker_message(&json_text(API, &answer)?)
        .map_err(|message| ChromeError::Data { api: API, message })
}

/// The origins object `chrome.permissions` takes: `{origins: [pattern]}`, the pattern as
/// this browser reads match patterns (`quizpulse_chrome::platform`).
fn origins(pattern: &str) -> JsValue {
    let pattern = quizpulse_chrome::platform::current().pattern(pattern);
    object(&[("origins", &strings(&[&pattern]))])
}

/// Whether the extension holds host access for a match pattern (`https://host/*`).
pub async fn has_host_access(pattern: &str) -> Result<bool, ChromeError> {
    const API: &str = "chrome.permissions.contains";
    let granted = call(API, &[&origins(pattern)]).await?;
    granted.as_bool().ok_or_else(|| not_bool(API))
}

/// Asks the user for host access to `pattern`. Must be called from a click (a user
/// gesture) before any `await`: the request is made synchronously, the answer awaited.
pub fn request_host_access(
    pattern: &str,
) -> impl Future<Output = Result<bool, ChromeError>> + use<> {
    const API: &str = "chrome.permissions.request";
    let promise = invoke(API, &[&origins(pattern)]);
    async move {
        let granted = settle(API, promise).await?;
        granted.as_bool().ok_or_else(|| not_bool(API))
    }
}

/// Copies text to the clipboard.
pub async fn copy_text(text: &str) -> Result<(), ChromeError> {
    call("navigator.clipboard.writeText", &[&text.into()])
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
    let port: Port = invoke(API, &[&object(&[("name", &name.into())])])?.unchecked_into();
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

/// The extension's manifest, as JSON.
pub fn manifest() -> Result<Json, ChromeError> {
    const API: &str = "chrome.runtime.getManifest";
    let value = invoke(API, &[])?;
    Json::parse(&json_text(API, &value)?).map_err(|e| ChromeError::Data {
        api: API,
        message: e.to_string(),
    })
}
