//! Timestamp parsing and formatting for the formats event stores use.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone as _, Utc};

/// Formats a time as RFC 3339 UTC with milliseconds when they are non-zero.
#[must_use]
pub fn format_rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Serde helper for `Option<DateTime<Utc>>` as RFC 3339 text.
///
/// # Errors
/// Only the serializer's own errors.
pub fn serialize_opt<S: serde::Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.serialize_str(&format_rfc3339(*time)),
        None => serializer.serialize_none(),
    }
}

/// Parses the timestamp formats found in event stores: RFC 3339 / ISO 8601 with offset,
/// SQLite's `YYYY-MM-DD HH:MM:SS[.fff]` (taken as UTC), and a bare date.
#[must_use]
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    parse_utc_fast(text).or_else(|| parse_general(text))
}

/// The general parsers, one format after another.
fn parse_general(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    // ISO with a space separator and an offset.
    if let Ok(time) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(time.with_timezone(&Utc));
    }
    // Also what `format_rfc3339` writes for years before 0 or after 9999 (`-0014-…Z`,
    // `+10000-…Z`), which RFC 3339 itself cannot hold.
    let naive_text = text.strip_suffix('Z').unwrap_or(text);
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(naive_text, format) {
            return Some(Utc.from_utc_datetime(&naive));
        }
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date
            .and_hms_opt(0, 0, 0)
            .map(|naive| Utc.from_utc_datetime(&naive));
    }
    None
}

/// The common stored forms `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}]` in UTC (`Z`, `+00:00`,
/// `+00`) or naive (taken as UTC, as the general parser does), read without the general
/// parser (it is read for every event of a page; chrono's format strings cost more than
/// the rest of a row); `None` for anything else, including leap seconds and other
/// offsets, which the general parser then reads.
fn parse_utc_fast(text: &str) -> Option<DateTime<Utc>> {
    let all = text.as_bytes();
    let bytes = all
        .strip_suffix(b"Z")
        .or_else(|| all.strip_suffix(b"+00:00"))
        .or_else(|| all.strip_suffix(b"+00"))
        .unwrap_or(all);
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let second = number(&bytes[17..19])?;
    if second > 59 {
        return None;
    }
    let nanos = match &bytes[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            number(fraction)? * 10u32.pow(9 - u32::try_from(fraction.len()).ok()?)
        }
        _ => return None,
    };
    let year = i32::try_from(number(&bytes[0..4])?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, number(&bytes[5..7])?, number(&bytes[8..10])?)?
        .and_hms_nano_opt(
            number(&bytes[11..13])?,
            number(&bytes[14..16])?,
            second,
            nanos,
        )
        .map(|naive| naive.and_utc())
}

/// Converts a number to a time, guessing the unit by magnitude (seconds, milliseconds,
/// microseconds since the Unix epoch).
#[must_use]
pub fn from_unix_guess(value: f64) -> Option<DateTime<Utc>> {
    let abs = value.abs();
    #[allow(clippy::cast_possible_truncation)] // Range-checked by the magnitude test.
    let micros = if abs < 1e11 {
        (value * 1e6) as i64
    } else if abs < 1e14 {
        (value * 1e3) as i64
    } else {
        value as i64
    };
    DateTime::from_timestamp_micros(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `timestamp` fuzz target: a time read from a year before 0 was written
    /// as `-0014-01-15T11:10:02Z`, which did not read back.
    #[test]
    fn every_written_time_reads_back() {
        for text in [
            "-014-01-15T11:10:2",
            "-0001-01-01 00:00:00",
            "+10000-01-01T00:00:00Z",
        ] {
            let time = parse_timestamp(text).unwrap_or_else(|| panic!("{text}"));
            let shown = format_rfc3339(time);
            assert_eq!(parse_timestamp(&shown), Some(time), "{text} → {shown}");
        }
        let far = Utc.with_ymd_and_hms(12_345, 6, 7, 8, 9, 10).unwrap();
        assert_eq!(parse_timestamp(&format_rfc3339(far)), Some(far));
    }

    #[test]
    fn parses_store_formats() {
        let expected = Utc.with_ymd_and_hms(2024, 1, 2, 11, 33, 24).unwrap();
        assert_eq!(parse_timestamp("2024-01-02T11:33:24Z"), Some(expected));
        assert_eq!(parse_timestamp("2024-01-02 11:33:24"), Some(expected));
        assert_eq!(parse_timestamp("2024-01-02T11:33:24+00:00"), Some(expected));
        assert_eq!(parse_timestamp("2024-01-02T12:33:24+01:00"), Some(expected));
        assert_eq!(
            parse_timestamp("2024-01-15T11:10:25.126492+00:00")
                .map(|t| t.timestamp_subsec_micros()),
            Some(126_492)
        );
        assert_eq!(parse_timestamp("not a time"), None);
        assert_eq!(from_unix_guess(expected.timestamp() as f64), Some(expected));
        assert_eq!(
            from_unix_guess(expected.timestamp_millis() as f64),
            Some(expected)
        );
    }

    /// The fast path reads what the general RFC 3339 parser reads, and leaves the rest.
    #[test]
    fn fast_path_agrees_with_rfc3339() {
        for text in [
            "2024-01-09T19:55:02.090Z",
            "2024-01-09T19:55:02Z",
            "2024-01-09T19:55:02.1Z",
            "2024-01-09T19:55:02.123456789Z",
            "2024-01-09T19:55:02.1234567891Z",
            "2024-02-29T23:59:59.999Z",
            "2023-02-29T10:00:00Z",
            "2024-13-01T10:00:00Z",
            "2024-01-09T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2024-01-09T19:55:02.Z",
            "2024-01-09T19:55:0xZ",
            "2024-01-09t19:55:02Z",
            "0001-01-01T00:00:00Z",
        ] {
            let general = DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc));
            if let Some(fast) = parse_utc_fast(text) {
                assert_eq!(Some(fast), general, "{text}");
            }
            assert_eq!(parse_timestamp(text), general, "{text}");
        }
        assert!(parse_utc_fast("2024-01-09T19:55:02.090Z").is_some());
    }

    /// SQLite's and PostgreSQL's text forms: the fast path reads what the general parsers
    /// read (naive times as UTC), and `+00` (PostgreSQL's text output), which they do not.
    #[test]
    fn fast_path_agrees_with_the_general_parsers() {
        for text in [
            "2024-01-09 19:55:02",
            "2024-01-09 19:55:02.5",
            "2024-01-09 19:55:02.123456",
            "2024-01-09T19:55:02.123",
            "2024-01-09 19:55:02+00:00",
            "2024-01-09 19:55:02.25Z",
            "2024-01-09 24:00:00",
            "2024-02-30 10:00:00",
            "2024-01-09 19:55",
            "2024-01-09 19:55:02+01:00",
            "2024-01-09 19:55:02.1234567891",
        ] {
            let general = parse_general(text);
            if let Some(fast) = parse_utc_fast(text) {
                assert_eq!(Some(fast), general, "{text}");
            }
            assert_eq!(parse_timestamp(text), general, "{text}");
        }
        assert!(parse_utc_fast("2024-01-09 19:55:02").is_some());
        assert_eq!(
            parse_timestamp("2024-01-09 19:55:02.659+00"),
            parse_timestamp("2024-01-09T19:55:02.659Z")
        );
        // Another offset goes to the general parser, which applies it.
        assert_eq!(parse_utc_fast("2024-01-09 19:55:02+01:00"), None);
        assert_eq!(
            parse_timestamp("2024-01-09 20:55:02+01:00"),
            parse_timestamp("2024-01-09T19:55:02Z")
        );
    }

    #[test]
    fn formats_utc() {
        let time = Utc.with_ymd_and_hms(2024, 1, 2, 11, 33, 24).unwrap();
        assert_eq!(format_rfc3339(time), "2024-01-02T11:33:24Z");
    }
}
