//! The one JSON reader of the wasm: [`Json::parse`] parses text once into a [`Json`] tree,
//! and [`FromJson`] reads each type from the tree by plain code, one call per field.
//! And its one writer: [`ToJson`] writes each type as `serde_json` would, by plain
//! code too.
//!
//! Why not serde's `Deserialize` in the wasm: every derived decoder is a visitor
//! compiled once per type and format, with a string match per field, duplicate and
//! missing checks and the cleanup of every partly read value; the snapshot's alone was
//! 26 KB of code. The types keep their derives (the server and the tests use them, and
//! unused generics cost the wasm nothing); tests check that both readers agree.
//! Why not `serde_json::Value`: its objects are `BTreeMap`s, a lot of code for the few
//! fields a message has; a [`Json`] object is its fields in text order.

use std::fmt;

mod parse;

use serde::de::{Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Error;

/// A parsed JSON value. Objects keep their fields in text order; where a key repeats,
/// [`Json::get`] finds the last, as JavaScript's `JSON.parse` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: its fields in text order.
    Object(Vec<(String, Json)>),
}

/// A JSON number: an integer when it is one, else a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Signed(i64),
    /// Anything else.
    Float(f64),
}

impl Json {
    /// Parses JSON text: the values and the errors of `serde_json::from_str`, by plain
    /// code (module `json::parse`).
    pub fn parse(text: &str) -> Result<Json, Error> {
        parse::parse(text)
    }

    /// An object's field (the last one when the key repeats); `None` for other values.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Takes an object's field out (the last one when the key repeats).
    pub fn take(&mut self, key: &str) -> Option<Json> {
        match self {
            Json::Object(fields) => take_field(fields, key),
            _ => None,
        }
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number as a `u64`, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(Number::Unsigned(u)) => Some(*u),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(Number::Unsigned(u)) => i64::try_from(*u).ok(),
            Json::Number(Number::Signed(i)) => Some(*i),
            _ => None,
        }
    }

    /// The number as an `f64`, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)]
            Json::Number(Number::Unsigned(u)) => Some(*u as f64),
            #[allow(clippy::cast_precision_loss)]
            Json::Number(Number::Signed(i)) => Some(*i as f64),
            Json::Number(Number::Float(f)) => Some(*f),
            _ => None,
        }
    }

    /// The items, if it is an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The fields, if it is an object.
    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(fields) => Some(fields),
            _ => None,
        }
    }
}

/// Compact JSON text.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Json::Number(Number::Unsigned(u)) => write!(f, "{u}"),
            Json::Number(Number::Signed(i)) => write!(f, "{i}"),
            Json::Number(Number::Float(x)) => {
                f.write_str(&serde_json::to_string(x).unwrap_or_default())
            }
            Json::String(s) => write_string(f, s),
            Json::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Object(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_string(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A JSON string literal.
fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => fmt::Write::write_char(f, c)?,
        }
    }
    f.write_str("\"")
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

/// Builds a [`Json`] from whatever the text holds.
struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Json, E> {
        Ok(Json::Number(Number::Unsigned(u)))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Json, E> {
        Ok(Json::Number(match u64::try_from(i) {
            Ok(u) => Number::Unsigned(u),
            Err(_) => Number::Signed(i),
        }))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Json, E> {
        Ok(Json::Number(Number::Float(x)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut fields = Vec::new();
        while let Some(field) = map.next_entry::<String, Json>()? {
            fields.push(field);
        }
        Ok(Json::Object(fields))
    }
}

/// A type read from a parsed tree by plain code: one call per field, no visitor per
/// type and format. The types the pages and the worker read most (the snapshot, the
/// REST bodies, settings, commands) implement it with [`from_json_struct!`] and
/// [`from_json_enum!`]; it reads exactly what their serde `Deserialize` reads (tests
/// check both agree), in a fraction of the wasm.
pub trait FromJson: Sized {
    /// Reads the value; the error says what is wrong, and where.
    fn from_json(json: Json) -> Result<Self, Error>;

    /// Parses `text` and reads the value.
    fn from_json_text(text: &str) -> Result<Self, Error> {
        Self::from_json(Json::parse(text)?)
    }
}

/// The error for a value that is not what was expected (not generic).
pub fn expected(what: &str, got: &Json) -> Error {
    let got = match got {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    };
    Error::custom(format_args!("invalid type: {got}, expected {what}"))
}

/// An object's fields, taken out one by one by name.
pub struct Object(Vec<(String, Json)>);

impl Object {
    /// The fields of `json`, which must be an object (`what` names it in errors).
    pub fn new(json: Json, what: &str) -> Result<Object, Error> {
        match json {
            Json::Object(fields) => Ok(Object(fields)),
            other => Err(expected(what, &other)),
        }
    }

    /// Takes a field's value out (the last one when the key repeats).
    fn take(&mut self, name: &str) -> Option<Json> {
        take_field(&mut self.0, name)
    }

    /// A field that must be there.
    pub fn req<T: FromJson>(&mut self, name: &'static str) -> Result<T, Error> {
        match self.take(name) {
            Some(value) => T::from_json(value).map_err(|e| in_field(name, &e)),
            None => Err(Error::missing_field(name)),
        }
    }

    /// A field whose absence means its default (`Option` fields: `None`).
    pub fn opt<T: FromJson + Default>(&mut self, name: &'static str) -> Result<T, Error> {
        self.or(name, T::default())
    }

    /// A list of rows that must be there; a row that does not read as `T` is
    /// left out (one bad row does not cost the whole board).
    pub fn rows<T: FromJson>(&mut self, name: &'static str) -> Result<Vec<T>, Error> {
        match self.take(name) {
            Some(value) => readable_rows(value).map_err(|e| in_field(name, &e)),
            None => Err(Error::missing_field(name)),
        }
    }

    /// [`Object::rows`] whose absence means none.
    pub fn opt_rows<T: FromJson>(&mut self, name: &'static str) -> Result<Vec<T>, Error> {
        match self.take(name) {
            Some(value) => readable_rows(value).map_err(|e| in_field(name, &e)),
            None => Ok(Vec::new()),
        }
    }

    /// A field whose absence means `default`.
    pub fn or<T: FromJson>(&mut self, name: &'static str, default: T) -> Result<T, Error> {
        match self.take(name) {
            Some(value) => T::from_json(value).map_err(|e| in_field(name, &e)),
            None => Ok(default),
        }
    }
}

/// The items of an array that read as `T`, in order.
fn readable_rows<T: FromJson>(json: Json) -> Result<Vec<T>, Error> {
    match json {
        Json::Array(items) => Ok(items
            .into_iter()
            .filter_map(|item| T::from_json(item).ok())
            .collect()),
        other => Err(expected("an array", &other)),
    }
}

/// Takes field `key` out of `fields` (the last one when the key repeats); the order of
/// the others is kept.
fn take_field(fields: &mut Vec<(String, Json)>, key: &str) -> Option<Json> {
    let at = fields.iter().rposition(|(k, _)| k == key)?;
    Some(fields.remove(at).1)
}

/// An error inside field `name`, said with the field's name.
fn in_field(name: &str, error: &Error) -> Error {
    Error::custom(format_args!("{name}: {error}"))
}

impl FromJson for Json {
    fn from_json(json: Json) -> Result<Self, Error> {
        Ok(json)
    }
}

impl FromJson for String {
    fn from_json(json: Json) -> Result<Self, Error> {
        match json {
            Json::String(s) => Ok(s),
            other => Err(expected("a string", &other)),
        }
    }
}

impl FromJson for bool {
    fn from_json(json: Json) -> Result<Self, Error> {
        match json {
            Json::Bool(b) => Ok(b),
            other => Err(expected("a boolean", &other)),
        }
    }
}

impl FromJson for u64 {
    fn from_json(json: Json) -> Result<Self, Error> {
        json.as_u64()
            .ok_or_else(|| expected("a non-negative integer", &json))
    }
}

impl FromJson for u32 {
    fn from_json(json: Json) -> Result<Self, Error> {
        json.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| expected("an integer from 0 to 4294967295", &json))
    }
}

impl FromJson for f64 {
    fn from_json(json: Json) -> Result<Self, Error> {
        json.as_f64().ok_or_else(|| expected("a number", &json))
    }
}

impl FromJson for () {
    fn from_json(json: Json) -> Result<Self, Error> {
        match json {
            Json::Null => Ok(()),
            other => Err(expected("null", &other)),
        }
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(json: Json) -> Result<Self, Error> {
        match json {
            Json::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }
}

impl<A: FromJson, B: FromJson, C: FromJson> FromJson for (A, B, C) {
    fn from_json(json: Json) -> Result<Self, Error> {
        match json {
            Json::Array(items) if items.len() == 3 => {
                let mut items = items.into_iter();
                let mut next = || items.next().unwrap_or_default();
                Ok((
                    A::from_json(next())?,
                    B::from_json(next())?,
                    C::from_json(next())?,
                ))
            }
            other => Err(expected("an array of 3", &other)),
        }
    }
}

impl<T: FromJson> FromJson for Box<T> {
    fn from_json(json: Json) -> Result<Self, Error> {
        T::from_json(json).map(Box::new)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(json: Json) -> Result<Self, Error> {
        match json {
            Json::Array(items) => {
                // A plain loop: `collect()` into a `Result` compiles std's in-place
                // collecting machinery once per item type.
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(T::from_json(item)?);
                }
                Ok(out)
            }
            other => Err(expected("an array", &other)),
        }
    }
}

/// Implements [`FromJson`] for a struct, field by field: `req` fields must be there,
/// `opt` fields are their default when absent (serde's `Option` and
/// `#[serde(default)]` fields). `default` before the braces reads a struct with
/// `#[serde(default)]` on the container: every absent field is the default's.
#[macro_export]
macro_rules! from_json_struct {
    ($ty:ident { $($field:ident: $how:ident),* $(,)? }) => {
        impl $crate::json::FromJson for $ty {
            fn from_json(json: $crate::json::Json) -> Result<Self, serde_json::Error> {
                let mut obj = $crate::json::Object::new(json, concat!("struct ", stringify!($ty)))?;
                Ok($ty { $($field: obj.$how(stringify!($field))?,)* })
            }
        }
    };
    ($ty:ident default { $($field:ident),* $(,)? }) => {
        impl $crate::json::FromJson for $ty {
            fn from_json(json: $crate::json::Json) -> Result<Self, serde_json::Error> {
                let mut obj = $crate::json::Object::new(json, concat!("struct ", stringify!($ty)))?;
                let default = <$ty as Default>::default();
                Ok($ty { $($field: obj.or(stringify!($field), default.$field)?,)* })
            }
        }
    };
}

/// Implements [`FromJson`] for an enum of unit variants spelt as strings, and
/// [`ToJson`], which writes each variant as the same string.
#[macro_export]
macro_rules! from_json_enum {
    ($ty:ident { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $crate::json::ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                $crate::json::push(out, match self {
                    $($ty::$variant => concat!("\"", $name, "\""),)*
                });
            }
        }

        impl $crate::json::FromJson for $ty {
            fn from_json(json: $crate::json::Json) -> Result<Self, serde_json::Error> {
                const NAMES: &[&str] = &[$($name),*];
                match json.as_str() {
                    $(Some($name) => Ok($ty::$variant),)*
                    Some(other) => Err(<serde_json::Error as serde::de::Error>::unknown_variant(other, NAMES)),
                    None => Err($crate::json::expected(concat!("enum ", stringify!($ty)), &json)),
                }
            }
        }
    };
}

/// A type written as JSON text by plain code: one call per field, no serializer per
/// type and format. The text is byte for byte what `serde_json::to_string` writes for
/// the type's serde `Serialize` (tests check both agree); the wasm writes every value
/// it stores or posts (the snapshot, the stored state, the commands) through it, so
/// serde's serializer plumbing (an `io::Write` and a `Result` per key and value) is not
/// compiled in for each type.
pub trait ToJson {
    /// Appends the value's compact JSON text to `out`.
    fn write_json(&self, out: &mut String);

    /// The value's compact JSON text.
    fn to_json_text(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
}

/// Appends `text` (a piece of JSON syntax: a key with its quotes, a brace). Not
/// inlined: one call per field instead of a copy of `push_str` per field.
#[inline(never)]
pub fn push(out: &mut String, text: &str) {
    out.push_str(text);
}

/// Appends `s` as a JSON string literal, escaped as `serde_json` escapes it: `"`, `\`,
/// and the control characters below U+0020 (`\b`, `\t`, `\n`, `\f`, `\r`, else
/// `\u00XX`); everything else as it is.
pub fn push_str_literal(out: &mut String, s: &str) {
    push_escaped(out, s, false);
}

/// Appends `s` as a JSON string literal as Python's `json.dumps` writes it
/// (`ensure_ascii`): [`push_str_literal`]'s escapes, and every character beyond ASCII,
/// and DEL, as `\u` escapes of UTF-16 units (`é` is `\u00e9`).
pub fn push_ascii_str_literal(out: &mut String, s: &str) {
    push_escaped(out, s, true);
}

fn push_escaped(out: &mut String, s: &str, ascii_only: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\0'..='\u{1f}' => push_unit(out, c as u16),
            c if ascii_only && (!c.is_ascii() || c == '\u{7f}') => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_unit(out, *unit);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A `\u` escape of four lowercase hex digits (`\u001f`).
fn push_unit(out: &mut String, unit: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
    }
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        push_str_literal(out, self);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        push_str_literal(out, self);
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        push(out, if *self { "true" } else { "false" });
    }
}

impl ToJson for u64 {
    fn write_json(&self, out: &mut String) {
        use fmt::Write as _;
        // Writing to a `String` cannot fail.
        let _ = write!(out, "{self}");
    }
}

impl ToJson for i64 {
    fn write_json(&self, out: &mut String) {
        use fmt::Write as _;
        // Writing to a `String` cannot fail.
        let _ = write!(out, "{self}");
    }
}

impl ToJson for u32 {
    fn write_json(&self, out: &mut String) {
        u64::from(*self).write_json(out);
    }
}

impl ToJson for f64 {
    /// The shortest text that reads back as the same number (`serde_json`'s), `null`
    /// when it is not finite.
    fn write_json(&self, out: &mut String) {
        match serde_json::Number::from_f64(*self) {
            Some(number) => {
                use fmt::Write as _;
                let _ = write!(out, "{number}");
            }
            None => push(out, "null"),
        }
    }
}

impl ToJson for () {
    fn write_json(&self, out: &mut String) {
        push(out, "null");
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, out: &mut String) {
        (**self).write_json(out);
    }
}

impl<T: ToJson + ?Sized> ToJson for Box<T> {
    fn write_json(&self, out: &mut String) {
        (**self).write_json(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(value) => value.write_json(out),
            None => push(out, "null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        self.as_slice().write_json(out);
    }
}

impl<A: ToJson, B: ToJson, C: ToJson> ToJson for (A, B, C) {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        self.0.write_json(out);
        out.push(',');
        self.1.write_json(out);
        out.push(',');
        self.2.write_json(out);
        out.push(']');
    }
}

/// A map key: written as a JSON string, as `serde_json` writes string keys.
pub trait JsonKey {
    /// The key's text.
    fn json_key(&self) -> &str;
}

impl JsonKey for String {
    fn json_key(&self) -> &str {
        self
    }
}

/// Implements [`ToJson`] for a struct: `{"field":value,…}`, its fields listed in
/// declaration order, as serde's derive writes them (no field may be skipped or
/// renamed: such a struct writes its own).
#[macro_export]
macro_rules! to_json_struct {
    ($ty:ident { $first:ident $(, $field:ident)* $(,)? }) => {
        impl $crate::json::ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                $crate::json::push(out, concat!("{\"", stringify!($first), "\":"));
                $crate::json::ToJson::write_json(&self.$first, out);
                $(
                    $crate::json::push(out, concat!(",\"", stringify!($field), "\":"));
                    $crate::json::ToJson::write_json(&self.$field, out);
                )*
                out.push('}');
            }
        }
    };
}

/// Implements [`FromJson`] and [`ToJson`] for a struct from one list of its fields (in
/// declaration order, which is the order serde writes them in), so the reader and the
/// writer never disagree about which fields there are. The forms are
/// [`from_json_struct!`]'s.
#[macro_export]
macro_rules! json_struct {
    ($ty:ident { $($field:ident: $how:ident),* $(,)? }) => {
        $crate::from_json_struct!($ty { $($field: $how),* });
        $crate::to_json_struct!($ty { $($field),* });
    };
    ($ty:ident default { $($field:ident),* $(,)? }) => {
        $crate::from_json_struct!($ty default { $($field),* });
        $crate::to_json_struct!($ty { $($field),* });
    };
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::{FromJson, Json, Number};
    use crate::wire::QuizId;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Row {
        name: String,
        rank: u32,
        note: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
        kind: Kind,
    }
    crate::from_json_struct!(Row {
        name: req,
        rank: req,
        note: opt,
        tags: opt,
        kind: req
    });

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        DoubleScore,
    }
    crate::from_json_enum!(Kind { Plain = "plain", DoubleScore = "double_score" });

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default)]
    struct Prefs {
        on: bool,
        limit: u32,
        hours: Option<(u32, f64, u32)>,
    }
    crate::from_json_struct!(Prefs default { on, limit, hours });

    /// Both readers, which must agree.
    fn both<T: FromJson + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(
        text: &str,
    ) -> T {
        let ours = T::from_json_text(text).unwrap();
        assert_eq!(ours, serde_json::from_str::<T>(text).unwrap());
        ours
    }

    #[test]
    fn reads_what_serde_reads() {
        let row: Row = both(
            r#"{"name": "ann", "rank": 2, "extra": [1, {"x": null}], "kind": "double_score"}"#,
        );
        assert_eq!(
            (row.note, row.tags.len(), row.kind),
            (None, 0, Kind::DoubleScore)
        );
        let row: Row =
            both(r#"{"name": "b", "rank": 1, "note": "n", "tags": ["t"], "kind": "plain"}"#);
        assert_eq!(
            (row.note.as_deref(), row.tags),
            (Some("n"), vec!["t".to_owned()])
        );
        assert_eq!(both::<Prefs>("{}"), Prefs::default());
        let prefs: Prefs = both(r#"{"limit": 7, "hours": [1, 2.5, 3]}"#);
        assert_eq!(
            (prefs.on, prefs.limit, prefs.hours),
            (false, 7, Some((1, 2.5, 3)))
        );
        assert_eq!(
            both::<Vec<Option<u64>>>("[1, null, 3]"),
            [Some(1), None, Some(3)]
        );
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        let error = |text: &str| Row::from_json_text(text).unwrap_err().to_string();
        assert_eq!(
            error(r#"{"rank": 1, "kind": "plain"}"#),
            "missing field `name`"
        );
        assert_eq!(
            error(r#"{"name": "a", "rank": -1, "kind": "plain"}"#),
            "rank: invalid type: a number, expected an integer from 0 to 4294967295"
        );
        assert_eq!(
            error(r#"{"name": "a", "rank": 4294967296, "kind": "plain"}"#),
            "rank: invalid type: a number, expected an integer from 0 to 4294967295"
        );
        assert_eq!(
            error(r#"{"name": 5, "rank": 1, "kind": "plain"}"#),
            "name: invalid type: a number, expected a string"
        );
        assert_eq!(
            error(r#"{"name": "a", "rank": 1, "kind": "round"}"#),
            "kind: unknown variant `round`, expected `plain` or `double_score`"
        );
        assert_eq!(
            error("[1, 2]"),
            "invalid type: an array, expected struct Row"
        );
        assert!(error(r#"{"name": "a""#).contains("EOF while parsing"));
        assert_eq!(
            Prefs::from_json_text(r#"{"on": null}"#)
                .unwrap_err()
                .to_string(),
            "on: invalid type: null, expected a boolean"
        );
    }

    #[test]
    fn identifiers_are_strings_or_integers() {
        assert_eq!(
            QuizId::from_json_text(r#""q1""#).unwrap(),
            QuizId::from("q1")
        );
        assert_eq!(QuizId::from_json_text("42").unwrap(), QuizId::from("42"));
        assert!(QuizId::from_json_text("true").is_err());
        assert!(QuizId::from_json_text("4.5").is_err());
        let ids = Vec::<Option<QuizId>>::from_json_text(r#"["a", null, 7]"#).unwrap();
        assert_eq!(ids, [Some("a".into()), None, Some("7".into())]);
    }

    #[test]
    fn the_tree_keeps_text_order_and_finds_the_last_repeated_key() {
        let mut json = Json::parse(r#"{"b": 1, "a": [true, null, -2, 2.5], "b": "x"}"#).unwrap();
        assert_eq!(json.get("b").and_then(Json::as_str), Some("x"));
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["b", "a", "b"]);
        let a = json.take("a").unwrap();
        assert_eq!(
            a.as_array().unwrap(),
            [
                Json::Bool(true),
                Json::Null,
                Json::Number(Number::Signed(-2)),
                Json::Number(Number::Float(2.5)),
            ]
        );
        assert_eq!(json.get("a"), None);
        assert_eq!(Json::parse("7").unwrap().as_i64(), Some(7));
        assert_eq!(Json::parse("-7").unwrap().as_u64(), None);
        assert!(Json::parse("{\"a\": }").is_err());
    }

    #[test]
    fn the_tree_prints_as_compact_json_that_reads_back() {
        let text =
            r#"{"s":"quote \" back \\ nl \n tab \t bell \u0007 é","n":[1,-1,0.5,null,false]}"#;
        let json = Json::parse(text).unwrap();
        assert_eq!(json.to_string(), text);
        assert_eq!(Json::parse(&json.to_string()).unwrap(), json);
    }
}
