//! Correlation and causation ids from event metadata.
//!
//! Looks under the usual keys (`correlation_id`, `correlationId`, `$correlationId`, and the
//! causation equivalents), at the top level and inside nested `metadata` / `headers`
//! objects. A store can override this with explicit JSON paths (see [`IdPaths`]).

use serde_json::Value;

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
