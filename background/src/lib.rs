//! QuizPulse background: the MV3 service worker, compiled to wasm.
//!
//! A thin adapter. `js/service_worker.js` registers every `chrome.*` listener
//! synchronously at top level (Chrome requires it), queues events until this module is
//! ready, then hands them to the exports below. Each becomes one [`driver::Input`];
//! the [`driver`] runs the core's `Client` on them one at a time and carries out its
//! actions through one small module per area ([`socket`], [`fetch`], [`storage`],
//! [`notifications`], [`badge`], [`alarms`], [`tabs`], [`ports`], [`quiz_pages`]).
//! Decisions belong to the core crate. There is no `window` in a service worker: the
//! global scope is a `ServiceWorkerGlobalScope`, reached through `js_sys::global()`.
//!
//! # Exports (what `js/service_worker.js` calls)
//!
//! wasm-bindgen copies an export's doc comment into the generated `quizpulse.js`,
//! which every page downloads too; the exports are documented here instead, and
//! carry plain comments.
//!
//! - `workerStart(platform)`: starts the worker. The loader calls it once, right after
//!   the wasm module is instantiated and before any queued event, with what it read of
//!   `platform.json` (`null` when it could not; see `quizpulse_chrome::platform`). Not a
//!   `#[wasm_bindgen(start)]`: the pages load the same module and must not run the
//!   worker's start-up.
//! - `handleMessage(message, sender)`: answers a `chrome.runtime.onMessage` message;
//!   the loader passes the resolved value to `sendResponse`. A command is answered
//!   with the state after it was carried out.
//! - `handlePortMessage(port, message)`: a message posted on a port
//!   (`runtime.onConnect`), in order after that port's `connect` event. A popup's
//!   command goes to the client (its answer is the next snapshot); a ping or a bad
//!   message is answered on the same port.
//! - `handleEvent(kind, payload)`: every other browser event, named by `kind`, with
//!   the listener's argument(s) as `payload`:
//!
//!   | kind | payload |
//!   |---|---|
//!   | `installed`, `startup`, `permissions_added`, `permissions_removed` | ignored |
//!   | `connect`, `disconnect` | the port |
//!   | `alarm` | the alarm |
//!   | `notification_clicked` | the notification id |
//!   | `notification_closed` | `{id, byUser}` |
//!   | `idle` | the new state (`active`, `idle`, `locked`) |
//!   | `tab_activated` | `{tabId}`, or `null` when no window has focus |
//!   | `tab_updated` | `{tabId, url}` of a finished load on a site the extension may access |
//!   | `tab_removed` | the tab id |
//!   | `storage_changed` | `{changes, area}` |
//!   | `online`, `offline` | ignored |

pub mod alarms;
pub mod badge;
pub mod chrome;
pub mod driver;
pub mod fetch;
pub mod messages;
pub mod notifications;
pub mod ports;
pub mod quiz_pages;
pub mod secrets;
pub mod socket;
pub mod storage;
pub mod tabs;

use driver::{Input, push};
use messages::Incoming;
use ports::Port;
use quizpulse::messages::PortRole;
use quizpulse::messages::WorkerMessage;
use wasm_bindgen::prelude::*;

// `workerStart` (see the crate's doc: a doc comment here would be copied into the JS glue).
#[doc(hidden)]
#[wasm_bindgen(js_name = workerStart, skip_jsdoc)]
pub fn worker_start(platform: JsValue) {
    quizpulse_chrome::platform::set(&platform);
    // `self.location.href`, read in place (typed web-sys bindings would add three
    // shims to the glue for one log line).
    let location = chrome::property(&chrome::property(&js_sys::global(), "location"), "href")
        .as_string()
        .unwrap_or_else(|| "an unknown scope".into());
    quizpulse_chrome::console(
        "console.info",
        &format!(
            "QuizPulse background {} ready in {location}",
            messages::VERSION
        ),
    );
    // Every worker start is a moment to (re)connect, whatever event woke it.
    push(Input::Wake);
}

/// Reads a message from a page: JSON data, or an error that says why not.
fn incoming(message: &JsValue) -> Incoming {
    match chrome::stringify(message) {
        Some(text) => messages::classify(&text),
        None => Incoming::Answer(WorkerMessage::Error {
            message: messages::NOT_JSON.into(),
        }),
    }
}

fn to_js(message: &WorkerMessage) -> JsValue {
    chrome::json_text(&message.to_json())
}

// `handleMessage` (see the crate's doc).
#[doc(hidden)]
#[wasm_bindgen(js_name = handleMessage, skip_jsdoc)]
pub async fn handle_message(message: JsValue, sender: JsValue) -> Result<JsValue, JsValue> {
    if !ports::sender(&sender).may_command() {
        return Ok(to_js(&WorkerMessage::Error {
            message: messages::NOT_FROM_A_PAGE.into(),
        }));
    }
    match incoming(&message) {
        Incoming::Answer(answer) => Ok(to_js(&answer)),
        Incoming::Carry(command) => {
            let mut resolve = None;
            let done = js_sys::Promise::new(&mut |res, _rej| resolve = Some(res));
            push(Input::Command(command, resolve));
            wasm_bindgen_futures::JsFuture::from(done).await
        }
    }
}

// `handlePortMessage` (see the crate's doc).
#[doc(hidden)]
#[wasm_bindgen(js_name = handlePortMessage, skip_jsdoc)]
pub fn handle_port_message(port: Port, message: JsValue) {
    if !matches!(ports::role(&port), Some(PortRole::Page(_))) {
        return;
    }
    match incoming(&message) {
        Incoming::Answer(answer) => ports::post(&port, &to_js(&answer)),
        Incoming::Carry(command) => push(Input::Command(command, None)),
    }
}

/// A field of an event's payload.
fn field(payload: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(payload, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

/// A tab id (small integers in Chrome).
fn tab_id(value: &JsValue) -> Option<i64> {
    value.as_f64().map(|id| id as i64)
}

// `handleEvent` (see the crate's doc for its kinds and payloads).
#[doc(hidden)]
#[wasm_bindgen(js_name = handleEvent, skip_jsdoc)]
pub fn handle_event(kind: &str, payload: JsValue) {
    let input = match kind {
        "installed" | "startup" => Input::Wake,
        "permissions_added" | "permissions_removed" => {
            quiz_pages::permissions_changed();
            Input::Wake
        }
        "connect" | "disconnect" => {
            let port: Port = payload.unchecked_into();
            let connect = kind == "connect";
            match (ports::role(&port), connect) {
                (Some(PortRole::Page(page)), true) => Input::PageOpened(page, port),
                (Some(PortRole::Page(page)), false) => Input::PageClosed(page, port),
                (Some(PortRole::QuizTab { quiz, tab }), true) => Input::TabQuiz { tab, quiz, port },
                (Some(PortRole::QuizTab { tab, .. }), false) => Input::TabQuizGone { tab, port },
                (None, _) => return,
            }
        }
        "alarm" => Input::Alarm,
        "notification_clicked" => match payload.as_string() {
            Some(id) => Input::NotificationClicked(id),
            None => return,
        },
        "notification_closed" => match field(&payload, "id").as_string() {
            Some(id) => Input::NotificationClosed(id, field(&payload, "byUser") == JsValue::TRUE),
            None => return,
        },
        "idle" => match payload.as_string().as_deref() {
            Some("active") => Input::IdleActive,
            _ => return,
        },
        "tab_activated" => Input::TabActivated(tab_id(&field(&payload, "tabId"))),
        "tab_updated" => {
            if let (Some(tab), Some(url)) = (
                field(&payload, "tabId").as_f64(),
                field(&payload, "url").as_string(),
            ) {
                wasm_bindgen_futures::spawn_local(quiz_pages::loaded(tab, url));
            }
            return;
        }
        "tab_removed" => match tab_id(&payload) {
            Some(tab) => Input::TabClosed(tab),
            None => return,
        },
        "storage_changed" => {
            let area = field(&payload, "area").as_string().unwrap_or_default();
            match storage::settings_written_elsewhere(&field(&payload, "changes"), &area) {
                Some(json) => Input::SettingsWritten(json),
                None => return,
            }
        }
        "online" => Input::Online(true),
        "offline" => Input::Online(false),
        _ => {
            driver::log_error(&format!("unknown event kind \"{kind}\" from the loader"));
            return;
        }
    };
    push(input);
}
