//! Scans pushed down to SQLite: the store filters the log with a cheap prefilter on the
//! stored text (a substring search, `eventscope_may_hold`), and Rust checks exactly, with
//! the same extraction as every other read, only the rows that come back.
//!
//! A correlation scan covers the log in ranges of [`SCAN_CHUNK`] positions, as many at
//! once as there are cores (each on its own pooled connection), so it reports
//! progress ([`crate::core::cancel::report_progress`]) and stops on cancel between ranges
//! (a cancelled job also interrupts the statement running, through the progress handler
//! `with_conn` installs).
//!
//! Also the description of the log another SQLite connection reads with the store
//! attached read-only ([`crate::core::source::AttachedLog`]), for sidecar builds.

use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::{SqliteSource, conn, to_i64};
use crate::core::cancel::CancelToken;
use crate::core::event::Event;
use crate::core::source::{
    AttachedLog, CorrelatedEvents, EventSource as _, SourceError, SourceResult,
};

/// Positions one statement of a correlation scan covers (about a second of a warm scan
/// on the 10M-event benchmark store).
const SCAN_CHUNK: u64 = 1_000_000;

/// The fewest positions a range of a correlation scan covers.
const MIN_CHUNK: u64 = 16;

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

/// Registers `eventscope_may_hold(stored, needle)` on a read connection: true when the
/// stored text or bytes contain the needle or a `\u` escape (one SIMD pass each, where two
/// `instr` calls walk the row twice byte by byte). A number or NULL is no JSON document in
/// the SQLite source's reading, so never holds an id.
pub(super) fn register_prefilter(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("eventscope_may_hold", 2, flags, |ctx| {
        let (ValueRef::Text(stored) | ValueRef::Blob(stored)) = ctx.get_raw(0) else {
            return Ok(false);
        };
        let (ValueRef::Text(needle) | ValueRef::Blob(needle)) = ctx.get_raw(1) else {
            return Ok(false);
        };
        Ok(memchr::memmem::find(stored, needle).is_some()
            || memchr::memmem::find(stored, b"\\u").is_some())
    })
}

impl SqliteSource {
    /// A correlation's events after position `after`, filtered in SQLite by the stored
    /// metadata text and checked exactly in Rust.
    pub(super) fn scan_correlation(
        &self,
        correlation_id: &str,
        after: u64,
    ) -> SourceResult<CorrelatedEvents> {
        let e = &self.layout.events;
        let origin = format!("a scan in SQLite of {} filtered by metadata text", e.table);
        let Some(metadata) = &e.metadata else {
            // Ids come from the metadata only: without it no event carries one.
            return Ok(CorrelatedEvents {
                origin,
                events: Vec::new(),
            });
        };
        // A row may hold the id only in its stored (JSON) form: the needle, or a `\u`
        // escape, which can spell any character; one pass over the stored bytes looks for
        // both ([`register_prefilter`]).
        let needle = prefilter_needle(correlation_id);
        let prefilter = match needle {
            Some(_) => format!("eventscope_may_hold({metadata}, ?3)"),
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
        let needle = needle.map(str::to_owned);
        let range = |after: u64, through: u64| -> SourceResult<Vec<Event>> {
            let params = [
                Value::Integer(to_i64(after)),
                Value::Integer(to_i64(through)),
                needle.clone().map_or(Value::Null, Value::Text),
            ];
            self.with_conn(|conn| {
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
            })
        };
        // As many ranges at once as there are cores, each on its own connection; a short
        // log is still split into one range per core (of at least MIN_CHUNK positions).
        let lanes = std::thread::available_parallelism().map_or(1, usize::from);
        let chunk = head
            .saturating_sub(after)
            .div_ceil(lanes as u64)
            .clamp(MIN_CHUNK, SCAN_CHUNK);
        let ranges: Vec<(u64, u64)> = (0..)
            .map(|i: u64| after.saturating_add(i.saturating_mul(chunk)))
            .take_while(|&from| from < head)
            .map(|from| (from, from.saturating_add(chunk).min(head)))
            .collect();
        let token = crate::core::cancel::current();
        let mut events = Vec::new();
        for batch in ranges.chunks(lanes.max(1)) {
            if token.as_ref().is_some_and(CancelToken::is_cancelled) {
                return Err(SourceError::Cancelled);
            }
            let found: Vec<SourceResult<Vec<Event>>> = std::thread::scope(|scope| {
                let range = &range;
                let token = token.clone().unwrap_or_default();
                let others: Vec<_> = batch[1..]
                    .iter()
                    .map(|&(from, through)| {
                        let token = token.clone();
                        std::thread::Builder::new()
                            .name("correlation scan".to_owned())
                            .spawn_scoped(scope, move || {
                                crate::core::cancel::with_cancel(&token, || range(from, through))
                            })
                    })
                    .collect();
                let mut found = vec![range(batch[0].0, batch[0].1)];
                for other in others {
                    found.push(match other {
                        Ok(handle) => handle.join().unwrap_or_else(|_| {
                            Err(SourceError::Query("a correlation scan failed".to_owned()))
                        }),
                        Err(error) => Err(SourceError::Query(format!(
                            "cannot start a correlation scan: {error}"
                        ))),
                    });
                }
                found
            });
            for part in found {
                events.extend(part?);
            }
            if let Some(&(_, through)) = batch.last() {
                #[allow(clippy::cast_precision_loss)] // A progress fraction.
                crate::core::cancel::report_progress(through as f32 / head.max(1) as f32);
            }
        }
        Ok(CorrelatedEvents { origin, events })
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
