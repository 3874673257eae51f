//! The toolbar badge: it tells the state without a click (demanding-user point 1).
//! Each state has its own text, colour and tooltip; "connected, nothing unread" is a
//! real, green zero rather than an empty badge that could mean anything.

use serde::{Deserialize, Serialize};

use crate::conn::ConnState;
use crate::text::Text;
use crate::time::Timestamp;

/// What the adapter sets with `chrome.action.setBadgeText` / `setBadgeBackgroundColor`
/// / `setTitle`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Badge {
    /// Badge text (at most 4 characters).
    pub text: String,
    /// Background colour, `#rrggbb`.
    pub color: String,
    /// The toolbar button's tooltip, for the adapter to put into words.
    pub title: Text,
}

crate::json_struct!(Badge {
    text: req,
    color: req,
    title: req,
});

/// Grey: signed out.
pub const COLOR_SIGNED_OUT: &str = "#9AA0A6";
/// Red: the sign-in was refused.
pub const COLOR_AUTH: &str = "#D93025";
/// Dark grey: offline.
pub const COLOR_OFFLINE: &str = "#5F6368";
/// Amber: connecting or retrying.
pub const COLOR_RECONNECTING: &str = "#F9AB00";
/// Orange: the server fails (unreachable after the quick retries, or errors).
pub const COLOR_SERVER_ERROR: &str = "#E8710A";
/// Blue: unread updates.
pub const COLOR_UNREAD: &str = "#1A73E8";
/// Green: connected, nothing unread.
pub const COLOR_OK: &str = "#188038";

/// The facts the badge is computed from.
#[derive(Debug, Clone, Copy)]
pub struct BadgeInput<'a> {
    /// The connection state.
    pub state: &'a ConnState,
    /// Unread alerts.
    pub unread: u32,
    /// A REST read failed with a server or network error and has not recovered.
    pub server_error: bool,
    /// Notifications muted until then.
    pub muted_until: Option<Timestamp>,
    /// Now, for "retry in 4 s".
    pub now: Timestamp,
}

/// The badge for a state.
pub fn badge(input: BadgeInput<'_>) -> Badge {
    let state = || Text::new("badge_state").text(input.state.describe(input.now));
    let (text, color, title) = match input.state {
        ConnState::SignedOut => (
            "?".to_owned(),
            COLOR_SIGNED_OUT,
            Text::new("badge_signed_out"),
        ),
        ConnState::AuthFailed { .. } => (
            "!".to_owned(),
            COLOR_AUTH,
            Text::new("badge_auth_failed").text(input.state.describe(input.now)),
        ),
        ConnState::Offline => ("off".to_owned(), COLOR_OFFLINE, Text::new("badge_offline")),
        ConnState::Connecting | ConnState::Retrying { .. } => {
            ("…".to_owned(), COLOR_RECONNECTING, state())
        }
        ConnState::Suspended { .. } => ("err".to_owned(), COLOR_SERVER_ERROR, state()),
        ConnState::Connected { .. } if input.server_error => (
            "err".to_owned(),
            COLOR_SERVER_ERROR,
            Text::new("badge_server_error"),
        ),
        ConnState::Connected { .. } if input.unread > 0 => {
            let text = if input.unread > 99 {
                "99+".to_owned()
            } else {
                input.unread.to_string()
            };
            (
                text,
                COLOR_UNREAD,
                Text::new("badge_unread").count(u64::from(input.unread)),
            )
        }
        ConnState::Connected { .. } => ("0".to_owned(), COLOR_OK, Text::new("badge_live")),
    };
    let title = if input.muted_until.is_some_and(|t| t > input.now) {
        Text::new("badge_muted").text(title)
    } else {
        title
    };
    Badge {
        text,
        color: color.to_owned(),
        title,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(state: ConnState, unread: u32, server_error: bool) -> Badge {
        badge(BadgeInput {
            state: &state,
            unread,
            server_error,
            muted_until: None,
            now: Timestamp(0),
        })
    }

    #[test]
    fn every_state_has_a_distinct_badge() {
        let badges = [
            b(ConnState::SignedOut, 0, false),
            b(
                ConnState::AuthFailed {
                    reason: Text::new("auth_expired"),
                },
                0,
                false,
            ),
            b(ConnState::Offline, 0, false),
            b(
                ConnState::Retrying {
                    attempt: 1,
                    of: 5,
                    next_at: Timestamp(2000),
                },
                0,
                false,
            ),
            b(
                ConnState::Suspended {
                    next_at: Timestamp(60_000),
                },
                0,
                false,
            ),
            b(
                ConnState::Connected {
                    since: Timestamp(0),
                },
                3,
                false,
            ),
            b(
                ConnState::Connected {
                    since: Timestamp(0),
                },
                0,
                false,
            ),
        ];
        for (i, x) in badges.iter().enumerate() {
            for y in &badges[i + 1..] {
                assert!(x.text != y.text || x.color != y.color, "{x:?} vs {y:?}");
            }
            assert!(x.text.chars().count() <= 4);
        }
    }

    #[test]
    fn connected_with_nothing_unread_is_a_real_green_zero() {
        let z = b(
            ConnState::Connected {
                since: Timestamp(0),
            },
            0,
            false,
        );
        assert_eq!((z.text.as_str(), z.color.as_str()), ("0", COLOR_OK));
        assert_eq!(
            b(
                ConnState::Connected {
                    since: Timestamp(0)
                },
                120,
                false
            )
            .text,
            "99+"
        );
        assert_eq!(
            b(
                ConnState::Connected {
                    since: Timestamp(0)
                },
                2,
                true
            )
            .color,
            COLOR_SERVER_ERROR
        );
    }

    #[test]
    fn retrying_badge_tooltip_says_when() {
        let r = b(
            ConnState::Retrying {
                attempt: 2,
                of: 5,
                next_at: Timestamp(4000),
            },
            0,
            false,
        );
        assert_eq!(
            r.title,
            Text::new("badge_state").text(
                Text::new("conn_retrying")
                    .number(2)
                    .number(5)
                    .span(std::time::Duration::from_secs(4))
            )
        );
    }

    #[test]
    fn unread_updates_are_counted_and_a_mute_is_said() {
        let muted = badge(BadgeInput {
            state: &ConnState::Connected {
                since: Timestamp(0),
            },
            unread: 3,
            server_error: false,
            muted_until: Some(Timestamp(10)),
            now: Timestamp(0),
        });
        assert_eq!(
            muted.title,
            Text::new("badge_muted").text(Text::new("badge_unread").count(3))
        );
    }
}
