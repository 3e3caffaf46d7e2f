//! The history file itself: creating and checking its schema, moving a corrupt file
//! aside, and converting samples to and from rows.

#![allow(clippy::wildcard_imports)] // the parent's constants, types and imports

use super::*;

/// Why opening a file failed.
pub(super) enum OpenFailure {
    /// The file is not a usable history file: move it aside and start over.
    Unusable(String),
    /// Anything else (permissions, busy, newer schema).
    Fatal(HistoryError),
}

pub(super) fn is_corruption(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

pub(super) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Sets up a connection on a fresh or existing file (or memory).
pub(super) fn init(conn: &Connection, path: Option<&Path>) -> Result<(), OpenFailure> {
    let location = path.map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string());
    let sql = |source: rusqlite::Error| {
        if is_corruption(&source) {
            OpenFailure::Unusable(source.to_string())
        } else {
            OpenFailure::Fatal(HistoryError::Sqlite {
                location: location.clone(),
                source,
            })
        }
    };
    conn.busy_timeout(Duration::from_secs(2)).map_err(&sql)?;
    let application_id: i64 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(&sql)?;
    let user_version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(&sql)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(&sql)?;
    if objects > 0 || application_id != 0 || user_version != 0 {
        if application_id != APPLICATION_ID {
            return Err(OpenFailure::Unusable(format!(
                "not an eventscope lag history (application_id {application_id:#x})"
            )));
        }
        if user_version > SCHEMA_VERSION {
            return Err(OpenFailure::Fatal(HistoryError::NewerSchema {
                path: path.map(Path::to_path_buf).unwrap_or_default(),
                found: user_version,
            }));
        }
    } else {
        // Fresh file: auto-vacuum must be chosen before the first table exists.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(&sql)?;
    }
    if path.is_some() {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&sql)?;
        conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)
            .map_err(&sql)?;
    }
    conn.execute_batch(
        "BEGIN;
         CREATE TABLE IF NOT EXISTS names (
             id   INTEGER PRIMARY KEY,
             name TEXT NOT NULL UNIQUE
         );
         CREATE TABLE IF NOT EXISTS samples (
             name_id     INTEGER NOT NULL,
             at_ms       INTEGER NOT NULL,
             position    INTEGER NOT NULL,
             head        INTEGER NOT NULL,
             lag_events  INTEGER NOT NULL,
             lag_ms      INTEGER NOT NULL,
             behind_head_ms INTEGER NOT NULL DEFAULT -1,
             PRIMARY KEY (name_id, at_ms)
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS meta (
             key   TEXT PRIMARY KEY,
             value INTEGER NOT NULL
         ) WITHOUT ROWID;
         COMMIT;",
    )
    .map_err(&sql)?;
    // Schema 1 had no behind-the-head column: add it (old samples read as unknown).
    let has_behind_head: bool = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('samples') WHERE name = 'behind_head_ms'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map_err(&sql)?
        > 0;
    if !has_behind_head {
        conn.execute_batch(
            "ALTER TABLE samples ADD COLUMN behind_head_ms INTEGER NOT NULL DEFAULT -1",
        )
        .map_err(&sql)?;
    }
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(&sql)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(&sql)?;
    Ok(())
}

pub(super) fn open_once(path: &Path) -> Result<Connection, OpenFailure> {
    let conn = Connection::open(path).map_err(|source| {
        OpenFailure::Fatal(HistoryError::Sqlite {
            location: path.display().to_string(),
            source,
        })
    })?;
    init(&conn, Some(path))?;
    Ok(conn)
}

/// Moves an unusable history file aside (`<file>.corrupt`) and removes its WAL side files,
/// which must not be replayed into the new file.
pub(super) fn move_aside(path: &Path) -> HistoryResult<()> {
    Ok(crate::own::files::move_aside(path)?)
}

/// Opens (creating) the history file, replacing it once if it is unusable.
pub(super) fn open_or_replace(path: &Path) -> HistoryResult<Connection> {
    match open_once(path) {
        Ok(conn) => Ok(conn),
        Err(OpenFailure::Fatal(error)) => Err(error),
        Err(OpenFailure::Unusable(reason)) => {
            tracing::warn!(
                path = %path.display(),
                %reason,
                "lag history file is unusable; moving it aside and starting a new one"
            );
            move_aside(path)?;
            match open_once(path) {
                Ok(conn) => Ok(conn),
                Err(OpenFailure::Fatal(error)) => Err(error),
                Err(OpenFailure::Unusable(reason)) => Err(HistoryError::Unusable {
                    path: path.to_path_buf(),
                    reason,
                }),
            }
        }
    }
}

/// Reads a sample row `(at_ms, position, head, lag_events, lag_ms, behind_head_ms)`.
pub(super) fn sample_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<LagSample>> {
    let at_ms: i64 = row.get(0)?;
    let Some(at) = DateTime::from_timestamp_millis(at_ms) else {
        return Ok(None);
    };
    Ok(Some(LagSample {
        at,
        position: to_u64(row.get(1)?),
        head: to_u64(row.get(2)?),
        lag_events: to_u64(row.get(3)?),
        lag_seconds: millis_to_seconds(row.get(4)?),
        behind_head_seconds: millis_to_seconds(row.get(5)?),
    }))
}

/// Stored for "nobody can tell" (NaN seconds: a store that records no times).
pub(super) const UNKNOWN_MILLIS: i64 = -1;

/// Lag seconds as stored: whole milliseconds (what `lag_now` computes), ≥ 0; NaN (unknown)
/// is [`UNKNOWN_MILLIS`]; infinities and negatives are 0.
pub(super) fn seconds_to_millis(seconds: f64) -> i64 {
    if seconds.is_nan() {
        return UNKNOWN_MILLIS;
    }
    if !seconds.is_finite() || seconds <= 0.0 {
        return 0;
    }
    // `as` saturates at i64::MAX for huge values.
    #[allow(clippy::cast_possible_truncation)]
    let millis = (seconds * 1000.0).round() as i64;
    millis
}

/// The inverse of [`seconds_to_millis`]: [`UNKNOWN_MILLIS`] reads back as NaN, any other
/// negative as 0.
pub(super) fn millis_to_seconds(millis: i64) -> f64 {
    if millis == UNKNOWN_MILLIS {
        return f64::NAN;
    }
    #[allow(clippy::cast_precision_loss)] // Exact below 2^53 ms (285 000 years).
    let seconds = millis.max(0) as f64 / 1000.0;
    seconds
}

/// The id of `name`, inserting it when new.
pub(super) fn name_id(
    conn: &Connection,
    cache: &mut HashMap<String, i64>,
    name: &str,
) -> rusqlite::Result<i64> {
    if let Some(&id) = cache.get(name) {
        return Ok(id);
    }
    conn.prepare_cached("INSERT OR IGNORE INTO names (name) VALUES (?1)")?
        .execute([name])?;
    let id: i64 = conn
        .prepare_cached("SELECT id FROM names WHERE name = ?1")?
        .query_row([name], |row| row.get(0))?;
    cache.insert(name.to_owned(), id);
    Ok(id)
}

/// Inserts samples in one transaction (`OR REPLACE` or `OR IGNORE`); returns rows changed.
pub(super) fn insert_samples<'s>(
    inner: &mut Inner,
    conflict: &str,
    samples: impl Iterator<Item = (&'s str, &'s LagSample)>,
) -> rusqlite::Result<usize> {
    let Inner { conn, names } = inner;
    let result = (|| {
        let tx = conn.transaction()?;
        let mut changed = 0;
        {
            let mut oldest = i64::MAX;
            let mut insert = tx.prepare_cached(&format!(
                "INSERT OR {conflict} INTO samples
                     (name_id, at_ms, position, head, lag_events, lag_ms, behind_head_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?;
            for (name, sample) in samples {
                let id = name_id(&tx, names, name)?;
                let at_ms = sample.at.timestamp_millis();
                oldest = oldest.min(at_ms);
                changed += insert.execute(params![
                    id,
                    at_ms,
                    to_i64(sample.position),
                    to_i64(sample.head),
                    to_i64(sample.lag_events),
                    seconds_to_millis(sample.lag_seconds),
                    seconds_to_millis(sample.behind_head_seconds),
                ])?;
            }
            // Older samples than the compaction watermark: let the next compaction see them.
            tx.prepare_cached(
                "UPDATE meta SET value = ?1 WHERE key = 'downsampled_before' AND value > ?1",
            )?
            .execute([oldest])?;
        }
        tx.commit()?;
        Ok(changed)
    })();
    if result.is_err() {
        // Names inserted by a rolled-back transaction are gone.
        names.clear();
    }
    result
}
