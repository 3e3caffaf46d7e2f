//! Scans pushed down to SQLite: the store filters the log with a cheap prefilter on the
//! stored text (`instr`), and Rust checks exactly, with the same extraction as every other
//! read, only the rows that come back.
//!
//! A correlation scan covers the log in ranges of [`SCAN_CHUNK`] positions, so it reports
//! progress ([`crate::core::cancel::report_progress`]) and stops on cancel between ranges
//! (a cancelled job also interrupts the statement running, through the progress handler
//! `with_conn` installs).
//!
//! Also the description of the log another SQLite connection reads with the store
//! attached read-only ([`crate::core::source::AttachedLog`]), for sidecar builds.

use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::{SqliteSource, conn, to_i64};
use crate::core::event::Event;
use crate::core::source::{
    AttachedLog, CorrelatedEvents, EventSource as _, SourceError, SourceResult,
};

/// Positions one statement of a correlation scan covers (about a second of a warm scan
/// on the 10M-event benchmark store).
const SCAN_CHUNK: u64 = 1_000_000;

/// The text that every stored form of a correlation id contains, when there is one: the
/// longest run of its characters that JSON never writes escaped (other than through `\u`,
/// which the prefilter lets through anyway). `None` when no such text exists: an id that
/// reads as a JSON number (stored as `1.5e3`, read back as `1500.0`), or one made of
/// characters JSON may escape only (`"`, `\`, `/`, control characters).
#[must_use]
pub fn prefilter_needle(id: &str) -> Option<&str> {
    if serde_json::from_str::<serde_json::Number>(id).is_ok() {
        return None;
    }
    id.split(|c: char| matches!(c, '"' | '\\' | '/') || c < ' ')
        .max_by_key(|run| run.len())
        .filter(|run| !run.is_empty())
}

impl SqliteSource {
    /// A correlation's events after position `after`, filtered in SQLite by the stored
    /// metadata text and checked exactly in Rust. `Ok(None)` when the stored text cannot be
    /// prefiltered soundly (a text encoding other than UTF-8): the caller scans.
    pub(super) fn scan_correlation(
        &self,
        correlation_id: &str,
        after: u64,
    ) -> SourceResult<Option<CorrelatedEvents>> {
        let e = &self.layout.events;
        let origin = format!("a scan in SQLite of {} filtered by metadata text", e.table);
        let Some(metadata) = &e.metadata else {
            // Ids come from the metadata only: without it no event carries one.
            return Ok(Some(CorrelatedEvents {
                origin,
                events: Vec::new(),
            }));
        };
        let utf8 = self.with_conn(|conn| {
            conn.query_row("PRAGMA encoding", [], |row| row.get::<_, String>(0))
        })? == "UTF-8";
        if !utf8 {
            return Ok(None);
        }
        // A row may hold the id only in its stored (JSON) form: the needle or a `\u`
        // escape, which can spell any character. (`instr` of a BLOB searches its bytes.)
        let needle = prefilter_needle(correlation_id);
        let prefilter = match needle {
            Some(_) => format!("(instr({metadata}, ?3) > 0 OR instr({metadata}, '\\u') > 0)"),
            None => "?3 IS NULL".to_owned(),
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE {} AND {pos} > ?1 AND {pos} <= ?2 AND {prefilter} \
             ORDER BY {pos}",
            self.sql.event_columns,
            e.table,
            self.sql.base_where,
            pos = e.position
        );
        let head = self.head()?;
        let mut events = Vec::new();
        let mut after = after;
        while after < head {
            if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                return Err(SourceError::Cancelled);
            }
            let through = after.saturating_add(SCAN_CHUNK).min(head);
            let params = [
                Value::Integer(to_i64(after)),
                Value::Integer(to_i64(through)),
                needle.map_or(Value::Null, |n| Value::Text(n.to_owned())),
            ];
            let found: Vec<Event> = self.with_conn(|conn| {
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                    self.row_to_event(row)
                })?;
                let mut found = Vec::new();
                for event in rows {
                    let event = event?;
                    if event.correlation_id.as_deref() == Some(correlation_id) {
                        found.push(event);
                    }
                }
                if self.layout.events.ordinal_version {
                    self.fill_log_ordinals(conn, &mut found)?;
                }
                Ok(found)
            })?;
            events.extend(found);
            after = through;
            #[allow(clippy::cast_precision_loss)] // A progress fraction.
            crate::core::cancel::report_progress(through as f32 / head.max(1) as f32);
        }
        Ok(Some(CorrelatedEvents { origin, events }))
    }

    /// The events with this event id: the rows whose id column equals it, plus every row
    /// whose id is a number or bytes (read as text in Rust: the exact check), each range
    /// of them an index range when the column has an index. `None` when the id could match
    /// an id stored as text that is not UTF-8 (read lossily) or the layout keeps no id.
    pub(super) fn scan_event_id(&self, event_id: &str) -> SourceResult<Option<Vec<Event>>> {
        let e = &self.layout.events;
        let Some(column) = &e.event_id else {
            return Ok(None);
        };
        if event_id.contains('\u{fffd}') {
            return Ok(None);
        }
        // Numbers sort below every text and bytes above, in a column of any affinity.
        let sql = format!(
            "SELECT {} FROM {} WHERE {} AND ({column} = ?1 OR {column} < '' OR {column} >= X'') \
             AND typeof({pos}) IN ('integer', 'real') ORDER BY {pos}",
            self.sql.event_columns,
            e.table,
            self.sql.base_where,
            pos = e.position
        );
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([event_id], |row| self.row_to_event(row))?;
            let mut found = Vec::new();
            for event in rows {
                let event = event?;
                if event.event_id.as_deref() == Some(event_id) {
                    found.push(event);
                }
            }
            if self.layout.events.ordinal_version {
                self.fill_log_ordinals(conn, &mut found)?;
            }
            Ok(found)
        })
        .map(Some)
    }

    /// The log as SQL for a connection that attaches this store read-only.
    pub(super) fn log_for_attach(&self) -> AttachedLog {
        let e = &self.layout.events;
        let column = |expr: &Option<String>| expr.clone().unwrap_or_else(|| "NULL".to_owned());
        AttachedLog {
            uri: conn::read_only_uri(&self.path, conn::choose_mode(&self.path)),
            rows: format!(
                "SELECT {pos}, {}, {} FROM {{schema}}.{} WHERE {} AND {pos} > ?1 AND {pos} <= ?2",
                column(&e.metadata),
                column(&e.event_id),
                e.table,
                self.sql.base_where,
                pos = e.position
            ),
            id_paths: e.id_paths.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::prefilter_needle;

    #[test]
    fn needles_are_text_every_stored_form_contains() {
        assert_eq!(prefilter_needle("c-1"), Some("c-1"));
        assert_eq!(prefilter_needle("ab/cdef"), Some("cdef"));
        assert_eq!(prefilter_needle("say \"hi there\""), Some("hi there"));
        assert_eq!(prefilter_needle("tab\there"), Some("here"));
        assert_eq!(prefilter_needle("é-1"), Some("é-1"));
        assert_eq!(prefilter_needle("1500.0"), None);
        assert_eq!(prefilter_needle("-12"), None);
        assert_eq!(prefilter_needle("\"/\\"), None);
        assert_eq!(prefilter_needle("12a"), Some("12a"));
    }
}
