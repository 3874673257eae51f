//! [`StorageArea::Secrets`](quizpulse::client::StorageArea::Secrets): the sign-in's
//! tokens, in IndexedDB on the extension's own origin.
//!
//! `chrome.storage.local` is readable by content scripts, which run beside web pages
//! the extension does not control. The extension origin's IndexedDB is reachable only
//! from the extension's own pages and worker (a content script's `indexedDB` is the web
//! page's), and it survives browser restarts. The calls go through the global
//! `indexedDB` by name, like the `chrome.*` calls: no typed bindings in the glue.

use std::cell::RefCell;

use js_sys::{Function, Promise, Reflect};
use quizpulse_chrome::{ChromeError, call_method, invoke, property};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

const DATABASE: &str = "quizpulse";
const STORE: &str = "secrets";

thread_local! {
    /// The open database, kept for the worker's life.
    static DB: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Reads the text stored under `key` (`None`: nothing stored).
pub async fn get(key: &str) -> Result<Option<String>, ChromeError> {
    let store = store("readonly").await?;
    let request = method(&store, "get", &[&key.into()])?;
    Ok(done(&request, "IndexedDB get").await?.as_string())
}

/// Stores `value` under `key`.
pub async fn put(key: &str, value: &str) -> Result<(), ChromeError> {
    let store = store("readwrite").await?;
    let request = method(&store, "put", &[&value.into(), &key.into()])?;
    done(&request, "IndexedDB put").await.map(|_| ())
}

/// The object store in a new transaction of `mode`.
async fn store(mode: &str) -> Result<JsValue, ChromeError> {
    let db = database().await?;
    let transaction = method(&db, "transaction", &[&STORE.into(), &mode.into()])?;
    method(&transaction, "objectStore", &[&STORE.into()])
}

/// Opens the database (creating its store on first use), once per worker life.
async fn database() -> Result<JsValue, ChromeError> {
    if let Some(db) = DB.with(|d| d.borrow().clone()) {
        return Ok(db);
    }
    let request = invoke("indexedDB.open", &[&DATABASE.into(), &1.into()])?;
    let upgrade = Closure::<dyn FnMut(JsValue)>::new(|event: JsValue| {
        let db = property(&property(&event, "target"), "result");
        if let Err(err) = method(&db, "createObjectStore", &[&STORE.into()]) {
            crate::driver::log_error(&err.to_string());
        }
    });
    let _ = Reflect::set(&request, &"onupgradeneeded".into(), upgrade.as_ref());
    let db = done(&request, "IndexedDB open").await;
    let _ = Reflect::set(&request, &"onupgradeneeded".into(), &JsValue::NULL);
    let db = db?;
    DB.with(|d| *d.borrow_mut() = Some(db.clone()));
    Ok(db)
}

/// Waits for an IndexedDB request: its `result`, or its `error`.
async fn done(request: &JsValue, api: &'static str) -> Result<JsValue, ChromeError> {
    let mut settle: Option<(Function, Function)> = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let Some((resolve, reject)) = settle else {
        return Err(ChromeError {
            api,
            message: "the promise gave no resolver".into(),
        });
    };
    let target = request.clone();
    let finish = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let failed = property(&event, "type").as_string().as_deref() == Some("error");
        let _ = if failed {
            reject.call1(&JsValue::NULL, &property(&target, "error"))
        } else {
            resolve.call1(&JsValue::NULL, &property(&target, "result"))
        };
    });
    for event in ["onsuccess", "onerror"] {
        let _ = Reflect::set(request, &event.into(), finish.as_ref());
    }
    let out = JsFuture::from(promise).await;
    for event in ["onsuccess", "onerror"] {
        let _ = Reflect::set(request, &event.into(), &JsValue::NULL);
    }
    out.map_err(|err| ChromeError::thrown(api, &err))
}

/// Calls `this[name](...args)`; errors name the method.
fn method(this: &JsValue, name: &'static str, args: &[&JsValue]) -> Result<JsValue, ChromeError> {
    call_method(name, this, name, args)
}
