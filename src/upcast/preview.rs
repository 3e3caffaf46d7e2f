//! The side-by-side preview: for each event, the stored form, every chain step's output
//! with its structural differences from the step before, and the failure at the step that
//! failed; paging through the events of a type or a stream, and finding the next failure
//! (core layer, no GUI).

use serde_json::Value;

use crate::core::event::Event;
use crate::core::query::{Direction, LogQuery};
use crate::core::source::{EventSource, SourceError};
use crate::replay::diff::{DiffEntry, diff};
use crate::script::ScriptError;
use crate::upcast::check::CheckError;
use crate::upcast::engine::{UpcastFailure, UpcastedEvent, Upcasters};
use crate::upcast::version::Versioned;

/// Differences shown per column at most.
const MAX_DIFFS: usize = 500;
/// Events read per batch while looking for the next failure.
const SCAN_BATCH: u64 = 1_000;

/// One column of a preview row.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewColumn {
    /// `stored v1`, `v1 -> v2`.
    pub title: String,
    /// The event at this point (`{type, data, metadata}`); `None` at a failed step.
    pub value: Option<Value>,
    /// Differences from the column before (empty for the stored column).
    pub diff: Vec<DiffEntry>,
    /// The failure, in the column of the step that failed.
    pub failure: Option<UpcastFailure>,
}

/// One event, side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewRow {
    /// The stored event.
    pub event: Event,
    /// Type and version as stored.
    pub stored: Versioned,
    /// Stored, each step, final (the last column).
    pub columns: Vec<PreviewColumn>,
}

impl PreviewRow {
    /// The failure, if a step failed.
    #[must_use]
    pub fn failure(&self) -> Option<&UpcastFailure> {
        self.columns.iter().find_map(|c| c.failure.as_ref())
    }
}

/// Builds the side-by-side row of one event.
///
/// # Errors
/// [`ScriptError::Cancelled`] only.
pub fn preview_event(upcasters: &Upcasters, event: &Event) -> Result<PreviewRow, ScriptError> {
    let run = upcasters.run(event, true)?;
    let stored_value = UpcastedEvent::stored(event).to_json();
    let mut columns = vec![PreviewColumn {
        title: format!("stored v{}", run.stored.version),
        value: Some(stored_value.clone()),
        diff: Vec::new(),
        failure: None,
    }];
    let mut previous = stored_value;
    for (i, step) in run.chain.iter().enumerate() {
        let title = format!("v{} -> v{}", step.from, step.to);
        match run.outputs.get(i) {
            Some(output) => {
                let value = output.to_json();
                let changes = diff(&previous, &value, MAX_DIFFS);
                columns.push(PreviewColumn {
                    title,
                    value: Some(value.clone()),
                    diff: changes,
                    failure: None,
                });
                previous = value;
            }
            None => {
                columns.push(PreviewColumn {
                    title,
                    value: None,
                    diff: Vec::new(),
                    failure: run.failure.clone(),
                });
                break;
            }
        }
    }
    // A gap (no upcaster from the version reached) shows as a failed column of its own.
    if let Some(failure) = &run.failure
        && !columns.iter().any(|c| c.failure.is_some())
    {
        columns.push(PreviewColumn {
            title: format!("v{} -> v{}", failure.from, failure.to),
            value: None,
            diff: Vec::new(),
            failure: Some(failure.clone()),
        });
    }
    Ok(PreviewRow {
        event: event.clone(),
        stored: run.stored,
        columns,
    })
}

/// What the view pages through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every event of a type (base type; suffixed spellings included).
    Type(String),
    /// One stream.
    Stream(String),
}

/// A page of the view.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewPage {
    /// Rows in store order.
    pub rows: Vec<PreviewRow>,
    /// Cursor of the first row (global position for a type, version for a stream).
    pub first: Option<u64>,
    /// Cursor of the last row.
    pub last: Option<u64>,
    /// True when nothing follows.
    pub at_end: bool,
}

fn cursor(selection: &Selection, event: &Event) -> u64 {
    match selection {
        Selection::Type(_) => event.global_position,
        Selection::Stream(_) => event.stream_version,
    }
}

fn read(
    source: &dyn EventSource,
    selection: &Selection,
    stored_types: &[String],
    from: Option<u64>,
    direction: Direction,
    limit: u64,
) -> Result<Vec<Event>, SourceError> {
    match selection {
        Selection::Type(_) => {
            let mut events = source.read_log(&LogQuery {
                from_position: from,
                event_types: stored_types.to_vec(),
                direction,
                limit,
                ..LogQuery::default()
            })?;
            events.sort_by_key(|e| e.global_position);
            Ok(events)
        }
        Selection::Stream(stream_id) => {
            let mut events = source.read_stream(stream_id, from, direction, limit)?;
            events.sort_by_key(|e| e.stream_version);
            Ok(events)
        }
    }
}

fn source_err(e: SourceError) -> CheckError {
    match e {
        SourceError::Cancelled => CheckError::Cancelled,
        e => CheckError::Source(e),
    }
}

/// Loads a page of `size` rows: forwards from `from` (inclusive), or backwards ending at
/// `from` (inclusive) when `backwards`.
///
/// # Errors
/// When the store cannot be read, or [`CheckError::Cancelled`].
pub fn load_page(
    source: &dyn EventSource,
    upcasters: &Upcasters,
    selection: &Selection,
    from: Option<u64>,
    backwards: bool,
    size: u64,
) -> Result<PreviewPage, CheckError> {
    let stored_types = stored_types(source, upcasters, selection)?;
    if matches!(selection, Selection::Type(_)) && stored_types.is_empty() {
        return Ok(PreviewPage {
            rows: Vec::new(),
            first: None,
            last: None,
            at_end: true,
        });
    }
    let direction = if backwards {
        Direction::Backwards
    } else {
        Direction::Forwards
    };
    let events =
        read(source, selection, &stored_types, from, direction, size + 1).map_err(source_err)?;
    let (events, at_end) = if backwards {
        let skip = events
            .len()
            .saturating_sub(usize::try_from(size).unwrap_or(usize::MAX));
        (events[skip..].to_vec(), false)
    } else {
        let more = events.len() > usize::try_from(size).unwrap_or(usize::MAX);
        let mut events = events;
        events.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        (events, !more)
    };
    let mut rows = Vec::with_capacity(events.len());
    for event in &events {
        rows.push(preview_event(upcasters, event).map_err(|_| CheckError::Cancelled)?);
    }
    Ok(PreviewPage {
        first: events.first().map(|e| cursor(selection, e)),
        last: events.last().map(|e| cursor(selection, e)),
        rows,
        at_end,
    })
}

fn stored_types(
    source: &dyn EventSource,
    upcasters: &Upcasters,
    selection: &Selection,
) -> Result<Vec<String>, CheckError> {
    match selection {
        Selection::Type(wanted) => {
            crate::upcast::check::stored_types_of(source, wanted, upcasters).map_err(source_err)
        }
        Selection::Stream(_) => Ok(Vec::new()),
    }
}

/// The cursor of the next event after `after` (exclusive; `None` = from the start) whose
/// upcast fails, scanning forwards; `None` when there is none.
///
/// # Errors
/// When the store cannot be read, or [`CheckError::Cancelled`].
pub fn next_failure(
    source: &dyn EventSource,
    upcasters: &Upcasters,
    selection: &Selection,
    after: Option<u64>,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<u64>, CheckError> {
    let stored_types = stored_types(source, upcasters, selection)?;
    if matches!(selection, Selection::Type(_)) && stored_types.is_empty() {
        return Ok(None);
    }
    let mut from = after.map_or(Some(0), |a| a.checked_add(1));
    let mut scanned = 0u64;
    while let Some(position) = from {
        let events = read(
            source,
            selection,
            &stored_types,
            Some(position),
            Direction::Forwards,
            SCAN_BATCH,
        )
        .map_err(source_err)?;
        let Some(last) = events.last() else {
            return Ok(None);
        };
        from = cursor(selection, last).checked_add(1);
        for event in &events {
            let run = upcasters
                .run(event, false)
                .map_err(|_| CheckError::Cancelled)?;
            if run.failure.is_some() {
                return Ok(Some(cursor(selection, event)));
            }
        }
        scanned += events.len() as u64;
        progress(scanned);
        if (events.len() as u64) < SCAN_BATCH {
            return Ok(None);
        }
    }
    Ok(None)
}
