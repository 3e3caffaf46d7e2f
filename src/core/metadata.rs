//! Correlation and causation ids from event metadata.
//!
//! Looks under the usual keys (`correlation_id`, `correlationId`, `$correlationId`, and the
//! causation equivalents), at the top level and inside nested `metadata` / `headers`
//! objects. A store can override this with explicit JSON paths (see [`IdPaths`]).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::core::event::Payload;

/// Keys that hold a correlation id, in order of preference.
pub const CORRELATION_KEYS: [&str; 4] = [
    "correlation_id",
    "correlationId",
    "$correlationId",
    "CorrelationId",
];
/// Keys that hold a causation id, in order of preference.
pub const CAUSATION_KEYS: [&str; 4] =
    ["causation_id", "causationId", "$causationId", "CausationId"];
const NESTED_OBJECTS: [&str; 2] = ["metadata", "headers"];

/// Explicit JSON paths for correlation and causation ids (from a mapping file); `None`
/// means "detect under the usual keys".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdPaths {
    /// Path of the correlation id, e.g. `$.trace.correlation`.
    pub correlation: Option<String>,
    /// Path of the causation id.
    pub causation: Option<String>,
}

impl IdPaths {
    /// Extracts `(correlation_id, causation_id)` from metadata.
    #[must_use]
    pub fn extract(&self, metadata: &Value) -> (Option<String>, Option<String>) {
        let correlation = match &self.correlation {
            Some(path) => json_path(metadata, path).and_then(id_text),
            None => find_key(metadata, &CORRELATION_KEYS),
        };
        let causation = match &self.causation {
            Some(path) => json_path(metadata, path).and_then(id_text),
            None => find_key(metadata, &CAUSATION_KEYS),
        };
        (correlation, causation)
    }
}

impl IdPaths {
    /// Extracts `(correlation_id, causation_id)` from a metadata payload. With the usual
    /// keys (no explicit paths) and metadata not parsed yet, reads just those keys from the
    /// stored text with a borrowing scan (no JSON value is built); otherwise, and whenever
    /// the scan cannot answer (not an object, duplicate keys, a nested `metadata` that is
    /// not an object …), extracts from the parsed value as [`IdPaths::extract`] does.
    #[must_use]
    pub fn extract_from_payload(&self, metadata: &Payload) -> (Option<String>, Option<String>) {
        if self.correlation.is_none()
            && self.causation.is_none()
            && !metadata.is_parsed()
            && let Some(bytes) = metadata.plain_json_bytes()
            && let Ok(scan) = serde_json::from_slice::<IdScan<'_>>(bytes)
        {
            return scan.ids();
        }
        metadata.as_json().map_or((None, None), |m| self.extract(m))
    }
}

/// The usual id keys of a metadata object, borrowed from its text where possible. One
/// field per key (not serde aliases), so the order of preference of [`find_key`] holds
/// and metadata carrying several of them is read, not rejected.
#[derive(Deserialize)]
struct IdScan<'a> {
    #[serde(borrow, rename = "correlation_id")]
    correlation_snake: Option<IdValue<'a>>,
    #[serde(borrow, rename = "correlationId")]
    correlation_camel: Option<IdValue<'a>>,
    #[serde(borrow, rename = "$correlationId")]
    correlation_dollar: Option<IdValue<'a>>,
    #[serde(borrow, rename = "CorrelationId")]
    correlation_pascal: Option<IdValue<'a>>,
    #[serde(borrow, rename = "causation_id")]
    causation_snake: Option<IdValue<'a>>,
    #[serde(borrow, rename = "causationId")]
    causation_camel: Option<IdValue<'a>>,
    #[serde(borrow, rename = "$causationId")]
    causation_dollar: Option<IdValue<'a>>,
    #[serde(borrow, rename = "CausationId")]
    causation_pascal: Option<IdValue<'a>>,
    #[serde(borrow)]
    metadata: Option<NestedIds<'a>>,
    #[serde(borrow)]
    headers: Option<NestedIds<'a>>,
}

/// The id keys of a nested `metadata` / `headers` object.
#[derive(Deserialize)]
struct NestedIds<'a> {
    #[serde(borrow, rename = "correlation_id")]
    correlation_snake: Option<IdValue<'a>>,
    #[serde(borrow, rename = "correlationId")]
    correlation_camel: Option<IdValue<'a>>,
    #[serde(borrow, rename = "$correlationId")]
    correlation_dollar: Option<IdValue<'a>>,
    #[serde(borrow, rename = "CorrelationId")]
    correlation_pascal: Option<IdValue<'a>>,
    #[serde(borrow, rename = "causation_id")]
    causation_snake: Option<IdValue<'a>>,
    #[serde(borrow, rename = "causationId")]
    causation_camel: Option<IdValue<'a>>,
    #[serde(borrow, rename = "$causationId")]
    causation_dollar: Option<IdValue<'a>>,
    #[serde(borrow, rename = "CausationId")]
    causation_pascal: Option<IdValue<'a>>,
}

type IdCandidates<'a> = [Option<IdValue<'a>>; 4];

impl<'a> IdScan<'a> {
    /// Top-level keys first, then inside `metadata`, then inside `headers`, each in the
    /// order of [`CORRELATION_KEYS`] / [`CAUSATION_KEYS`], as [`find_key`] looks.
    fn ids(self) -> (Option<String>, Option<String>) {
        let correlation = [
            self.correlation_snake,
            self.correlation_camel,
            self.correlation_dollar,
            self.correlation_pascal,
        ];
        let causation = [
            self.causation_snake,
            self.causation_camel,
            self.causation_dollar,
            self.causation_pascal,
        ];
        let (metadata_correlation, metadata_causation) =
            self.metadata.map(NestedIds::split).unwrap_or_default();
        let (headers_correlation, headers_causation) =
            self.headers.map(NestedIds::split).unwrap_or_default();
        let first = |a: IdCandidates<'a>, b: IdCandidates<'a>, c: IdCandidates<'a>| {
            a.into_iter()
                .chain(b)
                .chain(c)
                .flatten()
                .find_map(IdValue::into_id)
        };
        (
            first(correlation, metadata_correlation, headers_correlation),
            first(causation, metadata_causation, headers_causation),
        )
    }
}

impl<'a> NestedIds<'a> {
    fn split(self) -> (IdCandidates<'a>, IdCandidates<'a>) {
        (
            [
                self.correlation_snake,
                self.correlation_camel,
                self.correlation_dollar,
                self.correlation_pascal,
            ],
            [
                self.causation_snake,
                self.causation_camel,
                self.causation_dollar,
                self.causation_pascal,
            ],
        )
    }
}

/// An id value as [`id_text`] reads it: text, a number, or anything else (ignored).
enum IdValue<'a> {
    Text(Cow<'a, str>),
    Number(String),
    Other,
}

impl IdValue<'_> {
    fn into_id(self) -> Option<String> {
        match self {
            Self::Text(text) if !text.is_empty() => Some(text.into_owned()),
            Self::Number(number) => Some(number),
            Self::Text(_) | Self::Other => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for IdValue<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IdValueVisitor(std::marker::PhantomData))
    }
}

struct IdValueVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for IdValueVisitor<'a> {
    type Value = IdValue<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(IdValue::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(IdValue::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(IdValue::Text(Cow::Owned(v)))
    }

    // Numbers as `serde_json::Number` prints them, as the value path does.
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(IdValue::Number(serde_json::Number::from(v).to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(IdValue::Number(serde_json::Number::from(v).to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v)
            .map_or(IdValue::Other, |n| IdValue::Number(n.to_string())))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(IdValue::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(IdValue::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(IdValue::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(IdValue::Other)
    }
}

fn find_key(metadata: &Value, keys: &[&str]) -> Option<String> {
    let Value::Object(map) = metadata else {
        return None;
    };
    for key in keys {
        if let Some(found) = map.get(*key).and_then(id_text) {
            return Some(found);
        }
    }
    for nested in NESTED_OBJECTS {
        if let Some(Value::Object(inner)) = map.get(nested) {
            for key in keys {
                if let Some(found) = inner.get(*key).and_then(id_text) {
                    return Some(found);
                }
            }
        }
    }
    None
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Resolves a simple JSON path: `$.a.b[0].c` (also without the leading `$.`). Keys containing
/// dots can be quoted: `$."a.b"`.
#[must_use]
pub fn json_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    for segment in path_segments(path)? {
        current = match segment {
            PathSegment::Key(key) => current.as_object()?.get(&key)?,
            PathSegment::Index(index) => current.as_array()?.get(index)?,
        };
    }
    Some(current)
}

/// One step of a JSON path.
#[derive(Debug, PartialEq, Eq)]
pub enum PathSegment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Splits `$.a."b.c"[2]` into segments; `None` when malformed.
#[must_use]
pub fn path_segments(path: &str) -> Option<Vec<PathSegment>> {
    let path = path.trim();
    let rest = path.strip_prefix('$').unwrap_or(path);
    let mut segments = Vec::new();
    let mut chars = rest.chars().peekable();
    let mut first = true;
    while let Some(&c) = chars.peek() {
        match c {
            '.' => {
                chars.next();
                segments.push(PathSegment::Key(read_key(&mut chars)?));
            }
            '[' => {
                chars.next();
                let mut digits = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    digits.push(d);
                }
                segments.push(PathSegment::Index(digits.trim().parse().ok()?));
            }
            _ if first => segments.push(PathSegment::Key(read_key(&mut chars)?)),
            _ => return None,
        }
        first = false;
    }
    Some(segments)
}

fn read_key(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let mut key = String::new();
    if chars.peek() == Some(&'"') {
        chars.next();
        for c in chars.by_ref() {
            if c == '"' {
                return Some(key);
            }
            key.push(c);
        }
        return None;
    }
    while let Some(&c) = chars.peek() {
        if c == '.' || c == '[' {
            break;
        }
        key.push(c);
        chars.next();
    }
    if key.is_empty() { None } else { Some(key) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_usual_keys_and_nested() {
        let paths = IdPaths::default();
        assert_eq!(
            paths.extract(&json!({"correlationId": "c1", "causationId": "e0"})),
            (Some("c1".to_owned()), Some("e0".to_owned()))
        );
        assert_eq!(
            paths.extract(&json!({"$correlationId": "c2", "$causationId": "e1"})),
            (Some("c2".to_owned()), Some("e1".to_owned()))
        );
        assert_eq!(
            paths.extract(&json!({"headers": {"correlation_id": "c3"}})),
            (Some("c3".to_owned()), None)
        );
        assert_eq!(paths.extract(&json!("text")), (None, None));
    }

    /// The borrowing scan of stored metadata text agrees with the value path.
    #[test]
    fn scan_of_stored_text_matches_value_path() {
        let paths = IdPaths::default();
        let cases = [
            r#"{"correlation_id": "c-1", "causation_id": "e-0", "user": "ann"}"#,
            r#"{"correlationId": "c1", "causationId": 7}"#,
            r#"{"$correlationId": "c2", "$causationId": "e1", "x": [1, {"y": 2}]}"#,
            r#"{"headers": {"correlation_id": "c3"}, "metadata": {"causationId": "e3"}}"#,
            r#"{"correlation_id": "", "correlationId": "second", "CausationId": 1.5e3}"#,
            r#"{"correlation_id": null, "CorrelationId": "pascal", "causation_id": true}"#,
            r#"{"correlation_id": "esc\u0061ped \"q\"", "causation_id": -12}"#,
            r#"{"correlation_id": {"nested": 1}, "metadata": {"correlation_id": "inner"}}"#,
            r#"{"correlation_id": "top", "metadata": {"correlation_id": "inner"}}"#,
            r#"{"headers": {"correlationId": "h"}, "metadata": {"correlationId": "m"}}"#,
            // The scan cannot answer these; the value path does.
            r#"{"correlation_id": "dup", "correlation_id": "last"}"#,
            r#"{"metadata": "not an object", "correlationId": "c4"}"#,
            r#"{"headers": [1, 2], "causationId": "e4"}"#,
            r#"["not", "an", "object"]"#,
            r#""text""#,
            "not json",
            "",
            r#"{"correlation_id": 18446744073709551616}"#,
        ];
        for text in cases {
            let payload = Payload::from_bytes(text.as_bytes());
            let scanned = paths.extract_from_payload(&payload);
            let parsed: Option<Value> = serde_json::from_str(text).ok();
            let want = parsed.map_or((None, None), |v| paths.extract(&v));
            assert_eq!(scanned, want, "{text}");
            // Also once the payload is parsed (the value path).
            assert_eq!(paths.extract_from_payload(&payload), want, "{text}");
        }
        assert_eq!(
            paths.extract_from_payload(&Payload::from_bytes(cases[6].as_bytes())),
            (Some("escaped \"q\"".to_owned()), Some("-12".to_owned()))
        );
        assert_eq!(
            paths.extract_from_payload(&Payload::from_bytes(cases[4].as_bytes())),
            (Some("second".to_owned()), Some("1500.0".to_owned()))
        );
    }

    /// Explicit paths read the parsed value; opaque bytes are never read as JSON.
    #[test]
    fn explicit_paths_and_opaque_bytes() {
        let text = br#"{"trace": {"c": "c9"}, "correlation_id": "usual", "causation_id": "e9"}"#;
        let paths = IdPaths {
            correlation: Some("$.trace.c".to_owned()),
            causation: None,
        };
        assert_eq!(
            paths.extract_from_payload(&Payload::from_bytes(text)),
            (Some("c9".to_owned()), Some("e9".to_owned()))
        );
        let opaque = Payload::stored(text, crate::core::event::PayloadFormat::Bytes);
        assert_eq!(
            IdPaths::default().extract_from_payload(&opaque),
            (None, None)
        );
        assert_eq!(
            IdPaths::default().extract_from_payload(&Payload::empty()),
            (None, None)
        );
    }

    #[test]
    fn explicit_paths() {
        let paths = IdPaths {
            correlation: Some("$.trace.ids[1]".to_owned()),
            causation: Some("$.\"x.y\"".to_owned()),
        };
        let meta = json!({"trace": {"ids": ["a", "b"]}, "x.y": 7});
        assert_eq!(
            paths.extract(&meta),
            (Some("b".to_owned()), Some("7".to_owned()))
        );
        assert!(path_segments("$.a..b").is_none());
    }
}
