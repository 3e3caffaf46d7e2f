//! SQL text generated once per layout.

use super::layout::{CategoryRule, FieldSource, IdEncoding, Layout, TimeFormat};

/// Prepared SQL for one layout.
#[derive(Debug)]
pub(super) struct Sql {
    pub base_where: String,
    pub event_columns: String,
    pub stream_summary: String,
    pub stream_first: String,
    pub stream_last: String,
    pub stream_filter: String,
    pub uuid_condition: String,
    pub stream_prefix: String,
    pub recorded_seconds: Option<String>,
    pub head: String,
    pub count_events: String,
    pub one_stream: String,
    pub stream_forwards: String,
    pub stream_backwards: String,
    /// `stream_forwards` / `stream_backwards` for a stream id with a single stored form
    /// (`{sid} = ?1`, version `?2`, limit `?3`): the index delivers the rows in version
    /// order, where `IN (…)` makes SQLite sort them in a temporary B-tree.
    pub stream_forwards_one: String,
    pub stream_backwards_one: String,
    /// The four stream reads above without the version bound (`?5` / `?2` is bound and
    /// unused), for a read from the start or the end: rows whose version is NULL or text
    /// are then read too (and reported), instead of falling outside every range.
    /// Order: forwards any, forwards one, backwards any, backwards one.
    pub stream_unbounded: [String; 4],
    pub stream_categories: String,
    pub event_types: String,
    pub version_at: Option<String>,
    pub snapshots: Option<String>,
    pub snapshot_streams: Option<String>,
    pub count_snapshots: Option<String>,
    pub checkpoints: Vec<String>,
    pub checkpoint_history: Option<String>,
    /// Pages of a stream by ordinal: `(forwards, backwards)` for a single id form
    /// (`?1` id, `?2` limit, `?3` offset) and for the four forms (`?1..?4`, `?5`, `?6`).
    pub ordinal_one: (String, String),
    pub ordinal_any: (String, String),
    /// Events of a stream: `?1` id (single form) / `?1..?4` (`_any`).
    pub stream_count_one: String,
    pub stream_count_any: String,
    /// The events of a stream (`?1..?4` id forms) after position `?5` up to `?6`.
    pub ordinal_between: String,
    /// `(shown, stored)` type pairs, one per stored type.
    pub event_type_names: Option<String>,
}

fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The text at a JSON path of a JSON column, unwrapping typed `{_type_, _data_}` values;
/// NULL when the column is not JSON.
fn json_text(column: &str, path: &str) -> String {
    let text = format!("CAST({column} AS TEXT)");
    format!(
        "(CASE WHEN json_valid({text}) THEN COALESCE(json_extract({text}, {}), json_extract({text}, {})) END)",
        sql_string(&format!("{path}._data_")),
        sql_string(path)
    )
}

impl Sql {
    pub(super) fn new(layout: &Layout) -> Self {
        let e = &layout.events;
        let t = &e.table;
        let sid = &e.stream_id;
        let base_where = e
            .filter
            .as_ref()
            .map_or_else(|| "1".to_owned(), |f| format!("({f})"));
        let time_text = match &e.recorded_at {
            FieldSource::None => None,
            FieldSource::Column(c) => Some(c.clone()),
            FieldSource::PayloadPath(p) => Some(json_text(&e.payload, p)),
            FieldSource::MetadataPath(p) => e.metadata.as_ref().map(|m| json_text(m, p)),
        };
        let recorded_seconds = time_text.as_ref().map(|text| match (&e.recorded_at, e.recorded_at_format) {
            (FieldSource::Column(c), TimeFormat::Auto) => format!(
                "(CASE WHEN typeof({c}) IN ('integer', 'real') THEN (CASE WHEN abs({c}) >= 1e14 THEN {c} / 1e6 \
                 WHEN abs({c}) >= 1e11 THEN {c} / 1000.0 ELSE {c} END) ELSE unixepoch({c}, 'subsec') END)"
            ),
            (_, TimeFormat::UnixSeconds) => text.clone(),
            (_, TimeFormat::UnixMillis) => format!("({text} / 1000.0)"),
            (_, TimeFormat::Auto) => format!("unixepoch({text}, 'subsec')"),
        });
        let time_column = match &e.recorded_at {
            FieldSource::Column(c) => c.clone(),
            _ => "NULL".to_owned(),
        };
        let schema_column = match &e.schema_version {
            FieldSource::Column(c) => c.clone(),
            _ => "NULL".to_owned(),
        };
        let columns_with = |version: &str| {
            format!(
                "{}, {sid}, {version}, {}, {}, {}, {}, {time_column}, {schema_column}, {}",
                e.position,
                e.event_type,
                e.event_id.as_deref().unwrap_or("NULL"),
                e.payload,
                e.metadata.as_deref().unwrap_or("NULL"),
                e.stored_type.as_deref().unwrap_or("NULL"),
            )
        };
        // The version of an ordinal page is filled in afterwards (from the offset of a
        // stream page; by counts per stream for a log page).
        let event_columns = if e.ordinal_version {
            columns_with("0")
        } else {
            columns_with(&e.version)
        };
        let event_columns_ordinal = columns_with("0");
        let time_or_null = time_text.clone().unwrap_or_else(|| "NULL".to_owned());
        // Index-only aggregates (stream id, version, rowid position): no table row is read
        // per event, so a stream with 500k events costs one index range scan.
        let stream_summary = if e.ordinal_version {
            format!("{sid}, COUNT(*), COUNT(*), MAX({p})", p = e.position)
        } else {
            format!(
                "{sid}, COUNT(*), MAX({v}), MAX({p})",
                v = e.version,
                p = e.position
            )
        };
        // The time and type of a stream's first / last event: one point lookup each.
        let stream_end = |order: &str| {
            format!(
                "SELECT {time_or_null}, {ty} FROM {t} WHERE {base_where} AND {sid} = ?1 ORDER BY {v} {order} LIMIT 1",
                ty = e.event_type,
                v = e.version
            )
        };
        let stream_first = stream_end("ASC");
        let stream_last = stream_end("DESC");
        let (stream_filter, uuid_condition, stream_prefix) = match e.stream_id_encoding {
            IdEncoding::Text => (
                format!("(instr(lower({sid}), ?1) > 0 OR instr(lower({sid}), ?2) > 0)"),
                format!(
                    "((length({sid}) = 32 AND instr({sid}, '-') = 0) OR (length({sid}) = 36 AND \
                     substr({sid}, 9, 1) = '-' AND substr({sid}, 14, 1) = '-'))"
                ),
                format!("substr({sid}, 1, length(?P)) = ?P"),
            ),
            IdEncoding::UuidBlob => (
                format!("(instr(lower(hex({sid})), ?2) > 0 AND ?1 IS NOT NULL)"),
                "1".to_owned(),
                format!("substr(lower(hex({sid})), 1, length(?P)) = ?P"),
            ),
        };
        let in_stream = format!("{sid} IN (?1, ?2, ?3, ?4)");
        let stream_read = |op: &str, order: &str| {
            format!(
                "SELECT {event_columns} FROM {t} WHERE {base_where} AND {in_stream} AND {v} {op} ?5 \
                 ORDER BY {v} {order} LIMIT ?6",
                v = e.version
            )
        };
        let stream_read_one = |op: &str, order: &str| {
            format!(
                "SELECT {event_columns} FROM {t} WHERE {base_where} AND {sid} = ?1 AND {v} {op} ?2 \
                 ORDER BY {v} {order} LIMIT ?3",
                v = e.version
            )
        };
        let ordinal_read = |condition: &str, limit: usize| {
            let read = |order: &str| {
                format!(
                    "SELECT {event_columns_ordinal} FROM {t} WHERE {base_where} AND {condition} \
                     ORDER BY {p} {order} LIMIT ?{limit} OFFSET ?{offset}",
                    p = e.position,
                    offset = limit + 1
                )
            };
            (read("ASC"), read("DESC"))
        };
        let one_condition = format!("{sid} = ?1");
        let ordinal_one = ordinal_read(&one_condition, 2);
        let ordinal_any = ordinal_read(&in_stream, 5);
        let stream_count_one =
            format!("SELECT COUNT(*) FROM {t} WHERE {base_where} AND {one_condition}");
        let stream_count_any =
            format!("SELECT COUNT(*) FROM {t} WHERE {base_where} AND {in_stream}");
        let ordinal_between = format!(
            "SELECT COUNT(*) FROM {t} WHERE {base_where} AND {in_stream} AND {p} > ?5 AND {p} <= ?6",
            p = e.position
        );
        let event_type_names = e.stored_type.as_ref().map(|stored| {
            format!(
                "SELECT MIN({shown}), {stored} FROM {t} WHERE {base_where} GROUP BY 2 ORDER BY 1, 2",
                shown = e.event_type
            )
        });
        let category_type = match e.category {
            CategoryRule::Prefix(_) => "NULL".to_owned(),
            CategoryRule::EventTypeQualifier => format!("MIN({})", e.event_type),
        };
        let snapshots = layout.snapshots.as_ref().map(|s| {
            let column = |f: &FieldSource| match f {
                FieldSource::Column(c) => c.clone(),
                _ => "NULL".to_owned(),
            };
            format!(
                "SELECT {sid}, {v}, {state}, {schema}, {taken} FROM {table} WHERE {sid} IN (?1, ?2, ?3, ?4) ORDER BY {v}",
                sid = s.stream_id,
                v = s.version,
                state = s.state,
                schema = column(&s.schema_version),
                taken = column(&s.taken_at),
                table = s.table,
            )
        });
        let checkpoints = layout
            .checkpoints
            .iter()
            .map(|c| {
                format!(
                    "SELECT {name}, MAX({pos}), MAX({updated}), MAX({upstream}) FROM {table} WHERE {filter} \
                     GROUP BY 1 ORDER BY 1",
                    name = c.name,
                    pos = c.position,
                    updated = c.updated_at.as_deref().unwrap_or("NULL"),
                    upstream = c.upstream.as_deref().unwrap_or("NULL"),
                    table = c.table,
                    filter = c.filter.as_deref().unwrap_or("1"),
                )
            })
            .collect();
        let checkpoint_history = layout.checkpoint_history.as_ref().and_then(|c| {
            let at = c.updated_at.as_ref()?;
            Some(format!(
                "SELECT {name}, {pos}, {at} FROM {table} WHERE {filter} AND {at} >= ?1 ORDER BY {at} DESC LIMIT ?2",
                name = c.name,
                pos = c.position,
                table = c.table,
                filter = c.filter.as_deref().unwrap_or("1"),
            ))
        });
        Self {
            checkpoint_history,
            ordinal_one,
            ordinal_any,
            stream_count_one,
            stream_count_any,
            ordinal_between,
            event_type_names,
            // Only integer positions count (text sorts above numbers in SQLite).
            head: format!(
                "SELECT {p} FROM {t} WHERE {base_where} AND typeof({p}) = 'integer' ORDER BY {p} DESC LIMIT 1",
                p = e.position
            ),
            count_events: format!("SELECT COUNT(*) FROM {t} WHERE {base_where}"),
            one_stream: format!(
                "SELECT {stream_summary} FROM {t} WHERE {base_where} AND {in_stream}"
            ),
            stream_unbounded: [
                stream_read(">=", "ASC")
                    .replace(&format!(" AND {} >= ?5", e.version), " AND ?5 IS NOT NULL"),
                stream_read_one(">=", "ASC")
                    .replace(&format!(" AND {} >= ?2", e.version), " AND ?2 IS NOT NULL"),
                stream_read("<=", "DESC")
                    .replace(&format!(" AND {} <= ?5", e.version), " AND ?5 IS NOT NULL"),
                stream_read_one("<=", "DESC")
                    .replace(&format!(" AND {} <= ?2", e.version), " AND ?2 IS NOT NULL"),
            ],
            stream_forwards: stream_read(">=", "ASC"),
            stream_backwards: stream_read("<=", "DESC"),
            stream_forwards_one: stream_read_one(">=", "ASC"),
            stream_backwards_one: stream_read_one("<=", "DESC"),
            stream_categories: format!(
                "SELECT {sid}, {category_type} FROM {t} WHERE {base_where} GROUP BY {sid}"
            ),
            event_types: format!(
                "SELECT DISTINCT {} FROM {t} WHERE {base_where} ORDER BY 1",
                e.event_type
            ),
            version_at: recorded_seconds.as_ref().map(|seconds| {
                format!(
                    "SELECT {v} FROM {t} WHERE {base_where} AND {in_stream} AND {seconds} <= ?5 \
                     ORDER BY {v} DESC LIMIT 8",
                    v = e.version
                )
            }),
            snapshot_streams: layout.snapshots.as_ref().map(|s| {
                format!(
                    "SELECT DISTINCT {sid} FROM {table} ORDER BY 1 LIMIT ?1 OFFSET ?2",
                    sid = s.stream_id,
                    table = s.table,
                )
            }),
            count_snapshots: layout
                .snapshots
                .as_ref()
                .map(|s| format!("SELECT COUNT(*) FROM {}", s.table)),
            snapshots,
            checkpoints,
            base_where,
            event_columns,
            stream_first,
            stream_last,
            stream_summary,
            stream_filter,
            uuid_condition,
            stream_prefix,
            recorded_seconds,
        }
    }
}
