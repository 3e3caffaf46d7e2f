//! Scanning the log for matching events, newest first, bounded, cancellable and with
//! progress, through any [`EventSource`].
//!
//! A source that narrows searches on its side ([`EventSource::narrows_searches`]: SQLite's
//! `LIKE`, PostgreSQL's `ILIKE`) is read in windows of [`WINDOW`] positions from the head
//! down, one statement per page of a window, so progress moves and Cancel is seen between
//! statements even when nothing matches for millions of events. Any other source is read
//! page after page from the head down. Every event that comes back is checked exactly by
//! the caller's matcher.

use std::ops::ControlFlow;

use crate::core::event::Event;
use crate::core::query::{Direction, LogQuery};
use crate::core::source::{EventSource, SourceError, SourceResult};

use super::Match;

/// Positions per window for sources that narrow searches.
pub const WINDOW: u64 = 1_000_000;
/// Events per page read.
pub const PAGE: u64 = 1_000;

/// An event that matched, with where.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The event.
    pub event: Event,
    /// Where it matched (for a structured filter: the paths its conditions looked at).
    pub matches: Vec<Match>,
}

/// How a scan ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanEnd {
    /// Events the source returned and the matcher checked.
    pub checked: u64,
    /// Events that matched and were handed on.
    pub hits: u64,
    /// False when the callback stopped the scan (a limit) before the start of the log.
    pub complete: bool,
    /// The lowest position looked at.
    pub lowest: u64,
    /// Why the full-text index could not answer part way and the rest was scanned, if so.
    pub index_failed: Option<&'static str>,
}

/// What to look for: the scope of the log (types, stream prefix, time window; its
/// position, direction and limit are ignored), the source-side prefilter text, and the
/// exact check (`Some(matches)` for a hit).
pub struct Scan<'a> {
    /// The part of the log to search.
    pub scope: LogQuery,
    /// Text every match contains (any ASCII case), for the source to narrow by.
    pub prefilter: Option<&'a str>,
    /// The exact check.
    pub matcher: &'a (dyn Fn(&Event) -> Option<Vec<Match>> + Sync),
}

/// Runs `scan` over `source` from the head down, handing each hit to `on_hit` newest first
/// until it returns `Break`. Reports progress (0..1 of the positions covered) through
/// [`crate::core::cancel::report_progress`] and stops with `Cancelled` when the current job
/// is cancelled.
///
/// # Errors
/// When the store cannot be read, or the job was cancelled.
pub fn scan(
    source: &dyn EventSource,
    scan: &Scan<'_>,
    on_hit: impl FnMut(Hit) -> ControlFlow<()>,
) -> SourceResult<ScanEnd> {
    let head = source.head()?;
    scan_above(source, scan, head, 0, on_hit)
}

/// [`scan`] from `head` down to position `bottom` (inclusive).
fn scan_above(
    source: &dyn EventSource,
    scan: &Scan<'_>,
    head: u64,
    bottom: u64,
    mut on_hit: impl FnMut(Hit) -> ControlFlow<()>,
) -> SourceResult<ScanEnd> {
    let windowed = source.narrows_searches() && scan.prefilter.is_some();
    let mut end = ScanEnd {
        lowest: head,
        ..ScanEnd::default()
    };
    if head < bottom {
        end.complete = true;
        return Ok(end);
    }
    let mut top = head;
    loop {
        let floor = if windowed {
            top.saturating_sub(WINDOW - 1).max(bottom)
        } else {
            bottom
        };
        let mut cursor = top;
        loop {
            if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                return Err(SourceError::Cancelled);
            }
            let query = LogQuery {
                from_position: Some(cursor),
                direction: Direction::Backwards,
                limit: PAGE,
                ..scan.scope.clone()
            };
            let mut page = source.search_log(&query, floor, scan.prefilter)?;
            let full = page.len() as u64 >= PAGE;
            page.sort_by_key(|e| std::cmp::Reverse(e.global_position));
            let Some(lowest) = page.last().map(|e| e.global_position) else {
                break;
            };
            end.lowest = end.lowest.min(lowest);
            for event in page {
                end.checked += 1;
                if let Some(matches) = (scan.matcher)(&event) {
                    end.hits += 1;
                    if on_hit(Hit { event, matches }).is_break() {
                        return Ok(end);
                    }
                }
            }
            if head > 0 {
                #[allow(clippy::cast_precision_loss)] // A fraction for a progress bar.
                crate::core::cancel::report_progress(
                    (head - lowest.min(head)) as f32 / head as f32,
                );
            }
            if !full || lowest <= floor {
                break;
            }
            cursor = lowest - 1;
        }
        if !windowed || floor <= bottom {
            break;
        }
        end.lowest = end.lowest.min(floor);
        top = floor - 1;
    }
    end.complete = true;
    Ok(end)
}

/// Events read per candidate chunk of an indexed search.
const CANDIDATES: usize = 1_000;

/// [`scan`] with the full-text index: the positions the index does not cover yet (above
/// its indexed-through position) are scanned as usual, the rest are read only where the
/// index has a candidate (`fts_query`: [`super::Needle::fts_query`]). Each candidate is read
/// from the store, kept to the scope and checked by the matcher, so the hits are the same
/// as a scan's, newest first.
///
/// # Errors
/// When the store or the index cannot be read, or the job was cancelled.
pub fn scan_indexed(
    source: &dyn EventSource,
    index: &super::index::SearchIndex,
    fts_query: &str,
    scan: &Scan<'_>,
    mut on_hit: impl FnMut(Hit) -> ControlFlow<()>,
) -> SourceResult<ScanEnd> {
    let head = source.head()?;
    let through = index.status()?.indexed_through.min(head);
    let mut stopped = false;
    let mut end = scan_above(source, scan, head, through + 1, |hit| {
        let flow = on_hit(hit);
        stopped = flow.is_break();
        flow
    })?;
    if stopped {
        end.complete = false;
        return Ok(end);
    }
    end.complete = false;
    let cancel = crate::core::cancel::current();
    let mut below = through + 1;
    loop {
        if cancel.as_ref().is_some_and(|t| t.is_cancelled()) {
            return Err(SourceError::Cancelled);
        }
        let candidates = match index.candidates(fts_query, below, CANDIDATES) {
            Ok(candidates) => candidates,
            Err(error) => {
                // The store still answers: scan what the index was to cover.
                tracing::warn!("full-text index failed ({error}); scanning instead");
                let rest = scan_above(source, scan, below - 1, 0, on_hit)?;
                return Ok(ScanEnd {
                    checked: end.checked + rest.checked,
                    hits: end.hits + rest.hits,
                    complete: rest.complete,
                    lowest: end.lowest.min(rest.lowest),
                    index_failed: Some(if index.is_damaged() {
                        "the index file is damaged; it is rebuilt on the next catch-up"
                    } else {
                        "the index could not be read"
                    }),
                });
            }
        };
        let Some(&lowest) = candidates.last() else {
            break;
        };
        for event in read_positions(source, &candidates)? {
            end.checked += 1;
            let in_scope = (scan.scope.event_types.is_empty()
                || scan.scope.event_types.iter().any(|t| event.has_type(t)))
                && scan.scope.keeps_stream_and_time(&event);
            if !in_scope {
                continue;
            }
            if let Some(matches) = (scan.matcher)(&event) {
                end.hits += 1;
                if on_hit(Hit { event, matches }).is_break() {
                    end.lowest = end.lowest.min(lowest);
                    return Ok(end);
                }
            }
        }
        end.lowest = end.lowest.min(lowest);
        if head > 0 {
            #[allow(clippy::cast_precision_loss)] // A fraction for a progress bar.
            crate::core::cancel::report_progress((head - lowest.min(head)) as f32 / head as f32);
        }
        if candidates.len() < CANDIDATES {
            break;
        }
        below = lowest;
    }
    end.lowest = 0;
    end.complete = true;
    Ok(end)
}

/// The events at `positions` (descending), newest first: a run of positions close together
/// is read as one range, the rest one by one.
fn read_positions(source: &dyn EventSource, positions: &[u64]) -> SourceResult<Vec<Event>> {
    let (Some(&top), Some(&bottom)) = (positions.first(), positions.last()) else {
        return Ok(Vec::new());
    };
    let wanted: std::collections::HashSet<u64> = positions.iter().copied().collect();
    let mut events = Vec::with_capacity(positions.len());
    if top - bottom < 4 * positions.len() as u64 {
        let mut cursor = top;
        loop {
            let page = source.read_log(&LogQuery {
                from_position: Some(cursor),
                direction: Direction::Backwards,
                limit: crate::core::query::MAX_PAGE.min(cursor - bottom + 1),
                ..LogQuery::default()
            })?;
            let Some(lowest) = page.iter().map(|e| e.global_position).min() else {
                break;
            };
            events.extend(
                page.into_iter()
                    .filter(|e| wanted.contains(&e.global_position)),
            );
            if lowest <= bottom {
                break;
            }
            cursor = lowest - 1;
        }
        events.sort_by_key(|e| std::cmp::Reverse(e.global_position));
    } else {
        for &position in positions {
            events.extend(crate::own::sidecar::read_at(source, position)?);
        }
    }
    Ok(events)
}
