//! The event model shared by every source and view. (Over 600 lines: the payload type and the event it belongs to are one concern, and their tests sit beside them.)

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How the stored bytes of a payload are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadFormat {
    /// JSON when the bytes parse as JSON, bytes otherwise.
    Json,
    /// JSON in which the Python `eventsourcing` library encodes typed values as
    /// `{"_type_": T, "_data_": D}`; [`Payload::as_json`] hands on the decoded values and
    /// [`Payload::stored_json`] the JSON as stored.
    EventsourcingJson,
    /// Opaque bytes, never parsed.
    Bytes,
}

/// A payload or metadata blob: JSON when it parses as JSON, raw bytes otherwise.
///
/// A payload read from a store keeps the stored bytes and is parsed (and its library typed
/// values decoded) only when first asked for its JSON ([`Payload::as_json`],
/// [`Payload::is_json`] …); the result is kept and shared by every clone, so a page of
/// events costs no JSON parsing until a view or a fold looks inside. Cloning is cheap (a
/// reference count). A page of events never fails because one payload is not JSON.
#[derive(Clone, Default)]
pub struct Payload(Repr);

#[derive(Clone, Default)]
enum Repr {
    /// Nothing stored (NULL column or a layout without this field).
    #[default]
    Empty,
    /// Bytes as stored, parsed on first access.
    Stored(Arc<Stored>),
    /// A JSON value built in memory (demo writer, tests, sources that hand on values).
    Value(Arc<serde_json::Value>),
}

/// The stored bytes and their parse, in one shared allocation for a payload of up to
/// [`INLINE_BYTES`] bytes (most payloads and metadata): reading a page costs one
/// allocation per payload, and parsing adds only the parsed value.
struct Stored {
    format: PayloadFormat,
    parsed: OnceLock<Box<Parsed>>,
    bytes: StoredBytes,
}

/// Payloads up to this many bytes are kept inside the shared allocation.
const INLINE_BYTES: usize = 150;

enum StoredBytes {
    Inline { len: u8, buf: [u8; INLINE_BYTES] },
    Heap(Box<[u8]>),
}

impl StoredBytes {
    fn new(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE_BYTES => {
                let mut buf = [0; INLINE_BYTES];
                buf[..bytes.len()].copy_from_slice(bytes);
                Self::Inline { len, buf }
            }
            _ => Self::Heap(bytes.into()),
        }
    }
}

impl std::ops::Deref for StoredBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Inline { len, buf } => &buf[..usize::from(*len)],
            Self::Heap(bytes) => bytes,
        }
    }
}

enum Parsed {
    NotJson,
    Json {
        /// The JSON as stored.
        stored: serde_json::Value,
        /// The JSON with typed values decoded, when decoding changed anything.
        decoded: Option<serde_json::Value>,
    },
}

impl Stored {
    fn parsed(&self) -> &Parsed {
        self.parsed
            .get_or_init(|| Box::new(parse_stored(&self.bytes, self.format)))
    }
}

fn parse_stored(bytes: &[u8], format: PayloadFormat) -> Parsed {
    if format == PayloadFormat::Bytes || bytes.is_empty() {
        return Parsed::NotJson;
    }
    let Ok(stored) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Parsed::NotJson;
    };
    let decoded = (format == PayloadFormat::EventsourcingJson && may_hold_typed_values(bytes))
        .then(|| {
            let mut decoded = stored.clone();
            crate::core::typed::decode_eventsourcing(&mut decoded).then_some(decoded)
        })
        .flatten();
    Parsed::Json { stored, decoded }
}

/// Whether JSON text can hold an `eventsourcing` typed value: it names `_type_`, or has
/// escapes that could spell it.
fn may_hold_typed_values(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"_type_") || bytes.windows(2).any(|w| w == b"\\u")
}

/// Whether JSON text may hold what `serde_json` validates as JSON text but refuses to
/// build a value of: a number out of `f64`'s range (an exponent, or 300 digits in a row)
/// or a `\u` escape (a lone surrogate). Found by the `payload` fuzz target: `{"a": 1e400}`
/// was written through as it was stored while the value path showed it as bytes.
fn may_be_refused_as_value(bytes: &[u8]) -> bool {
    let mut digits = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_digit() {
            digits += 1;
            if digits >= 300 {
                return true;
            }
            continue;
        }
        if digits > 0 && matches!(b, b'e' | b'E') {
            return true;
        }
        digits = 0;
        if b == b'\\' && bytes.get(i + 1) == Some(&b'u') {
            return true;
        }
    }
    false
}

impl Payload {
    /// Nothing stored.
    #[must_use]
    pub const fn empty() -> Self {
        Self(Repr::Empty)
    }

    /// A payload holding a JSON value (built in memory rather than read from a store).
    #[must_use]
    pub fn from_json(value: serde_json::Value) -> Self {
        Self(Repr::Value(Arc::new(value)))
    }

    /// Stored bytes read as JSON when they parse as JSON (lazily), as bytes otherwise.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self::stored(bytes, PayloadFormat::Json)
    }

    /// Stored bytes in the given format; parsed lazily, on first access.
    #[must_use]
    pub fn stored(bytes: &[u8], format: PayloadFormat) -> Self {
        Self(Repr::Stored(Arc::new(Stored {
            format,
            parsed: OnceLock::new(),
            bytes: StoredBytes::new(bytes),
        })))
    }

    /// True when nothing is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        matches!(self.0, Repr::Empty)
    }

    /// The JSON value (library typed values decoded), if this payload is JSON. Parses and
    /// decodes the stored bytes on the first call (of any clone); later calls are free.
    #[must_use]
    pub fn as_json(&self) -> Option<&serde_json::Value> {
        match &self.0 {
            Repr::Empty => None,
            Repr::Value(value) => Some(value),
            Repr::Stored(stored) => match stored.parsed() {
                Parsed::NotJson => None,
                Parsed::Json { stored, decoded } => Some(decoded.as_ref().unwrap_or(stored)),
            },
        }
    }

    /// The JSON exactly as stored (typed values not decoded), if this payload is JSON;
    /// the same as [`Payload::as_json`] unless [`Payload::is_decoded`].
    #[must_use]
    pub fn stored_json(&self) -> Option<&serde_json::Value> {
        match &self.0 {
            Repr::Empty => None,
            Repr::Value(value) => Some(value),
            Repr::Stored(stored) => match stored.parsed() {
                Parsed::NotJson => None,
                Parsed::Json { stored, .. } => Some(stored),
            },
        }
    }

    /// True when the payload is JSON (parses it, see [`Payload::as_json`]).
    #[must_use]
    pub fn is_json(&self) -> bool {
        self.as_json().is_some()
    }

    /// True when library typed values were decoded, so [`Payload::as_json`] differs from
    /// the stored form ([`Payload::stored_json`]). Parses the payload.
    #[must_use]
    pub fn is_decoded(&self) -> bool {
        match &self.0 {
            Repr::Stored(stored) => {
                matches!(
                    stored.parsed(),
                    Parsed::Json {
                        decoded: Some(_),
                        ..
                    }
                )
            }
            Repr::Empty | Repr::Value(_) => false,
        }
    }

    /// True when the JSON accessors return without parsing (already parsed, or nothing to
    /// parse): what the UI thread checks before it looks inside a payload.
    #[must_use]
    pub fn is_parsed(&self) -> bool {
        match &self.0 {
            Repr::Stored(stored) => stored.parsed.get().is_some(),
            Repr::Empty | Repr::Value(_) => true,
        }
    }

    /// The bytes as stored; `None` when empty or built from a value.
    #[must_use]
    pub fn raw_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Stored(stored) => Some(&stored.bytes),
            Repr::Empty | Repr::Value(_) => None,
        }
    }

    /// The bytes as stored when they are to be read as plain JSON (format
    /// [`PayloadFormat::Json`]), for readers that pick a few fields out of them without
    /// building a value; `None` otherwise.
    #[must_use]
    pub fn plain_json_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Stored(stored) if stored.format == PayloadFormat::Json => Some(&stored.bytes),
            _ => None,
        }
    }

    /// The bytes as stored, when they are UTF-8 text.
    #[must_use]
    pub fn raw_text(&self) -> Option<&str> {
        self.raw_bytes()
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
    }

    /// A JSON rendering for CLI output: JSON as is (typed values decoded), bytes as
    /// `{"$bytes": {"len": N, "hex": "..."}}`, empty as `null`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        self.json_or_bytes(self.as_json())
    }

    /// Like [`Payload::to_json`], with the JSON as stored (typed values not decoded).
    #[must_use]
    pub fn to_stored_json(&self) -> serde_json::Value {
        self.json_or_bytes(self.stored_json())
    }

    fn json_or_bytes(&self, json: Option<&serde_json::Value>) -> serde_json::Value {
        match (json, self.raw_bytes()) {
            (Some(value), _) => value.clone(),
            (None, Some(bytes)) => bytes_json(bytes),
            (None, None) => serde_json::Value::Null,
        }
    }

    /// Serialises as [`Payload::to_json`] (or, with `stored`, [`Payload::to_stored_json`])
    /// would, writing stored JSON text through as it is when it is valid single-line JSON
    /// and has nothing to decode — no parse into a value and no re-serialisation.
    #[must_use]
    pub fn serialize_as(&self, stored: bool) -> impl Serialize + '_ {
        PayloadJson {
            payload: self,
            stored,
        }
    }

    /// The stored text when it can be written into JSON output as it is.
    fn pass_through_text(&self, stored_form: bool) -> Option<&serde_json::value::RawValue> {
        let Repr::Stored(stored) = &self.0 else {
            return None;
        };
        let bytes = &stored.bytes;
        let as_stored = match stored.format {
            PayloadFormat::Bytes => return None,
            PayloadFormat::Json => true,
            PayloadFormat::EventsourcingJson => stored_form || !may_hold_typed_values(bytes),
        };
        if !as_stored || bytes.contains(&b'\n') || bytes.contains(&b'\r') {
            return None;
        }
        if matches!(
            stored.parsed.get().map(AsRef::as_ref),
            Some(Parsed::NotJson)
        ) {
            return None;
        }
        // Validation without a value accepts what a value refuses: numbers out of range and
        // lone surrogates. Text that may hold either is left to the value path.
        if stored.parsed.get().is_none() && may_be_refused_as_value(bytes) {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        // Validates without building a value.
        serde_json::from_str::<&serde_json::value::RawValue>(text).ok()
    }

    /// Approximate size in bytes (for truncation decisions in views).
    #[must_use]
    pub fn approx_len(&self) -> usize {
        match &self.0 {
            Repr::Empty => 0,
            Repr::Stored(stored) => stored.bytes.len(),
            Repr::Value(value) => approx_json_len(value),
        }
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Self::from_json(value)
    }
}

/// Payloads are equal when they show the same thing: both empty, the same (decoded) JSON,
/// or the same bytes that are not JSON.
impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        match (self.is_empty(), other.is_empty()) {
            (true, true) => return true,
            (false, false) => {}
            _ => return false,
        }
        match (self.as_json(), other.as_json()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.raw_bytes() == other.raw_bytes(),
            _ => false,
        }
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Repr::Empty => f.write_str("Payload::Empty"),
            Repr::Value(value) => f.debug_tuple("Payload::Json").field(value).finish(),
            Repr::Stored(stored) => {
                let mut out = f.debug_struct("Payload::Stored");
                out.field("format", &stored.format);
                match std::str::from_utf8(&stored.bytes) {
                    Ok(text) => out.field("text", &text),
                    Err(_) => out.field("hex", &hex(&stored.bytes)),
                };
                out.field("parsed", &stored.parsed.get().is_some()).finish()
            }
        }
    }
}

/// The shown form of a payload in JSON output (see [`Payload::serialize_as`]).
impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_as(false).serialize(serializer)
    }
}

struct PayloadJson<'a> {
    payload: &'a Payload,
    stored: bool,
}

impl Serialize for PayloadJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(raw) = self.payload.pass_through_text(self.stored) {
            return raw.serialize(serializer);
        }
        let json = if self.stored {
            self.payload.stored_json()
        } else {
            self.payload.as_json()
        };
        match (json, self.payload.raw_bytes()) {
            (Some(value), _) => value.serialize(serializer),
            (None, Some(bytes)) => bytes_json(bytes).serialize(serializer),
            (None, None) => serializer.serialize_unit(),
        }
    }
}

fn bytes_json(bytes: &[u8]) -> serde_json::Value {
    serde_json::json!({ "$bytes": { "len": bytes.len(), "hex": hex(bytes) } })
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
    /// The payload (library typed values decoded on access; the stored form is
    /// [`Payload::stored_json`]).
    pub payload: Payload,
    /// Metadata.
    pub metadata: Payload,
    /// Correlation id extracted from the metadata.
    pub correlation_id: Option<String>,
    /// Causation id extracted from the metadata.
    pub causation_id: Option<String>,
    /// The event type exactly as the store keeps it, when it differs from the shown
    /// [`Event::event_type`] (Python `eventsourcing` stores the topic
    /// `module:Class.Event` and shows `Class.Event`); `None` when the two are the same.
    pub stored_type: Option<String>,
    /// Fields of the stored row that could not be read (each field is decoded on its own:
    /// an unreadable one is left empty here and described, with its raw value, instead of
    /// failing the page).
    pub problems: Vec<FieldProblem>,
}

/// A field of a stored event (or of its row) that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// Which field (`stream_version`, `recorded_at`, `payload` …).
    pub field: String,
    /// What was wrong with it ("NULL", "text, not a number" …).
    pub problem: String,
    /// The stored value as text (hex for bytes that are not text), when there was one.
    pub raw: Option<String>,
}

impl FieldProblem {
    /// A problem with `field` (a key of [`Event::to_json`]).
    #[must_use]
    pub fn new(field: &str, problem: impl Into<String>, raw: Option<String>) -> Self {
        Self {
            field: field.to_owned(),
            problem: problem.into(),
            raw,
        }
    }

    /// Stored bytes as the `raw` of a problem: the text when they are UTF-8, else hex.
    #[must_use]
    pub fn raw_of_bytes(bytes: &[u8]) -> String {
        std::str::from_utf8(bytes).map_or_else(|_| hex(bytes), str::to_owned)
    }
}

/// An event type as shown and as stored (the same for most stores).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EventTypeName {
    /// The type as shown (Python `eventsourcing`: `Class.Event`).
    pub shown: String,
    /// The type as the store keeps it (Python `eventsourcing`: `module:Class.Event`).
    pub stored: String,
}

impl Event {
    /// The event type as the store keeps it ([`Event::stored_type`], else the shown type).
    #[must_use]
    pub fn stored_type(&self) -> &str {
        self.stored_type.as_deref().unwrap_or(&self.event_type)
    }

    /// Whether `name` names this event's type, in its shown or its stored form.
    #[must_use]
    pub fn has_type(&self, name: &str) -> bool {
        self.event_type == name || self.stored_type.as_deref() == Some(name)
    }

    /// The JSON object printed by `eventscope events|log --json`: the fields in a fixed
    /// order, `stored_type` (the type as stored; the same as `event_type` for most stores)
    /// after `event_type`, and, only when some fields could not be read, those fields as
    /// `null` and a `problems` list (`[{field, problem, raw}]`) at the end.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_with(false)
    }

    fn to_json_with(&self, stored_payload: bool) -> serde_json::Value {
        let payload = if stored_payload {
            self.payload.to_stored_json()
        } else {
            self.payload.to_json()
        };
        let mut value = serde_json::json!({
            "global_position": self.global_position,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "stored_type": self.stored_type(),
            "schema_version": self.schema_version,
            "recorded_at": self.recorded_at.map(crate::core::time::format_rfc3339),
            "payload": payload,
            "metadata": self.metadata.to_json(),
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        });
        if !self.problems.is_empty()
            && let Some(object) = value.as_object_mut()
        {
            for problem in &self.problems {
                if let Some(field) = object.get_mut(&problem.field) {
                    *field = serde_json::Value::Null;
                }
            }
            object.insert(
                "problems".to_owned(),
                serde_json::to_value(&self.problems).unwrap_or_default(),
            );
        }
        value
    }

    /// Whether the field `field` (a key of [`Event::to_json`]) could not be read.
    #[must_use]
    pub fn is_unreadable(&self, field: &str) -> bool {
        self.problems.iter().any(|p| p.field == field)
    }

    /// The object of [`Event::to_json`] as one line of JSON text, written straight from
    /// the stored payload and metadata text where nothing needs decoding (see
    /// [`Payload::serialize_as`]); with `stored_payload`, the payload as stored.
    ///
    /// # Errors
    /// Only if serialisation fails (it does not for these types).
    pub fn to_json_line(&self, stored_payload: bool) -> serde_json::Result<String> {
        if !self.problems.is_empty() {
            // Rare: rows with unreadable fields go through the value.
            return serde_json::to_string(&self.to_json_with(stored_payload));
        }
        serde_json::to_string(&EventLine {
            global_position: self.global_position,
            stream_id: &self.stream_id,
            stream_version: self.stream_version,
            event_id: self.event_id.as_deref(),
            event_type: &self.event_type,
            stored_type: self.stored_type(),
            schema_version: self.schema_version,
            recorded_at: self.recorded_at.map(crate::core::time::format_rfc3339),
            payload: self.payload.serialize_as(stored_payload),
            metadata: self.metadata.serialize_as(false),
            correlation_id: self.correlation_id.as_deref(),
            causation_id: self.causation_id.as_deref(),
        })
    }
}

/// The fields of [`Event::to_json`], in the same order.
#[derive(Serialize)]
struct EventLine<'a, P: Serialize, M: Serialize> {
    global_position: u64,
    stream_id: &'a str,
    stream_version: u64,
    event_id: Option<&'a str>,
    event_type: &'a str,
    stored_type: &'a str,
    schema_version: Option<u32>,
    recorded_at: Option<String>,
    payload: P,
    metadata: M,
    correlation_id: Option<&'a str>,
    causation_id: Option<&'a str>,
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
    /// The category this checkpoint follows, when it reads one category only (a Message DB
    /// consumer's `account:position-…` stream follows `account`): its lag counts only the
    /// events of that category. `None`: it follows the whole log.
    pub category: Option<String>,
    /// Per partition, for a checkpoint over a partitioned log (a Kafka consumer group's
    /// committed offsets on one topic); empty for every other store.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<PartitionLag>,
}

/// A consumer group's position on one partition of a topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    /// The partition.
    pub partition: i32,
    /// The committed offset (the next record to consume), `None` when none is committed.
    pub committed: Option<i64>,
    /// The partition's high watermark (from a fetch response).
    pub high_watermark: i64,
    /// Records between the committed offset (or the partition's start) and the high
    /// watermark.
    pub lag_events: u64,
}

impl Checkpoint {
    /// A checkpoint of the whole log with no write time or upstream known.
    #[must_use]
    pub fn new(name: String, position: u64) -> Self {
        Self {
            name,
            position,
            updated_at: None,
            upstream: None,
            category: None,
            partitions: Vec::new(),
        }
    }
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
    /// Number of events; `None` when the store cannot tell without reading its whole log
    /// (KurrentDB with the stream list from the `$streams` projection).
    pub event_count: Option<u64>,
    /// Highest global position (0 when empty).
    pub head_position: u64,
    /// Number of stored snapshots.
    pub snapshot_count: u64,
    /// Names of the checkpoints the store keeps.
    pub checkpoint_names: Vec<String>,
    /// The other applications or schemas with a store in the same file or database, each
    /// opened with `location#name` (empty for most stores).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TYPED: &str = r#"{"amount": {"_type_": "decimal_str", "_data_": "12.30"}, "n": 1}"#;

    #[test]
    fn parses_lazily_once_and_shares_the_result_between_clones() {
        let payload = Payload::from_bytes(br#"{"a": [1, 2], "b": "x"}"#);
        let clone = payload.clone();
        assert!(!payload.is_parsed());
        assert_eq!(payload.raw_text(), Some(r#"{"a": [1, 2], "b": "x"}"#));
        assert_eq!(payload.as_json(), Some(&json!({"a": [1, 2], "b": "x"})));
        assert!(payload.is_parsed() && clone.is_parsed());
        assert!(std::ptr::eq(
            payload.as_json().unwrap(),
            clone.as_json().unwrap()
        ));
        assert!(payload.is_json() && !payload.is_decoded());
        assert_eq!(payload.stored_json(), payload.as_json());
    }

    #[test]
    fn not_json_stays_bytes() {
        for bytes in [&b"plain text"[..], &[0xff, 0xfe, 0x00], b"", b"{\"open\": "] {
            let payload = Payload::from_bytes(bytes);
            assert!(!payload.is_json() && !payload.is_empty());
            assert_eq!(payload.raw_bytes(), Some(bytes));
            assert_eq!(payload.to_json()["$bytes"]["len"], bytes.len());
        }
        let opaque = Payload::stored(b"{}", PayloadFormat::Bytes);
        assert!(!opaque.is_json());
        assert_eq!(opaque.to_json()["$bytes"]["hex"], "7b7d");
        let empty = Payload::empty();
        assert!(empty.is_empty() && !empty.is_json() && empty.is_parsed());
        assert_eq!(empty.to_json(), serde_json::Value::Null);
        assert_eq!(empty, Payload::default());
    }

    #[test]
    fn eventsourcing_typed_values_decoded_on_access() {
        let payload = Payload::stored(TYPED.as_bytes(), PayloadFormat::EventsourcingJson);
        assert_eq!(payload.as_json(), Some(&json!({"amount": "12.30", "n": 1})));
        assert_eq!(
            payload.stored_json(),
            Some(&json!({"amount": {"_type_": "decimal_str", "_data_": "12.30"}, "n": 1}))
        );
        assert!(payload.is_decoded());
        assert_eq!(payload.to_stored_json()["amount"]["_data_"], "12.30");
        // The same bytes read as plain JSON are not decoded.
        let plain = Payload::from_bytes(TYPED.as_bytes());
        assert!(!plain.is_decoded());
        assert_eq!(plain.as_json(), plain.stored_json());
        // Nothing typed: nothing decoded.
        let untyped = Payload::stored(br#"{"n": 1}"#, PayloadFormat::EventsourcingJson);
        assert!(untyped.is_json() && !untyped.is_decoded());
    }

    #[test]
    fn from_json_and_equality() {
        let built = Payload::from_json(json!({"n": 1}));
        assert!(built.is_parsed() && built.is_json() && built.raw_bytes().is_none());
        assert_eq!(built, Payload::from_bytes(br#"{ "n" : 1 }"#));
        assert_eq!(Payload::from(json!({"n": 1})), built);
        assert_ne!(built, Payload::from_bytes(br#"{"n": 2}"#));
        assert_ne!(Payload::empty(), Payload::from_bytes(b""));
        assert_eq!(
            Payload::from_bytes(&[0xff, 0x01]),
            Payload::stored(&[0xff, 0x01], PayloadFormat::Bytes)
        );
        assert_eq!(
            Payload::stored(TYPED.as_bytes(), PayloadFormat::EventsourcingJson),
            Payload::from_json(json!({"amount": "12.30", "n": 1}))
        );
    }

    /// Found by the `payload` fuzz target: text serde_json validates but will not build a
    /// value of was written through as it was stored, while the value path (and the same
    /// payload once parsed) showed it as bytes.
    #[test]
    fn json_output_is_the_same_before_and_after_parsing() {
        let line =
            |p: &Payload, stored: bool| serde_json::to_string(&p.serialize_as(stored)).unwrap();
        for text in [
            r#"{"a": 1e400}"#,
            r#"{"a": -1E+309}"#,
            r#"{"b": "\ud800"}"#,
            r#"{"b": "\udc00x"}"#,
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([format!("[{}]", "9".repeat(400))])
        {
            for format in [PayloadFormat::Json, PayloadFormat::EventsourcingJson] {
                let fresh = Payload::stored(text.as_bytes(), format);
                let before = line(&fresh, false);
                assert!(!fresh.is_json(), "{text}");
                assert_eq!(before, line(&fresh, false), "{text}");
                assert!(before.contains("$bytes"), "{text}: {before}");
            }
        }
        // Numbers and escapes that do parse still read the same either way.
        for text in [r#"{"a": 1.5e3, "b": "\u00e9"}"#, r#"[1e308]"#] {
            let fresh = Payload::from_bytes(text.as_bytes());
            let before = line(&fresh, false);
            assert!(fresh.is_json());
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&before).unwrap(),
                *fresh.as_json().unwrap()
            );
        }
    }

    #[test]
    fn json_output_writes_stored_text_through_or_re_serialises() {
        let line =
            |p: &Payload, stored: bool| serde_json::to_string(&p.serialize_as(stored)).unwrap();
        // Plain JSON on one line: the stored text as it is, without parsing it.
        let text = r#"{"b": 1.50, "a": "x"}"#;
        let payload = Payload::from_bytes(text.as_bytes());
        assert_eq!(line(&payload, false), text);
        assert!(!payload.is_parsed());
        // Over several lines: compact, re-serialised (JSON Lines stay one line per event).
        let multi = Payload::from_bytes(b"{\n  \"a\": 1\n}");
        assert_eq!(line(&multi, false), r#"{"a":1}"#);
        // Typed values: decoded, or the stored text when asked for the stored form.
        let typed = Payload::stored(TYPED.as_bytes(), PayloadFormat::EventsourcingJson);
        assert_eq!(line(&typed, false), r#"{"amount":"12.30","n":1}"#);
        assert_eq!(line(&typed, true), TYPED);
        // Not JSON, empty, built values.
        assert_eq!(
            line(&Payload::from_bytes(b"{oops"), false),
            r#"{"$bytes":{"len":5,"hex":"7b6f6f7073"}}"#
        );
        assert_eq!(line(&Payload::empty(), false), "null");
        assert_eq!(line(&Payload::from_json(json!([1])), false), "[1]");
        // The line and the value agree.
        for p in [payload, multi, typed, Payload::from_bytes(b"\xff")] {
            let parsed: serde_json::Value = serde_json::from_str(&line(&p, false)).unwrap();
            assert_eq!(parsed, p.to_json());
        }
    }

    #[test]
    fn event_json_line_matches_to_json() {
        let event = Event {
            global_position: 7,
            stream_id: "order-1".to_owned(),
            stream_version: 2,
            event_id: Some("e-7".to_owned()),
            event_type: "OrderPlaced".to_owned(),
            schema_version: Some(2),
            recorded_at: crate::core::time::parse_timestamp("2024-01-02T11:33:24Z"),
            payload: Payload::stored(TYPED.as_bytes(), PayloadFormat::EventsourcingJson),
            metadata: Payload::from_bytes(br#"{"correlation_id": "c-1"}"#),
            correlation_id: Some("c-1".to_owned()),
            causation_id: None,
            stored_type: None,
            problems: Vec::new(),
        };
        let line = event.to_json_line(false).unwrap();
        assert!(line.starts_with(r#"{"global_position":7,"stream_id":"order-1","#));
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed, event.to_json());
        let stored: serde_json::Value =
            serde_json::from_str(&event.to_json_line(true).unwrap()).unwrap();
        assert_eq!(stored["payload"]["amount"]["_type_"], "decimal_str");
    }

    #[test]
    fn unreadable_fields_print_as_null_with_their_problems() {
        let mut event = Event {
            global_position: 9,
            stream_id: "order-1".to_owned(),
            stream_version: 0,
            event_id: None,
            event_type: "Placed".to_owned(),
            schema_version: None,
            recorded_at: None,
            payload: Payload::from_bytes(br#"{"n": 1}"#),
            metadata: Payload::empty(),
            correlation_id: None,
            causation_id: None,
            stored_type: Some("shop:Order.Placed".to_owned()),
            problems: Vec::new(),
        };
        let clean = event.to_json();
        assert_eq!(clean["stored_type"], "shop:Order.Placed");
        assert_eq!(clean["stream_version"], 0);
        assert!(clean.get("problems").is_none());
        event.problems = vec![
            FieldProblem {
                field: "stream_version".to_owned(),
                problem: "text, not a number".to_owned(),
                raw: Some("two".to_owned()),
            },
            FieldProblem {
                field: "recorded_at".to_owned(),
                problem: "not a time".to_owned(),
                raw: Some("yesterday".to_owned()),
            },
        ];
        assert!(event.is_unreadable("recorded_at") && !event.is_unreadable("payload"));
        let bad = event.to_json();
        assert_eq!(bad["stream_version"], serde_json::Value::Null);
        assert_eq!(bad["recorded_at"], serde_json::Value::Null);
        assert_eq!(bad["payload"], json!({"n": 1}));
        assert_eq!(
            bad["problems"],
            json!([
                {"field": "stream_version", "problem": "text, not a number", "raw": "two"},
                {"field": "recorded_at", "problem": "not a time", "raw": "yesterday"},
            ])
        );
        let line: serde_json::Value =
            serde_json::from_str(&event.to_json_line(false).unwrap()).unwrap();
        assert_eq!(line, bad);
        // The keys stay in the documented order, problems last.
        let text = event.to_json_line(false).unwrap();
        let order: Vec<usize> = [
            "\"event_type\"",
            "\"stored_type\"",
            "\"schema_version\"",
            "\"problems\"",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn payload_is_send_sync_and_debug() {
        fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
        check::<Payload>();
        check::<Event>();
        let debug = format!("{:?}", Payload::from_bytes(br#"{"a":1}"#));
        assert!(debug.contains(r#"{\"a\":1}"#), "{debug}");
        assert_eq!(format!("{:?}", Payload::empty()), "Payload::Empty");
    }
}
