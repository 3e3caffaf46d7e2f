//! A Kafka record as an [`Event`]: headers are the metadata, the value the payload.
//!
//! - event type: the `type`, `ce_type` or `event_type` header (also `eventType`), else the
//!   topic; a tombstone without one is `(tombstone)`;
//! - correlation / causation ids: the usual keys among the headers (`correlationId`,
//!   `correlation_id`, …);
//! - schema version: the `eventVersion` / `schemaVersion` / `schema_version` header;
//! - event id: the `id`, `ce_id`, `eventId` or `event_id` header;
//! - metadata: `{"headers": {NAME: text}, "kafka": {topic, partition, offset, position,
//!   key, timestamp, tombstone}}`, a header that is not UTF-8 as `{"hex": …}`;
//! - payload: JSON when the value is JSON, else bytes; nothing for a tombstone (null
//!   value).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::core::event::{Event, FieldProblem, Payload, hex};
use crate::core::metadata::IdPaths;

/// Header names that give the event type, in order of preference.
pub const TYPE_HEADERS: [&str; 4] = ["type", "ce_type", "event_type", "eventType"];
/// Header names that give the schema version.
const VERSION_HEADERS: [&str; 3] = ["eventVersion", "schemaVersion", "schema_version"];
/// Header names that give the event id.
const ID_HEADERS: [&str; 4] = ["id", "ce_id", "eventId", "event_id"];
/// The event type of a tombstone that names none.
pub const TOMBSTONE_TYPE: &str = "(tombstone)";

/// The event type of a record: its type header, else the topic (`(tombstone)` for a
/// tombstone without a type header).
#[must_use]
pub fn event_type_of(topic: &str, headers: &BTreeMap<String, Vec<u8>>, tombstone: bool) -> String {
    TYPE_HEADERS
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|value| std::str::from_utf8(value).ok())
        .filter(|value| !value.is_empty())
        .map_or_else(
            || {
                if tombstone {
                    TOMBSTONE_TYPE.to_owned()
                } else {
                    topic.to_owned()
                }
            },
            str::to_owned,
        )
}

/// Where a record sits and what it is shown as.
#[derive(Clone, Copy, Debug)]
pub struct Placement<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The offset in the partition.
    pub offset: i64,
    /// The position in eventscope's merged log (1-based).
    pub global_position: u64,
    /// The ordinal within its key (1-based).
    pub stream_version: u64,
}

/// The record as an event.
#[must_use]
pub fn to_event(
    place: Placement<'_>,
    record: &rskafka::record::Record,
    id_paths: &IdPaths,
) -> Event {
    let tombstone = record.value.is_none();
    let mut problems = Vec::new();
    let mut headers = Map::new();
    for (name, value) in &record.headers {
        let shown = match std::str::from_utf8(value) {
            Ok(text) => Value::String(text.to_owned()),
            Err(_) => json!({ "hex": hex(value) }),
        };
        headers.insert(name.clone(), shown);
    }
    let header_text = |names: &[&'static str]| {
        names.iter().find_map(|name| {
            record
                .headers
                .get(*name)
                .map(|value| (*name, String::from_utf8_lossy(value).into_owned()))
        })
    };
    let schema_version = header_text(&VERSION_HEADERS).and_then(|(name, text)| {
        let version = text.trim().parse::<u32>().ok();
        if version.is_none() {
            problems.push(FieldProblem::new(
                "schema_version",
                format!("the `{name}` header is not a whole number from 0 to 4294967295"),
                Some(text.clone()),
            ));
        }
        version
    });
    let event_id = header_text(&ID_HEADERS)
        .map(|(_, text)| text)
        .filter(|id| !id.is_empty());
    let key = record
        .key
        .as_deref()
        .map_or(Value::Null, |key| Value::String(super::key_text(key)));
    let timestamp: DateTime<Utc> = record.timestamp;
    let metadata = json!({
        "headers": Value::Object(headers),
        "kafka": {
            "topic": place.topic,
            "partition": place.partition,
            "offset": place.offset,
            "position": format!("{}/{}@{}", place.topic, place.partition, place.offset),
            "key": key,
            "timestamp": crate::core::time::format_rfc3339(timestamp),
            "tombstone": tombstone,
        },
    });
    let (correlation_id, causation_id) = id_paths.extract(&metadata);
    Event {
        global_position: place.global_position,
        stream_id: super::stream_id_of(place.topic, record.key.as_deref()),
        stream_version: place.stream_version,
        event_id,
        event_type: event_type_of(place.topic, &record.headers, tombstone),
        schema_version,
        recorded_at: Some(timestamp),
        payload: record
            .value
            .as_deref()
            .map_or_else(Payload::default, Payload::from_bytes),
        metadata: Payload::from_json(metadata),
        correlation_id,
        causation_id,
        stored_type: None,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: Option<&[u8]>, headers: &[(&str, &[u8])]) -> rskafka::record::Record {
        rskafka::record::Record {
            key: Some(b"order-1".to_vec()),
            value: value.map(<[u8]>::to_vec),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
                .collect(),
            timestamp: DateTime::from_timestamp_millis(1_700_000_000_123).unwrap(),
        }
    }

    const PLACE: Placement<'static> = Placement {
        topic: "orders",
        partition: 3,
        offset: 41,
        global_position: 7,
        stream_version: 2,
    };

    #[test]
    fn headers_are_the_metadata() {
        let event = to_event(
            PLACE,
            &record(
                Some(br#"{"total": 5}"#),
                &[
                    ("ce_type", b"OrderPlaced"),
                    ("correlationId", b"c-1"),
                    ("causationId", b"e-0"),
                    ("eventVersion", b"2"),
                    ("bin", &[0xff]),
                ],
            ),
            &IdPaths::default(),
        );
        assert_eq!(event.stream_id, "orders/order-1");
        assert_eq!(event.event_type, "OrderPlaced");
        assert_eq!(event.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(event.causation_id.as_deref(), Some("e-0"));
        assert_eq!(event.schema_version, Some(2));
        assert_eq!(event.payload.as_json().unwrap()["total"], 5);
        let metadata = event.metadata.as_json().unwrap();
        assert_eq!(metadata["kafka"]["position"], "orders/3@41");
        assert_eq!(metadata["headers"]["bin"]["hex"], "ff");
        assert!(event.problems.is_empty());
    }

    #[test]
    fn tombstones_and_bytes() {
        let tombstone = to_event(PLACE, &record(None, &[]), &IdPaths::default());
        assert_eq!(tombstone.event_type, TOMBSTONE_TYPE);
        assert!(tombstone.payload.is_empty());
        assert_eq!(
            tombstone.metadata.as_json().unwrap()["kafka"]["tombstone"],
            true
        );
        let bytes = to_event(
            PLACE,
            &record(Some(&[0, 1, 2]), &[("eventVersion", b"x")]),
            &IdPaths::default(),
        );
        assert_eq!(bytes.event_type, "orders");
        assert!(!bytes.payload.is_json());
        assert_eq!(bytes.problems.len(), 1);
    }
}
