//! Walking the text values of a stored JSON document with their paths, straight from its
//! bytes: serde's streaming visitor borrows every key and string from the text, so nothing
//! is built and (escapes aside) nothing allocated — a full audit reads every payload.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// What a walk calls for each text value: its path (`payload.a.b`, arrays as `[]`) and
/// the text.
pub type Each<'a> = dyn FnMut(&str, &str) + 'a;

/// Walks the JSON text `bytes` with `root` as the first path segment. Returns the number of
/// top-level fields (0 when the document is not an object), or `None` when the bytes are
/// not JSON (nothing was reported then… or only part of it: the caller treats the document
/// as not JSON).
pub fn walk_bytes(
    bytes: &[u8],
    root: &str,
    path: &mut String,
    each: &mut Each<'_>,
) -> Option<usize> {
    path.clear();
    path.push_str(root);
    let mut fields = 0;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Node {
        path,
        each,
        fields: Some(&mut fields),
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(fields)
}

/// Walks a parsed JSON value the same way.
pub fn walk_value(value: &serde_json::Value, path: &mut String, each: &mut Each<'_>) {
    use serde_json::Value;
    match value {
        Value::String(text) => each(path, text),
        Value::Array(items) => {
            let len = path.len();
            path.push_str("[]");
            for item in items {
                walk_value(item, path, each);
            }
            path.truncate(len);
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                walk_value(item, path, each);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

struct Node<'p, 'e, 'f> {
    path: &'p mut String,
    each: &'p mut Each<'e>,
    /// Counts the fields of the top-level object (only at the top).
    fields: Option<&'f mut usize>,
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        (self.each)(self.path, text);
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let len = self.path.len();
        self.path.push_str("[]");
        while seq
            .next_element_seed(Node {
                path: &mut *self.path,
                each: &mut *self.each,
                fields: None,
            })?
            .is_some()
        {}
        self.path.truncate(len);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Node { path, each, fields } = self;
        let mut count = 0;
        let len = path.len();
        while map.next_key_seed(Key(&mut *path))?.is_some() {
            count += 1;
            map.next_value_seed(Node {
                path: &mut *path,
                each: &mut *each,
                fields: None,
            })?;
            path.truncate(len);
        }
        if let Some(fields) = fields {
            *fields = count;
        }
        Ok(())
    }
}

/// Appends `.key` to the path.
struct Key<'p>(&'p mut String);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<(), E> {
        self.0.push('.');
        self.0.push_str(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> (Option<usize>, Vec<(String, String)>) {
        let mut seen = Vec::new();
        let mut path = String::new();
        let fields = walk_bytes(text.as_bytes(), "payload", &mut path, &mut |p, t| {
            seen.push((p.to_owned(), t.to_owned()));
        });
        (fields, seen)
    }

    #[test]
    fn paths_and_fields_as_the_value_walk_gives_them() {
        let text = r#"{"a": "x", "b": {"c": ["y", {"d": "z\u00e9"}], "n": 1}, "e": null}"#;
        let (fields, seen) = collect(text);
        assert_eq!(fields, Some(3));
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut from_value = Vec::new();
        let mut path = "payload".to_owned();
        walk_value(&value, &mut path, &mut |p, t| {
            from_value.push((p.to_owned(), t.to_owned()));
        });
        assert_eq!(seen, from_value);
        assert_eq!(seen[2], ("payload.b.c[].d".to_owned(), "zé".to_owned()));
        assert_eq!(collect("[1, 2]").0, Some(0));
        assert_eq!(collect("{\"a\": 1} trailing").0, None);
        assert_eq!(collect("not json").0, None);
    }
}
