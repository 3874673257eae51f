//! What the browser a package was built for can do, as data: `platform.json` at the
//! package's root, written by `cargo xtask dist` for each browser (`dist/` for Chromium
//! browsers, `dist-firefox/` for Firefox). The wasm is the same in both packages; the
//! loaders (the background's, the popup's, the options page's) read the file while the
//! wasm loads and hand it over ([`set`]), the adapters read [`current`] instead of
//! asking which browser they run in, and the core never sees it.
//!
//! Listed here is what an adapter cannot find by looking for an API: an option an API
//! does not take (Firefox's `notifications.create` refuses the whole call when given
//! `requireInteraction` or `silent`), an API that is missing, an event argument that is
//! always the same value (Firefox reports every notification close as the user's), and
//! how match patterns are read (Firefox's have no port).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::property;

/// The file, at the package's root.
pub const FILE: &str = "platform.json";

/// What the notifications API of the package's browser does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notifications {
    /// `requireInteraction`: a notification stays on screen until the user closes it.
    pub keep_on_screen: bool,
    /// `silent`: an update in place does not sound or pop up again.
    pub silent: bool,
    /// `notifications.update`: a notification is changed in place (without it, it is
    /// created again under the same id, which replaces it).
    pub update: bool,
    /// `onClosed`'s `byUser` tells a close by the user from one by the system.
    pub closed_by_user: bool,
}

/// What the package's browser can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// The notifications API.
    pub notifications: Notifications,
    /// Match patterns may name a port (`http://127.0.0.1:8000/*`). Firefox's may not:
    /// one with a port matches nothing, and one without matches every port.
    pub match_pattern_ports: bool,
}

impl Platform {
    /// What is assumed when `platform.json` cannot be read: nothing optional (every
    /// option left out still works everywhere).
    pub fn least() -> Platform {
        Platform {
            notifications: Notifications {
                keep_on_screen: false,
                silent: false,
                update: false,
                closed_by_user: false,
            },
            match_pattern_ports: false,
        }
    }

    /// Reads `platform.json`'s parsed value; a missing or non-boolean field is `false`
    /// (not available).
    pub fn from_js(value: &JsValue) -> Platform {
        let flag = |object: &JsValue, name: &str| property(object, name).as_bool() == Some(true);
        let notifications = property(value, "notifications");
        Platform {
            notifications: Notifications {
                keep_on_screen: flag(&notifications, "keep_on_screen"),
                silent: flag(&notifications, "silent"),
                update: flag(&notifications, "update"),
                closed_by_user: flag(&notifications, "closed_by_user"),
            },
            match_pattern_ports: flag(value, "match_pattern_ports"),
        }
    }

    /// `pattern` as this browser reads match patterns: as it is where they may name a
    /// port, else without its port (matching the host on every port).
    pub fn pattern(&self, pattern: &str) -> String {
        if self.match_pattern_ports {
            pattern.to_owned()
        } else {
            without_port(pattern)
        }
    }
}

/// A match pattern without the port of its host (`http://h:8000/*` → `http://h/*`).
pub fn without_port(pattern: &str) -> String {
    let bytes = pattern.as_bytes();
    let start = bytes
        .windows(3)
        .position(|w| w == b"://")
        .map_or(0, |i| i + 3);
    let end = bytes[start..]
        .iter()
        .position(|b| *b == b'/')
        .map_or(bytes.len(), |i| start + i);
    // The last colon of the host, unless it is inside an IPv6 literal (`[::1]`).
    match bytes[start..end].iter().rposition(|b| *b == b':') {
        Some(colon) if !bytes[start + colon..end].contains(&b']') => {
            let mut out = String::with_capacity(pattern.len());
            out.push_str(&pattern[..start + colon]);
            out.push_str(&pattern[end..]);
            out
        }
        _ => pattern.to_owned(),
    }
}

thread_local! {
    static SET: RefCell<Option<(Platform, String)>> = const { RefCell::new(None) };
}

/// Keeps what the loader read of `platform.json` (its parsed value, or `null` when it
/// could not be read) for [`current`] and [`browser`].
pub fn set(value: &JsValue) {
    let read = if value.is_object() {
        let name = property(value, "browser").as_string().unwrap_or_default();
        (Platform::from_js(value), name)
    } else {
        crate::console(
            "console.error",
            "QuizPulse: platform.json could not be read; assuming no optional browser features",
        );
        (Platform::least(), String::new())
    };
    SET.with(|p| *p.borrow_mut() = Some(read));
}

/// The platform the loader handed over ([`Platform::least`] before that).
pub fn current() -> Platform {
    SET.with(|p| p.borrow().as_ref().map(|(platform, _)| *platform))
        .unwrap_or_else(Platform::least)
}

/// The browser's name, for the UI ("not available in Firefox"); `None` when
/// `platform.json` gives none.
pub fn browser() -> Option<String> {
    SET.with(|p| match p.borrow().as_ref() {
        Some((_, name)) if !name.is_empty() => Some(name.clone()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::without_port;

    #[test]
    fn a_pattern_loses_its_port_only() {
        assert_eq!(
            without_port("http://127.0.0.1:8000/*"),
            "http://127.0.0.1/*"
        );
        assert_eq!(
            without_port("https://quiz.example.org:8443/*"),
            "https://quiz.example.org/*"
        );
        assert_eq!(
            without_port("https://quiz.example.org/*"),
            "https://quiz.example.org/*"
        );
        assert_eq!(without_port("http://[::1]:8000/*"), "http://[::1]/*");
        assert_eq!(without_port("http://[::1]/*"), "http://[::1]/*");
        assert_eq!(without_port("https://*/*"), "https://*/*");
        assert_eq!(without_port("<all_urls>"), "<all_urls>");
    }
}
