//! The single pass: what every check keeps while the log goes by, and the results.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash as _, Hasher};

use super::walk;
use chrono::{DateTime, Utc};

use super::names::is_change_named;
use super::pii::{self, Kind};
use super::{AuditOptions, Example, MAX_EXAMPLES};
use crate::core::event::Event;
use crate::upcast::version::{VersionSource, detect};

/// A stream of this many events draws a warning…
pub const LONG_STREAM_WARNING: u64 = 10_000;
/// …and one of more than this many an error.
pub const LONG_STREAM_ERROR: u64 = 100_000;
/// Streams of more than this many events should have a snapshot.
pub const SNAPSHOT_AFTER: u64 = 50;
/// A payload this many times its type's median size (and at least [`BIG_PAYLOAD`] bytes)
/// looks like it carries the whole state.
pub const SIZE_FACTOR: u64 = 10;
/// The smallest payload the size rule flags.
pub const BIG_PAYLOAD: u64 = 1_024;
/// A type needs this many events before its median means anything.
pub const MEDIAN_EVENTS: u64 = 20;
/// A `*Updated` / `*Changed` / `*Saved` payload with this many top-level fields carries state.
pub const MANY_FIELDS: usize = 10;
/// Distinct repeated event ids re-checked exactly; repeats beyond are counted by hash.
const ID_CANDIDATES: usize = 100_000;
/// Personal-data groups (kind, type, path) kept.
const PII_GROUPS: usize = 10_000;
/// Distinct id shapes told apart for `causation_unknown` (beyond: ids are free-form).
const ID_SHAPES: usize = 256;
/// Causation ids of any shape kept for the end of the pass (24 bytes each); beyond, only
/// those shaped like the event ids seen so far.
const PENDING_CAUSES: usize = 2_000_000;
/// The shape of an id beyond [`ID_SHAPES`].
const OTHER_SHAPE: u32 = u32::MAX;

/// What `causation_unknown` keeps: the shapes ids come in, and the causation ids no event
/// carried yet when they were met (their parent may come later in the log).
#[derive(Default)]
pub(super) struct Causes {
    /// Id shapes (see [`crate::trace::graph::shape`]), numbered.
    shapes: HashMap<String, u32>,
    /// The shapes event ids come in.
    event_shapes: HashSet<u32>,
    /// (hash of the causation id, its shape, the event's position), in log order. Past
    /// [`PENDING_CAUSES`] only those shaped like an event id when met are kept (memory
    /// stays bounded on stores where every event names a command).
    pending: Vec<(u64, u32, u64)>,
    /// A causation id of another shape than the event ids' (a command) was met.
    other_shape: bool,
    /// Events with a causation id other than their own id.
    pub(super) with_cause: u64,
}

impl Causes {
    fn shape_of(&mut self, id: &str) -> u32 {
        let shape = crate::trace::graph::shape(id);
        if let Some(&n) = self.shapes.get(&shape) {
            return n;
        }
        if self.shapes.len() >= ID_SHAPES {
            return OTHER_SHAPE;
        }
        let n = u32::try_from(self.shapes.len()).unwrap_or(OTHER_SHAPE);
        self.shapes.insert(shape, n);
        n
    }
}

/// A 64-bit hash of an id (the pass keeps hashes, not ids).
fn id_hash(id: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

/// What the pass keeps per stream.
pub(super) struct StreamState {
    pub(super) count: u64,
    /// The highest version so far.
    pub(super) last_version: u64,
    /// The lowest version.
    pub(super) first_version: u64,
    /// Events that repeated the highest version.
    pub(super) repeats: u64,
    pub(super) last_position: u64,
    pub(super) last_time: Option<DateTime<Utc>>,
}

/// Where a stream's versions first skipped (kept only for streams that skip).
pub(super) struct Jump {
    pub(super) example: Example,
}

/// Events of a type without something, and the first of them.
#[derive(Default)]
pub(super) struct Missing {
    pub(super) count: u64,
    pub(super) first: Option<Example>,
}

impl Missing {
    fn add(&mut self, event: &Event) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(Example::of(event, ""));
        }
    }
}

/// What the pass keeps per event type.
pub(super) struct TypeStats {
    pub(super) events: u64,
    pub(super) first: Example,
    pub(super) correlation: Missing,
    pub(super) causation: Missing,
    pub(super) version: Missing,
    /// Payload sizes → events, every event of the type.
    pub(super) sizes: HashMap<u32, u64>,
    /// The same for the events the field rule already counted.
    pub(super) wide_sizes: HashMap<u32, u64>,
    /// The largest payloads (size, example, counted by the field rule), at most
    /// [`MAX_EXAMPLES`].
    pub(super) largest: Vec<(u32, Example, bool)>,
    pub(super) wide: u64,
    pub(super) wide_examples: Vec<Example>,
}

/// A hasher for values that already are hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Findings counted event by event, with their first examples.
#[derive(Default)]
pub(super) struct Found {
    pub(super) count: u64,
    pub(super) examples: Vec<Example>,
}

impl Found {
    pub(super) fn add(&mut self, example: impl FnOnce() -> Example) {
        self.count += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(example());
        }
    }
}

/// The state of the pass.
pub struct Auditor {
    pub(super) options: AuditOptions,
    pub(super) head: u64,
    pub(super) events: u64,
    pub(super) streams: HashMap<Box<str>, StreamState>,
    pub(super) types: HashMap<String, TypeStats>,
    pub(super) jumps: HashMap<Box<str>, Jump>,
    pub(super) duplicates: Found,
    pub(super) order: Found,
    pub(super) backwards: Found,
    ids_seen: HashSet<u64, BuildHasherDefault<PassThrough>>,
    pub(super) with_id: u64,
    pub(super) id_candidates: HashSet<String>,
    pub(super) ids_unchecked: u64,
    pub(super) pii: HashMap<(Kind, String, String), (u64, Example)>,
    pub(super) pii_events: u64,
    pub(super) snapshot_streams: HashSet<String>,
    pub(super) causes: Causes,
    /// Buffers reused from event to event.
    path: String,
    hits: Vec<Hit>,
}

impl Auditor {
    /// A pass up to `head`.
    pub fn new(options: AuditOptions, head: u64) -> Self {
        Self {
            options,
            head,
            events: 0,
            streams: HashMap::new(),
            types: HashMap::new(),
            jumps: HashMap::new(),
            duplicates: Found::default(),
            order: Found::default(),
            backwards: Found::default(),
            ids_seen: HashSet::default(),
            with_id: 0,
            id_candidates: HashSet::new(),
            ids_unchecked: 0,
            pii: HashMap::new(),
            pii_events: 0,
            snapshot_streams: HashSet::new(),
            causes: Causes::default(),
            path: String::new(),
            hits: Vec::new(),
        }
    }

    /// The streams that have stored snapshots.
    pub fn set_snapshot_streams(&mut self, streams: HashSet<String>) {
        self.snapshot_streams = streams;
    }

    /// Looks at the next event of the log (global order).
    pub fn observe(&mut self, event: &Event) {
        self.events += 1;
        let fields = self.inspect_payloads(event);
        self.observe_type(event, fields);
        self.observe_stream(event);
        let duplicates = self.options.wants("duplicate_event_ids");
        let causes = self.options.wants("causation_unknown");
        if (duplicates || causes)
            && let Some(id) = &event.event_id
        {
            let fresh = self.ids_seen.insert(id_hash(id));
            if duplicates {
                self.with_id += 1;
                if !fresh {
                    if self.id_candidates.len() < ID_CANDIDATES {
                        self.id_candidates.insert(id.clone());
                    } else if !self.id_candidates.contains(id) {
                        self.ids_unchecked += 1;
                    }
                }
            }
            if causes {
                let shape = self.causes.shape_of(id);
                self.causes.event_shapes.insert(shape);
            }
        }
        if causes
            && let Some(cause) = &event.causation_id
            && event.event_id.as_ref() != Some(cause)
        {
            self.causes.with_cause += 1;
            let hash = id_hash(cause);
            if !self.ids_seen.contains(&hash) {
                let shape = self.causes.shape_of(cause);
                if self.causes.event_shapes.contains(&shape)
                    || self.causes.pending.len() < PENDING_CAUSES
                {
                    self.causes
                        .pending
                        .push((hash, shape, event.global_position));
                } else {
                    self.causes.other_shape = true;
                }
            }
        }
        if !self.hits.is_empty() {
            self.record_pii(event);
        }
    }

    /// The events whose causation id names no event of the log although it is shaped like
    /// the store's event ids (a lost or never-written parent, as the trace's
    /// "missing parent"): how many, and the positions of the first [`MAX_EXAMPLES`].
    /// Causation ids of other shapes are commands or messages from outside the store; when
    /// every unknown causation id has an event id's shape the two cannot be told apart and
    /// none is counted (as the trace does).
    pub(super) fn unknown_causes(&self) -> (u64, Vec<u64>) {
        let unresolved: Vec<&(u64, u32, u64)> = self
            .causes
            .pending
            .iter()
            .filter(|(hash, _, _)| !self.ids_seen.contains(hash))
            .collect();
        let looks_lost =
            |shape: u32| shape != OTHER_SHAPE && self.causes.event_shapes.contains(&shape);
        if !self.causes.other_shape && !unresolved.iter().any(|(_, shape, _)| !looks_lost(*shape)) {
            return (0, Vec::new());
        }
        let lost: Vec<u64> = unresolved
            .iter()
            .filter(|(_, shape, _)| looks_lost(*shape))
            .map(|(_, _, position)| *position)
            .collect();
        let examples = lost.iter().take(MAX_EXAMPLES).copied().collect();
        (lost.len() as u64, examples)
    }

    /// Walks the payload (and, for personal data, the metadata) once: the payload's
    /// top-level field count, and the personal data found (into `self.hits`).
    fn inspect_payloads(&mut self, event: &Event) -> usize {
        self.hits.clear();
        let pii = self.options.wants("personal_data");
        if !pii && !self.options.wants("state_in_events") {
            return 0;
        }
        let fields = walk_payload(
            &event.payload,
            "payload",
            &mut self.path,
            &mut self.hits,
            pii,
        );
        if pii {
            walk_payload(
                &event.metadata,
                "metadata",
                &mut self.path,
                &mut self.hits,
                pii,
            );
        }
        fields
    }

    fn observe_type(&mut self, event: &Event, fields: usize) {
        let options = &self.options;
        if !self.types.contains_key(&event.event_type) {
            self.types.insert(
                event.event_type.clone(),
                TypeStats {
                    events: 0,
                    first: Example::of(event, ""),
                    correlation: Missing::default(),
                    causation: Missing::default(),
                    version: Missing::default(),
                    sizes: HashMap::new(),
                    wide_sizes: HashMap::new(),
                    largest: Vec::new(),
                    wide: 0,
                    wide_examples: Vec::new(),
                },
            );
        }
        let Some(stats) = self.types.get_mut(&event.event_type) else {
            return;
        };
        stats.events += 1;
        if event.correlation_id.is_none() {
            stats.correlation.add(event);
        }
        if event.causation_id.is_none() {
            stats.causation.add(event);
        }
        if options.wants("missing_schema_version")
            && (event.schema_version.is_none() || options.version_rules.path.is_some())
            && detect(event, &options.version_rules).source == VersionSource::Default
        {
            stats.version.add(event);
        }
        if options.wants("state_in_events") {
            let size = u32::try_from(event.payload.approx_len()).unwrap_or(u32::MAX);
            *stats.sizes.entry(size).or_default() += 1;
            let wide = fields >= MANY_FIELDS && is_change_named(&event.event_type);
            if wide {
                stats.wide += 1;
                *stats.wide_sizes.entry(size).or_default() += 1;
                if stats.wide_examples.len() < MAX_EXAMPLES {
                    stats.wide_examples.push(Example::of(
                        event,
                        format!(
                            "{}: {fields} top-level fields in an event named as a change",
                            event.event_type
                        ),
                    ));
                }
            }
            let smallest = stats.largest.iter().map(|(s, ..)| *s).min();
            if stats.largest.len() < MAX_EXAMPLES || smallest.is_some_and(|s| size > s) {
                if stats.largest.len() >= MAX_EXAMPLES
                    && let Some(at) = stats
                        .largest
                        .iter()
                        .position(|(s, ..)| Some(*s) == smallest)
                {
                    stats.largest.swap_remove(at);
                }
                stats.largest.push((size, Example::of(event, ""), wide));
            }
        }
    }

    fn observe_stream(&mut self, event: &Event) {
        let version = event.stream_version;
        let Some(state) = self.streams.get_mut(event.stream_id.as_str()) else {
            if version > 1 {
                self.jumps.insert(
                    event.stream_id.as_str().into(),
                    Jump {
                        example: Example::of(
                            event,
                            format!("the stream starts at version {version}"),
                        ),
                    },
                );
            }
            self.streams.insert(
                event.stream_id.as_str().into(),
                StreamState {
                    count: 1,
                    last_version: version,
                    first_version: version,
                    repeats: 0,
                    last_position: event.global_position,
                    last_time: event.recorded_at,
                },
            );
            return;
        };
        let last = state.last_version;
        if version == last {
            state.repeats += 1;
            self.duplicates.add(|| {
                Example::of(
                    event,
                    format!(
                        "version {version} again (first at position {})",
                        state.last_position
                    ),
                )
            });
        } else if version < last {
            self.order.add(|| {
                Example::of(
                    event,
                    format!(
                        "version {version} comes after version {last} (position {}) in the log",
                        state.last_position
                    ),
                )
            });
        } else if version > last + 1 && !self.jumps.contains_key(event.stream_id.as_str()) {
            self.jumps.insert(
                event.stream_id.as_str().into(),
                Jump {
                    example: Example::of(event, format!("version {version} follows {last}")),
                },
            );
        }
        state.first_version = state.first_version.min(version);
        if let (Some(time), Some(before)) = (event.recorded_at, state.last_time)
            && time < before
        {
            self.backwards.add(|| {
                Example::of(
                    event,
                    format!(
                        "recorded {} before the event it follows ({}): {} earlier",
                        crate::core::time::format_rfc3339(time),
                        crate::core::time::format_rfc3339(before),
                        humanize(before - time)
                    ),
                )
            });
        }
        state.count += 1;
        if version >= last {
            state.last_version = version;
            state.last_position = event.global_position;
        }
        if event.recorded_at.is_some() {
            state.last_time = event.recorded_at.max(state.last_time);
        }
    }

    fn record_pii(&mut self, event: &Event) {
        let hits = std::mem::take(&mut self.hits);
        self.pii_events += 1;
        let mut seen = HashSet::new();
        for (kind, path, masked) in hits.iter().cloned() {
            let key = (kind, event.event_type.clone(), path);
            if !seen.insert(key.clone()) {
                continue;
            }
            if let Some((count, _)) = self.pii.get_mut(&key) {
                *count += 1;
            } else if self.pii.len() < PII_GROUPS {
                let detail = format!("{} in {} at {}, e.g. {masked}", kind.name(), key.1, key.2);
                self.pii.insert(key, (1, Example::of(event, detail)));
            }
        }
        self.hits = hits;
    }
}

/// Personal data found in one event: kind, path, masked value.
pub(super) type Hit = (Kind, String, String);

/// Walks a payload's text values (from its stored bytes when it is plain JSON not parsed
/// yet, else its value), adding the personal data found to `hits` when `pii`; returns its
/// top-level field count. A payload that turns out not to be JSON adds nothing.
fn walk_payload(
    payload: &crate::core::event::Payload,
    root: &str,
    path: &mut String,
    hits: &mut Vec<Hit>,
    pii: bool,
) -> usize {
    let before = hits.len();
    let mut each = |p: &str, text: &str| {
        if pii && let Some(kind) = pii::classify(text) {
            hits.push((kind, p.to_owned(), pii::mask(kind, text)));
        }
    };
    if !payload.is_parsed()
        && let Some(bytes) = payload.plain_json_bytes()
    {
        let fields = walk::walk_bytes(bytes, root, path, &mut each);
        if fields.is_none() {
            hits.truncate(before);
        }
        return fields.unwrap_or(0);
    }
    let Some(value) = payload.as_json() else {
        return 0;
    };
    path.clear();
    path.push_str(root);
    walk::walk_value(value, path, &mut each);
    value.as_object().map_or(0, serde_json::Map::len)
}

fn humanize(delta: chrono::TimeDelta) -> String {
    let ms = delta.num_milliseconds();
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{} s", ms / 1_000)
    } else if ms < 7_200_000 {
        format!("{} min", ms / 60_000)
    } else {
        format!("{} h", ms / 3_600_000)
    }
}
