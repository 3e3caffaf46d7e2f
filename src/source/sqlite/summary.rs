//! The summary of a big SQLite store: how many events and streams it holds, the streams per
//! category and the events per type, kept in eventscope's cache directory so `info`, the
//! category list and the type filter answer in milliseconds once a store has been opened.
//!
//! # Where
//!
//! `<cache dir>/summary/<store identity>.db`, the cache dir being `ProjectDirs`'s (e.g.
//! `~/.cache/eventscope`, moved by `XDG_CACHE_HOME`) unless [`SqliteSource::use_summary`]
//! names another. Stores smaller than [`MIN_STORE_BYTES`] are counted directly: that is as
//! fast as reading a summary.
//!
//! # How it is built and kept
//!
//! Built once from the store's own aggregates (`GROUP BY` the stream column, which its index
//! serves), folded in memory and written to a new file that replaces the old one. The events
//! per type cost a full scan of the table (`GROUP BY` the type column), so they are counted
//! the first time the type filter asks, and kept from then on. Then, on each use, the events after the summarised position are
//! aggregated the same way and added, in one `BEGIN IMMEDIATE` transaction (two processes
//! catching up at once take turns). A stream of those events is new when the store has no
//! event of it at or below the summarised position (one index lookup).
//!
//! # Trust
//!
//! `meta` holds the position summarised through, the stream id and type of the event there,
//! and a hash of the SQL the layout generates. The summary is built again when that event is
//! gone or different (the store was replaced or truncated), when the position is past the
//! store's head, when the layout or mapping changed, or when the file does not open as a
//! summary. After a build the event count is compared with `COUNT(*)`: a store whose
//! positions are not all integers is not summarised (every answer is then counted
//! directly). Events deleted below the summarised position are not noticed (the trace index
//! has the same limit); deleting the file starts over.
//!
//! Nothing here writes to the store: it is only read through the source's read-only
//! connections.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};

use super::SqliteSource;
use super::decode::{StoredValue, text_of};
use super::layout::CategoryRule;
use crate::core::source::{EventSource as _, SourceError, SourceResult};

/// Stores at least this big (bytes of the main file) get a summary.
pub const MIN_STORE_BYTES: u64 = 64 << 20;

/// `PRAGMA application_id` of a summary file (`ESSU`).
const APPLICATION_ID: i64 = 0x4553_5355;
/// The schema version this build writes and reads.
const SCHEMA_VERSION: i64 = 1;

/// What a summary answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Totals {
    /// Events at or below `through`.
    pub events: u64,
    /// Streams with an event at or below `through`.
    pub streams: u64,
    /// Streams per category, by category.
    pub categories: BTreeMap<String, u64>,
    /// Events per type (the type as text), by type; `None` until the type filter first
    /// asks (it costs a full scan of the table, where the counts above use an index).
    pub types: Option<BTreeMap<String, u64>>,
    /// The position summarised through.
    pub through: u64,
}

/// Where a source stands with its summary.
#[derive(Debug, Default)]
pub(super) enum State {
    /// Not looked at yet.
    #[default]
    Unknown,
    /// Not used: the store is small, there is no cache directory, or it cannot be trusted.
    Off,
    /// In use: the summary file.
    Ready(PathBuf),
}

/// Where summaries go and from which store size, for one source.
#[derive(Clone, Debug)]
pub(super) struct Settings {
    pub dir: Option<PathBuf>,
    pub min_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dir: directories::ProjectDirs::from("", "", "eventscope")
                .map(|dirs| dirs.cache_dir().to_path_buf()),
            min_bytes: MIN_STORE_BYTES,
        }
    }
}

/// The summary file's reading and writing.
struct Summary;

/// The summary's SQL over the store's layout.
struct StoreSql {
    /// `?1` through: `(stream id, category type, events)` per stream.
    streams_through: String,
    /// `?1` after, `?2` through: the same for the events in between.
    streams_between: String,
    /// `?1` through: `(type, events)` per type.
    types_through: String,
    /// `?1` after, `?2` through.
    types_between: String,
    /// `?1` stream id, `?2` through: `(events, category type)` of that stream so far.
    stream_before: String,
    /// `?1` position: `(stream id, type)` of the event there.
    at_position: String,
}

impl StoreSql {
    fn new(source: &SqliteSource) -> Self {
        let e = &source.layout.events;
        let (t, sid, p, ty) = (&e.table, &e.stream_id, &e.position, &e.event_type);
        let base = e
            .filter
            .as_ref()
            .map_or_else(|| "1".to_owned(), |f| format!("({f})"));
        let category_type = match e.category {
            CategoryRule::Prefix(_) => "NULL".to_owned(),
            CategoryRule::EventTypeQualifier => format!("MIN({ty})"),
        };
        Self {
            streams_through: format!(
                "SELECT {sid}, {category_type}, COUNT(*) FROM {t} WHERE {base} AND {p} <= ?1 \
                 GROUP BY {sid}"
            ),
            streams_between: format!(
                "SELECT {sid}, {category_type}, COUNT(*) FROM {t} WHERE {base} AND {p} > ?1 \
                 AND {p} <= ?2 GROUP BY {sid}"
            ),
            types_through: format!(
                "SELECT {ty}, COUNT(*) FROM {t} WHERE {base} AND {p} <= ?1 GROUP BY {ty}"
            ),
            types_between: format!(
                "SELECT {ty}, COUNT(*) FROM {t} WHERE {base} AND {p} > ?1 AND {p} <= ?2 \
                 GROUP BY {ty}"
            ),
            stream_before: format!(
                "SELECT COUNT(*), {category_type} FROM {t} WHERE {base} AND {sid} = ?1 AND {p} <= ?2"
            ),
            at_position: format!("SELECT {sid}, {ty} FROM {t} WHERE {base} AND {p} = ?1 LIMIT 1"),
        }
    }

    /// What the summary depends on: a change to any of it starts over.
    fn config(&self) -> String {
        let mut hash = Sha256::new();
        for sql in [
            &self.streams_through,
            &self.types_through,
            &self.at_position,
        ] {
            hash.update(sql.as_bytes());
            hash.update([0]);
        }
        crate::core::event::hex(&hash.finalize()[..12])
    }
}

/// The event at the summarised position, as the store shows it: `(stream id, type)`.
type Mark = (Value, Option<String>);

/// Adds the `(type, events)` rows of `sql` to `types`.
fn add_types(
    conn: &Connection,
    sql: &str,
    params: &[i64],
    types: &mut BTreeMap<String, u64>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        let name = text_of(row.get_ref(0)?).unwrap_or_default();
        *types.entry(name).or_default() += to_u64(row.get(1)?);
    }
    Ok(())
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl SqliteSource {
    /// Keeps this source's summary under `dir` (or nowhere: `None`) for stores of at least
    /// `min_bytes`, instead of eventscope's cache directory and 64 MiB. For
    /// tests and benchmarks; call it before the first read.
    pub fn use_summary(&mut self, dir: Option<PathBuf>, min_bytes: u64) {
        self.summary_settings = Settings { dir, min_bytes };
        *self
            .summary
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = State::Unknown;
    }

    /// The summary's totals, caught up with the store's head; `None` when this store is not
    /// summarised (then the caller counts directly). Builds the summary on first use.
    pub(super) fn summary_totals(&self) -> SourceResult<Option<Totals>> {
        let mut state = self
            .summary
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(*state, State::Unknown) {
            *state = self.summary_file().map_or(State::Off, State::Ready);
        }
        let State::Ready(path) = &*state else {
            return Ok(None);
        };
        match self.catch_up(path) {
            Ok(totals) => {
                if totals.is_none() {
                    *state = State::Off;
                }
                Ok(totals)
            }
            Err(SourceError::Cancelled) => Err(SourceError::Cancelled),
            Err(e) => {
                tracing::warn!("store summary not used: {e}");
                *state = State::Off;
                Ok(None)
            }
        }
    }

    /// Events per type from the summary, counting them (one full scan, then kept and
    /// caught up) the first time; `None` when this store is not summarised.
    pub(super) fn summary_types(&self) -> SourceResult<Option<BTreeMap<String, u64>>> {
        let Some(totals) = self.summary_totals()? else {
            return Ok(None);
        };
        if let Some(types) = totals.types {
            return Ok(Some(types));
        }
        let path = match &*self
            .summary
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            State::Ready(path) => path.clone(),
            _ => return Ok(None),
        };
        let sql = StoreSql::new(self);
        let mut types = BTreeMap::new();
        self.with_conn(|conn| {
            add_types(
                conn,
                &sql.types_through,
                &[to_i64(totals.through)],
                &mut types,
            )
        })?;
        let stored = Summary::connect(&path).and_then(|mut conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Stored only if nothing moved meanwhile (else the next call counts again).
            if let Some((mut now, mark, _)) = Summary::read_from(&tx)?
                && now.through == totals.through
                && now.types.is_none()
            {
                now.types = Some(types.clone());
                Summary::store(&tx, &now, &mark)?;
            }
            tx.commit()
        });
        if let Err(e) = stored {
            tracing::warn!("cannot keep the event types in the store summary: {e}");
        }
        Ok(Some(types))
    }

    fn summary_file(&self) -> Option<PathBuf> {
        let dir = self.summary_settings.dir.as_ref()?;
        let size = std::fs::metadata(&self.path).ok()?.len();
        if size < self.summary_settings.min_bytes {
            return None;
        }
        let mut location = self.path.display().to_string();
        if let Some(application) = &self.application {
            location.push('#');
            location.push_str(application);
        }
        let identity = crate::own::store_identity(&location);
        Some(dir.join("summary").join(format!("{identity}.db")))
    }

    /// The totals brought up to the head; `None`: this store cannot be summarised.
    fn catch_up(&self, path: &Path) -> SourceResult<Option<Totals>> {
        let sql = StoreSql::new(self);
        let config = sql.config();
        let head = self.head()?;
        let on_file = Summary::read(path).ok().flatten();
        let usable = on_file.as_ref().is_some_and(|(totals, mark, file_config)| {
            *file_config == config
                && totals.through <= head
                && (totals.through == 0
                    || self.mark_at(&sql, totals.through).ok().flatten().as_ref() == Some(mark))
        });
        match on_file.filter(|_| usable) {
            Some((totals, _, _)) if totals.through == head => Ok(Some(totals)),
            Some(_) => self.add_since(path, &sql, head).map(Some),
            None => self.rebuild(path, &sql, &config, head),
        }
    }

    fn mark_at(&self, sql: &StoreSql, position: u64) -> SourceResult<Option<Mark>> {
        self.with_conn(|conn| {
            conn.prepare_cached(&sql.at_position)?
                .query_row([to_i64(position)], |row| {
                    Ok((
                        StoredValue::of(row.get_ref(0)?).into_value(),
                        text_of(row.get_ref(1)?),
                    ))
                })
                .optional()
        })
    }

    fn rebuild(
        &self,
        path: &Path,
        sql: &StoreSql,
        config: &str,
        head: u64,
    ) -> SourceResult<Option<Totals>> {
        let mut totals = Totals {
            through: head,
            ..Totals::default()
        };
        crate::core::cancel::report_progress(0.0);
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(&sql.streams_through)?;
            let mut rows = stmt.query([to_i64(head)])?;
            while let Some(row) = rows.next()? {
                let stream = self.display_stream(row.get_ref(0)?);
                let category_type = text_of(row.get_ref(1)?);
                totals.streams += 1;
                totals.events += to_u64(row.get(2)?);
                *totals
                    .categories
                    .entry(self.category(&stream, category_type.as_deref()))
                    .or_default() += 1;
            }
            Ok(())
        })?;
        crate::core::cancel::report_progress(0.9);
        let counted = self.with_conn(|conn| {
            conn.prepare_cached(&self.sql.count_events)?
                .query_row([], |row| row.get::<_, i64>(0))
        })?;
        if to_u64(counted) != totals.events {
            tracing::info!(
                "no store summary for {}: {} events, {} of them at integer positions",
                self.path.display(),
                counted,
                totals.events
            );
            return Ok(None);
        }
        let mark = if head == 0 {
            (Value::Null, None)
        } else {
            self.mark_at(sql, head)?.unwrap_or((Value::Null, None))
        };
        Summary::write_new(path, &totals, &mark, config)
            .map_err(|e| SourceError::Query(format!("cannot write the store summary: {e}")))?;
        crate::core::cancel::report_progress(1.0);
        Ok(Some(totals))
    }

    /// Adds the events after the summarised position up to `head`.
    fn add_since(&self, path: &Path, sql: &StoreSql, head: u64) -> SourceResult<Totals> {
        let mut conn = Summary::connect(path)
            .map_err(|e| SourceError::Query(format!("cannot open the store summary: {e}")))?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| SourceError::Query(format!("cannot update the store summary: {e}")))?;
        // Another process may have caught up while this one waited for the lock.
        let Some((mut totals, _, _)) = Summary::read_from(&tx).ok().flatten() else {
            return Err(SourceError::Query("the store summary vanished".to_owned()));
        };
        if totals.through < head {
            let after = totals.through;
            let mut moved: Vec<(Option<String>, String)> = Vec::new();
            self.with_conn(|conn| {
                let mut stmt = conn.prepare_cached(&sql.streams_between)?;
                let mut rows = stmt.query([to_i64(after), to_i64(head)])?;
                let mut before = conn.prepare_cached(&sql.stream_before)?;
                while let Some(row) = rows.next()? {
                    let id = StoredValue::of(row.get_ref(0)?);
                    let stream = self.display_stream(row.get_ref(0)?);
                    let new_type = text_of(row.get_ref(1)?);
                    totals.events += to_u64(row.get(2)?);
                    let (earlier, old_type): (i64, Option<String>) = before
                        .query_row(params![id, to_i64(after)], |r| {
                            Ok((r.get(0)?, text_of(r.get_ref(1)?)))
                        })?;
                    let old = (earlier > 0).then(|| self.category(&stream, old_type.as_deref()));
                    let lowest = match (old_type, new_type) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    let new = self.category(&stream, lowest.as_deref());
                    if old.as_ref() != Some(&new) {
                        moved.push((old, new));
                    }
                }
                if let Some(types) = &mut totals.types {
                    add_types(
                        conn,
                        &sql.types_between,
                        &[to_i64(after), to_i64(head)],
                        types,
                    )?;
                }
                Ok(())
            })?;
            for (old, new) in moved {
                match old {
                    Some(old) => {
                        if let Some(count) = totals.categories.get_mut(&old) {
                            *count = count.saturating_sub(1);
                        }
                        totals.categories.retain(|_, count| *count > 0);
                    }
                    None => totals.streams += 1,
                }
                *totals.categories.entry(new).or_default() += 1;
            }
            totals.through = head;
            let mark = self.mark_at(sql, head)?.unwrap_or((Value::Null, None));
            Summary::store(&tx, &totals, &mark)
                .and_then(|()| tx.commit())
                .map_err(|e| SourceError::Query(format!("cannot update the store summary: {e}")))?;
        }
        Ok(totals)
    }
}

impl Summary {
    fn connect(path: &Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(conn)
    }

    fn read(path: &Path) -> rusqlite::Result<Option<(Totals, Mark, String)>> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Self::read_from(&conn)
    }

    fn read_from(conn: &Connection) -> rusqlite::Result<Option<(Totals, Mark, String)>> {
        let application: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if application != APPLICATION_ID || version != SCHEMA_VERSION {
            return Ok(None);
        }
        let meta = |key: &str| -> rusqlite::Result<Value> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map(|value| value.unwrap_or(Value::Null))
        };
        let int = |key: &str| -> rusqlite::Result<u64> {
            Ok(match meta(key)? {
                Value::Integer(i) => to_u64(i),
                _ => 0,
            })
        };
        let text = |key: &str| -> rusqlite::Result<Option<String>> {
            Ok(match meta(key)? {
                Value::Text(t) => Some(t),
                _ => None,
            })
        };
        let mut totals = Totals {
            events: int("events")?,
            streams: int("streams")?,
            through: int("through")?,
            ..Totals::default()
        };
        let mut stmt = conn.prepare("SELECT name, count FROM categories")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            totals.categories.insert(row.get(0)?, to_u64(row.get(1)?));
        }
        if int("types")? == 1 {
            let mut types = BTreeMap::new();
            let mut stmt = conn.prepare("SELECT name, count FROM types")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                types.insert(row.get(0)?, to_u64(row.get(1)?));
            }
            totals.types = Some(types);
        }
        let mark = (meta("through_stream")?, text("through_type")?);
        let config = text("config")?.unwrap_or_default();
        Ok(Some((totals, mark, config)))
    }

    /// Writes a whole summary to a new file beside `path`, then moves it over `path`.
    fn write_new(path: &Path, totals: &Totals, mark: &Mark, config: &str) -> rusqlite::Result<()> {
        let to_sqlite =
            |e: crate::own::files::FileError| rusqlite::Error::ToSqlConversionFailure(Box::new(e));
        crate::own::files::create_parent(path).map_err(to_sqlite)?;
        let temp = path.with_extension(format!("db.new-{}", std::process::id()));
        crate::own::files::remove_with_side_files(&temp).map_err(to_sqlite)?;
        {
            let conn = Connection::open(&temp)?;
            conn.execute_batch(&format!(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
                 PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};
                 CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                 CREATE TABLE categories(name TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
                 CREATE TABLE types(name TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;"
            ))?;
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('config', ?1)",
                [config],
            )?;
            Self::store(&conn, totals, mark)?;
        }
        std::fs::rename(&temp, path)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    }

    /// Replaces the totals in an open summary.
    fn store(conn: &Connection, totals: &Totals, mark: &Mark) -> rusqlite::Result<()> {
        let mut put = conn.prepare_cached(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?;
        put.execute(params!["events", to_i64(totals.events)])?;
        put.execute(params!["streams", to_i64(totals.streams)])?;
        put.execute(params!["through", to_i64(totals.through)])?;
        put.execute(params!["through_stream", mark.0])?;
        put.execute(params!["through_type", mark.1])?;
        put.execute(params!["types", i64::from(totals.types.is_some())])?;
        conn.execute("DELETE FROM categories", [])?;
        conn.execute("DELETE FROM types", [])?;
        let mut category = conn.prepare_cached("INSERT INTO categories VALUES (?1, ?2)")?;
        for (name, count) in &totals.categories {
            category.execute(params![name, to_i64(*count)])?;
        }
        let mut kind = conn.prepare_cached("INSERT INTO types VALUES (?1, ?2)")?;
        for (name, count) in totals.types.iter().flatten() {
            kind.execute(params![name, to_i64(*count)])?;
        }
        Ok(())
    }
}
