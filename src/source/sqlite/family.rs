//! The `events`-table family: the CQRS/ES guide's stores and eventscope's own design
//! layout, recognised by the roles of their columns rather than one column list.
//!
//! * position: `global_position` | `id` | `sequence` | `position`, else the rowid;
//! * stream: `aggregate_id` | `stream_id` | `stream_name`;
//! * version: `version` | `stream_version` | `aggregate_version` | `sequence_number` |
//!   `sequence` (when not the position), else **none**: the 1-based ordinal of the event in
//!   its stream, by position;
//! * time: `created_at` | `timestamp` | `occurred_at` | `recorded_at`, text or number
//!   (naive text times are read as UTC);
//! * optional metadata, event id, schema version (a column, or a key sampled from the
//!   payload or metadata: `version`, `event_version`, `schema_version`, `eventVersion`);
//! * snapshots with or without `schema_version` / `created_at`.

use rusqlite::Connection;

use super::layout::{
    CategoryRule, CheckpointsMap, EventsMap, FieldSource, IdEncoding, Layout, PayloadEncoding,
    Schema, SnapshotsMap, TimeFormat, quote_ident,
};
use crate::core::metadata::IdPaths;

/// The layout of an `events` table of the family, when the file has one.
pub(super) fn design_layout(schema: &Schema) -> Option<Layout> {
    let table = "events";
    let stream_id = schema.first_of(table, &["aggregate_id", "stream_id", "stream_name"])?;
    let event_type = schema.first_of(table, &["event_type", "type"])?;
    let payload = schema.first_of(table, &["payload", "data"])?;
    let position_column =
        schema.first_of(table, &["global_position", "id", "sequence", "position"]);
    let version_column = schema
        .first_of(
            table,
            &[
                "version",
                "stream_version",
                "aggregate_version",
                "sequence_number",
                "sequence",
            ],
        )
        .filter(|v| position_column.as_ref() != Some(v));
    let q = |c: &str| quote_ident(c);
    let position = position_column
        .as_deref()
        .map_or_else(|| "rowid".to_owned(), q);
    let time_column = schema.first_of(
        table,
        &["created_at", "timestamp", "occurred_at", "recorded_at"],
    );
    let schema_column = schema.first_of(table, &["event_version", "schema_version"]);
    let metadata = schema.first_of(table, &["metadata"]);
    let event_id = schema.first_of(table, &["event_id"]);
    let events = EventsMap {
        table: q(table),
        version: version_column
            .as_deref()
            .map_or_else(|| position.clone(), q),
        ordinal_version: version_column.is_none(),
        position: position.clone(),
        stream_id: q(&stream_id),
        stream_id_encoding: IdEncoding::Text,
        event_type: q(&event_type),
        stored_type: None,
        event_id: event_id.as_deref().map(q),
        payload: q(&payload),
        payload_encoding: PayloadEncoding::Json,
        metadata: metadata.as_deref().map(q),
        recorded_at: time_column
            .as_deref()
            .map_or(FieldSource::None, |c| FieldSource::Column(q(c))),
        recorded_at_format: TimeFormat::Auto,
        schema_version: schema_column
            .as_deref()
            .map_or(FieldSource::None, |c| FieldSource::Column(q(c))),
        default_schema_version: None,
        filter: None,
        category: CategoryRule::Prefix('-'),
        id_paths: IdPaths::default(),
    };
    let snapshots = if schema.has("snapshots", &["version", "state"]) {
        schema
            .first_of("snapshots", &["aggregate_id", "stream_id", "stream_name"])
            .map(|sid| SnapshotsMap {
                table: q("snapshots"),
                stream_id: q(&sid),
                version: q("version"),
                state: q("state"),
                state_path: None,
                schema_version: schema
                    .first_of("snapshots", &["schema_version"])
                    .map_or(FieldSource::None, |c| FieldSource::Column(q(&c))),
                default_schema_version: None,
                taken_at: schema
                    .first_of("snapshots", &["created_at", "taken_at", "timestamp"])
                    .map_or(FieldSource::None, |c| FieldSource::Column(q(&c))),
                encoding: PayloadEncoding::Json,
            })
    } else {
        None
    };
    let checkpoint_table = |name: &str, time_columns: &[&str]| {
        schema
            .has(name, &["name", "position"])
            .then(|| CheckpointsMap {
                table: q(name),
                name: q("name"),
                position: q("position"),
                updated_at: schema.first_of(name, time_columns).map(|c| q(&c)),
                upstream: None,
                filter: None,
            })
    };
    let checkpoints: Vec<CheckpointsMap> =
        checkpoint_table("projection_checkpoints", &["updated_at"])
            .into_iter()
            .collect();
    let checkpoint_history = checkpoint_table(
        "projection_checkpoint_history",
        &["recorded_at", "updated_at"],
    );
    let mut detail = vec![
        format!("table events: stream from {stream_id}"),
        format!(
            "position from {}",
            position_column.as_deref().unwrap_or("rowid")
        ),
        match &version_column {
            Some(v) => format!("version from {v}"),
            None => format!(
                "no version column: versions are the 1-based ordinal in the stream by {}",
                position_column.as_deref().unwrap_or("rowid")
            ),
        },
        format!("type from {event_type}"),
        format!("payload from {payload}"),
        match &time_column {
            Some(c) => format!("time from {c} (naive times read as UTC)"),
            None => "no time column".to_owned(),
        },
    ];
    if let Some(m) = &metadata {
        detail.push(format!("metadata from {m}"));
    }
    if let Some(id) = &event_id {
        detail.push(format!("event id from {id}"));
    }
    if let Some(c) = &schema_column {
        detail.push(format!("schema version from {c}"));
    }
    if let Some(s) = &snapshots {
        detail.push(format!(
            "snapshots from snapshots{}",
            if matches!(s.schema_version, FieldSource::None) {
                " (no schema_version)"
            } else {
                ""
            }
        ));
    }
    Some(Layout {
        name: "design".to_owned(),
        detail: detail.join("; "),
        events,
        snapshots,
        checkpoints,
        checkpoint_history,
    })
}

/// Keys that carry an event's schema version inside its payload or metadata.
const SCHEMA_VERSION_KEYS: [&str; 4] =
    ["version", "event_version", "schema_version", "eventVersion"];

/// For a family layout without a schema version column: the first of the usual keys found,
/// as a number, in the payloads (then the metadata) of the first rows.
pub(super) fn sample_schema_version(conn: &Connection, layout: &mut Layout) {
    let events = &layout.events;
    if layout.name != "design" || !matches!(events.schema_version, FieldSource::None) {
        return;
    }
    let sql = format!(
        "SELECT {}, {} FROM {} ORDER BY {} LIMIT 50",
        events.payload,
        events.metadata.as_deref().unwrap_or("NULL"),
        events.table,
        events.position
    );
    let Ok(mut stmt) = conn.prepare(&sql) else {
        return;
    };
    let Ok(rows) = stmt.query_map([], |row| {
        Ok((
            row.get::<_, Option<String>>(0).ok().flatten(),
            row.get::<_, Option<String>>(1).ok().flatten(),
        ))
    }) else {
        return;
    };
    // A key counts only when every sampled document has it as a number (a `version`
    // field in some payloads only is more likely data than a schema version).
    let mut documents = [0usize; 2];
    let mut found = [[0usize; SCHEMA_VERSION_KEYS.len()]; 2];
    for (payload, metadata) in rows.flatten() {
        for (side, text) in [payload, metadata].into_iter().enumerate() {
            let Some(value) = text.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            else {
                continue;
            };
            if !value.is_object() {
                continue;
            }
            documents[side] += 1;
            for (k, key) in SCHEMA_VERSION_KEYS.iter().enumerate() {
                if value.get(*key).is_some_and(serde_json::Value::is_u64) {
                    found[side][k] += 1;
                }
            }
        }
    }
    let key_on = |side: usize| {
        SCHEMA_VERSION_KEYS
            .iter()
            .enumerate()
            .find(|(k, _)| documents[side] > 0 && found[side][*k] == documents[side])
            .map(|(_, key)| *key)
    };
    let (in_payload, in_metadata) = (key_on(0), key_on(1));
    let (source, key) = match (in_payload, in_metadata) {
        (Some(key), _) => (
            FieldSource::PayloadPath(format!("$.{key}")),
            ("payload", key),
        ),
        (None, Some(key)) => (
            FieldSource::MetadataPath(format!("$.{key}")),
            ("metadata", key),
        ),
        (None, None) => return,
    };
    layout.events.schema_version = source;
    layout
        .detail
        .push_str(&format!("; schema version from {}.{}", key.0, key.1));
}
