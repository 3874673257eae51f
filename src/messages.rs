//! Popup ↔ service worker messages (JSON over the `popup` port): typed commands in,
//! state snapshots out. Snapshots carry state, never tokens or passwords.

use crate::json::{FromJson, Json, ToJson};
use crate::small::VecMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::badge::Badge;
use crate::conn::ConnState;
use crate::events::LogEntry;
use crate::notify::Toast;
use crate::settings::{Settings, SettingsError};
use crate::text::Text;
use crate::time::Timestamp;
use crate::wire::{Performance, Quiz, QuizBoard, QuizId, SubjectBoard, SubjectId};

/// A string that never shows in `Debug` output (passwords).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A field a decoded record needs, or serde's wording for its absence.
pub(crate) fn need<T>(value: Option<T>, field: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{field}`"))
}

/// An extension page that connects a port to the worker for snapshots, told apart by
/// the port's name. Only the popup being opened is the user seeing the news: it alone
/// clears the unread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The toolbar popup (port `popup`).
    Popup,
    /// The options page (port `options`).
    Options,
}

impl Page {
    /// Every page, for lookups.
    pub const ALL: [Page; 2] = [Page::Popup, Page::Options];

    /// The name of the page's port to the worker.
    pub fn port_name(self) -> &'static str {
        match self {
            Page::Popup => "popup",
            Page::Options => "options",
        }
    }

    /// The page a port's name stands for (`None`: not a page's port).
    pub fn from_port_name(name: &str) -> Option<Page> {
        Page::ALL.into_iter().find(|page| page.port_name() == name)
    }
}

/// The port name prefix of a quiz page's content script: `quiz:<quiz id>`.
pub const QUIZ_PORT_PREFIX: &str = "quiz:";

/// Who sent a runtime message or opened a port, as the browser's `sender` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// One of this extension's own pages (popup, options page): this extension's id,
    /// and a URL on the extension's own origin.
    ExtensionPage,
    /// This extension's content script in a web page's tab.
    ContentScript {
        /// The tab.
        tab: crate::subscriptions::TabId,
    },
    /// Anyone else: another extension, a web page, a sender without a tab or URL.
    Other,
}

impl Sender {
    /// Reads the browser's `sender`: whether its extension id is this extension's
    /// (`own_id`), whether its URL is on this extension's origin (`own_origin`: the
    /// worker compares it with `runtime.getURL("")`), and its tab's id.
    pub fn classify(
        own_id: bool,
        own_origin: bool,
        tab: Option<crate::subscriptions::TabId>,
    ) -> Sender {
        match (own_id, own_origin, tab) {
            (true, true, _) => Sender::ExtensionPage,
            (true, false, Some(tab)) => Sender::ContentScript { tab },
            _ => Sender::Other,
        }
    }

    /// Whether it may send commands (sign in, settings, follows…): only the extension's
    /// own pages. A content script runs beside a web page the extension does not
    /// control; it only tells which quiz its tab shows, by its port.
    pub fn may_command(self) -> bool {
        self == Sender::ExtensionPage
    }
}

/// What a connecting port is, once its name and sender agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRole {
    /// An extension page that gets snapshots and may send commands.
    Page(Page),
    /// A content script saying its tab shows a quiz page.
    QuizTab {
        /// The tab.
        tab: crate::subscriptions::TabId,
        /// The quiz (an id a page may ask for).
        quiz: QuizId,
    },
}

impl PortRole {
    /// Decides what a port is: `popup` and `options` only from the extension's own
    /// pages; `quiz:<id>` only from a content script in a tab, with an id a page may
    /// ask for ([`crate::subscriptions::is_page_quiz_id`]). Anything else: `None`
    /// (the port is ignored).
    pub fn of(name: &str, sender: Sender) -> Option<PortRole> {
        match sender {
            Sender::ExtensionPage => Page::from_port_name(name).map(PortRole::Page),
            Sender::ContentScript { tab } => name
                .strip_prefix(QUIZ_PORT_PREFIX)
                .filter(|id| crate::subscriptions::is_page_quiz_id(id))
                .map(|id| PortRole::QuizTab {
                    tab,
                    quiz: QuizId::from(id),
                }),
            Sender::Other => None,
        }
    }
}

/// What the popup (or options page) asks the service worker to do.
///
/// JSON: `{"type": "follow", "quiz_id": "7"}`. Decoding reads a flat record
/// ([`RawCommand`]) and checks it, rather than serde's buffered internally-tagged
/// decoding (a lot of code in the wasm pages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "RawCommand")]
pub enum Command {
    /// Is the worker up? The adapter answers [`WorkerMessage::Pong`] with its version;
    /// the client itself does nothing.
    Ping,
    /// The popup opened and wants a snapshot (also: reconnect now if retrying).
    Hello,
    /// Turn a quiz's follow toggle on.
    Follow {
        /// The quiz.
        quiz_id: QuizId,
    },
    /// Turn it off.
    Unfollow {
        /// The quiz.
        quiz_id: QuizId,
    },
    /// Reconnect now, whatever the backoff says.
    RetryNow,
    /// Sign in: the worker performs `POST /api/token/` and reports in the snapshot.
    /// The popup asks for host access to `server` first (it needs the user's gesture).
    SignIn {
        /// Server origin (`http(s)://host[:port]`).
        server: String,
        /// Username.
        username: String,
        /// Password (never logged, never stored).
        password: Secret,
    },
    /// Sign out: close the socket, forget the tokens.
    SignOut,
    /// Mute browser notifications for an hour.
    MuteForAnHour,
    /// End the mute.
    Unmute,
    /// Save settings (validated; errors come back in the snapshot).
    SaveSettings {
        /// The new settings.
        settings: Settings,
    },
    /// Run the troubleshooting check: URL, host access, token, socket.
    TestConnection,
    /// The popup shows a quiz's board (fetch and keep it fresh).
    ViewQuiz {
        /// The quiz.
        quiz_id: QuizId,
    },
    /// The popup stopped showing it.
    CloseQuiz {
        /// The quiz.
        quiz_id: QuizId,
    },
    /// Close a toast.
    DismissToast {
        /// Its id.
        id: u64,
    },
    /// Clear the unread count.
    MarkRead,
}

/// The JSON fields of every [`Command`], for decoding.
#[derive(Deserialize)]
pub struct RawCommand {
    #[serde(rename = "type")]
    kind: String,
    quiz_id: Option<QuizId>,
    server: Option<String>,
    username: Option<String>,
    password: Option<Secret>,
    settings: Option<Settings>,
    id: Option<u64>,
}

impl FromJson for RawCommand {
    fn from_json(json: Json) -> Result<Self, serde_json::Error> {
        let mut obj = crate::json::Object::new(json, "struct RawCommand")?;
        Ok(RawCommand {
            kind: obj.req("type")?,
            quiz_id: obj.opt("quiz_id")?,
            server: obj.opt("server")?,
            username: obj.opt("username")?,
            password: obj.opt::<Option<String>>("password")?.map(Secret),
            settings: obj.opt("settings")?,
            id: obj.opt("id")?,
        })
    }
}

impl RawCommand {
    /// The command, or why the fields do not make one.
    fn command(self) -> Result<Command, CommandError> {
        let RawCommand {
            kind,
            quiz_id,
            server,
            username,
            password,
            settings,
            id,
        } = self;
        let malformed = |reason: String| CommandError::Malformed {
            kind: kind.clone(),
            reason,
        };
        Ok(match kind.as_str() {
            "ping" => Command::Ping,
            "hello" => Command::Hello,
            "follow" => Command::Follow {
                quiz_id: need(quiz_id, "quiz_id").map_err(malformed)?,
            },
            "unfollow" => Command::Unfollow {
                quiz_id: need(quiz_id, "quiz_id").map_err(malformed)?,
            },
            "retry_now" => Command::RetryNow,
            "sign_in" => Command::SignIn {
                server: need(server, "server").map_err(malformed)?,
                username: need(username, "username").map_err(malformed)?,
                password: need(password, "password").map_err(malformed)?,
            },
            "sign_out" => Command::SignOut,
            "mute_for_an_hour" => Command::MuteForAnHour,
            "unmute" => Command::Unmute,
            "save_settings" => Command::SaveSettings {
                settings: need(settings, "settings").map_err(malformed)?,
            },
            "test_connection" => Command::TestConnection,
            "view_quiz" => Command::ViewQuiz {
                quiz_id: need(quiz_id, "quiz_id").map_err(malformed)?,
            },
            "close_quiz" => Command::CloseQuiz {
                quiz_id: need(quiz_id, "quiz_id").map_err(malformed)?,
            },
            "dismiss_toast" => Command::DismissToast {
                id: need(id, "id").map_err(malformed)?,
            },
            "mark_read" => Command::MarkRead,
            _ => return Err(CommandError::UnknownType(kind.clone())),
        })
    }
}

impl TryFrom<RawCommand> for Command {
    type Error = CommandError;

    fn try_from(raw: RawCommand) -> Result<Self, CommandError> {
        raw.command()
    }
}

/// Why a message is not a [`Command`], said so that whoever sent it can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The text is not JSON at all.
    #[error("a message must be JSON: {0}")]
    NotJson(String),
    /// The message is not a JSON object with a string `type`.
    #[error("a message must be an object with a string \"type\"")]
    NoType,
    /// The `type` is not a command.
    #[error("unknown message type \"{0}\"")]
    UnknownType(String),
    /// The `type` is a command but the fields do not fit it.
    #[error("malformed \"{kind}\" message: {reason}")]
    Malformed {
        /// The message's `type`.
        kind: String,
        /// What does not fit.
        reason: String,
    },
}

impl Command {
    /// Decodes a command from the port's JSON text.
    pub fn from_json(text: &str) -> Result<Command, CommandError> {
        let json = Json::parse(text).map_err(|e| CommandError::NotJson(e.to_string()))?;
        let kind = json
            .get("type")
            .and_then(Json::as_str)
            .ok_or(CommandError::NoType)?
            .to_owned();
        match RawCommand::from_json(json) {
            Ok(raw) => raw.command(),
            Err(e) => Err(CommandError::Malformed {
                kind,
                reason: e.to_string(),
            }),
        }
    }

    /// The command's `type` as spelt on the port (`"ping"`, `"sign_in"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Command::Ping => "ping",
            Command::Hello => "hello",
            Command::Follow { .. } => "follow",
            Command::Unfollow { .. } => "unfollow",
            Command::RetryNow => "retry_now",
            Command::SignIn { .. } => "sign_in",
            Command::SignOut => "sign_out",
            Command::MuteForAnHour => "mute_for_an_hour",
            Command::Unmute => "unmute",
            Command::SaveSettings { .. } => "save_settings",
            Command::TestConnection => "test_connection",
            Command::ViewQuiz { .. } => "view_quiz",
            Command::CloseQuiz { .. } => "close_quiz",
            Command::DismissToast { .. } => "dismiss_toast",
            Command::MarkRead => "mark_read",
        }
    }

    /// Encodes a command for the port.
    pub fn to_json(&self) -> String {
        self.to_json_text()
    }
}

impl ToJson for Command {
    /// `{"type":…}` and the variant's fields, as serde's internally tagged encoding
    /// writes them.
    fn write_json(&self, out: &mut String) {
        use crate::json::push;
        push(out, r#"{"type":""#);
        push(out, self.kind());
        out.push('"');
        match self {
            Command::Follow { quiz_id }
            | Command::Unfollow { quiz_id }
            | Command::ViewQuiz { quiz_id }
            | Command::CloseQuiz { quiz_id } => {
                push(out, r#","quiz_id":"#);
                quiz_id.write_json(out);
            }
            Command::SignIn {
                server,
                username,
                password,
            } => {
                push(out, r#","server":"#);
                server.write_json(out);
                push(out, r#","username":"#);
                username.write_json(out);
                push(out, r#","password":"#);
                password.0.write_json(out);
            }
            Command::SaveSettings { settings } => {
                push(out, r#","settings":"#);
                settings.write_json(out);
            }
            Command::DismissToast { id } => {
                push(out, r#","id":"#);
                id.write_json(out);
            }
            Command::Ping
            | Command::Hello
            | Command::RetryNow
            | Command::SignOut
            | Command::MuteForAnHour
            | Command::Unmute
            | Command::TestConnection
            | Command::MarkRead => {}
        }
        out.push('}');
    }
}

/// What the service worker sends to the popup.
///
/// JSON: `{"type": "snapshot", "snapshot": {…}}`, decoded through a flat record
/// ([`RawWorkerMessage`]): serde's internally-tagged decoding would buffer the whole
/// snapshot and double the snapshot decoder in the popup's wasm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "RawWorkerMessage")]
pub enum WorkerMessage {
    /// The whole state to render.
    Snapshot {
        /// The state.
        snapshot: Box<Snapshot>,
    },
    /// Answer to [`Command::Ping`].
    Pong {
        /// The worker's version.
        version: String,
    },
    /// A message from the popup was not understood, or not carried out.
    Error {
        /// Why.
        message: String,
    },
}

/// The JSON fields of every [`WorkerMessage`], for decoding.
#[derive(Deserialize)]
pub struct RawWorkerMessage {
    #[serde(rename = "type")]
    kind: String,
    snapshot: Option<Box<Snapshot>>,
    version: Option<String>,
    message: Option<String>,
}

impl FromJson for RawWorkerMessage {
    fn from_json(json: Json) -> Result<Self, serde_json::Error> {
        let mut obj = crate::json::Object::new(json, "struct RawWorkerMessage")?;
        Ok(RawWorkerMessage {
            kind: obj.req("type")?,
            snapshot: obj.opt("snapshot")?,
            version: obj.opt("version")?,
            message: obj.opt("message")?,
        })
    }
}

impl FromJson for WorkerMessage {
    fn from_json(json: Json) -> Result<Self, serde_json::Error> {
        WorkerMessage::try_from(RawWorkerMessage::from_json(json)?)
            .map_err(serde::de::Error::custom)
    }
}

impl TryFrom<RawWorkerMessage> for WorkerMessage {
    type Error = String;

    fn try_from(r: RawWorkerMessage) -> Result<Self, String> {
        Ok(match r.kind.as_str() {
            "snapshot" => WorkerMessage::Snapshot {
                snapshot: need(r.snapshot, "snapshot")?,
            },
            "pong" => WorkerMessage::Pong {
                version: need(r.version, "version")?,
            },
            "error" => WorkerMessage::Error {
                message: need(r.message, "message")?,
            },
            other => return Err(format!("unknown worker message type `{other}`")),
        })
    }
}

impl WorkerMessage {
    /// Encodes it for the port.
    pub fn to_json(&self) -> String {
        self.to_json_text()
    }
}

impl ToJson for WorkerMessage {
    fn write_json(&self, out: &mut String) {
        use crate::json::push;
        match self {
            WorkerMessage::Snapshot { snapshot } => {
                push(out, r#"{"type":"snapshot","snapshot":"#);
                snapshot.write_json(out);
            }
            WorkerMessage::Pong { version } => {
                push(out, r#"{"type":"pong","version":"#);
                version.write_json(out);
            }
            WorkerMessage::Error { message } => {
                push(out, r#"{"type":"error","message":"#);
                message.write_json(out);
            }
        }
        out.push('}');
    }
}

/// One query's data as the popup shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryView<T> {
    /// The last good data (shown even when stale).
    pub data: Option<T>,
    /// When it was received.
    pub updated_at: Option<Timestamp>,
    /// Known to be out of date (a refetch is due or running).
    pub stale: bool,
    /// A fetch is running.
    pub fetching: bool,
    /// The last error, for people.
    pub error: Option<Text>,
}

impl<T> Default for QueryView<T> {
    fn default() -> Self {
        QueryView {
            data: None,
            updated_at: None,
            stale: false,
            fetching: false,
            error: None,
        }
    }
}

impl<T: FromJson> FromJson for QueryView<T> {
    fn from_json(json: Json) -> Result<Self, serde_json::Error> {
        let mut obj = crate::json::Object::new(json, "struct QueryView")?;
        Ok(QueryView {
            data: obj.opt("data")?,
            updated_at: obj.opt("updated_at")?,
            stale: obj.req("stale")?,
            fetching: obj.req("fetching")?,
            error: obj.opt("error")?,
        })
    }
}

impl<T: ToJson> ToJson for QueryView<T> {
    fn write_json(&self, out: &mut String) {
        use crate::json::push;
        push(out, r#"{"data":"#);
        self.data.write_json(out);
        push(out, r#","updated_at":"#);
        self.updated_at.write_json(out);
        push(out, r#","stale":"#);
        self.stale.write_json(out);
        push(out, r#","fetching":"#);
        self.fetching.write_json(out);
        push(out, r#","error":"#);
        self.error.write_json(out);
        out.push('}');
    }
}

/// Where a quiz's subscription stands on the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// Not subscribed.
    None,
    /// Wanted; sent (or waiting for the socket), not yet confirmed.
    Pending,
    /// Confirmed by the server on this connection.
    Confirmed,
    /// Sent twice without a confirmation.
    Unconfirmed,
}

crate::from_json_enum!(SubscriptionStatus {
    None = "none",
    Pending = "pending",
    Confirmed = "confirmed",
    Unconfirmed = "unconfirmed",
});

/// A quiz in the popup's list, with its toggles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuizRow {
    /// The quiz as the server lists it.
    pub quiz: Quiz,
    /// The user's follow toggle.
    pub followed: bool,
    /// Open in some tab (followed while it stays open).
    pub open_in_tab: bool,
    /// The socket subscription.
    pub subscription: SubscriptionStatus,
    /// The page on the configured site.
    pub url: String,
}

crate::json_struct!(QuizRow {
    quiz: req,
    followed: req,
    open_in_tab: req,
    subscription: req,
    url: req,
});

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Username (from sign-in or the performance data).
    pub username: Option<String>,
    /// User id (from the token's claims).
    pub user_id: Option<String>,
    /// When the sign-in (refresh token) runs out, if known.
    pub expires_at: Option<Timestamp>,
}

crate::json_struct!(Account {
    username: opt,
    user_id: opt,
    expires_at: opt,
});

/// The sign-in form's state. JSON: `{"state": "failed", "message": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    content = "message",
    rename_all = "snake_case",
    try_from = "RawSignInStatus"
)]
pub enum SignInStatus {
    /// Nothing going on.
    Idle,
    /// The token request is running.
    InProgress,
    /// It failed; the message says why.
    Failed(Text),
}

/// The checks of "test connection", in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestCheck {
    /// The settings' URLs are valid.
    ServerUrl,
    /// The extension may access the server (`permissions.contains`).
    HostAccess,
    /// The server accepts the access token (an authenticated read).
    Token,
    /// The socket opens.
    Socket,
}

crate::from_json_enum!(TestCheck {
    ServerUrl = "server_url",
    HostAccess = "host_access",
    Token = "token",
    Socket = "socket",
});

impl TestCheck {
    /// Every check, in order.
    pub const ALL: [TestCheck; 4] = [
        TestCheck::ServerUrl,
        TestCheck::HostAccess,
        TestCheck::Token,
        TestCheck::Socket,
    ];

    /// The check after this one.
    pub fn next(self) -> Option<TestCheck> {
        match self {
            TestCheck::ServerUrl => Some(TestCheck::HostAccess),
            TestCheck::HostAccess => Some(TestCheck::Token),
            TestCheck::Token => Some(TestCheck::Socket),
            TestCheck::Socket => None,
        }
    }
}

/// The JSON fields of every [`SignInStatus`], for decoding.
#[derive(Deserialize)]
pub struct RawSignInStatus {
    state: String,
    message: Option<Text>,
}

crate::from_json_struct!(RawSignInStatus {
    state: req,
    message: opt
});

impl FromJson for SignInStatus {
    fn from_json(json: Json) -> Result<Self, serde_json::Error> {
        SignInStatus::try_from(RawSignInStatus::from_json(json)?).map_err(serde::de::Error::custom)
    }
}

impl ToJson for SignInStatus {
    fn write_json(&self, out: &mut String) {
        use crate::json::push;
        match self {
            SignInStatus::Idle => push(out, r#"{"state":"idle"}"#),
            SignInStatus::InProgress => push(out, r#"{"state":"in_progress"}"#),
            SignInStatus::Failed(message) => {
                push(out, r#"{"state":"failed","message":"#);
                message.write_json(out);
                out.push('}');
            }
        }
    }
}

impl TryFrom<RawSignInStatus> for SignInStatus {
    type Error = String;

    fn try_from(r: RawSignInStatus) -> Result<Self, String> {
        Ok(match r.state.as_str() {
            "idle" => SignInStatus::Idle,
            "in_progress" => SignInStatus::InProgress,
            "failed" => SignInStatus::Failed(need(r.message, "message")?),
            other => return Err(format!("unknown sign-in state `{other}`")),
        })
    }
}

/// One step of "test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestStep {
    /// Which check this is (the pages name it).
    pub check: TestCheck,
    /// How it went.
    pub status: StepStatus,
    /// What it found, for people (`None` before it ran).
    pub detail: Option<Text>,
}

crate::json_struct!(TestStep {
    check: req,
    status: req,
    detail: opt,
});

/// A test step's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not reached yet.
    Waiting,
    /// Running.
    Running,
    /// Passed.
    Passed,
    /// Failed (the steps after it are skipped).
    Failed,
    /// Not run because an earlier step failed.
    Skipped,
}

crate::from_json_enum!(StepStatus {
    Waiting = "waiting",
    Running = "running",
    Passed = "passed",
    Failed = "failed",
    Skipped = "skipped",
});

/// The state handed to the popup and stored in `chrome.storage.session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When it was made.
    pub generated_at: Timestamp,
    /// How far the worker's clock is ahead of the browser's (ms): 0 unless the
    /// browser's clock went back while the worker ran. Every time in a snapshot is on
    /// the worker's clock; a page adds this to its own clock to compare with them.
    #[serde(default)]
    pub clock_shift_ms: u64,
    /// The connection state.
    pub connection: ConnState,
    /// When the last server message arrived.
    pub last_message_at: Option<Timestamp>,
    /// Who is signed in.
    pub account: Option<Account>,
    /// The sign-in form's state.
    pub sign_in: SignInStatus,
    /// Subject leaderboards.
    pub subject_boards: QueryView<Vec<SubjectBoard>>,
    /// The quiz list's fetch state (its rows are in [`Snapshot::quizzes`]).
    pub quiz_list: QueryView<()>,
    /// Quizzes with their toggles.
    pub quizzes: Vec<QuizRow>,
    /// Quiz boards the popup views, by quiz id.
    pub quiz_boards: VecMap<String, QueryView<QuizBoard>>,
    /// The user's standing.
    pub my_standing: QueryView<Performance>,
    /// Subject names by id (from the boards), for the standing.
    pub subject_names: VecMap<SubjectId, String>,
    /// The newest data time ("updated 4 s ago").
    pub last_update: Option<Timestamp>,
    /// Live toasts.
    pub toasts: Vec<Toast>,
    /// Unread alerts.
    pub unread: u32,
    /// Notifications muted until then.
    pub muted_until: Option<Timestamp>,
    /// The connection event log, oldest first.
    pub events: Vec<LogEntry>,
    /// The settings (nothing secret in them).
    pub settings: Settings,
    /// The last settings save's error, if it failed.
    pub settings_error: Option<SettingsError>,
    /// The badge as set.
    pub badge: Badge,
    /// The last "test connection" run.
    pub test: Option<Vec<TestStep>>,
}

crate::json_struct!(Snapshot {
    generated_at: req,
    clock_shift_ms: opt,
    connection: req,
    last_message_at: opt,
    account: opt,
    sign_in: req,
    subject_boards: req,
    quiz_list: req,
    quizzes: req,
    quiz_boards: req,
    my_standing: req,
    subject_names: req,
    last_update: opt,
    toasts: req,
    unread: req,
    muted_until: opt,
    events: req,
    settings: req,
    settings_error: opt,
    badge: req,
    test: opt,
});

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_extensions_own_pages_command_and_only_content_scripts_report_quizzes() {
        let page = Sender::classify(true, true, None);
        let page_in_tab = Sender::classify(true, true, Some(3));
        let content = Sender::classify(true, false, Some(3));
        let stranger = Sender::classify(false, false, Some(3));
        let no_tab = Sender::classify(true, false, None);
        assert_eq!(page, Sender::ExtensionPage);
        assert_eq!(
            page_in_tab,
            Sender::ExtensionPage,
            "the options page opens in a tab"
        );
        assert_eq!(content, Sender::ContentScript { tab: 3 });
        assert_eq!((stranger, no_tab), (Sender::Other, Sender::Other));
        assert!(page.may_command() && page_in_tab.may_command());
        assert!(!content.may_command() && !stranger.may_command());

        assert_eq!(
            PortRole::of("popup", page),
            Some(PortRole::Page(Page::Popup))
        );
        assert_eq!(
            PortRole::of("options", page),
            Some(PortRole::Page(Page::Options))
        );
        // A content script may not pose as the popup, nor a page as a quiz tab.
        assert_eq!(PortRole::of("popup", content), None);
        assert_eq!(PortRole::of("options", content), None);
        assert_eq!(PortRole::of("quiz:7", page), None);
        assert_eq!(
            PortRole::of("quiz:7", content),
            Some(PortRole::QuizTab {
                tab: 3,
                quiz: QuizId::from("7")
            })
        );
        let huge = format!("quiz:{}", "9".repeat(1 << 20));
        assert_eq!(PortRole::of(&huge, content), None);
        assert_eq!(PortRole::of("quiz:", content), None);
        assert_eq!(PortRole::of("popup", stranger), None);
    }

    #[test]
    fn commands_decode_from_their_type_tag_ignoring_extra_fields() {
        assert_eq!(Command::from_json(r#"{"type":"ping"}"#), Ok(Command::Ping));
        assert_eq!(
            Command::from_json(&json!({"type": "ping", "from": "popup"}).to_string()),
            Ok(Command::Ping)
        );
        assert_eq!(
            Command::from_json(&json!({"type": "follow", "quiz_id": "q1"}).to_string()),
            Ok(Command::Follow {
                quiz_id: QuizId::from("q1")
            })
        );
    }

    #[test]
    fn commands_that_do_not_decode_say_why() {
        let error = |raw: serde_json::Value| {
            Command::from_json(&raw.to_string())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(json!({"type": "launch_rockets"})),
            "unknown message type \"launch_rockets\""
        );
        assert_eq!(
            error(json!("ping")),
            "a message must be an object with a string \"type\""
        );
        assert_eq!(
            error(json!({"kind": "ping"})),
            CommandError::NoType.to_string()
        );
        assert_eq!(error(json!({"type": 7})), CommandError::NoType.to_string());
        assert_eq!(
            error(json!({"type": "follow"})),
            "malformed \"follow\" message: missing field `quiz_id`"
        );
        assert!(matches!(
            Command::from_json("{ping"),
            Err(CommandError::NotJson(_))
        ));
    }

    #[test]
    fn kind_is_the_type_tag() {
        assert_eq!(Command::Ping.kind(), "ping");
        assert_eq!(Command::RetryNow.kind(), "retry_now");
        let sign_in = Command::SignIn {
            server: "http://127.0.0.1:8000".into(),
            username: "ada".into(),
            password: Secret("pw".into()),
        };
        assert_eq!(sign_in.kind(), "sign_in");
    }

    #[test]
    fn worker_messages_keep_their_json_shape() {
        let pong = WorkerMessage::Pong {
            version: "0.1.0".into(),
        };
        assert_eq!(pong.to_json(), r#"{"type":"pong","version":"0.1.0"}"#);
        let error = WorkerMessage::Error {
            message: "why".into(),
        };
        assert_eq!(error.to_json(), r#"{"type":"error","message":"why"}"#);
    }
}
