//! `Persist` and the start-up read: each [`PersistKey`] as JSON text in its own area:
//! `chrome.storage.local` or `.session`, or the extension's IndexedDB for secrets
//! ([`crate::secrets`]).

use quizpulse::small::VecMap;
use std::cell::RefCell;

use quizpulse::client::{PersistKey, StorageArea, StoredState};
use wasm_bindgen::prelude::*;

use crate::chrome::{self, ChromeError};
use crate::driver::log_error;
use crate::secrets;

thread_local! {
    /// The text last written per key, so that the echo of our own write in
    /// `storage.onChanged` is not taken for someone else's.
    static WRITTEN: RefCell<VecMap<PersistKey, String>> = const { RefCell::new(VecMap::new()) };
}

/// Reads every key the client persists. A value stored as JSON data instead of
/// text is turned into its text; an unreadable area is logged and read as empty
/// (the client then starts from defaults, as for a fresh install).
pub async fn load() -> StoredState {
    let mut stored = StoredState::default();
    for session in [false, true] {
        let area = if session {
            StorageArea::Session
        } else {
            StorageArea::Local
        };
        let keys: Vec<PersistKey> = PersistKey::ALL
            .into_iter()
            .filter(|k| k.area() == area)
            .collect();
        let names: Vec<&str> = keys.iter().map(|k| k.storage_key()).collect();
        let items = match chrome::storage_get(session, &names).await {
            Ok(items) => items,
            Err(err) => {
                log_error(&err.to_string());
                continue;
            }
        };
        for key in keys {
            if let Some(text) = item_text(&items, key) {
                WRITTEN.with(|w| w.borrow_mut().insert(key, text.clone()));
                stored = stored.with(key, text);
            }
        }
    }
    load_secrets(stored).await
}

/// A key's value in a `storage.get` result, as JSON text.
fn item_text(items: &JsValue, key: PersistKey) -> Option<String> {
    let value = js_sys::Reflect::get(items, &JsValue::from_str(key.storage_key()))
        .unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return None;
    }
    value.as_string().or_else(|| chrome::stringify(&value))
}

/// Adds the [`StorageArea::Secrets`] keys. A sign-in an earlier version kept in
/// `chrome.storage.local` is moved there (and removed from `local`, where content
/// scripts could read it).
async fn load_secrets(mut stored: StoredState) -> StoredState {
    for key in PersistKey::ALL
        .into_iter()
        .filter(|k| k.area() == StorageArea::Secrets)
    {
        let mut text = secrets::get(key.storage_key()).await.unwrap_or_else(|err| {
            log_error(&err.to_string());
            None
        });
        let legacy = chrome::storage_get(false, &[key.storage_key()])
            .await
            .ok()
            .and_then(|items| item_text(&items, key));
        if let Some(legacy) = legacy {
            // Kept in `local` only while it cannot be moved: a sign-in is never lost.
            let moved = text.is_some() || secrets::put(key.storage_key(), &legacy).await.is_ok();
            if moved && let Err(err) = chrome::storage_remove(key.storage_key()).await {
                log_error(&err.to_string());
            }
            text = text.or(Some(legacy));
        }
        if let Some(text) = text {
            stored = stored.with(key, text);
        }
    }
    stored
}

/// Writes `json` (text) under `key` in its area.
pub async fn persist(key: PersistKey, json: &str) -> Result<(), ChromeError> {
    if key.area() == StorageArea::Secrets {
        return secrets::put(key.storage_key(), json).await;
    }
    WRITTEN.with(|w| w.borrow_mut().insert(key, json.to_owned()));
    let items = js_sys::Object::new();
    // Setting a property on a fresh object cannot fail.
    let _ = js_sys::Reflect::set(
        &items,
        &JsValue::from_str(key.storage_key()),
        &JsValue::from_str(json),
    );
    chrome::storage_set(key.area() == StorageArea::Session, &items).await
}

/// The settings text someone else wrote, from a `storage.onChanged` event
/// (`changes`, `area`): `None` when the settings did not change or the change is our
/// own write.
pub fn settings_written_elsewhere(changes: &JsValue, area: &str) -> Option<String> {
    let key = PersistKey::Settings;
    if area != "local" {
        return None;
    }
    let change = js_sys::Reflect::get(changes, &JsValue::from_str(key.storage_key())).ok()?;
    let value = js_sys::Reflect::get(&change, &"newValue".into()).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    let text = value.as_string().or_else(|| chrome::stringify(&value))?;
    let ours = WRITTEN.with(|w| w.borrow().get(&key) == Some(&text));
    (!ours).then_some(text)
}
