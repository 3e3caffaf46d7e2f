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
