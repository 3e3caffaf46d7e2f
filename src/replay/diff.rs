//! Structural JSON diff: one row per JSON Pointer path that was added, removed or changed,
//! with the value on each side. Objects compare key by key, arrays index by index; anything
//! else compares by value. Iterative, so deep values cannot overflow the stack.
//!
//! (json-patch's `diff` gives RFC 6902 operations whose array paths are shifted for patch
//! application; the views and reports here need each side's own path and both values.)

use serde::Serialize;
use serde_json::Value;

/// How a path differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only on the right (new) side.
    Added,
    /// Only on the left (old) side.
    Removed,
    /// On both sides with different values.
    Changed,
}

/// One differing path.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiffEntry {
    /// JSON Pointer (`""` is the whole value).
    pub path: String,
    /// How it differs.
    pub change: Change,
    /// Value on the left (old / stored) side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<Value>,
    /// Value on the right (new / replayed) side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub right: Option<Value>,
}

/// Escapes a key for a JSON Pointer segment.
#[must_use]
pub fn escape_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Differences between `left` and `right`, in document order of `right` (then removals),
/// at most `limit` entries.
#[must_use]
pub fn diff(left: &Value, right: &Value, limit: usize) -> Vec<DiffEntry> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &Value, &Value)> = vec![(String::new(), left, right)];
    while let Some((path, l, r)) = stack.pop() {
        if out.len() >= limit {
            break;
        }
        match (l, r) {
            (Value::Object(lm), Value::Object(rm)) => {
                let mut children = Vec::new();
                for (key, rv) in rm {
                    let child = format!("{path}/{}", escape_key(key));
                    match lm.get(key) {
                        Some(lv) => children.push((child, lv, rv)),
                        None => out.push(DiffEntry {
                            path: child,
                            change: Change::Added,
                            left: None,
                            right: Some(rv.clone()),
                        }),
                    }
                }
                for (key, lv) in lm {
                    if !rm.contains_key(key) {
                        out.push(DiffEntry {
                            path: format!("{path}/{}", escape_key(key)),
                            change: Change::Removed,
                            left: Some(lv.clone()),
                            right: None,
                        });
                    }
                }
                stack.extend(children.into_iter().rev());
            }
            (Value::Array(la), Value::Array(ra)) => {
                let mut children = Vec::new();
                for i in 0..la.len().max(ra.len()) {
                    let child = format!("{path}/{i}");
                    match (la.get(i), ra.get(i)) {
                        (Some(lv), Some(rv)) => children.push((child, lv, rv)),
                        (None, Some(rv)) => out.push(DiffEntry {
                            path: child,
                            change: Change::Added,
                            left: None,
                            right: Some(rv.clone()),
                        }),
                        (Some(lv), None) => out.push(DiffEntry {
                            path: child,
                            change: Change::Removed,
                            left: Some(lv.clone()),
                            right: None,
                        }),
                        (None, None) => {}
                    }
                }
                stack.extend(children.into_iter().rev());
            }
            (l, r) if l == r => {}
            (l, r) => out.push(DiffEntry {
                path,
                change: Change::Changed,
                left: Some(l.clone()),
                right: Some(r.clone()),
            }),
        }
    }
    out.truncate(limit);
    out
}

/// Number values compare by value (`1` == `1.0`), so that a state rebuilt from JSON text and
/// one computed in a script do not differ only in number spelling.
#[must_use]
pub fn normalise_numbers(value: &Value) -> Value {
    let mut out = value.clone();
    let mut stack: Vec<&mut Value> = vec![&mut out];
    while let Some(v) = stack.pop() {
        match v {
            Value::Number(n) => {
                if let Some(f) = n.as_f64()
                    && n.is_f64()
                    && f.fract() == 0.0
                    && f.abs() < 9.0e15
                {
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    *v = Value::from(i);
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(map) => stack.extend(map.values_mut()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_per_path_with_both_values() {
        let old = json!({"a": 1, "b": {"c": [1, 2, 3]}, "gone": true, "k/x": 1});
        let new = json!({"a": 2, "b": {"c": [1, 5]}, "new": "x", "k/x": 1});
        let rows = diff(&old, &new, 100);
        let summary: Vec<(String, Change)> =
            rows.iter().map(|r| (r.path.clone(), r.change)).collect();
        assert_eq!(
            summary,
            vec![
                ("/new".to_owned(), Change::Added),
                ("/gone".to_owned(), Change::Removed),
                ("/a".to_owned(), Change::Changed),
                ("/b/c/2".to_owned(), Change::Removed),
                ("/b/c/1".to_owned(), Change::Changed),
            ]
        );
        let c1 = rows.iter().find(|r| r.path == "/b/c/1").expect("row");
        assert_eq!(
            (c1.left.clone(), c1.right.clone()),
            (Some(json!(2)), Some(json!(5)))
        );
        let removed = rows.iter().find(|r| r.path == "/b/c/2").expect("row");
        assert_eq!(removed.left, Some(json!(3)));
        assert!(diff(&old, &old, 100).is_empty());
        assert_eq!(diff(&json!(1), &json!("1"), 100)[0].path, "");
    }

    #[test]
    fn limit_and_deep_values() {
        let mut deep_l = json!(0);
        let mut deep_r = json!(1);
        for _ in 0..100 {
            deep_l = json!({ "x": deep_l });
            deep_r = json!({ "x": deep_r });
        }
        let rows = diff(&deep_l, &deep_r, 10);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].path.matches("/x").count(), 100);
        let many_l = json!((0..50).collect::<Vec<_>>());
        let many_r = json!((100..150).collect::<Vec<_>>());
        assert_eq!(diff(&many_l, &many_r, 7).len(), 7);
    }

    #[test]
    fn numbers_normalised() {
        assert_eq!(
            normalise_numbers(&json!({"a": 1.0, "b": [2.5]})),
            json!({"a": 1, "b": [2.5]})
        );
    }
}
