//! Opening and checking eventscope's own index files (the correlation index, the full-text
//! index): SQLite files in the cache directory that can always be rebuilt from the store,
//! so a file that fails its checks is deleted and created again.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _};

/// What an index file must be.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// `PRAGMA application_id` the file carries.
    pub application_id: i64,
    /// `PRAGMA user_version`: the schema version this build writes and reads.
    pub schema_version: i64,
    /// What the file is, for messages ("correlation index").
    pub what: &'static str,
    /// The statements that create the schema (`CREATE … IF NOT EXISTS`).
    pub schema: &'static str,
    /// The table `PRAGMA quick_check` is limited to, or `None` for the whole file. (SQLite
    /// runs FTS5's own integrity check, which reads the whole index, inside a file-wide
    /// `quick_check`: seconds on a big full-text index, so that one checks `meta` on open
    /// and notices damage when a query fails.)
    pub quick_check: Option<&'static str>,
}

/// Opens and checks an index file: `Err(reason)` when it is unusable and must go (not an
/// index of this kind, another schema version, failing `quick_check`, unreadable). A new
/// file gets the schema; every file gets WAL and a 64 MB page cache.
///
/// # Errors
/// The reason the file cannot be used.
pub fn open_checked(path: &Path, spec: &Spec) -> Result<Connection, String> {
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    conn.busy_timeout(Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    let probe = || -> rusqlite::Result<(i64, i64, i64)> {
        let application_id = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let user_version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let objects = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        Ok((application_id, user_version, objects))
    };
    let (application_id, user_version, objects) = probe().map_err(|e| e.to_string())?;
    if objects > 0 || application_id != 0 {
        if application_id != spec.application_id {
            return Err(format!(
                "not an eventscope {} (application_id {application_id:#x})",
                spec.what
            ));
        }
        if user_version != spec.schema_version {
            return Err(format!("schema version {user_version}"));
        }
        let check = match spec.quick_check {
            Some(table) => format!("PRAGMA quick_check({table})"),
            None => "PRAGMA quick_check".to_owned(),
        };
        match conn.query_row(&check, [], |r| r.get::<_, String>(0)) {
            Ok(ok) if ok == "ok" => {}
            Ok(problem) => return Err(format!("integrity check: {problem}")),
            Err(error) => return Err(error.to_string()),
        }
    }
    let setup = || -> rusqlite::Result<()> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.execute_batch(&format!(
            "PRAGMA application_id = {};
             PRAGMA user_version = {};
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
             {}",
            spec.application_id, spec.schema_version, spec.schema
        ))
    };
    setup().map_err(|e| e.to_string())?;
    Ok(conn)
}

/// A value of the file's `meta(key, value)` table.
///
/// # Errors
/// When the file cannot be read.
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// A number in `meta` (0 when missing or not a number).
///
/// # Errors
/// When the file cannot be read.
pub fn meta_u64(conn: &Connection, key: &str) -> rusqlite::Result<u64> {
    Ok(meta(conn, key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// What identifies the event at a position, to notice a replaced or truncated store.
#[must_use]
pub fn fingerprint(event: &crate::core::Event) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        event.global_position,
        event.stream_id,
        event.stream_version,
        event.event_type,
        event.event_id.as_deref().unwrap_or("")
    )
}

/// The event at exactly this global position, if there is one.
///
/// # Errors
/// When the store cannot be read.
pub fn read_at(
    source: &dyn crate::core::EventSource,
    position: u64,
) -> crate::core::SourceResult<Option<crate::core::Event>> {
    Ok(source
        .read_log(&crate::core::query::LogQuery {
            from_position: Some(position),
            limit: 1,
            ..crate::core::query::LogQuery::default()
        })?
        .into_iter()
        .find(|e| e.global_position == position))
}
