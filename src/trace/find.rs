//! Finding a trace's events: through the sidecar index (plus a scan of what it has not
//! indexed yet), or by scanning the whole log with progress and cancel.

use crate::core::query::{LogQuery, MAX_PAGE};
use crate::core::{Event, EventSource};
use crate::trace::index::{TraceIndex, read_at};
use crate::trace::{Trace, TraceError, TraceResult};

/// How a trace was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// The index answered for positions up to `indexed_through`; later events were scanned.
    Index {
        /// Indexed through this position.
        indexed_through: u64,
    },
    /// The whole log was scanned.
    Scan,
    /// The store's own correlation index answered (e.g. KurrentDB's `$bc-` streams).
    Store {
        /// What answered, for the UI.
        origin: String,
    },
}

/// Progress of a scan: `(position reached, head)`.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

fn cancelled() -> bool {
    crate::core::cancel::current().is_some_and(|t| t.is_cancelled())
}

/// Scans the log from `from` through `head`, keeping events `keep` accepts; stops after the
/// first match when `first_only`.
fn scan(
    source: &dyn EventSource,
    from: u64,
    head: u64,
    first_only: bool,
    keep: &dyn Fn(&Event) -> bool,
    progress: Progress<'_>,
) -> TraceResult<Vec<Event>> {
    let mut found = Vec::new();
    let mut next = from;
    while next <= head {
        if cancelled() {
            return Err(TraceError::Cancelled);
        }
        let page = source.read_log(&LogQuery {
            from_position: Some(next),
            limit: MAX_PAGE,
            ..LogQuery::default()
        })?;
        let Some(last) = page.last() else { break };
        next = last.global_position + 1;
        for event in page {
            if event.global_position > head {
                break;
            }
            if keep(&event) {
                found.push(event);
                if first_only {
                    return Ok(found);
                }
            }
        }
        progress(next.saturating_sub(1).min(head), head);
    }
    Ok(found)
}

/// Reads the events at these positions that satisfy `keep` (index hits are hashes).
fn read_positions(
    source: &dyn EventSource,
    positions: &[u64],
    keep: &dyn Fn(&Event) -> bool,
) -> TraceResult<Vec<Event>> {
    let mut out = Vec::with_capacity(positions.len());
    for &position in positions {
        if cancelled() {
            return Err(TraceError::Cancelled);
        }
        if let Some(event) = read_at(source, position)?
            && keep(&event)
        {
            out.push(event);
        }
    }
    Ok(out)
}

/// Every event carrying `correlation_id`, as a causal tree. A store that indexes correlation
/// ids itself (KurrentDB's by-correlation projection) answers first. With an index, positions come
/// from it and only the events after its indexed-through position are scanned; without one
/// the whole log is scanned: filtered by the store where it can
/// ([`EventSource::correlated_events_after`], which reports progress through
/// [`crate::core::cancel::report_progress`]), else event by event (progress reports
/// `(position, head)`). Cancellable through the current job's token.
///
/// # Errors
/// Store or index failures, or cancellation.
pub fn trace(
    source: &dyn EventSource,
    correlation_id: &str,
    index: Option<&TraceIndex>,
    progress: Progress<'_>,
) -> TraceResult<(Trace, Method)> {
    let correlation_id = correlation_id.trim();
    if correlation_id.is_empty() {
        return Err(TraceError::EmptyId);
    }
    // A store with no index of its own (it offers the statement that would make one)
    // answers by scanning on its side; eventscope's index, when there is one, is faster,
    // and the store filters only what that index has not covered yet.
    let store_scans = source.index_hint().is_some();
    if !(store_scans && index.is_some())
        && let Some(found) = source.correlated_events(correlation_id)?
    {
        return Ok((
            Trace::build(correlation_id, found.events),
            Method::Store {
                origin: found.origin,
            },
        ));
    }
    let head = source.head()?;
    let keep = |e: &Event| e.correlation_id.as_deref() == Some(correlation_id);
    let (events, method) = match index {
        Some(index) => {
            let through = index.status()?.indexed_through.min(head);
            let positions = index.correlation_positions(correlation_id)?;
            let mut events = read_positions(source, &positions, &keep)?;
            match source.correlated_events_after(correlation_id, through)? {
                Some(rest) => events.extend(rest.events.into_iter().filter(|e| keep(e))),
                None => events.extend(scan(source, through + 1, head, false, &keep, progress)?),
            }
            (
                events,
                Method::Index {
                    indexed_through: through,
                },
            )
        }
        // The store filters the whole log when it can (SQLite: a prefilter on the stored
        // metadata text, checked exactly here); else every event is read.
        None => match source.correlated_events_after(correlation_id, 0)? {
            Some(found) => (
                found.events.into_iter().filter(|e| keep(e)).collect(),
                Method::Scan,
            ),
            None => (scan(source, 1, head, false, &keep, progress)?, Method::Scan),
        },
    };
    Ok((Trace::build(correlation_id, events), method))
}

/// The event with this event id (the first, if several carry it), through the index when
/// there is one, else by scanning.
///
/// # Errors
/// Store or index failures, or cancellation.
pub fn find_event(
    source: &dyn EventSource,
    event_id: &str,
    index: Option<&TraceIndex>,
    progress: Progress<'_>,
) -> TraceResult<Option<Event>> {
    let event_id = event_id.trim();
    if event_id.is_empty() {
        return Err(TraceError::EmptyId);
    }
    let head = source.head()?;
    let keep = |e: &Event| e.event_id.as_deref() == Some(event_id);
    let found = match index {
        Some(index) => {
            let through = index.status()?.indexed_through.min(head);
            let positions = index.event_id_positions(event_id)?;
            let mut found = read_positions(source, &positions, &keep)?;
            if found.is_empty() {
                found = match source.events_with_id(event_id)? {
                    Some(events) => events
                        .into_iter()
                        .filter(|e| e.global_position > through && keep(e))
                        .collect(),
                    None => scan(source, through + 1, head, true, &keep, progress)?,
                };
            }
            found
        }
        // The store finds it when it can (SQLite: by the id column), else every event is read.
        None => match source.events_with_id(event_id)? {
            Some(events) => events.into_iter().filter(|e| keep(e)).collect(),
            None => scan(source, 1, head, true, &keep, progress)?,
        },
    };
    Ok(found.into_iter().next())
}
