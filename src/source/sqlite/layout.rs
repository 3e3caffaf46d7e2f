//! Layouts: how a SQLite schema maps onto the event model.
//!
//! Every layout, built in or read from a mapping file, becomes one [`Layout`]: SQL
//! expressions for each field of the model plus decoding rules. Built-in layouts are
//! detected from `sqlite_master`, in the order DESIGN.md gives.

use rusqlite::Connection;

use crate::core::metadata::IdPaths;
use crate::core::source::{SourceError, SourceResult};

/// How a stream id is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdEncoding {
    /// Text; UUID-looking values are shown hyphenated and looked up in any form.
    Text,
    /// 16 raw UUID bytes.
    UuidBlob,
}

/// How a payload column is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadEncoding {
    /// JSON text or JSON bytes (bytes that are not JSON are shown as bytes).
    Json,
    /// Python `eventsourcing` JSON with `_type_`/`_data_` typed values.
    Eventsourcing,
    /// Opaque bytes.
    Bytes,
}

/// How a numeric or text time column is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// Text (RFC 3339, ISO 8601, SQLite datetime) or a number whose unit is guessed.
    Auto,
    /// Seconds since the Unix epoch.
    UnixSeconds,
    /// Milliseconds since the Unix epoch.
    UnixMillis,
}

/// Where a value lives: a column (SQL expression) or a JSON path inside the stored payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldSource {
    /// Not available.
    None,
    /// An SQL expression (usually a quoted column).
    Column(String),
    /// A JSON path inside the raw stored payload (typed `{_type_, _data_}` values unwrapped).
    PayloadPath(String),
    /// A JSON path inside the metadata.
    MetadataPath(String),
}

/// How streams get their category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CategoryRule {
    /// The prefix of the stream id before this separator.
    Prefix(char),
    /// The event type up to its last `.` (Python `eventsourcing`: the aggregate class).
    EventTypeQualifier,
}

/// The events table mapping.
#[derive(Clone, Debug)]
pub struct EventsMap {
    /// Quoted table name.
    pub table: String,
    /// Global position expression.
    pub position: String,
    /// Stream id expression.
    pub stream_id: String,
    /// How the stream id is stored.
    pub stream_id_encoding: IdEncoding,
    /// Stream version expression. With [`EventsMap::ordinal_version`] the store keeps no
    /// version and this is the position expression (the order that numbers the events).
    pub version: String,
    /// The version is the 1-based ordinal of the event in its stream, by position.
    pub ordinal_version: bool,
    /// Event type expression (its value is the displayed type).
    pub event_type: String,
    /// The stored type expression when the displayed type is derived from it
    /// (eventsourcing topics `module:Class.Event` shown as `Class.Event`).
    pub stored_type: Option<String>,
    /// Event id expression.
    pub event_id: Option<String>,
    /// Payload expression.
    pub payload: String,
    /// Payload encoding.
    pub payload_encoding: PayloadEncoding,
    /// Metadata expression.
    pub metadata: Option<String>,
    /// Recorded-at source.
    pub recorded_at: FieldSource,
    /// Format of the recorded-at value.
    pub recorded_at_format: TimeFormat,
    /// Schema version source.
    pub schema_version: FieldSource,
    /// Schema version when the source has none for an event.
    pub default_schema_version: Option<u32>,
    /// Extra SQL condition rows must satisfy.
    pub filter: Option<String>,
    /// Category rule.
    pub category: CategoryRule,
    /// Correlation/causation paths.
    pub id_paths: IdPaths,
}

/// The snapshots table mapping.
#[derive(Clone, Debug)]
pub struct SnapshotsMap {
    /// Quoted table name.
    pub table: String,
    /// Stream id expression (same encoding as the events).
    pub stream_id: String,
    /// Version expression.
    pub version: String,
    /// State expression.
    pub state: String,
    /// JSON path of the aggregate state inside the stored value (`None` = the whole value).
    pub state_path: Option<String>,
    /// Schema version source (paths apply to the stored value).
    pub schema_version: FieldSource,
    /// Schema version when none is stored.
    pub default_schema_version: Option<u32>,
    /// Taken-at source (paths apply to the stored value).
    pub taken_at: FieldSource,
    /// Encoding of the state.
    pub encoding: PayloadEncoding,
}

/// A checkpoints table mapping.
#[derive(Clone, Debug)]
pub struct CheckpointsMap {
    /// Quoted table name.
    pub table: String,
    /// Name expression.
    pub name: String,
    /// Position expression.
    pub position: String,
    /// Updated-at expression.
    pub updated_at: Option<String>,
    /// Upstream log name expression (for tracking tables of downstream applications).
    pub upstream: Option<String>,
    /// Extra SQL condition.
    pub filter: Option<String>,
}

/// A complete layout.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Short name: `design`, `eventsourcing`, `eventsourcing-sqlalchemy`, `emmett`, `mapping`.
    pub name: String,
    /// Human detail (application, tables).
    pub detail: String,
    /// Events mapping.
    pub events: EventsMap,
    /// Snapshots mapping.
    pub snapshots: Option<SnapshotsMap>,
    /// Checkpoint mappings.
    pub checkpoints: Vec<CheckpointsMap>,
    /// Checkpoint history mapping (name, position, recorded-at) for lag reconstruction.
    pub checkpoint_history: Option<CheckpointsMap>,
}

/// Quotes an SQL identifier.
#[must_use]
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Tables and their columns, read from the schema.
#[derive(Debug, Default)]
pub struct Schema {
    /// `(table name, column names)` in schema order.
    pub tables: Vec<(String, Vec<String>)>,
}

impl Schema {
    /// Reads the schema of the main database.
    ///
    /// # Errors
    /// When the file is not a readable SQLite database.
    pub fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let mut names_stmt = conn.prepare(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        let names: Vec<String> = names_stmt
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut tables = Vec::with_capacity(names.len());
        let mut columns_stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        for name in names {
            let columns: Vec<String> = columns_stmt
                .query_map([&name], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            tables.push((name, columns));
        }
        Ok(Self { tables })
    }

    /// Columns of a table (case-insensitive lookup).
    #[must_use]
    pub fn columns(&self, table: &str) -> Option<&[String]> {
        self.tables
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(table))
            .map(|(_, columns)| columns.as_slice())
    }

    /// True when the table exists and has all the columns.
    #[must_use]
    pub fn has(&self, table: &str, columns: &[&str]) -> bool {
        self.columns(table).is_some_and(|have| {
            columns
                .iter()
                .all(|want| have.iter().any(|c| c.eq_ignore_ascii_case(want)))
        })
    }

    /// The first of `candidates` that the table has.
    #[must_use]
    pub fn first_of(&self, table: &str, candidates: &[&str]) -> Option<String> {
        let have = self.columns(table)?;
        candidates
            .iter()
            .find_map(|want| have.iter().find(|c| c.eq_ignore_ascii_case(want)).cloned())
    }
}

/// Options that influence detection.
#[derive(Clone, Debug, Default)]
pub struct DetectOptions {
    /// For files holding several `eventsourcing-sqlalchemy` applications: which one.
    pub application: Option<String>,
}

/// Detects a built-in layout.
///
/// # Errors
/// [`SourceError::UnknownLayout`] naming what was looked for.
pub fn detect(schema: &Schema, options: &DetectOptions) -> SourceResult<Layout> {
    if let Some(layout) = super::family::design_layout(schema) {
        return Ok(layout);
    }
    if schema.has(
        "stored_events",
        &["originator_id", "originator_version", "topic", "state"],
    ) {
        return Ok(eventsourcing_layout(schema));
    }
    let apps = sqlalchemy_applications(schema);
    if !apps.is_empty() {
        let chosen = match &options.application {
            Some(wanted) => apps
                .iter()
                .find(|app| app.eq_ignore_ascii_case(wanted))
                .cloned()
                .ok_or_else(|| {
                    SourceError::UnknownLayout(format!(
                        "no eventsourcing application named {wanted:?} in this file; it has: {}",
                        apps.join(", ")
                    ))
                })?,
            None => apps[0].clone(),
        };
        return Ok(sqlalchemy_layout(schema, &chosen, &apps));
    }
    if schema.has(
        "emt_messages",
        &[
            "stream_id",
            "stream_position",
            "message_data",
            "global_position",
        ],
    ) {
        return Ok(emmett_layout(schema));
    }
    let found: Vec<&str> = schema
        .tables
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    Err(SourceError::UnknownLayout(format!(
        "no known event store layout found (tables: {}). Looked for: an `events` table with \
         a stream column (aggregate_id|stream_id|stream_name), event_type|type and payload|data, \
         optionally id|global_position|sequence, version|stream_version|sequence_number and a \
         time (the guide's and eventscope's own layouts); `stored_events` (Python eventsourcing); `<app>_events` with \
         originator_id (eventsourcing-sqlalchemy); `emt_messages` (Emmett). For any other \
         schema, describe it in a mapping file and pass --mapping FILE (see README, \"Mapping \
         files\"); `eventscope mapping suggest FILE` drafts one from the schema",
        if found.is_empty() {
            "none".to_owned()
        } else {
            found.join(", ")
        }
    )))
}

/// Events mapping shared by both Python `eventsourcing` persistence modules.
fn eventsourcing_events(table: &str, position: &str, encoding: IdEncoding) -> EventsMap {
    EventsMap {
        table: quote_ident(table),
        position: position.to_owned(),
        stream_id: quote_ident("originator_id"),
        stream_id_encoding: encoding,
        version: quote_ident("originator_version"),
        ordinal_version: false,
        stored_type: Some(quote_ident("topic")),
        // Topics are `module:Qual.Name`; the type shown is the qualified class name.
        event_type: "substr(\"topic\", instr(\"topic\", ':') + 1)".to_owned(),
        event_id: None,
        payload: quote_ident("state"),
        payload_encoding: PayloadEncoding::Eventsourcing,
        metadata: None,
        recorded_at: FieldSource::PayloadPath("$.timestamp".to_owned()),
        recorded_at_format: TimeFormat::Auto,
        schema_version: FieldSource::PayloadPath("$.class_version".to_owned()),
        default_schema_version: Some(1),
        filter: None,
        category: CategoryRule::EventTypeQualifier,
        id_paths: IdPaths::default(),
    }
}

fn eventsourcing_snapshots(table: &str) -> SnapshotsMap {
    SnapshotsMap {
        table: quote_ident(table),
        stream_id: quote_ident("originator_id"),
        version: quote_ident("originator_version"),
        state: quote_ident("state"),
        state_path: Some("$.state".to_owned()),
        schema_version: FieldSource::PayloadPath("$.state.class_version".to_owned()),
        default_schema_version: Some(1),
        taken_at: FieldSource::PayloadPath("$.timestamp".to_owned()),
        encoding: PayloadEncoding::Eventsourcing,
    }
}

fn eventsourcing_layout(schema: &Schema) -> Layout {
    let snapshots = schema
        .has(
            "stored_snapshots",
            &["originator_id", "originator_version", "state"],
        )
        .then(|| eventsourcing_snapshots("stored_snapshots"));
    let checkpoints = schema
        .has("tracking", &["application_name", "notification_id"])
        .then(|| CheckpointsMap {
            table: quote_ident("tracking"),
            // This file's application is not named in it; the row names the upstream.
            name: "'tracking of ' || \"application_name\"".to_owned(),
            position: quote_ident("notification_id"),
            updated_at: None,
            upstream: Some(quote_ident("application_name")),
            filter: Some("\"application_name\" <> '__migration__'".to_owned()),
        })
        .into_iter()
        .collect();
    Layout {
        name: "eventsourcing".to_owned(),
        detail: "eventsourcing.sqlite (stored_events)".to_owned(),
        events: eventsourcing_events("stored_events", "rowid", IdEncoding::Text),
        snapshots,
        checkpoints,
        checkpoint_history: None,
    }
}

/// Application table prefixes of an `eventsourcing-sqlalchemy` file, sorted.
/// The `eventsourcing-sqlalchemy` applications in the file other than the one `layout`
/// reads.
pub(super) fn other_applications(schema: &Schema, layout: &Layout) -> Vec<String> {
    if layout.name != "eventsourcing-sqlalchemy" {
        return Vec::new();
    }
    sqlalchemy_applications(schema)
        .into_iter()
        .filter(|app| {
            let this = format!("application {app}");
            layout.detail != this && !layout.detail.starts_with(&format!("{this} ("))
        })
        .collect()
}

fn sqlalchemy_applications(schema: &Schema) -> Vec<String> {
    let mut apps: Vec<String> = schema
        .tables
        .iter()
        .filter_map(|(name, _)| name.strip_suffix("_events"))
        .filter(|prefix| {
            schema.has(
                &format!("{prefix}_events"),
                &[
                    "id",
                    "originator_id",
                    "originator_version",
                    "topic",
                    "state",
                ],
            )
        })
        .map(str::to_owned)
        .collect();
    apps.sort();
    apps
}

fn sqlalchemy_layout(schema: &Schema, app: &str, all_apps: &[String]) -> Layout {
    let snapshots_table = format!("{app}_snapshots");
    let snapshots = schema
        .has(
            &snapshots_table,
            &["originator_id", "originator_version", "state"],
        )
        .then(|| eventsourcing_snapshots(&snapshots_table));
    // Tracking tables of other applications in the same file that follow this one.
    let checkpoints = schema
        .tables
        .iter()
        .filter_map(|(name, _)| {
            let follower = name.strip_suffix("_tracking")?;
            schema
                .has(name, &["application_name", "notification_id"])
                .then(|| CheckpointsMap {
                    table: quote_ident(name),
                    name: format!("'{}'", follower.replace('\'', "''")),
                    position: quote_ident("notification_id"),
                    updated_at: None,
                    upstream: Some(quote_ident("application_name")),
                    filter: Some(format!(
                        "lower(\"application_name\") = '{}'",
                        app.to_lowercase().replace('\'', "''")
                    )),
                })
        })
        .collect();
    let others: Vec<&str> = all_apps
        .iter()
        .map(String::as_str)
        .filter(|other| *other != app)
        .collect();
    Layout {
        name: "eventsourcing-sqlalchemy".to_owned(),
        detail: if others.is_empty() {
            format!("application {app}")
        } else {
            format!(
                "application {app} (also in this file: {})",
                others.join(", ")
            )
        },
        events: eventsourcing_events(&format!("{app}_events"), "\"id\"", IdEncoding::UuidBlob),
        snapshots,
        checkpoints,
        checkpoint_history: None,
    }
}

fn emmett_layout(schema: &Schema) -> Layout {
    let q = |c: &str| quote_ident(c);
    let checkpoints = schema
        .has("emt_subscriptions", &["subscription_id", "last_processed_position"])
        .then(|| CheckpointsMap {
            table: q("emt_subscriptions"),
            name: "\"subscription_id\" || CASE WHEN \"version\" > 1 THEN ' v' || \"version\" ELSE '' END"
                .to_owned(),
            position: q("last_processed_position"),
            updated_at: None,
            upstream: None,
            filter: None,
        })
        .into_iter()
        .collect();
    Layout {
        name: "emmett".to_owned(),
        detail: "@event-driven-io/emmett-sqlite (emt_messages)".to_owned(),
        events: EventsMap {
            table: q("emt_messages"),
            position: q("global_position"),
            stream_id: q("stream_id"),
            stream_id_encoding: IdEncoding::Text,
            version: q("stream_position"),
            ordinal_version: false,
            event_type: q("message_type"),
            stored_type: None,
            event_id: Some(q("message_id")),
            payload: q("message_data"),
            payload_encoding: PayloadEncoding::Json,
            metadata: Some(q("message_metadata")),
            recorded_at: FieldSource::Column(q("created")),
            recorded_at_format: TimeFormat::Auto,
            // `message_schema_version` holds the stream version before the append, not a
            // schema version (Emmett 0.38), so it is not used.
            schema_version: FieldSource::None,
            default_schema_version: None,
            filter: schema
                .has("emt_messages", &["is_archived"])
                .then(|| "\"is_archived\" = 0".to_owned()),
            category: CategoryRule::Prefix('-'),
            id_paths: IdPaths::default(),
        },
        snapshots: None,
        checkpoints,
        checkpoint_history: None,
    }
}
