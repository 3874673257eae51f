//! The options page's settings form: text fields to the core's [`Settings`] and back,
//! with each of the core's errors tied to its field.

use quizpulse::Text;
use quizpulse::settings::{QuietHours, Settings, SettingsError};
use quizpulse::text::k;

/// A form field an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Server URL.
    ServerUrl,
    /// Socket URL.
    SocketUrl,
    /// Quiz site URL.
    SiteUrl,
    /// Leaderboard size.
    BoardLimit,
    /// Quiet hours.
    QuietHours,
    /// The language.
    Language,
}

/// An error to show at a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where.
    pub field: Field,
    /// What is wrong, for the page to put into words.
    pub message: Text,
}

impl From<SettingsError> for FieldError {
    fn from(err: SettingsError) -> Self {
        let field = match err {
            SettingsError::ServerUrl(_) => Field::ServerUrl,
            SettingsError::SocketUrl(_) => Field::SocketUrl,
            SettingsError::SiteUrl(_) => Field::SiteUrl,
            SettingsError::BoardLimit(_) => Field::BoardLimit,
            SettingsError::QuietHours(_) => Field::QuietHours,
            SettingsError::Language(_) => Field::Language,
        };
        FieldError {
            field,
            message: err.text(),
        }
    }
}

/// The form's fields as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsForm {
    /// Server URL.
    pub server_url: String,
    /// Socket URL, empty for the default.
    pub socket_url: String,
    /// Quiz site URL, empty for the server.
    pub site_url: String,
    /// Leaderboard size.
    pub board_limit: String,
    /// Follow quizzes seen for the first time.
    pub follow_new_quizzes: bool,
    /// Allow unencrypted connections to another computer.
    pub allow_insecure: bool,
    /// Browser notifications at all.
    pub notify_enabled: bool,
    /// New sessions on followed quizzes.
    pub notify_new_sessions: bool,
    /// Leaderboard changes on followed quizzes.
    pub notify_leaderboard_changes: bool,
    /// Rank changes.
    pub notify_rank_changes: bool,
    /// Subscription confirmations (a toast).
    pub notify_subscriptions: bool,
    /// Connection lost for a while, and back.
    pub notify_connection: bool,
    /// Sign-in problems.
    pub notify_account: bool,
    /// Keep notifications on screen until dismissed.
    pub keep_on_screen: bool,
    /// Quiet hours on.
    pub quiet: bool,
    /// Quiet from (`HH:MM`).
    pub quiet_start: String,
    /// Quiet until (`HH:MM`).
    pub quiet_end: String,
    /// The language's tag, empty for the browser's.
    pub language: String,
}

/// `HH:MM` for minutes after midnight.
pub fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60 % 24, minute % 60)
}

/// Minutes after midnight from `HH:MM`.
pub fn parse_hhmm(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

impl SettingsForm {
    /// The form showing `settings`.
    pub fn from_settings(settings: &Settings) -> SettingsForm {
        let n = &settings.notifications;
        let quiet = n.quiet_hours.unwrap_or(QuietHours {
            start_minute: 22 * 60,
            end_minute: 7 * 60,
        });
        SettingsForm {
            server_url: settings.server_url.clone(),
            socket_url: settings.socket_url.clone().unwrap_or_default(),
            site_url: settings.site_url.clone().unwrap_or_default(),
            board_limit: settings.board_limit.to_string(),
            follow_new_quizzes: settings.follow_new_quizzes,
            allow_insecure: settings.allow_insecure,
            notify_enabled: n.enabled,
            notify_new_sessions: n.new_sessions,
            notify_leaderboard_changes: n.leaderboard_changes,
            notify_rank_changes: n.rank_changes,
            notify_subscriptions: n.subscription_confirmations,
            notify_connection: n.connection,
            notify_account: n.account,
            keep_on_screen: n.keep_on_screen,
            quiet: n.quiet_hours.is_some(),
            quiet_start: hhmm(quiet.start_minute),
            quiet_end: hhmm(quiet.end_minute),
            language: settings.language.clone().unwrap_or_default(),
        }
    }

    /// The settings the form says, checked by the core's rules (normalised), or the
    /// first problem at its field.
    pub fn to_settings(&self) -> Result<Settings, FieldError> {
        let board_limit = self.board_limit.trim().parse().map_err(|_| FieldError {
            field: Field::BoardLimit,
            message: Text::new("form_board_limit_not_number").plain(self.board_limit.trim()),
        })?;
        let quiet_hours = if self.quiet {
            let time = |text: &str, key: &'static str| {
                parse_hhmm(text).ok_or_else(|| FieldError {
                    field: Field::QuietHours,
                    message: Text::new(key),
                })
            };
            Some(QuietHours {
                start_minute: time(&self.quiet_start, k("form_quiet_start_bad"))?,
                end_minute: time(&self.quiet_end, k("form_quiet_end_bad"))?,
            })
        } else {
            None
        };
        let optional = |text: &str| {
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_owned())
        };
        let mut settings = Settings {
            server_url: self.server_url.trim().to_owned(),
            socket_url: optional(&self.socket_url),
            site_url: optional(&self.site_url),
            follow_new_quizzes: self.follow_new_quizzes,
            allow_insecure: self.allow_insecure,
            board_limit,
            language: optional(&self.language),
            ..Settings::default()
        };
        let n = &mut settings.notifications;
        n.enabled = self.notify_enabled;
        n.new_sessions = self.notify_new_sessions;
        n.leaderboard_changes = self.notify_leaderboard_changes;
        n.rank_changes = self.notify_rank_changes;
        n.subscription_confirmations = self.notify_subscriptions;
        n.connection = self.notify_connection;
        n.account = self.notify_account;
        n.keep_on_screen = self.keep_on_screen;
        n.quiet_hours = quiet_hours;
        Ok(settings.validated()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_round_trips_the_settings() {
        let mut settings = Settings {
            server_url: "https://quiz.example.org".into(),
            socket_url: Some("wss://live.example.org/ws/".into()),
            site_url: Some("https://www.example.org".into()),
            board_limit: 25,
            language: Some("ar".into()),
            ..Settings::default()
        };
        settings.notifications.keep_on_screen = true;
        settings.notifications.rank_changes = false;
        settings.notifications.connection = false;
        settings.notifications.subscription_confirmations = false;
        settings.notifications.leaderboard_changes = false;
        settings.notifications.quiet_hours = Some(QuietHours {
            start_minute: 22 * 60 + 30,
            end_minute: 7 * 60,
        });
        let form = SettingsForm::from_settings(&settings);
        assert_eq!(form.quiet_start, "22:30");
        assert_eq!(form.to_settings(), Ok(settings));
    }

    #[test]
    fn errors_land_at_their_field() {
        let mut form = SettingsForm::from_settings(&Settings::default());
        form.socket_url = "http://nope".into();
        let err = form.to_settings().unwrap_err();
        assert_eq!(err.field, Field::SocketUrl);
        let core = Text::new("url_scheme_not")
            .plain("ws://")
            .plain("wss://")
            .plain("http://");
        assert_eq!(
            err.message,
            Text::new("settings_socket_url").text(core.clone())
        );
        assert_eq!(FieldError::from(SettingsError::SocketUrl(core)), err);

        let mut form = SettingsForm::from_settings(&Settings::default());
        form.board_limit = "lots".into();
        assert_eq!(
            form.to_settings().unwrap_err(),
            FieldError {
                field: Field::BoardLimit,
                message: Text::new("form_board_limit_not_number").plain("lots"),
            }
        );
        form.board_limit = "500".into();
        assert_eq!(form.to_settings().unwrap_err().field, Field::BoardLimit);

        let mut form = SettingsForm::from_settings(&Settings::default());
        form.quiet = true;
        form.quiet_start = "25:00".into();
        assert_eq!(
            form.to_settings().unwrap_err(),
            FieldError {
                field: Field::QuietHours,
                message: Text::new("form_quiet_start_bad"),
            }
        );
    }

    #[test]
    fn empty_optional_urls_mean_the_defaults() {
        let mut form = SettingsForm::from_settings(&Settings::default());
        form.socket_url = "  ".into();
        let settings = form.to_settings().unwrap();
        assert_eq!(settings.socket_url, None);
        assert_eq!(settings.language, None);
        form.language = "fr".into();
        assert_eq!(form.to_settings().unwrap_err().field, Field::Language);
        assert_eq!(settings.notifications.quiet_hours, None);
    }

    #[test]
    fn times_are_hh_mm() {
        assert_eq!(parse_hhmm("07:05"), Some(425));
        assert_eq!(parse_hhmm("24:00"), None);
        assert_eq!(parse_hhmm("7"), None);
        assert_eq!(hhmm(425), "07:05");
    }
}
