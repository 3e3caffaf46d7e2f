//! The event model shared by every source and view.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A payload or metadata blob: JSON when it parses as JSON, raw bytes otherwise.
///
/// A page of events never fails because one payload is not JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// Nothing stored (NULL column or a layout without this field).
    Empty,
    /// Parsed JSON (with library-specific typed values already decoded).
    Json(serde_json::Value),
    /// Bytes that are not valid UTF-8 JSON, kept as they are.
    Bytes(Vec<u8>),
}

impl Payload {
    /// Parses bytes as JSON, falling back to raw bytes.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            return Self::Bytes(Vec::new());
        }
        match serde_json::from_slice(bytes) {
            Ok(value) => Self::Json(value),
            Err(_) => Self::Bytes(bytes.to_vec()),
        }
    }

    /// The JSON value, if this payload is JSON.
    #[must_use]
    pub fn json(&self) -> Option<&serde_json::Value> {
        match self {
            Self::Json(value) => Some(value),
            _ => None,
        }
    }

    /// A JSON rendering for CLI output: JSON as is, bytes as
    /// `{"$bytes": {"len": N, "hex": "..."}}`, empty as `null`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Empty => serde_json::Value::Null,
            Self::Json(value) => value.clone(),
            Self::Bytes(bytes) => serde_json::json!({
                "$bytes": { "len": bytes.len(), "hex": hex(bytes) }
            }),
        }
    }

    /// Approximate size in bytes (for truncation decisions in views).
    #[must_use]
    pub fn approx_len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::Json(value) => approx_json_len(value),
            Self::Bytes(bytes) => bytes.len(),
        }
    }
}

fn approx_json_len(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => 8,
        serde_json::Value::String(s) => s.len() + 2,
        serde_json::Value::Array(items) => items.iter().map(approx_json_len).sum::<usize>() + 2,
        serde_json::Value::Object(map) => {
            map.iter()
                .map(|(k, v)| k.len() + 3 + approx_json_len(v))
                .sum::<usize>()
                + 2
        }
    }
}

/// Lowercase hex of bytes.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        write!(out, "{byte:02x}").ok();
    }
    out
}

/// One stored event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Store-wide order (notification id, global position, rowid …).
    pub global_position: u64,
    /// The stream (aggregate) this event belongs to, in display form (UUIDs hyphenated).
    pub stream_id: String,
    /// Revision within the stream (as the library numbers it).
    pub stream_version: u64,
    /// The event's own id, when the store keeps one.
    pub event_id: Option<String>,
    /// Event type name.
    pub event_type: String,
    /// Schema version, when the store records one.
    pub schema_version: Option<u32>,
    /// When the event was recorded (UTC), when the store keeps it.
    pub recorded_at: Option<DateTime<Utc>>,
    /// The payload (library typed values decoded).
    pub payload: Payload,
    /// The payload exactly as stored, when decoding changed it.
    pub payload_raw: Option<Payload>,
    /// Metadata.
    pub metadata: Payload,
    /// Correlation id extracted from the metadata.
    pub correlation_id: Option<String>,
    /// Causation id extracted from the metadata.
    pub causation_id: Option<String>,
}

impl Event {
    /// The JSON object printed by `eventscope events|log --json`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "global_position": self.global_position,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "recorded_at": self.recorded_at.map(crate::core::time::format_rfc3339),
            "payload": self.payload.to_json(),
            "metadata": self.metadata.to_json(),
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        })
    }
}

/// Summary of one stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamInfo {
    /// Stream id in display form.
    pub stream_id: String,
    /// Category: the aggregate type when known, else the prefix before the first `-`.
    pub category: String,
    /// Number of events in the stream.
    pub event_count: u64,
    /// Highest stream version.
    pub last_version: u64,
    /// Time of the first event, when known.
    #[serde(serialize_with = "crate::core::time::serialize_opt")]
    pub first_recorded_at: Option<DateTime<Utc>>,
    /// Time of the last event, when known.
    #[serde(serialize_with = "crate::core::time::serialize_opt")]
    pub last_recorded_at: Option<DateTime<Utc>>,
    /// Global position of the stream's last event.
    #[serde(skip)]
    pub last_position: u64,
}

/// A stored snapshot of an aggregate.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Stream id in display form.
    pub stream_id: String,
    /// Stream version the snapshot was taken at.
    pub version: u64,
    /// Schema version of the snapshot state, when known.
    pub schema_version: Option<u32>,
    /// The state (typed values decoded).
    pub state: Payload,
    /// When the snapshot was taken, when known.
    pub taken_at: Option<DateTime<Utc>>,
}

impl Snapshot {
    /// JSON for CLI output.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "stream_id": self.stream_id,
            "version": self.version,
            "schema_version": self.schema_version,
            "taken_at": self.taken_at.map(crate::core::time::format_rfc3339),
            "state": self.state.to_json(),
        })
    }
}

/// The position a projection / subscription / downstream application has processed up to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checkpoint {
    /// Projection, subscription or downstream application name.
    pub name: String,
    /// Last processed global position (inclusive).
    pub position: u64,
    /// When the checkpoint was last written, when the store records it.
    #[serde(serialize_with = "crate::core::time::serialize_opt")]
    pub updated_at: Option<DateTime<Utc>>,
    /// The log this checkpoint refers to, when it is not this store's own log
    /// (e.g. the upstream application of an `eventsourcing` tracking table).
    pub upstream: Option<String>,
}

/// One past checkpoint position, from a store that keeps checkpoint history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckpointSample {
    /// Projection name.
    pub name: String,
    /// Position it had processed up to.
    pub position: u64,
    /// When it had.
    #[serde(serialize_with = "crate::core::time::serialize_opt")]
    pub recorded_at: Option<DateTime<Utc>>,
}

/// What a source says about itself and the store as a whole.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoreInfo {
    /// Where the store is (path or URL).
    pub location: String,
    /// The detected layout (`design`, `eventsourcing`, `eventsourcing-sqlalchemy`, `emmett`, `mapping`).
    pub layout: String,
    /// Extra detail about the layout (application name, tables used).
    pub layout_detail: String,
    /// Number of streams.
    pub stream_count: u64,
    /// Number of events.
    pub event_count: u64,
    /// Highest global position (0 when empty).
    pub head_position: u64,
    /// Number of stored snapshots.
    pub snapshot_count: u64,
    /// Names of the checkpoints the store keeps.
    pub checkpoint_names: Vec<String>,
}
