//! Lag history: projection lag samples kept in eventscope's own data directory, so the lag
//! chart outlives the session.
//! (Over 600 lines: the lag-history file's schema, writes, reads and downsampling are one file format; the tests sit in `tests.rs`.)
//!
//! # Where
//!
//! One SQLite file per store: `<data dir>/lag-history/<store identity>.db`, where the data
//! dir is `directories::ProjectDirs::from("", "", "eventscope").data_dir()` (e.g.
//! `~/.local/share/eventscope`) or an explicit directory ([`LagHistory::open_in`]), and the
//! identity is [`store_identity`] of the store's location. The user's store is never
//! opened, written or even named here: only its identity hash is.
//!
//! # Schema
//!
//! `names(id INTEGER PRIMARY KEY, name TEXT UNIQUE)` and
//! `samples(name_id, at_ms, position, head, lag_events, lag_ms, behind_head_ms)`, a `WITHOUT ROWID` table
//! whose primary key `(name_id, at_ms)` is the index by name and time (so a name is stored
//! once, not in every row); lag seconds (both the age of the oldest unprocessed event and
//! the time behind the head in event time; -1 for unknown, and for rows of schema 1) are stored as whole milliseconds (the precision
//! `crate::core::lag::lag_now` computes), which SQLite packs into 1–4 bytes instead of an
//! 8-byte REAL. `meta(key, value)` holds the compaction watermark (samples before it are
//! already downsampled; inserting older samples lowers it). WAL journal, incremental
//! auto-vacuum, `application_id` = `ESLG`, `user_version` = schema version.
//!
//! # Retention ([`LagHistory::compact`])
//!
//! Full resolution for the last hour; older samples are downsampled to one per minute per
//! projection (the last sample of each minute is kept, so every kept point is a real
//! observation); samples older than 7 days are dropped. The caller runs `compact(now)`
//! every few minutes (and after an [`LagHistory::import`]). Free pages are given back to
//! the file system when more than a quarter of the file is free.
//!
//! **Size**: a week of 1 s samples for 20 projections, compacted as it is written (every
//! 5 minutes), is 20 × (3 600 full-resolution + 10 080 one-per-minute) = 272 400 rows and
//! measures **10.0 MB** on disk (peak 10.0 MB, 7.8 MB right after a `VACUUM`; heads around
//! 20 million), measured by `week_of_samples_for_20_projections_size`, an `#[ignore]` test
//! that simulates the week and prints the size. Each compaction took ~6.5 ms, and loading
//! the whole week ~0.1 s. Uncompacted, the same week would be 12.1 million rows
//! (≈ 35 bytes each: over 400 MB).
//!
//! # Gaps
//!
//! The chart shows a gap for the time the app was closed. The history stores samples only;
//! a gap is two consecutive samples of one projection further apart than
//! [`GAP_FACTOR`] × the expected spacing: the sampling interval in the full-resolution
//! hour, and `max(interval, 1 minute)` before it (downsampled data). [`segments`] splits a
//! series accordingly; draw each segment as its own line. Gaps shorter than about three
//! minutes disappear once they age into the downsampled region. Reconstructed samples
//! ([`LagHistory::import`]) follow the same rule, so a reconstruction should emit them on
//! the sampling grid (or at most a minute apart for times older than an hour). Pass only
//! the last segment to `crate::core::lag` for trend and stall.
//!
//! # Failures
//!
//! A history file that is not a database, is corrupt, or belongs to something else is
//! moved aside to `<identity>.db.corrupt` (replacing an older one) and recreated, with a
//! warning in the log; corruption found later, during an operation, is handled the same
//! way (the operation is retried once on the fresh file). Other errors are returned as
//! [`HistoryError`]; the app keeps working without history (or with
//! [`LagHistory::in_memory`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::core::lag::LagSample;

pub use crate::own::{canonical_location, store_identity};

mod file;
#[allow(clippy::wildcard_imports)] // the file helpers split off into file.rs
use file::*;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 2;

/// `PRAGMA application_id` of a lag history file (`ESLG`).
pub const APPLICATION_ID: i64 = 0x4553_4C47;

/// Two consecutive samples further apart than this many times the expected spacing are a
/// gap (see [`segments`]).
pub const GAP_FACTOR: u32 = 3;

/// Errors at the history boundary.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The platform has no data directory for eventscope (no home directory).
    #[error("no data directory for eventscope (is HOME set?)")]
    NoDataDir,
    /// The store identity cannot be used as a file name.
    #[error("invalid store identity {0:?}: expected 1–128 letters, digits, '-' or '_'")]
    InvalidIdentity(String),
    /// A file system operation failed.
    #[error(transparent)]
    Io(#[from] crate::own::files::FileError),
    /// The history database failed.
    #[error("lag history {location}: {source}")]
    Sqlite {
        /// The history file (or `:memory:`).
        location: String,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// The history file stays unusable even after it was replaced.
    #[error("lag history {} is unusable: {reason}", path.display())]
    Unusable {
        /// The history file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The file was written by a newer eventscope with a schema this one does not know.
    #[error(
        "lag history {} has schema version {found}; this eventscope reads up to {SCHEMA_VERSION}",
        path.display()
    )]
    NewerSchema {
        /// The history file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
    },
}

/// Result alias for the history.
pub type HistoryResult<T> = Result<T, HistoryError>;

/// Retention policy applied by [`LagHistory::compact_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Samples this recent keep full resolution (default 1 hour).
    pub full_resolution: Duration,
    /// Older samples are downsampled to the last one of each bucket (default 1 minute).
    pub bucket: Duration,
    /// Samples older than this are dropped (default 7 days).
    pub keep: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            full_resolution: Duration::from_secs(3600),
            bucket: Duration::from_secs(60),
            keep: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What a compaction removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactStats {
    /// Samples removed by downsampling.
    pub downsampled: u64,
    /// Samples removed for being older than the retention.
    pub expired: u64,
}

/// Lag samples of one store, persisted in eventscope's data directory.
///
/// `Send + Sync`: one connection behind a mutex; every call is a short statement or
/// transaction. Call it from a worker, not the UI thread.
pub struct LagHistory {
    /// The file, `None` in memory.
    path: Option<PathBuf>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for LagHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LagHistory")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

struct Inner {
    conn: Connection,
    /// Name → id cache for `names`.
    names: HashMap<String, i64>,
}

/// eventscope's data directory (`ProjectDirs::data_dir`), when the platform has one.
#[must_use]
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "eventscope").map(|dirs| dirs.data_dir().to_path_buf())
}

/// The history file of a store identity under a data directory:
/// `<dir>/lag-history/<identity>.db`.
///
/// # Errors
/// [`HistoryError::InvalidIdentity`] when the identity is not a plain file name.
pub fn history_path(data_dir: &Path, store_identity: &str) -> HistoryResult<PathBuf> {
    identity_file(data_dir, "lag-history", store_identity)
        .ok_or_else(|| HistoryError::InvalidIdentity(store_identity.to_owned()))
}

/// `<dir>/<folder>/<identity>.db`, one of eventscope's own files about a store (lag
/// history, correlation index); `None` unless the identity is a plain file name (1–128
/// ASCII letters, digits, `-`, `_`), so no identity can point outside `dir`.
#[must_use]
pub fn identity_file(dir: &Path, folder: &str, store_identity: &str) -> Option<PathBuf> {
    let valid = !store_identity.is_empty()
        && store_identity.len() <= 128
        && store_identity
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    valid.then(|| dir.join(folder).join(format!("{store_identity}.db")))
}

/// How far apart two consecutive samples may be, the earlier one taken at `at`, before the
/// chart shows a gap: [`GAP_FACTOR`] × the sampling `interval` inside the full-resolution
/// window (`now − retention.full_resolution`), [`GAP_FACTOR`] × `max(interval,
/// retention.bucket)` before it.
#[must_use]
pub fn max_gap(
    at: DateTime<Utc>,
    interval: Duration,
    now: DateTime<Utc>,
    retention: &Retention,
) -> Duration {
    let full_since = chrono::TimeDelta::from_std(retention.full_resolution)
        .ok()
        .and_then(|span| now.checked_sub_signed(span));
    let spacing = match full_since {
        Some(since) if at >= since => interval,
        _ => interval.max(retention.bucket),
    };
    spacing.saturating_mul(GAP_FACTOR)
}

/// Splits one projection's samples (oldest first) into runs without a gap (see
/// [`max_gap`]); draw each run as its own line. Empty input gives no segments.
#[must_use]
pub fn segments<'a>(
    samples: &'a [LagSample],
    interval: Duration,
    now: DateTime<Utc>,
    retention: &Retention,
) -> Vec<&'a [LagSample]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (index, pair) in samples.windows(2).enumerate() {
        let apart = (pair[1].at - pair[0].at).to_std().unwrap_or(Duration::ZERO);
        if apart > max_gap(pair[0].at, interval, now, retention) {
            out.push(&samples[start..=index]);
            start = index + 1;
        }
    }
    if start < samples.len() {
        out.push(&samples[start..]);
    }
    out
}

impl LagHistory {
    /// Opens (creating when needed) the history of `store_identity` in eventscope's data
    /// directory.
    ///
    /// # Errors
    /// No data directory, an invalid identity, or a file that cannot be created or opened.
    pub fn open(store_identity: &str) -> HistoryResult<Self> {
        let dir = default_data_dir().ok_or(HistoryError::NoDataDir)?;
        Self::open_in(&dir, store_identity)
    }

    /// Opens (creating when needed) `<dir>/lag-history/<store_identity>.db`. Creates nothing
    /// outside `dir`. An unusable file is moved aside and recreated (with a warning).
    ///
    /// # Errors
    /// An invalid identity, or a file that cannot be created or opened.
    pub fn open_in(dir: &Path, store_identity: &str) -> HistoryResult<Self> {
        let path = history_path(dir, store_identity)?;
        crate::own::files::create_parent(&path)?;
        let conn = open_or_replace(&path)?;
        Ok(Self {
            path: Some(path),
            inner: Mutex::new(Inner {
                conn,
                names: HashMap::new(),
            }),
        })
    }

    /// A history that lives in memory only (a fallback when the data directory cannot be
    /// used: the chart works for the session).
    ///
    /// # Errors
    /// When SQLite cannot allocate the database.
    pub fn in_memory() -> HistoryResult<Self> {
        let sql = |source| HistoryError::Sqlite {
            location: ":memory:".to_owned(),
            source,
        };
        let conn = Connection::open_in_memory().map_err(sql)?;
        init(&conn, None).map_err(|failure| match failure {
            OpenFailure::Fatal(error) => error,
            OpenFailure::Unusable(reason) => HistoryError::Unusable {
                path: PathBuf::from(":memory:"),
                reason,
            },
        })?;
        Ok(Self {
            path: None,
            inner: Mutex::new(Inner {
                conn,
                names: HashMap::new(),
            }),
        })
    }

    /// The history file (`None` in memory).
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn location(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| ":memory:".to_owned(), |path| path.display().to_string())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                // A panic mid-transaction rolled it back; the name cache may be stale.
                let mut guard = poisoned.into_inner();
                guard.names.clear();
                self.inner.clear_poison();
                guard
            }
        }
    }

    /// Runs `op`; on corruption, replaces the file (warning) and runs it once more.
    fn run<T>(&self, op: impl Fn(&mut Inner) -> rusqlite::Result<T>) -> HistoryResult<T> {
        let mut inner = self.lock();
        match op(&mut inner) {
            Ok(value) => Ok(value),
            Err(error) if is_corruption(&error) && self.path.is_some() => {
                let path = self.path.as_deref().unwrap_or_else(|| Path::new(""));
                tracing::warn!(
                    path = %path.display(),
                    %error,
                    "lag history file is corrupt; moving it aside and starting a new one"
                );
                let placeholder =
                    Connection::open_in_memory().map_err(|source| HistoryError::Sqlite {
                        location: self.location(),
                        source,
                    })?;
                drop(std::mem::replace(&mut inner.conn, placeholder));
                inner.names.clear();
                move_aside(path)?;
                inner.conn = open_or_replace(path)?;
                op(&mut inner).map_err(|source| HistoryError::Sqlite {
                    location: self.location(),
                    source,
                })
            }
            Err(source) => Err(HistoryError::Sqlite {
                location: self.location(),
                source,
            }),
        }
    }

    /// Stores samples (one per projection per sampling tick), in one transaction. A sample
    /// with the same name and millisecond as a stored one replaces it. Non-finite or
    /// negative `lag_seconds` are stored as 0.
    ///
    /// # Errors
    /// When the history cannot be written.
    pub fn record(&self, samples: &[(String, LagSample)]) -> HistoryResult<()> {
        self.run(|inner| {
            insert_samples(
                inner,
                "REPLACE",
                samples.iter().map(|(name, sample)| (name.as_str(), sample)),
            )
        })
        .map(|_| ())
    }

    /// Inserts reconstructed samples of one projection (e.g. from a store's checkpoint
    /// history) unless a sample of that name and millisecond is already stored; returns how
    /// many were inserted. Idempotent: importing the same samples twice inserts nothing the
    /// second time. Run [`Self::compact`] afterwards to downsample old imported samples.
    ///
    /// # Errors
    /// When the history cannot be written.
    pub fn import(&self, name: &str, samples: &[LagSample]) -> HistoryResult<usize> {
        self.run(|inner| insert_samples(inner, "IGNORE", samples.iter().map(|s| (name, s))))
    }

    /// Samples at or after `since`, per projection name (names sorted), each oldest first.
    /// Projections without samples in the range are left out.
    ///
    /// # Errors
    /// When the history cannot be read.
    pub fn load(&self, since: DateTime<Utc>) -> HistoryResult<Vec<(String, Vec<LagSample>)>> {
        self.load_range(since, None)
    }

    /// Samples in `[since, until]` (`until = None`: no upper bound), per projection name
    /// (names sorted), each oldest first.
    ///
    /// # Errors
    /// When the history cannot be read.
    pub fn load_range(
        &self,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> HistoryResult<Vec<(String, Vec<LagSample>)>> {
        let since_ms = since.timestamp_millis();
        let until_ms = until.map_or(i64::MAX, |until| until.timestamp_millis());
        self.run(|inner| {
            let mut names = inner
                .conn
                .prepare_cached("SELECT id, name FROM names ORDER BY name")?;
            let names: Vec<(i64, String)> = names
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut select = inner.conn.prepare_cached(
                "SELECT at_ms, position, head, lag_events, lag_ms, behind_head_ms FROM samples
                 WHERE name_id = ?1 AND at_ms >= ?2 AND at_ms <= ?3 ORDER BY at_ms",
            )?;
            let mut out = Vec::new();
            for (id, name) in names {
                let samples: Vec<LagSample> = select
                    .query_map(params![id, since_ms, until_ms], sample_from_row)?
                    .filter_map(Result::transpose)
                    .collect::<rusqlite::Result<_>>()?;
                if !samples.is_empty() {
                    out.push((name, samples));
                }
            }
            Ok(out)
        })
    }

    /// The newest sample time across all projections (where the chart resumes; the time
    /// the app was last sampling this store).
    ///
    /// # Errors
    /// When the history cannot be read.
    pub fn latest_at(&self) -> HistoryResult<Option<DateTime<Utc>>> {
        self.run(|inner| {
            let ms: Option<i64> =
                inner
                    .conn
                    .query_row("SELECT max(at_ms) FROM samples", [], |row| row.get(0))?;
            Ok(ms.and_then(DateTime::from_timestamp_millis))
        })
    }

    /// Number of stored samples (all projections).
    ///
    /// # Errors
    /// When the history cannot be read.
    pub fn sample_count(&self) -> HistoryResult<u64> {
        self.run(|inner| {
            inner
                .conn
                .query_row("SELECT count(*) FROM samples", [], |row| row.get(0))
                .map(to_u64)
        })
    }

    /// Size of the database in bytes (pages in use or free; excludes the WAL).
    ///
    /// # Errors
    /// When the history cannot be read.
    pub fn size_bytes(&self) -> HistoryResult<u64> {
        self.run(|inner| {
            let pages: i64 = inner
                .conn
                .pragma_query_value(None, "page_count", |row| row.get(0))?;
            let page_size: i64 = inner
                .conn
                .pragma_query_value(None, "page_size", |row| row.get(0))?;
            Ok(to_u64(pages.saturating_mul(page_size)))
        })
    }

    /// Applies the default [`Retention`] as of `now`: full resolution for the last hour,
    /// the last sample of each minute before that, nothing older than 7 days. Call every
    /// few minutes.
    ///
    /// # Errors
    /// When the history cannot be written.
    pub fn compact(&self, now: DateTime<Utc>) -> HistoryResult<CompactStats> {
        self.compact_with(now, &Retention::default())
    }

    /// Applies `retention` as of `now` (see [`Self::compact`]).
    ///
    /// # Errors
    /// When the history cannot be written.
    pub fn compact_with(
        &self,
        now: DateTime<Utc>,
        retention: &Retention,
    ) -> HistoryResult<CompactStats> {
        let now_ms = now.timestamp_millis();
        let expire_before = now_ms.saturating_sub(millis(retention.keep));
        let full_since = now_ms.saturating_sub(millis(retention.full_resolution));
        let bucket = millis(retention.bucket).max(1);
        self.run(|inner| {
            let tx = inner.conn.transaction()?;
            let ids: Vec<i64> = tx
                .prepare_cached("SELECT id FROM names")?
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            // Samples before the watermark were downsampled by an earlier compaction (inserts
            // of older samples lower it); start at its bucket so a bucket is never split.
            let watermark: i64 = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = 'downsampled_before'",
                    [],
                    |row| row.get(0),
                )
                .optional()?
                .unwrap_or(i64::MIN);
            let from = watermark.div_euclid(bucket).saturating_mul(bucket);
            let (mut expired, mut downsampled) = (0, 0);
            {
                let mut expire =
                    tx.prepare_cached("DELETE FROM samples WHERE name_id = ?1 AND at_ms < ?2")?;
                // Keep the last sample of each bucket: delete a sample when a later one of
                // the same name exists in its bucket (primary-key range probes only).
                let mut downsample = tx.prepare_cached(
                    "DELETE FROM samples AS s
                     WHERE s.name_id = ?1 AND s.at_ms >= ?2 AND s.at_ms < ?3
                       AND EXISTS (
                           SELECT 1 FROM samples AS later
                           WHERE later.name_id = ?1
                             AND later.at_ms > s.at_ms
                             AND later.at_ms < (s.at_ms / ?4 + 1) * ?4
                       )",
                )?;
                for id in ids {
                    expired += expire.execute(params![id, expire_before])?;
                    downsampled += downsample.execute(params![id, from, full_since, bucket])?;
                }
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('downsampled_before', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                [full_since],
            )?;
            tx.execute(
                "DELETE FROM names
                 WHERE NOT EXISTS (SELECT 1 FROM samples WHERE samples.name_id = names.id)",
                [],
            )?;
            tx.commit()?;
            inner.names.clear();
            let free: i64 = inner
                .conn
                .pragma_query_value(None, "freelist_count", |row| row.get(0))?;
            let pages: i64 = inner
                .conn
                .pragma_query_value(None, "page_count", |row| row.get(0))?;
            if free > 0 && free.saturating_mul(4) > pages {
                inner.conn.execute_batch("PRAGMA incremental_vacuum;")?;
            }
            Ok(CompactStats {
                downsampled: u64::try_from(downsampled).unwrap_or(u64::MAX),
                expired: u64::try_from(expired).unwrap_or(u64::MAX),
            })
        })
    }

    /// Writes the WAL back into the database file and truncates it (e.g. before measuring
    /// the file, or when closing the store).
    ///
    /// # Errors
    /// When the checkpoint fails.
    pub fn checkpoint(&self) -> HistoryResult<()> {
        if self.path.is_none() {
            return Ok(());
        }
        self.run(|inner| inner.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);"))
    }
}

#[cfg(test)]
mod tests;
