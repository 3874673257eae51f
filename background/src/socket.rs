//! `OpenSocket`, `CloseSocket`, `Send`: `WebSocket`s in the worker's scope, each
//! reporting open, text frames, error and close with the core's socket id.
//!
//! Binary frames are not part of the contract: they are dropped here (the core has no
//! input for them), and the socket stays as it is.

use quizpulse::small::VecMap;
use std::cell::RefCell;

use quizpulse::client::SocketId;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::chrome::{ChromeError, describe};
use crate::driver::{Input, push};

/// A socket's event listener. Every listener takes the plain `JsValue` and casts it:
/// one closure signature is one JS shim (and one wasm export) in the glue, shared with
/// the pages' port listeners, where `FnMut(MessageEvent)`, `FnMut(CloseEvent)`, …
/// would each add their own.
type Listener = Closure<dyn FnMut(JsValue)>;

/// A socket and the listeners that must live as long as it does.
struct Open {
    ws: WebSocket,
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
    let ws = match WebSocket::new(url) {
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
    ws.set_binary_type(BinaryType::Arraybuffer);
    let on_open = Listener::new(move |_: JsValue| {
        OPENED.with(|o| o.borrow_mut().insert(id));
        push(Input::SocketOpened(id));
    });
    let on_message = Listener::new(move |event: JsValue| {
        if let Some(text) = event.unchecked_into::<MessageEvent>().data().as_string() {
            push(Input::SocketMessage(id, text));
        }
    });
    let on_error = Listener::new(move |_: JsValue| push(Input::SocketError(id)));
    let on_close = Listener::new(move |event: JsValue| {
        let event: CloseEvent = event.unchecked_into();
        let was_open = OPENED.with(|o| o.borrow_mut().remove(&id));
        // The listeners may not be dropped while one of them runs: drop them later.
        let gone = SOCKETS.with(|s| s.borrow_mut().remove(&id));
        wasm_bindgen_futures::spawn_local(async move { drop(gone) });
        push(Input::SocketClosed {
            socket: id,
            code: event.code(),
            reason: event.reason(),
            was_open,
        });
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
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
            && let Err(err) = open.ws.close_with_code_and_reason(code, reason)
        {
            crate::driver::log_error(&format!("closing the socket failed: {}", describe(&err)));
        }
    });
}

/// Sends a text frame on socket `id`; nothing when it is gone or not open.
pub fn send(id: SocketId, text: &str) {
    SOCKETS.with(|s| {
        if let Some(open) = s.borrow().get(&id)
            && open.ws.ready_state() == WebSocket::OPEN
            && let Err(err) = open.ws.send_with_str(text)
        {
            crate::driver::log_error(&format!("sending on the socket failed: {}", describe(&err)));
        }
    });
}

/// How many sockets this worker holds (open, connecting or closing).
pub fn count() -> usize {
    SOCKETS.with(|s| s.borrow().len())
}
