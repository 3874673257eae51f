//! What the core says to people, without the words.
//!
//! A [`Text`] names a message of the adapters' catalogs (`_locales/<lang>/messages.json`)
//! by its key and carries the message's arguments as typed values: names and other
//! outside text as they are, counts (which choose the plural form), numbers, scores,
//! spans and moments of time, or another message. The adapters put it into the user's
//! language, the catalog's words with the platform's `Intl` for numbers, plurals and
//! times; the core never writes a sentence, and its tests assert these values.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::json::{FromJson, Json, Object, ToJson, expected};
use crate::time::Timestamp;

/// A message for people: its catalog key and its arguments.
///
/// JSON: `{"key": "conn_retrying", "args": [{"number": 2}, {"number": 5}, {"span": 3000}]}`
/// (`args` left out when there are none). A bare string (a sentence stored by an
/// earlier version) reads as that text, shown as it is ([`Text::plain_text`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "TextJson")]
pub struct Text {
    /// The message's key in the catalogs. A message with a [`Arg::Count`] has one
    /// catalog entry per plural form (`new_sessions__one`, `new_sessions__other`, …):
    /// this is their stem.
    pub key: Cow<'static, str>,
    /// The arguments, in the order of the catalog's placeholders (`$1`, `$2`, …; at most
    /// nine).
    pub args: Vec<Arg>,
}

/// Written by hand, like [`Arg`]'s.
impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("key", &*self.key)?;
        if !self.args.is_empty() {
            map.serialize_entry("args", &self.args)?;
        }
        map.end()
    }
}

/// Written as its serde `Serialize` writes it (tests compare both).
impl ToJson for Text {
    fn write_json(&self, out: &mut String) {
        crate::json::push(out, r#"{"key":"#);
        self.key.write_json(out);
        if !self.args.is_empty() {
            crate::json::push(out, r#","args":"#);
            self.args.write_json(out);
        }
        out.push('}');
    }
}

/// What a [`Text`] may be read from: itself, or an earlier version's sentence.
#[derive(Deserialize)]
#[serde(untagged)]
enum TextJson {
    Said {
        key: Cow<'static, str>,
        #[serde(default)]
        args: Vec<Arg>,
    },
    Sentence(String),
}

impl From<TextJson> for Text {
    fn from(json: TextJson) -> Text {
        match json {
            TextJson::Said { key, args } => Text { key, args },
            TextJson::Sentence(text) => Text::plain_text(text),
        }
    }
}

/// One argument of a [`Text`].
///
/// JSON: an object with one field named for the kind: `{"plain": "alice"}`,
/// `{"count": 3}`, `{"score": 875}`, `{"text": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Json")]
pub enum Arg {
    /// Text from outside, shown as it is and set apart from the sentence's direction
    /// (a username, a quiz title, a URL, a close code, the server's or the browser's own
    /// words).
    Plain(String),
    /// A message inside the message (a reason inside a sentence).
    Text(Box<Text>),
    /// A number of some [`Kind`]: how the adapters write it.
    Value(Kind, i64),
}

/// What a number argument is, which says how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A count: a number that also chooses the message's plural form (at most one per
    /// message).
    Count,
    /// A number (a rank, an attempt).
    Number,
    /// A score, in tenths of a point (87.5 is 875).
    Score,
    /// A span of time, in milliseconds ("3 s", "2 min").
    Span,
    /// How long before the message was made, in milliseconds ("5 min ago").
    Ago,
    /// A moment (milliseconds since the epoch), shown as the user's local date and time.
    At,
}

impl Kind {
    /// Every kind, in the order of [`Kind::name`]'s names.
    const ALL: [Kind; 6] = [
        Kind::Count,
        Kind::Number,
        Kind::Score,
        Kind::Span,
        Kind::Ago,
        Kind::At,
    ];

    /// Its name in the JSON (`"count"`).
    pub fn name(self) -> &'static str {
        ["count", "number", "score", "span", "ago", "at"][self as usize]
    }

    fn named(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// serde reads an argument through the one JSON reader ([`FromJson`]), so both
/// readers agree by construction.
impl TryFrom<Json> for Arg {
    type Error = serde_json::Error;

    fn try_from(json: Json) -> Result<Arg, serde_json::Error> {
        Arg::from_json(json)
    }
}

/// Marks a catalog key that is held somewhere (a `match` arm, an array) before it
/// reaches a message: `cargo xtask test`'s catalog check finds the keys the code uses
/// as the literal first argument of `Text::new`, `k` and the adapters' `t`, `tr`, `tn`.
pub const fn k(key: &'static str) -> &'static str {
    key
}

impl Text {
    /// The message `key` with no arguments yet.
    pub const fn new(key: &'static str) -> Text {
        Text {
            key: Cow::Borrowed(key),
            args: Vec::new(),
        }
    }

    fn with(mut self, arg: Arg) -> Text {
        self.args.push(arg);
        self
    }

    /// Outside text alone, shown as it is (the server's or the browser's own words).
    pub fn plain_text(text: impl Into<String>) -> Text {
        Text::new("plain").plain(text)
    }

    /// Adds outside text, shown as it is.
    pub fn plain(self, text: impl Into<String>) -> Text {
        self.with(Arg::Plain(text.into()))
    }

    /// Adds a count (it chooses the plural form).
    pub fn count(self, n: u64) -> Text {
        self.value(Kind::Count, i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// Adds a number.
    pub fn number(self, n: i64) -> Text {
        self.value(Kind::Number, n)
    }

    fn value(self, kind: Kind, n: i64) -> Text {
        self.with(Arg::Value(kind, n))
    }

    /// Adds a score, rounded to tenths of a point (half away from zero; not a number
    /// counts as 0).
    pub fn score(self, score: f64) -> Text {
        self.with(Arg::score(score))
    }

    /// Adds a span of time.
    pub fn span(self, span: Duration) -> Text {
        self.value(Kind::Span, millis(span))
    }

    /// Adds how long ago something was.
    pub fn ago(self, span: Duration) -> Text {
        self.value(Kind::Ago, millis(span))
    }

    /// Adds a moment.
    pub fn at(self, at: Timestamp) -> Text {
        self.value(Kind::At, i64::try_from(at.as_millis()).unwrap_or(i64::MAX))
    }

    /// Adds a message inside this one.
    pub fn text(self, text: Text) -> Text {
        self.with(Arg::Text(Box::new(text)))
    }

    /// The count that chooses the plural form, if the message has one.
    pub fn plural_count(&self) -> Option<u64> {
        self.args.iter().find_map(|arg| match arg {
            Arg::Value(Kind::Count, n) => u64::try_from(*n).ok(),
            _ => None,
        })
    }
}

/// Written by hand, like [`Text`]'s.
impl Serialize for Arg {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Arg::Plain(text) => map.serialize_entry("plain", text)?,
            Arg::Text(text) => map.serialize_entry("text", text)?,
            Arg::Value(kind, n) => map.serialize_entry(kind.name(), n)?,
        }
        map.end()
    }
}

/// Written as its serde `Serialize` writes it (tests compare both).
impl ToJson for Arg {
    fn write_json(&self, out: &mut String) {
        let (name, value): (&str, &dyn ToJson) = match self {
            Arg::Plain(text) => ("plain", text),
            Arg::Text(text) => ("text", text),
            Arg::Value(kind, n) => (kind.name(), n),
        };
        out.push('{');
        crate::json::push_str_literal(out, name);
        out.push(':');
        value.write_json(out);
        out.push('}');
    }
}

impl Arg {
    /// A score argument: `score` rounded to tenths (half away from zero), 0 when it is
    /// not a finite number.
    pub fn score(score: f64) -> Arg {
        // Beyond ±9e17 tenths the cast saturates: no real quiz gets there.
        let tenths = if score.is_finite() {
            (score * 10.0).round() as i64
        } else {
            0
        };
        Arg::Value(Kind::Score, tenths)
    }
}

fn millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

impl From<&'static str> for Text {
    fn from(key: &'static str) -> Text {
        Text::new(key)
    }
}

/// The key and arguments, for logs and tests (`conn_retrying(2, 5, 3000 ms)`); people
/// read a [`Text`] through the adapters' catalogs.
impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)?;
        if self.args.is_empty() {
            return Ok(());
        }
        f.write_str("(")?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match arg {
                Arg::Plain(text) => write!(f, "{text:?}")?,
                Arg::Text(text) => write!(f, "{text}")?,
                Arg::Value(kind, n) => write!(f, "{}={n}", kind.name())?,
            }
        }
        f.write_str(")")
    }
}

impl FromJson for Text {
    fn from_json(json: Json) -> Result<Self, serde_json::Error> {
        if let Json::String(sentence) = json {
            return Ok(Text::plain_text(sentence));
        }
        let mut obj = Object::new(json, "struct Text")?;
        Ok(Text {
            key: Cow::Owned(obj.req::<String>("key")?),
            args: obj.opt("args")?,
        })
    }
}

impl FromJson for Arg {
    fn from_json(json: Json) -> Result<Self, serde_json::Error> {
        let (name, value) = match json {
            Json::Object(mut fields) if fields.len() == 1 => fields.remove(0),
            other => return Err(expected("an argument", &other)),
        };
        let arg = match (name.as_str(), value) {
            ("plain", Json::String(text)) => Some(Arg::Plain(text)),
            ("text", value) => Some(Arg::Text(Box::new(Text::from_json(value)?))),
            // Counts, spans and moments are never negative.
            (name, value) => Kind::named(name)
                .zip(value.as_i64())
                .filter(|(kind, n)| *n >= 0 || matches!(kind, Kind::Number | Kind::Score))
                .map(|(kind, n)| Arg::Value(kind, n)),
        };
        arg.ok_or_else(|| expected("an argument", &Json::String(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_readers_agree_and_args_keep_their_order() {
        let text = Text::new("new_sessions")
            .count(3)
            .plain("Quadratics")
            .text(Text::new("latest").plain("ann").score(87.25))
            .number(-2)
            .span(Duration::from_secs(3))
            .ago(Duration::from_millis(1500))
            .at(Timestamp::from_secs(60));
        let json = serde_json::to_string(&text).unwrap();
        assert_eq!(
            json,
            r#"{"key":"new_sessions","args":[{"count":3},{"plain":"Quadratics"},{"text":{"key":"latest","args":[{"plain":"ann"},{"score":873}]}},{"number":-2},{"span":3000},{"ago":1500},{"at":60000}]}"#
        );
        assert_eq!(Text::from_json_text(&json).unwrap(), text);
        assert_eq!(serde_json::from_str::<Text>(&json).unwrap(), text);
        assert_eq!(text.plural_count(), Some(3));
        // No arguments: no `args` field; reading one without it gives none.
        let bare = serde_json::to_string(&Text::new("conn_live")).unwrap();
        assert_eq!(bare, r#"{"key":"conn_live"}"#);
        assert_eq!(Text::from_json_text(&bare).unwrap(), Text::new("conn_live"));
        assert_eq!(Text::new("conn_live").plural_count(), None);
        // An earlier version's sentence reads as that text, shown as it is.
        let old = r#""the server refused this account""#;
        let said = Text::plain_text("the server refused this account");
        assert_eq!(Text::from_json_text(old).unwrap(), said);
        assert_eq!(serde_json::from_str::<Text>(old).unwrap(), said);
        assert_eq!(
            said.to_string(),
            r#"plain("the server refused this account")"#
        );
    }

    #[test]
    fn scores_round_to_tenths_and_bad_arguments_are_refused() {
        assert_eq!(Arg::score(87.25), Arg::Value(Kind::Score, 873));
        assert_eq!(Arg::score(-0.05), Arg::Value(Kind::Score, -1));
        assert_eq!(Arg::score(f64::NAN), Arg::Value(Kind::Score, 0));
        for bad in [
            r#"{"key":"x","args":[{"shout":"hi"}]}"#,
            r#"{"key":"x","args":[{"count":-1}]}"#,
            r#"{"key":"x","args":[{"plain":"a","count":1}]}"#,
            r#"{"args":[]}"#,
            "7",
        ] {
            assert!(Text::from_json_text(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<Text>(bad).is_err(), "{bad}");
        }
    }
}
