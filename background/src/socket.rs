//! `OpenSocket`, `CloseSocket`, `Send`: `WebSocket`s in the worker's scope, each
//! reporting open, text frames, error and close with the core's socket id.
//!
//! Binary frames are not part of the contract: they are dropped here (the core has no
//! input for them), and the socket stays as it is.
//!
//! The socket is reached through `Reflect` and `quizpulse-chrome`'s generic method
//! call, like the `chrome.*` APIs: web-sys's typed `WebSocket`, `MessageEvent` and
//! `CloseEvent` bindings would add a JS shim for every property and method used.

use quizpulse::small::VecMap;
use std::cell::RefCell;

use js_sys::{Array, Function, Reflect};
use quizpulse::client::SocketId;
use quizpulse_chrome::call_method;
use wasm_bindgen::prelude::*;

use crate::chrome::{ChromeError, describe, property};
use crate::driver::{Input, push};

/// A socket's event listener. Every listener takes the plain `JsValue` and casts it:
/// one closure signature is one JS shim (and one wasm export) in the glue, shared with
/// the pages' port listeners, where `FnMut(MessageEvent)`, `FnMut(CloseEvent)`, …
/// would each add their own.
type Listener = Closure<dyn FnMut(JsValue)>;

/// A socket and the listeners that must live as long as it does.
struct Open {
    ws: JsValue,
    _on_open: Listener,
    _on_message: Listener,
    _on_error: Listener,
    _on_close: Listener,
}

thread_local! {
    static SOCKETS: RefCell<VecMap<SocketId, Open>> = const { RefCell::new(VecMap::new()) };
    /// Sockets whose `open` fired (kept apart so the `open` listener needs no borrow of
    /// the map it lives in).
    static OPENED: RefCell<quizpulse::small::VecSet<SocketId>> =
        const { RefCell::new(quizpulse::small::VecSet::new()) };
}

/// Opens socket `id` to `url`. A URL the browser refuses is reported as a close
/// before open (1006), so the core retries as for any failed connection.
pub fn open(id: SocketId, url: &str) -> Result<(), ChromeError> {
    let ws = match new_web_socket(url) {
        Ok(ws) => ws,
        Err(err) => {
            push(Input::SocketClosed {
                socket: id,
                code: 1006,
                reason: describe(&err),
                was_open: false,
            });
            return Err(ChromeError {
                api: "new WebSocket",
                message: describe(&err),
            });
        }
    };
    set(&ws, "binaryType", &"arraybuffer".into());
    let on_open = Listener::new(move |_: JsValue| {
        OPENED.with(|o| o.borrow_mut().insert(id));
        push(Input::SocketOpened(id));
    });
    let on_message = Listener::new(move |event: JsValue| {
        if let Some(text) = property(&event, "data").as_string() {
            push(Input::SocketMessage(id, text));
        }
    });
    let on_error = Listener::new(move |_: JsValue| push(Input::SocketError(id)));
    let on_close = Listener::new(move |event: JsValue| {
        let was_open = OPENED.with(|o| o.borrow_mut().remove(&id));
        // The listeners may not be dropped while one of them runs: drop them later.
        let gone = SOCKETS.with(|s| s.borrow_mut().remove(&id));
        wasm_bindgen_futures::spawn_local(async move { drop(gone) });
        push(Input::SocketClosed {
            socket: id,
            // A close code is an integer from 0 to 4999.
            code: property(&event, "code").as_f64().unwrap_or(0.0) as u16,
            reason: property(&event, "reason").as_string().unwrap_or_default(),
            was_open,
        });
    });
    set(&ws, "onopen", on_open.as_ref());
    set(&ws, "onmessage", on_message.as_ref());
    set(&ws, "onerror", on_error.as_ref());
    set(&ws, "onclose", on_close.as_ref());
    SOCKETS.with(|s| {
        s.borrow_mut().insert(
            id,
            Open {
                ws,
                _on_open: on_open,
                _on_message: on_message,
                _on_error: on_error,
                _on_close: on_close,
            },
        )
    });
    Ok(())
}

/// Starts closing socket `id` (its `close` event is still reported).
pub fn close(id: SocketId, code: u16, reason: &str) {
    SOCKETS.with(|s| {
        if let Some(open) = s.borrow().get(&id)
            && let Err(err) = call_method(
                "WebSocket.close",
                &open.ws,
                "close",
                &[&code.into(), &reason.into()],
            )
        {
            crate::driver::log_error(&format!("closing the socket failed: {}", err.message));
        }
    });
}

/// Sends a text frame on socket `id`; nothing when it is gone or not open.
pub fn send(id: SocketId, text: &str) {
    SOCKETS.with(|s| {
        if let Some(open) = s.borrow().get(&id)
            && property(&open.ws, "readyState").as_f64() == Some(OPEN)
            && let Err(err) = call_method("WebSocket.send", &open.ws, "send", &[&text.into()])
        {
            crate::driver::log_error(&format!("sending on the socket failed: {}", err.message));
        }
    });
}

/// `WebSocket.OPEN`, the `readyState` of an open socket.
const OPEN: f64 = 1.0;

/// `new WebSocket(url)` in the worker's scope; what it throws on a URL it refuses.
fn new_web_socket(url: &str) -> Result<JsValue, JsValue> {
    let constructor: Function = property(&js_sys::global(), "WebSocket")
        .dyn_into()
        .map_err(|_| JsValue::from_str("WebSocket is not available here"))?;
    Reflect::construct(&constructor, &Array::of1(&url.into()))
}

/// Sets property `name` of the socket (its listeners, its binary type).
fn set(ws: &JsValue, name: &str, value: &JsValue) {
    // Setting a property of a live `WebSocket` cannot throw.
    let _ = Reflect::set(ws, &name.into(), value);
}

/// How many sockets this worker holds (open, connecting or closing).
pub fn count() -> usize {
    SOCKETS.with(|s| s.borrow().len())
}
