//! Time without a clock: [`Timestamp`] is milliseconds since the Unix epoch, passed in
//! by the adapter (`Date.now()` in the service worker, a counter in tests).
//!
//! `std::time::Instant` is deliberately absent: it panics on `wasm32-unknown-unknown`.
//! Spans are plain [`Duration`]s. The wire's times are RFC 3339 strings in UTC; this
//! module parses and formats them without a date library.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A point in time: milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The epoch itself.
    pub const ZERO: Timestamp = Timestamp(0);

    /// A timestamp from milliseconds since the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// A timestamp from whole seconds since the epoch (JWT `exp` and `iat`).
    pub const fn from_secs(s: u64) -> Self {
        Timestamp(s.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The span from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Formats as RFC 3339 in UTC with millisecond precision, e.g. `2026-03-01T12:00:00.250Z`.
    /// Whole seconds are written without a fraction (`2026-03-01T12:00:00Z`).
    pub fn to_rfc3339(self) -> String {
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days as i64);
        let (hh, mm, ss) = (rem / 3600, (rem % 3600) / 60, rem % 60);
        if ms == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
        }
    }

    /// Formats as an HTTP date (IMF-fixdate), e.g. `Thu, 26 Nov 2026 06:00:00 GMT`.
    pub fn to_http_date(self) -> String {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let secs = self.0 / 1000;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days as i64);
        format!(
            "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
            DAYS[(days % 7) as usize],
            MONTHS[(m - 1) as usize],
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }

    /// Parses an RFC 3339 date-time (`2026-03-01T12:00:00Z`, `…T12:00:00.123456+02:00`,
    /// lower-case `t`/`z` and a space separator accepted). Fractions beyond milliseconds
    /// are truncated. Times before the epoch are rejected.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, TimeParseError> {
        parse_rfc3339(text)
    }

    /// Minute of the day (0..1440) in a zone `utc_offset_minutes` east of UTC.
    pub fn local_minute_of_day(self, utc_offset_minutes: i32) -> u32 {
        let minutes = (self.0 / 60_000) as i64 + i64::from(utc_offset_minutes);
        minutes.rem_euclid(1440) as u32
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Duration) -> Timestamp {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }
}

impl crate::json::FromJson for Timestamp {
    fn from_json(json: crate::json::Json) -> Result<Self, serde_json::Error> {
        u64::from_json(json).map(Timestamp::from_millis)
    }
}

impl crate::json::ToJson for Timestamp {
    fn write_json(&self, out: &mut String) {
        self.0.write_json(out);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Why a string is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 date-time ({reason}): \"{text}\"")]
pub struct TimeParseError {
    /// The text that failed to parse (cut to 64 characters).
    pub text: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

fn parse_rfc3339(text: &str) -> Result<Timestamp, TimeParseError> {
    let err = |reason: &'static str| TimeParseError {
        text: text.chars().take(64).collect(),
        reason,
    };
    let b = text.as_bytes();
    if b.len() < 20 {
        return Err(err("too short"));
    }
    let num = |from: usize, len: usize| -> Result<u64, TimeParseError> {
        let part = b.get(from..from + len).ok_or_else(|| err("too short"))?;
        let mut v = 0u64;
        for &c in part {
            if !c.is_ascii_digit() {
                return Err(err("digit expected"));
            }
            v = v * 10 + u64::from(c - b'0');
        }
        Ok(v)
    };
    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    let hour = num(11, 2)?;
    let minute = num(14, 2)?;
    let second = num(17, 2)?;
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err(err("separator expected"));
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(err("'T' expected"));
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(err("no such date"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(err("no such time"));
    }
    let mut i = 19;
    let mut millis = 0u64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 3 {
                millis = millis * 10 + u64::from(c - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return Err(err("fraction digits expected"));
        }
        for _ in digits..3 {
            millis *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1, 2)?;
            let om = num(i + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err(err("bad offset"));
            }
            let s = (oh * 3600 + om * 60) as i64;
            if sign == b'+' { s } else { -s }
        }
        _ => return Err(err("zone 'Z' or ±hh:mm expected")),
    };
    let days = days_from_civil(year as i64, month as u32, day as u32);
    let secs = days * 86_400 + (hour * 3600 + minute * 60 + second.min(59)) as i64 - offset_secs;
    if secs < 0 {
        return Err(err("before 1970"));
    }
    Ok(Timestamp(secs as u64 * 1000 + millis))
}

/// Parses an HTTP date (RFC 9110 IMF-fixdate, what every server's `Date` and
/// `Retry-After` headers use): `Sun, 06 Nov 1994 08:49:37 GMT`. `None` for anything
/// else (the obsolete RFC 850 and asctime forms included: servers must not send them).
pub fn parse_http_date(text: &str) -> Option<Timestamp> {
    let mut parts = text.split_ascii_whitespace();
    let (_weekday, day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || zone != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let day: u64 = day.parse().ok()?;
    let year: u64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || year < 1970 || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year as i64, month as u32, day as u32);
    let secs = days * 86_400 + (h * 3600 + m * 60 + s.min(59)) as i64;
    Some(Timestamp(secs as u64 * 1000))
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since the epoch (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_round_trip_and_junk_is_refused() {
        let t = Timestamp::parse_rfc3339("1994-11-06T08:49:37Z").unwrap();
        assert_eq!(t.to_http_date(), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        let u = Timestamp::parse_rfc3339("2026-11-26T06:00:00Z").unwrap();
        assert_eq!(parse_http_date(&u.to_http_date()), Some(u));
        for junk in [
            "",
            "120",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
        ] {
            assert_eq!(parse_http_date(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn rfc3339_round_trips_whole_and_fractional_seconds() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2026-11-26T06:30:00Z",
            "2000-02-29T23:59:59.999Z",
            "2100-12-31T00:00:00.001Z",
        ] {
            let t = Timestamp::parse_rfc3339(text).unwrap();
            assert_eq!(t.to_rfc3339(), text);
        }
    }

    #[test]
    fn rfc3339_accepts_offsets_microseconds_and_django_style() {
        let a = Timestamp::parse_rfc3339("2026-03-01T12:00:00Z").unwrap();
        assert_eq!(
            Timestamp::parse_rfc3339("2026-03-01T14:00:00+02:00").unwrap(),
            a
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2026-03-01T07:30:00-04:30").unwrap(),
            a
        );
        let micro = Timestamp::parse_rfc3339("2026-03-01T12:00:00.123456Z").unwrap();
        assert_eq!(micro.as_millis() - a.as_millis(), 123);
        assert_eq!(Timestamp::parse_rfc3339("2026-03-01 12:00:00z").unwrap(), a);
    }

    #[test]
    fn rfc3339_rejects_garbage_without_panicking() {
        for text in [
            "",
            "yesterday",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+0200",
            "1969-12-31T23:59:59Z",
            "２０２６-01-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(text).is_err(), "{text}");
        }
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp(1000);
        assert_eq!(t - Duration::from_secs(5), Timestamp::ZERO);
        assert_eq!(t.saturating_since(Timestamp(5000)), Duration::ZERO);
        assert_eq!(t + Duration::from_millis(250), Timestamp(1250));
    }

    #[test]
    fn local_minute_of_day_applies_the_offset() {
        let t = Timestamp::parse_rfc3339("2026-03-01T23:30:00Z").unwrap();
        assert_eq!(t.local_minute_of_day(0), 23 * 60 + 30);
        assert_eq!(t.local_minute_of_day(60), 30);
        assert_eq!(t.local_minute_of_day(-24 * 60), 23 * 60 + 30);
    }
}
