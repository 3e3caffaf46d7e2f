//! The full-text index of our own: every text a search looks at (the ids, the string and
//! number values of payload and metadata, non-JSON payloads as text) in a SQLite FTS5
//! table with the trigram tokenizer, so a substring in any script is found without reading
//! the store. Kept in eventscope's cache directory, never in the user's store.
//!
//! # Where
//!
//! `<cache dir>/search-index/<store identity>.db` (see [`crate::trace::index`] for the
//! cache dir and the identity).
//!
//! # Schema
//!
//! `fts(body)`: `fts5(tokenize='trigram', content='', detail='none')`, one row per event
//! whose rowid is the event's global position and whose body is the event's texts, one per
//! line ([`crate::search::indexed_text`]). Contentless and without positions: the index
//! only answers "which events hold every trigram of the needle", the smallest form that
//! does; every candidate is then read from the store and checked exactly by
//! [`crate::search::Needle::matches`], which also gives the matched paths. So the index can
//! let through an event that does not match (its trigrams are spread over several values),
//! never drop one that does. `meta(key, value)` as in the correlation index.
//! `application_id` = `ESFX`, `user_version` = schema version.
//!
//! # Trust
//!
//! Built incrementally by global position, one transaction per page of events (the page
//! read and its texts made on a second thread while the previous page is written), so an
//! interrupted build resumes where it stopped. On open the file is checked
//! ([`crate::own::sidecar::open_checked`]); a file that fails is deleted and rebuilt.
//! Before catching up, the event at the indexed-through position is read again: if it is
//! gone or different (the store was replaced or truncated), or the configuration changed,
//! the index starts over. A deleted index file is noticed and rebuilt.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, params};

use crate::core::query::{LogQuery, MAX_PAGE};
use crate::core::{Event, EventSource, SourceError};
use crate::own::sidecar::{self, Spec};

/// `PRAGMA application_id` of a full-text index file (`ESFX`).
pub const APPLICATION_ID: i64 = 0x4553_4658;
/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

const FTS_TABLE: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, \
     tokenize = 'trigram', content = '', detail = 'none');";

const SPEC: Spec = Spec {
    application_id: APPLICATION_ID,
    schema_version: SCHEMA_VERSION,
    what: "full-text index",
    schema: FTS_TABLE,
    quick_check: Some("meta"),
};

/// Index bytes per byte of indexed text, measured on the 10M-event guide store (used for
/// the size estimate before a build).
const BYTES_PER_TEXT_BYTE: f64 = 0.75;

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Reading the store failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The job was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The platform has no cache directory for eventscope.
    #[error("no cache directory for eventscope (is HOME set?)")]
    NoCacheDir,
    /// The store identity cannot be used as a file name.
    #[error("invalid store identity {0:?}")]
    InvalidIdentity(String),
    /// A file system operation failed.
    #[error(transparent)]
    Io(#[from] crate::own::files::FileError),
    /// The index database failed.
    #[error("full-text index {}: {source}", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// The index file stays unusable even after it was replaced.
    #[error("full-text index {} is unusable: {reason}", path.display())]
    Unusable {
        /// The index file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl From<IndexError> for SourceError {
    fn from(error: IndexError) -> Self {
        match error {
            IndexError::Source(error) => error,
            IndexError::Cancelled => Self::Cancelled,
            other => Self::Query(other.to_string()),
        }
    }
}

/// Result of index operations.
pub type IndexResult<T> = Result<T, IndexError>;

/// The index file of a store identity under a cache directory:
/// `<dir>/search-index/<identity>.db`.
///
/// # Errors
/// [`IndexError::InvalidIdentity`] when the identity is not a plain file name.
pub fn index_path(cache_dir: &Path, store_identity: &str) -> IndexResult<PathBuf> {
    crate::history::identity_file(cache_dir, "search-index", store_identity)
        .ok_or_else(|| IndexError::InvalidIdentity(store_identity.to_owned()))
}

/// How far the index has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexStatus {
    /// Every event at or below this global position is indexed.
    pub indexed_through: u64,
    /// Number of events indexed.
    pub events: u64,
    /// Bytes of text indexed.
    pub text_bytes: u64,
}

/// The result of one [`SearchIndex::catch_up`] call.
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

/// A full-text index of one store, in eventscope's cache directory.
///
/// `Send + Sync`: one connection behind a mutex. Call it from a worker, never the UI thread.
pub struct SearchIndex {
    path: PathBuf,
    config: String,
    conn: Mutex<Connection>,
    /// Set when a query found the file damaged: the next catch-up rebuilds it.
    damaged: std::sync::atomic::AtomicBool,
    /// Why the file was replaced when it was opened, if it was.
    pub replaced: Option<String>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> IndexError + '_ {
    move |source| IndexError::Index {
        path: path.to_path_buf(),
        source,
    }
}

/// Bytes of pending terms FTS5 keeps in memory before it writes a segment (its default,
/// 1 MB, writes many small segments that it then merges again and again).
const HASH_SIZE: i64 = 64 << 20;

/// Sets the index's FTS5 options (per connection for the hash size).
fn tune(conn: &Connection) {
    if let Err(error) = conn.execute(
        "INSERT INTO fts(fts, rank) VALUES ('hashsize', ?1)",
        [HASH_SIZE],
    ) {
        tracing::debug!("FTS5 hashsize not set: {error}");
    }
}

fn open_fresh(path: &Path) -> IndexResult<Connection> {
    crate::own::files::remove_with_side_files(path)?;
    sidecar::open_checked(path, &SPEC).map_err(|reason| IndexError::Unusable {
        path: path.to_path_buf(),
        reason,
    })
}

/// Events written per transaction (FTS5 writes a segment per transaction at least; fewer,
/// larger segments mean less merging).
const BATCH_EVENTS: usize = 10_000;

/// One batch of texts, made on the reading thread.
struct Batch {
    rows: Vec<(i64, String)>,
    last: u64,
    tail: String,
    bytes: u64,
}

impl SearchIndex {
    /// Opens (or creates) the index of a store in eventscope's cache directory. `config`
    /// names what the texts depend on besides the store (layout, mapping file); an index
    /// built with another config starts over.
    ///
    /// # Errors
    /// No cache directory, or the file cannot be created.
    pub fn open(store_identity: &str, config: &str) -> IndexResult<Self> {
        let dir = crate::trace::index::default_cache_dir().ok_or(IndexError::NoCacheDir)?;
        Self::open_in(&dir, store_identity, config)
    }

    /// Opens (or creates) the index of a store under an explicit cache directory.
    ///
    /// # Errors
    /// The directory or file cannot be created.
    pub fn open_in(cache_dir: &Path, store_identity: &str, config: &str) -> IndexResult<Self> {
        let path = index_path(cache_dir, store_identity)?;
        Self::open_path(&path, config)
    }

    /// Opens (or creates) an index at an explicit file path.
    ///
    /// # Errors
    /// The directory or file cannot be created.
    pub fn open_path(path: &Path, config: &str) -> IndexResult<Self> {
        crate::own::files::create_parent(path)?;
        let (conn, replaced) = match sidecar::open_checked(path, &SPEC) {
            Ok(conn) => (conn, None),
            Err(reason) => {
                tracing::warn!(
                    "full-text index unusable ({reason}); rebuilding {}",
                    path.display()
                );
                (open_fresh(path)?, Some(reason))
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            config: config.to_owned(),
            conn: Mutex::new(conn),
            damaged: std::sync::atomic::AtomicBool::new(false),
            replaced,
        })
    }

    /// The index file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes the index takes on disk (the file and its WAL).
    #[must_use]
    pub fn size_on_disk(&self) -> u64 {
        let wal = {
            let mut name = self.path.as_os_str().to_owned();
            name.push("-wal");
            PathBuf::from(name)
        };
        [self.path.as_path(), wal.as_path()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How far the index has got.
    ///
    /// # Errors
    /// When the index file cannot be read.
    pub fn status(&self) -> IndexResult<IndexStatus> {
        let conn = self.lock();
        let err = sql_error(&self.path);
        Ok(IndexStatus {
            indexed_through: sidecar::meta_u64(&conn, "indexed_through").map_err(&err)?,
            events: sidecar::meta_u64(&conn, "events").map_err(&err)?,
            text_bytes: sidecar::meta_u64(&conn, "text_bytes").map_err(&err)?,
        })
    }

    /// Indexes the store's events after the indexed-through position, at most `max_events`
    /// of them (a page at least), reporting `(indexed_through, head)` after each page.
    /// Stops early with [`IndexError::Cancelled`] when the current job is cancelled; what
    /// was indexed so far is kept.
    ///
    /// # Errors
    /// Store or index failures, or cancellation.
    pub fn catch_up(
        &self,
        source: &dyn EventSource,
        max_events: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> IndexResult<CatchUp> {
        let err = sql_error(&self.path);
        let mut restarted = None;
        let mut conn = self.lock();
        let damaged = self
            .damaged
            .swap(false, std::sync::atomic::Ordering::Relaxed);
        if damaged || !self.path.exists() {
            let why = if damaged {
                "the index file was found damaged"
            } else {
                "the index file was deleted"
            };
            tracing::warn!("full-text index: {why}; rebuilding {}", self.path.display());
            // Close the old handle first so its WAL is not written back over the new file.
            drop(std::mem::replace(
                &mut *conn,
                Connection::open_in_memory().map_err(&err)?,
            ));
            *conn = open_fresh(&self.path)?;
            restarted = Some(why);
        }
        let head = source.head()?;
        let mut through = sidecar::meta_u64(&conn, "indexed_through").map_err(&err)?;
        let mut events = sidecar::meta_u64(&conn, "events").map_err(&err)?;
        let mut text_bytes = sidecar::meta_u64(&conn, "text_bytes").map_err(&err)?;
        if through > 0 {
            let config = sidecar::meta(&conn, "config").map_err(&err)?;
            let tail = sidecar::meta(&conn, "tail").map_err(&err)?;
            let now = if head < through {
                None
            } else {
                sidecar::read_at(source, through)?
            };
            let reason = if config.as_deref() != Some(self.config.as_str()) {
                Some("the store configuration changed")
            } else if now.as_ref().map(sidecar::fingerprint) != tail {
                Some("the store no longer matches the index")
            } else {
                None
            };
            if let Some(reason) = reason {
                tracing::info!(
                    "full-text index {}: {reason}; starting over",
                    self.path.display()
                );
                conn.execute_batch(&format!("DROP TABLE fts; DELETE FROM meta; {FTS_TABLE}"))
                    .map_err(&err)?;
                through = 0;
                events = 0;
                text_bytes = 0;
                restarted = Some(reason);
            }
        }
        if through < head {
            tune(&conn);
        }
        drop(conn);
        let budget = max_events.max(1);
        let cancel = crate::core::cancel::current();
        let cancelled = || cancel.as_ref().is_some_and(|t| t.is_cancelled());
        let start = through;
        let mut added = 0u64;
        let mut exhausted = false;
        std::thread::scope(|scope| -> IndexResult<()> {
            // Two pages in flight at most: the reader makes the next page's texts while
            // this thread writes the last one.
            let (send, receive) = sync_channel::<Result<Batch, SourceError>>(2);
            let cancel = &cancel;
            scope.spawn(move || {
                let read = || -> Result<(), SourceError> {
                    let mut from = start + 1;
                    let mut left = budget;
                    let mut text = String::new();
                    let mut batch: Option<Batch> = None;
                    while from <= head && left > 0 {
                        if cancel.as_ref().is_some_and(|t| t.is_cancelled()) {
                            return Err(SourceError::Cancelled);
                        }
                        let page = source.read_log(&LogQuery {
                            from_position: Some(from),
                            limit: MAX_PAGE.min(left),
                            ..LogQuery::default()
                        })?;
                        let Some(last) = page.last() else {
                            break;
                        };
                        let filling = batch.get_or_insert_with(|| Batch {
                            rows: Vec::with_capacity(BATCH_EVENTS),
                            last: 0,
                            tail: String::new(),
                            bytes: 0,
                        });
                        filling.last = last.global_position;
                        filling.tail = sidecar::fingerprint(last);
                        for event in &page {
                            text.clear();
                            super::indexed_text(event, &mut text);
                            filling.bytes += text.len() as u64;
                            let position = i64::try_from(event.global_position).unwrap_or(i64::MAX);
                            filling.rows.push((position, text.clone()));
                        }
                        left = left.saturating_sub(page.len() as u64);
                        from = filling.last + 1;
                        if filling.rows.len() >= BATCH_EVENTS
                            && let Some(full) = batch.take()
                            && send.send(Ok(full)).is_err()
                        {
                            return Ok(());
                        }
                    }
                    if let Some(rest) = batch {
                        let _ = send.send(Ok(rest));
                    }
                    Ok(())
                };
                let result = match cancel {
                    Some(token) => crate::core::cancel::with_cancel(token, read),
                    None => read(),
                };
                if let Err(error) = result {
                    let _ = send.send(Err(error));
                }
            });
            for batch in receive {
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(SourceError::Cancelled) => return Err(IndexError::Cancelled),
                    Err(error) => return Err(error.into()),
                };
                if cancelled() {
                    return Err(IndexError::Cancelled);
                }
                let count = batch.rows.len() as u64;
                let write = |conn: &mut Connection| -> rusqlite::Result<()> {
                    let tx = conn.transaction()?;
                    {
                        let mut insert =
                            tx.prepare_cached("INSERT INTO fts(rowid, body) VALUES (?1, ?2)")?;
                        for (position, body) in &batch.rows {
                            insert.execute(params![position, body])?;
                        }
                        let mut set = tx.prepare_cached(
                            "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
                        )?;
                        set.execute(params!["indexed_through", batch.last.to_string()])?;
                        set.execute(params!["events", (events + count).to_string()])?;
                        set.execute(params![
                            "text_bytes",
                            (text_bytes + batch.bytes).to_string()
                        ])?;
                        set.execute(params!["tail", batch.tail])?;
                        set.execute(params!["config", self.config])?;
                    }
                    tx.commit()
                };
                write(&mut self.lock()).map_err(&err)?;
                through = batch.last;
                events += count;
                text_bytes += batch.bytes;
                added += count;
                progress(through, head);
            }
            Ok(())
        })?;
        if through < head && added < budget {
            // Nothing left to read although `through < head`: the head is a position the
            // log does not return (KurrentDB's system events come last).
            exhausted = true;
        }
        Ok(CatchUp {
            indexed_through: through,
            head,
            added,
            complete: through >= head || exhausted,
            restarted,
        })
    }

    /// Global positions below `below` of events that hold every trigram of `query` (an
    /// FTS5 query from [`crate::search::Needle::fts_query`]), newest first, at most
    /// `limit`. Candidates: check each event.
    ///
    /// # Errors
    /// When the index cannot be read.
    pub fn candidates(&self, query: &str, below: u64, limit: usize) -> IndexResult<Vec<u64>> {
        let conn = self.lock();
        let err = sql_error(&self.path);
        let mut statement = conn
            .prepare_cached(
                "SELECT rowid FROM fts WHERE fts MATCH ?1 AND rowid < ?2 \
                 ORDER BY rowid DESC LIMIT ?3",
            )
            .map_err(&err)?;
        let below = i64::try_from(below).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(params![query, below, limit], |r| r.get::<_, i64>(0))
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            match row {
                Ok(position) => out.push(u64::try_from(position).unwrap_or(0)),
                Err(error) => {
                    if matches!(
                        error.sqlite_error_code(),
                        Some(
                            rusqlite::ErrorCode::DatabaseCorrupt
                                | rusqlite::ErrorCode::NotADatabase
                        )
                    ) {
                        self.damaged
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    return Err(err(error));
                }
            }
        }
        Ok(out)
    }

    /// True when a query found the file damaged (the next [`SearchIndex::catch_up`]
    /// rebuilds it).
    #[must_use]
    pub fn is_damaged(&self) -> bool {
        self.damaged.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The index's size for a store of `events` events, estimated from the texts of `sample`
/// (some of its events): bytes.
#[must_use]
pub fn estimate_size(sample: &[Event], events: u64) -> u64 {
    if sample.is_empty() {
        return 0;
    }
    let mut text = String::new();
    let mut bytes = 0usize;
    for event in sample {
        text.clear();
        super::indexed_text(event, &mut text);
        bytes += text.len();
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )] // An estimate shown rounded.
    let estimate = bytes as f64 / sample.len() as f64 * events as f64 * BYTES_PER_TEXT_BYTE;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    {
        estimate as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rejects_bad_identity() {
        let dir = Path::new("/tmp");
        assert!(index_path(dir, "../x").is_err());
        assert!(
            index_path(dir, "0123abcd")
                .unwrap()
                .ends_with("search-index/0123abcd.db")
        );
    }

    #[test]
    fn garbage_and_foreign_files_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        std::fs::write(&path, b"this is not a database, not even close; it is text").unwrap();
        let index = SearchIndex::open_path(&path, "cfg").unwrap();
        assert!(index.replaced.is_some());
        assert_eq!(index.status().unwrap(), IndexStatus::default());
        drop(index);
        assert!(
            SearchIndex::open_path(&path, "cfg")
                .unwrap()
                .replaced
                .is_none()
        );
        // A correlation index at the same path is not a full-text index.
        let other = dir.path().join("trace.db");
        drop(crate::trace::TraceIndex::open_path(&other, "cfg").unwrap());
        let reason = SearchIndex::open_path(&other, "cfg").unwrap().replaced;
        assert!(
            reason
                .unwrap()
                .contains("not an eventscope full-text index")
        );
    }
}
