//! SQLite event stores, opened read-only.
//!
//! Every connection is opened with `SQLITE_OPEN_READ_ONLY` and `PRAGMA query_only = 1`;
//! nothing (not a byte, not an index, not a persistent pragma) is ever written to the
//! user's file. Each read is one short statement (no long-lived read transactions), so a
//! writer in another process is never held up for more than a moment.

mod decode;
mod family;
pub mod layout;
pub mod mapping;
mod sql;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, params_from_iter};

use crate::core::event::{
    Checkpoint, CheckpointSample, Event, EventTypeName, Payload, Snapshot, StoreInfo, StreamInfo,
};
use crate::core::ids;
use crate::core::metadata::json_path;
use crate::core::query::{Direction, LogQuery, MAX_PAGE, StreamQuery, StreamSort};
use crate::core::source::{EventSource, SourceError, SourceResult};
use decode::{
    bytes_of, collect_page, lenient_unsigned, lossy_text, problem, schema_version_of,
    stored_payload, text_of, time_at, time_column, time_of, unsigned_or_problem, version_at_path,
};
use layout::{
    CategoryRule, DetectOptions, FieldSource, IdEncoding, Layout, PayloadEncoding, Schema,
    TimeFormat,
};
use sql::Sql;

/// Options for opening a SQLite store.
#[derive(Clone, Debug, Default)]
pub struct SqliteOptions {
    /// A mapping file to use instead of detection.
    pub mapping: Option<PathBuf>,
    /// For files with several `eventsourcing-sqlalchemy` applications: which one.
    pub application: Option<String>,
}

/// A read-only SQLite event store.
pub struct SqliteSource {
    path: PathBuf,
    layout: Layout,
    sql: Sql,
    pool: Mutex<Vec<(OpenMode, Connection)>>,
}

impl std::fmt::Debug for SqliteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSource")
            .field("path", &self.path)
            .field("layout", &self.layout.name)
            .finish_non_exhaustive()
    }
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Checks that `path` looks like a complete SQLite file before SQLite sees it, so the
/// user gets a precise message.
fn precheck(path: &Path) -> SourceResult<()> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::Open(format!("no such file: {shown}")),
        std::io::ErrorKind::PermissionDenied => {
            SourceError::Open(format!("permission denied: {shown}"))
        }
        _ => SourceError::Open(format!("cannot read ({e}): {shown}")),
    })?;
    if meta.is_dir() {
        return Err(SourceError::Open(format!(
            "this is a directory, not a SQLite file: {shown}"
        )));
    }
    if meta.len() == 0 {
        return Err(SourceError::Open(format!(
            "empty file (0 bytes), not a SQLite database: {shown}"
        )));
    }
    let mut header = [0u8; 100];
    let read = {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path)
            .map_err(|e| SourceError::Open(format!("cannot open ({e}): {shown}")))?;
        let mut total = 0;
        while total < header.len() {
            match file.read(&mut header[total..]) {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) => return Err(SourceError::Open(format!("cannot read ({e}): {shown}"))),
            }
        }
        total
    };
    if read < 16 || &header[..16] != SQLITE_HEADER {
        return Err(SourceError::Open(format!(
            "not a SQLite database (the file does not start with the SQLite header): {shown}"
        )));
    }
    if read < 100 {
        return Err(SourceError::Open(format!(
            "truncated SQLite file ({read} bytes, shorter than its 100-byte header): {shown}"
        )));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    let page_count = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let change_counter = &header[24..28];
    let valid_for = &header[92..96];
    if change_counter == valid_for && page_count > 0 && meta.len() < page_size * page_count {
        return Err(SourceError::Open(format!(
            "truncated SQLite file: its header says {page_count} pages of {page_size} bytes \
             ({} bytes) but the file has {} bytes: {shown}",
            page_size * page_count,
            meta.len()
        )));
    }
    Ok(())
}

/// How a connection opens the file, chosen from the state of the store's files so that a
/// reader never changes a byte of them nor creates a companion file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpenMode {
    /// Rollback-journal database: plain read-only.
    Plain,
    /// WAL database with `-wal` and `-shm` present: the WAL index is opened read-only too
    /// (otherwise this reader's read marks would be written into `-shm`).
    ReadonlyShm,
    /// WAL database with no `-wal` file (no writer, everything checkpointed): read the
    /// database file alone, since a read-only open would otherwise create `-wal`/`-shm`.
    /// Reconsidered before every read, so a writer that appears later is seen.
    Immutable,
    /// WAL database whose `-wal` exists without `-shm` (a crashed writer): SQLite must
    /// rebuild the index in a new `-shm`; the only case where a companion file is created.
    RebuildShm,
}

fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn choose_mode(path: &Path) -> OpenMode {
    use std::io::Read as _;
    let mut header = [0u8; 20];
    let wal_mode = std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2);
    if !wal_mode {
        return OpenMode::Plain;
    }
    match (
        companion(path, "-wal").exists(),
        companion(path, "-shm").exists(),
    ) {
        (true, true) => OpenMode::ReadonlyShm,
        (false, _) => OpenMode::Immutable,
        (true, false) => OpenMode::RebuildShm,
    }
}

/// A `file:` URI for the path with the parameters of the mode.
fn read_only_uri(path: &Path, mode: OpenMode) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut uri = String::from("file:");
    for &byte in absolute.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str(match mode {
        OpenMode::Plain | OpenMode::RebuildShm => "?mode=ro",
        OpenMode::ReadonlyShm => "?mode=ro&readonly_shm=1",
        OpenMode::Immutable => "?mode=ro&immutable=1",
    });
    uri
}

fn open_connection(path: &Path, mode: OpenMode) -> SourceResult<Connection> {
    if mode == OpenMode::RebuildShm {
        tracing::warn!(
            "the WAL of this store has no -shm index; SQLite will create one: {}",
            path.display()
        );
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(read_only_uri(path, mode), flags).map_err(|e| {
        SourceError::Open(format!("cannot open as SQLite ({e}): {}", path.display()))
    })?;
    // Connection-level settings only; none of these persists in the file.
    conn.pragma_update(None, "query_only", true)
        .and_then(|()| conn.busy_timeout(Duration::from_secs(2)))
        .map_err(|e| {
            SourceError::Open(format!(
                "cannot configure connection ({e}): {}",
                path.display()
            ))
        })?;
    Ok(conn)
}

fn query_error(e: &rusqlite::Error) -> SourceError {
    SourceError::Query(e.to_string())
}

impl SqliteSource {
    /// Opens a store read-only and detects (or reads from the mapping file) its layout.
    ///
    /// # Errors
    /// Missing/unreadable/non-SQLite/truncated files, unknown layouts, bad mapping files.
    pub fn open(path: &Path, options: &SqliteOptions) -> SourceResult<Self> {
        precheck(path)?;
        let mode = choose_mode(path);
        let conn = open_connection(path, mode)?;
        let schema = Schema::read(&conn).map_err(|e| {
            SourceError::Open(format!(
                "cannot read the SQLite schema ({e}): {}",
                path.display()
            ))
        })?;
        let mut layout = match &options.mapping {
            Some(mapping_path) => {
                let text = std::fs::read_to_string(mapping_path).map_err(|e| {
                    SourceError::Mapping(format!("cannot read ({e}): {}", mapping_path.display()))
                })?;
                mapping::parse(&text, &schema).map_err(|e| match e {
                    SourceError::Mapping(msg) => {
                        SourceError::Mapping(format!("{msg}: {}", mapping_path.display()))
                    }
                    other => other,
                })?
            }
            None => layout::detect(
                &schema,
                &DetectOptions {
                    application: options.application.clone(),
                },
            )?,
        };
        if options.mapping.is_none() {
            family::sample_schema_version(&conn, &mut layout);
        }
        let sql = Sql::new(&layout);
        // Validate the generated SQL now, so a bad mapping fails at open, not later.
        conn.prepare(&sql.head)
            .map_err(|e| match &options.mapping {
                Some(p) => SourceError::Mapping(format!("{e}: {}", p.display())),
                None => {
                    SourceError::Open(format!("cannot query the store ({e}): {}", path.display()))
                }
            })?;
        Ok(Self {
            path: path.to_owned(),
            layout,
            sql,
            pool: Mutex::new(vec![(mode, conn)]),
        })
    }

    /// The layout in use.
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Runs `f` with a pooled read-only connection opened in the mode the store's files
    /// call for right now.
    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> SourceResult<T> {
        if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
            return Err(SourceError::Cancelled);
        }
        let mode = choose_mode(&self.path);
        let pooled = {
            let mut pool = self
                .pool
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Connections opened for another state of the files are dropped.
            pool.retain(|(pooled_mode, _)| *pooled_mode == mode);
            pool.pop()
        };
        let mut conn = match pooled {
            Some((_, conn)) => conn,
            None => open_connection(&self.path, mode)?,
        };
        // Let a cancelled job interrupt a long statement.
        match crate::core::cancel::current() {
            Some(token) => {
                let flag = token.flag();
                conn.progress_handler(
                    10_000,
                    Some(move || flag.load(std::sync::atomic::Ordering::Relaxed)),
                )
                .ok();
            }
            None => {
                conn.progress_handler(0, None::<fn() -> bool>).ok();
            }
        }
        let result = f(&conn).map_err(|e| {
            if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                SourceError::Cancelled
            } else {
                query_error(&e)
            }
        });
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pool.len() < 4 {
            pool.push((mode, conn));
        }
        result
    }

    /// The parameters that match a stream id in any accepted form.
    fn stream_params(&self, stream_id: &str) -> Vec<rusqlite::types::Value> {
        use rusqlite::types::Value;
        match self.layout.events.stream_id_encoding {
            IdEncoding::UuidBlob => {
                let blob = ids::parse_uuid(stream_id).map_or_else(
                    || Value::Blob(stream_id.as_bytes().to_vec()),
                    |bytes| Value::Blob(bytes.to_vec()),
                );
                vec![blob; 4]
            }
            IdEncoding::Text => match ids::parse_uuid(stream_id) {
                Some(bytes) => {
                    let hyphenated = ids::format_uuid(&bytes);
                    let hex = hyphenated.replace('-', "");
                    vec![
                        Value::Text(hyphenated.to_uppercase()),
                        Value::Text(hex.to_uppercase()),
                        Value::Text(hyphenated),
                        Value::Text(hex),
                    ]
                }
                None => vec![Value::Text(stream_id.to_owned()); 4],
            },
        }
    }

    fn display_stream(&self, value: ValueRef<'_>) -> String {
        match value {
            ValueRef::Text(text) => ids::display_stream_id(&lossy_text(text)),
            ValueRef::Blob(blob) => match <[u8; 16]>::try_from(blob) {
                Ok(bytes) if self.layout.events.stream_id_encoding == IdEncoding::UuidBlob => {
                    ids::format_uuid(&bytes)
                }
                _ => String::from_utf8_lossy(blob).into_owned(),
            },
            ValueRef::Integer(i) => i.to_string(),
            ValueRef::Real(r) => r.to_string(),
            ValueRef::Null => String::new(),
        }
    }

    fn category(&self, stream_id: &str, event_type: Option<&str>) -> String {
        match &self.layout.events.category {
            CategoryRule::Prefix(separator) => ids::category_of(stream_id, *separator),
            CategoryRule::EventTypeQualifier => event_type
                .and_then(|t| {
                    t.rsplit_once('.')
                        .map(|(qualifier, _)| qualifier.to_owned())
                })
                .unwrap_or_default(),
        }
    }

    /// An event from an `event_columns` row. Every field is decoded on its own: one that
    /// cannot be read is left at its default and described in `Event::problems`.
    fn row_to_event(&self, row: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
        let events = &self.layout.events;
        let mut problems = Vec::new();
        let global_position =
            unsigned_or_problem(row.get_ref(0)?, "global_position", &mut problems);
        let stream_value = row.get_ref(1)?;
        if matches!(stream_value, ValueRef::Null) {
            problems.push(problem("stream_id", "NULL", stream_value));
        }
        let stream_id = self.display_stream(stream_value);
        let stream_version = unsigned_or_problem(row.get_ref(2)?, "stream_version", &mut problems);
        let type_value = row.get_ref(3)?;
        if matches!(type_value, ValueRef::Null) {
            problems.push(problem("event_type", "NULL", type_value));
        }
        let event_type = text_of(type_value).unwrap_or_default();
        let stored_type = text_of(row.get_ref(9)?).filter(|stored| *stored != event_type);
        let event_id = text_of(row.get_ref(4)?);
        // Payload and metadata stay as stored and are parsed on first access; only a field
        // the layout keeps inside them (eventsourcing's time, a mapping's paths) parses
        // them here.
        let payload_value = row.get_ref(5)?;
        let payload = match payload_value {
            ValueRef::Null => {
                problems.push(problem("payload", "NULL", payload_value));
                Payload::empty()
            }
            ValueRef::Integer(_) | ValueRef::Real(_) => {
                problems.push(problem(
                    "payload",
                    "a number, not a document",
                    payload_value,
                ));
                Payload::empty()
            }
            other => stored_payload(bytes_of(other), events.payload_encoding),
        };
        let metadata_value = row.get_ref(6)?;
        let metadata = match metadata_value {
            ValueRef::Integer(_) | ValueRef::Real(_) => {
                problems.push(problem(
                    "metadata",
                    "a number, not a document",
                    metadata_value,
                ));
                Payload::empty()
            }
            other => stored_payload(bytes_of(other), PayloadEncoding::Json),
        };
        let recorded_at = match &events.recorded_at {
            FieldSource::Column(_) => {
                let value = row.get_ref(7)?;
                match time_column(value, events.recorded_at_format) {
                    Ok(Some(at)) => Some(at),
                    Ok(None) => {
                        problems.push(problem("recorded_at", "NULL", value));
                        None
                    }
                    Err(what) => {
                        problems.push(problem("recorded_at", what, value));
                        None
                    }
                }
            }
            FieldSource::PayloadPath(path) => payload.stored_json().and_then(|j| time_at(j, path)),
            FieldSource::MetadataPath(path) => metadata.as_json().and_then(|j| time_at(j, path)),
            FieldSource::None => None,
        };
        let schema_version = match &events.schema_version {
            FieldSource::Column(_) => {
                let value = row.get_ref(8)?;
                schema_version_of(value).unwrap_or_else(|what| {
                    problems.push(problem("schema_version", what, value));
                    None
                })
            }
            FieldSource::PayloadPath(path) => {
                payload.stored_json().and_then(|j| version_at_path(j, path))
            }
            FieldSource::MetadataPath(path) => {
                metadata.as_json().and_then(|j| version_at_path(j, path))
            }
            FieldSource::None => None,
        }
        .or(events.default_schema_version);
        let (correlation_id, causation_id) = events.id_paths.extract_from_payload(&metadata);
        Ok(Event {
            global_position,
            stream_id,
            stream_version,
            event_id,
            event_type,
            schema_version,
            recorded_at,
            payload,
            metadata,
            correlation_id,
            causation_id,
            stored_type,
            problems,
        })
    }

    /// A stream summary from a `stream_summary` row, completed with the times of the
    /// stream's first and last events (two point lookups).
    fn row_to_stream(
        &self,
        conn: &Connection,
        row: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<StreamInfo> {
        let stored: rusqlite::types::Value = row.get(0)?;
        let stream_id = self.display_stream(row.get_ref(0)?);
        let format = self.layout.events.recorded_at_format;
        let end = |sql: &str| -> rusqlite::Result<(Option<DateTime<Utc>>, Option<String>)> {
            use rusqlite::OptionalExtension as _;
            let found = conn
                .prepare_cached(sql)?
                .query_row([&stored], |r| {
                    Ok((time_of(r.get_ref(0)?, format), text_of(r.get_ref(1)?)))
                })
                .optional()?;
            Ok(found.unwrap_or((None, None)))
        };
        let event_count = lenient_unsigned(row.get_ref(1)?);
        let ((first_recorded_at, first_type), (last_recorded_at, _)) = if event_count > 0 {
            (end(&self.sql.stream_first)?, end(&self.sql.stream_last)?)
        } else {
            ((None, None), (None, None))
        };
        Ok(StreamInfo {
            category: self.category(&stream_id, first_type.as_deref()),
            event_count,
            last_version: lenient_unsigned(row.get_ref(2)?),
            first_recorded_at,
            last_recorded_at,
            last_position: lenient_unsigned(row.get_ref(3)?),
            stream_id,
        })
    }

    /// A page of a stream whose versions are ordinals: the rows in position order from an
    /// offset, numbered from it (the index walk skips the rows before the page; nothing
    /// reads the whole stream, except a backwards read, which counts it).
    fn read_stream_ordinal(
        &self,
        mut params: Vec<rusqlite::types::Value>,
        single: bool,
        from_version: Option<u64>,
        direction: Direction,
        limit: u64,
    ) -> SourceResult<Vec<Event>> {
        use rusqlite::types::Value;
        let limit = clamp_limit(limit);
        let (forwards, backwards) = if single {
            &self.sql.ordinal_one
        } else {
            &self.sql.ordinal_any
        };
        let count_sql = if single {
            &self.sql.stream_count_one
        } else {
            &self.sql.stream_count_any
        };
        self.with_conn(|conn| {
            let (sql, offset, first, step): (&String, u64, u64, i64) = match direction {
                Direction::Forwards => {
                    let from = from_version.unwrap_or(1).max(1);
                    (forwards, from - 1, from, 1)
                }
                Direction::Backwards => {
                    let count = conn
                        .prepare_cached(count_sql)?
                        .query_row(params_from_iter(params.iter()), |row| {
                            Ok(lenient_unsigned(row.get_ref(0)?))
                        })?;
                    let from = from_version.unwrap_or(count).min(count);
                    if from == 0 {
                        return Ok(Vec::new());
                    }
                    (backwards, count - from, from, -1)
                }
            };
            params.push(Value::Integer(limit));
            params.push(Value::Integer(to_i64(offset)));
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                self.row_to_event(row)
            })?;
            let mut page = collect_page(rows, limit)?;
            for (i, event) in page.iter_mut().enumerate() {
                let i = i64::try_from(i).unwrap_or(i64::MAX);
                event.stream_version =
                    u64::try_from(to_i64(first).saturating_add(step * i)).unwrap_or(0);
            }
            Ok(page)
        })
    }

    fn stream_query_params(&self, query: &StreamQuery) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        if let Some(filter) = query.filter.as_deref().filter(|f| !f.is_empty()) {
            let lower = filter.to_lowercase();
            params.push(Value::Text(lower.clone()));
            params.push(Value::Text(lower.replace('-', "")));
            conditions.push(self.sql.stream_filter.clone());
        }
        let mut having = String::new();
        if let Some(category) = &query.category {
            match &self.layout.events.category {
                CategoryRule::Prefix(separator) => {
                    if category.is_empty() {
                        conditions.push(self.sql.uuid_condition.clone());
                    } else {
                        params.push(Value::Text(category.clone()));
                        params.push(Value::Text(format!("{category}{separator}")));
                        let n = params.len();
                        conditions.push(format!(
                            "({sid} = ?{a} OR substr({sid}, 1, length(?{n})) = ?{n})",
                            sid = self.layout.events.stream_id,
                            a = n - 1,
                        ));
                    }
                }
                CategoryRule::EventTypeQualifier => {
                    params.push(Value::Text(format!("{category}.")));
                    let n = params.len();
                    having = format!(
                        " HAVING substr(MIN({t}), 1, length(?{n})) = ?{n}",
                        t = self.layout.events.event_type
                    );
                }
            }
        }
        let mut where_clause = format!(
            "FROM {} WHERE {}",
            self.layout.events.table, self.sql.base_where
        );
        for condition in conditions {
            where_clause.push_str(" AND ");
            where_clause.push_str(&condition);
        }
        (
            format!(
                "{where_clause} GROUP BY {}{having}",
                self.layout.events.stream_id
            ),
            params,
        )
    }
}

/// Seconds since the epoch rounded to the millisecond, the way SQLite's date functions
/// round stored times, so comparisons in SQL are inclusive at the boundary; callers refine
/// with the exact times afterwards.
#[allow(clippy::cast_precision_loss)] // Seconds since the epoch fit in f64 with ms precision.
fn epoch_seconds(time: DateTime<Utc>) -> f64 {
    let micros = time.timestamp_micros();
    let millis = micros.div_euclid(1000) + i64::from(micros.rem_euclid(1000) >= 500);
    millis as f64 / 1e3
}

fn clamp_limit(limit: u64) -> i64 {
    i64::try_from(limit.min(MAX_PAGE)).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl EventSource for SqliteSource {
    fn info(&self) -> SourceResult<StoreInfo> {
        let head = self.head()?;
        let event_count = self.with_conn(|conn| {
            conn.prepare_cached(&self.sql.count_events)?
                .query_row([], |row| row.get::<_, i64>(0))
        })?;
        let stream_count = self.count_streams(&StreamQuery::default())?;
        let snapshot_count = match &self.sql.count_snapshots {
            Some(sql) => self.with_conn(|conn| {
                conn.prepare_cached(sql)?
                    .query_row([], |row| row.get::<_, i64>(0))
            })?,
            None => 0,
        };
        let checkpoint_names = self.checkpoints()?.into_iter().map(|c| c.name).collect();
        Ok(StoreInfo {
            location: self.path.display().to_string(),
            layout: self.layout.name.clone(),
            layout_detail: self.layout.detail.clone(),
            stream_count,
            event_count: Some(u64::try_from(event_count).unwrap_or(0)),
            head_position: head,
            snapshot_count: u64::try_from(snapshot_count).unwrap_or(0),
            checkpoint_names,
        })
    }

    fn head(&self) -> SourceResult<u64> {
        let head = self.with_conn(|conn| {
            use rusqlite::OptionalExtension as _;
            conn.prepare_cached(&self.sql.head)?
                .query_row([], |row| row.get::<_, i64>(0))
                .optional()
        })?;
        Ok(head.and_then(|h| u64::try_from(h).ok()).unwrap_or(0))
    }

    fn list_streams(&self, query: &StreamQuery) -> SourceResult<Vec<StreamInfo>> {
        let (tail, mut params) = self.stream_query_params(query);
        let order = match query.sort {
            StreamSort::Id => format!("{} ASC", self.layout.events.stream_id),
            StreamSort::LastActivity => format!("MAX({}) DESC", self.layout.events.position),
        };
        params.push(rusqlite::types::Value::Integer(clamp_limit(query.limit)));
        params.push(rusqlite::types::Value::Integer(to_i64(query.offset)));
        let n = params.len();
        let sql = format!(
            "SELECT {} {tail} ORDER BY {order} LIMIT ?{} OFFSET ?{n}",
            self.sql.stream_summary,
            n - 1
        );
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                self.row_to_stream(conn, row)
            })?;
            rows.collect()
        })
    }

    fn count_streams(&self, query: &StreamQuery) -> SourceResult<u64> {
        let (tail, params) = self.stream_query_params(query);
        let having_uses_type = matches!(
            self.layout.events.category,
            CategoryRule::EventTypeQualifier
        ) && query.category.is_some();
        let inner = if having_uses_type {
            format!("SELECT MIN({}) {tail}", self.layout.events.event_type)
        } else {
            format!("SELECT 1 {tail}")
        };
        let sql = format!("SELECT COUNT(*) FROM ({inner})");
        let count = self.with_conn(|conn| {
            conn.prepare_cached(&sql)?
                .query_row(params_from_iter(params.iter()), |row| row.get::<_, i64>(0))
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn categories(&self) -> SourceResult<Vec<(String, u64)>> {
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&self.sql.stream_categories)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let stream_id = self.display_stream(row.get_ref(0)?);
                let event_type = text_of(row.get_ref(1)?);
                *counts
                    .entry(self.category(&stream_id, event_type.as_deref()))
                    .or_default() += 1;
            }
            Ok(())
        })?;
        Ok(counts.into_iter().collect())
    }

    fn stream(&self, stream_id: &str) -> SourceResult<Option<StreamInfo>> {
        let params = self.stream_params(stream_id);
        let info = self.with_conn(|conn| {
            conn.prepare_cached(&self.sql.one_stream)?
                .query_row(params_from_iter(params.iter()), |row| {
                    self.row_to_stream(conn, row)
                })
        })?;
        Ok((info.event_count > 0).then_some(info))
    }

    fn read_stream(
        &self,
        stream_id: &str,
        from_version: Option<u64>,
        direction: Direction,
        limit: u64,
    ) -> SourceResult<Vec<Event>> {
        let mut params = self.stream_params(stream_id);
        // When every accepted form of the id is the same value (plain text ids, UUID
        // blobs), match it with `=`: SQLite then reads the rows in index order instead of
        // sorting the page in a temporary B-tree.
        let single = params.windows(2).all(|pair| pair[0] == pair[1]);
        if single {
            params.truncate(1);
        }
        if self.layout.events.ordinal_version {
            return self.read_stream_ordinal(params, single, from_version, direction, limit);
        }
        let (sql, from) = match (direction, single) {
            (Direction::Forwards, false) => (
                &self.sql.stream_forwards,
                from_version.map_or(i64::MIN, to_i64),
            ),
            (Direction::Forwards, true) => (
                &self.sql.stream_forwards_one,
                from_version.map_or(i64::MIN, to_i64),
            ),
            (Direction::Backwards, false) => (
                &self.sql.stream_backwards,
                from_version.map_or(i64::MAX, to_i64),
            ),
            (Direction::Backwards, true) => (
                &self.sql.stream_backwards_one,
                from_version.map_or(i64::MAX, to_i64),
            ),
        };
        params.push(rusqlite::types::Value::Integer(from));
        let limit = clamp_limit(limit);
        params.push(rusqlite::types::Value::Integer(limit));
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                self.row_to_event(row)
            })?;
            collect_page(rows, limit)
        })
    }

    fn read_log(&self, query: &LogQuery) -> SourceResult<Vec<Event>> {
        use rusqlite::types::Value;
        let events = &self.layout.events;
        let mut sql = format!(
            "SELECT {} FROM {} WHERE {}",
            self.sql.event_columns, events.table, self.sql.base_where
        );
        let mut params: Vec<Value> = Vec::new();
        let backwards = query.direction == Direction::Backwards;
        if let Some(from) = query.from_position {
            params.push(Value::Integer(to_i64(from)));
            sql.push_str(&format!(
                " AND {} {} ?{}",
                events.position,
                if backwards { "<=" } else { ">=" },
                params.len()
            ));
        }
        if !query.event_types.is_empty() {
            let start = params.len();
            params.extend(query.event_types.iter().map(|t| Value::Text(t.clone())));
            let placeholders: Vec<String> = (start + 1..=params.len())
                .map(|i| format!("?{i}"))
                .collect();
            let placeholders = placeholders.join(", ");
            // Either form names the type: the shown one or the stored one.
            match &events.stored_type {
                Some(stored) => sql.push_str(&format!(
                    " AND ({} IN ({placeholders}) OR {stored} IN ({placeholders}))",
                    events.event_type
                )),
                None => sql.push_str(&format!(" AND {} IN ({placeholders})", events.event_type)),
            }
        }
        if let Some(prefix) = query.stream_prefix.as_deref().filter(|p| !p.is_empty()) {
            let prefix = match events.stream_id_encoding {
                IdEncoding::Text => prefix.to_owned(),
                IdEncoding::UuidBlob => prefix.replace('-', "").to_lowercase(),
            };
            params.push(Value::Text(prefix));
            sql.push_str(&format!(
                " AND {}",
                self.sql
                    .stream_prefix
                    .replace("?P", &format!("?{}", params.len()))
            ));
        }
        for (bound, op) in [(query.since, ">="), (query.until, "<=")] {
            if let Some(time) = bound {
                let Some(seconds) = &self.sql.recorded_seconds else {
                    return Err(SourceError::Query(
                        "this store records no event times, so a time window cannot be applied"
                            .to_owned(),
                    ));
                };
                params.push(Value::Real(epoch_seconds(time)));
                sql.push_str(&format!(" AND {seconds} {op} ?{}", params.len()));
            }
        }
        let limit = clamp_limit(query.limit);
        params.push(Value::Integer(limit));
        sql.push_str(&format!(
            " ORDER BY {} {} LIMIT ?{}",
            events.position,
            if backwards { "DESC" } else { "ASC" },
            params.len()
        ));
        let mut events: Vec<Event> = self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                self.row_to_event(row)
            })?;
            collect_page(rows, limit)
        })?;
        // SQL compares at millisecond precision; apply the exact bounds.
        if query.since.is_some() || query.until.is_some() {
            events.retain(|e| {
                e.recorded_at.is_none_or(|at| {
                    query.since.is_none_or(|since| at >= since)
                        && query.until.is_none_or(|until| at <= until)
                })
            });
        }
        Ok(events)
    }

    fn event_types(&self) -> SourceResult<Vec<String>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&self.sql.event_types)?;
            let rows =
                stmt.query_map([], |row| Ok(text_of(row.get_ref(0)?).unwrap_or_default()))?;
            rows.collect()
        })
    }

    fn event_type_names(&self) -> SourceResult<Vec<EventTypeName>> {
        let Some(sql) = &self.sql.event_type_names else {
            return Ok(self
                .event_types()?
                .into_iter()
                .map(|shown| EventTypeName {
                    stored: shown.clone(),
                    shown,
                })
                .collect());
        };
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map([], |row| {
                Ok(EventTypeName {
                    shown: text_of(row.get_ref(0)?).unwrap_or_default(),
                    stored: text_of(row.get_ref(1)?).unwrap_or_default(),
                })
            })?;
            rows.collect()
        })
    }

    fn version_at(&self, stream_id: &str, at: DateTime<Utc>) -> SourceResult<Option<u64>> {
        let Some(sql) = &self.sql.version_at else {
            return Err(SourceError::Query(
                "this store records no event times, so there is no version at a time".to_owned(),
            ));
        };
        let mut params = self.stream_params(stream_id);
        params.push(rusqlite::types::Value::Real(epoch_seconds(at)));
        let ordinal = self.layout.events.ordinal_version;
        let candidates: Vec<Option<u64>> = self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                let Ok(found) = decode::unsigned(row.get_ref(0)?) else {
                    return Ok(None);
                };
                if !ordinal {
                    return Ok(Some(found));
                }
                // An ordinal store's candidates are positions: number them in the stream.
                let mut at = params[..4].to_vec();
                at.push(rusqlite::types::Value::Integer(to_i64(found)));
                conn.prepare_cached(&self.sql.ordinal_at)?
                    .query_row(params_from_iter(at.iter()), |r| {
                        Ok(Some(lenient_unsigned(r.get_ref(0)?)))
                    })
            })?;
            rows.collect()
        })?;
        // SQL compares at millisecond precision: check the few candidates exactly.
        for version in candidates.into_iter().flatten() {
            let event = self.read_stream(stream_id, Some(version), Direction::Forwards, 1)?;
            if event
                .first()
                .and_then(|e| e.recorded_at)
                .is_none_or(|recorded| recorded <= at)
            {
                return Ok(Some(version));
            }
        }
        Ok(None)
    }

    fn snapshot_streams(&self, offset: u64, limit: u64) -> SourceResult<Vec<String>> {
        let Some(sql) = &self.sql.snapshot_streams else {
            return Ok(Vec::new());
        };
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map([clamp_limit(limit), to_i64(offset)], |row| {
                Ok(self.display_stream(row.get_ref(0)?))
            })?;
            rows.collect()
        })
    }

    fn snapshots(&self, stream_id: &str) -> SourceResult<Vec<Snapshot>> {
        let (Some(map), Some(sql)) = (&self.layout.snapshots, &self.sql.snapshots) else {
            return Ok(Vec::new());
        };
        let params = self.stream_params(stream_id);
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                let stream_id = self.display_stream(row.get_ref(0)?);
                let version = lenient_unsigned(row.get_ref(1)?);
                let stored = stored_payload(bytes_of(row.get_ref(2)?), map.encoding);
                let raw_json = stored.stored_json();
                let state = match (&map.state_path, stored.as_json()) {
                    (Some(path), Some(json)) => json_path(json, path)
                        .cloned()
                        .map_or_else(Payload::empty, Payload::from_json),
                    _ => stored.clone(),
                };
                let schema_version = match &map.schema_version {
                    FieldSource::Column(_) => schema_version_of(row.get_ref(3)?).ok().flatten(),
                    FieldSource::PayloadPath(path) | FieldSource::MetadataPath(path) => {
                        raw_json.and_then(|j| version_at_path(j, path))
                    }
                    FieldSource::None => None,
                }
                .or(map.default_schema_version);
                let taken_at = match &map.taken_at {
                    FieldSource::Column(_) => time_of(row.get_ref(4)?, TimeFormat::Auto),
                    FieldSource::PayloadPath(path) | FieldSource::MetadataPath(path) => {
                        raw_json.and_then(|j| time_at(j, path))
                    }
                    FieldSource::None => None,
                };
                Ok(Snapshot {
                    stream_id,
                    version,
                    schema_version,
                    state,
                    taken_at,
                })
            })?;
            rows.collect()
        })
    }

    fn checkpoints(&self) -> SourceResult<Vec<Checkpoint>> {
        let mut all = Vec::new();
        for sql in &self.sql.checkpoints {
            let mut found = self.with_conn(|conn| {
                let mut stmt = conn.prepare_cached(sql)?;
                let rows = stmt.query_map([], |row| {
                    Ok(Checkpoint {
                        name: text_of(row.get_ref(0)?).unwrap_or_default(),
                        position: lenient_unsigned(row.get_ref(1)?),
                        updated_at: time_of(row.get_ref(2)?, TimeFormat::Auto),
                        upstream: text_of(row.get_ref(3)?),
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })?;
            all.append(&mut found);
        }
        Ok(all)
    }

    fn checkpoint_history(
        &self,
        since: Option<DateTime<Utc>>,
        limit: u64,
    ) -> SourceResult<Vec<CheckpointSample>> {
        let Some(sql) = &self.sql.checkpoint_history else {
            return Ok(Vec::new());
        };
        // Text times compare as text; the store's own format is RFC 3339 in UTC.
        let since = since.map_or_else(String::new, |t| {
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        });
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(
                rusqlite::params![since, i64::try_from(limit.max(1)).unwrap_or(i64::MAX)],
                |row| {
                    Ok(CheckpointSample {
                        name: text_of(row.get_ref(0)?).unwrap_or_default(),
                        position: lenient_unsigned(row.get_ref(1)?),
                        recorded_at: time_of(row.get_ref(2)?, TimeFormat::Auto),
                    })
                },
            )?;
            let mut newest_first: Vec<CheckpointSample> = rows.collect::<rusqlite::Result<_>>()?;
            newest_first.reverse();
            Ok(newest_first)
        })
    }
}
