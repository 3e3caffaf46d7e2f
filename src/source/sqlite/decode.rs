//! Decoding of stored values, one field at a time: a value that cannot be read leaves the
//! field at its default and becomes a [`FieldProblem`] with the raw value, so one bad row
//! never fails a page.

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;

use super::layout::{PayloadEncoding, TimeFormat};
use crate::core::event::{FieldProblem, Payload, PayloadFormat};
use crate::core::metadata::json_path;
use crate::core::time::{from_unix_guess, parse_timestamp};

/// The raw value as text, for a problem report (hex for bytes that are not UTF-8).
pub(super) fn raw_text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(r) => Some(r.to_string()),
        ValueRef::Text(t) => Some(lossy_text(t).into_owned()),
        ValueRef::Blob(b) => Some(match std::str::from_utf8(b) {
            Ok(text) => text.to_owned(),
            Err(_) => b.iter().map(|byte| format!("{byte:02x}")).collect(),
        }),
    }
}

/// A problem with a field.
pub(super) fn problem(field: &str, what: &str, value: ValueRef<'_>) -> FieldProblem {
    FieldProblem {
        field: field.to_owned(),
        problem: what.to_owned(),
        raw: raw_text(value),
    }
}

/// A non-negative integer (positions, versions), or what is wrong with the value.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(super) fn unsigned(value: ValueRef<'_>) -> Result<u64, &'static str> {
    match value {
        ValueRef::Integer(i) => u64::try_from(i).map_err(|_| "out of range"),
        ValueRef::Real(r) if r.fract() == 0.0 && (0.0..1.8e19).contains(&r) => Ok(r as u64),
        ValueRef::Real(_) => Err("out of range"),
        ValueRef::Text(t) => match lossy_text(t).trim().parse::<i128>() {
            Ok(n) => u64::try_from(n).map_err(|_| "out of range"),
            Err(_) => Err("text, not a number"),
        },
        ValueRef::Blob(_) => Err("bytes, not a number"),
        ValueRef::Null => Err("NULL"),
    }
}

/// [`unsigned`], recording a problem and giving 0 when the value cannot be read.
pub(super) fn unsigned_or_problem(
    value: ValueRef<'_>,
    field: &str,
    problems: &mut Vec<FieldProblem>,
) -> u64 {
    unsigned(value).unwrap_or_else(|what| {
        problems.push(problem(field, what, value));
        0
    })
}

/// An aggregate (`MAX`, `COUNT`) read leniently: 0 for NULL or anything not a number.
pub(super) fn lenient_unsigned(value: ValueRef<'_>) -> u64 {
    unsigned(value).unwrap_or(0)
}

/// A schema version from a column: NULL is "none"; anything else must be a small number.
pub(super) fn schema_version_of(value: ValueRef<'_>) -> Result<Option<u32>, &'static str> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => {
            let text = lossy_text(t);
            let digits = text.trim().trim_start_matches(['v', 'V']);
            match digits.parse::<i128>() {
                Ok(n) => u32::try_from(n).map(Some).map_err(|_| "out of range"),
                Err(_) => Err("text, not a number"),
            }
        }
        other => {
            unsigned(other).and_then(|n| u32::try_from(n).map(Some).map_err(|_| "out of range"))
        }
    }
}

/// A time column: `Ok(None)` for NULL, an error when the value is not a time.
pub(super) fn time_column(
    value: ValueRef<'_>,
    format: TimeFormat,
) -> Result<Option<DateTime<Utc>>, &'static str> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(_) => Err("bytes, not a time"),
        other => time_of(other, format).map(Some).ok_or("not a time"),
    }
}

pub(super) fn text_of(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(lossy_text(t).into_owned()),
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(r) => Some(r.to_string()),
    }
}

/// Text as UTF-8, checked first as a whole (the common case, cheaper than the lossy
/// conversion's chunk walk), replacing invalid bytes otherwise.
pub(super) fn lossy_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Collects the events of a page, with room for a usual page from the start (no
/// reallocation and copying of a growing page).
pub(super) fn collect_page<T>(
    rows: impl Iterator<Item = rusqlite::Result<T>>,
    limit: i64,
) -> rusqlite::Result<Vec<T>> {
    let mut page = Vec::with_capacity(usize::try_from(limit.min(1024)).unwrap_or(0));
    for row in rows {
        page.push(row?);
    }
    Ok(page)
}

pub(super) fn bytes_of(value: ValueRef<'_>) -> Option<&[u8]> {
    match value {
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(t),
        _ => None,
    }
}

#[allow(clippy::cast_precision_loss)] // Timestamps fit comfortably in f64.
pub(super) fn time_of(value: ValueRef<'_>, format: TimeFormat) -> Option<DateTime<Utc>> {
    let number = match value {
        ValueRef::Integer(i) => i as f64,
        ValueRef::Real(r) => r,
        ValueRef::Text(t) => return parse_timestamp(&lossy_text(t)),
        ValueRef::Null | ValueRef::Blob(_) => return None,
    };
    match format {
        TimeFormat::Auto => from_unix_guess(number),
        #[allow(clippy::cast_possible_truncation)]
        TimeFormat::UnixSeconds => DateTime::from_timestamp_micros((number * 1e6) as i64),
        #[allow(clippy::cast_possible_truncation)]
        TimeFormat::UnixMillis => DateTime::from_timestamp_micros((number * 1e3) as i64),
    }
}

/// Unwraps a typed `{_type_, _data_}` value.
pub(super) fn untyped(value: &serde_json::Value) -> &serde_json::Value {
    value
        .get("_data_")
        .filter(|_| value.get("_type_").is_some())
        .unwrap_or(value)
}

pub(super) fn time_at(json: &serde_json::Value, path: &str) -> Option<DateTime<Utc>> {
    match untyped(json_path(json, path)?) {
        serde_json::Value::String(s) => parse_timestamp(s),
        serde_json::Value::Number(n) => n.as_f64().and_then(from_unix_guess),
        _ => None,
    }
}

/// The time at a path of a payload or metadata document; a value there that is not a
/// time is a problem of `recorded_at` (no value at all is just no time).
pub(super) fn time_in_document(
    json: Option<&serde_json::Value>,
    path: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<DateTime<Utc>> {
    let json = json?;
    let found = time_at(json, path);
    if found.is_none()
        && let Some(value) = json_path(json, path).filter(|v| !v.is_null())
    {
        problems.push(FieldProblem::new(
            "recorded_at",
            "not a time",
            Some(value.to_string()),
        ));
    }
    found
}

pub(super) fn version_at_path(json: &serde_json::Value, path: &str) -> Option<u32> {
    match untyped(json_path(json, path)?) {
        serde_json::Value::Number(n) => n.as_u64().and_then(|v| u32::try_from(v).ok()),
        serde_json::Value::String(s) => s.trim().trim_start_matches(['v', 'V']).parse().ok(),
        _ => None,
    }
}

/// A stored payload, kept as stored and parsed (typed values decoded) on first access.
pub(super) fn stored_payload(bytes: Option<&[u8]>, encoding: PayloadEncoding) -> Payload {
    let Some(bytes) = bytes else {
        return Payload::empty();
    };
    let format = match encoding {
        PayloadEncoding::Json => PayloadFormat::Json,
        PayloadEncoding::Eventsourcing => PayloadFormat::EventsourcingJson,
        PayloadEncoding::Bytes => PayloadFormat::Bytes,
    };
    Payload::stored(bytes, format)
}

/// A column value kept to be bound back into a query unchanged: text that is not UTF-8
/// too (a stream id written as raw bytes), which rusqlite's owned `Value` refuses to hold.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum StoredValue {
    /// Text as stored, whatever its bytes.
    Text(Vec<u8>),
    /// Anything else.
    Other(rusqlite::types::Value),
}

impl StoredValue {
    pub(super) fn of(value: ValueRef<'_>) -> Self {
        match value {
            ValueRef::Text(text) => Self::Text(text.to_vec()),
            ValueRef::Null => Self::Other(rusqlite::types::Value::Null),
            ValueRef::Integer(i) => Self::Other(rusqlite::types::Value::Integer(i)),
            ValueRef::Real(r) => Self::Other(rusqlite::types::Value::Real(r)),
            ValueRef::Blob(blob) => Self::Other(rusqlite::types::Value::Blob(blob.to_vec())),
        }
    }

    /// As an owned `Value`: text that is not UTF-8 as a blob of its bytes (for values
    /// that are only compared with one another, never bound back).
    pub(super) fn into_value(self) -> rusqlite::types::Value {
        match self {
            Self::Text(bytes) => match String::from_utf8(bytes) {
                Ok(text) => rusqlite::types::Value::Text(text),
                Err(e) => rusqlite::types::Value::Blob(e.into_bytes()),
            },
            Self::Other(value) => value,
        }
    }
}

impl rusqlite::ToSql for StoredValue {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match self {
            Self::Text(bytes) => ValueRef::Text(bytes),
            Self::Other(value) => value.into(),
        }))
    }
}
