//! Building the correlation index inside SQLite, for SQLite stores: the store is attached
//! read-only to the index's connection and each range of positions goes in with
//! `INSERT … SELECT … ORDER BY` (sorted inserts into the `WITHOUT ROWID` tables), the ids
//! read by Rust functions registered on the connection that apply the very extraction the
//! SQLite source applies to every event it reads ([`IdPaths::extract_from_payload`] on the
//! stored metadata, the event id's text as `decode::text_of` gives it).
//!
//! A first build (nothing indexed yet) runs with `journal_mode = OFF` and
//! `synchronous = OFF`: the file is ours and rebuildable. A `building` mark in `meta`, written
//! before and removed after, tells the next catch-up that such a build was cut short by a
//! crash; a build that fails midway deletes the file. Later catch-ups run in WAL.
//! Between ranges the build reports progress, stops on cancel (what was committed stays)
//! and lets trace lookups in.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;

use super::{TraceIndex, fingerprint, id_key, read_at, sql_error};
use crate::core::event::{Payload, PayloadFormat};
use crate::core::metadata::{IdPaths, scan_ids};
use crate::core::{AttachedLog, EventSource};
use crate::trace::{TraceError, TraceResult};

/// Positions one range of the build covers (about a second on the 10M-event benchmark
/// store): the longest a cancel waits.
const BUILD_CHUNK: u64 = 1_000_000;

/// The schema name the store is attached as.
const STORE_SCHEMA: &str = "eventscope_store";

/// The correlation id of stored metadata, as the SQLite source reads it for an event:
/// text or bytes are JSON (numbers are no document and carry no id).
fn correlation_of(paths: &IdPaths, metadata: ValueRef<'_>) -> Option<String> {
    let bytes = match metadata {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes,
        ValueRef::Null | ValueRef::Integer(_) | ValueRef::Real(_) => return None,
    };
    // The scan `extract_from_payload` tries first on a fresh payload, without copying
    // the bytes into one; it falls back to the same value path.
    if paths.correlation.is_none()
        && paths.causation.is_none()
        && let Some((correlation, _)) = scan_ids(bytes)
    {
        return correlation;
    }
    paths
        .extract_from_payload(&Payload::stored(bytes, PayloadFormat::Json))
        .0
}

/// An event id's text, as the SQLite source reads it (`decode::text_of`).
fn event_id_of(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(r) => Some(r.to_string()),
    }
}

/// Registers `eventscope_correlation_key(metadata)` and `eventscope_event_id_key(id)`:
/// the index key of the id, NULL when there is none. The second counts its calls (one per
/// event of a range).
fn register(conn: &Connection, paths: &IdPaths, rows: &Arc<AtomicU64>) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let paths = paths.clone();
    conn.create_scalar_function("eventscope_correlation_key", 1, flags, move |ctx| {
        Ok(correlation_of(&paths, ctx.get_raw(0)).map(|id| id_key(&id)))
    })?;
    let rows = Arc::clone(rows);
    conn.create_scalar_function("eventscope_event_id_key", 1, flags, move |ctx| {
        rows.fetch_add(1, Ordering::Relaxed);
        Ok(event_id_of(ctx.get_raw(0)).map(|id| id_key(&id)))
    })
}

/// Where a build starts: the position indexed through and the events indexed so far.
pub(super) struct Start {
    pub through: u64,
    pub events: u64,
    pub head: u64,
}

/// Where it ended.
pub(super) struct Done {
    pub through: u64,
    pub added: u64,
    /// Every position through the head was read.
    pub complete: bool,
}

impl TraceIndex {
    /// Catches up from `start` through the head by `INSERT … SELECT` from the attached
    /// store, at most `max_events` events. `Ok(None)`: the store cannot be attached (e.g.
    /// another text encoding); the caller reads the log instead.
    pub(super) fn catch_up_attached(
        &self,
        source: &dyn EventSource,
        log: &AttachedLog,
        start: &Start,
        max_events: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> TraceResult<Option<Done>> {
        let err = sql_error(&self.path);
        let rows = Arc::new(AtomicU64::new(0));
        let first_build = start.through == 0;
        {
            let conn = self.lock();
            register(&conn, &log.id_paths, &rows).map_err(&err)?;
            // Fails for a store SQLite cannot attach here (another text encoding …).
            if let Err(error) = attach(&conn, log) {
                tracing::info!("correlation index: reading the log ({error})");
                return Ok(None);
            }
            detach(&conn).map_err(&err)?;
            let threads = std::thread::available_parallelism().map_or(1, usize::from);
            conn.pragma_update(None, "threads", i64::try_from(threads).unwrap_or(1))
                .map_err(&err)?;
            if first_build {
                conn.execute_batch(
                    "DELETE FROM corr; DELETE FROM eid;
                     INSERT OR REPLACE INTO meta(key, value) VALUES ('building', '1');
                     PRAGMA main.cache_size = -262144;",
                )
                .map_err(&err)?;
                // Refused while another connection has the file open: stays in WAL.
                let mode: String = conn
                    .query_row("PRAGMA main.journal_mode = OFF", [], |r| r.get(0))
                    .map_err(&err)?;
                if mode == "off" {
                    conn.pragma_update(Some("main"), "synchronous", "OFF")
                        .map_err(&err)?;
                }
            }
        }
        let result = self.build_ranges(source, log, start, max_events, &rows, progress);
        if first_build {
            let mut conn = self.lock();
            if result.as_ref().is_err_and(|e| !e.is_cancelled()) {
                // A statement that failed with the journal off may have left anything
                // behind: start again from an empty file next time.
                self.recreate(&mut conn, "build failed")?;
            } else {
                conn.query_row("PRAGMA main.journal_mode = WAL", [], |_| Ok(()))
                    .and_then(|()| {
                        conn.execute_batch(
                            "PRAGMA main.synchronous = NORMAL; PRAGMA main.cache_size = -65536;
                             DELETE FROM meta WHERE key = 'building';",
                        )
                    })
                    .map_err(&err)?;
            }
        }
        result.map(Some)
    }

    /// The ranges of a build; see [`TraceIndex::catch_up_attached`].
    fn build_ranges(
        &self,
        source: &dyn EventSource,
        log: &AttachedLog,
        start: &Start,
        max_events: u64,
        rows: &AtomicU64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> TraceResult<Done> {
        let select = log.rows.replace("{schema}", STORE_SCHEMA);
        let prefilter = if log.id_paths.correlation.is_none() {
            // Every usual key spells `orrelation`, unless a `\u` escape writes it.
            "WHERE instr(m, 'orrelation') > 0 OR instr(m, '\\u') > 0"
        } else {
            ""
        };
        let statements = Statements {
            last: format!("WITH r(p, m, e) AS ({select}) SELECT max(p) FROM r"),
            corr: format!(
                "WITH r(p, m, e) AS ({select}) INSERT OR IGNORE INTO corr(key, position) \
                 SELECT eventscope_correlation_key(m), p FROM r {prefilter} ORDER BY 1, 2"
            ),
            eid: format!(
                "WITH r(p, m, e) AS ({select}) INSERT OR IGNORE INTO eid(key, position) \
                 SELECT eventscope_event_id_key(e), p FROM r ORDER BY 1, 2"
            ),
        };
        let cancel = crate::core::cancel::current();
        let budget = max_events.max(1);
        let (mut through, mut events, mut added) = (start.through, start.events, 0u64);
        let mut scanned = start.through;
        while scanned < start.head && added < budget {
            if cancel.as_ref().is_some_and(|t| t.is_cancelled()) {
                return Err(TraceError::Cancelled);
            }
            let end = scanned
                .saturating_add(BUILD_CHUNK.min(budget - added))
                .min(start.head);
            let range = [
                i64::try_from(scanned).unwrap_or(i64::MAX),
                i64::try_from(end).unwrap_or(i64::MAX),
            ];
            let conn = self.lock();
            attach(&conn, log).map_err(sql_error(&self.path))?;
            let written = self.build_range(&conn, source, &statements, range, events, rows);
            let detached = detach(&conn);
            drop(conn);
            let written = written?;
            detached.map_err(sql_error(&self.path))?;
            scanned = end;
            if let Some((last, count)) = written {
                through = last;
                events += count;
                added += count;
                progress(through, start.head);
            }
        }
        Ok(Done {
            through,
            added,
            complete: scanned >= start.head,
        })
    }

    /// One range in one transaction: `Some((last position, events))`, `None` when the
    /// range holds no event.
    fn build_range(
        &self,
        conn: &Connection,
        source: &dyn EventSource,
        statements: &Statements,
        range: [i64; 2],
        events: u64,
        rows: &AtomicU64,
    ) -> TraceResult<Option<(u64, u64)>> {
        let err = sql_error(&self.path);
        let last: Option<i64> = conn
            .query_row(&statements.last, range, |r| r.get(0))
            .map_err(&err)?;
        let Some(last) = last.and_then(|p| u64::try_from(p).ok()) else {
            return Ok(None);
        };
        // The event at the new indexed-through position, kept as the log build keeps it.
        let tail = read_at(source, last)?.as_ref().map(fingerprint);
        let write = || -> rusqlite::Result<u64> {
            conn.execute_batch("BEGIN")?;
            rows.store(0, Ordering::Relaxed);
            conn.execute(&statements.corr, range)?;
            conn.execute(&statements.eid, range)?;
            let count = rows.load(Ordering::Relaxed);
            let mut set =
                conn.prepare_cached("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)")?;
            set.execute(["indexed_through", &last.to_string()])?;
            set.execute(["events", &(events + count).to_string()])?;
            set.execute(["tail", tail.as_deref().unwrap_or_default()])?;
            set.execute(["config", &self.config])?;
            conn.execute_batch("COMMIT")?;
            Ok(count)
        };
        match write() {
            Ok(count) => Ok(Some((last, count))),
            Err(error) => {
                if !conn.is_autocommit() {
                    conn.execute_batch("ROLLBACK").ok();
                }
                Err(err(error))
            }
        }
    }
}

/// The statements of a range, over the attached store's rows `r(p, m, e)`.
struct Statements {
    last: String,
    corr: String,
    eid: String,
}

fn attach(conn: &Connection, log: &AttachedLog) -> rusqlite::Result<()> {
    conn.execute(&format!("ATTACH DATABASE ?1 AS {STORE_SCHEMA}"), [&log.uri])
        .map(|_| ())
}

fn detach(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("DETACH DATABASE {STORE_SCHEMA}"))
}
