//! Reading server frames cheaply: the generator shares the machine's cores
//! with the server it measures, so it classifies a frame by its first bytes
//! and finds `session_id` and `seq` by search, never parsing the whole JSON.

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
pub fn kind(text: &str) -> Kind {
    let Some(rest) = text
        .strip_prefix(r#"{"type": ""#)
        .or_else(|| text.strip_prefix(r#"{"type":""#))
    else {
        return Kind::Other;
    };
    let name = rest.split('"').next().unwrap_or("");
    match name {
        "quiz_session_uploaded" => Kind::SessionUploaded,
        "leaderboard_updated" => Kind::LeaderboardUpdated,
        "quiz_leaderboard_updated" => Kind::QuizLeaderboardUpdated,
        _ => Kind::Other,
    }
}

/// `"seq":`, the needle for a frame's `seq`.
pub const SEQ: &str = "\"seq\":";
/// `"session_id":`, the needle for an upload's id.
pub const SESSION_ID: &str = "\"session_id\":";

/// The integer after `needle` (a key with its quotes and colon, e.g. [`SEQ`]),
/// quoted (ids are strings in the contract) or not (`seq`).
pub fn integer_field(text: &str, needle: &str) -> Option<u64> {
    let at = text.find(needle)? + needle.len();
    let digits = text[at..].trim_start_matches([' ', '"']);
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_both_spacings() {
        assert_eq!(
            kind(r#"{"type": "quiz_session_uploaded", "data": {}}"#),
            Kind::SessionUploaded
        );
        assert_eq!(
            kind(r#"{"type":"leaderboard_updated","data":{}}"#),
            Kind::LeaderboardUpdated
        );
        assert_eq!(
            kind(r#"{"type": "quiz_leaderboard_updated", "data": {}}"#),
            Kind::QuizLeaderboardUpdated
        );
        assert_eq!(kind(r#"{"type": "pong", "id": 1}"#), Kind::Other);
        assert_eq!(kind("not json"), Kind::Other);
        assert_eq!(kind(r#"{"type": "quiz_session_uploadedX"}"#), Kind::Other);
    }

    #[test]
    fn integer_fields_quoted_or_not() {
        let ours = r#"{"type": "quiz_session_uploaded", "data": {"session_id": "1234", "quiz_id": "q"}, "seq": 17, "sent_at": "x"}"#;
        assert_eq!(integer_field(ours, SESSION_ID), Some(1234));
        assert_eq!(integer_field(ours, SEQ), Some(17));
        let django = r#"{"type":"quiz_session_uploaded","data":{"session_id":"9"}}"#;
        assert_eq!(integer_field(django, SESSION_ID), Some(9));
        assert_eq!(integer_field(django, SEQ), None);
        assert_eq!(integer_field(r#"{"session_id": "abc"}"#, SESSION_ID), None);
    }
}
