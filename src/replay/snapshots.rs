//! Snapshot vs replay: compare every stored snapshot of a stream with the state a full replay
//! gives at the same version, and the store-wide drift report built from those checks.

use std::collections::HashMap;
use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::config::{ProjectConfig, ReducerChoice, TrustStore};
use super::diff::{DiffEntry, diff, normalise_numbers};
use super::{ReduceError, ReduceResult, Reducer};
use crate::core::event::{Event, Snapshot};
use crate::core::source::EventSource;

/// Most differing paths recorded per snapshot.
pub const MAX_DIFFS: usize = 200;

/// Outcome of one snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotStatus {
    /// Stored state equals the replayed state.
    Match,
    /// They differ.
    Drift,
    /// The snapshot's schema version is not the one the reducer's states correspond to
    /// (a loading application would not use it as is); the diff is still shown.
    SchemaMismatch,
    /// The replay failed before reaching the snapshot's version.
    Error,
}

/// One checked snapshot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SnapshotCheck {
    /// Stream.
    pub stream_id: String,
    /// Snapshot version.
    pub version: u64,
    /// Stored schema version.
    pub schema_version: Option<u32>,
    /// Schema version the reducer expects, if configured.
    pub expected_schema_version: Option<u32>,
    /// When the snapshot was taken.
    #[serde(serialize_with = "crate::core::time::serialize_opt")]
    pub taken_at: Option<DateTime<Utc>>,
    /// Outcome.
    pub status: SnapshotStatus,
    /// Differing paths (stored on the left, replayed on the right).
    pub diffs: Vec<DiffEntry>,
    /// The replay error, for `Error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Stored state (not serialised).
    #[serde(skip)]
    pub stored: Option<Value>,
    /// Replayed state (not serialised).
    #[serde(skip)]
    pub replayed: Option<Value>,
}

/// Checks every snapshot of a stream with one forward fold.
///
/// # Errors
/// Reading errors and cancellation (reducer errors become `Error` rows).
pub fn check_stream(
    source: &dyn EventSource,
    stream_id: &str,
    reducer: &mut dyn Reducer,
    keep_states: bool,
) -> ReduceResult<Vec<SnapshotCheck>> {
    let snapshots = source.snapshots(stream_id)?;
    check_snapshots(source, stream_id, reducer, &snapshots, keep_states)
}

/// Checks the given snapshots (sorted by version) of one stream.
///
/// # Errors
/// Reading errors and cancellation.
pub fn check_snapshots(
    source: &dyn EventSource,
    stream_id: &str,
    reducer: &mut dyn Reducer,
    snapshots: &[Snapshot],
    keep_states: bool,
) -> ReduceResult<Vec<SnapshotCheck>> {
    let mut check = StreamCheck::start(reducer, snapshots.to_vec(), keep_states)?;
    if let Some(plan) = check.plan() {
        if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
            return Err(ReduceError::Cancelled);
        }
        super::pipeline::for_each_page(source, stream_id, plan, &mut |page| {
            check.feed(reducer, &page)
        })?;
    }
    check.finish(reducer)
}

/// One stream's snapshot check as it folds: started, fed pages in order, finished.
pub(super) struct StreamCheck {
    out: Vec<SnapshotCheck>,
    expected: Option<u32>,
    /// Sorted by version; `snapshots[next..]` are still to compare.
    snapshots: Vec<Snapshot>,
    next: usize,
    failure: Option<String>,
    applied_version: u64,
    keep_states: bool,
}

impl StreamCheck {
    pub(super) fn start(
        reducer: &mut dyn Reducer,
        snapshots: Vec<Snapshot>,
        keep_states: bool,
    ) -> ReduceResult<Self> {
        let mut failure = None;
        if !snapshots.is_empty() {
            match reducer.reset(None) {
                Ok(()) => {}
                Err(ReduceError::Cancelled) => return Err(ReduceError::Cancelled),
                Err(e) => failure = Some(e.to_string()),
            }
        }
        Ok(Self {
            out: Vec::with_capacity(snapshots.len()),
            expected: reducer.info().schema_version,
            snapshots,
            next: 0,
            failure,
            applied_version: 0,
            keep_states,
        })
    }

    /// A check that has its rows already.
    pub(super) fn done(rows: Vec<SnapshotCheck>) -> Self {
        Self {
            out: rows,
            expected: None,
            snapshots: Vec::new(),
            next: 0,
            failure: None,
            applied_version: 0,
            keep_states: false,
        }
    }

    /// What to read: up to just past the last snapshot; `None` when nothing needs reading.
    pub(super) fn plan(&self) -> Option<super::pipeline::ReadPlan> {
        if self.failure.is_some() || self.next >= self.snapshots.len() {
            return None;
        }
        let last = self.snapshots[self.next..].iter().map(|s| s.version).max();
        Some(super::pipeline::ReadPlan {
            from: None,
            until: last,
        })
    }

    /// Folds a page; `Break` once every snapshot is compared or the reducer failed.
    pub(super) fn feed(
        &mut self,
        reducer: &mut dyn Reducer,
        page: &[Event],
    ) -> ReduceResult<ControlFlow<()>> {
        if self.failure.is_some() {
            return Ok(ControlFlow::Break(()));
        }
        // Snapshots at version 0 or before the first event compare with the initial state.
        for event in page {
            while let Some(snapshot) = self
                .snapshots
                .get(self.next)
                .filter(|s| s.version < event.stream_version)
            {
                self.out
                    .push(compare(reducer, snapshot, self.expected, self.keep_states)?);
                self.next += 1;
            }
            if self.next >= self.snapshots.len() {
                return Ok(ControlFlow::Break(()));
            }
            if let Err(e) = reducer.apply(event) {
                if e == ReduceError::Cancelled {
                    return Err(e);
                }
                self.failure = Some(e.to_string());
                return Ok(ControlFlow::Break(()));
            }
            self.applied_version = event.stream_version;
        }
        Ok(ControlFlow::Continue(()))
    }

    pub(super) fn finish(mut self, reducer: &mut dyn Reducer) -> ReduceResult<Vec<SnapshotCheck>> {
        let expected = self.expected;
        let applied_version = self.applied_version;
        for snapshot in &self.snapshots[self.next..] {
            if let Some(error) = &self.failure {
                self.out.push(error_row(snapshot, expected, error.clone()));
            } else if snapshot.version > applied_version {
                self.out.push(error_row(
                    snapshot,
                    expected,
                    format!(
                        "the stream ends at version {applied_version}, before this snapshot's version"
                    ),
                ));
            } else {
                self.out
                    .push(compare(reducer, snapshot, expected, self.keep_states)?);
            }
        }
        Ok(self.out)
    }
}

pub(super) fn error_row(
    snapshot: &Snapshot,
    expected: Option<u32>,
    error: String,
) -> SnapshotCheck {
    SnapshotCheck {
        stream_id: snapshot.stream_id.clone(),
        version: snapshot.version,
        schema_version: snapshot.schema_version,
        expected_schema_version: expected,
        taken_at: snapshot.taken_at,
        status: SnapshotStatus::Error,
        diffs: Vec::new(),
        error: Some(error),
        stored: snapshot.state.as_json().cloned(),
        replayed: None,
    }
}

fn compare(
    reducer: &mut dyn Reducer,
    snapshot: &Snapshot,
    expected: Option<u32>,
    keep_states: bool,
) -> ReduceResult<SnapshotCheck> {
    let replayed = match reducer.state() {
        Ok(state) => state,
        Err(ReduceError::Cancelled) => return Err(ReduceError::Cancelled),
        Err(e) => return Ok(error_row(snapshot, expected, e.to_string())),
    };
    let stored = snapshot
        .state
        .as_json()
        .cloned()
        .unwrap_or_else(|| snapshot.state.to_json());
    let diffs = diff(
        &normalise_numbers(&stored),
        &normalise_numbers(&replayed),
        MAX_DIFFS,
    );
    let schema_differs = match (expected, snapshot.schema_version) {
        (Some(want), Some(have)) => want != have,
        (Some(want), None) => want != 1,
        (None, _) => false,
    };
    let status = if schema_differs {
        SnapshotStatus::SchemaMismatch
    } else if diffs.is_empty() {
        SnapshotStatus::Match
    } else {
        SnapshotStatus::Drift
    };
    Ok(SnapshotCheck {
        stream_id: snapshot.stream_id.clone(),
        version: snapshot.version,
        schema_version: snapshot.schema_version,
        expected_schema_version: expected,
        taken_at: snapshot.taken_at,
        status,
        diffs,
        error: None,
        stored: keep_states.then_some(stored),
        replayed: keep_states.then_some(replayed),
    })
}

/// The earliest drifted snapshot of a stream's checks.
#[must_use]
pub fn earliest_drift(checks: &[SnapshotCheck]) -> Option<&SnapshotCheck> {
    checks
        .iter()
        .filter(|c| c.status == SnapshotStatus::Drift)
        .min_by_key(|c| c.version)
}

/// Store-wide totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DriftSummary {
    /// Streams with snapshots that were checked.
    pub streams: u64,
    /// Snapshots checked.
    pub checked: u64,
    /// Matching.
    pub matching: u64,
    /// Drifted.
    pub drifted: u64,
    /// Schema version differs from the reducer's.
    pub schema_mismatch: u64,
    /// Replay failed.
    pub errors: u64,
}

impl DriftSummary {
    /// Counts one check.
    pub fn add(&mut self, check: &SnapshotCheck) {
        self.checked += 1;
        match check.status {
            SnapshotStatus::Match => self.matching += 1,
            SnapshotStatus::Drift => self.drifted += 1,
            SnapshotStatus::SchemaMismatch => self.schema_mismatch += 1,
            SnapshotStatus::Error => self.errors += 1,
        }
    }
}

/// One stream in the drift report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamDrift {
    /// Stream.
    pub stream_id: String,
    /// Category.
    pub category: String,
    /// Reducer used.
    pub reducer: String,
    /// Snapshots checked.
    pub checked: u64,
    /// Drifted snapshots.
    pub drifted: u64,
    /// Earliest drifted version.
    pub first_drift_version: Option<u64>,
    /// First differing paths of the earliest drifted snapshot.
    pub first_paths: Vec<String>,
    /// Schema mismatches.
    pub schema_mismatch: u64,
    /// Errors (first message).
    pub error: Option<String>,
}

/// The store-wide report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DriftReport {
    /// Totals.
    pub summary: DriftSummary,
    /// Streams with any drift, schema mismatch or error.
    pub streams: Vec<StreamDrift>,
    /// Whether the report covers every stream (false when cancelled part-way).
    pub complete: bool,
}

/// Progress of the drift report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriftProgress {
    /// Streams checked.
    pub streams_done: u64,
    /// Snapshots checked.
    pub snapshots_done: u64,
}

/// Builds reducers per category from a config, once each.
pub struct ReducerCache<'a> {
    config: &'a ProjectConfig,
    trust: &'a TrustStore,
    built: HashMap<String, Result<Box<dyn Reducer>, String>>,
    one: Option<Box<dyn Reducer>>,
}

impl<'a> ReducerCache<'a> {
    /// A cache over a config.
    #[must_use]
    pub fn new(config: &'a ProjectConfig, trust: &'a TrustStore) -> Self {
        Self {
            config,
            trust,
            built: HashMap::new(),
            one: None,
        }
    }

    /// A cache that hands out one reducer for every category.
    #[must_use]
    pub fn with_override(
        config: &'a ProjectConfig,
        trust: &'a TrustStore,
        reducer: Box<dyn Reducer>,
    ) -> Self {
        Self {
            config,
            trust,
            built: HashMap::new(),
            one: Some(reducer),
        }
    }

    /// The reducer for a category.
    ///
    /// # Errors
    /// When it cannot be built (message).
    pub fn get(&mut self, category: &str) -> Result<&mut dyn Reducer, String> {
        if let Some(reducer) = self.one.as_mut() {
            return Ok(reducer.as_mut());
        }
        let key = match self.config.entry_for(category) {
            Some((key, _)) => key.to_owned(),
            None => "*".to_owned(),
        };
        let config = self.config;
        let trust = self.trust;
        let entry = self.built.entry(key).or_insert_with(|| {
            let choice: ReducerChoice = config.choice_for(category)?;
            if !trust.allows(&choice) {
                return Err(format!(
                    "{} comes from {} and has not been approved for this store",
                    choice.describe(),
                    config.origin.describe()
                ));
            }
            choice.build(true).map_err(|e| e.to_string())
        });
        match entry {
            Ok(reducer) => Ok(reducer.as_mut()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Warnings for the reducers built so far whose handler names match no event type of
    /// the store (see [`super::handler_warnings`]), sorted, each once; what the window
    /// shows and the CLI prints on stderr after a drift report.
    ///
    /// # Errors
    /// When the store's type names cannot be read.
    pub fn handler_warnings(&mut self, source: &dyn EventSource) -> ReduceResult<Vec<String>> {
        let mut out = std::collections::BTreeSet::new();
        let mut reducers: Vec<&mut Box<dyn Reducer>> = self
            .built
            .values_mut()
            .filter_map(|r| r.as_mut().ok())
            .collect();
        if let Some(one) = self.one.as_mut() {
            reducers.push(one);
        }
        for reducer in reducers {
            out.extend(super::handler_warnings(reducer.as_mut(), source)?);
        }
        Ok(out.into_iter().collect())
    }
}

pub use super::drift::drift_report;
