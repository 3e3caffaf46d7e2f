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
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    // ISO with a space separator and an offset.
    if let Ok(time) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
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

    #[test]
    fn formats_utc() {
        let time = Utc.with_ymd_and_hms(2024, 1, 2, 11, 33, 24).unwrap();
        assert_eq!(format_rfc3339(time), "2024-01-02T11:33:24Z");
    }
}
