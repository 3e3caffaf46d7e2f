//! Timestamps in every accepted form: RFC 3339 / ISO 8601 with offsets, SQLite's
//! `YYYY-MM-DD HH:MM:SS[.f]`, bare dates (the fast path and the general parsers), numbers
//! as Unix seconds / milliseconds / microseconds. A parsed time formats and parses back to
//! itself.
#![no_main]

use eventscope::core::time::{format_rfc3339, from_unix_guess, parse_timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 8 {
        let number = f64::from_le_bytes(data[..8].try_into().expect("8 bytes"));
        if let Some(time) = from_unix_guess(number) {
            let _ = format_rfc3339(time);
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(time) = parse_timestamp(text) {
        let shown = format_rfc3339(time);
        assert_eq!(
            parse_timestamp(&shown),
            Some(time),
            "{text:?} → {shown:?} does not read back"
        );
    }
    if let Ok(number) = text.trim().parse::<f64>() {
        let _ = from_unix_guess(number);
    }
});
