//! Evidence bundles for auditors: "the state of stream S at version V / as of time T", with
//! the reducer used (its source and hash), the resulting state, and every event used with a
//! SHA-256 over its canonical bytes — enough to reproduce the answer and check it later
//! ([`verify`]).
//!
//! Canonical bytes of an event: the JSON object
//! `{"event_id","metadata","payload","position","recorded_at","stream_id","type","version"}`
//! with keys sorted at every level, no whitespace, numbers as written, strings escaped as
//! JSON requires; `payload` is the payload as stored (before typed values were decoded).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::pipeline::ReadPlan;
use super::{ReduceError, ReduceResult, Reducer, ReducerInfo, sha256_hex};
use crate::core::event::Event;
use crate::core::query::{Direction, MAX_PAGE};
use crate::core::source::EventSource;

/// Bundle format version.
pub const FORMAT: &str = "eventscope-evidence/1";

/// The question asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Store location as given.
    pub store: String,
    /// Stream.
    pub stream_id: String,
    /// Version asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// "As of" time asked for (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// One event used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventUsed {
    /// Global position.
    pub position: u64,
    /// Stream version.
    pub version: u64,
    /// Event id.
    pub event_id: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Recorded time.
    pub recorded_at: Option<String>,
    /// SHA-256 of the canonical bytes.
    pub sha256: String,
}

/// The bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// Format marker.
    pub format: String,
    /// When the bundle was made.
    pub generated_at: String,
    /// eventscope version.
    pub generator: String,
    /// The question.
    pub question: Question,
    /// Reducer used.
    pub reducer: ReducerRecord,
    /// The answer.
    pub answer: Answer,
    /// Events used, in order.
    pub events: Vec<EventUsed>,
    /// SHA-256 over the concatenated per-event hashes (hex text, in order).
    pub events_sha256: String,
    /// How the canonical bytes are formed.
    pub canonical_form: String,
}

/// Reducer as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReducerRecord {
    /// Kind.
    pub kind: String,
    /// Label.
    pub label: String,
    /// SHA-256 of the source.
    pub sha256: String,
    /// Source text.
    pub source: String,
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// Version the state is at (0 = no event yet).
    pub version: u64,
    /// Time of that event.
    pub recorded_at: Option<String>,
    /// The state.
    pub state: Value,
    /// SHA-256 of the state's canonical JSON.
    pub state_sha256: String,
}

/// Writes a JSON value canonically (sorted keys, no whitespace). Iterative.
#[must_use]
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(&mut out, value);
    into_string(out)
}

fn into_string(bytes: Vec<u8>) -> String {
    // Always UTF-8 (JSON text from `serde_json`); the lossy branch never runs.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Appends `value` canonically to `out`.
fn write_canonical(out: &mut Vec<u8>, value: &Value) {
    enum Item<'a> {
        Value(&'a Value),
        Raw(&'static str),
        Key(&'a str),
    }
    let mut stack = vec![Item::Value(value)];
    while let Some(item) = stack.pop() {
        match item {
            Item::Raw(s) => out.extend_from_slice(s.as_bytes()),
            Item::Key(k) => {
                // A string never fails to serialise.
                serde_json::to_writer(&mut *out, k).ok();
                out.push(b':');
            }
            Item::Value(v) => match v {
                Value::Array(items) => {
                    out.push(b'[');
                    stack.push(Item::Raw("]"));
                    for (i, item) in items.iter().enumerate().rev() {
                        stack.push(Item::Value(item));
                        if i > 0 {
                            stack.push(Item::Raw(","));
                        }
                    }
                }
                Value::Object(map) => {
                    out.push(b'{');
                    stack.push(Item::Raw("}"));
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    for (i, (key, v)) in entries.into_iter().enumerate().rev() {
                        stack.push(Item::Value(v));
                        stack.push(Item::Key(key));
                        if i > 0 {
                            stack.push(Item::Raw(","));
                        }
                    }
                }
                other => {
                    serde_json::to_writer(&mut *out, other).ok();
                }
            },
        }
    }
}

/// Canonical bytes of an event (see the module docs).
#[must_use]
pub fn canonical_event(event: &Event) -> String {
    // The keys of the event object, already in sorted order; payload and metadata are
    // written from the parsed values without copying them.
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"event_id\":");
    serde_json::to_writer(&mut out, &event.event_id).ok();
    out.extend_from_slice(b",\"metadata\":");
    match event.metadata.as_json() {
        Some(value) => write_canonical(&mut out, value),
        None => write_canonical(&mut out, &event.metadata.to_json()),
    }
    out.extend_from_slice(b",\"payload\":");
    match event.payload.stored_json() {
        Some(value) => write_canonical(&mut out, value),
        None => write_canonical(&mut out, &event.payload.to_stored_json()),
    }
    out.extend_from_slice(b",\"position\":");
    serde_json::to_writer(&mut out, &event.global_position).ok();
    out.extend_from_slice(b",\"recorded_at\":");
    let recorded_at = event.recorded_at.map(crate::core::time::format_rfc3339);
    serde_json::to_writer(&mut out, &recorded_at).ok();
    out.extend_from_slice(b",\"stream_id\":");
    serde_json::to_writer(&mut out, &event.stream_id).ok();
    out.extend_from_slice(b",\"type\":");
    serde_json::to_writer(&mut out, &event.event_type).ok();
    out.extend_from_slice(b",\"version\":");
    serde_json::to_writer(&mut out, &event.stream_version).ok();
    out.push(b'}');
    into_string(out)
}

/// The canonical bytes as [`canonical_event`] wrote them before it skipped the copies (the
/// reference it must equal; for tests).
#[cfg(test)]
pub(crate) fn canonical_event_reference(event: &Event) -> String {
    let object = serde_json::json!({
        "event_id": event.event_id,
        "metadata": event.metadata.to_json(),
        "payload": event.payload.to_stored_json(),
        "position": event.global_position,
        "recorded_at": event.recorded_at.map(crate::core::time::format_rfc3339),
        "stream_id": event.stream_id,
        "type": event.event_type,
        "version": event.stream_version,
    });
    canonical_json(&object)
}

fn used(event: &Event) -> EventUsed {
    EventUsed {
        position: event.global_position,
        version: event.stream_version,
        event_id: event.event_id.clone(),
        event_type: event.event_type.clone(),
        recorded_at: event.recorded_at.map(crate::core::time::format_rfc3339),
        sha256: sha256_hex(canonical_event(event).as_bytes()),
    }
}

fn events_hash(events: &[EventUsed]) -> String {
    let mut all = String::with_capacity(events.len() * 64);
    for e in events {
        all.push_str(&e.sha256);
    }
    sha256_hex(all.as_bytes())
}

/// Which point of the stream to answer for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The last event with version ≤ V.
    Version(u64),
    /// The last event recorded at or before T.
    AsOf(DateTime<Utc>),
    /// The latest event.
    Latest,
}

/// The state of a stream at a target, without evidence (what `state` prints).
#[derive(Clone, Debug, PartialEq)]
pub struct StateAt {
    /// The stream, as the store names it.
    pub stream_id: String,
    /// Version the state is at (0 = no event yet).
    pub version: u64,
    /// Time of that event (RFC 3339).
    pub recorded_at: Option<String>,
    /// The state.
    pub state: Value,
}

/// Folds a stream from the reducer's initial state up to a target in one forward pass (a
/// reader thread reads ahead, see [`super::pipeline`]), calling `on_event` for each event
/// applied. No hashing: that is [`build`]'s `on_event`.
///
/// # Errors
/// Reading errors, reducer errors, cancellation.
pub fn fold_to(
    source: &dyn EventSource,
    stream_id: &str,
    target: Target,
    reducer: &mut dyn Reducer,
    on_event: &mut dyn FnMut(&Event),
) -> ReduceResult<StateAt> {
    let info = source
        .stream(stream_id)?
        .ok_or_else(|| ReduceError::Source(format!("stream not found: {stream_id}")))?;
    let stream_id = info.stream_id;
    reducer.reset(None)?;
    let mut last_seen: Option<(u64, Option<DateTime<Utc>>)> = None;
    let plan = ReadPlan {
        from: None,
        until: match target {
            Target::Version(v) => Some(v),
            Target::AsOf(_) | Target::Latest => None,
        },
    };
    super::pipeline::for_each_event(source, &stream_id, plan, &mut |event| {
        let include = match target {
            Target::Version(v) => event.stream_version <= v,
            Target::AsOf(at) => event.recorded_at.is_some_and(|t| t <= at),
            Target::Latest => true,
        };
        if !include {
            // Versions are ordered; times normally are too. Stop at the first event past
            // the target.
            return Ok(false);
        }
        reducer.apply(event)?;
        on_event(event);
        last_seen = Some((event.stream_version, event.recorded_at));
        Ok(true)
    })?;
    let state = reducer.state()?;
    let (version, recorded_at) = last_seen.unwrap_or((0, None));
    Ok(StateAt {
        stream_id,
        version,
        recorded_at: recorded_at.map(crate::core::time::format_rfc3339),
        state,
    })
}

/// Folds a stream up to a target (full replay from the reducer's initial state) and returns
/// the bundle.
///
/// # Errors
/// Reading errors, reducer errors, cancellation.
pub fn build(
    source: &Arc<dyn EventSource>,
    store: &str,
    stream_id: &str,
    target: Target,
    reducer: &mut dyn Reducer,
) -> ReduceResult<Bundle> {
    let mut events_used = Vec::new();
    let answer = fold_to(source.as_ref(), stream_id, target, reducer, &mut |event| {
        events_used.push(used(event));
    })?;
    let reducer_info: &ReducerInfo = reducer.info();
    Ok(Bundle {
        format: FORMAT.to_owned(),
        generated_at: crate::core::time::format_rfc3339(Utc::now()),
        generator: format!("eventscope {}", env!("CARGO_PKG_VERSION")),
        question: Question {
            store: store.to_owned(),
            stream_id: answer.stream_id,
            version: match target {
                Target::Version(v) => Some(v),
                _ => None,
            },
            as_of: match target {
                Target::AsOf(at) => Some(crate::core::time::format_rfc3339(at)),
                _ => None,
            },
        },
        reducer: ReducerRecord {
            kind: format!("{:?}", reducer_info.kind).to_lowercase(),
            label: reducer_info.label.clone(),
            sha256: reducer_info.sha256.clone(),
            source: reducer_info.source.clone(),
        },
        answer: Answer {
            version: answer.version,
            recorded_at: answer.recorded_at,
            state_sha256: sha256_hex(canonical_json(&answer.state).as_bytes()),
            state: answer.state,
        },
        events_sha256: events_hash(&events_used),
        events: events_used,
        canonical_form: "JSON object {event_id, metadata, payload (as stored), position, \
                         recorded_at (RFC 3339), stream_id, type, version}, keys sorted at \
                         every level, no whitespace; events_sha256 = SHA-256 of the per-event \
                         hex hashes concatenated in order"
            .to_owned(),
    })
}

/// What [`verify`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Problems found (empty = the bundle checks out).
    pub problems: Vec<String>,
    /// Events re-hashed.
    pub events_checked: u64,
    /// Whether the state was recomputed (only when a reducer was given).
    pub state_recomputed: bool,
}

/// Checks a bundle against a store: its own hashes, every event's hash against the store
/// today, and (with a reducer whose source hash matches) the state by replaying again.
///
/// # Errors
/// Reading errors.
pub fn verify(
    bundle: &Bundle,
    source: &Arc<dyn EventSource>,
    reducer: Option<&mut dyn Reducer>,
) -> ReduceResult<Verification> {
    let mut out = Verification::default();
    if bundle.format != FORMAT {
        out.problems.push(format!(
            "unknown format {:?} (expected {FORMAT})",
            bundle.format
        ));
    }
    if events_hash(&bundle.events) != bundle.events_sha256 {
        out.problems
            .push("events_sha256 does not match the listed event hashes".to_owned());
    }
    if sha256_hex(canonical_json(&bundle.answer.state).as_bytes()) != bundle.answer.state_sha256 {
        out.problems
            .push("state_sha256 does not match the state in the bundle".to_owned());
    }
    if sha256_hex(bundle.reducer.source.as_bytes()) != bundle.reducer.sha256 {
        out.problems
            .push("the reducer's sha256 does not match its recorded source".to_owned());
    }
    let stream_id = &bundle.question.stream_id;
    let mut listed = bundle.events.iter();
    let mut next: Option<u64> = None;
    let last_version = bundle.answer.version;
    loop {
        let page = source.read_stream(stream_id, next, Direction::Forwards, MAX_PAGE)?;
        let full = page.len() as u64 >= MAX_PAGE;
        for event in page.iter().filter(|e| e.stream_version <= last_version) {
            let now = used(event);
            out.events_checked += 1;
            match listed.next() {
                Some(then) if then.sha256 == now.sha256 && then.version == now.version => {}
                Some(then) => out.problems.push(format!(
                    "event at version {} differs from the bundle (hash {} now, {} then)",
                    now.version, now.sha256, then.sha256
                )),
                None => out.problems.push(format!(
                    "the store has an event at version {} that the bundle does not list",
                    now.version
                )),
            }
        }
        let Some(tail) = page.last() else { break };
        if tail.stream_version >= last_version || !full {
            break;
        }
        next = Some(tail.stream_version + 1);
    }
    for missing in listed {
        out.problems.push(format!(
            "the bundle lists version {} which the store no longer has",
            missing.version
        ));
    }
    if let Some(reducer) = reducer {
        if reducer.info().sha256 == bundle.reducer.sha256 {
            let target = Target::Version(last_version);
            let again = build(source, &bundle.question.store, stream_id, target, reducer)?;
            out.state_recomputed = true;
            if again.answer.state_sha256 != bundle.answer.state_sha256 {
                out.problems
                    .push("replaying again gives a different state".to_owned());
            }
        } else {
            out.problems.push(format!(
                "the given reducer (sha256 {}) is not the one recorded ({})",
                reducer.info().sha256,
                bundle.reducer.sha256
            ));
        }
    }
    Ok(out)
}
