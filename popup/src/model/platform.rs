//! What the options page says about a feature the package's browser does not have
//! ([`quizpulse_chrome::platform`]): shown, switched off, with the reason, never a
//! switch that silently does nothing.

use quizpulse::text::k;
use quizpulse_chrome::platform::Platform;

/// One option as this browser allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    /// The user can switch it.
    pub usable: bool,
    /// The catalog key of the line under it.
    pub hint: &'static str,
    /// The browser's name, the hint's one placeholder (when it has one).
    pub browser: Option<String>,
}

/// "Keep on screen until dismissed" (`requireInteraction`) in the browser named
/// `browser` (`None`: the package does not say).
pub fn keep_on_screen(platform: &Platform, browser: Option<String>) -> Offered {
    if platform.notifications.keep_on_screen {
        return Offered {
            usable: true,
            hint: k("check_keep_hint"),
            browser: None,
        };
    }
    Offered {
        usable: false,
        hint: if browser.is_some() {
            k("check_keep_unavailable")
        } else {
            k("check_keep_unavailable_here")
        },
        browser,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quizpulse_chrome::platform::Notifications;

    fn platform(all: bool) -> Platform {
        Platform {
            notifications: Notifications {
                keep_on_screen: all,
                silent: all,
                update: all,
                closed_by_user: all,
            },
            match_pattern_ports: all,
        }
    }

    #[test]
    fn keep_on_screen_says_why_where_the_browser_has_none() {
        let firefox = keep_on_screen(&platform(false), Some("Firefox".into()));
        assert!(!firefox.usable);
        assert_eq!(firefox.hint, "check_keep_unavailable");
        assert_eq!(firefox.browser.as_deref(), Some("Firefox"));
        let chrome = keep_on_screen(&platform(true), Some("Chrome".into()));
        assert!(chrome.usable);
        assert_eq!(chrome.hint, "check_keep_hint");
        let unknown = keep_on_screen(&Platform::least(), None);
        assert!(!unknown.usable);
        assert_eq!(unknown.hint, "check_keep_unavailable_here");
    }
}
