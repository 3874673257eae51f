//! The user's settings, their validation, and the URLs derived from them.
//!
//! Nothing here is secret (tokens live elsewhere), so settings go into snapshots as is.

use serde::{Deserialize, Serialize};

use crate::text::{Text, k};

/// The loopback reference server (`cargo xtask demo`).
pub const LOOPBACK_SERVER_URL: &str = "http://127.0.0.1:8000";

/// The server a fresh install talks to: the one the build was made for
/// (`cargo xtask dist --server URL` compiles it in as `QUIZPULSE_SERVER`), else the
/// loopback reference server.
pub const DEFAULT_SERVER_URL: &str = match option_env!("QUIZPULSE_SERVER") {
    Some(server) => server,
    None => LOOPBACK_SERVER_URL,
};

/// The socket path of the contract, appended to the server's origin.
pub const SOCKET_PATH: &str = "/ws/leaderboard/";

/// The languages the extension has words in (its catalogs, `_locales/<tag>/`), each
/// with the catalog key of its own name (`Español`, `العربية`): what
/// [`Settings::language`] may choose.
pub const LANGUAGES: [(&str, &str); 4] = [
    ("en", k("language_en")),
    ("es", k("language_es")),
    ("de", k("language_de")),
    ("ar", k("language_ar")),
];

/// What the user configures on the options page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The platform's origin for REST and (unless [`Settings::socket_url`] is set) the
    /// socket: `http(s)://host[:port]`, no path.
    pub server_url: String,
    /// An explicit socket URL (`ws(s)://…`), when it is not the server's origin +
    /// `/ws/leaderboard/`.
    pub socket_url: Option<String>,
    /// The web site quiz links point to (`<site>/quizzes/<id>`); the server's origin
    /// when unset.
    pub site_url: Option<String>,
    /// Follow quizzes seen for the first time (not in the first list ever fetched).
    pub follow_new_quizzes: bool,
    /// How many entries per subject board to ask for (1..=100).
    pub board_limit: u32,
    /// Allow `http://` and `ws://` to a server that is not this computer: the password
    /// and tokens then cross the network unencrypted. Off by default.
    pub allow_insecure: bool,
    /// Notification preferences.
    pub notifications: NotificationPrefs,
    /// The language of every word the extension shows: one of [`LANGUAGES`] (its tag),
    /// or `None` for the browser's UI language (the default).
    pub language: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            server_url: DEFAULT_SERVER_URL.to_owned(),
            socket_url: None,
            site_url: None,
            follow_new_quizzes: false,
            board_limit: 10,
            allow_insecure: false,
            notifications: NotificationPrefs::default(),
            language: None,
        }
    }
}

/// When and how the extension raises browser notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationPrefs {
    /// Master switch for browser notifications (toasts and the badge count stay).
    pub enabled: bool,
    /// New sessions on followed quizzes (quiz session uploads).
    pub new_sessions: bool,
    /// Leaderboard update alerts: a followed quiz's top 10 changes order or gains a
    /// player (who moved).
    pub leaderboard_changes: bool,
    /// The user's own rank changes in a subject.
    pub rank_changes: bool,
    /// Sign-in problems (expiring or rejected sign-in).
    pub account: bool,
    /// A toast in the popup when the server confirms following a quiz.
    pub subscription_confirmations: bool,
    /// A browser notification when the connection stays lost past the quick retries,
    /// and when it is back after that (the popup's toasts for a lost and a restored
    /// connection show either way).
    pub connection: bool,
    /// Keep notifications on screen until dismissed (`requireInteraction`); off by default.
    pub keep_on_screen: bool,
    /// Quiet hours, in local time.
    pub quiet_hours: Option<QuietHours>,
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        NotificationPrefs {
            enabled: true,
            new_sessions: true,
            leaderboard_changes: true,
            rank_changes: true,
            account: true,
            subscription_confirmations: true,
            connection: true,
            keep_on_screen: false,
            quiet_hours: None,
        }
    }
}

/// A daily window without notifications, in minutes after local midnight. The window
/// may wrap midnight (`22:00`–`07:00`); `start == end` is rejected as ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    /// First quiet minute (0..1440).
    pub start_minute: u32,
    /// First minute no longer quiet (0..1440).
    pub end_minute: u32,
}

impl QuietHours {
    /// Whether a local minute of the day falls inside the window.
    pub fn contains(&self, minute: u32) -> bool {
        if self.start_minute <= self.end_minute {
            (self.start_minute..self.end_minute).contains(&minute)
        } else {
            minute >= self.start_minute || minute < self.end_minute
        }
    }
}

crate::json_struct!(Settings default {
    server_url,
    socket_url,
    site_url,
    follow_new_quizzes,
    board_limit,
    allow_insecure,
    notifications,
    language,
});
crate::json_struct!(NotificationPrefs default {
    enabled,
    new_sessions,
    leaderboard_changes,
    rank_changes,
    account,
    subscription_confirmations,
    connection,
    keep_on_screen,
    quiet_hours,
});
crate::json_struct!(QuietHours {
    start_minute: req,
    end_minute: req,
});

/// What is wrong with a setting, said so the user can fix it: the field and what to
/// fix there ([`SettingsError::text`] for people; `Display` gives the key and
/// arguments, for logs). JSON: `{"field": "socket_url", "message": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "field", content = "message", rename_all = "snake_case")]
pub enum SettingsError {
    /// The server URL.
    #[error("server_url: {0}")]
    ServerUrl(Text),
    /// The socket URL.
    #[error("socket_url: {0}")]
    SocketUrl(Text),
    /// The site URL.
    #[error("site_url: {0}")]
    SiteUrl(Text),
    /// The board size.
    #[error("board_limit: {0}")]
    BoardLimit(Text),
    /// The quiet hours.
    #[error("quiet_hours: {0}")]
    QuietHours(Text),
    /// The language.
    #[error("language: {0}")]
    Language(Text),
}

impl SettingsError {
    /// The problem, said with its field's name ("Socket URL: must start with ws://…").
    pub fn text(&self) -> Text {
        let (key, problem) = match self {
            SettingsError::ServerUrl(p) => (k("settings_server_url"), p),
            SettingsError::SocketUrl(p) => (k("settings_socket_url"), p),
            SettingsError::SiteUrl(p) => (k("settings_site_url"), p),
            SettingsError::BoardLimit(p) => (k("settings_board_limit"), p),
            SettingsError::QuietHours(p) => (k("settings_quiet_hours"), p),
            SettingsError::Language(p) => (k("settings_language"), p),
        };
        Text::new(key).text(problem.clone())
    }

    /// The field's name in the JSON (`server_url`, …).
    pub fn field(&self) -> &'static str {
        match self {
            SettingsError::ServerUrl(_) => "server_url",
            SettingsError::SocketUrl(_) => "socket_url",
            SettingsError::SiteUrl(_) => "site_url",
            SettingsError::BoardLimit(_) => "board_limit",
            SettingsError::QuietHours(_) => "quiet_hours",
            SettingsError::Language(_) => "language",
        }
    }
}

/// `{"field": …, "message": …}`, as its serde `Serialize` writes it (tests compare both).
impl crate::json::ToJson for SettingsError {
    fn write_json(&self, out: &mut String) {
        let (field, message) = match self {
            SettingsError::ServerUrl(m) => ("server_url", m),
            SettingsError::SocketUrl(m) => ("socket_url", m),
            SettingsError::SiteUrl(m) => ("site_url", m),
            SettingsError::BoardLimit(m) => ("board_limit", m),
            SettingsError::QuietHours(m) => ("quiet_hours", m),
            SettingsError::Language(m) => ("language", m),
        };
        crate::json::push(out, r#"{"field":"#);
        crate::json::push_str_literal(out, field);
        crate::json::push(out, r#","message":"#);
        crate::json::ToJson::write_json(message, out);
        out.push('}');
    }
}

impl crate::json::FromJson for SettingsError {
    fn from_json(json: crate::json::Json) -> Result<Self, serde_json::Error> {
        let mut obj = crate::json::Object::new(json, "enum SettingsError")?;
        let field: String = obj.req("field")?;
        let message: Text = obj.req("message")?;
        Ok(match field.as_str() {
            "server_url" => SettingsError::ServerUrl(message),
            "socket_url" => SettingsError::SocketUrl(message),
            "site_url" => SettingsError::SiteUrl(message),
            "board_limit" => SettingsError::BoardLimit(message),
            "quiet_hours" => SettingsError::QuietHours(message),
            "language" => SettingsError::Language(message),
            other => {
                return Err(<serde_json::Error as serde::de::Error>::unknown_variant(
                    other,
                    &[
                        "server_url",
                        "socket_url",
                        "site_url",
                        "board_limit",
                        "quiet_hours",
                        "language",
                    ],
                ));
            }
        })
    }
}

/// A URL split into the parts the settings care about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl {
    /// Lower-cased scheme (`http`, `https`, `ws`, `wss`).
    pub scheme: String,
    /// Lower-cased host (an IPv6 literal keeps its brackets).
    pub host: String,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// The path, `""` when none (never with a query or fragment).
    pub path: String,
}

impl ParsedUrl {
    /// Whether traffic to it stays on this computer (`localhost`, `127.0.0.0/8`, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        let h = self.host.as_str();
        h == "localhost"
            || h.ends_with(".localhost")
            || h == "[::1]"
            || h.strip_prefix("127.").is_some_and(|rest| {
                let parts: Vec<&str> = rest.split('.').collect();
                parts.len() == 3 && parts.iter().all(|p| p.parse::<u8>().is_ok())
            })
    }

    /// Whether it is encrypted (`https`, `wss`).
    pub fn is_secure(&self) -> bool {
        matches!(self.scheme.as_str(), "https" | "wss")
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{}", self.scheme, self.host, p),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }
}

/// Parses an absolute URL with one of two `schemes` (the plain one, the secure one),
/// rejecting user info, queries, fragments, spaces and empty hosts. The error says what
/// to fix.
pub fn parse_url(text: &str, schemes: &[&str; 2]) -> Result<ParsedUrl, Text> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Text::new("url_empty"));
    }
    let starts = |key: &'static str| {
        Text::new(key)
            .plain(format!("{}://", schemes[0]))
            .plain(format!("{}://", schemes[1]))
    };
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(starts(k("url_scheme")));
    };
    let scheme = scheme.to_ascii_lowercase();
    if !schemes.contains(&scheme.as_str()) {
        return Err(starts(k("url_scheme_not")).plain(format!("{scheme}://")));
    }
    if rest.contains(char::is_whitespace) {
        return Err(Text::new("url_spaces"));
    }
    if rest.contains(['?', '#']) {
        return Err(Text::new("url_query"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(Text::new("url_user"));
    }
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let Some(end) = stripped.find(']') else {
            return Err(Text::new("url_ipv6"));
        };
        let host = &authority[..end + 2];
        (host, authority[end + 2..].strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(Text::new("url_no_host"));
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    {
        return Err(Text::new("url_bad_host").plain(host));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(Text::new("url_bad_port").plain(p)),
        },
    };
    Ok(ParsedUrl {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
        path: path.to_owned(),
    })
}

impl Settings {
    /// Checks every field and returns the settings normalised (origins without a
    /// trailing slash, empty optional URLs as `None`), or the first problem found.
    pub fn validated(&self) -> Result<Settings, SettingsError> {
        let server =
            parse_url(&self.server_url, &["http", "https"]).map_err(SettingsError::ServerUrl)?;
        if !(server.path.is_empty() || server.path == "/") {
            return Err(SettingsError::ServerUrl(
                Text::new("url_path")
                    .plain(server.origin())
                    .plain(server.path.as_str()),
            ));
        }
        // The password and tokens travel to these two: in clear text only to this
        // computer, or when the user said so.
        let plain_ok = |u: &ParsedUrl| u.is_secure() || u.is_loopback() || self.allow_insecure;
        if !plain_ok(&server) {
            return Err(SettingsError::ServerUrl(
                Text::new("url_needs_https")
                    .text(Text::new("check_insecure"))
                    .plain(format!(
                        "https://{}",
                        server
                            .origin()
                            .split_once("://")
                            .map_or("", |(_, rest)| rest)
                    )),
            ));
        }
        let socket_url = match self.socket_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let u = parse_url(text, &["ws", "wss"]).map_err(SettingsError::SocketUrl)?;
                if !plain_ok(&u) {
                    return Err(SettingsError::SocketUrl(
                        Text::new("url_needs_wss").text(Text::new("check_insecure")),
                    ));
                }
                let path = if u.path.is_empty() {
                    "/".to_owned()
                } else {
                    u.path.clone()
                };
                Some(format!("{}{}", u.origin(), path))
            }
        };
        let site_url = match self.site_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let u = parse_url(text, &["http", "https"]).map_err(SettingsError::SiteUrl)?;
                Some(format!("{}{}", u.origin(), u.path.trim_end_matches('/')))
            }
        };
        if !(1..=100).contains(&self.board_limit) {
            return Err(SettingsError::BoardLimit(
                Text::new("board_limit_range").plain(self.board_limit.to_string()),
            ));
        }
        if let Some(q) = self.notifications.quiet_hours {
            if q.start_minute >= 1440 || q.end_minute >= 1440 {
                return Err(SettingsError::QuietHours(Text::new("quiet_within_day")));
            }
            if q.start_minute == q.end_minute {
                return Err(SettingsError::QuietHours(Text::new("quiet_differ")));
            }
        }
        if let Some(tag) = &self.language
            && self.language().is_none()
        {
            return Err(SettingsError::Language(
                Text::new("language_unknown").plain(tag.as_str()),
            ));
        }
        Ok(Settings {
            server_url: server.origin(),
            socket_url,
            site_url,
            ..self.clone()
        })
    }

    /// The language chosen for the words, as one of [`LANGUAGES`]' tags; `None` for the
    /// browser's own (also when the stored tag is none of them: the adapters fetch a
    /// catalog only by a tag from this list).
    pub fn language(&self) -> Option<&'static str> {
        let chosen = self.language.as_deref()?;
        LANGUAGES
            .iter()
            .map(|(tag, _)| *tag)
            .find(|tag| *tag == chosen)
    }

    /// The REST base (the server's origin, no trailing slash).
    pub fn api_base(&self) -> &str {
        self.server_url.trim_end_matches('/')
    }

    /// The socket URL without the token: the explicit one, or `ws(s)://<server host>/ws/leaderboard/`.
    pub fn socket_base(&self) -> String {
        if let Some(url) = &self.socket_url {
            return url.clone();
        }
        let base = self.api_base();
        let ws = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_owned()
        };
        format!("{ws}{SOCKET_PATH}")
    }

    /// The socket URL carrying an access token: `<socket base>?token=<jwt>`.
    pub fn socket_url_with_token(&self, access: &str) -> String {
        format!("{}?token={}", self.socket_base(), percent_encode(access))
    }

    /// The page of a quiz on the configured site: `<site>/quizzes/<id>`.
    pub fn quiz_page_url(&self, quiz_id: &str) -> String {
        let site = self.site_url.as_deref().unwrap_or(self.api_base());
        format!(
            "{}/quizzes/{}",
            site.trim_end_matches('/'),
            percent_encode(quiz_id)
        )
    }

    /// Where tokens go: the REST origin and the socket's origin (`scheme://host[:port]`).
    /// A sign-in belongs to these; when either changes, it ends.
    pub fn token_origins(&self) -> (String, String) {
        let socket = self.socket_base();
        let origin_end = socket
            .find("://")
            .and_then(|i| socket[i + 3..].find('/').map(|j| i + 3 + j))
            .unwrap_or(socket.len());
        (self.api_base().to_owned(), socket[..origin_end].to_owned())
    }

    /// The origin host access is needed for (`<server origin>/*` as a match pattern).
    pub fn host_permission_pattern(&self) -> String {
        format!("{}/*", self.api_base())
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_server(url: &str) -> Settings {
        Settings {
            server_url: url.into(),
            ..Settings::default()
        }
    }

    #[test]
    fn server_url_is_normalised_and_socket_url_derived() {
        let s = with_server(" HTTPS://Quiz.Example.com/ ")
            .validated()
            .unwrap();
        assert_eq!(s.server_url, "https://quiz.example.com");
        assert_eq!(s.socket_base(), "wss://quiz.example.com/ws/leaderboard/");
        let s = with_server("http://127.0.0.1:8000").validated().unwrap();
        assert_eq!(s.socket_base(), "ws://127.0.0.1:8000/ws/leaderboard/");
        assert_eq!(
            s.socket_url_with_token("a.b-c_d"),
            "ws://127.0.0.1:8000/ws/leaderboard/?token=a.b-c_d"
        );
    }

    #[test]
    fn server_url_rejects_other_schemes_paths_and_junk_with_clear_messages() {
        let scheme = |key: &'static str| Text::new(key).plain("http://").plain("https://");
        let cases = [
            ("", Text::new("url_empty")),
            ("quiz.example.com", scheme("url_scheme")),
            (
                "ftp://quiz.example.com",
                scheme("url_scheme_not").plain("ftp://"),
            ),
            (
                "ws://quiz.example.com",
                scheme("url_scheme_not").plain("ws://"),
            ),
            (
                "https://quiz.example.com/api/",
                Text::new("url_path")
                    .plain("https://quiz.example.com")
                    .plain("/api/"),
            ),
            ("https://quiz.example.com?x=1", Text::new("url_query")),
            ("https://user:pw@quiz.example.com", Text::new("url_user")),
            ("https://:8000", Text::new("url_no_host")),
            ("https://", Text::new("url_no_host")),
            (
                "https://quiz.example.com:99999",
                Text::new("url_bad_port").plain("99999"),
            ),
            ("https://quiz example.com", Text::new("url_spaces")),
            (
                "http://quiz.example.com",
                Text::new("url_needs_https")
                    .text(Text::new("check_insecure"))
                    .plain("https://quiz.example.com"),
            ),
        ];
        for (url, expected) in cases {
            let err = with_server(url).validated().unwrap_err();
            assert_eq!(err, SettingsError::ServerUrl(expected.clone()), "{url}");
            assert_eq!(err.text(), Text::new("settings_server_url").text(expected));
            // Read back from its JSON as the popup reads it.
            let json = serde_json::to_string(&err).unwrap();
            assert_eq!(
                <SettingsError as crate::json::FromJson>::from_json_text(&json).unwrap(),
                err
            );
        }
    }

    #[test]
    fn explicit_socket_url_must_be_ws_or_wss() {
        let mut s = with_server("https://quiz.example.com");
        s.socket_url = Some("wss://live.example.com/ws/leaderboard/".into());
        assert_eq!(
            s.validated().unwrap().socket_base(),
            "wss://live.example.com/ws/leaderboard/"
        );
        s.socket_url = Some("https://live.example.com/ws/".into());
        assert!(matches!(s.validated(), Err(SettingsError::SocketUrl(_))));
        s.socket_url = Some("  ".into());
        assert_eq!(s.validated().unwrap().socket_url, None);
    }

    #[test]
    fn quiz_links_use_the_site_url_or_the_server() {
        let mut s = with_server("https://api.example.com").validated().unwrap();
        assert_eq!(
            s.quiz_page_url("q 1"),
            "https://api.example.com/quizzes/q%201"
        );
        s.site_url = Some("https://www.example.com/".into());
        let s = s.validated().unwrap();
        assert_eq!(s.quiz_page_url("q1"), "https://www.example.com/quizzes/q1");
    }

    #[test]
    fn quiet_hours_wrap_midnight_and_are_validated() {
        let q = QuietHours {
            start_minute: 22 * 60,
            end_minute: 7 * 60,
        };
        assert!(q.contains(23 * 60) && q.contains(0) && q.contains(6 * 60 + 59));
        assert!(!q.contains(7 * 60) && !q.contains(12 * 60));
        let mut s = Settings::default();
        s.notifications.quiet_hours = Some(QuietHours {
            start_minute: 60,
            end_minute: 60,
        });
        assert!(matches!(s.validated(), Err(SettingsError::QuietHours(_))));
        s.notifications.quiet_hours = Some(QuietHours {
            start_minute: 1440,
            end_minute: 60,
        });
        assert!(matches!(s.validated(), Err(SettingsError::QuietHours(_))));
    }

    #[test]
    fn board_limit_is_bounded() {
        let s = Settings {
            board_limit: 0,
            ..Settings::default()
        };
        assert!(matches!(s.validated(), Err(SettingsError::BoardLimit(_))));
    }

    #[test]
    fn the_language_is_the_browsers_or_one_with_a_catalog() {
        let with = |tag: Option<&str>| Settings {
            language: tag.map(str::to_owned),
            ..Settings::default()
        };
        assert_eq!(Settings::default().language(), None);
        assert_eq!(with(None).validated().unwrap().language, None);
        for (tag, _) in LANGUAGES {
            let s = with(Some(tag)).validated().unwrap();
            assert_eq!(s.language(), Some(tag));
        }
        for bad in ["fr", "", "AR", " ar", "ar-EG", "../en", "en/../../x"] {
            let err = with(Some(bad)).validated().unwrap_err();
            assert_eq!(
                err,
                SettingsError::Language(Text::new("language_unknown").plain(bad))
            );
            assert_eq!(err.field(), "language");
            assert_eq!(
                err.text(),
                Text::new("settings_language").text(Text::new("language_unknown").plain(bad))
            );
            let json = serde_json::to_string(&err).unwrap();
            assert_eq!(crate::json::ToJson::to_json_text(&err), json);
            assert_eq!(
                <SettingsError as crate::json::FromJson>::from_json_text(&json).unwrap(),
                err
            );
            // A tag stored unvalidated (a newer version's) is never a catalog to fetch.
            assert_eq!(with(Some(bad)).language(), None);
        }
    }

    #[test]
    fn the_language_round_trips_with_the_other_settings() {
        let s = Settings {
            language: Some("de".into()),
            ..Settings::default()
        };
        let json = crate::json::ToJson::to_json_text(&s);
        assert_eq!(json, serde_json::to_string(&s).unwrap());
        assert!(json.ends_with(r#","language":"de"}"#), "{json}");
        let back = <Settings as crate::json::FromJson>::from_json_text(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!(serde_json::from_str::<Settings>(&json).unwrap(), s);
        // Settings stored before the language existed follow the browser.
        let old = <Settings as crate::json::FromJson>::from_json_text(
            r#"{"server_url":"https://x.example"}"#,
        )
        .unwrap();
        assert_eq!(old.language, None);
    }

    #[test]
    fn settings_decode_with_missing_fields_as_defaults() {
        let s: Settings = serde_json::from_str(r#"{"server_url":"https://x.example"}"#).unwrap();
        assert_eq!(s.board_limit, 10);
        assert!(s.notifications.enabled);
        assert!(!s.notifications.keep_on_screen);
        // Settings stored before a switch existed load with it at its default.
        let old: Settings = serde_json::from_str(
            r#"{"notifications": {"new_sessions": false, "rank_changes": true}}"#,
        )
        .unwrap();
        assert!(!old.notifications.new_sessions);
        assert!(old.notifications.leaderboard_changes);
        assert!(old.notifications.subscription_confirmations);
        assert!(old.notifications.connection);
    }
}
