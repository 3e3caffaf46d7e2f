//! Snapshots and checkpoints of a SQLite store.

use chrono::{DateTime, Utc};
use rusqlite::params_from_iter;

use super::SqliteSource;
use super::decode::{
    bytes_of, lenient_unsigned, schema_version_of, stored_payload, text_of, time_at, time_of,
    version_at_path,
};
use super::layout::{FieldSource, TimeFormat};
use crate::core::event::{Checkpoint, CheckpointSample, Payload, Snapshot};
use crate::core::metadata::json_path;
use crate::core::source::SourceResult;

impl SqliteSource {
    pub(super) fn read_snapshots(&self, stream_id: &str) -> SourceResult<Vec<Snapshot>> {
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

    pub(super) fn read_checkpoints(&self) -> SourceResult<Vec<Checkpoint>> {
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
                        category: None,
                        partitions: Vec::new(),
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })?;
            all.append(&mut found);
        }
        Ok(all)
    }

    pub(super) fn read_checkpoint_history(
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
