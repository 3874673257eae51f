//! QuizPulse popup and options page (wasm, Sycamore 0.9).
//!
//! Views only: they render the last snapshot from `chrome.storage.session` at once,
//! then the live snapshots the service worker posts on the `popup` port, and send the
//! core's `Command`s back on it. They never open a socket and never see a token. Each page's HTML loads an external module script
//! (`static/popup.js`, `static/options.js`; the CSP forbids inline scripts) that
//! initialises this module and calls [`popup_main`] or [`options_main`].

pub mod chrome;
mod live;
pub mod model;
mod views;

use wasm_bindgen::prelude::*;

/// Renders the toolbar popup into `root` (its previous content is replaced).
#[wasm_bindgen(js_name = popupMain)]
pub fn popup_main(root: web_sys::Element) {
    mount(&root, views::Popup);
}

/// Renders the options page into `root` (its previous content is replaced).
#[wasm_bindgen(js_name = optionsMain)]
pub fn options_main(root: web_sys::Element) {
    mount(&root, views::Options);
}

fn mount(root: &web_sys::Element, page: fn() -> sycamore::web::View) {
    root.set_text_content(None);
    sycamore::render_to(page, root);
}
