//! Layouts: how each known PostgreSQL event store maps onto the event model, detected per
//! schema from the catalog. Each layout is SQL expressions for the model's fields (as the
//! SQLite layouts are), so one query engine ([`super::PostgresSource`]) reads them all.
//! (Over 600 lines: the five layouts' SQL expressions and their detection from one catalog, kept together so they stay comparable.)

use std::collections::BTreeMap;

use super::sql::{digits_to_bigint, literal, prefix_category, quote_ident, table};
use crate::core::event::PayloadFormat;
use crate::core::metadata::IdPaths;

/// How a stream id given by the user is compared with the stored one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKey {
    /// Text equality with the stream expression.
    Text,
    /// A `uuid` column: the id is parsed (any form) and compared as a UUID.
    Uuid,
}

/// The events of a layout.
#[derive(Clone, Debug)]
pub struct EventsSql {
    /// `FROM` clause (a table, maybe joined).
    pub from: String,
    /// Global position (bigint).
    pub position: String,
    /// Stream id as shown (text).
    pub stream: String,
    /// Expression compared with a looked-up stream id (indexed column where possible).
    pub stream_column: String,
    /// How that comparison is done.
    pub stream_key: StreamKey,
    /// Stream version.
    pub version: String,
    /// The version as conditions and `ORDER BY` use it: the indexed column itself when it
    /// is an integer (compared with `$n::bigint`), so the `(stream, version)` index serves
    /// a page; `version` when only a cast makes it a number.
    pub version_key: String,
    /// The global position the same way (`position`, uncast when an integer column).
    pub position_key: String,
    /// Event type as shown.
    pub event_type: String,
    /// Event type as stored, when it differs.
    pub stored_type: Option<String>,
    /// Event id.
    pub event_id: Option<String>,
    /// Payload (jsonb, json, text or bytea).
    pub payload: String,
    /// Metadata.
    pub metadata: Option<String>,
    /// Recorded time (timestamptz), for reading and for time filters.
    pub recorded_at: Option<String>,
    /// Schema version (int).
    pub schema_version: Option<String>,
    /// Correlation id as SQL (else from the metadata).
    pub correlation: Option<String>,
    /// Causation id as SQL (else from the metadata).
    pub causation: Option<String>,
    /// Payload format.
    pub format: PayloadFormat,
    /// Python `eventsourcing`: time and class version live in the payload.
    pub eventsourcing: bool,
    /// The payload and metadata expressions are text (json, jsonb or text columns), so a
    /// search may narrow with `ILIKE` on them; false for bytes (which may be compressed or
    /// encrypted: a pattern could drop an event that matches once decoded).
    pub text_search: bool,
    /// Correlation/causation paths in the metadata.
    pub ids: IdPaths,
    /// Category of a stream: an aggregate SQL expression over its events.
    pub category: String,
    /// Category of one event (per row), where checkpoints follow one category (Message
    /// DB), for counting that category's events.
    pub row_category: Option<String>,
}

/// The snapshots of a layout.
#[derive(Clone, Debug)]
pub struct SnapshotsSql {
    /// Quoted table.
    pub from: String,
    /// Stream id (text).
    pub stream: String,
    /// Expression compared with a looked-up stream id.
    pub stream_column: String,
    /// How that comparison is done.
    pub stream_key: StreamKey,
    /// Version.
    pub version: String,
    /// State.
    pub state: String,
    /// Schema version (int), when stored.
    pub schema_version: Option<String>,
    /// Taken at (timestamptz), when stored.
    pub taken_at: Option<String>,
    /// Python `eventsourcing`: `{state, timestamp, …}` JSON with typed values.
    pub eventsourcing: bool,
}

/// One detected layout.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Layout name (`diy`, `eventsourcing`, `messagedb`, `emmett`, `marten`).
    pub name: &'static str,
    /// What `#App` matches (application name or schema).
    pub key: String,
    /// Detail for the info screen.
    pub detail: String,
    /// Events.
    pub events: EventsSql,
    /// Snapshots.
    pub snapshots: Option<SnapshotsSql>,
    /// Checkpoint queries, each `SELECT name text, position bigint, updated_at timestamptz,
    /// upstream text, category text` (`category`: the one it follows, else NULL).
    pub checkpoints: Vec<String>,
    /// The SQL text an index on the correlation id would cover, for the index hint.
    pub correlation_index_expr: Option<String>,
}

/// Tables and their columns (`(schema, table)` → `[(column, data type)]`).
#[derive(Default)]
pub struct Catalog {
    /// Columns per table.
    pub tables: BTreeMap<(String, String), Vec<(String, String)>>,
}

impl Catalog {
    /// A table's columns and their data types.
    #[must_use]
    pub fn columns_of(&self, schema: &str, name: &str) -> Option<&[(String, String)]> {
        self.columns(schema, name)
    }

    fn columns(&self, schema: &str, name: &str) -> Option<&[(String, String)]> {
        self.tables
            .get(&(schema.to_owned(), name.to_owned()))
            .map(Vec::as_slice)
    }

    fn has(&self, schema: &str, name: &str, columns: &[&str]) -> bool {
        self.columns(schema, name)
            .is_some_and(|cols| columns.iter().all(|c| cols.iter().any(|(n, _)| n == c)))
    }

    fn type_of(&self, schema: &str, name: &str, column: &str) -> Option<&str> {
        self.columns(schema, name)?
            .iter()
            .find(|(n, _)| n == column)
            .map(|(_, t)| t.as_str())
    }

    fn first_of<'a>(&self, schema: &str, name: &str, candidates: &[&'a str]) -> Option<&'a str> {
        let cols = self.columns(schema, name)?;
        candidates
            .iter()
            .copied()
            .find(|c| cols.iter().any(|(n, _)| n == c))
    }
}

/// The catalog query (tables of every user schema, partitioned parents included).
pub const CATALOG_SQL: &str = "SELECT table_schema::text, table_name::text, column_name::text, \
     data_type::text FROM information_schema.columns \
     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
     AND table_schema NOT LIKE 'pg_toast%' ORDER BY 1, 2, ordinal_position";

/// Every layout in the catalog, in the order of value (DIY, eventsourcing, Message DB,
/// Emmett, Marten), restricted to `schema` when given.
#[must_use]
pub fn detect(catalog: &Catalog, schema: Option<&str>) -> Vec<Layout> {
    let mut schemas: Vec<&str> = catalog.tables.keys().map(|(s, _)| s.as_str()).collect();
    schemas.dedup();
    if let Some(only) = schema {
        schemas.retain(|s| *s == only);
    }
    let mut layouts = Vec::new();
    for schema in &schemas {
        layouts.extend(diy(catalog, schema));
    }
    for schema in &schemas {
        layouts.extend(eventsourcing(catalog, schema));
    }
    for schema in &schemas {
        layouts.extend(messagedb(catalog, schema));
        layouts.extend(emmett(catalog, schema));
        layouts.extend(marten(catalog, schema));
    }
    layouts
}

pub(super) fn text_of(catalog: &Catalog, schema: &str, t: &str, column: &str) -> String {
    let q = quote_ident(column);
    match catalog.type_of(schema, t, column) {
        Some("text" | "character varying" | "character") => q,
        _ => format!("{q}::text"),
    }
}

pub(super) fn json_text(catalog: &Catalog, schema: &str, t: &str, column: &str) -> String {
    let q = quote_ident(column);
    match catalog.type_of(schema, t, column) {
        Some("jsonb" | "json") => format!("{q}::text"),
        _ => q,
    }
}

/// Whether a catalog data type is one of PostgreSQL's integers.
pub(super) fn is_integer_type(data_type: &str) -> bool {
    matches!(data_type, "smallint" | "integer" | "bigint")
}

/// The column itself when it is an integer (so its index orders and bounds a read),
/// otherwise its `::bigint` cast.
fn integer_key(catalog: &Catalog, schema: &str, t: &str, column: &str) -> String {
    let q = quote_ident(column);
    match catalog.type_of(schema, t, column) {
        Some(data_type) if is_integer_type(data_type) => q,
        _ => format!("{q}::bigint"),
    }
}

pub(super) fn timestamptz(catalog: &Catalog, schema: &str, t: &str, column: &str) -> String {
    let q = quote_ident(column);
    match catalog.type_of(schema, t, column) {
        Some("timestamp without time zone") => format!("({q} AT TIME ZONE 'UTC')"),
        Some("timestamp with time zone") => q,
        _ => "NULL::timestamptz".to_owned(),
    }
}

const DIY_TABLES: [&str; 5] = [
    "events",
    "entries",
    "event_store",
    "domain_events",
    "event_log",
];

/// The guide's `events` table and its variants, with `snapshots` and checkpoint tables.
fn diy(catalog: &Catalog, schema: &str) -> Option<Layout> {
    let name = DIY_TABLES.iter().copied().find(|t| {
        catalog.columns(schema, t).is_some()
            && catalog
                .first_of(schema, t, &["aggregate_id", "stream_id", "stream_name"])
                .is_some()
            && catalog
                .first_of(
                    schema,
                    t,
                    &["version", "stream_version", "aggregate_version"],
                )
                .is_some()
            && catalog
                .first_of(schema, t, &["event_type", "type"])
                .is_some()
            && catalog.first_of(schema, t, &["payload", "data"]).is_some()
            && catalog
                .first_of(schema, t, &["id", "global_position", "position", "seq"])
                .is_some()
    })?;
    let col = |candidates: &[&'static str]| catalog.first_of(schema, name, candidates);
    let stream_col = col(&["aggregate_id", "stream_id", "stream_name"])?;
    let stream = text_of(catalog, schema, name, stream_col);
    let version = col(&["version", "stream_version", "aggregate_version"])?;
    let event_type = col(&["event_type", "type"])?;
    let payload = col(&["payload", "data"])?;
    let position = col(&["id", "global_position", "position", "seq"])?;
    let metadata = col(&["metadata", "meta"]);
    let time = col(&["created_at", "recorded_at", "occurred_at", "timestamp"]);
    let event_id = col(&["event_id", "message_id", "uuid"]);
    let schema_version = col(&["event_version", "schema_version"]);
    let correlation_index_expr =
        metadata.filter(|m| matches!(catalog.type_of(schema, name, m), Some("jsonb" | "json")));
    let events = EventsSql {
        from: table(schema, name),
        position: format!("{}::bigint", quote_ident(position)),
        stream_column: quote_ident(stream_col),
        stream_key: if catalog.type_of(schema, name, stream_col) == Some("uuid") {
            StreamKey::Uuid
        } else {
            StreamKey::Text
        },
        category: format!("min({})", prefix_category(&stream)),
        stream,
        version: format!("{}::bigint", quote_ident(version)),
        version_key: integer_key(catalog, schema, name, version),
        position_key: integer_key(catalog, schema, name, position),
        event_type: text_of(catalog, schema, name, event_type),
        stored_type: None,
        event_id: event_id.map(|c| text_of(catalog, schema, name, c)),
        payload: json_text(catalog, schema, name, payload),
        metadata: metadata.map(|m| json_text(catalog, schema, name, m)),
        recorded_at: time.map(|t| timestamptz(catalog, schema, name, t)),
        schema_version: schema_version.map(|c| format!("{}::int", quote_ident(c))),
        correlation: None,
        causation: None,
        format: PayloadFormat::Json,
        eventsourcing: false,
        text_search: [Some(payload), metadata]
            .into_iter()
            .flatten()
            .all(|column| {
                matches!(
                    catalog.type_of(schema, name, column),
                    Some("json" | "jsonb" | "text" | "character varying")
                )
            }),
        ids: IdPaths::default(),
        row_category: None,
    };
    let snapshots = ["snapshots", "aggregate_snapshots"]
        .iter()
        .copied()
        .find(|t| {
            catalog
                .first_of(schema, t, &["aggregate_id", "stream_id"])
                .is_some()
                && catalog
                    .first_of(schema, t, &["version", "stream_version"])
                    .is_some()
                && catalog
                    .first_of(schema, t, &["state", "payload", "data"])
                    .is_some()
        })
        .map(|t| {
            let scol = |c: &[&'static str]| catalog.first_of(schema, t, c);
            let stream_col = scol(&["aggregate_id", "stream_id"]).unwrap_or("aggregate_id");
            SnapshotsSql {
                from: table(schema, t),
                stream: text_of(catalog, schema, t, stream_col),
                stream_column: quote_ident(stream_col),
                stream_key: StreamKey::Text,
                version: format!(
                    "{}::bigint",
                    quote_ident(scol(&["version", "stream_version"]).unwrap_or("version"))
                ),
                state: json_text(
                    catalog,
                    schema,
                    t,
                    scol(&["state", "payload", "data"]).unwrap_or("state"),
                ),
                schema_version: scol(&["schema_version", "state_version"])
                    .map(|c| format!("{}::int", quote_ident(c))),
                taken_at: scol(&["created_at", "taken_at", "recorded_at"])
                    .map(|c| timestamptz(catalog, schema, t, c)),
                eventsourcing: false,
            }
        });
    let checkpoints = ["projection_checkpoints", "checkpoints", "subscriptions"]
        .iter()
        .filter_map(|t| {
            let name_col = catalog.first_of(
                schema,
                t,
                &[
                    "name",
                    "projection_name",
                    "projection",
                    "subscription",
                    "subscription_name",
                    "consumer",
                ],
            )?;
            let pos_col = catalog.first_of(
                schema,
                t,
                &["position", "last_position", "global_position", "checkpoint"],
            )?;
            let updated = catalog
                .first_of(schema, t, &["updated_at", "last_updated"])
                .map_or_else(
                    || "NULL::timestamptz".to_owned(),
                    |c| timestamptz(catalog, schema, t, c),
                );
            Some(format!(
                "SELECT {}::text, {}::bigint, {updated}, NULL::text, NULL::text FROM {} \
                 ORDER BY 1",
                quote_ident(name_col),
                quote_ident(pos_col),
                table(schema, t)
            ))
        })
        .collect();
    Some(Layout {
        name: "diy",
        key: schema.to_owned(),
        detail: format!("DIY events table {schema}.{name}"),
        events,
        snapshots,
        checkpoints,
        correlation_index_expr: correlation_index_expr
            .map(|m| format!("({}->>'correlationId')", quote_ident(m))),
    })
}

/// Python `eventsourcing` on PostgreSQL: `<app>_events` tables, `<app>_snapshots`,
/// `<follower>_tracking`.
fn eventsourcing(catalog: &Catalog, schema: &str) -> Vec<Layout> {
    let stored = ["originator_id", "originator_version", "topic", "state"];
    let apps: Vec<String> = catalog
        .tables
        .keys()
        .filter(|(s, _)| s == schema)
        .filter_map(|(_, t)| t.strip_suffix("_events").map(str::to_owned))
        .filter(|app| {
            let t = format!("{app}_events");
            catalog.has(schema, &t, &stored) && catalog.has(schema, &t, &["notification_id"])
        })
        .collect();
    let trackers: Vec<String> = catalog
        .tables
        .keys()
        .filter(|(s, t)| {
            s == schema
                && t.ends_with("_tracking")
                && catalog.has(schema, t, &["application_name", "notification_id"])
        })
        .map(|(_, t)| t.clone())
        .collect();
    apps.iter()
        .map(|app| {
            let events_table = format!("{app}_events");
            let snapshots_table = format!("{app}_snapshots");
            let events = EventsSql {
                from: table(schema, &events_table),
                position: "\"notification_id\"::bigint".to_owned(),
                stream: "\"originator_id\"::text".to_owned(),
                stream_column: "\"originator_id\"".to_owned(),
                stream_key: if catalog.type_of(schema, &events_table, "originator_id")
                    == Some("uuid")
                {
                    StreamKey::Uuid
                } else {
                    StreamKey::Text
                },
                version: "\"originator_version\"::bigint".to_owned(),
                version_key: integer_key(catalog, schema, &events_table, "originator_version"),
                position_key: integer_key(catalog, schema, &events_table, "notification_id"),
                event_type: "substr(\"topic\", strpos(\"topic\", ':') + 1)".to_owned(),
                stored_type: Some("\"topic\"".to_owned()),
                event_id: None,
                payload: "\"state\"".to_owned(),
                metadata: None,
                recorded_at: Some(
                    "(convert_from(\"state\", 'UTF8')::jsonb #>> '{timestamp,_data_}')::timestamptz"
                        .to_owned(),
                ),
                schema_version: None,
                correlation: None,
                causation: None,
                format: PayloadFormat::EventsourcingJson,
                eventsourcing: true,
                text_search: false,
                ids: IdPaths::default(),
                row_category: None,
                category: "regexp_replace(min(substr(\"topic\", strpos(\"topic\", ':') + 1)), '\\.[^.]*$', '')"
                    .to_owned(),
            };
            let snapshots = catalog
                .has(schema, &snapshots_table, &stored)
                .then(|| SnapshotsSql {
                    from: table(schema, &snapshots_table),
                    stream: "\"originator_id\"::text".to_owned(),
                    stream_column: "\"originator_id\"".to_owned(),
                    stream_key: events.stream_key,
                    version: "\"originator_version\"::bigint".to_owned(),
                    state: "\"state\"".to_owned(),
                    schema_version: None,
                    taken_at: None,
                    eventsourcing: true,
                });
            // Tracking tables of the applications that follow this one.
            let checkpoints = trackers
                .iter()
                .map(|t| {
                    let follower = t.strip_suffix("_tracking").unwrap_or(t);
                    format!(
                        "SELECT {}::text, max(\"notification_id\")::bigint, NULL::timestamptz, \
                         min(\"application_name\")::text, NULL::text FROM {} \
                         WHERE lower(\"application_name\") = {} HAVING count(*) > 0",
                        literal(follower),
                        table(schema, t),
                        literal(&app.to_lowercase())
                    )
                })
                .collect();
            Layout {
                name: "eventsourcing",
                key: app.clone(),
                detail: format!("Python eventsourcing application {app} ({schema}.{events_table})"),
                events,
                snapshots,
                checkpoints,
                correlation_index_expr: None,
            }
        })
        .collect()
}

/// Message DB: `message_store.messages`.
fn messagedb(catalog: &Catalog, schema: &str) -> Option<Layout> {
    let cols = [
        "global_position",
        "position",
        "time",
        "stream_name",
        "type",
        "data",
        "metadata",
        "id",
    ];
    if !catalog.has(schema, "messages", &cols) {
        return None;
    }
    let from = table(schema, "messages");
    let position_stream = "split_part(\"stream_name\", '-', 1) ~ '[:+]position$'";
    let events = EventsSql {
        // Aliased: the causation subquery reads the same table.
        from: format!("{from} m"),
        position: "\"global_position\"::bigint".to_owned(),
        stream: "\"stream_name\"".to_owned(),
        stream_column: "\"stream_name\"".to_owned(),
        stream_key: StreamKey::Text,
        version: "\"position\"::bigint".to_owned(),
        version_key: integer_key(catalog, schema, "messages", "position"),
        position_key: integer_key(catalog, schema, "messages", "global_position"),
        event_type: "\"type\"".to_owned(),
        stored_type: None,
        event_id: Some("\"id\"::text".to_owned()),
        payload: "\"data\"::text".to_owned(),
        metadata: Some("\"metadata\"::text".to_owned()),
        recorded_at: Some("(\"time\" AT TIME ZONE 'UTC')".to_owned()),
        schema_version: Some(digits_to_bigint("\"metadata\"->>'schemaVersion'") + "::int"),
        correlation: Some("\"metadata\"->>'correlationStreamName'".to_owned()),
        // The cause is named by its global position; link it by its message id.
        causation: Some(format!(
            "(SELECT c.\"id\"::text FROM {from} c WHERE c.\"global_position\" = {})",
            digits_to_bigint("m.\"metadata\"->>'causationMessageGlobalPosition'")
        )),
        format: PayloadFormat::Json,
        eventsourcing: false,
        text_search: true,
        ids: IdPaths::default(),
        // Message DB's own category(): the part before the first '-'.
        category: "split_part(min(\"stream_name\"), '-', 1)".to_owned(),
        row_category: Some("split_part(\"stream_name\", '-', 1)".to_owned()),
    };
    // A consumer of `account` records its position in `account:position-<consumer>`
    // (`account:command+position-…` for a category with a type): it follows `account`.
    let checkpoint = format!(
        "SELECT DISTINCT ON (\"stream_name\") \"stream_name\"::text, {}, \
         (\"time\" AT TIME ZONE 'UTC'), NULL::text, \
         regexp_replace(split_part(\"stream_name\", '-', 1), '[:+]position$', '') FROM {from} \
         WHERE {position_stream} AND \"type\" = 'Recorded' \
         ORDER BY \"stream_name\", \"position\" DESC",
        digits_to_bigint("\"data\"->>'position'")
    );
    Some(Layout {
        name: "messagedb",
        key: schema.to_owned(),
        detail: format!("Message DB ({schema}.messages)"),
        events,
        snapshots: None,
        checkpoints: vec![checkpoint],
        correlation_index_expr: Some("(metadata->>'correlationStreamName')".to_owned()),
    })
}

/// Emmett's PostgreSQL store: `emt_messages`, `emt_processors`.
fn emmett(catalog: &Catalog, schema: &str) -> Option<Layout> {
    let cols = [
        "stream_position",
        "global_position",
        "stream_id",
        "message_type",
        "message_data",
        "message_metadata",
    ];
    if !catalog.has(schema, "emt_messages", &cols) {
        return None;
    }
    let events = EventsSql {
        from: table(schema, "emt_messages"),
        position: "\"global_position\"::bigint".to_owned(),
        stream: "\"stream_id\"".to_owned(),
        stream_column: "\"stream_id\"".to_owned(),
        stream_key: StreamKey::Text,
        version: "\"stream_position\"::bigint".to_owned(),
        version_key: integer_key(catalog, schema, "emt_messages", "stream_position"),
        position_key: integer_key(catalog, schema, "emt_messages", "global_position"),
        event_type: "\"message_type\"".to_owned(),
        stored_type: None,
        event_id: Some("\"message_id\"::text".to_owned()),
        payload: "\"message_data\"::text".to_owned(),
        metadata: Some("\"message_metadata\"::text".to_owned()),
        recorded_at: Some("\"created\"".to_owned()),
        schema_version: Some(digits_to_bigint("\"message_schema_version\"") + "::int"),
        correlation: None,
        causation: None,
        format: PayloadFormat::Json,
        eventsourcing: false,
        text_search: true,
        ids: IdPaths::default(),
        category: format!("min({})", prefix_category("\"stream_id\"")),
        row_category: None,
    };
    let checkpoints = catalog
        .has(
            schema,
            "emt_processors",
            &["processor_id", "last_processed_checkpoint"],
        )
        .then(|| {
            format!(
                "SELECT \"processor_id\"::text, COALESCE({}, 0), \"last_updated\", NULL::text, \
                 NULL::text FROM {} ORDER BY 1",
                digits_to_bigint("\"last_processed_checkpoint\""),
                table(schema, "emt_processors")
            )
        })
        .into_iter()
        .collect();
    Some(Layout {
        name: "emmett",
        key: schema.to_owned(),
        detail: format!("Emmett ({schema}.emt_messages)"),
        events,
        snapshots: None,
        checkpoints,
        correlation_index_expr: Some("(message_metadata->>'correlationId')".to_owned()),
    })
}

/// Marten: `mt_events`, `mt_streams`, `mt_event_progression`, in any schema.
fn marten(catalog: &Catalog, schema: &str) -> Option<Layout> {
    let cols = [
        "seq_id",
        "id",
        "stream_id",
        "version",
        "data",
        "type",
        "timestamp",
    ];
    if !catalog.has(schema, "mt_events", &cols) {
        return None;
    }
    let has = |c: &str| catalog.has(schema, "mt_events", &[c]);
    let mut meta = Vec::new();
    for (key, column) in [
        ("correlationId", "correlation_id"),
        ("causationId", "causation_id"),
        ("tenantId", "tenant_id"),
        ("dotnetType", "mt_dotnet_type"),
        ("isArchived", "is_archived"),
        ("headers", "headers"),
    ] {
        if has(column) {
            meta.push(format!("'{key}', e.{}", quote_ident(column)));
        }
    }
    let tenant = has("tenant_id");
    // Several tenants may share a stream id: show the tenant before it.
    let stream = if tenant {
        "CASE WHEN e.\"tenant_id\" = '*DEFAULT*' THEN e.\"stream_id\"::text \
         ELSE e.\"tenant_id\" || '/' || e.\"stream_id\"::text END"
            .to_owned()
    } else {
        "e.\"stream_id\"::text".to_owned()
    };
    let streams_join = catalog.has(schema, "mt_streams", &["id", "type"]);
    let from = if streams_join {
        let tenant_join = if tenant && catalog.has(schema, "mt_streams", &["tenant_id"]) {
            " AND s.\"tenant_id\" = e.\"tenant_id\""
        } else {
            ""
        };
        format!(
            "{} e LEFT JOIN {} s ON s.\"id\" = e.\"stream_id\"{tenant_join}",
            table(schema, "mt_events"),
            table(schema, "mt_streams")
        )
    } else {
        format!("{} e", table(schema, "mt_events"))
    };
    let events = EventsSql {
        from,
        position: "e.\"seq_id\"::bigint".to_owned(),
        stream_column: stream.clone(),
        stream_key: StreamKey::Text,
        category: if streams_join {
            "COALESCE(min(s.\"type\")::text, '')".to_owned()
        } else {
            format!("min({})", prefix_category(&stream))
        },
        stream,
        version: "e.\"version\"::bigint".to_owned(),
        version_key: format!("e.{}", integer_key(catalog, schema, "mt_events", "version")),
        position_key: format!("e.{}", integer_key(catalog, schema, "mt_events", "seq_id")),
        event_type: "e.\"type\"::text".to_owned(),
        stored_type: None,
        event_id: Some("e.\"id\"::text".to_owned()),
        payload: "e.\"data\"::text".to_owned(),
        metadata: (!meta.is_empty()).then(|| {
            format!(
                "jsonb_strip_nulls(jsonb_build_object({}))::text",
                meta.join(", ")
            )
        }),
        recorded_at: Some("e.\"timestamp\"".to_owned()),
        schema_version: None,
        correlation: has("correlation_id").then(|| "e.\"correlation_id\"::text".to_owned()),
        causation: has("causation_id").then(|| "e.\"causation_id\"::text".to_owned()),
        format: PayloadFormat::Json,
        eventsourcing: false,
        text_search: true,
        ids: IdPaths::default(),
        row_category: None,
    };
    let checkpoints = catalog
        .has(schema, "mt_event_progression", &["name", "last_seq_id"])
        .then(|| {
            format!(
                "SELECT \"name\"::text, COALESCE(\"last_seq_id\", 0)::bigint, {}, NULL::text, \
                 NULL::text FROM {} ORDER BY 1",
                if catalog.has(schema, "mt_event_progression", &["last_updated"]) {
                    "\"last_updated\""
                } else {
                    "NULL::timestamptz"
                },
                table(schema, "mt_event_progression")
            )
        })
        .into_iter()
        .collect();
    Some(Layout {
        name: "marten",
        key: schema.to_owned(),
        detail: format!("Marten ({schema}.mt_events)"),
        events,
        snapshots: None,
        checkpoints,
        correlation_index_expr: has("correlation_id").then(|| "(correlation_id)".to_owned()),
    })
}
