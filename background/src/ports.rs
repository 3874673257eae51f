//! Ports and `Publish`: the pages' ports (popup and options page: snapshots out) and the quiz pages' ports
//! (one per tab showing a quiz), and the cached snapshot in `chrome.storage.session`.

use quizpulse::small::VecMap;
use std::cell::RefCell;

use quizpulse::client::SNAPSHOT_KEY;
use quizpulse::json::ToJson;
use quizpulse::messages::{Page, PortRole, Sender, Snapshot};
use quizpulse::subscriptions::TabId;
use wasm_bindgen::prelude::*;

use crate::chrome::{self, ChromeError};

pub use quizpulse_chrome::Port;

#[derive(Default)]
struct Ports {
    /// Open pages' ports (popup, options page), each with its page.
    pages: Vec<(Page, Port)>,
    quiz_pages: VecMap<TabId, Port>,
}

thread_local! {
    static PORTS: RefCell<Ports> = RefCell::new(Ports::default());
}

/// Reads the browser's `sender` of a message or port, for the core's rules.
pub fn sender(sender: &JsValue) -> Sender {
    let runtime = chrome::property(&chrome::property(&js_sys::global(), "chrome"), "runtime");
    let own_id = chrome::property(&runtime, "id").as_string();
    let id = chrome::property(sender, "id").as_string();
    let own_origin = quizpulse_chrome::invoke("chrome.runtime.getURL", &[&"".into()])
        .ok()
        .and_then(|u| u.as_string());
    let url = chrome::property(sender, "url").as_string();
    let tab = chrome::property(&chrome::property(sender, "tab"), "id")
        .as_f64()
        // Tab ids are small integers.
        .map(|id| id as TabId);
    Sender::classify(
        own_id.is_some() && id == own_id,
        matches!((&url, &own_origin), (Some(u), Some(o)) if !o.is_empty() && u.starts_with(o.as_str())),
        tab,
    )
}

/// What a port is, by its name and sender (the core decides; `None`: ignored).
pub fn role(port: &Port) -> Option<PortRole> {
    PortRole::of(&port.name(), sender(&port.sender()))
}

/// Posts `message` on `port`. A port that closed meanwhile (its disconnect event is
/// still on its way) is expected: noted at debug level, not fatal.
pub fn post(port: &Port, message: &JsValue) {
    if let Err(err) = port.post_message(message) {
        let text = format!(
            "QuizPulse: a port closed before a message: {}",
            chrome::describe(&err)
        );
        quizpulse_chrome::console("console.debug", &text);
    }
}

/// A page connected: it gets every snapshot from now on (the core publishes one at
/// once when a page opens).
pub fn page_opened(page: Page, port: Port) {
    PORTS.with(|p| p.borrow_mut().pages.push((page, port)));
}

/// A page disconnected; `true` when it was the last open one of its kind.
pub fn page_closed(page: Page, port: &Port) -> bool {
    PORTS.with(|p| {
        let mut p = p.borrow_mut();
        p.pages
            .retain(|(_, open)| JsValue::from(open) != JsValue::from(port));
        !p.pages.iter().any(|(open, _)| *open == page)
    })
}

/// A quiz page's port connected in `tab` (replacing that tab's earlier one).
pub fn quiz_page_opened(tab: TabId, port: Port) {
    PORTS.with(|p| p.borrow_mut().quiz_pages.insert(tab, port));
}

/// A quiz page's port disconnected; `true` when it was the tab's current one (a late
/// disconnect from the page before does not undo the page after it).
pub fn quiz_page_closed(tab: TabId, port: &Port) -> bool {
    PORTS.with(|p| {
        let mut p = p.borrow_mut();
        let current = p
            .quiz_pages
            .get(&tab)
            .is_some_and(|open| JsValue::from(open) == JsValue::from(port));
        if current {
            p.quiz_pages.remove(&tab);
        }
        current
    })
}

/// The tab closed: forget its port.
pub fn tab_closed(tab: TabId) {
    PORTS.with(|p| p.borrow_mut().quiz_pages.remove(&tab));
}

/// Hands the snapshot to every open page (`to_popup`) and to
/// `chrome.storage.session` under the core's [`SNAPSHOT_KEY`] as JSON text
/// (`to_storage`).
pub async fn publish(
    snapshot: &Snapshot,
    to_popup: bool,
    to_storage: bool,
) -> Result<(), ChromeError> {
    let json = snapshot.to_json_text();
    let popups = if to_popup {
        PORTS.with(|p| {
            p.borrow()
                .pages
                .iter()
                .map(|(_, port)| port.clone())
                .collect()
        })
    } else {
        Vec::new()
    };
    if !popups.is_empty() {
        let value = chrome::json_text(&format!(r#"{{"type":"snapshot","snapshot":{json}}}"#));
        for port in &popups {
            post(port, &value);
        }
    }
    if !to_storage {
        return Ok(());
    }
    let items = js_sys::Object::new();
    // Setting a property on a fresh object cannot fail.
    let _ = js_sys::Reflect::set(&items, &SNAPSHOT_KEY.into(), &JsValue::from_str(&json));
    chrome::storage_set(true, &items).await
}

/// A snapshot as the `WorkerMessage` a command is answered with.
pub fn state_message(snapshot: &Snapshot) -> JsValue {
    let json = snapshot.to_json_text();
    chrome::json_text(&format!(r#"{{"type":"snapshot","snapshot":{json}}}"#))
}
