//! The one JSON reader of the wasm: text is parsed once into a [`Json`] tree, and every
//! type is decoded from the tree by a deserializer that offers each visitor exactly one
//! way in.
//!
//! Why not `serde_json::from_str::<T>` straight from text: its deserializer accepts a
//! struct as an object *or* an array and a field name as a string, bytes or an index,
//! so every derived decoder is compiled for every form, and each copy inlines the
//! tokenizer. Here a struct is an object only, a name a string only, a number a number
//! only; the tokenizer is compiled once (for [`Json`]). Why not `serde_json::Value`:
//! its objects are `BTreeMap`s, a lot of code for the few fields a message has; a
//! [`Json`] object is its fields in text order. The JSON accepted is the same for
//! every type of the contract; only the error texts lose their line and column.

use std::fmt;

use serde::de::{
    DeserializeOwned, DeserializeSeed, EnumAccess, Error as _, Expected, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
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
    /// Parses JSON text.
    pub fn parse(text: &str) -> Result<Json, Error> {
        serde_json::from_str(text)
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
        let Json::Object(fields) = self else {
            return None;
        };
        let at = fields.iter().rposition(|(k, _)| k == key)?;
        Some(fields.remove(at).1)
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
        let at = self.0.iter().rposition(|(k, _)| k == name)?;
        Some(self.0.swap_remove(at).1)
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

    /// A field whose absence means `default`.
    pub fn or<T: FromJson>(&mut self, name: &'static str, default: T) -> Result<T, Error> {
        match self.take(name) {
            Some(value) => T::from_json(value).map_err(|e| in_field(name, &e)),
            None => Ok(default),
        }
    }
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
                Ok((A::from_json(next())?, B::from_json(next())?, C::from_json(next())?))
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
            Json::Array(items) => items.into_iter().map(T::from_json).collect(),
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

/// Implements [`FromJson`] for an enum of unit variants spelt as strings.
#[macro_export]
macro_rules! from_json_enum {
    ($ty:ident { $($variant:ident = $name:literal),* $(,)? }) => {
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

/// Decodes JSON text into `T`: one parse into a tree, then one walk over it.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    T::deserialize(Tree(Json::parse(text)?))
}

/// Decodes a parsed tree into `T`.
pub fn from_json<T: DeserializeOwned>(json: Json) -> Result<T, Error> {
    T::deserialize(Tree(json))
}

/// A parsed JSON value, as a deserializer.
struct Tree(Json);

/// What a value is, for an "invalid type" error.
fn unexpected(value: &Json) -> Unexpected<'_> {
    match value {
        Json::Null => Unexpected::Unit,
        Json::Bool(b) => Unexpected::Bool(*b),
        Json::Number(Number::Unsigned(u)) => Unexpected::Unsigned(*u),
        Json::Number(Number::Signed(i)) => Unexpected::Signed(*i),
        Json::Number(Number::Float(x)) => Unexpected::Float(*x),
        Json::String(s) => Unexpected::Str(s),
        Json::Array(_) => Unexpected::Seq,
        Json::Object(_) => Unexpected::Map,
    }
}

/// The error for a value of the wrong kind (not generic: one copy for every visitor).
fn invalid(value: &Json, expected: &dyn Expected) -> Error {
    Error::invalid_type(unexpected(value), expected)
}

impl<'de> Deserializer<'de> for Tree {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Json::Null => visitor.visit_unit(),
            Json::Bool(b) => visitor.visit_bool(b),
            Json::Number(Number::Unsigned(u)) => visitor.visit_u64(u),
            Json::Number(Number::Signed(i)) => visitor.visit_i64(i),
            Json::Number(Number::Float(x)) => visitor.visit_f64(x),
            Json::String(s) => visitor.visit_string(s),
            Json::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            Json::Object(map) => visitor.visit_map(Fields {
                iter: map.into_iter(),
                value: None,
            }),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Json::Bool(b) => visitor.visit_bool(b),
            other => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_u64() {
            Some(u) => visitor.visit_u64(u),
            None => Err(invalid(&self.0, &visitor)),
        }
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_i64() {
            Some(i) => visitor.visit_i64(i),
            None => Err(invalid(&self.0, &visitor)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_f64() {
            Some(f) => visitor.visit_f64(f),
            None => Err(invalid(&self.0, &visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Json::String(s) => visitor.visit_string(s),
            other => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Json::Null => visitor.visit_none(),
            other => visitor.visit_some(Tree(other)),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Json::Null => visitor.visit_unit(),
            other => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Json::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            other => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Json::Object(map) => visitor.visit_map(Fields {
                iter: map.into_iter(),
                value: None,
            }),
            other => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Json::String(name) => visitor.visit_enum(Variant { name, value: None }),
            Json::Object(map) if map.len() == 1 => {
                let mut entries = map.into_iter();
                match entries.next() {
                    Some((name, value)) => visitor.visit_enum(Variant {
                        name,
                        value: Some(value),
                    }),
                    None => Err(Error::custom("an enum object needs one key")),
                }
            }
            other => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! { i128 u128 char bytes byte_buf }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }
}

/// An array's items.
struct Items(std::vec::IntoIter<Json>);

impl<'de> SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|v| seed.deserialize(Tree(v))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// An object's fields; `value` holds the value of the key just read.
struct Fields {
    iter: std::vec::IntoIter<(String, Json)>,
    value: Option<Json>,
}

impl<'de> MapAccess<'de> for Fields {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Tree(Json::String(key))).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Tree(value)),
            None => Err(Error::custom("a value was asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An enum: its variant's name and, unless a unit variant, its value.
struct Variant {
    name: String,
    value: Option<Json>,
}

impl<'de> EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Content;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Content), Error> {
        let variant = seed.deserialize(Tree(Json::String(self.name)))?;
        Ok((variant, Content(self.value)))
    }
}

/// A variant's value.
struct Content(Option<Json>);

impl<'de> VariantAccess<'de> for Content {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            None | Some(Json::Null) => Ok(()),
            Some(other) => Err(invalid(&other, &"a unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.0 {
            Some(value) => seed.deserialize(Tree(value)),
            None => Err(Error::invalid_type(
                Unexpected::UnitVariant,
                &"a newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Some(value) => Tree(value).deserialize_seq(visitor),
            None => Err(Error::invalid_type(Unexpected::UnitVariant, &visitor)),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Some(value) => Tree(value).deserialize_map(visitor),
            None => Err(Error::invalid_type(Unexpected::UnitVariant, &visitor)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::{Json, Number, from_str};
    use crate::wire::QuizId;

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

    #[derive(Debug, PartialEq, Deserialize)]
    struct Row {
        name: String,
        rank: u32,
        #[serde(default)]
        note: Option<String>,
        kind: Kind,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        Score(f64),
        Pair { a: i32, b: i32 },
    }

    #[test]
    fn decodes_what_the_text_reader_decodes() {
        let text = r#"{"name": "ann", "rank": 2, "extra": [1, {"x": null}],
                       "kind": {"pair": {"a": -1, "b": 3}}}"#;
        let row: Row = from_str(text).unwrap();
        assert_eq!(row, serde_json::from_str::<Row>(text).unwrap());
        assert_eq!(row.note, None);
        let plain: Row =
            from_str(r#"{"name": "b", "rank": 1, "note": "n", "kind": "plain"}"#).unwrap();
        assert_eq!(
            (plain.kind, plain.note.as_deref()),
            (Kind::Plain, Some("n"))
        );
        let score: Row = from_str(r#"{"name": "c", "rank": 3, "kind": {"score": 87.5}}"#).unwrap();
        assert_eq!(score.kind, Kind::Score(87.5));
    }

    #[test]
    fn says_what_is_wrong_without_panicking() {
        let error = |text: &str| from_str::<Row>(text).unwrap_err().to_string();
        assert_eq!(
            error(r#"{"rank": 1, "kind": "plain"}"#),
            "missing field `name`"
        );
        assert_eq!(
            error(r#"{"name": "a", "rank": -1, "kind": "plain"}"#),
            "invalid type: integer `-1`, expected u32"
        );
        assert_eq!(
            error(r#"{"name": "a", "rank": 4294967296, "kind": "plain"}"#),
            "invalid value: integer `4294967296`, expected u32"
        );
        assert_eq!(
            error(r#"{"name": 5, "rank": 1, "kind": "plain"}"#),
            "invalid type: integer `5`, expected a string"
        );
        assert!(error(r#"{"name": "a", "rank": 1, "kind": "round"}"#).contains("unknown variant"));
        // A struct is an object, never an array (the text reader would take one).
        assert_eq!(
            error(r#"["a", 1, null, "plain"]"#),
            "invalid type: sequence, expected struct Row"
        );
        assert!(error(r#"{"name": "a""#).contains("EOF while parsing"));
    }

    #[test]
    fn identifiers_are_strings_or_integers() {
        assert_eq!(from_str::<QuizId>(r#""q1""#).unwrap(), QuizId::from("q1"));
        assert_eq!(from_str::<QuizId>("42").unwrap(), QuizId::from("42"));
        assert!(from_str::<QuizId>("true").is_err());
        let ids: Vec<Option<QuizId>> = from_str(r#"["a", null, 7]"#).unwrap();
        assert_eq!(ids, [Some("a".into()), None, Some("7".into())]);
    }
}
