//! `cargo xtask i18n`, and a suite of `cargo xtask test`: the catalogs and the code
//! agree, and the pages and the worker say nothing in English of their own.
//!
//! - Every key the code uses exists in every catalog, and every catalog key is used.
//!   The code names a key as the literal first argument of `Text::new`, `k` (the core's
//!   marker for a key held before it reaches a message) or the adapters' `t`, `tr`,
//!   `tn`; the manifest as `__MSG_key__`. A message with plural forms is one key per
//!   form, `<key>__<form>`, and the code names the stem `<key>`.
//! - Every language has exactly the plural forms of its CLDR rules ([`LANGUAGES`]),
//!   which are what `Intl.PluralRules` answers (the end-to-end suite checks that).
//! - Placeholders agree: every message of a key (each language, each form) defines the
//!   same placeholders with the same `$n` as English; a message uses every placeholder
//!   it defines (a plural form may leave out `COUNT`, as Arabic's "one" and "two" do),
//!   and nothing undefined.
//! - No user-visible English string literal is left in the pages or the worker
//!   (`popup/`, `background/`, `chrome/`, their HTML and JS): a literal of two words or
//!   more, a visible attribute's text (`aria-label`, `title`, `alt`, `placeholder`) and a
//!   text child in `view!`, except what [`ALLOWED`] lists, each with its reason, and
//!   what goes only to developers (console logs, `#[error]` texts for logs, panics).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::util::{root, step};

/// The catalogs' languages, `en` first (the manifest's `default_locale`), each with its
/// cardinal plural forms (CLDR, as `Intl.PluralRules(lang).resolvedOptions()` lists them).
pub const LANGUAGES: &[(&str, &[&str])] = &[
    ("en", &["one", "other"]),
    ("es", &["one", "many", "other"]),
    ("de", &["one", "other"]),
    ("ar", &["zero", "one", "two", "few", "many", "other"]),
];

/// Where the code that uses keys lives: the core and the adapters.
const KEY_SOURCES: &[&str] = &["src", "popup/src", "background/src", "chrome/src"];
/// The pages' and the worker's Rust, where no English may be left.
const PAGE_SOURCES: &[&str] = &["popup/src", "background/src", "chrome/src"];
/// The pages' and the worker's HTML and JS.
const PAGE_STATIC: &[&str] = &["popup/static", "background/js"];

/// Literals that look like English and may stay: `(file, literal, why)`.
pub const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "popup/static/popup.html",
        "QuizPulse",
        "the brand name, the page's title until the wasm sets it from the catalog",
    ),
    (
        "popup/static/options.html",
        "QuizPulse",
        "the brand name, the page's title until the wasm sets it from the catalog",
    ),
    (
        "chrome/src/lib.rs",
        "not available here",
        "the detail of a call to a browser API that does not exist (chrome.i18n itself may be the one missing); the browser's own API errors are English too",
    ),
    (
        "chrome/src/lib.rs",
        "an error the browser did not describe",
        "stands in for the browser's own (English) error text when it gave none",
    ),
    (
        "background/src/chrome.rs",
        "the answer is not a list",
        "the detail of a browser API's answer the worker cannot read, in place of the browser's own (English) words",
    ),
    (
        "popup/src/model/mod.rs",
        "not JSON text",
        "the detail of stored settings that cannot be read, as the JSON reader's own (English) words",
    ),
    (
        "background/src/messages.rs",
        "a message must be JSON data",
        "the port protocol's error for a malformed command (a developer's bug, like the core's CommandError), not a user's",
    ),
    (
        "background/src/socket.rs",
        "new WebSocket",
        "the name of the browser API that failed, as in every ChromeError",
    ),
    (
        "chrome/src/i18n.rs",
        "a catalog must be a JSON object",
        "the catalog reader's error, for the tests and the catalog check",
    ),
    (
        "background/src/lib.rs",
        "an unknown scope",
        "part of the worker's start-up line in the console",
    ),
    (
        "background/src/ports.rs",
        "QuizPulse: a port closed before a message: {}",
        "a console.debug line",
    ),
    (
        "background/src/messages.rs",
        "QuizPulse takes commands only from its own pages",
        "the port protocol's answer to a content script or another extension, never to a user",
    ),
    (
        "background/src/secrets.rs",
        "IndexedDB get",
        "the name of the browser API that failed, as in every ChromeError",
    ),
    (
        "background/src/secrets.rs",
        "IndexedDB put",
        "the name of the browser API that failed, as in every ChromeError",
    ),
    (
        "background/src/secrets.rs",
        "IndexedDB open",
        "the name of the browser API that failed, as in every ChromeError",
    ),
    (
        "background/src/secrets.rs",
        "the promise gave no resolver",
        "cannot happen (a JS Promise always calls its executor): the detail of an impossible error",
    ),
    (
        "background/src/socket.rs",
        "WebSocket is not available here",
        "the detail of a socket that cannot be made where there is no WebSocket (as the browser's own, English, errors say it), for the connection log",
    ),
];

/// Everything the check found wrong, one line each (empty: all good).
pub fn problems(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("manifest.json")).context("reading manifest.json")?,
    )
    .context("parsing manifest.json")?;
    if manifest.get("default_locale").and_then(Value::as_str) != Some(LANGUAGES[0].0) {
        problems.push(format!(
            "manifest.json: default_locale must be \"{}\"",
            LANGUAGES[0].0
        ));
    }
    let mut catalogs = Vec::new();
    let found: BTreeSet<String> = std::fs::read_dir(root.join("_locales"))
        .context("reading _locales/")?
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    let wanted: BTreeSet<String> = LANGUAGES.iter().map(|(l, _)| (*l).to_owned()).collect();
    if found != wanted {
        problems.push(format!(
            "_locales/: the languages are {found:?}, expected {wanted:?}"
        ));
    }
    for (lang, _) in LANGUAGES {
        let path = root.join("_locales").join(lang).join("messages.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        match parse_catalog(&text) {
            Ok(catalog) => catalogs.push((*lang, catalog)),
            Err(err) => problems.push(format!("_locales/{lang}/messages.json: {err}")),
        }
    }
    let mut used = BTreeSet::new();
    for dir in KEY_SOURCES {
        for file in files(&root.join(dir), &["rs"])? {
            let code = std::fs::read_to_string(&file)?;
            used.extend(keys_in_rust(&code));
        }
    }
    let manifest_text = std::fs::read_to_string(root.join("manifest.json"))?;
    used.extend(keys_in_manifest(&manifest_text));
    for dir in PAGE_STATIC {
        for file in files(&root.join(dir), &["js"])? {
            used.extend(keys_in_js(&std::fs::read_to_string(&file)?));
        }
    }
    if catalogs.len() == LANGUAGES.len() {
        problems.extend(check_catalogs(&catalogs, &used));
    }
    for dir in PAGE_SOURCES {
        for file in files(&root.join(dir), &["rs"])? {
            let code = std::fs::read_to_string(&file)?;
            let name = relative(root, &file);
            for (line, literal) in english_in_rust(&code) {
                if !allowed(&name, &literal) {
                    problems.push(format!("{name}:{line}: English text {literal:?}"));
                }
            }
        }
    }
    for dir in PAGE_STATIC {
        for file in files(&root.join(dir), &["html", "js"])? {
            let code = std::fs::read_to_string(&file)?;
            let name = relative(root, &file);
            let found = if name.ends_with(".html") {
                english_in_html(&code)
            } else {
                english_in_js(&code)
            };
            for (line, literal) in found {
                if !allowed(&name, &literal) {
                    problems.push(format!("{name}:{line}: English text {literal:?}"));
                }
            }
        }
    }
    Ok(problems)
}

/// `cargo xtask i18n`: prints what is wrong; `Ok(false)` when anything is.
pub fn run() -> Result<bool> {
    step("i18n: catalogs against the code, no English left in the pages and the worker");
    let root = root();
    let problems = problems(&root)?;
    for problem in &problems {
        println!("    {problem}");
    }
    if problems.is_empty() {
        let catalog = parse_catalog(&std::fs::read_to_string(
            root.join("_locales").join("en").join("messages.json"),
        )?)
        .map_err(anyhow::Error::msg)?;
        println!(
            "    ok: {} messages in {} languages, every key used, no English left ({} allowed exceptions)",
            catalog.len(),
            LANGUAGES.len(),
            ALLOWED.len()
        );
    }
    Ok(problems.is_empty())
}

fn allowed(file: &str, literal: &str) -> bool {
    ALLOWED.iter().any(|(f, l, _)| *f == file && *l == literal)
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Every file under `dir` with one of `extensions`, sorted.
fn files(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One message of a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its text.
    pub text: String,
    /// Placeholder name (lower case) → content (`$1`).
    pub placeholders: BTreeMap<String, String>,
}

/// A catalog: key (lower case) → message.
pub type Catalog = BTreeMap<String, Message>;

/// Reads a `messages.json`.
pub fn parse_catalog(text: &str) -> Result<Catalog, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let entries = json.as_object().ok_or("not a JSON object")?;
    let mut catalog = Catalog::new();
    for (key, entry) in entries {
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
        {
            return Err(format!("{key:?}: a key is letters, digits and _"));
        }
        let text = entry
            .get("message")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{key}: no \"message\" text"))?;
        let mut placeholders = BTreeMap::new();
        if let Some(defined) = entry.get("placeholders") {
            let defined = defined
                .as_object()
                .ok_or_else(|| format!("{key}: \"placeholders\" is not an object"))?;
            for (name, p) in defined {
                let content = p
                    .get("content")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{key}: placeholder {name} has no \"content\""))?;
                placeholders.insert(name.to_ascii_lowercase(), content.to_owned());
            }
        }
        let lower = key.to_ascii_lowercase();
        if catalog
            .insert(
                lower,
                Message {
                    text: text.to_owned(),
                    placeholders,
                },
            )
            .is_some()
        {
            return Err(format!("{key}: twice (keys ignore case)"));
        }
    }
    Ok(catalog)
}

/// A key's stem and plural form: `new_sessions__one` → (`new_sessions`, `Some("one")`).
fn stem(key: &str) -> (&str, Option<&str>) {
    match key.rsplit_once("__") {
        Some((stem, form)) => (stem, Some(form)),
        None => (key, None),
    }
}

/// The `$NAME$` placeholders a message's text uses (lower case), and whether it uses a
/// bare `$1` (which the catalogs do not: every argument has a name).
fn used_placeholders(text: &str) -> (BTreeSet<String>, bool) {
    let mut names = BTreeSet::new();
    let mut bare = false;
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            rest = after;
            continue;
        }
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            bare = true;
            continue;
        }
        match rest.find('$') {
            Some(end)
                if end > 0
                    && rest[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                names.insert(rest[..end].to_ascii_lowercase());
                rest = &rest[end + 1..];
            }
            _ => {}
        }
    }
    (names, bare)
}

/// The catalogs against each other and against the keys `used`.
pub fn check_catalogs(catalogs: &[(&str, Catalog)], used: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some((_, english)) = catalogs.first() else {
        return vec!["no catalogs".into()];
    };
    // Stem → its forms (empty: not a plural message), per language.
    let shape = |catalog: &Catalog| -> BTreeMap<String, BTreeSet<String>> {
        let mut stems: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for key in catalog.keys() {
            let (s, form) = stem(key);
            let forms = stems.entry(s.to_owned()).or_default();
            if let Some(form) = form {
                forms.insert(form.to_owned());
            }
        }
        stems
    };
    let english_stems = shape(english);
    for (lang, catalog) in catalogs {
        let forms_of_lang: BTreeSet<String> = LANGUAGES
            .iter()
            .find(|(l, _)| l == lang)
            .map(|(_, f)| f.iter().map(|f| (*f).to_owned()).collect())
            .unwrap_or_default();
        let stems = shape(catalog);
        for (s, forms) in &stems {
            if !english_stems.contains_key(s) {
                problems.push(format!("{lang}: {s} is not in the English catalog"));
            }
            if !forms.is_empty() && *forms != forms_of_lang {
                problems.push(format!(
                    "{lang}: {s} has the plural forms {forms:?}, the language has {forms_of_lang:?}"
                ));
            }
            if !forms.is_empty() && catalog.contains_key(s) {
                problems.push(format!("{lang}: {s} is both a message and a plural stem"));
            }
        }
        for (s, forms) in &english_stems {
            match stems.get(s) {
                None => problems.push(format!("{lang}: {s} is missing")),
                Some(theirs) if theirs.is_empty() != forms.is_empty() => problems.push(format!(
                    "{lang}: {s} is plural in one language and not in the other"
                )),
                Some(_) => {}
            }
        }
        for (key, message) in catalog {
            let (s, form) = stem(key);
            if message.text.is_empty() {
                problems.push(format!("{lang}: {key} is empty"));
            }
            // English's first message of the stem defines the placeholders.
            let reference = english
                .range(s.to_owned()..)
                .find(|(k, _)| stem(k).0 == s)
                .map(|(_, m)| &m.placeholders);
            if let Some(reference) = reference
                && *reference != message.placeholders
            {
                problems.push(format!(
                    "{lang}: {key} defines the placeholders {:?}, English {:?}",
                    message.placeholders, reference
                ));
            }
            let (names, bare) = used_placeholders(&message.text);
            if bare {
                problems.push(format!(
                    "{lang}: {key} uses a bare $n: name it with a placeholder"
                ));
            }
            for name in &names {
                if !message.placeholders.contains_key(name) {
                    problems.push(format!(
                        "{lang}: {key} uses ${}$, which it does not define",
                        name.to_ascii_uppercase()
                    ));
                }
            }
            for name in message.placeholders.keys() {
                let may_omit = form.is_some() && name == "count";
                if !names.contains(name) && !may_omit {
                    problems.push(format!(
                        "{lang}: {key} does not use ${}$",
                        name.to_ascii_uppercase()
                    ));
                }
            }
            if form.is_some() && !message.placeholders.contains_key("count") {
                problems.push(format!(
                    "{lang}: {key} is a plural form without a COUNT placeholder"
                ));
            }
        }
    }
    for key in used {
        if !english_stems.contains_key(&key.to_ascii_lowercase()) {
            problems.push(format!("the code uses {key}, which no catalog has"));
        }
    }
    let used_lower: BTreeSet<String> = used.iter().map(|k| k.to_ascii_lowercase()).collect();
    for s in english_stems.keys() {
        if !used_lower.contains(s) {
            problems.push(format!("{s} is in the catalogs but no code uses it"));
        }
    }
    problems
}

/// A literal of some source: where it starts (byte), its line, its text (escapes kept).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Literal {
    start: usize,
    end: usize,
    line: usize,
    text: String,
}

/// The string literals of Rust code, and the code with every comment and literal's
/// inside blanked (same length), so that what is around a literal can be read.
fn rust_literals(code: &str) -> (Vec<Literal>, String) {
    let bytes = code.as_bytes();
    let mut blank = bytes.to_vec();
    let mut out = Vec::new();
    let mut i = 0;
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let clear = |blank: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut blank[from..to] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            let end = code[i..].find('\n').map_or(bytes.len(), |n| i + n);
            clear(&mut blank, i, end);
            i = end;
        } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let end = code[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |n| i + 2 + n + 2);
            clear(&mut blank, i, end);
            i = end;
        } else if c == b'\'' {
            // A char literal ('"', '\'', 'x') or a lifetime ('a).
            if bytes.get(i + 1) == Some(&b'\\') {
                let end = code[i + 2..]
                    .find('\'')
                    .map_or(bytes.len(), |n| i + 2 + n + 1);
                clear(&mut blank, i, end);
                i = end;
            } else {
                let next = code[i + 1..].chars().next().map_or(1, char::len_utf8);
                if bytes.get(i + 1 + next) == Some(&b'\'') {
                    clear(&mut blank, i, i + 2 + next);
                    i += 2 + next;
                } else {
                    i += 1;
                }
            }
        } else if c == b'"'
            || (c == b'r'
                && matches!(bytes.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !is_ident(bytes[i - 1])))
        {
            let (open, hashes) = if c == b'r' {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                (i + 1 + hashes, hashes)
            } else {
                (i, usize::MAX)
            };
            if bytes.get(open) != Some(&b'"') {
                i += 1;
                continue;
            }
            let mut j = open + 1;
            let close = loop {
                if j >= bytes.len() {
                    break bytes.len();
                }
                if hashes == usize::MAX {
                    match bytes[j] {
                        b'\\' => j += 2,
                        b'"' => break j,
                        _ => j += 1,
                    }
                } else if bytes[j] == b'"'
                    && bytes[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|b| **b == b'#')
                        .count()
                        == hashes
                {
                    break j;
                } else {
                    j += 1;
                }
            };
            let end = (close + 1 + if hashes == usize::MAX { 0 } else { hashes }).min(bytes.len());
            out.push(Literal {
                start: i,
                end,
                line: line_of(i),
                text: code[open + 1..close.min(bytes.len())].to_owned(),
            });
            clear(&mut blank, open + 1, close.min(bytes.len()));
            i = end;
        } else {
            i += 1;
        }
    }
    (out, String::from_utf8_lossy(&blank).into_owned())
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The code before `#[cfg(test)]` (test modules come last in this project's files).
fn without_tests(code: &str) -> &str {
    code.find("#[cfg(test)]").map_or(code, |at| &code[..at])
}

/// The keys Rust code names: the literal first argument of `Text::new`, `k`, `t`, `tr`,
/// `tn`.
pub fn keys_in_rust(code: &str) -> BTreeSet<String> {
    let code = without_tests(code);
    let (literals, blank) = rust_literals(code);
    literals
        .into_iter()
        .filter(|lit| {
            let before = blank[..lit.start].trim_end();
            let Some(before) = before.strip_suffix('(') else {
                return false;
            };
            let before = before.trim_end();
            ["Text::new", "k", "t", "tr", "tn"].iter().any(|name| {
                before.strip_suffix(name).is_some_and(|rest| {
                    !rest.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            })
        })
        .map(|lit| lit.text)
        .collect()
}

/// The keys of `__MSG_key__` in the manifest.
pub fn keys_in_manifest(text: &str) -> BTreeSet<String> {
    text.split("__MSG_")
        .skip(1)
        .filter_map(|rest| rest.split_once("__").map(|(key, _)| key.to_owned()))
        .collect()
}

/// The keys a JS loader asks `chrome.i18n.getMessage` for.
pub fn keys_in_js(code: &str) -> BTreeSet<String> {
    code.split("getMessage(")
        .skip(1)
        .filter_map(|rest| {
            let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
            let rest = &rest[1..];
            rest.split_once(quote).map(|(key, _)| key.to_owned())
        })
        .collect()
}

/// Attributes whose text people see or hear.
const VISIBLE_ATTRIBUTES: &[&str] = &[
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-valuetext",
    "title",
    "alt",
    "placeholder",
];

/// Whether `text` holds two words in a row (`"sign in"`), the shape of a sentence or a
/// label, as opposed to identifiers, CSS classes and URLs.
fn has_words(text: &str) -> bool {
    let word = |token: &str| {
        let token = token
            .trim_start_matches(['(', '"', '“', '\'', '¿', '¡'])
            .trim_end_matches(['.', ',', ':', ';', '!', '?', '…', ')', '"', '”', '\'']);
        token.chars().filter(char::is_ascii_alphabetic).count() >= 2
            && token.chars().all(|c| c.is_ascii_alphabetic() || c == '\'')
    };
    // A `format!` placeholder (`{n}`) stands for a word: "and {n} more" is two words.
    let tokens: Vec<&str> = text
        .split_whitespace()
        .filter(|t| !(t.starts_with('{') && t.ends_with('}')))
        .collect();
    tokens.windows(2).any(|pair| word(pair[0]) && word(pair[1]))
}

fn has_letters(text: &str) -> bool {
    text.chars().any(char::is_alphabetic)
}

/// The names of the calls and blocks that enclose byte `at` of `blank` (innermost
/// first, up to twelve), e.g. `["format!", "log_error"]`, `["div", "view!"]`.
fn enclosing_calls(blank: &str, at: usize) -> Vec<String> {
    let bytes = blank.as_bytes();
    let mut depth = 0i32;
    let mut names = Vec::new();
    let mut i = at;
    while i > 0 && names.len() < 12 {
        i -= 1;
        match bytes[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' if depth > 0 => depth -= 1,
            b'(' => {
                let name_end = blank[..i].trim_end().len();
                let name_start = blank[..name_end]
                    .rfind(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '_' || c == '!' || c == ':' || c == '.')
                    })
                    .map_or(0, |n| n + 1);
                names.push(blank[name_start..name_end].to_owned());
            }
            b'[' | b'{' => {
                // A macro's or attribute's bracket: `#[error(`, `view! {`.
                let name_end = blank[..i].trim_end().len();
                let name_start = blank[..name_end]
                    .rfind(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '_' || c == '!' || c == '#')
                    })
                    .map_or(0, |n| n + 1);
                names.push(blank[name_start..name_end].to_owned());
            }
            _ => {}
        }
    }
    names
}

/// Calls whose text goes to developers only: the console (`quizpulse_chrome::console`,
/// or web-sys's), panics, error texts for logs.
fn for_developers(calls: &[String]) -> bool {
    calls.iter().any(|name| {
        let name = name.rsplit(['.', ':']).next().unwrap_or(name);
        matches!(
            name,
            "log_error"
                | "console"
                | "warn"
                | "error_1"
                | "warn_1"
                | "log_1"
                | "info_1"
                | "debug_1"
                | "panic!"
                | "unreachable!"
                | "expect"
                | "error"
                | "debug_assert!"
                | "assert!"
        )
    })
}

/// English text left in Rust code of the pages or the worker: `(line, literal)`.
pub fn english_in_rust(code: &str) -> Vec<(usize, String)> {
    let code = without_tests(code);
    let (literals, blank) = rust_literals(code);
    let mut found = Vec::new();
    for lit in literals {
        let before = blank[..lit.start].trim_end();
        let after = blank[lit.end..].trim_start();
        let calls = enclosing_calls(&blank, lit.start);
        if for_developers(&calls) {
            continue;
        }
        // An attribute in `view!`: `aria-label="…"`, `class="…"`.
        let attribute = before
            .strip_suffix('=')
            .filter(|b| !b.ends_with(['=', '!', '<', '>']))
            .map(|b| {
                let start = b
                    .rfind(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '#')
                    })
                    .map_or(0, |n| n + 1);
                b[start..].trim_start_matches("r#").to_owned()
            });
        let in_view = calls.iter().any(|c| c == "view!");
        let flagged = match attribute {
            Some(name) if VISIBLE_ATTRIBUTES.contains(&name.as_str()) => {
                has_letters(&lit.text) && !lit.text.contains("://")
            }
            // Any other attribute of an element: classes, ids, roles, test ids.
            Some(_) if in_view => false,
            _ => {
                let child = in_view
                    && before.ends_with('{')
                    && (after.starts_with('}') || after.starts_with('('));
                has_words(&lit.text) || (child && has_letters(&lit.text))
            }
        };
        if flagged {
            found.push((lit.line, lit.text));
        }
    }
    found
}

/// English text left in an HTML page: text between tags (not in `<script>` or
/// `<style>`) and visible attributes.
pub fn english_in_html(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut i = 0;
    let mut skip_until: Option<&str> = None;
    while let Some(open) = code[i..].find('<').map(|n| i + n) {
        let text = &code[i..open];
        if skip_until.is_none() && has_letters(text.trim()) {
            found.push((line_of(i), text.trim().to_owned()));
        }
        if code[open..].starts_with("<!--") {
            i = code[open..]
                .find("-->")
                .map_or(code.len(), |n| open + n + 3);
            continue;
        }
        let close = code[open..].find('>').map_or(code.len(), |n| open + n + 1);
        let tag = &code[open..close];
        if let Some(end) = skip_until {
            if tag.starts_with(end) {
                skip_until = None;
            }
        } else if tag.starts_with("<script") {
            skip_until = Some("</script");
        } else if tag.starts_with("<style") {
            skip_until = Some("</style");
        }
        for name in VISIBLE_ATTRIBUTES {
            let pattern = format!(" {name}=\"");
            if let Some(at) = tag.find(&pattern) {
                let value = &tag[at + pattern.len()..];
                let value = value.split('"').next().unwrap_or_default();
                if has_letters(value) {
                    found.push((line_of(open), value.to_owned()));
                }
            }
        }
        i = close;
    }
    found
}

/// English text left in a JS loader: literals of two words or more, except in console
/// calls.
pub fn english_in_js(code: &str) -> Vec<(usize, String)> {
    let bytes = code.as_bytes();
    let mut blank = bytes.to_vec();
    let mut literals = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            let end = code[i..].find('\n').map_or(bytes.len(), |n| i + n);
            blank[i..end].fill(b' ');
            i = end;
        } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let end = code[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |n| i + 2 + n + 2);
            for b in &mut blank[i..end] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
            i = end;
        } else if matches!(c, b'\'' | b'"' | b'`') {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != c {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(bytes.len());
            literals.push((
                i,
                code[..i].matches('\n').count() + 1,
                code[i + 1..end].to_owned(),
            ));
            for b in &mut blank[i + 1..end] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    let blank = String::from_utf8_lossy(&blank).into_owned();
    literals
        .into_iter()
        .filter(|(at, _, text)| {
            let calls = enclosing_calls(&blank, *at);
            has_words(text) && !calls.iter().any(|c| c.starts_with("console."))
        })
        .map(|(_, line, text)| (line, text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(json: &str) -> Catalog {
        parse_catalog(json).unwrap()
    }

    fn set(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    const EN: &str = r#"{
      "hello": {"message": "Hello, $NAME$!", "placeholders": {"name": {"content": "$1"}}},
      "things__one": {"message": "one thing", "placeholders": {"count": {"content": "$1"}}},
      "things__other": {"message": "$COUNT$ things", "placeholders": {"count": {"content": "$1"}}}
    }"#;

    fn four(en: &str, es: &str, de: &str, ar: &str) -> Vec<(&'static str, Catalog)> {
        vec![
            ("en", catalog(en)),
            ("es", catalog(es)),
            ("de", catalog(de)),
            ("ar", catalog(ar)),
        ]
    }

    fn plural(forms: &[&str]) -> String {
        let entries: Vec<String> = forms
            .iter()
            .map(|f| {
                format!(
                    r#""things__{f}": {{"message": "$COUNT$ x", "placeholders": {{"count": {{"content": "$1"}}}}}}"#
                )
            })
            .collect();
        format!(
            r#"{{"hello": {{"message": "¡Hola, $NAME$!", "placeholders": {{"name": {{"content": "$1"}}}}}}, {}}}"#,
            entries.join(", ")
        )
    }

    #[test]
    fn catalogs_that_agree_pass() {
        let cats = four(
            EN,
            &plural(&["one", "many", "other"]),
            &plural(&["one", "other"]),
            &plural(&["zero", "one", "two", "few", "many", "other"]),
        );
        assert_eq!(
            check_catalogs(&cats, &set(&["hello", "things"])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn missing_unused_and_misplaced_keys_and_placeholders_are_found() {
        let ar_short = plural(&["one", "other"]);
        let mut cats = four(
            EN,
            &plural(&["one", "many", "other"]),
            r#"{"hello": {"message": "Hallo, $WHO$!", "placeholders": {"who": {"content": "$1"}}},
                "things__one": {"message": "$COUNT$ Ding", "placeholders": {"count": {"content": "$1"}}},
                "things__other": {"message": "$COUNT$ Dinge $1", "placeholders": {"count": {"content": "$1"}}}}"#,
            &ar_short,
        );
        let problems = check_catalogs(&cats, &set(&["hello", "things", "nowhere"]));
        let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
        assert!(has("de: hello defines the placeholders"), "{problems:#?}");
        assert!(has("de: things__other uses a bare $n"), "{problems:#?}");
        assert!(has("ar: things has the plural forms"), "{problems:#?}");
        assert!(
            has("the code uses nowhere, which no catalog has"),
            "{problems:#?}"
        );
        // A key nobody uses, and one missing from a language.
        cats[1].1.insert(
            "extra".into(),
            Message {
                text: "sobra".into(),
                placeholders: BTreeMap::new(),
            },
        );
        let problems = check_catalogs(&cats, &set(&["hello"]));
        let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
        assert!(
            has("things is in the catalogs but no code uses it"),
            "{problems:#?}"
        );
        assert!(
            has("es: extra is not in the English catalog"),
            "{problems:#?}"
        );
        // A message that drops an argument, or names one it does not define.
        let en = r#"{"hello": {"message": "Hello!", "placeholders": {"name": {"content": "$1"}}},
                     "bye": {"message": "Bye, $WHO$", "placeholders": {}}}"#;
        let cats = four(en, en, en, en);
        let problems = check_catalogs(&cats, &set(&["hello", "bye"]));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("en: hello does not use $NAME$"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("en: bye uses $WHO$, which it does not define"))
        );
    }

    #[test]
    fn keys_are_found_where_the_code_names_them() {
        let code = r#"
            // t("in_a_comment")
            let a = t("plain_key");
            let b = tr( "with_args", &[x]);
            let c = quizpulse_chrome::i18n::tn("counted", n, &[]);
            let d = Text::new("core_key").plain(name);
            let e = match x { A => k("held_key"), _ => "not_a_key" };
            let f = start("not_a_key_either");
            let g = '"'; let h = "tr(\"escaped\")";
            #[cfg(test)]
            mod tests { fn f() { t("test_only"); } }
        "#;
        assert_eq!(
            keys_in_rust(code),
            set(&["plain_key", "with_args", "counted", "core_key", "held_key"])
        );
        assert_eq!(
            keys_in_manifest(r#"{"name": "__MSG_ext_name__", "x": "__MSG_ext_description__"}"#),
            set(&["ext_name", "ext_description"])
        );
        assert_eq!(
            keys_in_js("chrome.i18n.getMessage('worker_failed', [String(e)])"),
            set(&["worker_failed"])
        );
    }

    #[test]
    fn english_left_in_the_pages_is_found() {
        let code = r##"
            fn view() -> View {
                let words = t("ok_key");
                let class = "note note--error";
                view! {
                    div(class="card signin", aria-relevant="additions text") {
                        button(aria-label="Close it") { "×" }
                        span { "Loading" }
                        p { (words) }
                        input(placeholder="https://quiz.example.org")
                    }
                }
                let oops = format!("Could not load {what}");
                let more = format!("and {n} more");
                log_error(&format!("sending on the socket failed: {}", why));
                web_sys::console::warn_1(&"the cache cannot be read".into());
                unreachable!("a closure runs once");
            }
            #[derive(thiserror::Error)]
            #[error("{api} failed: {message}")]
            struct E;
        "##;
        let found: Vec<String> = english_in_rust(code).into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            found,
            [
                "Close it",
                "Loading",
                "Could not load {what}",
                "and {n} more"
            ]
        );
        let html = r#"<html><head><title>QuizPulse</title><!-- a comment here -->
            <script type="module">const x = "a b";</script></head>
            <body><img alt="The logo"><div id="app"></div></body></html>"#;
        let found: Vec<String> = english_in_html(html).into_iter().map(|(_, t)| t).collect();
        assert_eq!(found, ["QuizPulse", "The logo"]);
        let js = r#"
            console.error('QuizPulse: a handler failed', error);
            sendResponse({ type: 'error', message: `the worker failed to start: ${error}` });
            chrome.storage.session.get('quizpulse.snapshot');
        "#;
        let found: Vec<String> = english_in_js(js).into_iter().map(|(_, t)| t).collect();
        assert_eq!(found, ["the worker failed to start: ${error}"]);
    }

    /// The real tree passes: what `cargo xtask test` runs.
    #[test]
    fn the_settings_offer_exactly_the_catalogs_languages() {
        let offered: Vec<&str> = quizpulse::settings::LANGUAGES
            .iter()
            .map(|(tag, _)| *tag)
            .collect();
        let catalogs: Vec<&str> = LANGUAGES.iter().map(|(tag, _)| *tag).collect();
        assert_eq!(offered, catalogs);
    }

    #[test]
    fn the_catalogs_and_the_code_agree() {
        let problems = problems(&root()).unwrap();
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
