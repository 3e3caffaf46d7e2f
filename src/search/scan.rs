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
    mut on_hit: impl FnMut(Hit) -> ControlFlow<()>,
) -> SourceResult<ScanEnd> {
    let head = source.head()?;
    let windowed = source.narrows_searches() && scan.prefilter.is_some();
    let mut end = ScanEnd {
        lowest: head,
        ..ScanEnd::default()
    };
    let mut top = head;
    loop {
        let floor = if windowed {
            top.saturating_sub(WINDOW - 1)
        } else {
            0
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
        if !windowed || floor == 0 {
            break;
        }
        end.lowest = end.lowest.min(floor);
        top = floor - 1;
    }
    end.complete = true;
    Ok(end)
}
