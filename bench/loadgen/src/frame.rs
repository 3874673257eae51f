//! Reading server frames cheaply: the generator shares the machine's cores
//! with the server it measures, so it classifies a frame by its first bytes
//! and finds `session_id` and `seq` by search, never parsing the whole JSON.
//! A `session_id` is any JSON string (the contract's ids are strings: ours
//! are digits, another server's may be UUIDs) or an integer.

/// What a server frame is, as far as the bench cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `quiz_session_uploaded` (carries the upload's `session_id`).
    SessionUploaded,
    /// `leaderboard_updated`.
    LeaderboardUpdated,
    /// `quiz_leaderboard_updated`: the last message of an upload.
    QuizLeaderboardUpdated,
    /// Anything else (`subscription_confirmed`, `pong`, `error`, unknown types).
    Other,
}

/// The frame's `type`, read from the contract's `{"type": "…"` prefix (with
/// or without the space Python's `json.dumps` puts after the colon).
pub fn kind(text: &[u8]) -> Kind {
    let Some(rest) = text
        .strip_prefix(br#"{"type": ""#)
        .or_else(|| text.strip_prefix(br#"{"type":""#))
    else {
        return Kind::Other;
    };
    let name = rest.split(|&b| b == b'"').next().unwrap_or(&[]);
    match name {
        b"quiz_session_uploaded" => Kind::SessionUploaded,
        b"leaderboard_updated" => Kind::LeaderboardUpdated,
        b"quiz_leaderboard_updated" => Kind::QuizLeaderboardUpdated,
        _ => Kind::Other,
    }
}

/// `"seq":`, the needle for a frame's `seq`.
pub const SEQ: &[u8] = b"\"seq\":";
/// `"session_id":`, the needle for an upload's id.
pub const SESSION_ID: &[u8] = b"\"session_id\":";

/// The integer after `needle` (a key with its quotes and colon, e.g. [`SEQ`]),
/// quoted (ids are strings in the contract) or not (`seq`). `seq` is looked
/// for from the end (our server puts it last but one).
pub fn integer_field(text: &[u8], needle: &[u8]) -> Option<u64> {
    let at = if needle == SEQ {
        memchr::memmem::rfind(text, needle)?
    } else {
        memchr::memmem::find(text, needle)?
    } + needle.len();
    let rest = &text[at..];
    let skip = rest
        .iter()
        .position(|&b| b != b' ' && b != b'"')
        .unwrap_or(rest.len());
    let digits = &rest[skip..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 || end > 19 {
        return None;
    }
    Some(
        digits[..end]
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')),
    )
}

/// The raw value of a frame's `session_id`: the bytes between its quotes
/// (still JSON-escaped) or an integer's digits. `None` when there is none.
pub fn session_id(text: &[u8]) -> Option<&[u8]> {
    let at = memchr::memmem::find(text, SESSION_ID)? + SESSION_ID.len();
    let rest = &text[at..];
    let skip = rest.iter().position(|&b| b != b' ')?;
    let rest = &rest[skip..];
    if let Some(inner) = rest.strip_prefix(b"\"") {
        // Up to the first quote not escaped by a backslash.
        let mut escaped = false;
        let end = inner.iter().position(|&b| {
            let closes = b == b'"' && !escaped;
            escaped = b == b'\\' && !escaped;
            closes
        })?;
        return Some(&inner[..end]);
    }
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// A raw `session_id` (see [`session_id`]) as its text: JSON escapes undone.
pub fn unescape(raw: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    if !raw.contains(&b'\\') {
        return Some(std::borrow::Cow::Borrowed(raw));
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    let text: String = serde_json::from_slice(&quoted).ok()?;
    Some(std::borrow::Cow::Owned(text.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_both_spacings() {
        assert_eq!(
            kind(br#"{"type": "quiz_session_uploaded", "data": {}}"#),
            Kind::SessionUploaded
        );
        assert_eq!(
            kind(br#"{"type":"leaderboard_updated","data":{}}"#),
            Kind::LeaderboardUpdated
        );
        assert_eq!(
            kind(br#"{"type": "quiz_leaderboard_updated", "data": {}}"#),
            Kind::QuizLeaderboardUpdated
        );
        assert_eq!(kind(br#"{"type": "pong", "id": 1}"#), Kind::Other);
        assert_eq!(kind(b"not json"), Kind::Other);
        assert_eq!(kind(br#"{"type": "quiz_session_uploadedX"}"#), Kind::Other);
    }

    #[test]
    fn integer_fields_quoted_or_not() {
        let ours = br#"{"type": "quiz_session_uploaded", "data": {"session_id": "1234", "quiz_id": "q"}, "seq": 17, "sent_at": "x"}"#;
        assert_eq!(integer_field(ours, SESSION_ID), Some(1234));
        assert_eq!(integer_field(ours, SEQ), Some(17));
        let django = br#"{"type":"quiz_session_uploaded","data":{"session_id":"9"}}"#;
        assert_eq!(integer_field(django, SESSION_ID), Some(9));
        assert_eq!(integer_field(django, SEQ), None);
        assert_eq!(integer_field(br#"{"session_id": "abc"}"#, SESSION_ID), None);
    }

    #[test]
    fn session_ids_are_any_string_or_an_integer() {
        let uuid = br#"{"type": "quiz_session_uploaded", "data": {"session_id": "81aeb76d-5c1e-4a1b-9f0e-2f6c3b1d9a77", "quiz_id": "q"}}"#;
        assert_eq!(
            session_id(uuid),
            Some(&b"81aeb76d-5c1e-4a1b-9f0e-2f6c3b1d9a77"[..])
        );
        assert_eq!(
            session_id(br#"{"data":{"session_id":"9"}}"#),
            Some(&b"9"[..])
        );
        assert_eq!(
            session_id(br#"{"data":{"session_id": 42}}"#),
            Some(&b"42"[..])
        );
        let escaped = br#"{"data": {"session_id": "a\"b\\c", "x": 1}}"#;
        let raw = session_id(escaped).unwrap();
        assert_eq!(raw, br#"a\"b\\c"#);
        assert_eq!(unescape(raw).unwrap().as_ref(), br#"a"b\c"#);
        assert_eq!(unescape(b"plain").unwrap().as_ref(), b"plain");
        assert_eq!(session_id(br#"{"data": {"session_id": null}}"#), None);
        assert_eq!(session_id(br#"{"data": {}}"#), None);
        assert_eq!(session_id(br#"{"session_id": "unterminated"#), None);
    }
}
