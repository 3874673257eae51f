//! What the options page says about a feature the package's browser does not have
//! ([`quizpulse_chrome::platform`]): shown, switched off, with the reason, never a
//! switch that silently does nothing.

use quizpulse_chrome::platform::Platform;

/// One option as this browser allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    /// The user can switch it.
    pub usable: bool,
    /// The line under it.
    pub hint: String,
}

/// "Keep on screen until dismissed" (`requireInteraction`) in `browser` (its name).
pub fn keep_on_screen(platform: &Platform, browser: &str) -> Offered {
    if platform.notifications.keep_on_screen {
        return Offered {
            usable: true,
            hint: "Notifications stay until you close them.".into(),
        };
    }
    Offered {
        usable: false,
        hint: format!(
            "Not available in {browser}: it does not let an add-on keep a notification on \
             screen, so notifications close when the system decides."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quizpulse_chrome::platform::{Notifications, UNNAMED};

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
        let firefox = keep_on_screen(&platform(false), "Firefox");
        assert!(!firefox.usable);
        assert!(
            firefox.hint.starts_with("Not available in Firefox:"),
            "{}",
            firefox.hint
        );
        let chrome = keep_on_screen(&platform(true), "Chrome");
        assert!(chrome.usable);
        assert_eq!(chrome.hint, "Notifications stay until you close them.");
        let unknown = keep_on_screen(&Platform::least(), UNNAMED);
        assert!(!unknown.usable);
        assert!(unknown.hint.starts_with("Not available in this browser:"));
    }
}
