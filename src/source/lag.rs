//! Sampling projection lag from a store (and from attached tracking stores), and
//! reconstructing past lag from a store's checkpoint history.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::core::lag::LagSample;
use crate::core::query::LogQuery;
use crate::core::source::{EventSource, SourceResult};

/// The recorded time of the first event at or after `position`.
fn recorded_at_from(
    source: &dyn EventSource,
    position: u64,
) -> SourceResult<Option<(u64, Option<DateTime<Utc>>)>> {
    let query = LogQuery {
        from_position: Some(position),
        limit: 1,
        ..LogQuery::default()
    };
    Ok(source
        .read_log(&query)?
        .first()
        .map(|e| (e.global_position, e.recorded_at)))
}

/// When the oldest event after `position` was recorded, for the seconds-behind figure:
/// `None` when the store records no times (UmaDB: nobody can tell); `now` when the log
/// returns nothing after it (the head is a position the log does not return, such as
/// KurrentDB's system events: nothing is waiting).
fn oldest_unprocessed_at(
    source: &dyn EventSource,
    position: u64,
    now: DateTime<Utc>,
) -> SourceResult<Option<DateTime<Utc>>> {
    Ok(match recorded_at_from(source, position + 1)? {
        Some((_, at)) => at,
        None => Some(now),
    })
}

/// When the newest event of the log was recorded (the head's time, for the
/// behind-the-head figure); `None` when the log is empty or keeps no times.
fn head_recorded_at(source: &dyn EventSource) -> SourceResult<Option<DateTime<Utc>>> {
    Ok(source
        .read_log(&LogQuery::newest(1))?
        .first()
        .and_then(|e| e.recorded_at))
}

/// One lag sample per checkpoint of `source` and of the `attached` stores (the tracking
/// stores of downstream applications that follow `source`), against `source`'s head.
///
/// # Errors
/// When a store cannot be read.
pub fn sample_lag(
    source: &dyn EventSource,
    attached: &[Arc<dyn EventSource>],
    now: DateTime<Utc>,
) -> SourceResult<Vec<(String, LagSample)>> {
    Ok(sample_lag_scoped(source, attached, now)?
        .into_iter()
        .map(|sampled| (sampled.name, sampled.sample))
        .collect())
}

/// A lag sample of one checkpoint, with the category it follows.
#[derive(Clone, Debug)]
pub struct ScopedSample {
    /// The checkpoint's name.
    pub name: String,
    /// The category it follows (`None`: the whole log).
    pub category: Option<String>,
    /// Its lag.
    pub sample: LagSample,
    /// Per partition, for a consumer group (see `core::Checkpoint::partitions`).
    pub partitions: Vec<crate::core::event::PartitionLag>,
}

/// As [`sample_lag`], keeping each checkpoint's category. A checkpoint that follows one
/// category (a Message DB consumer) is measured against that category where the source
/// can count by category ([`EventSource::category_lag`]): its head is the category's head
/// and its lag the category's events after its position.
///
/// # Errors
/// When a store cannot be read.
pub fn sample_lag_scoped(
    source: &dyn EventSource,
    attached: &[Arc<dyn EventSource>],
    now: DateTime<Utc>,
) -> SourceResult<Vec<ScopedSample>> {
    let head = source.head()?;
    let mut checkpoints = source.checkpoints()?;
    for store in attached {
        checkpoints.extend(store.checkpoints()?);
    }
    let mut first_unprocessed = HashMap::new();
    let mut samples = Vec::with_capacity(checkpoints.len());
    let mut head_at = None;
    for checkpoint in checkpoints {
        let scoped = source.checkpoint_lag(&checkpoint)?;
        let sample = if let Some(lag) = scoped {
            LagSample::compute_scoped(
                now,
                checkpoint.position,
                lag.head,
                lag.behind,
                lag.first_unprocessed_at,
                lag.head_at,
            )
        } else if checkpoint.position < head {
            let recorded_at = match first_unprocessed.get(&checkpoint.position) {
                Some(at) => *at,
                None => {
                    let at = oldest_unprocessed_at(source, checkpoint.position, now)?;
                    first_unprocessed.insert(checkpoint.position, at);
                    at
                }
            };
            // Read once, and only when some checkpoint is behind.
            if head_at.is_none() {
                head_at = Some(head_recorded_at(source)?);
            }
            LagSample::compute_with_head(
                now,
                checkpoint.position,
                head,
                recorded_at,
                head_at.flatten(),
            )
        } else {
            LagSample::compute_with_head(now, checkpoint.position, head, None, None)
        };
        samples.push(ScopedSample {
            name: checkpoint.name,
            category: checkpoint.category,
            partitions: checkpoint.partitions,
            sample,
        });
    }
    Ok(samples)
}

/// The head at time `at`: the highest position recorded at or before it, found by binary
/// search over positions (assumes recorded times do not decrease along the log, as in an
/// append-only store; a few out-of-order clocks only blur the answer by those events).
///
/// # Errors
/// When the store cannot be read.
pub fn head_at(source: &dyn EventSource, at: DateTime<Utc>, head: u64) -> SourceResult<u64> {
    let (mut low, mut high) = (0u64, head);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        match recorded_at_from(source, mid)? {
            Some((_, Some(recorded))) if recorded <= at => low = mid,
            Some((_, Some(_))) | None => high = mid - 1,
            Some((_, None)) => return Ok(head),
        }
    }
    Ok(low)
}

/// Past lag of each projection from the store's checkpoint history (newest `limit`
/// rows since `since`), for filling the chart on first open.
///
/// # Errors
/// When the store cannot be read.
pub fn reconstruct_lag(
    source: &dyn EventSource,
    since: Option<DateTime<Utc>>,
    limit: u64,
) -> SourceResult<Vec<(String, LagSample)>> {
    let history = source.checkpoint_history(since, limit)?;
    if history.is_empty() {
        return Ok(Vec::new());
    }
    let head = source.head()?;
    let mut heads = HashMap::new();
    let mut head_times = HashMap::new();
    let mut out = Vec::with_capacity(history.len());
    for sample in history {
        let Some(at) = sample.recorded_at else {
            continue;
        };
        let head_then = match heads.get(&at) {
            Some(h) => *h,
            None => {
                let h = head_at(source, at, head)?;
                heads.insert(at, h);
                h
            }
        };
        let (recorded, head_time) = if sample.position < head_then {
            let head_time = match head_times.get(&head_then) {
                Some(t) => *t,
                None => {
                    let t = recorded_at_from(source, head_then)?
                        .filter(|(position, _)| *position == head_then)
                        .and_then(|(_, t)| t);
                    head_times.insert(head_then, t);
                    t
                }
            };
            (
                oldest_unprocessed_at(source, sample.position, at)?,
                head_time,
            )
        } else {
            (None, None)
        };
        out.push((
            sample.name,
            LagSample::compute_with_head(at, sample.position, head_then, recorded, head_time),
        ));
    }
    Ok(out)
}
