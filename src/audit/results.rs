//! The results of the pass: each check's count, total and examples.

use std::collections::{HashMap, HashSet};

use super::names::intent_problem;
use super::pass::{
    Auditor, BIG_PAYLOAD, Found, Jump, LONG_STREAM_ERROR, LONG_STREAM_WARNING, MEDIAN_EVENTS,
    Missing, SIZE_FACTOR, SNAPSHOT_AFTER, StreamState, TypeStats,
};
use super::{CheckResult, Example, MAX_EXAMPLES, Report, Severity};
use crate::core::event::Event;
use crate::core::query::{Direction, LogQuery};
use crate::core::source::{EventSource, SourceResult};

impl Auditor {
    /// The results, after the pass (duplicate ids are re-checked against the store here).
    ///
    /// # Errors
    /// When the store cannot be read for the re-check.
    pub fn finish(mut self, source: &dyn EventSource) -> SourceResult<Report> {
        let events = self.events;
        let streams = self.streams.len() as u64;
        let unknown_causes = self.unknown_causes();
        let mut checks = Vec::new();
        let mut push = |name: &'static str, count: u64, total: u64, examples: Vec<Example>| {
            checks.push(CheckResult::of(name, count, total, examples));
        };
        let mut types: Vec<(&String, &TypeStats)> = self.types.iter().collect();
        types.sort_by(|a, b| a.0.cmp(b.0));
        for (name, what, pick) in [
            (
                "missing_correlation_id",
                "correlation id",
                (|t: &TypeStats| &t.correlation) as fn(&TypeStats) -> &Missing,
            ),
            ("missing_causation_id", "causation id", |t| &t.causation),
            ("missing_schema_version", "schema version", |t| &t.version),
        ] {
            let mut per_type: Vec<(&String, &TypeStats, &Missing)> = types
                .iter()
                .map(|(n, t)| (*n, *t, pick(t)))
                .filter(|(_, _, m)| m.count > 0)
                .collect();
            per_type.sort_by(|a, b| b.2.count.cmp(&a.2.count).then(a.0.cmp(b.0)));
            let count = per_type.iter().map(|(_, _, m)| m.count).sum();
            let examples = per_type
                .iter()
                .take(MAX_EXAMPLES)
                .filter_map(|(n, t, m)| {
                    let mut example = m.first.clone()?;
                    example.detail = format!(
                        "{n}: {} of {} events ({}) carry no {what}",
                        m.count,
                        t.events,
                        percent(m.count, t.events)
                    );
                    Some(example)
                })
                .collect();
            push(name, count, events, examples);
        }
        let (count, examples) = self.gaps();
        push("version_gaps", count, streams, examples);
        push(
            "version_duplicates",
            self.duplicates.count,
            events,
            self.duplicates.examples,
        );
        push(
            "position_order",
            self.order.count,
            events,
            self.order.examples,
        );
        push(
            "time_goes_backwards",
            self.backwards.count,
            events,
            self.backwards.examples,
        );
        let (count, examples) = duplicate_ids(source, self.head, &self.id_candidates)?;
        push(
            "duplicate_event_ids",
            count + self.ids_unchecked,
            self.with_id,
            examples,
        );
        if self.options.wants("causation_unknown") {
            let (count, positions) = unknown_causes;
            push(
                "causation_unknown",
                count,
                self.causes.with_cause,
                cause_examples(source, &positions)?,
            );
        }
        let mut long: Vec<(&str, &StreamState)> = self
            .streams
            .iter()
            .filter(|(_, s)| s.count >= LONG_STREAM_WARNING)
            .map(|(id, s)| (&**id, s))
            .collect();
        long.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        let over = long.iter().any(|(_, s)| s.count > LONG_STREAM_ERROR);
        push(
            "long_streams",
            long.len() as u64,
            streams,
            stream_examples(&long, |s| {
                format!(
                    "{} events ({})",
                    s.count,
                    if s.count > LONG_STREAM_ERROR {
                        "over 100,000"
                    } else {
                        "10,000 or more"
                    }
                )
            }),
        );
        if over && let Some(last) = checks.last_mut() {
            last.severity = Severity::Error;
        }
        let mut push = |name: &'static str, count: u64, total: u64, examples: Vec<Example>| {
            checks.push(CheckResult::of(name, count, total, examples));
        };
        let long_enough = self
            .streams
            .values()
            .filter(|s| s.count > SNAPSHOT_AFTER)
            .count() as u64;
        let mut bare: Vec<(&str, &StreamState)> = self
            .streams
            .iter()
            .filter(|(id, s)| s.count > SNAPSHOT_AFTER && !self.snapshot_streams.contains(&***id))
            .map(|(id, s)| (&**id, s))
            .collect();
        bare.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        push(
            "streams_without_snapshots",
            bare.len() as u64,
            long_enough,
            stream_examples(&bare, |s| {
                format!("{} events and no snapshot (more than 50)", s.count)
            }),
        );
        let last = |stream: &str| {
            self.streams
                .get(stream)
                .map(|s| (s.last_position, s.last_version))
        };
        let options = &self.options;
        checks.extend(super::snapshots::check(
            source,
            &self.snapshot_streams,
            &last,
            &|check| options.wants(check),
        )?);
        let mut push = |name: &'static str, count: u64, total: u64, examples: Vec<Example>| {
            checks.push(CheckResult::of(name, count, total, examples));
        };
        let mut groups: Vec<&(u64, Example)> = self.pii.values().collect();
        groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.detail.cmp(&b.1.detail)));
        push(
            "personal_data",
            self.pii_events,
            events,
            groups
                .iter()
                .take(MAX_EXAMPLES)
                .map(|(n, e)| Example {
                    detail: format!("{n} events: {}", e.detail),
                    ..e.clone()
                })
                .collect(),
        );
        let mut names = Found::default();
        for (name, stats) in &types {
            if let Some(reason) = intent_problem(name) {
                names.add(|| Example {
                    detail: format!("{name}: {reason}"),
                    ..stats.first.clone()
                });
            }
        }
        push(
            "non_intent_names",
            names.count,
            types.len() as u64,
            names.examples,
        );
        let (count, examples) = state_in_events(&types);
        push("state_in_events", count, events, examples);
        self.id_candidates.clear();
        checks.retain(|c| self.options.wants(c.check));
        Ok(Report {
            head: self.head,
            events,
            streams,
            checks,
        })
    }
}

impl Auditor {
    /// Streams whose versions leave some out: from the first (0 or 1) to the highest,
    /// fewer distinct versions than numbers (an event that arrived out of order fills its
    /// place; repeats of the highest version are not counted twice).
    fn gaps(&self) -> (u64, Vec<Example>) {
        let mut gapped: Vec<(&Box<str>, u64, &Jump)> = self
            .jumps
            .iter()
            .filter_map(|(id, jump)| {
                let state = self.streams.get(id)?;
                let start = state.first_version.min(1);
                let numbers = state.last_version - start + 1;
                let distinct = state.count - state.repeats;
                let missing = numbers.saturating_sub(distinct);
                (missing > 0).then_some((id, missing, jump))
            })
            .collect();
        gapped.sort_by_key(|(_, _, jump)| jump.example.position);
        let examples = gapped
            .iter()
            .take(MAX_EXAMPLES)
            .map(|(_, missing, jump)| Example {
                detail: format!(
                    "{}: {missing} version{} missing",
                    jump.example.detail,
                    if *missing == 1 { "" } else { "s" }
                ),
                ..jump.example.clone()
            })
            .collect();
        (gapped.len() as u64, examples)
    }
}

fn stream_examples(
    streams: &[(&str, &StreamState)],
    detail: impl Fn(&StreamState) -> String,
) -> Vec<Example> {
    streams
        .iter()
        .take(MAX_EXAMPLES)
        .map(|(id, s)| Example {
            position: s.last_position,
            stream_id: id.to_string(),
            stream_version: s.last_version,
            detail: detail(s),
        })
        .collect()
}

/// The median of a size histogram.
fn median(sizes: &HashMap<u32, u64>, events: u64) -> u64 {
    let mut sorted: Vec<(u32, u64)> = sizes.iter().map(|(s, n)| (*s, *n)).collect();
    sorted.sort_unstable();
    let mut seen = 0;
    for (size, n) in sorted {
        seen += n;
        if seen * 2 >= events {
            return u64::from(size);
        }
    }
    0
}

/// `state_in_events`: payloads far larger than their type's median, and change-named types
/// with many fields (each event counted once).
fn state_in_events(types: &[(&String, &TypeStats)]) -> (u64, Vec<Example>) {
    let mut count = 0;
    let mut examples = Vec::new();
    for (name, stats) in types {
        count += stats.wide;
        examples.extend(stats.wide_examples.iter().cloned());
        if stats.events < MEDIAN_EVENTS {
            continue;
        }
        let median = median(&stats.sizes, stats.events);
        let threshold = (median * SIZE_FACTOR).max(BIG_PAYLOAD);
        let above = |sizes: &HashMap<u32, u64>| -> u64 {
            sizes
                .iter()
                .filter(|(s, _)| u64::from(**s) > threshold)
                .map(|(_, n)| n)
                .sum()
        };
        count += above(&stats.sizes) - above(&stats.wide_sizes);
        let mut big: Vec<&(u32, Example, bool)> = stats
            .largest
            .iter()
            .filter(|(s, _, wide)| u64::from(*s) > threshold && !wide)
            .collect();
        big.sort_by_key(|(s, e, _)| (std::cmp::Reverse(*s), e.position));
        examples.extend(big.into_iter().map(|(size, e, _)| Example {
            detail: format!(
                "{name}: {size} bytes, over {SIZE_FACTOR}× the type's median of {median} bytes"
            ),
            ..e.clone()
        }));
    }
    examples.sort_by_key(|e| e.position);
    examples.truncate(MAX_EXAMPLES);
    (count, examples)
}

/// The exact count of events whose event id an earlier event already had, from the
/// candidates the hashes nominated.
fn duplicate_ids(
    source: &dyn EventSource,
    head: u64,
    candidates: &HashSet<String>,
) -> SourceResult<(u64, Vec<Example>)> {
    if candidates.is_empty() {
        return Ok((0, Vec::new()));
    }
    let events = super::events_with_ids(source, head, candidates)?;
    let mut first: HashMap<&str, &Event> = HashMap::new();
    let mut found = Found::default();
    for event in &events {
        let Some(id) = event.event_id.as_deref() else {
            continue;
        };
        match first.get(id) {
            Some(original) => found.add(|| {
                Example::of(
                    event,
                    format!(
                        "event id {id} was already used at position {} ({} v{})",
                        original.global_position, original.stream_id, original.stream_version
                    ),
                )
            }),
            None => {
                first.insert(id, event);
            }
        }
    }
    Ok((found.count, found.examples))
}

/// The events at `positions`, each with the causation id no event carries.
fn cause_examples(source: &dyn EventSource, positions: &[u64]) -> SourceResult<Vec<Example>> {
    let mut examples = Vec::with_capacity(positions.len());
    for &position in positions {
        let query = LogQuery {
            from_position: Some(position),
            direction: Direction::Forwards,
            limit: 1,
            ..LogQuery::default()
        };
        let Some(event) = source
            .read_log(&query)?
            .into_iter()
            .find(|e| e.global_position == position)
        else {
            continue;
        };
        let cause = event.causation_id.clone().unwrap_or_default();
        examples.push(Example::of(
            &event,
            format!("causation id {cause} names no event, yet it is shaped like the event ids"),
        ));
    }
    Ok(examples)
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    #[allow(clippy::cast_precision_loss)] // A percentage for people.
    let share = part as f64 * 100.0 / whole as f64;
    if part == whole {
        "100%".to_owned()
    } else {
        format!("{share:.1}%")
    }
}
