//! JSON text into a [`Json`] tree, by plain code: the same values and the same errors
//! (message, line and column) as `serde_json::from_str::<Json>`, which it replaces in
//! the wasm. serde_json's parser, driven through serde's visitor, its `Read` layer
//! and its tables of powers of ten and hex digits cost the wasm about 14 KB; this is
//! a fraction of that. Tests compare both on every kind of input, valid and not
//! (`tests/properties.rs`, and the unit tests below).
//!
//! It follows serde_json 1.0 without `arbitrary_precision` or `float_roundtrip`
//! step by step: integers are `u64` while they fit (negative ones `i64`), anything
//! else an `f64` made as serde_json makes it (the digits as an integer, scaled once by
//! a power of ten: not always the nearest double, but the same one); objects and
//! arrays nest at most 127 deep; errors point where serde_json points.

use serde::de::Error as _;
use serde_json::Error;

use super::{Json, Number};

/// Parses `text`; see the module's doc.
pub(super) fn parse(text: &str) -> Result<Json, Error> {
    let mut p = Parser {
        text,
        at: 0,
        depth: 128,
    };
    let value = p.value()?;
    match p.skip_whitespace() {
        Some(_) => Err(p.peek_error("trailing characters")),
        None => Ok(value),
    }
}

struct Parser<'a> {
    text: &'a str,
    /// The next byte to read.
    at: usize,
    /// How many more arrays and objects may open.
    depth: u8,
}

impl Parser<'_> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    /// The first byte after any whitespace, not taken.
    fn skip_whitespace(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
        self.peek()
    }

    /// An error at byte `i`: `<message> at line L column C`, as serde_json says it
    /// (the column counts bytes from the line's start).
    #[cold]
    fn error_at(&self, i: usize, message: &str) -> Error {
        let before = &self.bytes()[..i];
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |newline| newline + 1);
        let line = 1 + before[..line_start].iter().filter(|b| **b == b'\n').count();
        Error::custom(format_args!(
            "{message} at line {line} column {}",
            i - line_start
        ))
    }

    /// An error about the byte just taken (serde_json's `error`).
    fn error(&self, message: &str) -> Error {
        self.error_at(self.at, message)
    }

    /// An error about the byte not yet taken (serde_json's `peek_error`).
    fn peek_error(&self, message: &str) -> Error {
        self.error_at((self.at + 1).min(self.text.len()), message)
    }

    fn value(&mut self) -> Result<Json, Error> {
        let Some(b) = self.skip_whitespace() else {
            return Err(self.peek_error("EOF while parsing a value"));
        };
        match b {
            b'n' => self.ident(b"ull", Json::Null),
            b't' => self.ident(b"rue", Json::Bool(true)),
            b'f' => self.ident(b"alse", Json::Bool(false)),
            b'-' => {
                self.at += 1;
                self.integer(false).map(Json::Number)
            }
            b'0'..=b'9' => self.integer(true).map(Json::Number),
            b'"' => {
                self.at += 1;
                self.string().map(Json::String)
            }
            b'[' | b'{' => {
                self.depth -= 1;
                if self.depth == 0 {
                    return Err(self.peek_error("recursion limit exceeded"));
                }
                self.at += 1;
                let value = if b == b'[' {
                    self.array()
                } else {
                    self.object()
                };
                self.depth += 1;
                // The closing bracket: `array` and `object` stop only before it.
                self.at += 1;
                value
            }
            _ => Err(self.peek_error("expected value")),
        }
    }

    /// The rest of `null`, `true` or `false`, its first letter not yet taken.
    fn ident(&mut self, rest: &[u8], value: Json) -> Result<Json, Error> {
        self.at += 1;
        for expected in rest {
            match self.next() {
                None => return Err(self.error("EOF while parsing a value")),
                Some(b) if b != *expected => return Err(self.error("expected ident")),
                Some(_) => {}
            }
        }
        Ok(value)
    }

    /// An array's items, after its `[`, up to (not taking) its `]`.
    fn array(&mut self) -> Result<Json, Error> {
        let mut items = Vec::new();
        loop {
            let Some(b) = self.skip_whitespace() else {
                return Err(self.peek_error("EOF while parsing a list"));
            };
            if b == b']' {
                return Ok(Json::Array(items));
            }
            if !items.is_empty() {
                if b != b',' {
                    return Err(self.peek_error("expected `,` or `]`"));
                }
                self.at += 1;
                match self.skip_whitespace() {
                    Some(b']') => return Err(self.peek_error("trailing comma")),
                    Some(_) => {}
                    None => return Err(self.peek_error("EOF while parsing a value")),
                }
            }
            items.push(self.value()?);
        }
    }

    /// An object's fields, after its `{`, up to (not taking) its `}`.
    fn object(&mut self) -> Result<Json, Error> {
        let mut fields = Vec::new();
        loop {
            let Some(b) = self.skip_whitespace() else {
                return Err(self.peek_error("EOF while parsing an object"));
            };
            if b == b'}' {
                return Ok(Json::Object(fields));
            }
            let b = if fields.is_empty() {
                b
            } else if b == b',' {
                self.at += 1;
                match self.skip_whitespace() {
                    Some(b'}') => return Err(self.peek_error("trailing comma")),
                    Some(b) => b,
                    None => return Err(self.peek_error("EOF while parsing a value")),
                }
            } else {
                return Err(self.peek_error("expected `,` or `}`"));
            };
            if b != b'"' {
                return Err(self.peek_error("key must be a string"));
            }
            self.at += 1;
            let key = self.string()?;
            match self.skip_whitespace() {
                Some(b':') => self.at += 1,
                Some(_) => return Err(self.peek_error("expected `:`")),
                None => return Err(self.peek_error("EOF while parsing an object")),
            }
            let value = self.value()?;
            fields.push((key, value));
        }
    }

    /// A string's text, after its opening quote, taking its closing one.
    fn string(&mut self) -> Result<String, Error> {
        let mut out = String::new();
        let mut start = self.at;
        loop {
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            let Some(b) = self.next() else {
                return Err(self.error("EOF while parsing a string"));
            };
            // Every byte that stops the scan is ASCII: a character boundary.
            out.push_str(&self.text[start..self.at - 1]);
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    self.escape(&mut out)?;
                    start = self.at;
                }
                _ => {
                    return Err(self.error(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
            }
        }
    }

    /// One escape, after its backslash.
    fn escape(&mut self, out: &mut String) -> Result<(), Error> {
        let Some(b) = self.next() else {
            return Err(self.error("EOF while parsing a string"));
        };
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(out),
            _ => return Err(self.error("invalid escape")),
        };
        out.push(c);
        Ok(())
    }

    /// A `\u` escape (four hex digits), after its `u`: a character, or a surrogate pair
    /// as two escapes.
    fn unicode_escape(&mut self, out: &mut String) -> Result<(), Error> {
        let lone = "lone leading surrogate in hex escape";
        let first = self.hex4()?;
        let code = match first {
            0xDC00..=0xDFFF => return Err(self.error(lone)),
            0xD800..=0xDBFF => {
                for expected in [b'\\', b'u'] {
                    match self.next() {
                        None => return Err(self.error("EOF while parsing a string")),
                        Some(b) if b != expected => {
                            return Err(self.error("unexpected end of hex escape"));
                        }
                        Some(_) => {}
                    }
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error(lone));
                }
                ((u32::from(first) - 0xD800) << 10 | (u32::from(second) - 0xDC00)) + 0x1_0000
            }
            other => u32::from(other),
        };
        // Surrogates were handled above: every other code is a character.
        if let Some(c) = char::from_u32(code) {
            out.push(c);
        }
        Ok(())
    }

    /// Four hex digits.
    fn hex4(&mut self) -> Result<u16, Error> {
        let Some(digits) = self.bytes().get(self.at..self.at + 4) else {
            self.at = self.text.len();
            return Err(self.error("EOF while parsing a string"));
        };
        let value = digits.iter().try_fold(0u16, |value, b| {
            let digit = char::from(*b).to_digit(16)?;
            Some(value << 4 | digit as u16)
        });
        self.at += 4;
        value.ok_or_else(|| self.error("invalid escape"))
    }

    /// A number, its sign (if any) taken.
    fn integer(&mut self, positive: bool) -> Result<Number, Error> {
        let Some(first) = self.next() else {
            return Err(self.error("EOF while parsing a value"));
        };
        let significand = match first {
            b'0' => {
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.peek_error("invalid number"));
                }
                0
            }
            b'1'..=b'9' => {
                let mut significand = u64::from(first - b'0');
                while let Some(digit) = self.digit() {
                    if overflows(significand, digit) {
                        return self.long_integer(positive, significand).map(Number::Float);
                    }
                    self.at += 1;
                    significand = significand * 10 + digit;
                }
                significand
            }
            _ => return Err(self.error("invalid number")),
        };
        Ok(match self.peek() {
            Some(b'.') => Number::Float(self.decimal(positive, significand, 0)?),
            Some(b'e' | b'E') => Number::Float(self.exponent(positive, significand, 0)?),
            _ if positive => Number::Unsigned(significand),
            _ => {
                #[allow(clippy::cast_possible_wrap, clippy::cast_precision_loss)]
                let negative = (significand as i64).wrapping_neg();
                if negative >= 0 {
                    // Below `i64::MIN`, or `-0`.
                    #[allow(clippy::cast_precision_loss)]
                    Number::Float(-(significand as f64))
                } else {
                    Number::Signed(negative)
                }
            }
        })
    }

    /// The next byte's value if it is a digit (not taken).
    fn digit(&self) -> Option<u64> {
        match self.peek() {
            Some(b @ b'0'..=b'9') => Some(u64::from(b - b'0')),
            _ => None,
        }
    }

    /// An integer too long for a `u64`: its further digits count as powers of ten.
    #[cold]
    fn long_integer(&mut self, positive: bool, significand: u64) -> Result<f64, Error> {
        let mut exponent = 0i32;
        while self.digit().is_some() {
            self.at += 1;
            exponent = exponent.wrapping_add(1);
        }
        match self.peek() {
            Some(b'.') => self.decimal(positive, significand, exponent),
            Some(b'e' | b'E') => self.exponent(positive, significand, exponent),
            _ => self.scaled(positive, significand, exponent),
        }
    }

    /// The fraction, at its `.`.
    fn decimal(&mut self, positive: bool, mut significand: u64, before: i32) -> Result<f64, Error> {
        self.at += 1;
        let mut after = 0i32;
        while let Some(digit) = self.digit() {
            if overflows(significand, digit) {
                // Further digits are ignored.
                while self.digit().is_some() {
                    self.at += 1;
                }
                return match self.peek() {
                    Some(b'e' | b'E') => self.exponent(positive, significand, before + after),
                    _ => self.scaled(positive, significand, before + after),
                };
            }
            self.at += 1;
            significand = significand * 10 + digit;
            after -= 1;
        }
        if after == 0 {
            return Err(match self.peek() {
                Some(_) => self.peek_error("invalid number"),
                None => self.peek_error("EOF while parsing a value"),
            });
        }
        match self.peek() {
            Some(b'e' | b'E') => self.exponent(positive, significand, before + after),
            _ => self.scaled(positive, significand, before + after),
        }
    }

    /// The exponent, at its `e`.
    fn exponent(&mut self, positive: bool, significand: u64, starting: i32) -> Result<f64, Error> {
        self.at += 1;
        let positive_exp = match self.peek() {
            Some(b'+') => {
                self.at += 1;
                true
            }
            Some(b'-') => {
                self.at += 1;
                false
            }
            _ => true,
        };
        let mut exp = match self.next() {
            None => return Err(self.error("EOF while parsing a value")),
            Some(b @ b'0'..=b'9') => i32::from(b - b'0'),
            Some(_) => return Err(self.error("invalid number")),
        };
        while let Some(digit) = self.digit() {
            self.at += 1;
            let digit = digit as i32;
            if exp >= i32::MAX / 10 && (exp > i32::MAX / 10 || digit > i32::MAX % 10) {
                // Error instead of an infinity; zero for a vanishing one.
                if significand != 0 && positive_exp {
                    return Err(self.error("number out of range"));
                }
                while self.digit().is_some() {
                    self.at += 1;
                }
                return Ok(if positive { 0.0 } else { -0.0 });
            }
            exp = exp * 10 + digit;
        }
        let exponent = if positive_exp {
            starting.saturating_add(exp)
        } else {
            starting.saturating_sub(exp)
        };
        self.scaled(positive, significand, exponent)
    }

    /// `significand × 10^exponent`, as serde_json computes it.
    fn scaled(
        &mut self,
        positive: bool,
        significand: u64,
        mut exponent: i32,
    ) -> Result<f64, Error> {
        #[allow(clippy::cast_precision_loss)]
        let mut f = significand as f64;
        loop {
            match power_of_ten(exponent.unsigned_abs()) {
                Some(pow) => {
                    if exponent >= 0 {
                        f *= pow;
                        if f.is_infinite() {
                            return Err(self.error("number out of range"));
                        }
                    } else {
                        f /= pow;
                    }
                    break;
                }
                None => {
                    if f == 0.0 {
                        break;
                    }
                    if exponent >= 0 {
                        return Err(self.error("number out of range"));
                    }
                    f /= 1e308;
                    exponent += 308;
                }
            }
        }
        Ok(if positive { f } else { -f })
    }
}

/// Whether `significand * 10 + digit` no longer fits a `u64`.
fn overflows(significand: u64, digit: u64) -> bool {
    significand >= u64::MAX / 10 && (significand > u64::MAX / 10 || digit > u64::MAX % 10)
}

/// `10^k` rounded to the nearest `f64` (ties to even), for `k` up to 308: the value of
/// the literal `1e<k>`, which is what serde_json's table holds. Computed, not
/// tabled: up to `10^22` every step is exact; beyond, `5^k` is worked out in full
/// (at most 717 bits) and rounded once, then scaled by `2^k`.
fn power_of_ten(k: u32) -> Option<f64> {
    if k > 308 {
        return None;
    }
    if k <= 22 {
        return Some((0..k).fold(1.0, |f, _| f * 10.0));
    }
    // 5^k as little-endian 32-bit limbs.
    let mut limbs: Vec<u32> = vec![1];
    for _ in 0..k {
        let mut carry = 0u64;
        for limb in &mut limbs {
            let product = u64::from(*limb) * 5 + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    // The top 64 bits, left-aligned, and whether any bit below them is set.
    let bits = (limbs.len() as u32) * 32 - limbs.last().map_or(32, |top| top.leading_zeros());
    let mut top = 0u64;
    let mut sticky = false;
    for (i, limb) in limbs.iter().enumerate() {
        let limb_bits_below = i as u32 * 32;
        for bit in 0..32 {
            let position = limb_bits_below + bit;
            if limb >> bit & 1 == 0 {
                continue;
            }
            if position + 64 >= bits {
                top |= 1 << (position + 64 - bits);
            } else {
                sticky = true;
            }
        }
    }
    // Round the 64 bits to 53: the 11 below decide, ties to even.
    let mut mantissa = top >> 11;
    let rest = top & 0x7ff;
    let half = 0x400;
    if rest > half || (rest == half && (sticky || mantissa & 1 == 1)) {
        mantissa += 1;
    }
    let mut exponent = u64::from(bits) - 53 + u64::from(k);
    if mantissa == 1 << 53 {
        mantissa >>= 1;
        exponent += 1;
    }
    // mantissa × 2^exponent (5^k × 2^k), mantissa in [2^52, 2^53): the biased exponent
    // and the 52 stored bits.
    Some(f64::from_bits(
        (exponent + 1075) << 52 | (mantissa & ((1 << 52) - 1)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_ten_are_the_literals() {
        for k in 0..=308u32 {
            let literal: f64 = format!("1e{k}").parse().unwrap();
            assert_eq!(power_of_ten(k), Some(literal), "10^{k}");
        }
        assert_eq!(power_of_ten(309), None);
    }

    /// Our parser and serde_json's give the same tree, or the same error text.
    fn same(text: &str) {
        let ours = parse(text).map_err(|e| e.to_string());
        let theirs = serde_json::from_str::<Json>(text).map_err(|e| e.to_string());
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert!(
                a == b || format!("{a:?}") == format!("{b:?}"),
                "{text:?}: {a:?} vs {b:?}"
            ),
            _ => assert_eq!(ours, theirs, "{text:?}"),
        }
    }

    #[test]
    fn reads_and_fails_as_serde_json_does() {
        let texts = [
            "",
            " ",
            "null",
            "nul",
            "nulL",
            "true",
            "tru",
            "false",
            "fals x",
            "0",
            "-0",
            "-",
            "01",
            "1.",
            "1.x",
            "1e",
            "1e+",
            "1e-x",
            "1.5e3",
            "-1.5E-3",
            "12345678901234567890",
            "123456789012345678901234567890",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "0.1",
            "1e308",
            "1e309",
            "-1e309",
            "1e-400",
            "0e99999999999",
            "1e99999999999",
            "1e-99999999999",
            "2.2250738585072014e-308",
            "4.9e-324",
            "1.7976931348623157e308",
            "0.30000000000000004",
            "123.456e-789",
            "1234567890123456789012.5e-3",
            "12345678901234567890123456789.123456789e10",
            "\"\"",
            "\"abc\"",
            "\"a\\\"b\"",
            "\"\\u00e9\\ud83d\\ude00\"",
            "\"\\ud83d\"",
            "\"\\ud83dx\"",
            "\"\\ud83d\\x\"",
            "\"\\ud83d\\u0041\"",
            "\"\\ude00\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"\\q\"",
            "\"tab\there\"",
            "\"nl\nhere\"",
            "\"open",
            "\"\\",
            "\"é😀\"",
            "[]",
            "[1,2]",
            "[1,]",
            "[1 2]",
            "[",
            "[1",
            "[1,",
            "{}",
            "{\"a\":1}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{a:1}",
            "{\"a\":1 \"b\":2}",
            "{\"a\":1,",
            "{",
            "{\"a\"",
            "{\"a\":1,2}",
            "[1] x",
            "{} {}",
            " [ 1 , { \"k\" : [ true , null ] } ] ",
            "\n\n  [1,\n  x]",
            "[\n1,\n2\n,]",
            "{\"a\":\n\"b\nc\"}",
            "[-]",
            "[--1]",
            "[+1]",
            "[.5]",
            "[1.5.2]",
            "[1e5e5]",
            "{\"a\":1,\"a\":2}",
            "\u{feff}1",
            "[\"\\u0000\"]",
            "\"\\/\"",
        ];
        for text in texts {
            same(text);
        }
        for depth in [126, 127, 128, 200] {
            same(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
            same(&format!("{}1", "{\"a\":".repeat(depth)));
        }
    }
}
