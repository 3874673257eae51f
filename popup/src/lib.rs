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
//! - `popupMain(root, cached, place, platform, settings)`: renders the toolbar popup into `root`
//!   (its previous content is replaced). `cached` is what the loader read of
//!   `chrome.storage.session` under the core's `SNAPSHOT_KEY` while the wasm loaded
//!   (see [`chrome::preread_session_value`]), so the first render already shows the
//!   boards; `undefined` makes the popup read it itself. `place` is what the loader
//!   read of `localStorage` under [`model::UiState::KEY`] (a string, or `null` when
//!   nothing is stored); `undefined` makes the popup read it. `platform` is what it
//!   read of the package's `platform.json` (as for `optionsMain`). `settings` is what it
//!   read of `chrome.storage.local` under the settings' key (for the language the
//!   settings choose; `undefined`: the browser's language).
//! - `optionsMain(root, platform, settings)`: renders the options page into `root` (its previous
//!   content is replaced). `platform` is what the loader read of the package's
//!   `platform.json` (`null` when it could not): what this browser can do
//!   (`quizpulse_chrome::platform`); `settings` as for `popupMain`.
//!
//! Both pages render in the language the settings choose, once its catalog is read
//! (`quizpulse_chrome::i18n::choose`; at once when the browser's language serves).

pub mod chrome;
mod live;
pub mod model;
mod views;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

// `popupMain` (see the crate's doc: a doc comment here would be copied into the JS glue).
#[doc(hidden)]
#[wasm_bindgen(js_name = popupMain, skip_jsdoc)]
pub fn popup_main(
    root: web_sys::Element,
    cached: JsValue,
    place: JsValue,
    platform: JsValue,
    settings: JsValue,
) {
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
    let page = move || views::popup_page(cache, place);
    start(
        root,
        &settings,
        quizpulse::text::k("ext_name"),
        Box::new(page),
    );
}

// `optionsMain` (see the crate's doc).
#[doc(hidden)]
#[wasm_bindgen(js_name = optionsMain, skip_jsdoc)]
pub fn options_main(root: web_sys::Element, platform: JsValue, settings: JsValue) {
    quizpulse_chrome::platform::set(&platform);
    start(
        root,
        &settings,
        quizpulse::text::k("options_title"),
        Box::new(views::Options),
    );
}

/// Renders `page` into `root` in the language the stored settings choose (`settings`:
/// what the page's loader read of `chrome.storage.local`; the browser's language when
/// they cannot be read), once its catalog is read ([`prepare`] first). One boxed page
/// for both: one copy of the code.
fn start(
    root: web_sys::Element,
    settings: &JsValue,
    title: &'static str,
    page: Box<dyn FnOnce() -> sycamore::prelude::View>,
) {
    let language = chrome::preread_session_value(settings, model::settings_key())
        .and_then(Result::ok)
        .and_then(|stored| model::stored_settings(stored.as_ref()).ok())
        .and_then(|settings| settings.language());
    spawn_local(async move {
        quizpulse_chrome::i18n::choose(language).await;
        prepare(&root, title);
        sycamore::render_to(page, &root);
    });
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

    /// The options page's loader reads the settings where the core keeps them.
    #[test]
    fn the_options_loader_reads_the_settings() {
        let loader = include_str!("../static/options.js");
        assert!(loader.contains(&format!("'{}'", crate::model::settings_key())));
    }

    /// The popup's `<head>` script reads the storage keys the wasm expects.
    #[test]
    fn the_loader_reads_the_keys_the_popup_uses() {
        let loader = include_str!("../static/popup_cache.js");
        for key in [
            crate::model::SNAPSHOT_KEY,
            crate::model::UiState::KEY,
            crate::model::settings_key(),
        ] {
            assert!(
                loader.contains(&format!("'{key}'")),
                "popup_cache.js does not read {key}"
            );
        }
    }
}
