//! Mapping files: describe any SQLite schema in TOML.
//!
//! ```toml
//! [events]
//! table = "domain_events"
//! position = "seq"                 # column, or "rowid"
//! stream_id = "stream"
//! stream_id_encoding = "text"      # text | uuid_blob
//! version = "revision"            # optional: without it, the 1-based ordinal by position
//! event_type = "type"
//! event_id = "id"                  # optional
//! payload = "body"
//! payload_encoding = "json"        # json | eventsourcing | bytes
//! metadata = "meta"                # optional
//! recorded_at = "ts"               # a column …
//! # recorded_at_path = "$.occurredAt"   # … or a JSON path in the payload
//! recorded_at_format = "auto"      # auto | unix_seconds | unix_millis
//! schema_version = "schema"        # a column …
//! # schema_version_path = "metadata:$.schemaVersion"  # … or a path (payload: or metadata:)
//! correlation_path = "$.correlation"
//! causation_path = "$.causation"
//! category_separator = "-"
//! where = "deleted = 0"            # optional SQL condition
//!
//! [snapshots]                      # optional
//! table = "snapshots"
//! stream_id = "stream"
//! version = "revision"
//! state = "body"
//! schema_version = "schema"        # optional
//! taken_at = "ts"                  # optional
//!
//! [[checkpoints]]                  # optional, any number
//! table = "checkpoints"
//! name = "projection"
//! position = "pos"
//! updated_at = "at"                # optional
//! ```

use serde::Deserialize;

pub use super::suggest::{BLANK, suggest, suggest_for};

use crate::core::metadata::IdPaths;
use crate::core::source::{SourceError, SourceResult};
use crate::source::sqlite::layout::{
    CategoryRule, CheckpointsMap, EventsMap, FieldSource, IdEncoding, Layout, PayloadEncoding,
    Schema, SnapshotsMap, TimeFormat, quote_ident,
};

/// The `[events]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsSection {
    pub(crate) table: String,
    pub(crate) position: String,
    pub(crate) stream_id: String,
    #[serde(default)]
    pub(crate) stream_id_encoding: Option<String>,
    /// Optional: without it an event's version is its 1-based ordinal in its stream.
    pub(crate) version: Option<String>,
    pub(crate) event_type: String,
    pub(crate) event_id: Option<String>,
    pub(crate) payload: String,
    pub(crate) payload_encoding: Option<String>,
    pub(crate) metadata: Option<String>,
    pub(crate) recorded_at: Option<String>,
    pub(crate) recorded_at_path: Option<String>,
    pub(crate) recorded_at_format: Option<String>,
    pub(crate) schema_version: Option<String>,
    pub(crate) schema_version_path: Option<String>,
    pub(crate) correlation_path: Option<String>,
    pub(crate) causation_path: Option<String>,
    pub(crate) category_separator: Option<String>,
    #[serde(rename = "where")]
    pub(crate) filter: Option<String>,
}

/// The `[snapshots]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotsSection {
    pub(crate) table: String,
    pub(crate) stream_id: String,
    pub(crate) version: String,
    pub(crate) state: String,
    pub(crate) state_path: Option<String>,
    pub(crate) schema_version: Option<String>,
    pub(crate) taken_at: Option<String>,
}

/// A `[[checkpoints]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointsSection {
    pub(crate) table: String,
    pub(crate) name: String,
    pub(crate) position: String,
    pub(crate) updated_at: Option<String>,
}

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MappingFile {
    pub(crate) events: EventsSection,
    pub(crate) snapshots: Option<SnapshotsSection>,
    #[serde(default)]
    pub(crate) checkpoints: Vec<CheckpointsSection>,
    pub(crate) checkpoint_history: Option<CheckpointsSection>,
}

/// The file's sections, before they are checked against a store (the PostgreSQL source
/// reads the same files).
///
/// # Errors
/// [`SourceError::Mapping`] with the TOML error.
pub(crate) fn parse_file(text: &str) -> SourceResult<MappingFile> {
    toml::from_str(text).map_err(|e| SourceError::Mapping(e.to_string()))
}

fn column(schema: &Schema, table: &str, name: &str) -> SourceResult<String> {
    if name.eq_ignore_ascii_case("rowid") {
        return Ok("rowid".to_owned());
    }
    let columns = schema
        .columns(table)
        .ok_or_else(|| SourceError::Mapping(format!("table {table:?} does not exist")))?;
    if columns.iter().any(|c| c.eq_ignore_ascii_case(name)) {
        Ok(quote_ident(name))
    } else {
        Err(SourceError::Mapping(format!(
            "table {table:?} has no column {name:?} (it has: {})",
            columns.join(", ")
        )))
    }
}

fn path_source(spec: &str) -> FieldSource {
    if let Some(path) = spec.strip_prefix("metadata:") {
        FieldSource::MetadataPath(path.to_owned())
    } else {
        FieldSource::PayloadPath(spec.strip_prefix("payload:").unwrap_or(spec).to_owned())
    }
}

/// Parses a mapping file against the store's schema (every column is checked).
///
/// # Errors
/// [`SourceError::Mapping`] with the TOML error or the missing table/column.
pub fn parse(text: &str, schema: &Schema) -> SourceResult<Layout> {
    let file = parse_file(text)?;
    let e = &file.events;
    let t = e.table.as_str();
    let opt = |name: &Option<String>| -> SourceResult<Option<String>> {
        name.as_deref().map(|n| column(schema, t, n)).transpose()
    };
    let stream_id_encoding = match e.stream_id_encoding.as_deref() {
        None | Some("text") => IdEncoding::Text,
        Some("uuid_blob") => IdEncoding::UuidBlob,
        Some(other) => {
            return Err(SourceError::Mapping(format!(
                "stream_id_encoding {other:?}: expected text or uuid_blob"
            )));
        }
    };
    let payload_encoding = match e.payload_encoding.as_deref() {
        None | Some("json") => PayloadEncoding::Json,
        Some("eventsourcing") => PayloadEncoding::Eventsourcing,
        Some("bytes") => PayloadEncoding::Bytes,
        Some(other) => {
            return Err(SourceError::Mapping(format!(
                "payload_encoding {other:?}: expected json, eventsourcing or bytes"
            )));
        }
    };
    let recorded_at_format = match e.recorded_at_format.as_deref() {
        None | Some("auto") => TimeFormat::Auto,
        Some("unix_seconds") => TimeFormat::UnixSeconds,
        Some("unix_millis") => TimeFormat::UnixMillis,
        Some(other) => {
            return Err(SourceError::Mapping(format!(
                "recorded_at_format {other:?}: expected auto, unix_seconds or unix_millis"
            )));
        }
    };
    let recorded_at = match (&e.recorded_at, &e.recorded_at_path) {
        (Some(c), _) => FieldSource::Column(column(schema, t, c)?),
        (None, Some(path)) => path_source(path),
        (None, None) => FieldSource::None,
    };
    let schema_version = match (&e.schema_version, &e.schema_version_path) {
        (Some(c), _) => FieldSource::Column(column(schema, t, c)?),
        (None, Some(path)) => path_source(path),
        (None, None) => FieldSource::None,
    };
    let separator = match e.category_separator.as_deref() {
        None => '-',
        Some(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => {
                    return Err(SourceError::Mapping(format!(
                        "category_separator {s:?} must be one character"
                    )));
                }
            }
        }
    };
    let position = column(schema, t, &e.position)?;
    let events = EventsMap {
        table: quote_ident(t),
        stream_id: column(schema, t, &e.stream_id)?,
        stream_id_encoding,
        version: match &e.version {
            Some(v) => column(schema, t, v)?,
            None => position.clone(),
        },
        ordinal_version: e.version.is_none(),
        position,
        event_type: column(schema, t, &e.event_type)?,
        stored_type: None,
        event_id: opt(&e.event_id)?,
        payload: column(schema, t, &e.payload)?,
        payload_encoding,
        metadata: opt(&e.metadata)?,
        recorded_at,
        recorded_at_format,
        schema_version,
        default_schema_version: None,
        filter: e.filter.clone(),
        category: CategoryRule::Prefix(separator),
        id_paths: IdPaths {
            correlation: e.correlation_path.clone(),
            causation: e.causation_path.clone(),
        },
    };
    let snapshots = file
        .snapshots
        .as_ref()
        .map(|s| -> SourceResult<SnapshotsMap> {
            let st = s.table.as_str();
            Ok(SnapshotsMap {
                table: quote_ident(st),
                stream_id: column(schema, st, &s.stream_id)?,
                version: column(schema, st, &s.version)?,
                state: column(schema, st, &s.state)?,
                state_path: s.state_path.clone(),
                schema_version: match &s.schema_version {
                    Some(c) => FieldSource::Column(column(schema, st, c)?),
                    None => FieldSource::None,
                },
                default_schema_version: None,
                taken_at: match &s.taken_at {
                    Some(c) => FieldSource::Column(column(schema, st, c)?),
                    None => FieldSource::None,
                },
                encoding: payload_encoding,
            })
        })
        .transpose()?;
    let checkpoint = |c: &CheckpointsSection| -> SourceResult<CheckpointsMap> {
        let ct = c.table.as_str();
        Ok(CheckpointsMap {
            table: quote_ident(ct),
            name: column(schema, ct, &c.name)?,
            position: column(schema, ct, &c.position)?,
            updated_at: c
                .updated_at
                .as_deref()
                .map(|u| column(schema, ct, u))
                .transpose()?,
            upstream: None,
            filter: None,
        })
    };
    Ok(Layout {
        name: "mapping".to_owned(),
        detail: if e.version.is_none() {
            format!("mapping file (table {t}; versions: 1-based ordinal in the stream by position)")
        } else {
            format!("mapping file (table {t})")
        },
        events,
        snapshots,
        checkpoints: file
            .checkpoints
            .iter()
            .map(checkpoint)
            .collect::<SourceResult<_>>()?,
        checkpoint_history: file
            .checkpoint_history
            .as_ref()
            .map(checkpoint)
            .transpose()?,
    })
}
