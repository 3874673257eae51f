//! Reading a JWT's payload without verifying it: the client only needs `exp` (to
//! refresh ahead of expiry, never assuming SimpleJWT's 5 minutes) and `user_id`.
//! Verification is the server's job; nothing here is trusted for access decisions.

use serde::Deserialize;

use crate::time::Timestamp;

/// The claims the client reads. Unknown claims are ignored; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Claims {
    /// Expiry, seconds since the epoch.
    #[serde(default)]
    pub exp: Option<f64>,
    /// Issued at, seconds since the epoch.
    #[serde(default)]
    pub iat: Option<f64>,
    /// `"access"` or `"refresh"` (SimpleJWT).
    #[serde(default)]
    pub token_type: Option<String>,
    /// The user's id; the contract says a string, numbers are accepted too.
    #[serde(default, deserialize_with = "string_or_number")]
    pub user_id: Option<String>,
}

impl crate::json::FromJson for Claims {
    fn from_json(json: crate::json::Json) -> Result<Self, serde_json::Error> {
        let mut obj = crate::json::Object::new(json, "struct Claims")?;
        Ok(Claims {
            exp: obj.opt("exp")?,
            iat: obj.opt("iat")?,
            token_type: obj.opt("token_type")?,
            user_id: obj
                .opt::<Option<crate::wire::UserId>>("user_id")?
                .map(|id| id.as_str().to_owned()),
        })
    }
}

impl Claims {
    /// `exp` as a [`Timestamp`], when present and sane.
    pub fn expires_at(&self) -> Option<Timestamp> {
        secs(self.exp)
    }

    /// `iat` as a [`Timestamp`], when present and sane.
    pub fn issued_at(&self) -> Option<Timestamp> {
        secs(self.iat)
    }
}

fn secs(v: Option<f64>) -> Option<Timestamp> {
    v.filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e13)
        .map(|s| Timestamp::from_millis((s * 1000.0) as u64))
}

/// A user id as the wire reads ids: a string, or an integer as its text.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<crate::wire::UserId>::deserialize(d)?.map(|id| id.as_str().to_owned()))
}

/// Why a token's payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three dot-separated parts.
    #[error("a JWT has three parts separated by dots")]
    Shape,
    /// The payload is not base64url.
    #[error("the JWT payload is not base64url")]
    Base64,
    /// The payload is not a JSON object of claims.
    #[error("the JWT payload is not a JSON object: {0}")]
    Json(String),
}

/// Decodes the payload (middle part) of a compact JWT, without checking the signature.
pub fn decode_claims(token: &str) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Shape);
    };
    let bytes = base64url_decode(payload).ok_or(JwtError::Base64)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| JwtError::Json(e.to_string()))?;
    <Claims as crate::json::FromJson>::from_json_text(text)
        .map_err(|e| JwtError::Json(e.to_string()))
}

/// Decodes unpadded (or padded) base64url; `None` on any invalid character.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// Encodes bytes as unpadded base64url (used by tests to build tokens).
pub fn base64url_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Builds an unsigned-looking token with the given JSON payload (for tests and the
/// reference tooling; the signature part is a fixed placeholder).
pub fn unsigned_token(payload_json: &str) -> String {
    format!(
        "{}.{}.c2ln",
        base64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        base64url_encode(payload_json.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_simplejwt_access_claims() {
        let token = unsigned_token(
            r#"{"token_type":"access","exp":1764139200,"iat":1764138900,"jti":"abc","user_id":"42"}"#,
        );
        let c = decode_claims(&token).unwrap();
        assert_eq!(c.expires_at(), Some(Timestamp::from_secs(1_764_139_200)));
        assert_eq!(c.issued_at(), Some(Timestamp::from_secs(1_764_138_900)));
        assert_eq!(c.user_id.as_deref(), Some("42"));
        assert_eq!(c.token_type.as_deref(), Some("access"));
    }

    #[test]
    fn numeric_user_id_is_accepted_as_text() {
        let c = decode_claims(&unsigned_token(r#"{"user_id":7}"#)).unwrap();
        assert_eq!(c.user_id.as_deref(), Some("7"));
        assert_eq!(c.expires_at(), None);
    }

    #[test]
    fn malformed_tokens_are_errors() {
        assert_eq!(decode_claims("abc"), Err(JwtError::Shape));
        assert_eq!(decode_claims("a.b.c.d"), Err(JwtError::Shape));
        assert_eq!(decode_claims("a.!!.c"), Err(JwtError::Base64));
        assert!(matches!(
            decode_claims(&format!("a.{}.c", base64url_encode(b"\"text\""))),
            Err(JwtError::Json(_))
        ));
        // A payload that is not UTF-8 is not JSON text either.
        assert!(matches!(
            decode_claims(&format!("a.{}.c", base64url_encode(b"{\"exp\":\xff}"))),
            Err(JwtError::Json(_))
        ));
    }

    proptest! {
        #[test]
        fn base64url_round_trips(bytes: Vec<u8>) {
            prop_assert_eq!(base64url_decode(&base64url_encode(&bytes)), Some(bytes));
        }

        #[test]
        fn decoding_arbitrary_tokens_never_panics(text in ".*") {
            let _ = decode_claims(&text);
        }
    }
}
