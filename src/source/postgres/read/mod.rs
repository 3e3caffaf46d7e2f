//! The PostgreSQL source: opens a session, detects the layouts, and answers every
//! [`EventSource`] read with short read-only statements built from the chosen layout.
//! (Over 600 lines: the `EventSource` reads every layout shares one session and the layout's SQL; the stream list is in `streams.rs`, correlations in `correlation.rs`.)

mod correlation;
mod streams;

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use correlation::{correlation_key_in_use, find_correlation_index};
use streams::{find_stream_index, stream_info};

use super::BATCH;
use super::client::Session;
use super::conninfo::{self, ConnInfo};
use super::layout::{self, Catalog, EventsSql, Layout, StreamKey};
use crate::core::event::{
    Checkpoint, Event, EventTypeName, FieldProblem, Payload, PayloadFormat, Snapshot, StoreInfo,
    StreamInfo,
};
use crate::core::query::{Direction, LogQuery, MAX_PAGE, StreamQuery, StreamSort};
use crate::core::source::{CategoryLag, CorrelatedEvents, EventSource, SourceError, SourceResult};

/// A PostgreSQL event store, one layout of one database.
pub struct PostgresSource {
    session: Session,
    layout: Layout,
    /// The other layouts / applications in the same database (`#App` picks one).
    others: Vec<String>,
    /// The index answering correlation lookups, when the store has one.
    correlation_index: Option<String>,
    /// The stream column, when a b-tree index leads with it (the stream list walks it).
    stream_index: Option<String>,
}

/// Query parameters, numbered as they are added.
#[derive(Default)]
struct Params(Vec<Box<dyn ToSql + Sync + Send>>);

impl Params {
    fn push(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(value));
        format!("${}", self.0.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl PostgresSource {
    /// Opens `location` (URL or keyword string; `#App` picks a layout or application).
    ///
    /// # Errors
    /// When the server cannot be reached, refuses the session, or holds no known layout.
    pub fn open(location: &str, application: Option<&str>) -> SourceResult<Self> {
        Self::open_mapped(location, application, None)
    }

    /// Opens `location` with the tables a mapping file (its TOML text) describes instead
    /// of a detected layout (`None`: detect).
    ///
    /// # Errors
    /// As [`PostgresSource::open`], and [`SourceError::Mapping`] for a mapping that does
    /// not fit the database.
    pub fn open_mapped(
        location: &str,
        application: Option<&str>,
        mapping: Option<&str>,
    ) -> SourceResult<Self> {
        let mut info = conninfo::parse(location, &conninfo::ProcessEnv)
            .map_err(|e| SourceError::Open(format!("{e}: {}", conninfo::redact(location))))?;
        if application.is_some() {
            info.application = application.map(str::to_owned);
        }
        Self::open_with(info, super::client::STATEMENT_TIMEOUT, mapping)
    }

    /// Opens with parsed settings and a statement timeout (tests use a short one).
    ///
    /// # Errors
    /// As [`PostgresSource::open`].
    pub fn open_info(info: ConnInfo, statement_timeout: std::time::Duration) -> SourceResult<Self> {
        Self::open_with(info, statement_timeout, None)
    }

    fn open_with(
        info: ConnInfo,
        statement_timeout: std::time::Duration,
        mapping: Option<&str>,
    ) -> SourceResult<Self> {
        let session = Session::connect_with(info, statement_timeout)?;
        let info = session.info().clone();
        let rows = session.query(layout::CATALOG_SQL, &[])?;
        let mut catalog = Catalog::default();
        for row in &rows {
            let schema: String = row.get(0);
            let table: String = row.get(1);
            catalog
                .tables
                .entry((schema, table))
                .or_default()
                .push((row.get(2), row.get(3)));
        }
        let layouts = match mapping {
            Some(text) => vec![super::mapping::layout(
                text,
                &catalog,
                info.schema.as_deref().unwrap_or("public"),
            )?],
            None => layout::detect(&catalog, info.schema.as_deref()),
        };
        if layouts.is_empty() {
            let tables: Vec<String> = catalog
                .tables
                .keys()
                .take(12)
                .map(|(s, t)| format!("{s}.{t}"))
                .collect();
            return Err(SourceError::UnknownLayout(format!(
                "no event store layout recognised in {} (tables: {}); known: DIY events table, \
                 Python eventsourcing, Message DB, Emmett, Marten",
                info.shown,
                if tables.is_empty() {
                    "none".to_owned()
                } else {
                    tables.join(", ")
                }
            )));
        }
        let keys: Vec<String> = layouts.iter().map(|l| l.key.clone()).collect();
        let chosen = match &info.application {
            Some(app) => layouts
                .iter()
                .position(|l| l.key.eq_ignore_ascii_case(app) || l.name.eq_ignore_ascii_case(app))
                .ok_or_else(|| {
                    SourceError::Open(format!(
                        "no application or schema \"{app}\" in {} (there are: {})",
                        info.shown,
                        keys.join(", ")
                    ))
                })?,
            None if layouts.len() == 1 => 0,
            None => {
                // The one with the most events (counted up to a bound).
                let mut best = (0, 0_i64);
                for (index, l) in layouts.iter().enumerate() {
                    let sql = format!(
                        "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT 1000001) AS bounded",
                        l.events.from
                    );
                    let count: i64 = session.query(&sql, &[])?.first().map_or(0, |r| r.get(0));
                    if count > best.1 {
                        best = (index, count);
                    }
                }
                best.0
            }
        };
        let others = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != chosen)
            .map(|(_, k)| k.clone())
            .collect();
        let layout = layouts
            .into_iter()
            .nth(chosen)
            .ok_or_else(|| SourceError::Open("layout selection failed".to_owned()))?;
        let mut layout = layout;
        correlation_key_in_use(&session, &mut layout)?;
        let correlation_index = find_correlation_index(&session, &layout)?;
        let stream_index = find_stream_index(&session, &layout)?;
        Ok(Self {
            session,
            layout,
            others,
            correlation_index,
            stream_index,
        })
    }

    /// The other applications / schemas with a store in the same database.
    #[must_use]
    pub fn others(&self) -> &[String] {
        &self.others
    }

    /// The stream column whose index the stream list walks (`None`: no index leads with
    /// it, and the list groups the events table).
    #[must_use]
    pub fn stream_index(&self) -> Option<&str> {
        self.stream_index.as_deref()
    }

    /// The detected layout.
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The index that would answer correlation lookups, when the store has none: the
    /// statement for the user to run (eventscope never runs it).
    #[must_use]
    pub fn index_hint(&self) -> Option<String> {
        if self.correlation_index.is_some() {
            return None;
        }
        let expr = self.layout.correlation_index_expr.as_ref()?;
        let table = self
            .layout
            .events
            .from
            .split(' ')
            .next()
            .unwrap_or_default();
        Some(format!("CREATE INDEX ON {table} ({expr})"))
    }

    /// The event columns, read by index. Each is aliased (`AS c0` …): an output column
    /// named like a table column would win over it in `ORDER BY "version"` and sort by the
    /// cast expression instead of walking the index.
    fn select(&self) -> String {
        let e = &self.layout.events;
        let or_null = |expr: &Option<String>, cast: &str| {
            expr.clone().unwrap_or_else(|| format!("NULL::{cast}"))
        };
        format!(
            "{} AS c0, {} AS c1, {} AS c2, {} AS c3, {} AS c4, {} AS c5, {} AS c6, {} AS c7, \
             {} AS c8, {} AS c9, {} AS c10, {} AS c11",
            e.position,
            e.stream,
            e.version,
            e.event_type,
            or_null(&e.stored_type, "text"),
            or_null(&e.event_id, "text"),
            e.payload,
            or_null(&e.metadata, "text"),
            if e.eventsourcing {
                "NULL::timestamptz".to_owned()
            } else {
                or_null(&e.recorded_at, "timestamptz")
            },
            or_null(&e.schema_version, "int"),
            or_null(&e.correlation, "text"),
            or_null(&e.causation, "text"),
        )
    }

    /// `column = $n` for a stream id, or `None` when the id cannot match (not a UUID for a
    /// UUID column).
    fn stream_condition(
        column: &str,
        key: StreamKey,
        stream_id: &str,
        params: &mut Params,
    ) -> Option<String> {
        match key {
            StreamKey::Text => Some(format!("{column} = {}", params.push(stream_id.to_owned()))),
            StreamKey::Uuid => {
                let bytes = crate::core::ids::parse_uuid(stream_id)?;
                let text = crate::core::ids::format_uuid(&bytes);
                Some(format!("{column} = {}::text::uuid", params.push(text)))
            }
        }
    }

    /// The condition selecting one stream's events (`None`: no event can match).
    fn in_stream(&self, stream_id: &str, params: &mut Params) -> Option<String> {
        let e = &self.layout.events;
        Self::stream_condition(&e.stream_column, e.stream_key, stream_id, params)
    }

    fn events(&self, sql: &str, params: &Params) -> SourceResult<Vec<Event>> {
        let rows = self.session.query(sql, &params.refs())?;
        Ok(rows
            .iter()
            .map(|row| decode_event(&self.layout.events, row))
            .collect())
    }

    /// A page of the log. `floor`: positions below it are not read. `contains`: only rows
    /// whose payload, metadata, stream id or event id contain it in any letter case
    /// (`ILIKE`; only where [`EventsSql::text_search`]), for a search's exact check to
    /// refine.
    fn log_page(
        &self,
        query: &LogQuery,
        floor: Option<u64>,
        contains: Option<&str>,
    ) -> SourceResult<Vec<Event>> {
        let e = &self.layout.events;
        let (cmp, order) = comparison(query.direction);
        let first = query.from_position;
        batched(
            query.limit,
            first,
            query.direction,
            |ev| ev.global_position,
            |from, batch| {
                let mut params = Params::default();
                let mut conditions = Vec::new();
                if let Some(from) = from {
                    conditions.push(format!(
                        "{} {cmp} {}::bigint",
                        e.position_key,
                        params.push(to_i64(from))
                    ));
                }
                if let Some(floor) = floor.filter(|f| *f > 0) {
                    conditions.push(format!(
                        "{} >= {}::bigint",
                        e.position_key,
                        params.push(to_i64(floor))
                    ));
                }
                if let Some(text) = contains.filter(|t| !t.is_empty()) {
                    let pattern = params.push(crate::search::like_pattern(text));
                    let mut columns = vec![e.payload.clone(), format!("({})::text", e.stream)];
                    columns.extend(e.metadata.clone());
                    columns.extend(e.event_id.as_ref().map(|id| format!("({id})::text")));
                    let any: Vec<String> = columns
                        .iter()
                        .map(|c| format!("({c}) ILIKE {pattern}"))
                        .collect();
                    conditions.push(format!("({})", any.join(" OR ")));
                }
                if !query.event_types.is_empty() {
                    let types = params.push(query.event_types.clone());
                    let stored = e
                        .stored_type
                        .as_ref()
                        .map_or_else(String::new, |s| format!(" OR {s} = ANY({types})"));
                    conditions.push(format!("({} = ANY({types}){stored})", e.event_type));
                }
                if let Some(prefix) = query.stream_prefix.as_deref().filter(|p| !p.is_empty()) {
                    let p = params.push(prefix.to_owned());
                    conditions.push(format!("left({}, length({p})) = {p}", e.stream));
                }
                if let Some(since) = query.since {
                    conditions.push(format!("{} >= {}", recorded(e), params.push(since)));
                }
                if let Some(until) = query.until {
                    conditions.push(format!("{} <= {}", recorded(e), params.push(until)));
                }
                let mut sql = format!("SELECT {} FROM {}", self.select(), e.from);
                if !conditions.is_empty() {
                    sql.push_str(" WHERE ");
                    sql.push_str(&conditions.join(" AND "));
                }
                sql.push_str(&format!(
                    " ORDER BY {} {order} LIMIT {}",
                    e.position_key,
                    params.push(to_i64(batch))
                ));
                self.events(&sql, &params)
            },
        )
    }
}

/// The comparison and order of a paged read in `direction`.
fn comparison(direction: Direction) -> (&'static str, &'static str) {
    match direction {
        Direction::Forwards => (">=", "ASC"),
        Direction::Backwards => ("<=", "DESC"),
    }
}

/// Reads up to `limit` (at most [`MAX_PAGE`]) events in statements of at most [`BATCH`]
/// rows, so no statement runs long: `batch(from, n)` reads `n` events from the paging key
/// `from` on (inclusive, `None` = the end `direction` starts at), and `key` is an event's
/// paging key (its version or position); the next statement starts past the last key read.
fn batched(
    limit: u64,
    mut from: Option<u64>,
    direction: Direction,
    key: fn(&Event) -> u64,
    mut batch: impl FnMut(Option<u64>, u64) -> SourceResult<Vec<Event>>,
) -> SourceResult<Vec<Event>> {
    let mut out = Vec::new();
    let mut remaining = limit.min(MAX_PAGE);
    while remaining > 0 {
        let n = remaining.min(BATCH);
        let page = batch(from, n)?;
        let got = page.len() as u64;
        let last = page.last().map(key);
        out.extend(page);
        remaining -= got.min(remaining);
        if got < n {
            break;
        }
        from = match (direction, last) {
            (Direction::Forwards, Some(k)) => Some(k + 1),
            (Direction::Backwards, Some(k)) if k > 0 => Some(k - 1),
            _ => break,
        };
    }
    Ok(out)
}

/// The recorded-at expression usable in SQL (eventsourcing's lives in the payload JSON).
fn recorded(e: &EventsSql) -> String {
    e.recorded_at
        .clone()
        .unwrap_or_else(|| "NULL::timestamptz".to_owned())
}

fn payload_of(row: &Row, index: usize, format: PayloadFormat) -> Result<Payload, String> {
    let column = &row.columns()[index];
    if *column.type_() == Type::BYTEA {
        let bytes: Option<&[u8]> = row.try_get(index).map_err(|e| e.to_string())?;
        Ok(bytes.map_or_else(Payload::empty, |b| Payload::stored(b, format)))
    } else {
        let text: Option<&str> = row.try_get(index).map_err(|e| e.to_string())?;
        Ok(text.map_or_else(Payload::empty, |t| Payload::stored(t.as_bytes(), format)))
    }
}

fn decode_event(e: &EventsSql, row: &Row) -> Event {
    let mut problems = Vec::new();
    let get_u64 = |index: usize, field: &str, problems: &mut Vec<FieldProblem>| -> u64 {
        match row.try_get::<_, Option<i64>>(index) {
            Ok(Some(v)) if v >= 0 => v.unsigned_abs(),
            Ok(Some(v)) => {
                problems.push(FieldProblem::new(field, "negative", Some(v.to_string())));
                0
            }
            Ok(None) => {
                problems.push(FieldProblem::new(field, "NULL", None));
                0
            }
            Err(err) => {
                problems.push(FieldProblem::new(field, err.to_string(), None));
                0
            }
        }
    };
    let global_position = get_u64(0, "global_position", &mut problems);
    let stream_version = get_u64(2, "stream_version", &mut problems);
    let text = |index: usize| row.try_get::<_, Option<String>>(index).ok().flatten();
    let stream_id = text(1).map_or_else(
        || {
            problems.push(FieldProblem::new("stream_id", "NULL", None));
            String::new()
        },
        |s| crate::core::ids::display_stream_id(&s),
    );
    let event_type = text(3).unwrap_or_else(|| {
        problems.push(FieldProblem::new("event_type", "NULL", None));
        String::new()
    });
    let stored_type = text(4).filter(|s| *s != event_type);
    let payload = payload_of(row, 6, e.format).unwrap_or_else(|err| {
        problems.push(FieldProblem::new("payload", err, None));
        Payload::empty()
    });
    let metadata = payload_of(row, 7, PayloadFormat::Json).unwrap_or_else(|err| {
        problems.push(FieldProblem::new("metadata", err, None));
        Payload::empty()
    });
    let mut recorded_at: Option<DateTime<Utc>> = row.try_get(8).ok().flatten();
    let mut schema_version = row
        .try_get::<_, Option<i32>>(9)
        .ok()
        .flatten()
        .and_then(|v| u32::try_from(v).ok());
    if e.eventsourcing {
        if let Some(json) = payload.as_json() {
            recorded_at = json
                .get("timestamp")
                .and_then(serde_json::Value::as_str)
                .and_then(crate::core::time::parse_timestamp);
            schema_version = Some(
                json.get("class_version")
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(1),
            );
        } else if !payload.is_empty() {
            problems.push(FieldProblem::new(
                "payload",
                "not JSON",
                payload.raw_bytes().map(FieldProblem::raw_of_bytes),
            ));
        }
    }
    let (mut correlation_id, mut causation_id) = e.ids.extract_from_payload(&metadata);
    if e.correlation.is_some() {
        correlation_id = text(10);
    }
    if e.causation.is_some() {
        causation_id = text(11);
    }
    Event {
        global_position,
        stream_id,
        stream_version,
        event_id: text(5),
        event_type,
        schema_version,
        recorded_at,
        payload,
        metadata,
        correlation_id,
        causation_id,
        stored_type,
        problems,
    }
}

impl EventSource for PostgresSource {
    fn info(&self) -> SourceResult<StoreInfo> {
        let e = &self.layout.events;
        let streams_sql = self.count_all_streams_sql();
        let events_sql = format!(
            "SELECT count(*), COALESCE(max({})::bigint, 0) FROM {}",
            e.position_key, e.from
        );
        let snapshots_sql = self.layout.snapshots.as_ref().map_or_else(
            || "SELECT 0::bigint".to_owned(),
            |s| format!("SELECT count(*) FROM {}", s.from),
        );
        let results = self.session.read(&[
            (&streams_sql, &[]),
            (&events_sql, &[]),
            (&snapshots_sql, &[]),
        ])?;
        let first = |i: usize, c: usize| -> u64 {
            results[i]
                .first()
                .map_or(0, |r| u64::try_from(r.get::<_, i64>(c)).unwrap_or(0))
        };
        let mut detail = self.layout.detail.clone();
        if !self.others.is_empty() {
            detail.push_str(&format!(
                " (also in this database: {})",
                self.others.join(", ")
            ));
        }
        if let Some(hint) = self.index_hint() {
            detail.push_str(&format!(
                "; correlation lookups scan: `{hint}` would answer them from an index"
            ));
        }
        Ok(StoreInfo {
            location: self.session.info().shown.clone(),
            layout: self.layout.name.to_owned(),
            layout_detail: detail,
            stream_count: first(0, 0),
            event_count: Some(first(1, 0)),
            head_position: first(1, 1),
            snapshot_count: first(2, 0),
            checkpoint_names: self.checkpoints()?.into_iter().map(|c| c.name).collect(),
            others: self.others.clone(),
        })
    }

    fn head(&self) -> SourceResult<u64> {
        let e = &self.layout.events;
        let sql = format!(
            "SELECT COALESCE(max({})::bigint, 0) FROM {}",
            e.position_key, e.from
        );
        Ok(self
            .session
            .query(&sql, &[])?
            .first()
            .map_or(0, |r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0)))
    }

    fn list_streams(&self, query: &StreamQuery) -> SourceResult<Vec<StreamInfo>> {
        if let Some(column) = self.walkable(query) {
            return self.walk_streams(column, query);
        }
        let mut params = Params::default();
        let mut sql = self.stream_group_sql(query, &mut params);
        sql.push_str(&match query.sort {
            StreamSort::Id => format!(" ORDER BY {} COLLATE \"C\"", self.layout.events.stream),
            StreamSort::LastActivity => " ORDER BY 6 DESC".to_owned(),
        });
        let limit = params.push(to_i64(query.limit.min(MAX_PAGE)));
        let offset = params.push(to_i64(query.offset));
        sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        let rows = self.session.query(&sql, &params.refs())?;
        Ok(rows.iter().map(stream_info).collect())
    }

    fn count_streams(&self, query: &StreamQuery) -> SourceResult<u64> {
        let mut params = Params::default();
        let sql = match self.walkable(query) {
            Some(_) => self.count_all_streams_sql(),
            None => format!(
                "SELECT count(*) FROM ({}) AS s",
                self.stream_group_sql(query, &mut params)
            ),
        };
        let rows = self.session.query(&sql, &params.refs())?;
        Ok(rows
            .first()
            .map_or(0, |r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0)))
    }

    fn categories(&self) -> SourceResult<Vec<(String, u64)>> {
        let e = &self.layout.events;
        let sql = format!(
            "SELECT category, count(*) FROM (SELECT {} AS category FROM {} GROUP BY {}) AS s \
             GROUP BY 1 ORDER BY category COLLATE \"C\"",
            e.category, e.from, e.stream
        );
        let rows = self.session.query(&sql, &[])?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<_, Option<String>>(0).unwrap_or_default(),
                    u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
                )
            })
            .collect())
    }

    fn stream(&self, stream_id: &str) -> SourceResult<Option<StreamInfo>> {
        let e = &self.layout.events;
        let mut params = Params::default();
        let Some(condition) = self.in_stream(stream_id, &mut params) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT min({}), {} FROM {} WHERE {condition}",
            e.stream,
            streams::summary_columns(e),
            e.from
        );
        let rows = self.session.query(&sql, &params.refs())?;
        Ok(rows
            .first()
            .map(stream_info)
            .filter(|info| info.event_count > 0))
    }

    fn read_stream(
        &self,
        stream_id: &str,
        from_version: Option<u64>,
        direction: Direction,
        limit: u64,
    ) -> SourceResult<Vec<Event>> {
        let e = &self.layout.events;
        let (cmp, order) = comparison(direction);
        batched(
            limit,
            from_version,
            direction,
            |ev| ev.stream_version,
            |from, batch| {
                let mut params = Params::default();
                let Some(condition) = self.in_stream(stream_id, &mut params) else {
                    return Ok(Vec::new());
                };
                let mut sql = format!("SELECT {} FROM {} WHERE {condition}", self.select(), e.from);
                if let Some(from) = from {
                    sql.push_str(&format!(
                        " AND {} {cmp} {}::bigint",
                        e.version_key,
                        params.push(to_i64(from))
                    ));
                }
                sql.push_str(&format!(
                    " ORDER BY {} {order} LIMIT {}",
                    e.version_key,
                    params.push(to_i64(batch))
                ));
                self.events(&sql, &params)
            },
        )
    }

    fn read_log(&self, query: &LogQuery) -> SourceResult<Vec<Event>> {
        self.log_page(query, None, None)
    }

    fn search_log(
        &self,
        query: &LogQuery,
        floor: u64,
        contains: Option<&str>,
    ) -> SourceResult<Vec<Event>> {
        let contains = contains.filter(|_| self.layout.events.text_search);
        self.log_page(query, Some(floor), contains)
    }

    fn narrows_searches(&self) -> bool {
        self.layout.events.text_search
    }

    fn event_types(&self) -> SourceResult<Vec<String>> {
        Ok(self
            .event_type_names()?
            .into_iter()
            .map(|name| name.shown)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect())
    }

    fn event_type_names(&self) -> SourceResult<Vec<EventTypeName>> {
        let e = &self.layout.events;
        let stored = e
            .stored_type
            .clone()
            .unwrap_or_else(|| e.event_type.clone());
        let sql = format!(
            "SELECT DISTINCT {} , {stored} FROM {} ORDER BY 1, 2",
            e.event_type, e.from
        );
        let rows = self.session.query(&sql, &[])?;
        Ok(rows
            .iter()
            .map(|r| EventTypeName {
                shown: r.get::<_, Option<String>>(0).unwrap_or_default(),
                stored: r.get::<_, Option<String>>(1).unwrap_or_default(),
            })
            .collect())
    }

    fn version_at(&self, stream_id: &str, at: DateTime<Utc>) -> SourceResult<Option<u64>> {
        let e = &self.layout.events;
        let mut params = Params::default();
        let Some(condition) = self.in_stream(stream_id, &mut params) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT max({}) FROM {} WHERE {condition} AND {} <= {}",
            e.version,
            e.from,
            recorded(e),
            params.push(at)
        );
        let rows = self.session.query(&sql, &params.refs())?;
        Ok(rows
            .first()
            .and_then(|r| r.get::<_, Option<i64>>(0))
            .and_then(|v| u64::try_from(v).ok()))
    }

    fn snapshots(&self, stream_id: &str) -> SourceResult<Vec<Snapshot>> {
        let Some(s) = &self.layout.snapshots else {
            return Ok(Vec::new());
        };
        let mut params = Params::default();
        let Some(condition) =
            Self::stream_condition(&s.stream_column, s.stream_key, stream_id, &mut params)
        else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {}, {}, {}, {}, {} FROM {} WHERE {condition} ORDER BY 2",
            s.stream,
            s.version,
            s.state,
            s.schema_version
                .clone()
                .unwrap_or_else(|| "NULL::int".to_owned()),
            s.taken_at
                .clone()
                .unwrap_or_else(|| "NULL::timestamptz".to_owned()),
            s.from
        );
        let rows = self.session.query(&sql, &params.refs())?;
        Ok(rows
            .iter()
            .map(|row| {
                let format = if s.eventsourcing {
                    PayloadFormat::EventsourcingJson
                } else {
                    PayloadFormat::Json
                };
                let stored = payload_of(row, 2, format).unwrap_or_default();
                let mut snapshot = Snapshot {
                    stream_id: crate::core::ids::display_stream_id(
                        &row.get::<_, Option<String>>(0).unwrap_or_default(),
                    ),
                    version: u64::try_from(row.get::<_, i64>(1)).unwrap_or(0),
                    schema_version: row
                        .get::<_, Option<i32>>(3)
                        .and_then(|v| u32::try_from(v).ok()),
                    state: stored.clone(),
                    taken_at: row.get(4),
                };
                if s.eventsourcing
                    && let Some(json) = stored.as_json()
                {
                    let state = json.get("state").cloned().unwrap_or_default();
                    snapshot.schema_version = Some(
                        state
                            .get("class_version")
                            .and_then(serde_json::Value::as_u64)
                            .and_then(|v| u32::try_from(v).ok())
                            .unwrap_or(1),
                    );
                    snapshot.taken_at = json
                        .get("timestamp")
                        .and_then(serde_json::Value::as_str)
                        .and_then(crate::core::time::parse_timestamp);
                    snapshot.state = Payload::from_json(state);
                }
                snapshot
            })
            .collect())
    }

    fn snapshot_streams(&self, offset: u64, limit: u64) -> SourceResult<Vec<String>> {
        let Some(s) = &self.layout.snapshots else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT DISTINCT {} FROM {} ORDER BY 1 LIMIT $1 OFFSET $2",
            s.stream, s.from
        );
        let rows = self
            .session
            .query(&sql, &[&to_i64(limit.min(MAX_PAGE)), &to_i64(offset)])?;
        Ok(rows
            .iter()
            .map(|r| {
                crate::core::ids::display_stream_id(
                    &r.get::<_, Option<String>>(0).unwrap_or_default(),
                )
            })
            .collect())
    }

    fn correlated_events(&self, correlation_id: &str) -> SourceResult<Option<CorrelatedEvents>> {
        let Some(expr) = &self.layout.correlation_index_expr else {
            return Ok(None);
        };
        let Some(index) = &self.correlation_index else {
            return self.scan_correlation(expr, correlation_id, 0).map(Some);
        };
        let e = &self.layout.events;
        // Pages by position until a short page: a correlation can span more than a page.
        let sql = format!(
            "SELECT {} FROM {} WHERE {expr} = $1 AND {} > $2::bigint ORDER BY {} LIMIT {MAX_PAGE}",
            self.select(),
            e.from,
            e.position_key,
            e.position_key
        );
        let mut events: Vec<Event> = Vec::new();
        loop {
            if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                return Err(SourceError::Cancelled);
            }
            let mut params = Params::default();
            params.push(correlation_id.to_owned());
            let after = events.last().map_or(0, |e| e.global_position);
            params.push(i64::try_from(after).unwrap_or(i64::MAX));
            let page = self.events(&sql, &params)?;
            let full = page.len() as u64 >= MAX_PAGE;
            events.extend(page);
            if !full {
                break;
            }
        }
        Ok(Some(CorrelatedEvents {
            origin: format!("the store's index {index}"),
            events,
        }))
    }

    fn index_hint(&self) -> Option<String> {
        Self::index_hint(self)
    }

    fn correlated_events_after(
        &self,
        correlation_id: &str,
        after: u64,
    ) -> SourceResult<Option<CorrelatedEvents>> {
        let Some(expr) = &self.layout.correlation_index_expr else {
            return Ok(None);
        };
        self.scan_correlation(expr, correlation_id, after).map(Some)
    }

    fn checkpoints(&self) -> SourceResult<Vec<Checkpoint>> {
        let statements: Vec<(&str, &[&(dyn ToSql + Sync)])> = self
            .layout
            .checkpoints
            .iter()
            .map(|sql| (sql.as_str(), &[] as &[&(dyn ToSql + Sync)]))
            .collect();
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        let results = self.session.read(&statements)?;
        let mut out: Vec<Checkpoint> = results
            .iter()
            .flatten()
            .map(|row| Checkpoint {
                name: row.get::<_, Option<String>>(0).unwrap_or_default(),
                position: row
                    .get::<_, Option<i64>>(1)
                    .map_or(0, |v| u64::try_from(v).unwrap_or(0)),
                updated_at: row.get(2),
                upstream: row.get(3),
                category: row.get(4),
                partitions: Vec::new(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn category_lag(&self, category: &str, position: u64) -> SourceResult<Option<CategoryLag>> {
        let e = &self.layout.events;
        let Some(row_category) = &e.row_category else {
            return Ok(None);
        };
        let (from, pos, at) = (&e.from, &e.position_key, recorded(e));
        let counts = format!(
            "SELECT COALESCE(max({pos})::bigint, 0), count(*) FILTER (WHERE {pos} > $2::bigint) \
             FROM {from} WHERE {row_category} = $1"
        );
        let first = format!(
            "SELECT {at} FROM {from} WHERE {row_category} = $1 AND {pos} > $2::bigint \
             ORDER BY {pos} LIMIT 1"
        );
        let newest = format!(
            "SELECT {at} FROM {from} WHERE {row_category} = $1 ORDER BY {pos} DESC LIMIT 1"
        );
        let category = category.to_owned();
        let after = to_i64(position);
        let params: [&(dyn ToSql + Sync); 2] = [&category, &after];
        let head_params: [&(dyn ToSql + Sync); 1] = [&category];
        // One transaction: the counts and times of one snapshot.
        let results = self.session.read(&[
            (counts.as_str(), &params),
            (first.as_str(), &params),
            (newest.as_str(), &head_params),
        ])?;
        let count = |index: usize| {
            results[0]
                .first()
                .map_or(0, |r| u64::try_from(r.get::<_, i64>(index)).unwrap_or(0))
        };
        let time = |result: usize| -> Option<DateTime<Utc>> {
            results[result].first().and_then(|r| r.get(0))
        };
        Ok(Some(CategoryLag {
            head: count(0),
            behind: count(1),
            first_unprocessed_at: time(1),
            head_at: time(2),
        }))
    }
}
