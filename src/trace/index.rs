//! The sidecar correlation index: correlation id → global positions and event id → global
//! position, kept in eventscope's own cache directory, never in the user's store.
//!
//! # Where
//!
//! `<cache dir>/trace-index/<store identity>.db`, where the cache dir is
//! `directories::ProjectDirs::from("", "", "eventscope").cache_dir()` (e.g.
//! `~/.cache/eventscope`) or an explicit directory ([`TraceIndex::open_in`]), and the
//! identity is [`crate::history::store_identity`] of the store's location. The store is
//! only ever read through its [`EventSource`].
//!
//! # Schema
//!
//! `corr(key, position)` and `eid(key, position)`, `WITHOUT ROWID` tables keyed by a 64-bit
//! FNV-1a hash of the id (8 bytes instead of a 36-byte UUID per row; a hash collision only
//! costs one extra event read, because every hit is checked against the event itself).
//! `meta(key, value)` holds the position indexed through, a fingerprint of the event at that
//! position and of the store's first event, and the store configuration (layout, mapping)
//! the index was built with. `application_id` = `ESTX`, `user_version` = schema version.
//!
//! # Trust
//!
//! Built incrementally by global position, one transaction per page of events (for a SQLite
//! store, per range of positions, `INSERT … SELECT` from the store attached read-only: see
//! `bulk.rs`), so an interrupted build resumes where it stopped. On open the file is checked (`application_id`,
//! schema version, `PRAGMA quick_check`); a file that fails is deleted and rebuilt. Before
//! catching up, the event at the indexed-through position is read again from the store: if
//! it is gone or different (the store was replaced or truncated), or the configuration
//! changed, the index starts over. A deleted index file is noticed and rebuilt.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, params};

use crate::core::query::{LogQuery, MAX_PAGE};
use crate::core::{Event, EventSource};
use crate::trace::{TraceError, TraceResult};

mod bulk;

/// `PRAGMA application_id` of an index file (`ESTX`).
pub const APPLICATION_ID: i64 = 0x4553_5458;
/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// eventscope's cache directory (`ProjectDirs::cache_dir`), when the platform has one.
#[must_use]
pub fn default_cache_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "eventscope").map(|dirs| dirs.cache_dir().to_path_buf())
}

/// The index file of a store identity under a cache directory:
/// `<dir>/trace-index/<identity>.db`.
///
/// # Errors
/// [`TraceError::InvalidIdentity`] when the identity is not a plain file name.
pub fn index_path(cache_dir: &Path, store_identity: &str) -> TraceResult<PathBuf> {
    crate::history::identity_file(cache_dir, "trace-index", store_identity)
        .ok_or_else(|| TraceError::InvalidIdentity(store_identity.to_owned()))
}

/// The 64-bit FNV-1a hash of an id, as stored in the index.
#[must_use]
pub fn id_key(id: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

pub(crate) use crate::own::sidecar::fingerprint;

/// How far the index has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexStatus {
    /// Every event at or below this global position is indexed.
    pub indexed_through: u64,
    /// Number of events indexed.
    pub events: u64,
}

/// The result of one [`TraceIndex::catch_up`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatchUp {
    /// Indexed through this position now.
    pub indexed_through: u64,
    /// The store's head when the call started.
    pub head: u64,
    /// Events added by this call.
    pub added: u64,
    /// True when the index reached the head; false when the event budget ran out first.
    pub complete: bool,
    /// Why the index was cleared and started over, if it was.
    pub restarted: Option<&'static str>,
}

/// A correlation index of one store, in eventscope's cache directory.
///
/// `Send + Sync`: one connection behind a mutex. Call it from a worker, never the UI thread.
pub struct TraceIndex {
    path: PathBuf,
    config: String,
    conn: Mutex<Connection>,
    /// Why the file was replaced when it was opened, if it was.
    pub replaced: Option<String>,
}

impl std::fmt::Debug for TraceIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceIndex")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> TraceError + '_ {
    move |source| TraceError::Index {
        path: path.to_path_buf(),
        source,
    }
}

/// The correlation index's file.
const SPEC: crate::own::sidecar::Spec = crate::own::sidecar::Spec {
    application_id: APPLICATION_ID,
    schema_version: SCHEMA_VERSION,
    what: "correlation index",
    schema: "CREATE TABLE IF NOT EXISTS corr(key INTEGER NOT NULL, position INTEGER NOT NULL,
                 PRIMARY KEY (key, position)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS eid(key INTEGER NOT NULL, position INTEGER NOT NULL,
                 PRIMARY KEY (key, position)) WITHOUT ROWID;",
    quick_check: None,
};

/// Opens and checks an index file; `Ok(Err(reason))` when it is unusable and must go.
#[allow(clippy::unnecessary_wraps)] // The callers' shape: the outer error is fatal.
fn open_checked(path: &Path) -> TraceResult<Result<Connection, String>> {
    Ok(crate::own::sidecar::open_checked(path, &SPEC))
}

fn remove_files(path: &Path) -> TraceResult<()> {
    Ok(crate::own::files::remove_with_side_files(path)?)
}

impl TraceIndex {
    /// Opens (or creates) the index of a store in eventscope's cache directory.
    /// `config` names what the ids depend on besides the store (layout, mapping file); an
    /// index built with another config starts over.
    ///
    /// # Errors
    /// No cache directory, or the file cannot be created.
    pub fn open(store_identity: &str, config: &str) -> TraceResult<Self> {
        let dir = default_cache_dir().ok_or(TraceError::NoCacheDir)?;
        Self::open_in(&dir, store_identity, config)
    }

    /// Opens (or creates) the index of a store under an explicit cache directory.
    ///
    /// # Errors
    /// The directory or file cannot be created.
    pub fn open_in(cache_dir: &Path, store_identity: &str, config: &str) -> TraceResult<Self> {
        let path = index_path(cache_dir, store_identity)?;
        Self::open_path(&path, config)
    }

    /// Opens (or creates) an index at an explicit file path.
    ///
    /// # Errors
    /// The directory or file cannot be created.
    pub fn open_path(path: &Path, config: &str) -> TraceResult<Self> {
        crate::own::files::create_parent(path)?;
        let (conn, replaced) = match open_checked(path)? {
            Ok(conn) => (conn, None),
            Err(reason) => {
                tracing::warn!(
                    "correlation index unusable ({reason}); rebuilding {}",
                    path.display()
                );
                remove_files(path)?;
                match open_checked(path)? {
                    Ok(conn) => (conn, Some(reason)),
                    Err(again) => {
                        return Err(TraceError::Unusable {
                            path: path.to_path_buf(),
                            reason: again,
                        });
                    }
                }
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            config: config.to_owned(),
            conn: Mutex::new(conn),
            replaced,
        })
    }

    /// The index file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
        crate::own::sidecar::meta(conn, key)
    }

    /// How far the index has got.
    ///
    /// # Errors
    /// When the index file cannot be read.
    pub fn status(&self) -> TraceResult<IndexStatus> {
        let conn = self.lock();
        let err = sql_error(&self.path);
        let read = |key| -> TraceResult<u64> {
            Ok(Self::meta(&conn, key)
                .map_err(&err)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0))
        };
        Ok(IndexStatus {
            indexed_through: read("indexed_through")?,
            events: read("events")?,
        })
    }

    /// Replaces the connection with a fresh, empty file (the file was deleted or found
    /// corrupt).
    fn recreate(&self, conn: &mut Connection, reason: &str) -> TraceResult<()> {
        tracing::warn!(
            "correlation index {reason}; rebuilding {}",
            self.path.display()
        );
        // Close the old handle first so its WAL is not written back over the new file.
        let old = std::mem::replace(
            conn,
            Connection::open_in_memory().map_err(sql_error(&self.path))?,
        );
        drop(old);
        remove_files(&self.path)?;
        *conn = match open_checked(&self.path)? {
            Ok(fresh) => fresh,
            Err(reason) => {
                return Err(TraceError::Unusable {
                    path: self.path.clone(),
                    reason,
                });
            }
        };
        Ok(())
    }

    /// Indexes the store's events after the indexed-through position, at most
    /// `max_events` of them (a page at least), reporting `(indexed_through, head)` after
    /// each page. Stops early with [`TraceError::Cancelled`] when the current job is
    /// cancelled; what was indexed so far is kept.
    ///
    /// # Errors
    /// Store or index failures, or cancellation.
    pub fn catch_up(
        &self,
        source: &dyn EventSource,
        max_events: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> TraceResult<CatchUp> {
        let err = sql_error(&self.path);
        let mut restarted = None;
        let mut conn = self.lock();
        if !self.path.exists() {
            self.recreate(&mut conn, "file was deleted")?;
            restarted = Some("the index file was deleted");
        }
        let head = source.head()?;
        let mut through: u64 = Self::meta(&conn, "indexed_through")
            .map_err(&err)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut events: u64 = Self::meta(&conn, "events")
            .map_err(&err)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if through > 0 {
            let config = Self::meta(&conn, "config").map_err(&err)?;
            let tail = Self::meta(&conn, "tail").map_err(&err)?;
            let now = if head < through {
                None
            } else {
                read_at(source, through)?
            };
            let reason = if Self::meta(&conn, "building").map_err(&err)?.is_some() {
                Some("an earlier build was cut short")
            } else if config.as_deref() != Some(self.config.as_str()) {
                Some("the store configuration changed")
            } else if now.as_ref().map(fingerprint) != tail {
                Some("the store no longer matches the index")
            } else {
                None
            };
            if let Some(reason) = reason {
                tracing::info!(
                    "correlation index {}: {reason}; starting over",
                    self.path.display()
                );
                conn.execute_batch("DELETE FROM corr; DELETE FROM eid; DELETE FROM meta;")
                    .map_err(&err)?;
                through = 0;
                events = 0;
                restarted = Some(reason);
            }
        }
        // Let trace lookups in between pages.
        drop(conn);
        // A SQLite store: built inside the engine, from the store attached read-only.
        if let Some(log) = source.attached_log() {
            let start = bulk::Start {
                through,
                events,
                head,
            };
            if let Some(done) =
                self.catch_up_attached(source, &log, &start, max_events, progress)?
            {
                return Ok(CatchUp {
                    indexed_through: done.through,
                    head,
                    added: done.added,
                    complete: done.complete,
                    restarted,
                });
            }
        }
        let mut added = 0u64;
        // Nothing left to read although `through < head`: the head is a position the log
        // does not return (KurrentDB's system events, e.g. `$streams` links, come last).
        let mut exhausted = false;
        let cancel = crate::core::cancel::current();
        while through < head && added < max_events.max(1) {
            if cancel.as_ref().is_some_and(|t| t.is_cancelled()) {
                return Err(TraceError::Cancelled);
            }
            let page = source.read_log(&LogQuery {
                from_position: Some(through + 1),
                limit: MAX_PAGE.min(max_events.max(1) - added),
                ..LogQuery::default()
            })?;
            let Some(last) = page.last() else {
                exhausted = true;
                break;
            };
            let last_position = last.global_position;
            let tail = fingerprint(last);
            let mut corr: Vec<(i64, i64)> = Vec::with_capacity(page.len());
            let mut eid: Vec<(i64, i64)> = Vec::with_capacity(page.len());
            for event in &page {
                let position = i64::try_from(event.global_position).unwrap_or(i64::MAX);
                if let Some(id) = &event.correlation_id {
                    corr.push((id_key(id), position));
                }
                if let Some(id) = &event.event_id {
                    eid.push((id_key(id), position));
                }
            }
            // Sorted inserts touch each B-tree page once per batch.
            corr.sort_unstable();
            eid.sort_unstable();
            let count = page.len() as u64;
            let write = |conn: &mut Connection| -> rusqlite::Result<()> {
                let tx = conn.transaction()?;
                {
                    let mut insert = tx.prepare_cached(
                        "INSERT OR IGNORE INTO corr(key, position) VALUES (?1, ?2)",
                    )?;
                    for (key, position) in &corr {
                        insert.execute(params![key, position])?;
                    }
                    let mut insert = tx.prepare_cached(
                        "INSERT OR IGNORE INTO eid(key, position) VALUES (?1, ?2)",
                    )?;
                    for (key, position) in &eid {
                        insert.execute(params![key, position])?;
                    }
                    let mut set = tx.prepare_cached(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
                    )?;
                    set.execute(params!["indexed_through", last_position.to_string()])?;
                    set.execute(params!["events", (events + count).to_string()])?;
                    set.execute(params!["tail", tail])?;
                    set.execute(params!["config", self.config])?;
                }
                tx.commit()
            };
            write(&mut self.lock()).map_err(&err)?;
            through = last_position;
            events += count;
            added += count;
            progress(through, head);
        }
        Ok(CatchUp {
            indexed_through: through,
            head,
            added,
            complete: through >= head || exhausted,
            restarted,
        })
    }

    fn positions(&self, table: &str, id: &str) -> TraceResult<Vec<u64>> {
        let conn = self.lock();
        let err = sql_error(&self.path);
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT position FROM {table} WHERE key = ?1 ORDER BY position"
            ))
            .map_err(&err)?;
        let rows = statement
            .query_map([id_key(id)], |r| r.get::<_, i64>(0))
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(u64::try_from(row.map_err(&err)?).unwrap_or(0));
        }
        Ok(out)
    }

    /// Global positions of events that may carry this correlation id (hash matches; check
    /// each event).
    ///
    /// # Errors
    /// When the index cannot be read.
    pub fn correlation_positions(&self, correlation_id: &str) -> TraceResult<Vec<u64>> {
        self.positions("corr", correlation_id)
    }

    /// Global positions of events that may carry this event id (hash matches; check each
    /// event).
    ///
    /// # Errors
    /// When the index cannot be read.
    pub fn event_id_positions(&self, event_id: &str) -> TraceResult<Vec<u64>> {
        self.positions("eid", event_id)
    }
}

/// The event at exactly this global position, if there is one.
///
/// # Errors
/// When the store cannot be read.
pub fn read_at(source: &dyn EventSource, position: u64) -> TraceResult<Option<Event>> {
    Ok(crate::own::sidecar::read_at(source, position)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable() {
        // FNV-1a test vectors: the index format depends on them.
        assert_eq!(
            id_key(""),
            i64::from_ne_bytes(0xcbf2_9ce4_8422_2325u64.to_ne_bytes())
        );
        assert_eq!(
            id_key("a"),
            i64::from_ne_bytes(0xaf63_dc4c_8601_ec8cu64.to_ne_bytes())
        );
        assert_ne!(id_key("c-1"), id_key("c-2"));
    }

    #[test]
    fn path_rejects_bad_identity() {
        let dir = Path::new("/tmp");
        assert!(index_path(dir, "../x").is_err());
        assert!(index_path(dir, "").is_err());
        assert!(
            index_path(dir, "0123abcd")
                .unwrap()
                .ends_with("trace-index/0123abcd.db")
        );
    }

    #[test]
    fn garbage_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        std::fs::write(&path, b"this is not a database, not even close; it is text").unwrap();
        let index = TraceIndex::open_path(&path, "cfg").unwrap();
        assert!(index.replaced.is_some());
        assert_eq!(index.status().unwrap(), IndexStatus::default());
        drop(index);
        let again = TraceIndex::open_path(&path, "cfg").unwrap();
        assert!(again.replaced.is_none());
    }
}
