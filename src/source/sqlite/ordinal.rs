//! Stores without a version column: an event's version is its 1-based ordinal in its
//! stream by position, computed from the index without reading whole streams.

use rusqlite::{Connection, params_from_iter};

use super::decode::{collect_page, lenient_unsigned};
use super::{SqliteSource, clamp_limit, to_i64};
use crate::core::event::Event;
use crate::core::query::Direction;
use crate::core::source::SourceResult;

impl SqliteSource {
    /// A page of a stream whose versions are ordinals: the rows in position order from an
    /// offset, numbered from it (the index walk skips the rows before the page; nothing
    /// reads the whole stream, except a backwards read, which counts it).
    pub(super) fn read_stream_ordinal(
        &self,
        mut params: Vec<rusqlite::types::Value>,
        single: bool,
        from_version: Option<u64>,
        direction: Direction,
        limit: u64,
    ) -> SourceResult<Vec<Event>> {
        use rusqlite::types::Value;
        let limit = clamp_limit(limit);
        let (forwards, backwards) = if single {
            &self.sql.ordinal_one
        } else {
            &self.sql.ordinal_any
        };
        let count_sql = if single {
            &self.sql.stream_count_one
        } else {
            &self.sql.stream_count_any
        };
        self.with_conn(|conn| {
            let (sql, offset, first, step): (&String, u64, u64, i64) = match direction {
                Direction::Forwards => {
                    let from = from_version.unwrap_or(1).max(1);
                    (forwards, from - 1, from, 1)
                }
                Direction::Backwards => {
                    let count = conn
                        .prepare_cached(count_sql)?
                        .query_row(params_from_iter(params.iter()), |row| {
                            Ok(lenient_unsigned(row.get_ref(0)?))
                        })?;
                    let from = from_version.unwrap_or(count).min(count);
                    if from == 0 {
                        return Ok(Vec::new());
                    }
                    (backwards, count - from, from, -1)
                }
            };
            params.push(Value::Integer(limit));
            params.push(Value::Integer(to_i64(offset)));
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                self.row_to_event(row)
            })?;
            let mut page = collect_page(rows, limit)?;
            for (i, event) in page.iter_mut().enumerate() {
                let i = i64::try_from(i).unwrap_or(i64::MAX);
                event.stream_version =
                    u64::try_from(to_i64(first).saturating_add(step * i)).unwrap_or(0);
            }
            Ok(page)
        })
    }
}

/// Streams whose last numbered event is remembered; beyond this the memo starts over.
const MEMO_STREAMS: usize = 100_000;

impl SqliteSource {
    /// Fills in the versions of a log page of an ordinal store. Per stream of the page:
    /// one index range count up to its first event in the page, then the counts of the
    /// gaps between its events in the page (nothing when they follow each other), so a
    /// page costs one count per stream, not one per event.
    pub(super) fn fill_log_ordinals(
        &self,
        conn: &Connection,
        page: &mut [Event],
    ) -> rusqlite::Result<()> {
        use rusqlite::types::Value;
        let mut by_stream: std::collections::BTreeMap<String, Vec<usize>> =
            std::collections::BTreeMap::new();
        for (index, event) in page.iter().enumerate() {
            if !event.is_unreadable("global_position") {
                by_stream
                    .entry(event.stream_id.clone())
                    .or_default()
                    .push(index);
            }
        }
        let mut stmt = conn.prepare_cached(&self.sql.ordinal_between)?;
        let mut memo = self
            .ordinals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if memo.len() > MEMO_STREAMS {
            memo.clear();
        }
        for (stream_id, mut indices) in by_stream {
            indices.sort_by_key(|&i| page[i].global_position);
            let first = page[indices[0]].global_position;
            // Count from the last event of the stream an earlier page numbered, when it
            // comes before this page (a reader walking the log counts each event once).
            let (mut previous, mut ordinal) = match memo.get(&stream_id) {
                Some(&(position, version)) if position <= first => (Some(position), version),
                _ => (None, 0),
            };
            let mut params = self.stream_params(&stream_id);
            params.push(Value::Integer(i64::MIN));
            params.push(Value::Integer(0));
            for i in indices {
                let position = page[i].global_position;
                let between = match previous {
                    // The next stored position: nothing in between to count.
                    Some(p) if p.checked_add(1) == Some(position) => 1,
                    Some(p) if p == position => 0,
                    _ => {
                        params[4] = Value::Integer(previous.map_or(i64::MIN, to_i64));
                        params[5] = Value::Integer(to_i64(position));
                        stmt.query_row(params_from_iter(params.iter()), |row| {
                            Ok(lenient_unsigned(row.get_ref(0)?))
                        })?
                    }
                };
                ordinal += between;
                page[i].stream_version = ordinal;
                previous = Some(position);
            }
            if let Some(last) = previous {
                memo.insert(stream_id, (last, ordinal));
            }
        }
        Ok(())
    }
}
