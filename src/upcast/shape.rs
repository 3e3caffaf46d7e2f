//! Shapes of JSON payloads: the set of paths and JSON value types seen across many events,
//! and the comparison of upcasted old events with native events of the target version
//! (core layer, no GUI).
//!
//! Paths are JSON Pointers with array indices replaced by `*` (`/lines/*/sku`). A field is
//! *required* in native events when every native object at its parent path has it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

/// Distinct key sets remembered per object path (to find an example that lacks a key).
const MAX_KEY_SETS: usize = 64;
/// Deepest level walked; deeper values count as their type only.
const MAX_DEPTH: usize = 64;

/// A JSON value type. `Integer` is a number without a fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// `null`.
    Null,
    /// `true` / `false`.
    Boolean,
    /// A whole number.
    Integer,
    /// Any other number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    /// The type of a value.
    #[must_use]
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => Self::Integer,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }

    /// Name as printed.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Boolean => "boolean",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::String => "string",
            Self::Array => "array",
            Self::Object => "object",
        }
    }
}

/// Which event an example is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventRef {
    /// Global position.
    pub position: u64,
    /// The event id, when the store keeps one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Stream.
    pub stream_id: String,
    /// Stream version.
    pub stream_version: u64,
}

impl EventRef {
    /// The reference of an event.
    #[must_use]
    pub fn of(event: &crate::core::event::Event) -> Self {
        Self {
            position: event.global_position,
            event_id: event.event_id.clone(),
            stream_id: event.stream_id.clone(),
            stream_version: event.stream_version,
        }
    }

    /// `#position (event id)` for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.event_id {
            Some(id) => format!("#{} ({id})", self.position),
            None => format!(
                "#{} {}@{}",
                self.position, self.stream_id, self.stream_version
            ),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct PathStats {
    /// How often the path was present.
    present: u64,
    /// Types seen, with the first event of each.
    types: BTreeMap<JsonType, EventRef>,
    /// For object paths: how many objects were seen here.
    objects: u64,
    /// For object paths: distinct key sets with the first event of each.
    key_sets: Vec<(BTreeSet<String>, EventRef)>,
}

/// The shape of many payloads.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    paths: BTreeMap<String, PathStats>,
    /// Number of values added.
    pub count: u64,
}

impl Shape {
    /// Adds one payload.
    pub fn add(&mut self, value: &Value, event: &EventRef) {
        self.count += 1;
        let mut stack: Vec<(String, &Value, usize)> = vec![(String::new(), value, 0)];
        while let Some((path, value, depth)) = stack.pop() {
            let kind = JsonType::of(value);
            let stats = self.paths.entry(path.clone()).or_default();
            stats.present += 1;
            stats.types.entry(kind).or_insert_with(|| event.clone());
            if depth >= MAX_DEPTH {
                continue;
            }
            match value {
                Value::Object(map) => {
                    stats.objects += 1;
                    if stats.key_sets.len() < MAX_KEY_SETS {
                        let keys: BTreeSet<String> = map.keys().cloned().collect();
                        if !stats.key_sets.iter().any(|(k, _)| *k == keys) {
                            stats.key_sets.push((keys, event.clone()));
                        }
                    }
                    for (key, child) in map {
                        let child_path = format!("{path}/{}", crate::replay::diff::escape_key(key));
                        stack.push((child_path, child, depth + 1));
                    }
                }
                Value::Array(items) => {
                    let child_path = format!("{path}/*");
                    for item in items {
                        stack.push((child_path.clone(), item, depth + 1));
                    }
                }
                _ => {}
            }
        }
    }

    /// Paths seen, sorted, with their types.
    #[must_use]
    pub fn paths(&self) -> Vec<(String, Vec<JsonType>)> {
        self.paths
            .iter()
            .map(|(p, s)| (p.clone(), s.types.keys().copied().collect()))
            .collect()
    }

    fn required(&self, path: &str) -> bool {
        let Some(stats) = self.paths.get(path) else {
            return false;
        };
        let Some(parent) = parent_of(path) else {
            return true;
        };
        // Array items count like any object: `/lines/*` holds every item object.
        self.paths
            .get(parent)
            .is_some_and(|p| p.objects > 0 && stats.present >= p.objects)
    }
}

fn parent_of(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    path.rfind('/').map(|i| &path[..i])
}

fn last_key(path: &str) -> String {
    let raw = path.rsplit('/').next().unwrap_or_default();
    raw.replace("~1", "/").replace("~0", "~")
}

/// Whether native values at a path accept a value of type `t` (a whole number is a number).
fn accepts(native: &PathStats, t: JsonType) -> bool {
    native.types.contains_key(&t)
        || (t == JsonType::Integer && native.types.contains_key(&JsonType::Number))
}

/// How an upcasted shape differs from the native one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    /// Every native event has the field; some upcasted event lacks it.
    Missing,
    /// Upcasted events have a field no native event has.
    Extra,
    /// Upcasted events have a value type native events never have there.
    TypeMismatch,
}

impl MismatchKind {
    /// Label for views.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing after upcasting",
            Self::Extra => "extra field",
            Self::TypeMismatch => "type mismatch",
        }
    }
}

/// One difference between upcasted and native shapes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShapeMismatch {
    /// Kind.
    pub kind: MismatchKind,
    /// Path inside `data` (JSON Pointer, `*` for array items).
    pub path: String,
    /// Types native events have there.
    pub native_types: Vec<JsonType>,
    /// Types upcasted events have there.
    pub upcasted_types: Vec<JsonType>,
    /// An upcasted event showing it.
    pub example: Option<EventRef>,
    /// A native event for comparison.
    pub native_example: Option<EventRef>,
}

/// Compares upcasted payloads with native ones (see [`MismatchKind`]).
#[must_use]
pub fn compare(native: &Shape, upcasted: &Shape) -> Vec<ShapeMismatch> {
    let mut out = Vec::new();
    if native.count == 0 || upcasted.count == 0 {
        return out;
    }
    // Paths under a mismatching or missing path are not reported again.
    let mut reported: Vec<String> = Vec::new();
    let covered = |reported: &[String], path: &str| {
        reported.iter().any(|r| {
            path.len() > r.len() && path.starts_with(r.as_str()) && path[r.len()..].starts_with('/')
        })
    };
    let all: BTreeSet<&String> = native.paths.keys().chain(upcasted.paths.keys()).collect();
    for path in all {
        if covered(&reported, path) {
            continue;
        }
        let n = native.paths.get(path);
        let u = upcasted.paths.get(path);
        let types = |s: Option<&PathStats>| -> Vec<JsonType> {
            s.map(|s| s.types.keys().copied().collect())
                .unwrap_or_default()
        };
        match (n, u) {
            (Some(n), Some(u)) => {
                let wrong: Vec<(&JsonType, &EventRef)> =
                    u.types.iter().filter(|(t, _)| !accepts(n, **t)).collect();
                if let Some((_, example)) = wrong.first() {
                    out.push(ShapeMismatch {
                        kind: MismatchKind::TypeMismatch,
                        path: path.clone(),
                        native_types: types(Some(n)),
                        upcasted_types: types(Some(u)),
                        example: Some((*example).clone()),
                        native_example: n.types.values().next().cloned(),
                    });
                    reported.push(path.clone());
                    continue;
                }
                if native.required(path) && !upcasted.required(path) {
                    let example = parent_of(path)
                        .and_then(|p| upcasted.paths.get(p))
                        .and_then(|p| {
                            let key = last_key(path);
                            p.key_sets
                                .iter()
                                .find(|(keys, _)| !keys.contains(&key))
                                .map(|(_, e)| e.clone())
                        });
                    out.push(ShapeMismatch {
                        kind: MismatchKind::Missing,
                        path: path.clone(),
                        native_types: types(Some(n)),
                        upcasted_types: types(Some(u)),
                        example,
                        native_example: n.types.values().next().cloned(),
                    });
                }
            }
            (Some(n), None) => {
                // Only when upcasted events have the parent object (else the parent is
                // reported).
                let parent_seen = parent_of(path)
                    .and_then(|p| upcasted.paths.get(p))
                    .is_some_and(|p| p.objects > 0);
                if parent_seen && native.required(path) {
                    let example = parent_of(path)
                        .and_then(|p| upcasted.paths.get(p))
                        .and_then(|p| p.key_sets.first().map(|(_, e)| e.clone()));
                    out.push(ShapeMismatch {
                        kind: MismatchKind::Missing,
                        path: path.clone(),
                        native_types: types(Some(n)),
                        upcasted_types: Vec::new(),
                        example,
                        native_example: n.types.values().next().cloned(),
                    });
                    reported.push(path.clone());
                }
            }
            (None, Some(u)) => {
                let parent_native = parent_of(path)
                    .and_then(|p| native.paths.get(p))
                    .is_some_and(|p| p.objects > 0 || p.types.contains_key(&JsonType::Array));
                if parent_native {
                    out.push(ShapeMismatch {
                        kind: MismatchKind::Extra,
                        path: path.clone(),
                        native_types: Vec::new(),
                        upcasted_types: types(Some(u)),
                        example: u.types.values().next().cloned(),
                        native_example: None,
                    });
                    reported.push(path.clone());
                }
            }
            (None, None) => {}
        }
    }
    out
}
