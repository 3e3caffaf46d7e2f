//! Replay: reducers (`state = reduce(state, event)`), state at any version or time, snapshot
//! checks, the store-wide drift report and evidence bundles for auditors.
//!
//! - [`Reducer`] is the one interface; [`generic`] (JSON merge), [`script`] (KurrentDB-style
//!   JavaScript projections in the sandboxed engine of [`crate::script`]) and [`command`]
//!   (the user's own code as a child process speaking JSON Lines) implement it.
//! - [`config`] picks a reducer per stream category from a project file (TOML).
//! - [`timeline`] folds a stream once, keeps intermediate states and answers "state at
//!   version V" quickly; [`blame`](timeline::Timeline::blame) finds the event that last
//!   changed a field.
//! - [`pipeline`] reads a stream forwards on a reader thread while the fold runs.
//! - [`diff`] is the structural JSON diff; [`snapshots`] compares stored snapshots with
//!   replayed states; [`evidence`] writes the auditor's bundle.
//!
//! Everything here is blocking and GUI-free: the app calls it from worker jobs.

pub mod command;
pub mod config;
pub mod diff;
mod drift;
pub mod evidence;
pub mod generic;
pub mod pipeline;
pub mod script;
pub mod snapshots;
pub mod timeline;

use serde_json::Value;

use crate::core::event::Event;
use crate::core::source::SourceError;

/// What kind of reducer a state came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReducerKind {
    /// JSON merge of payloads (no configuration).
    Generic,
    /// A JavaScript projection.
    Script,
    /// A child process.
    Command,
}

impl ReducerKind {
    /// Label for the UI.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Generic => "generic (JSON merge of payloads)",
            Self::Script => "script",
            Self::Command => "command",
        }
    }
}

/// Identity of a reducer, as recorded in evidence bundles and shown in the UI.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReducerInfo {
    /// Kind.
    pub kind: ReducerKind,
    /// Human label: the file name, the command line, or "generic".
    pub label: String,
    /// The reducer's source (script text, command line, or a description of the generic merge).
    pub source: String,
    /// SHA-256 (hex) of `source`.
    pub sha256: String,
    /// Snapshot schema version this reducer's states correspond to, when configured.
    pub schema_version: Option<u32>,
}

impl ReducerInfo {
    /// Builds the info, hashing the source.
    #[must_use]
    pub fn new(
        kind: ReducerKind,
        label: String,
        source: String,
        schema_version: Option<u32>,
    ) -> Self {
        let sha256 = sha256_hex(source.as_bytes());
        Self {
            kind,
            label,
            source,
            sha256,
            schema_version,
        }
    }
}

/// SHA-256 of bytes as lowercase hex.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    crate::core::event::hex(&sha2::Sha256::digest(bytes))
}

/// Why a fold failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReduceError {
    /// The reducer failed on an event.
    #[error("{reducer} failed at {event}: {message}")]
    AtEvent {
        /// Reducer label.
        reducer: String,
        /// `#position stream@version (type)`.
        event: String,
        /// Global position of the event.
        position: u64,
        /// Stream version of the event.
        version: u64,
        /// What went wrong.
        message: String,
    },
    /// The reducer failed outside an event (loading, `$init`, exporting state).
    #[error("{reducer}: {message}")]
    Reducer {
        /// Reducer label.
        reducer: String,
        /// What went wrong.
        message: String,
    },
    /// Reading the store failed.
    #[error("{0}")]
    Source(String),
    /// Cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl From<SourceError> for ReduceError {
    fn from(error: SourceError) -> Self {
        match error {
            SourceError::Cancelled => Self::Cancelled,
            other => Self::Source(other.to_string()),
        }
    }
}

impl ReduceError {
    /// An error at an event.
    #[must_use]
    pub fn at_event(reducer: &str, event: &Event, message: impl Into<String>) -> Self {
        Self::AtEvent {
            reducer: reducer.to_owned(),
            event: crate::script::describe_event(event),
            position: event.global_position,
            version: event.stream_version,
            message: message.into(),
        }
    }

    /// An error outside an event.
    #[must_use]
    pub fn reducer(reducer: &str, message: impl Into<String>) -> Self {
        Self::Reducer {
            reducer: reducer.to_owned(),
            message: message.into(),
        }
    }
}

/// Result alias.
pub type ReduceResult<T> = Result<T, ReduceError>;

/// `state = reduce(state, event)`, with the state kept inside the reducer between calls so
/// that a fold does not convert the state at every event.
pub trait Reducer: Send {
    /// Identity of this reducer.
    fn info(&self) -> &ReducerInfo;

    /// Starts a fold: from the reducer's initial state (`None`) or from a given state.
    ///
    /// # Errors
    /// When the reducer cannot produce or accept the state.
    fn reset(&mut self, from: Option<&Value>) -> ReduceResult<()>;

    /// Applies one event.
    ///
    /// # Errors
    /// [`ReduceError::AtEvent`] naming the event.
    fn apply(&mut self, event: &Event) -> ReduceResult<()>;

    /// The current state.
    ///
    /// # Errors
    /// When the state cannot be exported.
    fn state(&mut self) -> ReduceResult<Value>;

    /// The value at a JSON Pointer of the current state (`None` when absent). Reducers that
    /// can look a path up without exporting the whole state override this.
    ///
    /// # Errors
    /// When the state cannot be exported.
    fn value_at(&mut self, pointer: &str) -> ReduceResult<Option<Value>> {
        Ok(self.state()?.pointer(pointer).cloned())
    }

    /// The event types this reducer names (a script's handler keys, without `$init` and
    /// `$any`); `None` for reducers that name no types (generic merge, commands).
    ///
    /// # Errors
    /// When the reducer cannot be asked.
    fn handler_names(&mut self) -> ReduceResult<Option<Vec<String>>> {
        Ok(None)
    }
}

/// Warnings for a reducer whose handler names match no event type of the store (each such
/// name with the closest stored types; see
/// [`crate::core::type_names::unknown_type_warnings`]). What the window shows and the CLI
/// prints on stderr after loading a reducer.
///
/// # Errors
/// When the store's type names cannot be read or the reducer cannot be asked.
pub fn handler_warnings(
    reducer: &mut dyn Reducer,
    source: &dyn crate::core::source::EventSource,
) -> ReduceResult<Vec<String>> {
    let Some(names) = reducer.handler_names()? else {
        return Ok(Vec::new());
    };
    let known = source.event_type_names()?;
    Ok(crate::core::type_names::unknown_type_warnings(
        &reducer.info().label,
        "handler",
        &names,
        &known,
    ))
}

/// Folds events into a reducer from its initial state, returning the final state.
///
/// # Errors
/// The first reducer error.
pub fn fold<'a>(
    reducer: &mut dyn Reducer,
    events: impl IntoIterator<Item = &'a Event>,
) -> ReduceResult<Value> {
    reducer.reset(None)?;
    for event in events {
        reducer.apply(event)?;
    }
    reducer.state()
}

/// Approximate size of a JSON value in bytes (iterative; for cache budgets).
#[must_use]
pub fn approx_size(value: &Value) -> usize {
    let mut total = 0usize;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        total += match v {
            Value::Null | Value::Bool(_) | Value::Number(_) => 8,
            Value::String(s) => s.len() + 2,
            Value::Array(items) => {
                stack.extend(items.iter());
                2
            }
            Value::Object(map) => {
                for (k, item) in map {
                    total += k.len() + 3;
                    stack.push(item);
                }
                2
            }
        };
    }
    total
}

#[cfg(test)]
mod tests;
