//! QuizPulse popup and options page (wasm, Sycamore 0.9).
//!
//! Views only: they render the last snapshot from `chrome.storage.session` at once,
//! then the live snapshots the service worker posts on the `popup` port, and send the
//! core's `Command`s back on it. They never open a socket and never see a token. Each page's HTML loads an external module script
//! (`static/popup.js`, `static/options.js`; the CSP forbids inline scripts) that
//! initialises this module and calls `popupMain` or `optionsMain` (below).
//!
//! # Exports (what the pages' loaders call)
//!
//! wasm-bindgen copies an export's doc comment into the generated `quizpulse.js`,
//! which the worker and both pages download; the exports are documented here instead,
//! and carry plain comments.
//!
//! - `popupMain(root, cached, place, platform)`: renders the toolbar popup into `root`
//!   (its previous content is replaced). `cached` is what the loader read of
//!   `chrome.storage.session` under the core's `SNAPSHOT_KEY` while the wasm loaded
//!   (see [`chrome::preread_session_value`]), so the first render already shows the
//!   boards; `undefined` makes the popup read it itself. `place` is what the loader
//!   read of `localStorage` under [`model::UiState::KEY`] (a string, or `null` when
//!   nothing is stored); `undefined` makes the popup read it. `platform` is what it
//!   read of the package's `platform.json` (as for `optionsMain`).
//! - `optionsMain(root, platform)`: renders the options page into `root` (its previous
//!   content is replaced). `platform` is what the loader read of the package's
//!   `platform.json` (`null` when it could not): what this browser can do
//!   (`quizpulse_chrome::platform`).

pub mod chrome;
mod live;
pub mod model;
mod views;

use wasm_bindgen::prelude::*;

// `popupMain` (see the crate's doc: a doc comment here would be copied into the JS glue).
#[doc(hidden)]
#[wasm_bindgen(js_name = popupMain, skip_jsdoc)]
pub fn popup_main(root: web_sys::Element, cached: JsValue, place: JsValue, platform: JsValue) {
    quizpulse_chrome::platform::set(&platform);
    let cache = match chrome::preread_session_value(&cached, model::SNAPSHOT_KEY) {
        Some(read) => live::Cache::Read(read),
        None => live::Cache::Unread,
    };
    let place = if place.is_undefined() {
        None
    } else {
        Some(chrome::js_text(&place))
    };
    prepare(&root, quizpulse::text::k("ext_name"));
    sycamore::render_to(move || views::popup_page(cache, place), &root);
}

// `optionsMain` (see the crate's doc).
#[doc(hidden)]
#[wasm_bindgen(js_name = optionsMain, skip_jsdoc)]
pub fn options_main(root: web_sys::Element, platform: JsValue) {
    quizpulse_chrome::platform::set(&platform);
    prepare(&root, quizpulse::text::k("options_title"));
    sycamore::render_to(views::Options, &root);
}

/// Empties `root` and puts the page in the catalog's language: `<html lang dir>` (the
/// page mirrors in a right-to-left language) and the title (`title`, a catalog key).
fn prepare(root: &web_sys::Element, title: &str) {
    use quizpulse_chrome::i18n::{dir, lang, t};
    use quizpulse_chrome::property;
    root.set_text_content(None);
    // Read and set in place: typed bindings for `document`, its root and its title
    // would add their shims to the glue every page downloads.
    let document = property(&js_sys::global(), "document");
    let html = property(&document, "documentElement");
    let html: &web_sys::Element = html.unchecked_ref();
    // Setting an attribute on the page's own root element cannot fail.
    let _ = html.set_attribute("lang", &lang());
    let _ = html.set_attribute("dir", dir());
    let _ = js_sys::Reflect::set(&document, &"title".into(), &t(title).into());
}

#[cfg(test)]
mod tests {
    /// The loaders that hand `platform.json` to the wasm read the file the build writes.
    #[test]
    fn the_loaders_read_the_platform_file() {
        for loader in [
            include_str!("../static/popup_cache.js"),
            include_str!("../static/options.js"),
            include_str!("../../background/js/service_worker.js"),
        ] {
            assert!(loader.contains(&format!("fetch('{}')", quizpulse_chrome::platform::FILE)));
        }
    }

    /// The popup's `<head>` script reads the storage keys the wasm expects.
    #[test]
    fn the_loader_reads_the_keys_the_popup_uses() {
        let loader = include_str!("../static/popup_cache.js");
        for key in [crate::model::SNAPSHOT_KEY, crate::model::UiState::KEY] {
            assert!(
                loader.contains(&format!("'{key}'")),
                "popup_cache.js does not read {key}"
            );
        }
    }
}
