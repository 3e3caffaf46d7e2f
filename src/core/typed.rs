//! Decoding of library-specific typed values inside JSON payloads.
//!
//! Python `eventsourcing` encodes values JSON cannot hold as objects with exactly the keys
//! `_type_` and `_data_` (`decimal_str`, `datetime_iso`, `uuid_hex`, …). eventscope shows and
//! hands on the decoded value: decimals and datetimes as their exact text, UUIDs in canonical
//! hyphenated form; unknown types as their `_data_`.

use serde_json::Value;

/// Recursively replaces `{"_type_": T, "_data_": D}` objects by their decoded value.
/// Returns true when anything changed.
pub fn decode_eventsourcing(value: &mut Value) -> bool {
    // An explicit stack instead of recursion: payloads can be nested very deeply.
    let mut changed = false;
    let mut work: Vec<&mut Value> = vec![value];
    while let Some(current) = work.pop() {
        if let Some(decoded) = decoded_typed(current) {
            *current = decoded;
            changed = true;
            // A decoded `_data_` may itself hold typed values (e.g. a list).
            work.push(current);
            continue;
        }
        match current {
            Value::Array(items) => work.extend(items.iter_mut()),
            Value::Object(map) => work.extend(map.values_mut()),
            _ => {}
        }
    }
    changed
}

fn decoded_typed(value: &Value) -> Option<Value> {
    let Value::Object(map) = value else {
        return None;
    };
    if map.len() != 2 {
        return None;
    }
    let type_name = map.get("_type_")?.as_str()?;
    let data = map.get("_data_")?;
    Some(match (type_name, data) {
        ("uuid_hex", Value::String(hex)) => match crate::core::ids::parse_uuid(hex) {
            Some(bytes) => Value::String(crate::core::ids::format_uuid(&bytes)),
            None => data.clone(),
        },
        _ => data.clone(),
    })
}

/// Drops a JSON value without recursion (serde_json's `Drop` recurses and can overflow the
/// stack on very deeply nested values).
pub fn drop_deep(value: Value) {
    let mut stack = vec![value];
    while let Some(mut current) = stack.pop() {
        match &mut current {
            Value::Array(items) => stack.append(items),
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    if let Some(child) = map.remove(&key) {
                        stack.push(child);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_nested_typed_values() {
        let mut value = json!({
            "timestamp": {"_type_": "datetime_iso", "_data_": "2024-01-15T11:10:25.126492+00:00"},
            "amount": {"_type_": "decimal_str", "_data_": "1.5E+3"},
            "account_id": {"_type_": "uuid_hex", "_data_": "2bb265fca5f0496289c86006652c99ad"},
            "lines": [{"unit_price": {"_type_": "decimal_str", "_data_": "9.99"}, "quantity": 2}],
            "plain": {"_type_": "x", "_data_": 1, "extra": true}
        });
        assert!(decode_eventsourcing(&mut value));
        assert_eq!(
            value,
            json!({
                "timestamp": "2024-01-15T11:10:25.126492+00:00",
                "amount": "1.5E+3",
                "account_id": "2bb265fc-a5f0-4962-89c8-6006652c99ad",
                "lines": [{"unit_price": "9.99", "quantity": 2}],
                "plain": {"_type_": "x", "_data_": 1, "extra": true}
            })
        );
        let mut untouched = json!({"a": 1});
        assert!(!decode_eventsourcing(&mut untouched));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let mut value = Value::Null;
        for _ in 0..100_000 {
            value = Value::Array(vec![value]);
        }
        assert!(!decode_eventsourcing(&mut value));
        // Drop iteratively too: serde_json's drop is recursive.
        crate::core::typed::drop_deep(value);
    }
}
