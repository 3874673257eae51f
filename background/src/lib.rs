//! QuizPulse background: the MV3 service worker, compiled to wasm.
//!
//! A thin adapter. `js/service_worker.js` registers every `chrome.*` listener
//! synchronously at top level (Chrome requires it), queues events until this module is
//! ready, then hands them to the exports below. Decisions belong to the core crate;
//! this crate turns browser events into core inputs and core actions into browser calls.
//! There is no `window` in a service worker: the global scope is a
//! `ServiceWorkerGlobalScope`, reached through `js_sys::global()`.

pub mod messages;

use quizpulse::messages::WorkerMessage;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Runs once when the wasm module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    let location = worker_scope()
        .map(|scope| scope.location().href())
        .unwrap_or_else(|| "an unknown scope".into());
    web_sys::console::info_1(
        &format!(
            "QuizPulse background {} ready in {location}",
            messages::VERSION
        )
        .into(),
    );
}

/// The service worker's global scope, if this runs in one.
fn worker_scope() -> Option<web_sys::ServiceWorkerGlobalScope> {
    js_sys::global().dyn_into().ok()
}

#[wasm_bindgen]
extern "C" {
    /// A `chrome.runtime.Port` (a long-lived connection from a page or content script).
    pub type Port;

    #[wasm_bindgen(method, catch, js_name = postMessage)]
    fn post_message(this: &Port, message: &JsValue) -> Result<(), JsValue>;
}

/// Reads JSON data from a JS value and answers it, or says why it is not JSON data.
fn answer(message: JsValue) -> WorkerMessage {
    match serde_wasm_bindgen::from_value::<serde_json::Value>(message) {
        Ok(raw) => messages::respond(raw),
        Err(err) => WorkerMessage::Error {
            message: format!("a message must be JSON data: {err}"),
        },
    }
}

/// Answers a `chrome.runtime.onMessage` message; the loader passes the resolved
/// value to `sendResponse`.
#[wasm_bindgen(js_name = handleMessage)]
pub async fn handle_message(message: JsValue, _sender: JsValue) -> Result<JsValue, JsValue> {
    to_js(&answer(message))
}

/// Receives a message posted on a port (`runtime.onConnect`), in order after that
/// port's `connect` event; the answer is posted back on the same port.
#[wasm_bindgen(js_name = handlePortMessage)]
pub fn handle_port_message(port: Port, message: JsValue) -> Result<(), JsValue> {
    port.post_message(&to_js(&answer(message))?)
}

/// Receives every other browser event: `kind` is one of `installed`, `startup`,
/// `connect`, `disconnect` (a port), `alarm`, `notification_clicked`, with the
/// listener's argument as `payload`.
#[wasm_bindgen(js_name = handleEvent)]
pub fn handle_event(kind: &str, payload: JsValue) {
    // Nothing acts on these yet: the core's connection and notification issues will.
    // Logging them keeps the wiring visible in the worker's console.
    web_sys::console::debug_2(&format!("QuizPulse background: {kind}").into(), &payload);
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|err| JsValue::from_str(&err.to_string()))
}
