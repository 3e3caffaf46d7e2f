//! Correlation and causation ids from event metadata.
//!
//! Looks under the usual keys (`correlation_id`, `correlationId`, `$correlationId`, and the
//! causation equivalents), at the top level and inside nested `metadata` / `headers`
//! objects. A store can override this with explicit JSON paths (see [`IdPaths`]).

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
    /// stored text with a single pass that builds no JSON value ([`scan_ids`]); otherwise,
    /// and whenever the scan cannot answer (duplicate keys, `\u` escapes, numbers serde
    /// might reject, not an object …), extracts from the parsed value as
    /// [`IdPaths::extract`] does.
    #[must_use]
    pub fn extract_from_payload(&self, metadata: &Payload) -> (Option<String>, Option<String>) {
        if self.correlation.is_none()
            && self.causation.is_none()
            && !metadata.is_parsed()
            && let Some(bytes) = metadata.plain_json_bytes()
            && let Some(ids) = scan_ids(bytes)
        {
            return ids;
        }
        metadata.as_json().map_or((None, None), |m| self.extract(m))
    }
}

/// Reads the correlation and causation ids under the usual keys from JSON text, giving
/// what [`IdPaths::extract`] gives on the parsed value, in one pass that allocates only the
/// ids. `None` when it cannot vouch for that (invalid UTF-8, a `\u` escape, a number with an
/// exponent or a long integer part, a watched key twice, nesting deeper than 64, not an
/// object): the caller then parses. Invalid JSON is also `None`, so the value path decides.
#[must_use]
pub fn scan_ids(bytes: &[u8]) -> Option<(Option<String>, Option<String>)> {
    // Validates UTF-8 once, as parsing into a value would.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut scan = Scanner {
        bytes: text.as_bytes(),
        at: 0,
    };
    let mut found = Found::default();
    scan.ws();
    scan.object(&mut |scan, key| {
        // Rank of a top-level key: 0..4 the id keys, then the nested objects.
        if let Some(rank) = key_rank(key) {
            return found.offer(rank, 0, scan);
        }
        let nested = match key {
            b"metadata" => 1,
            b"headers" => 2,
            _ => return scan.skip_value(0),
        };
        found.mark(NESTED_SEEN << nested)?;
        if scan.peek() != Some(b'{') {
            // A nested value that is not an object holds no ids.
            return scan.skip_value(0);
        }
        scan.object(&mut |scan, key| match key_rank(key) {
            Some(rank) => found.offer(rank, nested, scan),
            None => scan.skip_value(1),
        })
    })?;
    scan.ws();
    if scan.at != scan.bytes.len() {
        return None;
    }
    Some((found.id(0, text), found.id(1, text)))
}

/// Which id a key names and its preference among the usual keys: `(id, preference)`, id
/// 0 for correlation, 1 for causation.
fn key_rank(key: &[u8]) -> Option<(usize, usize)> {
    if let Some(i) = CORRELATION_KEYS.iter().position(|k| k.as_bytes() == key) {
        return Some((0, i));
    }
    CAUSATION_KEYS
        .iter()
        .position(|k| k.as_bytes() == key)
        .map(|i| (1, i))
}

/// Bit of the seen mask for "metadata" (shifted by 1) and "headers" (by 2).
const NESTED_SEEN: u32 = 1 << 29;

/// The best id value found so far for each id, as a span of the text.
#[derive(Default)]
struct Found {
    /// Best `(order, start, end, is_string)` per id; lower order is preferred.
    best: [Option<(usize, usize, usize, bool)>; 2],
    /// Watched keys seen, one bit per (level, id, preference) and per nested object.
    seen: u32,
}

impl Found {
    fn mark(&mut self, bit: u32) -> Option<()> {
        if self.seen & bit != 0 {
            return None;
        }
        self.seen |= bit;
        Some(())
    }

    /// Reads the value of an id key at `level` (0 top, 1 `metadata`, 2 `headers`).
    fn offer(
        &mut self,
        (id, preference): (usize, usize),
        level: usize,
        scan: &mut Scanner<'_>,
    ) -> Option<()> {
        let order = level * 4 + preference;
        self.mark(1 << (id * 12 + order))?;
        let start = scan.at;
        let usable = match scan.peek()? {
            b'"' => {
                scan.string()?;
                // The empty string is no id (as in `id_text`).
                scan.at - start > 2
            }
            b'-' | b'0'..=b'9' => {
                scan.number()?;
                true
            }
            _ => {
                scan.skip_value(level)?;
                false
            }
        };
        if usable && self.best[id].is_none_or(|(best, ..)| order < best) {
            self.best[id] = Some((order, start, scan.at, scan.bytes[start] == b'"'));
        }
        Some(())
    }

    fn id(&self, id: usize, text: &str) -> Option<String> {
        let (_, start, end, is_string) = self.best[id]?;
        let span = &text[start..end];
        if !is_string {
            // Printed as the value path prints a `serde_json::Number`.
            return serde_json::from_str::<serde_json::Number>(span)
                .ok()
                .map(|n| n.to_string());
        }
        let inner = &span[1..span.len() - 1];
        if inner.contains('\\') {
            serde_json::from_str::<String>(span).ok()
        } else {
            Some(inner.to_owned())
        }
    }
}

/// A validating cursor over JSON text, for [`scan_ids`]. Every method returns `None` on
/// text it does not accept.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    const MAX_DEPTH: usize = 64;

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// An object; `member` is called with each key (raw, without quotes) with the cursor
    /// on its value and must consume the value.
    fn object(&mut self, member: &mut dyn FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let start = self.at + 1;
            self.string()?;
            let key = &self.bytes[start..self.at - 1];
            self.ws();
            self.eat(b':')?;
            self.ws();
            // A key with escapes could spell a watched key: let the value path read it.
            if key.contains(&b'\\') {
                return None;
            }
            member(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.ws();
                }
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string with simple escapes (`\u` is left to the value path).
    fn string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let byte = self.peek()?;
            self.at += 1;
            match byte {
                b'"' => return Some(()),
                b'\\' => {
                    let escaped = self.peek()?;
                    if !b"\"\\/bfnrt".contains(&escaped) {
                        return None;
                    }
                    self.at += 1;
                }
                0..0x20 => return None,
                _ => {}
            }
        }
    }

    /// A number with at most 18 digits before the point and no exponent, so the value
    /// path reads it too (it rejects numbers out of the range of an `f64`).
    fn number(&mut self) -> Option<()> {
        self.eat(b'-').ok_or(()).ok();
        let digits = |scan: &mut Self| {
            let start = scan.at;
            while scan.peek().is_some_and(|b| b.is_ascii_digit()) {
                scan.at += 1;
            }
            scan.at - start
        };
        let first = self.peek()?;
        let integer = digits(self);
        if integer == 0 || integer > 18 || (first == b'0' && integer > 1) {
            return None;
        }
        if self.eat(b'.').is_some() && digits(self) == 0 {
            return None;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            return None;
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// Any value, validated and skipped; `depth` is the nesting of the enclosing object.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth >= Self::MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string(),
            b'{' => self.object(&mut |scan, _| scan.skip_value(depth + 1)),
            b'[' => {
                self.at += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => {
                            self.at += 1;
                            self.ws();
                        }
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
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
            // More the scan must get right or leave to the value path.
            r#"{"correl\u0061tion_id": "escaped key", "causation_id": "e"}"#,
            r#"{"correlation_id": "c\u00e9", "causation_id": "\ud800"}"#,
            r#"{"correlation_id": 1e400}"#,
            r#"{"correlation_id": 12.5, "causation_id": -0}"#,
            r#"{"correlation_id": 012}"#,
            r#"{"correlation_id": "c"} trailing"#,
            r#" { "correlation_id" : "c" , "user" : [ true , false , null , -1.25 ] } "#,
            r#"{"correlation_id": "c", "x": [1, 2,]}"#,
            r#"{"correlation_id": "c", "x": "tab	inside"}"#,
            r#"{"metadata": {"correlation_id": "a"}, "metadata": {"correlation_id": "b"}}"#,
            r#"{"metadata": {"correlation_id": "a", "correlation_id": "b"}}"#,
            r#"{"headers": {"causationId": ""}, "metadata": {"causation_id": 0}}"#,
            r#"{"x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], "correlation_id": "deep"}"#,
            r#"{}"#,
            r#"{"correlation_id": "c""#,
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
        // Not UTF-8: not JSON, as the value path says.
        let bad = Payload::from_bytes(b"{\"correlation_id\": \"\xff\"}");
        assert_eq!(scan_ids(b"{\"correlation_id\": \"\xff\"}"), None);
        assert_eq!(paths.extract_from_payload(&bad), (None, None));
        assert_eq!(
            scan_ids(br#"{"causation_id": "e", "correlationId": "c", "x": {"y": [1]}}"#),
            Some((Some("c".to_owned()), Some("e".to_owned())))
        );
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
