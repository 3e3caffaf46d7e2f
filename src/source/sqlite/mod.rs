//! SQLite event stores, opened read-only.
//!
//! Every connection is opened with `SQLITE_OPEN_READ_ONLY` and `PRAGMA query_only = 1`;
//! nothing (not a byte, not an index, not a persistent pragma) is ever written to the
//! user's file. Each read is one short statement (no long-lived read transactions), so a
//! writer in another process is never held up for more than a moment.

mod conn;
mod decode;
mod family;
pub mod layout;
mod log;
pub mod mapping;
mod ordinal;
mod rows;
mod scan;
mod sql;
mod stored;
mod suggest;
mod summary;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params_from_iter};

use crate::core::event::{
    Checkpoint, CheckpointSample, Event, EventTypeName, Snapshot, StoreInfo, StreamInfo,
};
use crate::core::query::{Direction, LogQuery, MAX_PAGE, StreamQuery, StreamSort};
use crate::core::source::{AttachedLog, CorrelatedEvents, EventSource, SourceError, SourceResult};
use conn::{OpenMode, choose_mode, open_connection, precheck, query_error};
use decode::{collect_page, lenient_unsigned, text_of};
use layout::{CategoryRule, DetectOptions, Layout, Schema};
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
    /// Ordinal stores: the last numbered event of each stream seen in a log page,
    /// `(position, version)`, so the next page counts from there (see `ordinal.rs`).
    ordinals: Mutex<std::collections::HashMap<String, (u64, u64)>>,
    /// The other `eventsourcing-sqlalchemy` applications in the same file.
    others: Vec<String>,
    /// The application opened, for the summary's file name.
    application: Option<String>,
    /// Counts kept in eventscope's cache directory for big stores (`summary.rs`).
    summary: Mutex<summary::State>,
    summary_settings: summary::Settings,
}

impl std::fmt::Debug for SqliteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSource")
            .field("path", &self.path)
            .field("layout", &self.layout.name)
            .finish_non_exhaustive()
    }
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
        let schema = Schema::read(&conn)
            .map_err(|e| conn::open_error("cannot read the SQLite schema", &e, path))?;
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
        let others = if options.mapping.is_none() {
            layout::other_applications(&schema, &layout)
        } else {
            Vec::new()
        };
        let sql = Sql::new(&layout);
        // Validate the generated SQL now, so a bad mapping fails at open, not later.
        conn.prepare(&sql.head)
            .map_err(|e| match &options.mapping {
                Some(p) => SourceError::Mapping(format!("{e}: {}", p.display())),
                None => conn::open_error("cannot query the store", &e, path),
            })?;
        Ok(Self {
            path: path.to_owned(),
            layout,
            sql,
            pool: Mutex::new(vec![(mode, conn)]),
            ordinals: Mutex::default(),
            others,
            application: options.application.clone(),
            summary: Mutex::default(),
            summary_settings: summary::Settings::default(),
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
        let (event_count, stream_count) = match self.summary_totals()? {
            Some(totals) => (totals.events, totals.streams),
            None => {
                let events = self.with_conn(|conn| {
                    conn.prepare_cached(&self.sql.count_events)?
                        .query_row([], |row| row.get::<_, i64>(0))
                })?;
                (
                    u64::try_from(events).unwrap_or(0),
                    self.count_streams(&StreamQuery::default())?,
                )
            }
        };
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
            event_count: Some(event_count),
            head_position: head,
            snapshot_count: u64::try_from(snapshot_count).unwrap_or(0),
            checkpoint_names,
            others: self.others.clone(),
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
        // A category is counted by the same SQL that lists its rows, so the two agree.
        if query.filter.as_deref().is_none_or(str::is_empty)
            && query.category.is_none()
            && let Some(totals) = self.summary_totals()?
        {
            return Ok(totals.streams);
        }
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
        if let Some(totals) = self.summary_totals()? {
            return Ok(totals.categories.into_iter().collect());
        }
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
        let bounded = match (direction, single) {
            (Direction::Forwards, false) => (&self.sql.stream_forwards, 0),
            (Direction::Forwards, true) => (&self.sql.stream_forwards_one, 1),
            (Direction::Backwards, false) => (&self.sql.stream_backwards, 2),
            (Direction::Backwards, true) => (&self.sql.stream_backwards_one, 3),
        };
        let (sql, from) = match from_version {
            Some(version) => (bounded.0, to_i64(version)),
            // From the start (or the end): no version bound.
            None => (&self.sql.stream_unbounded[bounded.1], 0),
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
        self.log_page(query, None, None)
    }

    fn search_log(
        &self,
        query: &LogQuery,
        floor: u64,
        contains: Option<&str>,
    ) -> SourceResult<Vec<Event>> {
        self.log_page(query, Some(floor), contains)
    }

    fn narrows_searches(&self) -> bool {
        true
    }

    fn event_types(&self) -> SourceResult<Vec<String>> {
        if let Some(types) = self.summary_types()? {
            return Ok(types.into_keys().collect());
        }
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
                at.push(rusqlite::types::Value::Integer(i64::MIN));
                at.push(rusqlite::types::Value::Integer(to_i64(found)));
                conn.prepare_cached(&self.sql.ordinal_between)?
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
        self.read_snapshots(stream_id)
    }

    fn correlated_events_after(
        &self,
        correlation_id: &str,
        after: u64,
    ) -> SourceResult<Option<CorrelatedEvents>> {
        self.scan_correlation(correlation_id, after).map(Some)
    }

    fn events_with_id(&self, event_id: &str) -> SourceResult<Option<Vec<Event>>> {
        self.scan_event_id(event_id)
    }

    fn attached_log(&self) -> Option<AttachedLog> {
        Some(self.log_for_attach())
    }

    fn checkpoints(&self) -> SourceResult<Vec<Checkpoint>> {
        self.read_checkpoints()
    }

    fn checkpoint_history(
        &self,
        since: Option<DateTime<Utc>>,
        limit: u64,
    ) -> SourceResult<Vec<CheckpointSample>> {
        self.read_checkpoint_history(since, limit)
    }
}
