//! The checks that need the stored snapshots themselves, from one read of each snapshotted
//! stream's snapshots: `snapshot_interval` (the guide's "every 100–500 events") and
//! `snapshot_schema_mismatch` (a stream's newest snapshot in an older schema than its
//! category's newest: code that expects the new shape reads it, or throws it away).

use std::collections::{BTreeMap, HashSet};

use super::{CheckResult, Example, MAX_EXAMPLES, cancelled};
use crate::core::source::{EventSource, SourceError, SourceResult};

/// The guide's snapshot interval, in events.
pub const INTERVAL: std::ops::RangeInclusive<u64> = 100..=500;

/// What is known of a stream from the pass: its last event's position and version.
pub(super) type Last<'a> = dyn Fn(&str) -> Option<(u64, u64)> + 'a;

/// The median of `values` (sorted here); the lower middle of an even count.
fn median(values: &mut [u64]) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len().checked_sub(1)? / 2).copied()
}

/// One stream's snapshots, as far as the checks need them.
struct Snapshotted {
    stream: String,
    /// Distinct snapshot versions, ascending.
    versions: Vec<u64>,
    /// The newest snapshot's schema version.
    newest_schema: Option<u32>,
    /// The stream's category (as the store gives it).
    category: String,
}

/// Runs the two checks over `streams` (the streams with stored snapshots), reading each
/// one's snapshots. `last` places a stream's examples (its last event).
///
/// # Errors
/// When the store cannot be read, or on a cancel.
pub(super) fn check(
    source: &dyn EventSource,
    streams: &HashSet<String>,
    last: &Last<'_>,
    wants: &dyn Fn(&str) -> bool,
) -> SourceResult<Vec<CheckResult>> {
    let (interval, schema) = (
        wants("snapshot_interval"),
        wants("snapshot_schema_mismatch"),
    );
    if !interval && !schema {
        return Ok(Vec::new());
    }
    let token = crate::core::cancel::current();
    let mut sorted: Vec<&String> = streams.iter().collect();
    sorted.sort();
    let mut read = Vec::with_capacity(sorted.len());
    for stream in sorted {
        if cancelled(token.as_ref()) {
            return Err(SourceError::Cancelled);
        }
        let snapshots = source.snapshots(stream)?;
        let mut versions: Vec<u64> = snapshots.iter().map(|s| s.version).collect();
        versions.sort_unstable();
        versions.dedup();
        let newest_schema = snapshots
            .iter()
            .max_by_key(|s| s.version)
            .and_then(|s| s.schema_version);
        // The category only matters to the schema check: one more read per stream.
        let category = if schema {
            source.stream(stream)?.map_or_else(
                || crate::core::ids::category_of(stream, '-'),
                |info| info.category,
            )
        } else {
            String::new()
        };
        read.push(Snapshotted {
            stream: stream.clone(),
            versions,
            newest_schema,
            category,
        });
    }
    let example = |stream: &str, detail: String| {
        let (position, version) = last(stream).unwrap_or((0, 0));
        Example {
            position,
            stream_id: stream.to_owned(),
            stream_version: version,
            detail,
        }
    };
    let mut out = Vec::new();
    if interval {
        let mut total = 0;
        let mut found: Vec<Example> = Vec::new();
        let mut count = 0;
        for s in &read {
            let mut gaps: Vec<u64> = s.versions.windows(2).map(|w| w[1] - w[0]).collect();
            let Some(median) = median(&mut gaps) else {
                continue;
            };
            total += 1;
            if !INTERVAL.contains(&median) {
                count += 1;
                if found.len() < MAX_EXAMPLES {
                    found.push(example(
                        &s.stream,
                        format!(
                            "{} snapshots, a median of {median} events apart (the guide: every \
                             100–500)",
                            s.versions.len()
                        ),
                    ));
                }
            }
        }
        out.push(CheckResult::of("snapshot_interval", count, total, found));
    }
    if schema {
        let mut newest: BTreeMap<String, u32> = BTreeMap::new();
        for s in &read {
            if let Some(schema) = s.newest_schema {
                let entry = newest.entry(s.category.clone()).or_insert(schema);
                *entry = (*entry).max(schema);
            }
        }
        let mut found = Vec::new();
        let mut count = 0;
        let mut total = 0;
        for s in &read {
            let category = if s.category.is_empty() {
                "uncategorised"
            } else {
                &s.category
            };
            let Some(&current) = newest.get(&s.category) else {
                continue;
            };
            total += 1;
            let stale = match s.newest_schema {
                Some(schema) => schema < current,
                None => true,
            };
            if stale {
                count += 1;
                if found.len() < MAX_EXAMPLES {
                    let schema = s.newest_schema.map_or_else(
                        || "no schema version".to_owned(),
                        |v| format!("schema v{v}"),
                    );
                    found.push(example(
                        &s.stream,
                        format!(
                            "newest snapshot (v{}) has {schema}; {category} snapshots go up to \
                             schema v{current}",
                            s.versions.last().copied().unwrap_or(0)
                        ),
                    ));
                }
            }
        }
        out.push(CheckResult::of(
            "snapshot_schema_mismatch",
            count,
            total,
            found,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_takes_the_lower_middle() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [7]), Some(7));
        assert_eq!(median(&mut [300, 100, 200]), Some(200));
        assert_eq!(median(&mut [10, 400, 100, 300]), Some(100));
    }
}
