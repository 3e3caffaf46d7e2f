//! The zero-configuration reducer: each event's JSON payload is merged into the state with
//! JSON Merge Patch (RFC 7386) semantics — objects merge key by key, `null` removes a key,
//! anything else replaces. Payloads that are not JSON objects leave the state unchanged.
//! The UI labels states from this reducer as "generic", because a merge is only a guess at
//! what the domain does.

use serde_json::{Map, Value};

use super::{ReduceResult, Reducer, ReducerInfo, ReducerKind};
use crate::core::event::Event;

/// Description recorded as the generic reducer's "source".
pub const GENERIC_SOURCE: &str = "eventscope generic reducer v1: state starts as {}; each JSON object payload is merged \
     into it with JSON Merge Patch (RFC 7386); other payloads are ignored.";

/// JSON merge of payloads.
#[derive(Debug)]
pub struct GenericReducer {
    info: ReducerInfo,
    state: Value,
}

impl Default for GenericReducer {
    fn default() -> Self {
        Self::new()
    }
}

impl GenericReducer {
    /// A generic reducer.
    #[must_use]
    pub fn new() -> Self {
        Self {
            info: ReducerInfo::new(
                ReducerKind::Generic,
                "generic".to_owned(),
                GENERIC_SOURCE.to_owned(),
                None,
            ),
            state: Value::Object(Map::new()),
        }
    }
}

impl Reducer for GenericReducer {
    fn info(&self) -> &ReducerInfo {
        &self.info
    }

    fn reset(&mut self, from: Option<&Value>) -> ReduceResult<()> {
        self.state = from.cloned().unwrap_or_else(|| Value::Object(Map::new()));
        Ok(())
    }

    fn apply(&mut self, event: &Event) -> ReduceResult<()> {
        // Plain JSON nobody parsed yet: parse it here into a value of our own and move its
        // parts into the state, instead of caching a parse in the event and cloning from it.
        // The same parse as `Payload::as_json` does, so the same payloads count as JSON.
        if let Some(bytes) = event.payload.plain_json_bytes()
            && !event.payload.is_parsed()
        {
            if let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(bytes) {
                merge_object(&mut self.state, patch);
            }
            return Ok(());
        }
        if let Some(patch @ Value::Object(_)) = event.payload.as_json() {
            json_patch::merge(&mut self.state, patch);
        }
        Ok(())
    }

    fn state(&mut self) -> ReduceResult<Value> {
        Ok(self.state.clone())
    }

    fn value_at(&mut self, pointer: &str) -> ReduceResult<Option<Value>> {
        Ok(self.state.pointer(pointer).cloned())
    }
}

/// JSON Merge Patch (RFC 7386) of an object patch, moving the patch's values into `doc`:
/// the same map operations, in the same order, as `json_patch::merge` (so key order and
/// duplicate keys come out the same), without cloning. Nesting is bounded by the parser's
/// depth limit.
pub fn merge_object(doc: &mut Value, patch: Map<String, Value>) {
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let Value::Object(map) = doc else { return };
    for (key, value) in patch {
        match value {
            Value::Null => {
                map.remove(&key);
            }
            Value::Object(inner) => merge_object(map.entry(key).or_insert(Value::Null), inner),
            other => {
                map.insert(key, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    /// The moving merge gives what `json_patch::merge` gives, key order included.
    #[test]
    fn moving_merge_matches_json_patch() {
        let cases = [
            (
                json!({"a": 1, "b": {"c": 2, "d": [1]}}),
                r#"{"b": {"c": null, "e": {"f": 1}}, "z": 0, "a": null}"#,
            ),
            (json!({"a": "x"}), r#"{"a": {"b": null, "c": 1}}"#),
            (json!([1, 2]), r#"{"k": "v"}"#),
            (
                json!({"k": {"a": 1, "b": 2, "c": 3}}),
                r#"{"k": {"a": null}, "k2": [null]}"#,
            ),
            (json!({"d": 1}), r#"{"d": {"x": 1}, "d": {"y": 2}}"#),
        ];
        for (doc, patch_text) in cases {
            let patch: Value = serde_json::from_str(patch_text).unwrap();
            let mut expected = doc.clone();
            json_patch::merge(&mut expected, &patch);
            let Value::Object(map) = patch else {
                panic!("object")
            };
            let mut got = doc;
            super::merge_object(&mut got, map);
            assert_eq!(
                serde_json::to_string(&got).unwrap(),
                serde_json::to_string(&expected).unwrap()
            );
        }
    }
}
