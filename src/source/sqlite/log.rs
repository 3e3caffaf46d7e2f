//! Pages of the global log: `read_log`, and `search_log` with its `LIKE` prefilter.

use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::decode::collect_page;
use super::layout::IdEncoding;
use super::{SqliteSource, clamp_limit, epoch_seconds, to_i64};
use crate::core::event::Event;
use crate::core::query::{Direction, LogQuery};
use crate::core::source::{SourceError, SourceResult};

impl SqliteSource {
    /// A page of the log. `floor`: positions below it are not read. `contains`: only rows
    /// whose payload, metadata, stream id or event id contain it in any ASCII case (ids
    /// stored as bytes are compared in hex), for a search's exact check to refine.
    pub(super) fn log_page(
        &self,
        query: &LogQuery,
        floor: Option<u64>,
        contains: Option<&str>,
    ) -> SourceResult<Vec<Event>> {
        let events = &self.layout.events;
        let mut sql = format!(
            "SELECT {} FROM {} WHERE {}",
            self.sql.event_columns, events.table, self.sql.base_where
        );
        let mut params: Vec<Value> = Vec::new();
        if let Some(floor) = floor.filter(|f| *f > 0) {
            params.push(Value::Integer(to_i64(floor)));
            sql.push_str(&format!(" AND {} >= ?{}", events.position, params.len()));
        }
        if let Some(text) = contains.filter(|t| !t.is_empty()) {
            params.push(Value::Text(crate::search::like_pattern(text)));
            let n = params.len();
            let as_text = |column: &str| {
                format!(
                    "(CASE WHEN typeof({column}) = 'blob' THEN hex({column}) ELSE {column} END)"
                )
            };
            let mut columns = vec![events.payload.clone(), as_text(&events.stream_id)];
            columns.extend(events.metadata.clone());
            columns.extend(events.event_id.as_deref().map(as_text));
            let any: Vec<String> = columns
                .iter()
                .map(|c| format!("{c} LIKE ?{n} ESCAPE '\\'"))
                .collect();
            sql.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
        let backwards = query.direction == Direction::Backwards;
        if let Some(from) = query.from_position {
            // A start past i64::MAX (the page after an event at i64::MAX) compares as a
            // real, exactly: clamped, it found that event again on every page.
            params.push(match i64::try_from(from) {
                Ok(from) => Value::Integer(from),
                Err(_) if !backwards => Value::Real(from as f64),
                Err(_) => Value::Integer(to_i64(from)),
            });
            sql.push_str(&format!(
                " AND {} {} ?{}",
                events.position,
                if backwards { "<=" } else { ">=" },
                params.len()
            ));
            if !backwards {
                // Text sorts above every number: a row whose position is text (read, with
                // a problem, from the start) must not come back on every later page.
                sql.push_str(&format!(
                    " AND typeof({}) IN ('integer', 'real')",
                    events.position
                ));
            }
        }
        if !query.event_types.is_empty() {
            let start = params.len();
            params.extend(query.event_types.iter().map(|t| Value::Text(t.clone())));
            let placeholders: Vec<String> = (start + 1..=params.len())
                .map(|i| format!("?{i}"))
                .collect();
            let placeholders = placeholders.join(", ");
            // Either form names the type: the shown one or the stored one.
            match &events.stored_type {
                Some(stored) => sql.push_str(&format!(
                    " AND ({} IN ({placeholders}) OR {stored} IN ({placeholders}))",
                    events.event_type
                )),
                None => sql.push_str(&format!(" AND {} IN ({placeholders})", events.event_type)),
            }
        }
        if let Some(prefix) = query.stream_prefix.as_deref().filter(|p| !p.is_empty()) {
            let prefix = match events.stream_id_encoding {
                IdEncoding::Text => prefix.to_owned(),
                IdEncoding::UuidBlob => prefix.replace('-', "").to_lowercase(),
            };
            params.push(Value::Text(prefix));
            sql.push_str(&format!(
                " AND {}",
                self.sql
                    .stream_prefix
                    .replace("?P", &format!("?{}", params.len()))
            ));
        }
        for (bound, op) in [(query.since, ">="), (query.until, "<=")] {
            if let Some(time) = bound {
                let Some(seconds) = &self.sql.recorded_seconds else {
                    return Err(SourceError::Query(
                        "this store records no event times, so a time window cannot be applied"
                            .to_owned(),
                    ));
                };
                params.push(Value::Real(epoch_seconds(time)));
                sql.push_str(&format!(" AND {seconds} {op} ?{}", params.len()));
            }
        }
        let limit = clamp_limit(query.limit);
        params.push(Value::Integer(limit));
        sql.push_str(&format!(
            " ORDER BY {} {} LIMIT ?{}",
            events.position,
            if backwards { "DESC" } else { "ASC" },
            params.len()
        ));
        let mut events: Vec<Event> = self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                self.row_to_event(row)
            })?;
            let mut page = collect_page(rows, limit)?;
            if self.layout.events.ordinal_version {
                self.fill_log_ordinals(conn, &mut page)?;
            }
            Ok(page)
        })?;
        // SQL compares at millisecond precision; apply the exact bounds.
        if query.since.is_some() || query.until.is_some() {
            events.retain(|e| {
                e.recorded_at.is_none_or(|at| {
                    query.since.is_none_or(|since| at >= since)
                        && query.until.is_none_or(|until| at <= until)
                })
            });
        }
        Ok(events)
    }
}
