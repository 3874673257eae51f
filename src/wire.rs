//! Wire types of the platform contract (`spec/protocol.md`), shared by the
//! extension and the reference server.
//!
//! Decoding is tolerant, as the contract asks: unknown fields are ignored,
//! unknown message types decode to [`ServerMessage::Unknown`], identifiers may
//! arrive as JSON strings or integers (a Django serializer often sends
//! integers), and a known message whose `data` is not fully readable still
//! decodes to what can be read (so a client can at least refetch). Encoding is
//! byte-for-byte the contract's text: Python `json.dumps` separators
//! (`", "` and `": "`), `"type"` first, non-ASCII escaped, exactly what a
//! Django Channels consumer emits.

use std::fmt;

use crate::json::{Json, Number};
use crate::text::{Text, k};
use serde::de::{self, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use json::to_python_json;

/// Defines a string identifier that also accepts JSON integers when decoding.
macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(IdVisitor).map(Self)
            }
        }

        impl crate::json::ToJson for $name {
            fn write_json(&self, out: &mut String) {
                crate::json::push_str_literal(out, &self.0);
            }
        }

        impl crate::json::JsonKey for $name {
            fn json_key(&self) -> &str {
                &self.0
            }
        }

        impl crate::json::FromJson for $name {
            fn from_json(json: Json) -> Result<Self, serde_json::Error> {
                id(&json)
                    .map(Self)
                    .ok_or_else(|| crate::json::expected("an identifier (string or integer)", &json))
            }
        }
    )*};
}

id_type! {
    /// A quiz identifier.
    QuizId,
    /// A subject identifier.
    SubjectId,
    /// A user identifier.
    UserId,
    /// A quiz session identifier.
    SessionId,
}

/// Accepts a JSON string or integer as an identifier.
struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an identifier (string or integer)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// Why a frame could not be decoded. The connection stays up either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The JSON is not an object.
    #[error("expected a JSON object")]
    NotAnObject,
    /// The object has no string `type`.
    #[error("missing \"type\"")]
    MissingType,
    /// A client message of a type the server does not know.
    #[error("unknown type \"{0}\"")]
    UnknownType(String),
    /// A required field is absent or has the wrong shape.
    #[error("\"{kind}\" needs {field}")]
    BadField {
        /// The message type.
        kind: String,
        /// The field and what it should be, e.g. `"quiz_id" (a string)`.
        field: &'static str,
    },
}

// ---------------------------------------------------------------------------
// Server -> client

/// One message from the server, with the contract's optional envelope fields.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerFrame {
    /// What the message says.
    pub message: ServerMessage,
    /// Optional per-connection sequence number (to detect gaps).
    pub seq: Option<u64>,
    /// Optional RFC 3339 send time (for latency measurement).
    pub sent_at: Option<String>,
}

/// The server's message types (section 4 of the contract).
#[derive(Clone, Debug, PartialEq)]
pub enum ServerMessage {
    /// A session was stored. `session` is `None` when `data` could not be read
    /// as a full session (the message still means "something moved").
    QuizSessionUploaded {
        /// The stored session, when readable.
        session: Option<SessionEvent>,
    },
    /// A subject leaderboard changed.
    LeaderboardUpdated {
        /// The subject, when given.
        subject_id: Option<SubjectId>,
        /// Optional new top entries (apply without a refetch).
        entries: Option<Vec<Entry>>,
    },
    /// A quiz leaderboard changed (sent only to its subscribers).
    QuizLeaderboardUpdated {
        /// The quiz.
        quiz_id: QuizId,
        /// Optional new top entries.
        entries: Option<Vec<Entry>>,
    },
    /// The server confirmed a `subscribe_quiz`.
    SubscriptionConfirmed {
        /// The quiz subscribed to.
        quiz_id: QuizId,
        /// Human-readable text from the server.
        message: String,
    },
    /// Answer to a [`ClientMessage::Ping`] (optional part of the contract).
    Pong {
        /// The ping's id.
        id: u64,
    },
    /// The server rejected a client message; the socket stays open.
    Error {
        /// What the server said.
        message: String,
    },
    /// A message type this client does not know; ignored.
    Unknown {
        /// Its `type`.
        kind: String,
    },
}

impl ServerMessage {
    /// The message's `type` on the wire.
    pub fn kind(&self) -> &str {
        match self {
            Self::QuizSessionUploaded { .. } => "quiz_session_uploaded",
            Self::LeaderboardUpdated { .. } => "leaderboard_updated",
            Self::QuizLeaderboardUpdated { .. } => "quiz_leaderboard_updated",
            Self::SubscriptionConfirmed { .. } => "subscription_confirmed",
            Self::Pong { .. } => "pong",
            Self::Error { .. } => "error",
            Self::Unknown { kind } => kind,
        }
    }
}

/// A stored quiz session: the `data` of `quiz_session_uploaded` and the body
/// of `201` from `POST /api/quiz-sessions/`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// The new session.
    pub session_id: SessionId,
    /// Its quiz.
    pub quiz_id: QuizId,
    /// The quiz's subject.
    pub subject_id: SubjectId,
    /// Who took it.
    pub user_id: UserId,
    /// Their username.
    pub username: String,
    /// The score.
    pub score: f64,
    /// RFC 3339 completion time.
    pub completed_at: String,
}

/// One leaderboard row. Ranks start at 1; ties share a rank.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Rank, from 1.
    pub rank: u32,
    /// The user.
    pub user_id: UserId,
    /// Their username.
    pub username: String,
    /// Subject: sum of best per quiz; quiz: best session.
    pub score: f64,
    /// Number of sessions counted.
    pub sessions: u32,
}

#[derive(Serialize)]
struct LeaderboardData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_id: &'a Option<SubjectId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entries: &'a Option<Vec<Entry>>,
}

#[derive(Serialize)]
struct QuizLeaderboardData<'a> {
    quiz_id: &'a QuizId,
    #[serde(skip_serializing_if = "Option::is_none")]
    entries: &'a Option<Vec<Entry>>,
}

impl Serialize for ServerFrame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", self.message.kind())?;
        match &self.message {
            ServerMessage::QuizSessionUploaded { session } => match session {
                Some(session) => map.serialize_entry("data", session)?,
                None => map.serialize_entry("data", &serde_json::Map::new())?,
            },
            ServerMessage::LeaderboardUpdated {
                subject_id,
                entries,
            } => map.serialize_entry(
                "data",
                &LeaderboardData {
                    subject_id,
                    entries,
                },
            )?,
            ServerMessage::QuizLeaderboardUpdated { quiz_id, entries } => {
                map.serialize_entry("data", &QuizLeaderboardData { quiz_id, entries })?
            }
            ServerMessage::SubscriptionConfirmed { quiz_id, message } => {
                map.serialize_entry("quiz_id", quiz_id)?;
                map.serialize_entry("message", message)?;
            }
            ServerMessage::Pong { id } => map.serialize_entry("id", id)?,
            ServerMessage::Error { message } => map.serialize_entry("message", message)?,
            ServerMessage::Unknown { .. } => {}
        }
        if let Some(seq) = self.seq {
            map.serialize_entry("seq", &seq)?;
        }
        if let Some(sent_at) = &self.sent_at {
            map.serialize_entry("sent_at", sent_at)?;
        }
        map.end()
    }
}

impl ServerFrame {
    /// A frame with no envelope fields.
    pub fn new(message: ServerMessage) -> Self {
        Self {
            message,
            seq: None,
            sent_at: None,
        }
    }

    /// Encodes the frame as the contract's text (see [`to_python_json`]).
    pub fn encode(&self) -> String {
        to_python_json(self)
    }

    /// Decodes a server frame. Unknown types and fields are tolerated; an error
    /// means the frame carried nothing usable (the caller logs it and carries on).
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let (kind, mut obj) = split_type(text)?;
        let seq = obj.get("seq").and_then(Json::as_u64);
        let sent_at = obj.get("sent_at").and_then(Json::as_str).map(str::to_owned);
        let data = match obj.take("data") {
            Some(data @ Json::Object(_)) => data,
            _ => Json::Object(Vec::new()),
        };
        let bad = |field| DecodeError::BadField {
            kind: kind.clone(),
            field,
        };
        // Fields are read from the parsed tree by hand (decoding the frame through
        // serde would add a decoder per message shape to the wasm).
        let message = match kind.as_str() {
            "quiz_session_uploaded" => ServerMessage::QuizSessionUploaded {
                session: session_event(&data),
            },
            "leaderboard_updated" => ServerMessage::LeaderboardUpdated {
                subject_id: data.get("subject_id").and_then(id).map(SubjectId),
                entries: data.get("entries").and_then(entries),
            },
            "quiz_leaderboard_updated" => ServerMessage::QuizLeaderboardUpdated {
                quiz_id: data
                    .get("quiz_id")
                    .or_else(|| obj.get("quiz_id"))
                    .and_then(id)
                    .map(QuizId)
                    .ok_or_else(|| bad("\"data.quiz_id\" (a string)"))?,
                entries: data.get("entries").and_then(entries),
            },
            "subscription_confirmed" => ServerMessage::SubscriptionConfirmed {
                quiz_id: obj
                    .get("quiz_id")
                    .or_else(|| data.get("quiz_id"))
                    .and_then(id)
                    .map(QuizId)
                    .ok_or_else(|| bad("\"quiz_id\" (a string)"))?,
                message: string_field(&obj, "message").unwrap_or_default(),
            },
            "pong" => ServerMessage::Pong {
                id: obj
                    .get("id")
                    .and_then(Json::as_u64)
                    .ok_or_else(|| bad("\"id\" (an integer)"))?,
            },
            "error" => ServerMessage::Error {
                message: string_field(&obj, "message")
                    .or_else(|| string_field(&obj, "detail"))
                    .unwrap_or_default(),
            },
            _ => ServerMessage::Unknown { kind },
        };
        Ok(Self {
            message,
            seq,
            sent_at,
        })
    }
}

/// Parses `text` as a JSON object and takes its `type`.
fn split_type(text: &str) -> Result<(String, Json), DecodeError> {
    let obj = Json::parse(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    if obj.as_object().is_none() {
        return Err(DecodeError::NotAnObject);
    }
    match obj.get("type") {
        Some(Json::String(kind)) => Ok((kind.clone(), obj)),
        _ => Err(DecodeError::MissingType),
    }
}

/// An identifier: a JSON string, or an integer as text (a Django serializer often
/// sends integers).
fn id(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(Number::Unsigned(n)) => Some(n.to_string()),
        Json::Number(Number::Signed(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// A string field.
fn string_field(obj: &Json, name: &str) -> Option<String> {
    obj.get(name).and_then(Json::as_str).map(str::to_owned)
}

/// A non-negative integer field that fits a `u32`.
fn small(obj: &Json, name: &str) -> Option<u32> {
    obj.get(name)
        .and_then(Json::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// One leaderboard row (every field needed; unknown ones ignored).
fn entry(o: &Json) -> Option<Entry> {
    Some(Entry {
        rank: small(o, "rank")?,
        user_id: UserId(o.get("user_id").and_then(id)?),
        username: string_field(o, "username")?,
        score: o.get("score")?.as_f64()?,
        sessions: small(o, "sessions")?,
    })
}

/// A list of rows, leaving out any row that is unreadable (one bad row does
/// not cost the whole board); `None` when it is not a list.
fn entries(v: &Json) -> Option<Vec<Entry>> {
    Some(v.as_array()?.iter().filter_map(entry).collect())
}

/// A full session (every field needed), or `None`.
fn session_event(o: &Json) -> Option<SessionEvent> {
    let ident = |name: &str| o.get(name).and_then(id);
    Some(SessionEvent {
        session_id: SessionId(ident("session_id")?),
        quiz_id: QuizId(ident("quiz_id")?),
        subject_id: SubjectId(ident("subject_id")?),
        user_id: UserId(ident("user_id")?),
        username: string_field(o, "username")?,
        score: o.get("score")?.as_f64()?,
        completed_at: string_field(o, "completed_at")?,
    })
}

// ---------------------------------------------------------------------------
// Client -> server

/// A message from the client (section 4 of the contract).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Follow one quiz's `quiz_leaderboard_updated`.
    SubscribeQuiz {
        /// The quiz.
        quiz_id: QuizId,
    },
    /// Stop following one quiz.
    UnsubscribeQuiz {
        /// The quiz.
        quiz_id: QuizId,
    },
    /// Keepalive; the server may answer with a pong (optional part).
    Ping {
        /// Echoed in the pong.
        id: u64,
    },
}

impl ClientMessage {
    /// Encodes the message byte-for-byte as the contract writes it, e.g.
    /// `{"type": "subscribe_quiz", "quiz_id": "7"}` (what [`to_python_json`] writes,
    /// by plain code: the wasm compiles no serializer for it).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let push = crate::json::push;
        match self {
            ClientMessage::SubscribeQuiz { quiz_id }
            | ClientMessage::UnsubscribeQuiz { quiz_id } => {
                push(&mut out, r#"{"type": ""#);
                push(
                    &mut out,
                    match self {
                        ClientMessage::SubscribeQuiz { .. } => "subscribe_quiz",
                        _ => "unsubscribe_quiz",
                    },
                );
                push(&mut out, r#"", "quiz_id": "#);
                crate::json::push_ascii_str_literal(&mut out, quiz_id.as_str());
            }
            ClientMessage::Ping { id } => {
                push(&mut out, r#"{"type": "ping", "id": "#);
                crate::json::ToJson::write_json(id, &mut out);
            }
        }
        out.push('}');
        out
    }

    /// Decodes a client message strictly (the server's side), saying exactly
    /// what is wrong.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let (kind, obj) = split_type(text)?;
        let bad = |field| DecodeError::BadField {
            kind: kind.clone(),
            field,
        };
        let quiz = || {
            obj.get("quiz_id")
                .and_then(id)
                .map(QuizId)
                .ok_or_else(|| bad("\"quiz_id\" (a string)"))
        };
        match kind.as_str() {
            "subscribe_quiz" => Ok(Self::SubscribeQuiz { quiz_id: quiz()? }),
            "unsubscribe_quiz" => Ok(Self::UnsubscribeQuiz { quiz_id: quiz()? }),
            "ping" => Ok(Self::Ping {
                id: obj
                    .get("id")
                    .and_then(Json::as_u64)
                    .ok_or_else(|| bad("\"id\" (an integer)"))?,
            }),
            _ => Err(DecodeError::UnknownType(kind)),
        }
    }
}

// ---------------------------------------------------------------------------
// REST bodies (sections 1-3)

/// `POST /api/token/` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

crate::to_json_struct!(TokenRequest { username, password });

/// `200` from `POST /api/token/`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// Access JWT.
    pub access: String,
    /// Refresh JWT.
    pub refresh: String,
}

crate::json_struct!(TokenPair {
    access: req,
    refresh: req,
});

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenPair { .. }")
    }
}

/// `POST /api/token/refresh/` body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRequest {
    /// Refresh JWT.
    pub refresh: String,
}

crate::to_json_struct!(RefreshRequest { refresh });

/// `200` from `POST /api/token/refresh/`; may carry a rotated refresh token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshResponse {
    /// New access JWT.
    pub access: String,
    /// New refresh JWT, when the server rotates them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
}

crate::from_json_struct!(RefreshResponse {
    access: req,
    refresh: opt
});

/// The claims of a SimpleJWT token (access or refresh).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// `"access"` or `"refresh"`.
    pub token_type: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// The user (a string in the contract; SimpleJWT may send an integer).
    pub user_id: UserId,
}

/// A REST error body (`{"detail": ...}`, plus `code` on token errors).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Human-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Machine code, e.g. `token_not_valid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ApiError {
    /// A body with only `detail`.
    pub fn detail(detail: impl Into<String>) -> Self {
        Self {
            detail: Some(detail.into()),
            code: None,
        }
    }

    /// The best human-readable text in an error body of any shape: `detail`,
    /// or DRF's field errors (`{"score": ["must be positive"]}`), or the text.
    pub fn message_from(body: &str) -> String {
        let Ok(value) = Json::parse(body) else {
            return body.trim().chars().take(200).collect();
        };
        if let Some(detail) = value.get("detail").and_then(Json::as_str) {
            return detail.to_owned();
        }
        match &value {
            Json::Object(fields) => fields
                .iter()
                .map(|(name, v)| format!("{name}: {}", flatten_messages(v)))
                .collect::<Vec<_>>()
                .join("; "),
            other => flatten_messages(other),
        }
    }

    /// What an HTTP error answer means, for people, in one wording for every caller:
    /// `Server error (HTTP 502: Bad Gateway)` for 5xx, `Request refused (HTTP 403:
    /// <detail>)` otherwise; the detail is [`ApiError::message_from`] the body (the
    /// server's own words), left out when the body says nothing.
    pub fn describe_status(status: u16, body: &str) -> Text {
        let detail = Self::message_from(body);
        let key = match (status >= 500, detail.is_empty()) {
            (true, true) => k("http_server_error"),
            (true, false) => k("http_server_error_detail"),
            (false, true) => k("http_refused"),
            (false, false) => k("http_refused_detail"),
        };
        let text = Text::new(key).plain(status.to_string());
        if detail.is_empty() {
            text
        } else {
            text.plain(detail)
        }
    }

    /// True when the body says the token is invalid or expired.
    pub fn is_token_not_valid(&self) -> bool {
        self.code.as_deref() == Some("token_not_valid")
    }
}

fn flatten_messages(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Array(items) => items
            .iter()
            .map(flatten_messages)
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// `GET /api/subjects/` item; also `subject` in a subject board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Id.
    pub id: SubjectId,
    /// Display name.
    pub name: String,
}

/// `GET /api/quizzes/` item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quiz {
    /// Id.
    pub id: QuizId,
    /// Title.
    pub title: String,
    /// Its subject.
    pub subject_id: SubjectId,
    /// Sessions taken so far.
    #[serde(default)]
    pub sessions_count: u64,
}

/// One subject's board in `GET /api/leaderboard/subjects/`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubjectBoard {
    /// The subject.
    pub subject: Subject,
    /// Top entries (an unreadable row is left out).
    #[serde(deserialize_with = "rows")]
    pub entries: Vec<Entry>,
    /// Time of the newest counted session (`null` when there is none).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `quiz` in a quiz board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizRef {
    /// Id.
    pub id: QuizId,
    /// Title.
    pub title: String,
    /// Its subject.
    pub subject_id: SubjectId,
}

/// `GET /api/quizzes/<quiz_id>/leaderboard/`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuizBoard {
    /// The quiz.
    pub quiz: QuizRef,
    /// Top entries (an unreadable row is left out).
    #[serde(deserialize_with = "rows")]
    pub entries: Vec<Entry>,
    /// Time of the newest counted session (`null` when there is none).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `user` in the performance body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
}

/// The user's standing in one subject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubjectStanding {
    /// The subject.
    pub subject_id: SubjectId,
    /// Rank among all users (ties share).
    pub rank: u32,
    /// Subject score.
    pub score: f64,
    /// Sessions in the subject.
    pub sessions: u32,
}

/// One of the user's recent sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecentSession {
    /// The session.
    pub session_id: SessionId,
    /// Its quiz.
    pub quiz_id: QuizId,
    /// Score.
    pub score: f64,
    /// RFC 3339 completion time.
    pub completed_at: String,
}

/// `GET /api/users/me/performance/`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// Who this is.
    pub user: UserRef,
    /// Standing per subject (an unreadable row is left out).
    #[serde(default, deserialize_with = "rows")]
    pub subjects: Vec<SubjectStanding>,
    /// Newest sessions first (an unreadable row is left out).
    #[serde(default, deserialize_with = "rows")]
    pub recent_sessions: Vec<RecentSession>,
}

/// A list, leaving out the items that do not read as `T`: serde's side of
/// [`crate::json::Object::rows`] (a server that sends one bad row, such as
/// a `null` score, does not cost the client the whole board).
fn rows<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: de::DeserializeOwned,
{
    let items = Vec::<serde_json::Value>::deserialize(d)?;
    Ok(items
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect())
}

crate::json_struct!(Entry {
    rank: req,
    user_id: req,
    username: req,
    score: req,
    sessions: req,
});
crate::json_struct!(Subject { id: req, name: req });
crate::json_struct!(Quiz {
    id: req,
    title: req,
    subject_id: req,
    sessions_count: opt,
});
crate::json_struct!(SubjectBoard {
    subject: req,
    entries: rows,
    updated_at: opt,
});
crate::json_struct!(QuizRef {
    id: req,
    title: req,
    subject_id: req,
});
crate::json_struct!(QuizBoard {
    quiz: req,
    entries: rows,
    updated_at: opt,
});
crate::json_struct!(UserRef {
    id: req,
    username: req,
});
crate::json_struct!(SubjectStanding {
    subject_id: req,
    rank: req,
    score: req,
    sessions: req,
});
crate::json_struct!(RecentSession {
    session_id: req,
    quiz_id: req,
    score: req,
    completed_at: req,
});
crate::json_struct!(Performance {
    user: req,
    subjects: opt_rows,
    recent_sessions: opt_rows,
});

/// `POST /api/quiz-sessions/` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    /// The quiz taken.
    pub quiz_id: QuizId,
    /// Score.
    pub score: f64,
    /// Time taken, seconds.
    pub duration_s: f64,
}

// ---------------------------------------------------------------------------

mod json {
    //! Python `json.dumps` formatting (the Django side's encoder).

    use std::io;

    use serde::Serialize;
    use serde_json::ser::Formatter;

    /// `", "` between items, `": "` after keys, non-ASCII as `\u00e9`-style escapes.
    struct PythonFormatter;

    impl Formatter for PythonFormatter {
        fn begin_array_value<W: ?Sized + io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
            if first { Ok(()) } else { w.write_all(b", ") }
        }

        fn begin_object_key<W: ?Sized + io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
            if first { Ok(()) } else { w.write_all(b", ") }
        }

        fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            w.write_all(b": ")
        }

        fn write_string_fragment<W: ?Sized + io::Write>(
            &mut self,
            w: &mut W,
            fragment: &str,
        ) -> io::Result<()> {
            if fragment.bytes().all(|b| b.is_ascii() && b != 0x7f) {
                return w.write_all(fragment.as_bytes());
            }
            let mut units = [0u16; 2];
            for c in fragment.chars() {
                if c.is_ascii() && c != '\x7f' {
                    w.write_all(&[c as u8])?;
                } else {
                    for unit in c.encode_utf16(&mut units) {
                        write!(w, "\\u{unit:04x}")?;
                    }
                }
            }
            Ok(())
        }
    }

    /// Serialises `value` as Python's `json.dumps(value)` would.
    pub fn to_python_json<T: Serialize + ?Sized>(value: &T) -> String {
        let mut out = Vec::with_capacity(128);
        let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
        // Serialising these types cannot fail: every map key is a string.
        if value.serialize(&mut ser).is_err() {
            return String::from("{}");
        }
        // The formatter writes only ASCII and valid UTF-8 fragments.
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_encodes_as_the_contract_writes_it() {
        let msg = ClientMessage::SubscribeQuiz {
            quiz_id: "42".into(),
        };
        assert_eq!(
            msg.encode(),
            r#"{"type": "subscribe_quiz", "quiz_id": "42"}"#
        );
        let msg = ClientMessage::UnsubscribeQuiz {
            quiz_id: "42".into(),
        };
        assert_eq!(
            msg.encode(),
            r#"{"type": "unsubscribe_quiz", "quiz_id": "42"}"#
        );
        assert_eq!(
            ClientMessage::Ping { id: 3 }.encode(),
            r#"{"type": "ping", "id": 3}"#
        );
    }

    #[test]
    fn non_ascii_is_escaped_like_python() {
        let msg = ClientMessage::SubscribeQuiz {
            quiz_id: "é😀".into(),
        };
        assert_eq!(
            msg.encode(),
            r#"{"type": "subscribe_quiz", "quiz_id": "\u00e9\ud83d\ude00"}"#
        );
    }

    /// A server that sends one bad row (a `null` score: what an infinite
    /// total becomes in JSON) costs the client that row, not the board or the
    /// list of boards; both readers agree.
    #[test]
    fn one_unreadable_row_leaves_the_rest_of_the_board() {
        use crate::json::FromJson;
        let good = r#"{"rank": 1, "user_id": "1", "username": "ann", "score": 9.5, "sessions": 2}"#;
        let bad =
            r#"{"rank": 2, "user_id": "2", "username": "mallory", "score": null, "sessions": 2}"#;
        let boards = format!(
            r#"[{{"subject": {{"id": "m", "name": "Maths"}}, "entries": [{bad}, {good}], "updated_at": null}},
                {{"subject": {{"id": "p", "name": "Physics"}}, "entries": [{good}], "updated_at": null}}]"#
        );
        let read = Vec::<SubjectBoard>::from_json_text(&boards).unwrap();
        let serde: Vec<SubjectBoard> = serde_json::from_str(&boards).unwrap();
        assert_eq!(read, serde);
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].entries.len(), 1);
        assert_eq!(read[0].entries[0].username, "ann");
        let board = format!(
            r#"{{"quiz": {{"id": "q", "title": "Q", "subject_id": "m"}}, "entries": [{good}, {bad}]}}"#
        );
        let read = QuizBoard::from_json_text(&board).unwrap();
        assert_eq!(read, serde_json::from_str::<QuizBoard>(&board).unwrap());
        assert_eq!(read.entries.len(), 1);
        let me = r#"{"user": {"id": "2", "username": "mallory"},
            "subjects": [{"subject_id": "m", "rank": 1, "score": null, "sessions": 2},
                         {"subject_id": "p", "rank": 3, "score": 4.0, "sessions": 1}],
            "recent_sessions": [{"session_id": "9", "quiz_id": "q", "score": "high", "completed_at": "2026-01-01T00:00:00Z"}]}"#;
        let read = Performance::from_json_text(me).unwrap();
        assert_eq!(read, serde_json::from_str::<Performance>(me).unwrap());
        assert_eq!(read.subjects.len(), 1);
        assert_eq!(read.subjects[0].subject_id.as_str(), "p");
        assert!(read.recent_sessions.is_empty());
        // Still a list where one is needed.
        assert!(
            QuizBoard::from_json_text(
                r#"{"quiz": {"id": "q", "title": "Q", "subject_id": "m"}, "entries": 3}"#
            )
            .is_err()
        );
        assert!(
            QuizBoard::from_json_text(r#"{"quiz": {"id": "q", "title": "Q", "subject_id": "m"}}"#)
                .is_err()
        );
        // A broadcast's entries too.
        let frame = ServerFrame::decode(&format!(
            r#"{{"type": "leaderboard_updated", "data": {{"subject_id": "m", "entries": [{bad}, {good}]}}}}"#
        ))
        .unwrap();
        let ServerMessage::LeaderboardUpdated {
            entries: Some(entries),
            ..
        } = frame.message
        else {
            panic!("{frame:?}");
        };
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn integer_ids_are_accepted() {
        let frame =
            ServerFrame::decode(r#"{"type": "quiz_leaderboard_updated", "data": {"quiz_id": 7}}"#)
                .unwrap();
        assert_eq!(
            frame.message,
            ServerMessage::QuizLeaderboardUpdated {
                quiz_id: "7".into(),
                entries: None
            }
        );
    }

    #[test]
    fn unknown_type_and_fields_are_tolerated() {
        let frame = ServerFrame::decode(r#"{"type": "party", "x": 1, "seq": 9}"#).unwrap();
        assert_eq!(
            frame.message,
            ServerMessage::Unknown {
                kind: "party".into()
            }
        );
        assert_eq!(frame.seq, Some(9));
    }

    #[test]
    fn server_frame_round_trips_with_envelope() {
        let frame = ServerFrame {
            message: ServerMessage::LeaderboardUpdated {
                subject_id: Some("1".into()),
                entries: None,
            },
            seq: Some(5),
            sent_at: Some("2026-11-26T06:00:00Z".into()),
        };
        let text = frame.encode();
        assert_eq!(
            text,
            r#"{"type": "leaderboard_updated", "data": {"subject_id": "1"}, "seq": 5, "sent_at": "2026-11-26T06:00:00Z"}"#
        );
        assert_eq!(ServerFrame::decode(&text).unwrap(), frame);
    }

    #[test]
    fn client_decode_says_what_is_wrong() {
        assert_eq!(
            ClientMessage::decode(r#"{"type": "dance"}"#),
            Err(DecodeError::UnknownType("dance".into()))
        );
        assert!(matches!(
            ClientMessage::decode(r#"{"type": "subscribe_quiz"}"#),
            Err(DecodeError::BadField { .. })
        ));
        assert!(matches!(
            ClientMessage::decode("{nope"),
            Err(DecodeError::NotJson(_))
        ));
        assert_eq!(ClientMessage::decode("[1]"), Err(DecodeError::NotAnObject));
    }

    #[test]
    fn api_error_message_reads_drf_field_errors() {
        assert_eq!(
            ApiError::message_from(r#"{"score": ["A valid number is required."]}"#),
            "score: A valid number is required."
        );
        assert_eq!(
            ApiError::message_from(r#"{"detail": "Not found."}"#),
            "Not found."
        );
        assert_eq!(
            ApiError::message_from("<html>502</html>"),
            "<html>502</html>"
        );
    }

    #[test]
    fn http_statuses_are_described_one_way() {
        assert_eq!(
            ApiError::describe_status(502, "Bad Gateway"),
            Text::new("http_server_error_detail")
                .plain("502")
                .plain("Bad Gateway")
        );
        assert_eq!(
            ApiError::describe_status(403, r#"{"detail": "Nope."}"#),
            Text::new("http_refused_detail").plain("403").plain("Nope.")
        );
        assert_eq!(
            ApiError::describe_status(500, ""),
            Text::new("http_server_error").plain("500")
        );
    }
}
