//! The browser bindings that the service worker (`quizpulse-background`) and the pages
//! (`quizpulse-popup`) share, so the one wasm module carries them once.
//!
//! Every extension API is reached through [`invoke`]/[`call`] by its dotted path
//! (`"chrome.alarms.create"`) instead of one wasm-bindgen import per API: each import
//! is a shim of its own in the generated JS glue, and the generic call is a few
//! `Reflect` calls. The typed wrappers stay in each adapter's own `chrome` module.
//!
//! Paths are written `chrome.…`; where the browser also has the `browser` namespace
//! (Firefox), that is the one called: Firefox's `chrome` object in a Manifest V2
//! add-on takes callbacks and returns no promise, its `browser` object returns
//! promises, as Chrome's `chrome` does in Manifest V3. What a browser cannot do at
//! all is data, in [`platform`].

pub mod platform;

pub mod i18n;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// A `chrome.runtime.Port`: a long-lived connection between the worker and a page
    /// or content script.
    #[derive(Clone)]
    pub type Port;

    /// `port.postMessage(message)`; throws when the port is closed.
    #[wasm_bindgen(method, catch, js_name = postMessage)]
    pub fn post_message(this: &Port, message: &JsValue) -> Result<(), JsValue>;

    /// The name the port was opened with.
    #[wasm_bindgen(method, getter)]
    pub fn name(this: &Port) -> String;

    /// Who opened the port (`MessageSender`: its `tab`, `url`, …).
    #[wasm_bindgen(method, getter)]
    pub fn sender(this: &Port) -> JsValue;

    /// `port.onMessage`.
    #[wasm_bindgen(method, getter, js_name = onMessage)]
    pub fn on_message(this: &Port) -> PortEvent;

    /// `port.onDisconnect`.
    #[wasm_bindgen(method, getter, js_name = onDisconnect)]
    pub fn on_disconnect(this: &Port) -> PortEvent;

    /// `setTimeout(callback, ms)` in the global scope (worker or page): the handle.
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(callback: &Function, ms: f64) -> f64;

    /// `clearTimeout(handle)` in the global scope.
    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(handle: f64);

    /// `setInterval(callback, ms)` in the global scope: the handle.
    #[wasm_bindgen(js_name = setInterval)]
    pub fn set_interval(callback: &Function, ms: f64) -> f64;

    /// One of a port's events.
    pub type PortEvent;

    /// `event.addListener(listener)`.
    #[wasm_bindgen(method, js_name = addListener)]
    pub fn add_listener(this: &PortEvent, listener: &Function);
}

/// A failed browser call: which API, and what the browser said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{api} failed: {message}")]
pub struct ChromeError {
    /// Which API (`"chrome.storage.local.get"`).
    pub api: &'static str,
    /// The browser's message.
    pub message: String,
}

impl ChromeError {
    /// What went wrong, for people, in their language (the API's name and the
    /// browser's own words stay as they are).
    pub fn words(&self) -> String {
        i18n::tr(
            "error_api_failed",
            &[i18n::isolate(self.api), i18n::isolate(&self.message)],
        )
    }

    /// The error of `api` for a thrown or rejected JS value.
    pub fn thrown(api: &'static str, err: &JsValue) -> ChromeError {
        ChromeError {
            api,
            message: describe(err),
        }
    }
}

/// The message of a thrown JS value: an `Error`'s message, a string, or its JSON text.
/// (Not its `Debug` form: that pulls wasm-bindgen's `debugString` into the JS glue.)
pub fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .or_else(|| stringify(err))
        .unwrap_or_else(|| "an error the browser did not describe".into())
}

/// Calls the function at `path` (dotted, from the global scope: `"chrome.tabs.query"`,
/// `"navigator.clipboard.writeText"`) on the object that holds it, with `args`, and
/// returns what it returned. A missing API or a throw is an error naming `path`. The
/// first step `chrome` is the extension namespace ([`namespace`]).
pub fn invoke(path: &'static str, args: &[&JsValue]) -> Result<JsValue, ChromeError> {
    let fail = |err: JsValue| ChromeError::thrown(path, &err);
    let missing = || ChromeError {
        api: path,
        message: "not available here".into(),
    };
    let (holder, method) = path.rsplit_once('.').unwrap_or(("", path));
    let mut this: JsValue = js_sys::global().into();
    for name in holder.split('.').filter(|name| !name.is_empty()) {
        this = if name == "chrome" {
            namespace()
        } else {
            Reflect::get(&this, &JsValue::from_str(name)).map_err(fail)?
        };
        if !this.is_object() {
            return Err(missing());
        }
    }
    call_method(path, &this, method, args)
}

/// Calls method `name` of `this` with `args` (`response.text()`, `headers.get(name)`)
/// and returns what it returned; errors name `api`.
pub fn call_method(
    api: &'static str,
    this: &JsValue,
    name: &str,
    args: &[&JsValue],
) -> Result<JsValue, ChromeError> {
    let function: Function = Reflect::get(this, &JsValue::from_str(name))
        .map_err(|err| ChromeError::thrown(api, &err))?
        .dyn_into()
        .map_err(|_| ChromeError {
            api,
            message: "not available here".into(),
        })?;
    let args: Array = args.iter().copied().collect();
    Reflect::apply(&function, this, &args).map_err(|err| ChromeError::thrown(api, &err))
}

/// Writes `text` to the console at `level` (`"console.error"`, `"console.warn"`,
/// `"console.info"`, `"console.debug"`), through [`invoke`] like every other browser
/// call (typed console bindings would add a JS shim per level).
pub fn console(level: &'static str, text: &str) {
    // A console that cannot be written to has nobody to tell.
    let _ = invoke(level, &[&JsValue::from_str(text)]);
}

/// The extension API namespace: `browser` where it exists (Firefox: promises in every
/// manifest version), else `chrome`.
pub fn namespace() -> JsValue {
    let global: JsValue = js_sys::global().into();
    let browser = property(&global, "browser");
    if browser.is_object() {
        browser
    } else {
        property(&global, "chrome")
    }
}

/// Waits for what an [`invoke`] of `api` returned (a promise, or a plain value).
pub async fn settle(
    api: &'static str,
    returned: Result<JsValue, ChromeError>,
) -> Result<JsValue, ChromeError> {
    JsFuture::from(Promise::resolve(&returned?))
        .await
        .map_err(|err| ChromeError::thrown(api, &err))
}

/// Calls the API at `path` with `args` (see [`invoke`]) and awaits its promise.
pub async fn call(path: &'static str, args: &[&JsValue]) -> Result<JsValue, ChromeError> {
    settle(path, invoke(path, args)).await
}

/// A plain JS object with these properties (the option objects `chrome.*` takes,
/// built in place with no JSON text in between).
pub fn object(properties: &[(&str, &JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in properties {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

/// A JS array of strings.
pub fn strings(items: &[&str]) -> JsValue {
    items
        .iter()
        .map(|item| JsValue::from_str(item))
        .collect::<Array>()
        .into()
}

/// Property `name` of `value` (`undefined` when it has none or is not an object).
pub fn property(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// JSON text as a JS value (`JSON.parse`); `undefined` if it is not JSON (never the
/// case for text serialised by serde).
pub fn json_text(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

/// A JS value as JSON text (`JSON.stringify`), when it has one (not for `undefined`,
/// functions, or cycles).
pub fn stringify(value: &JsValue) -> Option<String> {
    js_sys::JSON::stringify(value).ok()?.as_string()
}
