//! What the pages show, as plain data: parsed from storage and the worker's answers,
//! testable natively. Settings, snapshots and messages are the core's own types; what
//! the core decides (state words, "retry 2 of 5 in 3 s") is the core's text.

pub mod board;
pub mod form;
pub mod platform;
pub mod sparkline;
pub mod toasts;

use std::time::Duration;

use quizpulse::json::{FromJson, Json};
use quizpulse::messages::{Snapshot, WorkerMessage};
use quizpulse::settings::Settings;
use quizpulse::text::k;
use quizpulse::wire::Performance;
use quizpulse::{ConnState, PersistKey, Text, Timestamp};
use serde::{Deserialize, Serialize};

/// The `chrome.storage.session` key of the cached snapshot: the core's.
pub use quizpulse::client::SNAPSHOT_KEY;

/// Data from the browser as JSON text: a string is taken as JSON text already (what
/// the core's `Persist` stores), anything else is `JSON.stringify`d. Everything is
/// read with the core's one JSON reader (`quizpulse::json::FromJson`): every other
/// reader would repeat the core types' decoders in the wasm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A string: JSON text.
    Text(String),
    /// Other data, stringified.
    Data(String),
}

impl Stored {
    /// The JSON text, whichever way it was stored.
    pub fn json(&self) -> &str {
        match self {
            Stored::Text(text) | Stored::Data(text) => text,
        }
    }
}

/// Reads a [`WorkerMessage`] from its JSON text.
pub fn read_worker_message(json: &str) -> Result<WorkerMessage, String> {
    <WorkerMessage as FromJson>::from_json_text(json).map_err(|e| e.to_string())
}

/// Reads a snapshot as stored or posted: the core's [`Snapshot`] as JSON text.
pub fn read_snapshot(json: &str) -> Result<Snapshot, String> {
    Snapshot::from_json_text(json).map_err(|e| e.to_string())
}

/// The CSS modifier colouring the connection dot: green connected, amber connecting or
/// retrying, red offline or auth failed, grey signed out.
pub fn dot_css(state: &ConnState) -> &'static str {
    match state {
        ConnState::Connected { .. } => "dot dot--ok",
        ConnState::Connecting | ConnState::Retrying { .. } => "dot dot--wait",
        ConnState::Suspended { .. } | ConnState::Offline | ConnState::AuthFailed { .. } => {
            "dot dot--bad"
        }
        ConnState::SignedOut => "dot dot--idle",
    }
}

/// `updated 4 s ago` (ticks with `now`), or `None` before any data.
pub fn updated_ago(last_update: Option<Timestamp>, now: Timestamp) -> Option<Text> {
    last_update.map(|at| Text::new("strip_updated").ago(now.saturating_since(at)))
}

/// `Notifications muted for 59 min`, while a mute lasts.
pub fn muted_text(muted_until: Option<Timestamp>, now: Timestamp) -> Option<Text> {
    muted_until.filter(|until| *until > now).map(|until| {
        // Round up: "for 1 min" until the very end, never "for 0 s".
        let left = until.saturating_since(now) + Duration::from_millis(999);
        Text::new("strip_muted").span(left)
    })
}

/// Time since an RFC 3339 instant (`None` when it does not parse).
pub fn since(rfc3339: &str, now: Timestamp) -> Option<Duration> {
    Timestamp::parse_rfc3339(rfc3339)
        .ok()
        .map(|at| now.saturating_since(at))
}

/// One of the user's recent sessions, with its quiz's title.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentRow {
    /// The quiz's title (its id when the list does not have it).
    pub title: String,
    /// The score.
    pub score: f64,
    /// When (RFC 3339).
    pub completed_at: String,
}

/// The user's recent sessions, newest first, titled from the snapshot's quiz list.
pub fn recent_sessions(performance: &Performance, snapshot: &Snapshot) -> Vec<RecentRow> {
    let mut rows = Vec::with_capacity(performance.recent_sessions.len());
    for s in &performance.recent_sessions {
        insert_newest_first(
            &mut rows,
            RecentRow {
                title: snapshot
                    .quizzes
                    .iter()
                    .find(|q| q.quiz.id == s.quiz_id)
                    .map_or_else(|| s.quiz_id.to_string(), |q| q.quiz.title.clone()),
                score: s.score,
                completed_at: s.completed_at.clone(),
            },
        );
    }
    rows
}

/// Inserts `row` into `rows`, kept newest first, after every row at the same time (so
/// equal times keep their arrival order). RFC 3339 UTC strings of one server sort as
/// times. An insertion sort: the list is short, and `sort_by` would add about 4.5 KB
/// of wasm for this one type.
fn insert_newest_first(rows: &mut Vec<RecentRow>, row: RecentRow) {
    let at = rows
        .iter()
        .position(|r| r.completed_at < row.completed_at)
        .unwrap_or(rows.len());
    rows.insert(at, row);
}

/// The popup's tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tab {
    /// Subject leaderboards.
    #[default]
    Subjects,
    /// Quizzes with their follow switches.
    Quizzes,
    /// The user's own standing.
    Me,
}

quizpulse::from_json_enum!(Tab {
    Subjects = "subjects",
    Quizzes = "quizzes",
    Me = "me",
});

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 3] = [Tab::Subjects, Tab::Quizzes, Tab::Me];

    /// Its label's catalog key.
    pub fn label(self) -> &'static str {
        match self {
            Tab::Subjects => k("tab_subjects"),
            Tab::Quizzes => k("tab_quizzes"),
            Tab::Me => k("tab_me"),
        }
    }

    /// A DOM id stem.
    pub fn id(self) -> &'static str {
        match self {
            Tab::Subjects => "subjects",
            Tab::Quizzes => "quizzes",
            Tab::Me => "me",
        }
    }

    /// The tab `step` places on, wrapping (arrow keys).
    pub fn step(self, step: isize) -> Tab {
        let i = Tab::ALL.iter().position(|t| *t == self).unwrap_or(0) as isize;
        let n = Tab::ALL.len() as isize;
        Tab::ALL[(i + step).rem_euclid(n) as usize]
    }
}

/// Where the user left the popup, kept in the popup's own `localStorage` (nothing of
/// the worker's state: no data, no tokens).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UiState {
    /// The tab shown.
    pub tab: Tab,
    /// The quiz whose board is open on the Quizzes tab.
    pub open_quiz: Option<String>,
    /// Each board as last shown (`subject:<id>`, `quiz:<id>`): rows that differ flash.
    pub seen: quizpulse::small::VecMap<String, board::Seen>,
}

quizpulse::from_json_struct!(UiState default { tab, open_quiz, seen });
quizpulse::to_json_struct!(UiState {
    tab,
    open_quiz,
    seen
});

impl UiState {
    /// The `localStorage` key.
    pub const KEY: &str = "quizpulse.popup";

    /// Reads the stored text; anything unreadable means a fresh start.
    pub fn from_stored(text: Option<&str>) -> UiState {
        text.and_then(|t| UiState::from_json_text(t).ok())
            .unwrap_or_default()
    }
}

/// Whether signing in to `pattern` (`http://host:port/*`) needs host access asked for
/// at run time: its scheme and host are not among the manifest's `host_permissions`
/// (a pattern without a port matches every port).
pub fn needs_host_request(pattern: &str, manifest: &Json) -> bool {
    let split = |p: &str| -> Option<(String, String)> {
        let (scheme, rest) = p.split_once("://")?;
        let authority = rest.split('/').next()?;
        let host = match authority.rsplit_once(':') {
            Some((h, port)) if !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        };
        Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
    };
    let Some((scheme, host)) = split(pattern) else {
        return true;
    };
    let granted = manifest
        .get(hosts_key(manifest))
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str);
    !granted
        .filter_map(split)
        .any(|(s, h)| (s == scheme || s == "*") && (h == host || h == "*"))
}

/// What the worker said to a ping, for the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerStatus {
    /// No answer yet.
    Asking,
    /// It answered with its version.
    Ready(String),
    /// It did not answer, or answered with an error (its words).
    Unavailable(String),
    /// It answered with something else than a pong.
    Unexpected,
}

impl WorkerStatus {
    /// Reads the worker's answer to [`quizpulse::messages::Command::Ping`].
    pub fn from_answer(answer: WorkerMessage) -> Self {
        match answer {
            WorkerMessage::Pong { version } => Self::Ready(version),
            WorkerMessage::Error { message } => Self::Unavailable(message),
            WorkerMessage::Snapshot { .. } => Self::Unexpected,
        }
    }
}

/// The `chrome.storage.local` key of the settings: the one the core reads at start.
pub fn settings_key() -> &'static str {
    PersistKey::Settings.storage_key()
}

/// Stored settings that cannot be read: what the reader said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored settings cannot be read ({0})")]
pub struct StoredSettingsError(pub String);

/// Reads what [`settings_key`] holds: the core's [`Settings`] as JSON text, exactly
/// what the core's `Action::Persist` writes. Nothing stored means the defaults.
pub fn stored_settings(stored: Option<&Stored>) -> Result<Settings, StoredSettingsError> {
    match stored {
        None => Ok(Settings::default()),
        Some(Stored::Text(json)) => {
            Settings::from_json_text(json).map_err(|e| StoredSettingsError(e.to_string()))
        }
        Some(Stored::Data(_)) => Err(StoredSettingsError("not JSON text".into())),
    }
}

/// The host names a manifest grants at install, for display
/// (`http://127.0.0.1/*` → `127.0.0.1`).
pub fn granted_hosts(manifest: &Json) -> Vec<String> {
    manifest
        .get(hosts_key(manifest))
        .and_then(Json::as_array)
        .map(|patterns| {
            patterns
                .iter()
                .filter_map(Json::as_str)
                .filter_map(|p| p.split_once("://").map(|(_, rest)| rest))
                .map(|rest| rest.split('/').next().unwrap_or_default().to_string())
                .filter(|host| !host.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Where a manifest lists the hosts it is granted at install: `host_permissions`
/// (Manifest V3), or `permissions` (Manifest V2, the Firefox package, where API names
/// and origins share the list; the callers read only the entries with a `://`).
fn hosts_key(manifest: &Json) -> &'static str {
    if manifest.get("host_permissions").is_some() {
        "host_permissions"
    } else {
        "permissions"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pong_and_errors() {
        assert_eq!(
            WorkerStatus::from_answer(WorkerMessage::Pong {
                version: "0.1.0".into()
            }),
            WorkerStatus::Ready("0.1.0".into())
        );
        assert_eq!(
            WorkerStatus::from_answer(WorkerMessage::Error {
                message: "nope".into()
            }),
            WorkerStatus::Unavailable("nope".into())
        );
    }

    #[test]
    fn settings_are_the_cores_json_text_under_the_cores_key() {
        assert_eq!(settings_key(), "quizpulse.settings");
        assert_eq!(stored_settings(None), Ok(Settings::default()));
        let saved = Settings {
            server_url: "https://quiz.example.org".into(),
            board_limit: 25,
            ..Settings::default()
        };
        let json = serde_json::to_string(&saved).unwrap();
        assert_eq!(stored_settings(Some(&Stored::Text(json))), Ok(saved));
        let data = Stored::Data(r#"{"server_url": "https://x.example"}"#.into());
        assert!(stored_settings(Some(&data)).is_err());
        assert!(stored_settings(Some(&Stored::Text("{not json".into()))).is_err());
    }

    #[test]
    fn the_dot_has_the_states_colour() {
        let retrying = ConnState::Retrying {
            attempt: 2,
            of: 5,
            next_at: Timestamp::from_secs(3),
        };
        assert_eq!(dot_css(&retrying), "dot dot--wait");
        assert_eq!(dot_css(&ConnState::Offline), "dot dot--bad");
        assert_eq!(dot_css(&ConnState::SignedOut), "dot dot--idle");
        assert_eq!(
            dot_css(&ConnState::Connected {
                since: Timestamp::ZERO
            }),
            "dot dot--ok"
        );
    }

    #[test]
    fn updated_and_muted_tick_with_now() {
        let at = Timestamp::from_secs(100);
        assert_eq!(updated_ago(None, at), None);
        assert_eq!(
            updated_ago(Some(at), Timestamp::from_secs(104)),
            Some(Text::new("strip_updated").ago(Duration::from_secs(4)))
        );
        // A mute's last second still says something left, rounded up.
        assert_eq!(
            muted_text(Some(Timestamp::from_secs(3700)), Timestamp::from_secs(100)),
            Some(Text::new("strip_muted").span(Duration::from_millis(3_600_999)))
        );
        assert_eq!(
            muted_text(Some(Timestamp::from_secs(100)), Timestamp::from_secs(100)),
            None
        );
        assert_eq!(
            since("1970-01-01T00:01:00Z", Timestamp::from_secs(360)),
            Some(Duration::from_secs(300))
        );
        assert_eq!(since("yesterday", Timestamp::from_secs(360)), None);
    }

    #[test]
    fn tabs_wrap_and_ui_state_survives_bad_storage() {
        assert_eq!(Tab::Subjects.step(-1), Tab::Me);
        assert_eq!(Tab::Me.step(1), Tab::Subjects);
        assert_eq!(UiState::from_stored(Some("{nope")), UiState::default());
        let state = UiState {
            tab: Tab::Quizzes,
            open_quiz: Some("quadratics".into()),
            ..UiState::default()
        };
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(UiState::from_stored(Some(&text)), state);
        let mut seen = UiState::default();
        seen.seen.insert(
            "quiz:q1".into(),
            board::Seen::of(&[quizpulse::wire::Entry {
                rank: 1,
                user_id: "u1".into(),
                username: "ann".into(),
                score: 87.5,
                sessions: 2,
            }]),
        );
        for state in [state, seen] {
            // The popup writes its place as serde would (older saves read the same).
            assert_eq!(
                quizpulse::json::ToJson::to_json_text(&state),
                serde_json::to_string(&state).unwrap()
            );
        }
    }

    #[test]
    fn host_access_is_asked_only_beyond_the_build() {
        let manifest =
            Json::parse(r#"{"host_permissions": ["http://127.0.0.1/*", "http://localhost/*"]}"#)
                .unwrap();
        assert!(!needs_host_request("http://127.0.0.1:8000/*", &manifest));
        assert!(!needs_host_request("http://LOCALHOST/*", &manifest));
        assert!(needs_host_request("https://127.0.0.1/*", &manifest));
        assert!(needs_host_request("https://quiz.example.org/*", &manifest));
        assert!(needs_host_request(
            "https://quiz.example.org/*",
            &Json::parse("{}").unwrap()
        ));
    }

    #[test]
    fn the_fixture_is_a_snapshot() {
        let fixture = include_str!("../../../tests/e2e/fixtures/snapshot.json");
        let snapshot = read_snapshot(fixture).unwrap();
        assert!(snapshot.connection.is_connected());
        assert!(read_snapshot(r#"{"connection": {"state": "connected"}}"#).is_err());
        // Worker messages read back exactly as the core writes them.
        for message in [
            WorkerMessage::Snapshot {
                snapshot: Box::new(snapshot.clone()),
            },
            WorkerMessage::Pong {
                version: "0.1.0".into(),
            },
            WorkerMessage::Error {
                message: "nope".into(),
            },
        ] {
            assert_eq!(read_worker_message(&message.to_json()), Ok(message));
        }
        assert!(read_worker_message(r#"{"type": "snapshot"}"#).is_err());
        assert!(read_worker_message(r#"{"type": "gossip"}"#).is_err());
        let perf = snapshot.my_standing.data.as_ref().unwrap();
        let recent = recent_sessions(perf, &snapshot);
        assert!(
            recent
                .windows(2)
                .all(|w| w[0].completed_at >= w[1].completed_at)
        );
        assert!(recent.iter().all(|r| !r.title.is_empty()));
    }

    #[test]
    fn recent_rows_are_newest_first_and_equal_times_keep_their_order() {
        let row = |title: &str, at: &str| RecentRow {
            title: title.into(),
            score: 1.0,
            completed_at: at.into(),
        };
        let mut rows = Vec::new();
        for r in [
            row("b", "2026-01-02T00:00:00Z"),
            row("d", "2026-01-01T00:00:00Z"),
            row("a", "2026-01-03T00:00:00Z"),
            row("c", "2026-01-02T00:00:00Z"),
            row("e", "2026-01-01T00:00:00Z"),
        ] {
            insert_newest_first(&mut rows, r);
        }
        let titles: Vec<&str> = rows.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn hosts_from_the_manifest() {
        let manifest =
            Json::parse(r#"{"host_permissions": ["http://127.0.0.1/*", "http://localhost/*"]}"#)
                .unwrap();
        assert_eq!(granted_hosts(&manifest), vec!["127.0.0.1", "localhost"]);
        assert!(granted_hosts(&Json::parse("{}").unwrap()).is_empty());
    }

    /// The Firefox package is Manifest V2: origins granted at install are in
    /// `permissions`, beside the API names.
    #[test]
    fn hosts_from_a_manifest_v2_permissions_list() {
        let manifest = Json::parse(
            r#"{"permissions": ["storage", "notifications", "http://127.0.0.1/*", "http://localhost/*"],
                "optional_permissions": ["https://*/*"]}"#,
        )
        .unwrap();
        assert_eq!(granted_hosts(&manifest), vec!["127.0.0.1", "localhost"]);
        assert!(!needs_host_request("http://127.0.0.1:8000/*", &manifest));
        assert!(needs_host_request("https://quiz.example.org/*", &manifest));
    }
}
