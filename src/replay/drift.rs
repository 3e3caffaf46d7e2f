//! The store-wide drift report in one forward pass: a named reader thread walks the streams
//! that have snapshots (stream info, snapshots, then the events up to just past the last
//! snapshot, page by page) while this thread folds and compares, joined by a bounded
//! crossbeam channel. The reducers stay on this thread.
//!
//! GUI-free; the results are those of [`super::snapshots::check_snapshots`] per stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::pipeline::ReadPlan;
use super::snapshots::{
    DriftProgress, DriftReport, ReducerCache, SnapshotCheck, SnapshotStatus, StreamCheck,
    StreamDrift, earliest_drift, error_row,
};
use super::{ReduceError, ReduceResult};
use crate::core::event::{Event, Snapshot};
use crate::core::query::{Direction, MAX_PAGE};
use crate::core::source::{EventSource, SourceError};

/// Messages from the reader thread.
enum Item {
    /// The next stream with snapshots; its pages follow.
    Stream {
        seq: u64,
        stream_id: String,
        category: String,
        snapshots: Vec<Snapshot>,
    },
    /// A page of the current stream (an error ends the stream's pages).
    Page(Result<Vec<Event>, SourceError>),
    /// Reading the stream list, a stream's info or its snapshots failed: the report fails.
    Fatal(SourceError),
}

/// Items in flight between the reader and the fold (each at most a page of events).
const ITEMS_AHEAD: usize = 4;

/// Checks every stream that has snapshots. Reports progress after each stream; stops early
/// (with `complete = false`) when the job is cancelled.
///
/// # Errors
/// Reading errors.
pub fn drift_report(
    source: &Arc<dyn EventSource>,
    reducers: &mut ReducerCache<'_>,
    only_stream: Option<&str>,
    mut progress: impl FnMut(DriftProgress, &[SnapshotCheck]),
) -> ReduceResult<DriftReport> {
    let mut report = DriftReport::default();
    let mut done = DriftProgress {
        streams_done: 0,
        snapshots_done: 0,
    };
    let token = crate::core::cancel::current();
    // Streams (by `seq`) up to this one need no more pages.
    let skip = AtomicU64::new(0);
    let (tx, rx) = crossbeam_channel::bounded::<Item>(ITEMS_AHEAD);
    let source_ref: &dyn EventSource = source.as_ref();
    let outcome = std::thread::scope(|scope| {
        let skip_ref = &skip;
        let reader = move || {
            let read = || read_streams(source_ref, only_stream, skip_ref, &tx);
            match &token {
                Some(token) => crate::core::cancel::with_cancel(token, read),
                None => read(),
            }
        };
        let spawned = std::thread::Builder::new()
            .name("drift-reader".to_owned())
            .spawn_scoped(scope, reader);
        if let Err(e) = spawned {
            return Err(ReduceError::Source(format!(
                "cannot start the reader thread: {e}"
            )));
        }
        let rx = rx;
        let mut current: Option<Current> = None;
        for item in &rx {
            match item {
                Item::Fatal(error) => {
                    if let Some(stream) = current.take() {
                        stream.finish(reducers, &mut report, &mut done, &mut progress)?;
                    }
                    return Err(error.into());
                }
                Item::Stream {
                    seq,
                    stream_id,
                    category,
                    snapshots,
                } => {
                    if let Some(stream) = current.take() {
                        stream.finish(reducers, &mut report, &mut done, &mut progress)?;
                    }
                    if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                        return Ok(false);
                    }
                    let stream = Current::start(reducers, seq, stream_id, category, snapshots)?;
                    if !stream.wants_pages() {
                        skip.store(seq, Ordering::Relaxed);
                    }
                    current = Some(stream);
                }
                Item::Page(page) => {
                    let Some(stream) = current.as_mut() else {
                        continue;
                    };
                    if !stream.wants_pages() {
                        continue;
                    }
                    match page {
                        Ok(page) => stream.feed(reducers, &page)?,
                        Err(SourceError::Cancelled) => return Ok(false),
                        Err(error) => stream.read_failed(ReduceError::from(error)),
                    }
                    if !stream.wants_pages() {
                        skip.store(stream.seq, Ordering::Relaxed);
                    }
                }
            }
        }
        if let Some(stream) = current.take() {
            stream.finish(reducers, &mut report, &mut done, &mut progress)?;
        }
        Ok(true)
    });
    match outcome {
        Ok(complete) => {
            report.complete = complete;
            Ok(report)
        }
        Err(ReduceError::Cancelled) => Ok(report),
        Err(e) => Err(e),
    }
}

/// The reader thread: every stream with snapshots, then its pages.
fn read_streams(
    source: &dyn EventSource,
    only_stream: Option<&str>,
    skip: &AtomicU64,
    tx: &crossbeam_channel::Sender<Item>,
) {
    let mut offset = 0u64;
    let mut seq = 0u64;
    loop {
        let ids: Vec<String> = match only_stream {
            Some(id) if offset == 0 => vec![id.to_owned()],
            Some(_) => Vec::new(),
            None => match source.snapshot_streams(offset, MAX_PAGE) {
                Ok(ids) => ids,
                Err(e) => {
                    let _ = tx.send(Item::Fatal(e));
                    return;
                }
            },
        };
        if ids.is_empty() {
            return;
        }
        offset += ids.len() as u64;
        for id in &ids {
            let info = match source.stream(id) {
                Ok(info) => info,
                Err(e) => {
                    let _ = tx.send(Item::Fatal(e));
                    return;
                }
            };
            let category = info
                .as_ref()
                .map(|i| i.category.clone())
                .unwrap_or_default();
            let stream_id = info.map_or_else(|| id.clone(), |i| i.stream_id);
            let snapshots = match source.snapshots(&stream_id) {
                Ok(snapshots) => snapshots,
                Err(e) => {
                    let _ = tx.send(Item::Fatal(e));
                    return;
                }
            };
            if snapshots.is_empty() {
                continue;
            }
            seq += 1;
            let plan = ReadPlan {
                from: None,
                until: snapshots.iter().map(|s| s.version).max(),
            };
            let item = Item::Stream {
                seq,
                stream_id: stream_id.clone(),
                category,
                snapshots,
            };
            if tx.send(item).is_err() {
                return;
            }
            let mut next: Option<u64> = None;
            while skip.load(Ordering::Relaxed) < seq {
                let limit = plan.page_size(next);
                let page = source.read_stream(&stream_id, next, Direction::Forwards, limit);
                let follow = match &page {
                    Ok(page) if page.len() as u64 >= limit => page.last().map(|e| e.stream_version),
                    _ => None,
                };
                if tx.send(Item::Page(page)).is_err() {
                    return;
                }
                match follow {
                    Some(last) => next = Some(last + 1),
                    None => break,
                }
            }
        }
        if only_stream.is_some() {
            return;
        }
    }
}

/// The stream being checked.
struct Current {
    seq: u64,
    stream_id: String,
    category: String,
    /// The reducer's label, or the error that kept it from being built.
    reducer: Result<String, String>,
    /// `None` once the stream has its answer (or failed).
    check: Option<StreamCheck>,
    snapshots: Vec<Snapshot>,
    /// A read error: every snapshot of the stream becomes an error row.
    failed: Option<String>,
}

impl Current {
    fn start(
        reducers: &mut ReducerCache<'_>,
        seq: u64,
        stream_id: String,
        category: String,
        snapshots: Vec<Snapshot>,
    ) -> ReduceResult<Self> {
        let (reducer, check) = match reducers.get(&category) {
            Ok(reducer) => {
                let label = reducer.info().label.clone();
                let check = StreamCheck::start(reducer, snapshots.clone(), false)?;
                (Ok(label), Some(check))
            }
            Err(e) => (Err(e), None),
        };
        Ok(Self {
            seq,
            stream_id,
            category,
            reducer,
            check,
            snapshots,
            failed: None,
        })
    }

    fn wants_pages(&self) -> bool {
        self.failed.is_none() && self.check.as_ref().is_some_and(|c| c.plan().is_some())
    }

    fn feed(&mut self, reducers: &mut ReducerCache<'_>, page: &[Event]) -> ReduceResult<()> {
        let Some(check) = self.check.as_mut() else {
            return Ok(());
        };
        let reducer = match reducers.get(&self.category) {
            Ok(reducer) => reducer,
            Err(e) => {
                self.failed = Some(e);
                return Ok(());
            }
        };
        if check.feed(reducer, page)?.is_break() {
            // Compare what is left now (the pages after this one are not needed).
            if let Some(check) = self.check.take() {
                let rows = check.finish(reducer)?;
                self.check = Some(StreamCheck::done(rows));
            }
        }
        Ok(())
    }

    fn read_failed(&mut self, error: ReduceError) {
        self.failed = Some(error.to_string());
    }

    /// Adds the stream to the report and reports progress.
    fn finish(
        self,
        reducers: &mut ReducerCache<'_>,
        report: &mut DriftReport,
        done: &mut DriftProgress,
        progress: &mut impl FnMut(DriftProgress, &[SnapshotCheck]),
    ) -> ReduceResult<()> {
        let (checks, reducer_label) = match (self.reducer, self.check, self.failed) {
            (Ok(label), _, Some(error)) => (
                self.snapshots
                    .iter()
                    .map(|s| error_row(s, None, error.clone()))
                    .collect(),
                label,
            ),
            (Ok(label), Some(check), None) => {
                let rows = match reducers.get(&self.category) {
                    Ok(reducer) => check.finish(reducer)?,
                    Err(e) => self
                        .snapshots
                        .iter()
                        .map(|s| error_row(s, None, e.clone()))
                        .collect(),
                };
                (rows, label)
            }
            (Ok(label), None, None) => (Vec::new(), label),
            (Err(e), _, _) => (
                self.snapshots
                    .iter()
                    .map(|s| error_row(s, None, e.clone()))
                    .collect(),
                "(none)".to_owned(),
            ),
        };
        add_stream(
            report,
            self.stream_id,
            self.category,
            reducer_label,
            &checks,
        );
        done.streams_done += 1;
        done.snapshots_done += checks.len() as u64;
        progress(*done, &checks);
        Ok(())
    }
}

/// Counts one stream's checks into the report.
fn add_stream(
    report: &mut DriftReport,
    stream_id: String,
    category: String,
    reducer: String,
    checks: &[SnapshotCheck],
) {
    report.summary.streams += 1;
    let mut row = StreamDrift {
        stream_id,
        category,
        reducer,
        checked: checks.len() as u64,
        drifted: 0,
        first_drift_version: None,
        first_paths: Vec::new(),
        schema_mismatch: 0,
        error: None,
    };
    for check in checks {
        report.summary.add(check);
        match check.status {
            SnapshotStatus::Drift => row.drifted += 1,
            SnapshotStatus::SchemaMismatch => row.schema_mismatch += 1,
            SnapshotStatus::Error if row.error.is_none() => {
                row.error.clone_from(&check.error);
            }
            _ => {}
        }
    }
    if let Some(first) = earliest_drift(checks) {
        row.first_drift_version = Some(first.version);
        row.first_paths = first.diffs.iter().take(5).map(|d| d.path.clone()).collect();
    }
    if row.drifted > 0 || row.schema_mismatch > 0 || row.error.is_some() {
        report.streams.push(row);
    }
}
