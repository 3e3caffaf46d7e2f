//! Reading a stream forwards in one pass for a fold: a named reader thread reads the pages
//! while the calling thread folds the previous one, joined by a bounded crossbeam channel
//! (so at most [`PAGES_AHEAD`] pages wait in memory). The reader runs under the caller's
//! cancellation token, and stops at its next page once the fold has had enough.
//!
//! GUI-free; used by the timeline, the snapshot checks, the state command and evidence.

use std::ops::ControlFlow;

use super::{ReduceError, ReduceResult};
use crate::core::event::Event;
use crate::core::query::{Direction, MAX_PAGE};
use crate::core::source::{EventSource, SourceError};

/// Pages read ahead of the fold.
pub const PAGES_AHEAD: usize = 2;

/// Where a forward read of one stream starts and how far it needs to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadPlan {
    /// First version to read (`None` = from the start).
    pub from: Option<u64>,
    /// The fold needs events up to this version and one after it (to see where the
    /// versions stop); `None` = to the end. Pages are sized so that little more is read.
    pub until: Option<u64>,
}

impl ReadPlan {
    /// The whole stream.
    #[must_use]
    pub const fn whole() -> Self {
        Self {
            from: None,
            until: None,
        }
    }

    /// Page size for a read starting at `next`: a full page, or just enough to pass
    /// `until` by one event when versions are dense.
    #[must_use]
    pub fn page_size(&self, next: Option<u64>) -> u64 {
        match self.until {
            None => MAX_PAGE,
            Some(until) => {
                let from = next.unwrap_or(0);
                (until.saturating_add(2).saturating_sub(from)).clamp(1, MAX_PAGE)
            }
        }
    }
}

/// Reads `stream_id` forwards on a reader thread and hands each page to `each` on this
/// thread, in order. `each` returns [`ControlFlow::Break`] to stop early.
///
/// # Errors
/// Reading errors (cancellation as [`ReduceError::Cancelled`]) and the errors of `each`.
pub fn for_each_page(
    source: &dyn EventSource,
    stream_id: &str,
    plan: ReadPlan,
    each: &mut dyn FnMut(Vec<Event>) -> ReduceResult<ControlFlow<()>>,
) -> ReduceResult<()> {
    let token = crate::core::cancel::current();
    let (tx, rx) = crossbeam_channel::bounded::<Result<Vec<Event>, SourceError>>(PAGES_AHEAD);
    std::thread::scope(|scope| {
        let reader = move || {
            let read = || {
                let mut next = plan.from;
                loop {
                    let limit = plan.page_size(next);
                    let page = source.read_stream(stream_id, next, Direction::Forwards, limit);
                    let (last, full) = match &page {
                        Ok(page) => (
                            page.last().map(|e| e.stream_version),
                            page.len() as u64 >= limit,
                        ),
                        Err(_) => (None, false),
                    };
                    if tx.send(page).is_err() {
                        return;
                    }
                    match last {
                        Some(last) if full => next = Some(last + 1),
                        _ => return,
                    }
                }
            };
            match &token {
                Some(token) => crate::core::cancel::with_cancel(token, read),
                None => read(),
            }
        };
        let spawned = std::thread::Builder::new()
            .name("replay-reader".to_owned())
            .spawn_scoped(scope, reader);
        if let Err(e) = spawned {
            return Err(ReduceError::Source(format!(
                "cannot start the reader thread: {e}"
            )));
        }
        // Returning drops the receiver, which stops the reader at its next page.
        let rx = rx;
        for page in &rx {
            let page = page?;
            if page.is_empty() || each(page)?.is_break() {
                break;
            }
        }
        Ok(())
    })
}

/// Applies events to a fold one by one through [`for_each_page`]; `each` returns `false` to
/// stop.
///
/// # Errors
/// As [`for_each_page`].
pub fn for_each_event(
    source: &dyn EventSource,
    stream_id: &str,
    plan: ReadPlan,
    each: &mut dyn FnMut(&Event) -> ReduceResult<bool>,
) -> ReduceResult<()> {
    for_each_page(source, stream_id, plan, &mut |page| {
        for event in &page {
            if !each(event)? {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    })
}
