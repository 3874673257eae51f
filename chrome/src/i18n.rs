//! Words in the user's language, for the worker and the pages alike.
//!
//! The words are the extension's catalogs, `_locales/<lang>/messages.json` (`en` is the
//! default locale), looked up with `chrome.i18n.getMessage`: the browser picks the
//! catalog of its UI language. When the settings choose a language ([`choose`]), its
//! catalog file is fetched from the extension, read once ([`Catalog`]) and used instead,
//! with everything below following it. What a catalog's `$1` placeholders cannot say comes from
//! the platform's `Intl` (through `js-sys`) in the catalog's own language (its `lang`
//! message, so that numbers and words never disagree): plural forms
//! (`Intl.PluralRules`, one catalog entry per form, `<key>__<form>`), numbers and scores
//! (`Intl.NumberFormat`), spans ("3 s", a unit format), "4 s ago"
//! (`Intl.RelativeTimeFormat`) and local times (`Intl.DateTimeFormat`).
//!
//! [`render`] puts the core's [`Text`] (a message key with typed arguments) into words;
//! [`t`], [`tr`] and [`tn`] are the adapters' own messages. Outside text (usernames,
//! titles, URLs, the server's words) is set apart with Unicode isolates ([`isolate`]),
//! so a Latin name in an Arabic sentence, or the other way round, keeps its own
//! direction. The rendering itself ([`render_with`]) is plain code over the [`Words`]
//! trait, tested natively against the real catalogs.

use std::cell::{Cell, RefCell};
use std::pin::Pin;

use js_sys::{Array, Function, Object, Promise, Reflect};
use quizpulse::json::Json;
use quizpulse::text::{Arg, Kind, Text, k};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::{invoke, property};

/// A unit of time for spans and "ago".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds.
    Second,
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days.
    Day,
}

impl Unit {
    /// The unit's name in `Intl` (`"second"`).
    pub fn name(self) -> &'static str {
        match self {
            Unit::Second => "second",
            Unit::Minute => "minute",
            Unit::Hour => "hour",
            Unit::Day => "day",
        }
    }
}

/// Where words, plural forms and number formats come from: the browser ([`Browser`]),
/// or a catalog read from its file (tests).
pub trait Words {
    /// The message `key` with `subs` in its placeholders (`$1`…); empty when the
    /// catalog has no such message.
    fn message(&self, key: &str, subs: &[String]) -> String;
    /// The plural form of `n` in the catalog's language: `zero`, `one`, `two`, `few`,
    /// `many` or `other`.
    fn plural(&self, n: u64) -> String;
    /// A number as the language writes it, with at most `fraction` decimals.
    fn number(&self, n: f64, fraction: u8) -> String;
    /// `n` of `unit`, short (`3 s`, `5 min`).
    fn unit(&self, n: u64, unit: Unit) -> String;
    /// `n` of `unit` ago (`4 s ago`).
    fn ago(&self, n: u64, unit: Unit) -> String;
    /// A moment (milliseconds since the epoch) as a local date and time.
    fn moment(&self, millis: u64) -> String;
    /// A time of day (minutes after midnight) as the language writes clock times.
    fn clock(&self, minute: u32) -> String;
    /// Whether the catalog's language is written right to left.
    fn rtl(&self) -> bool;
}

/// First strong isolate: what follows takes its direction from its own first letter.
const FSI: char = '\u{2068}';
/// Pop directional isolate: the end of an [`FSI`].
const PDI: char = '\u{2069}';

/// Whether `c` is written right to left (Hebrew, Arabic, Syriac, Thaana, N'Ko and the
/// other scripts of those blocks, their presentation forms).
fn right_to_left(c: char) -> bool {
    matches!(u32::from(c), 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

/// Outside text (a username, a title, a URL) set apart from the sentence around it
/// (between Unicode isolates), so that each keeps its direction: always on a
/// right-to-left page, and on a left-to-right one when the text has right-to-left
/// letters (a Latin name in an Arabic sentence, an Arabic name in an English one).
pub fn isolate_with<W: Words + ?Sized>(words: &W, text: &str) -> String {
    if !words.rtl() && !text.chars().any(right_to_left) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 6);
    out.push(FSI);
    out.push_str(text);
    out.push(PDI);
    out
}

/// A span for people: seconds under a minute, minutes under an hour, then hours and
/// minutes (`3 s`, `2 min`, `1 h 5 min`); whole units, rounded down.
pub fn span_with<W: Words + ?Sized>(words: &W, millis: u64) -> String {
    let s = millis / 1000;
    if s < 60 {
        words.unit(s, Unit::Second)
    } else if s < 3600 {
        words.unit(s / 60, Unit::Minute)
    } else if s % 3600 / 60 == 0 {
        words.unit(s / 3600, Unit::Hour)
    } else {
        words.message(
            k("span_hours_minutes"),
            &[
                words.unit(s / 3600, Unit::Hour),
                words.unit(s % 3600 / 60, Unit::Minute),
            ],
        )
    }
}

/// How long ago, for people: in the largest unit that fits, rounded down (`4 s ago`,
/// `5 min ago`, `3 h ago`, `2 days ago`).
pub fn ago_with<W: Words + ?Sized>(words: &W, millis: u64) -> String {
    let s = millis / 1000;
    if s < 60 {
        words.ago(s, Unit::Second)
    } else if s < 3600 {
        words.ago(s / 60, Unit::Minute)
    } else if s < 48 * 3600 {
        words.ago(s / 3600, Unit::Hour)
    } else {
        words.ago(s / 86_400, Unit::Day)
    }
}

/// The message `key`, in the form a count of `n` takes: `<key>__<form>`, else
/// `<key>__other`.
pub fn plural_with<W: Words + ?Sized>(words: &W, key: &str, n: u64, subs: &[String]) -> String {
    let found = words.message(&format!("{key}__{}", words.plural(n)), subs);
    if found.is_empty() {
        words.message(&format!("{key}__other"), subs)
    } else {
        found
    }
}

/// A [`Text`] in words. A key no catalog has (which the catalog check in `cargo xtask
/// test` rules out) shows as the key and its arguments, never as nothing.
pub fn render_with<W: Words + ?Sized>(words: &W, text: &Text) -> String {
    let subs: Vec<String> = text.args.iter().map(|arg| argument(words, arg)).collect();
    let found = match text.plural_count() {
        Some(n) => plural_with(words, &text.key, n, &subs),
        None => words.message(&text.key, &subs),
    };
    if found.is_empty() {
        let mut out = text.key.to_string();
        for sub in &subs {
            out.push(' ');
            out.push_str(sub);
        }
        out
    } else {
        found
    }
}

fn argument<W: Words + ?Sized>(words: &W, arg: &Arg) -> String {
    match arg {
        Arg::Plain(text) => isolate_with(words, text),
        Arg::Text(text) => render_with(words, text),
        Arg::Value(kind, n) => {
            #[allow(clippy::cast_precision_loss)]
            let float = *n as f64;
            let unsigned = u64::try_from(*n).unwrap_or(0);
            match kind {
                Kind::Count | Kind::Number => words.number(float, 0),
                Kind::Score => words.number(float / 10.0, 1),
                Kind::Span => span_with(words, unsigned),
                Kind::Ago => ago_with(words, unsigned),
                Kind::At => words.moment(unsigned),
            }
        }
    }
}

/// The browser: `chrome.i18n.getMessage` for words, `Intl` for the rest, in the
/// catalog's language. Each `Intl` formatter is made on first use and kept (in one JS
/// object, by name). They are reached through `Reflect` (`Reflect.construct`, a method
/// by its name), like the `chrome.*` APIs ([`crate::invoke`]): a typed binding per
/// constructor and method would be one more shim each in the JS glue that every page
/// downloads.
pub struct Browser;

thread_local! {
    /// The formatters made so far, by name (made when first needed).
    static FORMATTERS: RefCell<Option<Object>> = const { RefCell::new(None) };
    /// The catalog's direction, once read.
    static RTL: Cell<Option<bool>> = const { Cell::new(None) };
    /// The language the settings chose (`None`: the browser's), and its catalog
    /// (`None` while the browser's serves: no choice, or a file that could not be read).
    static CHOSEN: RefCell<(Option<&'static str>, Option<Catalog>)> =
        const { RefCell::new((None, None)) };
}

/// Puts every word in `language` (a catalog's tag: one of the core's
/// `settings::LANGUAGES`, as `Settings::language` gives it), or in the browser's UI
/// language (`None`). A new choice fetches `/_locales/<tag>/messages.json` from the
/// extension (the worker and the pages alike) and reads it once; `Intl`'s formatters,
/// `lang` and `dir` follow the catalog. A catalog that cannot be fetched or read leaves
/// the browser's words, said once in the console. The same choice again does nothing.
/// (Boxed: the worker and both pages await it, and share one copy of its code.)
pub fn choose(language: Option<&'static str>) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        if CHOSEN.with(|c| c.borrow().0 == language) {
            return;
        }
        let catalog = match language {
            None => None,
            Some(tag) => {
                let catalog = fetch_catalog(tag).await;
                if catalog.is_none() {
                    crate::console(
                        "console.warn",
                        &(String::from("QuizPulse: no catalog could be read for ") + tag),
                    );
                }
                catalog
            }
        };
        adopt(language, catalog);
    })
}

/// Uses `catalog` (the browser's words when `None`) for `language` from now on.
fn adopt(language: Option<&'static str>, catalog: Option<Catalog>) {
    CHOSEN.with(|c| *c.borrow_mut() = (language, catalog));
    FORMATTERS.with(|f| f.borrow_mut().take());
    RTL.with(|rtl| rtl.set(None));
}

/// The extension's own catalog of `tag`, fetched and read; `None` when either fails.
async fn fetch_catalog(tag: &str) -> Option<Catalog> {
    let mut url = String::from("/_locales/");
    url.push_str(tag);
    url.push_str("/messages.json");
    let global = js_sys::global();
    let fetch: Function = property(&global, "fetch").dyn_into().ok()?;
    let response = fetch.call1(&global, &url.into()).ok()?;
    let response = JsFuture::from(response.unchecked_into::<Promise>())
        .await
        .ok()?;
    let text = crate::call_method("fetch", &response, "text", &[]).ok()?;
    let text = JsFuture::from(text.unchecked_into::<Promise>())
        .await
        .ok()?;
    Catalog::read(&text_of(&text))
}

fn text_of(value: &JsValue) -> String {
    value.as_string().unwrap_or_default()
}

/// The formatter called `name`: `new Intl[kind]([lang], options)` (`options` as JSON
/// text), made once, where `lang` is the catalog's language (its `lang` message).
/// `undefined` if the browser has no such formatter.
fn intl(name: &str, kind: &str, options: &str) -> JsValue {
    let cache = FORMATTERS.with(|f| f.borrow_mut().get_or_insert_with(Object::new).clone());
    let found = property(&cache, name);
    if !found.is_undefined() {
        return found;
    }
    let lang = message(k("lang"), &[]);
    let lang = JsValue::from_str(if lang.is_empty() { "en" } else { &lang });
    let class = property(&property(&js_sys::global(), "Intl"), kind);
    let args = Array::of2(&Array::of1(&lang), &crate::json_text(options));
    let made = invoke("Reflect.construct", &[&class, &args]).unwrap_or(JsValue::UNDEFINED);
    let _ = Reflect::set(&cache, &name.into(), &made);
    made
}

/// `this[name](...args)` as text; empty when it fails.
fn method(this: &JsValue, name: &str, args: &[&JsValue]) -> String {
    let Ok(function) = property(this, name).dyn_into::<Function>() else {
        return String::new();
    };
    let args: Array = args.iter().copied().collect();
    Reflect::apply(&function, this, &args)
        .map(|value| text_of(&value))
        .unwrap_or_default()
}

/// The chosen catalog's message `key` ([`choose`]), else
/// `chrome.i18n.getMessage(key, subs)`: empty when there is no such message (or no
/// `chrome.i18n`).
#[inline(never)]
fn message(key: &str, subs: &[String]) -> String {
    let chosen = CHOSEN.with(|c| c.borrow().1.as_ref().map(|c| c.message(key, subs)));
    if let Some(found) = chosen {
        return found;
    }
    let key = JsValue::from_str(key);
    let found = if subs.is_empty() {
        invoke("chrome.i18n.getMessage", &[&key])
    } else {
        let subs: Array = subs.iter().map(|s| JsValue::from_str(s)).collect();
        invoke("chrome.i18n.getMessage", &[&key, &subs])
    };
    found.map(|value| text_of(&value)).unwrap_or_default()
}

#[allow(clippy::cast_precision_loss)]
fn float(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

impl Words for Browser {
    fn message(&self, key: &str, subs: &[String]) -> String {
        message(key, subs)
    }

    fn plural(&self, n: u64) -> String {
        let rules = intl("plural", "PluralRules", "{}");
        method(&rules, "select", &[&float(n)])
    }

    fn number(&self, n: f64, fraction: u8) -> String {
        let format = if fraction == 0 {
            intl("integer", "NumberFormat", r#"{"maximumFractionDigits":0}"#)
        } else {
            intl("decimal", "NumberFormat", r#"{"maximumFractionDigits":1}"#)
        };
        method(&format, "format", &[&n.into()])
    }

    fn unit(&self, n: u64, unit: Unit) -> String {
        let options = [
            r#"{"style":"unit","unit":"second","unitDisplay":"short"}"#,
            r#"{"style":"unit","unit":"minute","unitDisplay":"short"}"#,
            r#"{"style":"unit","unit":"hour","unitDisplay":"short"}"#,
            r#"{"style":"unit","unit":"day","unitDisplay":"short"}"#,
        ][unit as usize];
        let format = intl(unit.name(), "NumberFormat", options);
        method(&format, "format", &[&float(n)])
    }

    fn ago(&self, n: u64, unit: Unit) -> String {
        let relative = intl("relative", "RelativeTimeFormat", r#"{"style":"short"}"#);
        #[allow(clippy::cast_precision_loss)]
        let back = JsValue::from_f64(-(n as f64));
        method(&relative, "format", &[&back, &unit.name().into()])
    }

    fn moment(&self, millis: u64) -> String {
        let options = r#"{"dateStyle":"medium","timeStyle":"medium"}"#;
        let format = intl("moment", "DateTimeFormat", options);
        method(&format, "format", &[&float(millis)])
    }

    fn clock(&self, minute: u32) -> String {
        let options = r#"{"hour":"numeric","minute":"2-digit","timeZone":"UTC"}"#;
        let format = intl("clock", "DateTimeFormat", options);
        // That minute of the epoch's first day, read in UTC: the clock time alone.
        method(
            &format,
            "format",
            &[&float(u64::from(minute % 1440) * 60_000)],
        )
    }

    fn rtl(&self) -> bool {
        RTL.with(|rtl| {
            let known = rtl.get().unwrap_or_else(|| t(k("dir")) == "rtl");
            rtl.set(Some(known));
            known
        })
    }
}

/// Runs `f` with the browser's words.
fn with<R>(f: impl FnOnce(&Browser) -> R) -> R {
    f(&Browser)
}

/// The adapter's message `key` (no placeholders).
#[inline(never)]
pub fn t(key: &str) -> String {
    message(key, &[])
}

/// The adapter's message `key` with `subs` in its placeholders (`$1`…): text the
/// caller formatted already (isolate outside text with [`isolate`]).
#[inline(never)]
pub fn tr(key: &str, subs: &[String]) -> String {
    message(key, subs)
}

/// The adapter's message `key` in the plural form of `n`: `$1` is `n` as a number,
/// `subs` follow from `$2`.
#[inline(never)]
pub fn tn(key: &str, n: u64, subs: &[String]) -> String {
    with(|words| {
        #[allow(clippy::cast_precision_loss)]
        let mut all = vec![words.number(n as f64, 0)];
        all.extend_from_slice(subs);
        plural_with(words, key, n, &all)
    })
}

/// The core's [`Text`] in words.
#[inline(never)]
pub fn render(text: &Text) -> String {
    with(|words| render_with(words, text))
}

/// A whole number as the language writes it (`1,234`).
pub fn number(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    with(|words| words.number(n as f64, 0))
}

/// A score: one decimal at most (`87.5`, `298`).
pub fn score(score: f64) -> String {
    with(|words| words.number(score, 1))
}

/// A span (`3 s`, `1 h 5 min`).
pub fn span(millis: u64) -> String {
    with(|words| span_with(words, millis))
}

/// How long ago (`4 s ago`).
pub fn ago(millis: u64) -> String {
    with(|words| ago_with(words, millis))
}

/// A time of day, minutes after midnight (`10:00 PM`, `22:00`).
pub fn clock(minute: u32) -> String {
    with(|words| words.clock(minute))
}

/// The catalog's language tag (`en`, `ar`), for `<html lang>`.
pub fn lang() -> String {
    let lang = t("lang");
    if lang.is_empty() { "en".into() } else { lang }
}

/// The catalog's writing direction, `ltr` or `rtl`, for `<html dir>`.
pub fn dir() -> &'static str {
    if Browser.rtl() { "rtl" } else { "ltr" }
}

/// Outside text set apart from the sentence around it (see [`isolate_with`]).
#[inline(never)]
pub fn isolate(text: &str) -> String {
    isolate_with(&Browser, text)
}

/// A catalog read from its `messages.json` text, substituting placeholders the way
/// `chrome.i18n.getMessage` does: `$NAME$` is the placeholder's `content`, in which
/// (and in the message) `$1`…`$9` are the substitutions and `$$` is a `$`. Keys and
/// placeholder names compare without case, as the browser compares them. The parsed
/// JSON is kept as it is (the core's reader, already in the module) and searched per
/// message: no second structure to build.
#[derive(Debug, Clone, Default)]
pub struct Catalog(Json);

impl Catalog {
    /// Reads a `messages.json`: an object whose every entry has a `message` text.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        let catalog = Catalog::read(text).ok_or("a catalog must be a JSON object")?;
        match catalog
            .entries()
            .iter()
            .find(|(_, entry)| entry.get("message").and_then(Json::as_str).is_none())
        {
            Some((key, _)) => Err(format!("{key}: no \"message\"")),
            None => Ok(catalog),
        }
    }

    /// Reads a `messages.json` as the extension ships it (checked by `cargo xtask i18n`):
    /// `None` unless it is a JSON object.
    fn read(text: &str) -> Option<Catalog> {
        let json = Json::parse(text).ok()?;
        json.as_object()?;
        Some(Catalog(json))
    }

    /// Every key, as the catalog writes it.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries().iter().map(|(key, _)| key.as_str())
    }

    fn entries(&self) -> &[(String, Json)] {
        self.0.as_object().unwrap_or_default()
    }

    /// The message `key` with `subs` substituted; empty when there is none.
    #[inline(never)]
    pub fn message(&self, key: &str, subs: &[String]) -> String {
        let Some((_, entry)) = self
            .entries()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        else {
            return String::new();
        };
        let placeholders = entry
            .get("placeholders")
            .and_then(Json::as_object)
            .unwrap_or_default();
        let message = entry
            .get("message")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let mut out = String::new();
        let mut rest = message;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            // `$NAME$`: the placeholder's content, its own `$n` substituted.
            let named = rest.find('$').and_then(|end| {
                let (_, p) = placeholders
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&rest[..end]))?;
                Some((
                    end,
                    p.get("content").and_then(Json::as_str).unwrap_or_default(),
                ))
            });
            if let Some((end, content)) = named {
                let mut content = content;
                while let Some(at) = content.find('$') {
                    out.push_str(&content[..at]);
                    content = &content[at + 1..];
                    content = &content[numbered(content, subs, &mut out)..];
                }
                out.push_str(content);
                rest = &rest[end + 1..];
            } else {
                rest = &rest[numbered(rest, subs, &mut out)..];
            }
        }
        out.push_str(rest);
        out
    }
}

/// What follows a `$`, onto `out`: a digit's substitution (nothing when missing), a
/// `$`, or the `$` itself; returns how many bytes that took.
fn numbered(after: &str, subs: &[String], out: &mut String) -> usize {
    match after.as_bytes().first() {
        Some(d @ b'1'..=b'9') => {
            out.push_str(subs.get(usize::from(d - b'1')).map_or("", String::as_str));
            1
        }
        Some(b'$') => {
            out.push('$');
            1
        }
        _ => {
            out.push('$');
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog's words with plain stand-ins for `Intl`: English rules.
    struct Plain(Catalog);

    impl Words for Plain {
        fn message(&self, key: &str, subs: &[String]) -> String {
            self.0.message(key, subs)
        }
        fn plural(&self, n: u64) -> String {
            if n == 1 { "one" } else { "other" }.into()
        }
        fn number(&self, n: f64, _fraction: u8) -> String {
            n.to_string()
        }
        fn unit(&self, n: u64, unit: Unit) -> String {
            format!("{n} {}", &unit.name()[..1])
        }
        fn ago(&self, n: u64, unit: Unit) -> String {
            format!("{n} {} ago", &unit.name()[..1])
        }
        fn moment(&self, millis: u64) -> String {
            format!("@{millis}")
        }
        fn clock(&self, minute: u32) -> String {
            format!("{}:{:02}", minute / 60, minute % 60)
        }
        fn rtl(&self) -> bool {
            false
        }
    }

    fn catalog() -> Catalog {
        Catalog::parse(
            r#"{
              "hello": {"message": "Hello, $NAME$!", "placeholders": {"name": {"content": "$1", "example": "ann"}}},
              "price": {"message": "$$$AMOUNT$ for $1 ($9)", "placeholders": {"AMOUNT": {"content": "$2"}}},
              "things__one": {"message": "one thing in $WHERE$", "placeholders": {"count": {"content": "$1"}, "where": {"content": "$2"}}},
              "things__other": {"message": "$COUNT$ things in $WHERE$", "placeholders": {"count": {"content": "$1"}, "where": {"content": "$2"}}},
              "reason": {"message": "Stopped: $WHY$", "placeholders": {"why": {"content": "$1"}}},
              "span_hours_minutes": {"message": "$H$ $M$", "placeholders": {"h": {"content": "$1"}, "m": {"content": "$2"}}}
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn placeholders_substitute_like_chrome() {
        let c = catalog();
        assert_eq!(c.message("hello", &["ann".into()]), "Hello, ann!");
        assert_eq!(c.message("HELLO", &["bob".into()]), "Hello, bob!");
        assert_eq!(
            c.message("price", &["tea".into(), "3".into()]),
            "$3 for tea ()"
        );
        assert_eq!(c.message("missing", &[]), "");
        assert!(Catalog::parse(r#"{"x": {}}"#).is_err());
    }

    #[test]
    fn texts_render_with_plural_forms_isolated_names_and_nested_messages() {
        let words = Plain(catalog());
        let two = Text::new("things").count(2).plain("Quadratics");
        assert_eq!(render_with(&words, &two), "2 things in Quadratics");
        let one = Text::new("things").count(1).plain("Kinematics");
        assert_eq!(render_with(&words, &one), "one thing in Kinematics");
        let nested = Text::new("reason").text(Text::new("hello").plain("<b>x</b>"));
        assert_eq!(render_with(&words, &nested), "Stopped: Hello, <b>x</b>!");
        // An Arabic name in an English sentence is set apart; on an Arabic page, every
        // outside text is.
        let arabic = Text::new("hello").plain("ليلى");
        assert_eq!(render_with(&words, &arabic), "Hello, \u{2068}ليلى\u{2069}!");
        let ar = Cldr::new("ar");
        assert_eq!(
            render_with(&ar, &Text::new("board_caption").plain("Quadratics")),
            "لوحة صدارة \u{2068}Quadratics\u{2069}"
        );
        // A key no catalog has still says something.
        assert_eq!(render_with(&words, &Text::new("nope").number(7)), "nope 7");
    }

    /// A real catalog with CLDR's plural rules for its language (what `Intl.PluralRules`
    /// answers for these four) and plain stand-ins for the rest of `Intl`.
    struct Cldr {
        lang: &'static str,
        catalog: Catalog,
    }

    impl Cldr {
        fn new(lang: &'static str) -> Cldr {
            let text = match lang {
                "en" => include_str!("../../_locales/en/messages.json"),
                "es" => include_str!("../../_locales/es/messages.json"),
                "de" => include_str!("../../_locales/de/messages.json"),
                "ar" => include_str!("../../_locales/ar/messages.json"),
                _ => unreachable!("no catalog for {lang}"),
            };
            Cldr {
                lang,
                catalog: Catalog::parse(text).unwrap(),
            }
        }
    }

    impl Words for Cldr {
        fn message(&self, key: &str, subs: &[String]) -> String {
            self.catalog.message(key, subs)
        }
        fn plural(&self, n: u64) -> String {
            match (self.lang, n, n % 100) {
                ("ar", 0, _) => "zero",
                ("ar", 1, _) | ("en" | "de" | "es", 1, _) => "one",
                ("ar", 2, _) => "two",
                ("ar", _, 3..=10) => "few",
                ("ar", _, 11..=99) => "many",
                ("es", n, _) if n != 0 && n % 1_000_000 == 0 => "many",
                _ => "other",
            }
            .into()
        }
        fn number(&self, n: f64, _fraction: u8) -> String {
            n.to_string()
        }
        fn unit(&self, n: u64, unit: Unit) -> String {
            let unit = match unit {
                Unit::Second => "s",
                Unit::Minute => "min",
                Unit::Hour => "h",
                Unit::Day => "d",
            };
            format!("{n} {unit}")
        }
        fn ago(&self, n: u64, unit: Unit) -> String {
            format!("{} ago", self.unit(n, unit))
        }
        fn moment(&self, millis: u64) -> String {
            quizpulse::Timestamp::from_millis(millis).to_rfc3339()
        }
        fn clock(&self, minute: u32) -> String {
            format!("{:02}:{:02}", minute / 60, minute % 60)
        }
        fn rtl(&self) -> bool {
            self.lang == "ar"
        }
    }

    const LANGS: [&str; 4] = ["en", "es", "de", "ar"];

    #[test]
    fn the_cores_connection_and_badge_texts_read_in_english() {
        use quizpulse::badge::{BadgeInput, badge};
        use quizpulse::{ConnState, Timestamp};
        let en = Cldr::new("en");
        let retrying = ConnState::Retrying {
            attempt: 2,
            of: 5,
            next_at: Timestamp::from_secs(13),
        };
        let now = Timestamp::from_secs(10);
        assert_eq!(
            render_with(&en, &retrying.describe(now)),
            "Connection lost: retry 2 of 5 in 3 s"
        );
        assert_eq!(render_with(&en, &retrying.name()), "Connection: retrying");
        let title = |state: &ConnState, unread: u32, muted: bool| {
            let b = badge(BadgeInput {
                state,
                unread,
                server_error: false,
                muted_until: muted.then_some(Timestamp::from_secs(60)),
                now,
            });
            render_with(&en, &b.title)
        };
        let live = ConnState::Connected { since: now };
        assert_eq!(title(&live, 0, false), "QuizPulse: live, no unread updates");
        assert_eq!(title(&live, 1, false), "QuizPulse: live, 1 unread update");
        assert_eq!(
            title(&live, 3, true),
            "QuizPulse: live, 3 unread updates (notifications muted)"
        );
        assert_eq!(
            title(&retrying, 0, false),
            "QuizPulse: Connection lost: retry 2 of 5 in 3 s"
        );
        let refused = ConnState::AuthFailed {
            reason: Text::new("auth_expired"),
        };
        assert_eq!(
            title(&refused, 0, false),
            "QuizPulse: Sign-in needed: your sign-in has expired or was revoked. Click to sign in again."
        );
    }

    #[test]
    fn the_cores_texts_read_in_english_as_they_always_did() {
        use quizpulse::events::ConnEvent;
        use quizpulse::moves::{Move, describe};
        use quizpulse::settings::Settings;
        use quizpulse::wire::ApiError;
        let en = Cldr::new("en");
        let said = |text: &Text| render_with(&en, text).replace(['\u{2068}', '\u{2069}'], "");
        let moves = |n: u32| -> Vec<Move> {
            (1..=n)
                .map(|i| Move {
                    username: format!("u{i}"),
                    from: (i % 2 == 0).then_some(i + 5),
                    to: i,
                })
                .collect()
        };
        let bad_url = Settings {
            server_url: "ftp://quiz.example.org".into(),
            ..Settings::default()
        }
        .validated()
        .unwrap_err();
        let cases: Vec<(Text, &str)> = vec![
            (
                Text::new("notify_new_sessions")
                    .count(3)
                    .plain("Quadratics")
                    .plain("bob")
                    .score(87.5),
                "3 new sessions on Quadratics (latest: bob, 87.5)",
            ),
            (
                Text::new("notify_summary").count(1),
                "and 1 more update on what you follow",
            ),
            (describe(&moves(1)), "u1 entered the top 10 at #1"),
            (
                describe(&moves(2)),
                "u1 entered the top 10 at #1, u2 moved up to #2 (from #7)",
            ),
            (
                describe(&moves(5)),
                "u1 entered the top 10 at #1, u2 moved up to #2 (from #7), u3 entered the top 10 at #3, and 2 more",
            ),
            (
                bad_url.text(),
                "Server URL: must start with http:// or https:// (not ftp://)",
            ),
            (
                ApiError::describe_status(502, "Bad Gateway"),
                "Server error (HTTP 502: Bad Gateway)",
            ),
            (
                ConnEvent::Closed {
                    code: 4001,
                    reason: "token expired".into(),
                    was_open: true,
                }
                .text(),
                "closed: code 4001 (token invalid or expired), reason “token expired”",
            ),
            (
                ConnEvent::RetryScheduled {
                    in_secs: 3,
                    attempt: Some(2),
                }
                .text(),
                "retry 2 of 5 in 3 s",
            ),
            (
                ConnEvent::ClosedByUs {
                    code: 4000,
                    reason: "keepalive timeout".into(),
                }
                .text(),
                "closed by QuizPulse: code 4000, keepalive timeout",
            ),
            (
                Text::new("notify_connection_lost")
                    .plain("http://127.0.0.1:8000")
                    .ago(std::time::Duration::from_secs(150)),
                "Cannot reach http://127.0.0.1:8000 (lost 2 min ago); QuizPulse keeps trying in the background.",
            ),
            (
                Text::new("toast_alert")
                    .text(Text::plain_text("Quadratics"))
                    .text(Text::new("notify_new_session").plain("bob").score(91.0)),
                "Quadratics: New session: bob scored 91",
            ),
        ];
        for (text, english) in cases {
            assert_eq!(said(&text), english, "{text}");
        }
    }

    #[test]
    fn every_plural_form_a_count_reaches_has_its_own_words() {
        // Counts that reach each CLDR form of the four languages.
        let counts = [0, 1, 2, 3, 11, 100, 1_000_000];
        let badge = |n: u64| Text::new("badge_unread").count(n);
        for lang in LANGS {
            let words = Cldr::new(lang);
            let mut by_form: Vec<(String, String)> = Vec::new();
            for n in counts {
                let form = words.plural(n);
                let text = render_with(&words, &badge(n));
                assert!(!text.starts_with("badge_unread"), "{lang} {n}: {text}");
                by_form.push((form, text));
            }
            // The words differ wherever the form differs (other than by the number).
            for (form_a, a) in &by_form {
                for (form_b, b) in &by_form {
                    let strip = |t: &str| t.replace(|c: char| c.is_ascii_digit(), "");
                    if form_a != form_b
                        && !(lang == "es" && [form_a, form_b].contains(&&"many".to_owned()))
                    {
                        assert_ne!(strip(a), strip(b), "{lang}: {form_a} and {form_b}");
                    }
                }
            }
        }
        let ar = Cldr::new("ar");
        assert_eq!(
            render_with(&ar, &badge(2)),
            "QuizPulse: متصل، تحديثان غير مقروءين"
        );
        assert_eq!(
            render_with(&ar, &badge(11)),
            "QuizPulse: متصل، 11 تحديثًا غير مقروء"
        );
    }

    #[test]
    fn every_message_renders_in_every_language() {
        let en = Cldr::new("en");
        for lang in LANGS {
            let words = Cldr::new(lang);
            for key in en.catalog.keys() {
                let subs: Vec<String> = (1..=9).map(|i| format!("<{i}>")).collect();
                let text = words.message(key, &subs);
                assert!(!text.is_empty(), "{lang}: {key}");
                assert!(!text.contains('$'), "{lang}: {key}: {text}");
            }
        }
    }

    #[test]
    fn a_chosen_catalog_serves_every_word_until_the_browsers_is_chosen_again() {
        let ar = Catalog::parse(include_str!("../../_locales/ar/messages.json")).unwrap();
        adopt(Some("ar"), Some(ar));
        // Words, language and direction all come from the chosen catalog, without
        // `chrome.i18n` (which does not exist here: a call would panic).
        assert_eq!(lang(), "ar");
        assert_eq!(dir(), "rtl");
        assert_eq!(t("language_default"), "لغة المتصفح");
        assert_eq!(
            render(&Text::new("board_caption").plain("Quadratics")),
            "لوحة صدارة \u{2068}Quadratics\u{2069}"
        );
        let de = Catalog::parse(include_str!("../../_locales/de/messages.json")).unwrap();
        adopt(Some("de"), Some(de));
        assert_eq!((lang().as_str(), dir()), ("de", "ltr"));
        assert_eq!(isolate("Quadratics"), "Quadratics");
        // The same choice again keeps the catalog (`choose` returns at once).
        let again = choose(Some("de"));
        let mut again = std::pin::pin!(again);
        let waker = std::task::Waker::noop();
        let ready = again
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
        assert!(ready.is_ready());
        assert_eq!(t("field_language"), "Sprache");
        // The browser's own again: no catalog of ours left.
        adopt(None, None);
        assert!(CHOSEN.with(|c| c.borrow().1.is_none()));
        assert_eq!(RTL.with(Cell::get), None);
    }

    #[test]
    fn spans_and_ago_pick_the_largest_unit() {
        let words = Plain(catalog());
        assert_eq!(span_with(&words, 3_999), "3 s");
        assert_eq!(span_with(&words, 150_000), "2 m");
        assert_eq!(span_with(&words, 3_600_000), "1 h");
        assert_eq!(span_with(&words, 3_900_000), "1 h 5 m");
        assert_eq!(ago_with(&words, 4_000), "4 s ago");
        assert_eq!(ago_with(&words, 3 * 3_600_000), "3 h ago");
        assert_eq!(ago_with(&words, 3 * 86_400_000), "3 d ago");
    }
}
