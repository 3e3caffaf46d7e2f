//! The demo store's schema (the "design layout") and the SQL shared by the
//! bulk writer and the live appender.

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::domain::DemoEvent;

/// Tables of the design layout. The unique stream/version index is created
/// separately ([`STREAM_INDEX`]) after the bulk load.
pub(crate) const SCHEMA: &str = "
PRAGMA application_id = 1163285315;
CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, aggregate_id TEXT NOT NULL, version INTEGER NOT NULL, event_type TEXT NOT NULL, event_version INTEGER NOT NULL DEFAULT 1, payload TEXT NOT NULL, metadata TEXT, created_at TEXT NOT NULL);
CREATE TABLE snapshots (aggregate_id TEXT NOT NULL, version INTEGER NOT NULL, schema_version INTEGER NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (aggregate_id, version));
CREATE TABLE projection_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE projection_checkpoint_history (name TEXT NOT NULL, position INTEGER NOT NULL, recorded_at TEXT NOT NULL);
CREATE INDEX projection_checkpoint_history_name_time ON projection_checkpoint_history(name, recorded_at);
";

/// The unique `(aggregate_id, version)` index, created after the bulk load.
pub(crate) const STREAM_INDEX: &str =
    "CREATE UNIQUE INDEX events_stream_version ON events(aggregate_id, version);";

const INSERT_EVENT: &str = "INSERT INTO events (id, event_id, aggregate_id, version, event_type, event_version, payload, metadata, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const INSERT_SNAPSHOT: &str = "INSERT INTO snapshots (aggregate_id, version, schema_version, state, created_at) VALUES (?1, ?2, 1, ?3, ?4)";
const INSERT_HISTORY: &str =
    "INSERT INTO projection_checkpoint_history (name, position, recorded_at) VALUES (?1, ?2, ?3)";
const UPSERT_CHECKPOINT: &str = "INSERT INTO projection_checkpoints (name, position, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at";

/// Names of the demo projections, in display order.
pub(crate) const PROJECTIONS: [&str; 4] = [
    "account-balances",
    "order-history",
    "shipping-dashboard",
    "email-notifier",
];

/// Formats a time as the store does: RFC 3339 UTC with milliseconds.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a stored time.
pub(crate) fn parse_ts(text: &str) -> Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("bad stored time {text:?}"))?
        .with_timezone(&Utc))
}

fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).context("position out of range")
}

/// Reused serialization buffers (no allocation per event once warm).
#[derive(Default)]
pub(crate) struct JsonBufs {
    payload: Vec<u8>,
    meta: Vec<u8>,
}

fn json_into<'a, T: Serialize>(buf: &'a mut Vec<u8>, value: &T) -> Result<&'a str> {
    buf.clear();
    serde_json::to_writer(&mut *buf, value)?;
    Ok(std::str::from_utf8(buf)?)
}

/// Inserts `ev` at global position `position` recorded at `at`, and the
/// snapshot it carries, if any (taken at `snapshot_at`, default `at`).
pub(crate) fn insert_event(
    conn: &Connection,
    bufs: &mut JsonBufs,
    position: u64,
    at: &str,
    ev: &DemoEvent,
    snapshot_at: Option<&str>,
) -> Result<()> {
    let JsonBufs { payload, meta } = bufs;
    let payload = json_into(payload, &ev.payload)?;
    let meta = json_into(meta, &ev.meta)?;
    let mut stmt = conn.prepare_cached(INSERT_EVENT)?;
    stmt.execute(params![
        to_i64(position)?,
        ev.event_id,
        ev.stream,
        ev.version,
        ev.event_type,
        ev.event_version,
        payload,
        meta,
        at,
    ])?;
    if let Some(snap) = &ev.snapshot {
        let state = serde_json::to_string(&snap.state)?;
        let mut stmt = conn.prepare_cached(INSERT_SNAPSHOT)?;
        stmt.execute(params![
            ev.stream,
            ev.version,
            state,
            snapshot_at.unwrap_or(at)
        ])?;
    }
    Ok(())
}

/// Records a projection's position at `at` in the checkpoint history.
pub(crate) fn insert_history(conn: &Connection, name: &str, position: u64, at: &str) -> Result<()> {
    let mut stmt = conn.prepare_cached(INSERT_HISTORY)?;
    stmt.execute(params![name, to_i64(position)?, at])?;
    Ok(())
}

/// Sets a projection's current checkpoint.
pub(crate) fn upsert_checkpoint(
    conn: &Connection,
    name: &str,
    position: u64,
    at: &str,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(UPSERT_CHECKPOINT)?;
    stmt.execute(params![name, to_i64(position)?, at])?;
    Ok(())
}
