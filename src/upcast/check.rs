//! The bulk check: every event of a type (or of the whole store) through its upcaster
//! chain, with counts per stored version, successes and failures, and the shape check of
//! upcasted old events against native events of the latest version (core layer, no GUI).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::event::Event;
use crate::core::query::{LogQuery, MAX_PAGE};
use crate::core::source::{EventSource, SourceError};
use crate::script::ScriptError;
use crate::upcast::engine::{FailureKind, Upcasters};
use crate::upcast::shape::{EventRef, Shape, ShapeMismatch, compare};
use crate::upcast::version::{base_type, detect};

/// Examples kept per failure kind.
pub const MAX_EXAMPLES: usize = 3;

/// Errors of a check.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Reading the store failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The job was cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// Failures of one kind at one step, with the first examples.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureGroup {
    /// What went wrong.
    pub kind: FailureKind,
    /// From version of the failing step.
    pub from: u32,
    /// To version of the failing step.
    pub to: u32,
    /// How many events failed this way.
    pub count: u64,
    /// The first failure's message.
    pub message: String,
    /// The first events that failed this way.
    pub examples: Vec<EventRef>,
}

/// The check's result for one event type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeReport {
    /// Event type (version suffix stripped).
    pub event_type: String,
    /// Stored events per schema version.
    pub versions: BTreeMap<u32, u64>,
    /// The latest version the upcasters reach (`None`: no upcasters for this type).
    pub latest_version: Option<u32>,
    /// Old events upcast to the latest version without error.
    pub upcast_ok: u64,
    /// Old events whose upcast failed.
    pub upcast_failed: u64,
    /// Failures grouped by kind and step.
    pub failures: Vec<FailureGroup>,
    /// Differences between upcasted old events and native events of the latest version.
    pub shape_mismatches: Vec<ShapeMismatch>,
    /// Why the shape check could not run, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TypeReport {
    /// Whether anything failed or mismatched.
    #[must_use]
    pub fn has_findings(&self) -> bool {
        self.upcast_failed > 0 || !self.shape_mismatches.is_empty()
    }
}

/// The whole check.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CheckReport {
    /// One report per event type, sorted by type.
    pub types: Vec<TypeReport>,
    /// Events read.
    pub scanned: u64,
}

impl CheckReport {
    /// Whether anything failed or mismatched.
    #[must_use]
    pub fn has_findings(&self) -> bool {
        self.types.iter().any(TypeReport::has_findings)
    }
}

/// Progress of a running check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckProgress {
    /// Events read so far.
    pub scanned: u64,
    /// Global position reached.
    pub position: u64,
    /// Head position when the check started.
    pub head: u64,
}

impl CheckProgress {
    /// 0..1.
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // A progress fraction.
    pub fn fraction(&self) -> f32 {
        if self.head == 0 {
            1.0
        } else {
            (self.position as f64 / self.head as f64).clamp(0.0, 1.0) as f32
        }
    }
}

#[derive(Default)]
struct Acc {
    versions: BTreeMap<u32, u64>,
    ok: u64,
    failed: u64,
    failures: BTreeMap<(FailureKind, u32, u32), FailureGroup>,
    native: Shape,
    upcasted: Shape,
    /// The type the upcasters registered this type's steps under (its shown or stored
    /// form), when they did.
    steps_key: Option<String>,
}

/// The type names (shown form, which every source's log filter takes) whose base type, in
/// its shown or its stored form, is `wanted`.
///
/// # Errors
/// When the store cannot be read.
pub fn stored_types_of(
    source: &dyn EventSource,
    wanted: &str,
    upcasters: &Upcasters,
) -> Result<Vec<String>, SourceError> {
    let rules = upcasters.rules();
    Ok(source
        .event_type_names()?
        .into_iter()
        .filter(|t| base_type(&t.shown, rules) == wanted || base_type(&t.stored, rules) == wanted)
        .map(|t| t.shown)
        .collect())
}

/// Calls `each` for every event of `event_types` (all when empty) up to `head` (only what
/// the store held when the scan started), a page at a time, reporting progress after each
/// page and stopping when the job is cancelled. Returns how many events it saw.
fn scan_to_head(
    source: &dyn EventSource,
    head: u64,
    event_types: Vec<String>,
    progress: &mut dyn FnMut(CheckProgress),
    each: &mut dyn FnMut(&Event) -> Result<(), CheckError>,
) -> Result<u64, CheckError> {
    let mut scanned = 0u64;
    let mut from = Some(0u64);
    while let Some(position) = from {
        let query = LogQuery {
            from_position: Some(position),
            event_types: event_types.clone(),
            limit: MAX_PAGE,
            ..LogQuery::default()
        };
        let page = source.read_log(&query).map_err(|e| match e {
            SourceError::Cancelled => CheckError::Cancelled,
            e => CheckError::Source(e),
        })?;
        let Some(last) = page.last() else { break };
        from = last.global_position.checked_add(1);
        let done = last.global_position >= head
            || page.len() < usize::try_from(MAX_PAGE).unwrap_or(usize::MAX);
        for event in page.iter().take_while(|e| e.global_position <= head) {
            scanned += 1;
            each(event)?;
        }
        progress(CheckProgress {
            scanned,
            position: last.global_position.min(head),
            head,
        });
        if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
            return Err(CheckError::Cancelled);
        }
        if done {
            break;
        }
    }
    Ok(scanned)
}

/// Checks every event of `only_type` (a base type), or of the whole store.
///
/// # Errors
/// When the store cannot be read, or [`CheckError::Cancelled`].
pub fn check(
    source: &dyn EventSource,
    upcasters: &Upcasters,
    only_type: Option<&str>,
    progress: &mut dyn FnMut(CheckProgress),
) -> Result<CheckReport, CheckError> {
    let head = source.head()?;
    let event_types = match only_type {
        Some(wanted) => {
            let types = stored_types_of(source, wanted, upcasters)?;
            if types.is_empty() {
                return Ok(CheckReport::default());
            }
            types
        }
        None => Vec::new(),
    };
    let mut accs: BTreeMap<String, Acc> = BTreeMap::new();
    let scanned = scan_to_head(source, head, event_types, progress, &mut |event| {
        check_event(upcasters, event, &mut accs)
    })?;
    let types = accs
        .into_iter()
        .map(|(event_type, acc)| finish(upcasters, event_type, acc))
        .collect();
    Ok(CheckReport { types, scanned })
}

fn check_event(
    upcasters: &Upcasters,
    event: &Event,
    accs: &mut BTreeMap<String, Acc>,
) -> Result<(), CheckError> {
    let stored = detect(event, upcasters.rules());
    let key = upcasters.steps_key(event, &stored.base_type);
    let latest = upcasters.latest(key);
    if !accs.contains_key(&stored.base_type) {
        let steps_key = latest.is_some().then(|| key.to_owned());
        accs.insert(
            stored.base_type.clone(),
            Acc {
                steps_key,
                ..Acc::default()
            },
        );
    }
    let Some(acc) = accs.get_mut(&stored.base_type) else {
        return Ok(());
    };
    *acc.versions.entry(stored.version).or_default() += 1;
    let Some(latest) = latest else {
        return Ok(());
    };
    if stored.version == latest {
        if let Some(data) = event.payload.as_json() {
            acc.native.add(data, &EventRef::of(event));
        } else {
            acc.native
                .add(&event.payload.to_json(), &EventRef::of(event));
        }
        return Ok(());
    }
    if stored.version > latest {
        return Ok(());
    }
    let run = match upcasters.run(event, false) {
        Ok(run) => run,
        Err(ScriptError::Cancelled) => return Err(CheckError::Cancelled),
        Err(other) => {
            // `run` reports every other failure inside the result.
            tracing::warn!("upcasting {}: {other}", event.global_position);
            return Ok(());
        }
    };
    match &run.failure {
        Some(failure) => {
            acc.failed += 1;
            let group = acc
                .failures
                .entry((failure.kind, failure.from, failure.to))
                .or_insert_with(|| FailureGroup {
                    kind: failure.kind,
                    from: failure.from,
                    to: failure.to,
                    count: 0,
                    message: failure.message.clone(),
                    examples: Vec::new(),
                });
            group.count += 1;
            if group.examples.len() < MAX_EXAMPLES {
                group.examples.push(EventRef::of(event));
            }
        }
        None => {
            acc.ok += 1;
            if let Some(output) = run.outputs.last() {
                acc.upcasted.add(&output.data, &EventRef::of(event));
            }
        }
    }
    Ok(())
}

fn finish(upcasters: &Upcasters, event_type: String, acc: Acc) -> TypeReport {
    let latest_version = upcasters.latest(acc.steps_key.as_deref().unwrap_or(&event_type));
    let mut note = None;
    let shape_mismatches = match latest_version {
        Some(latest) if acc.native.count == 0 && acc.ok > 0 => {
            note = Some(format!(
                "no native v{latest} events stored: upcasted events cannot be compared"
            ));
            Vec::new()
        }
        Some(_) => compare(&acc.native, &acc.upcasted),
        None => Vec::new(),
    };
    TypeReport {
        event_type,
        versions: acc.versions,
        latest_version,
        upcast_ok: acc.ok,
        upcast_failed: acc.failed,
        failures: acc.failures.into_values().collect(),
        shape_mismatches,
        note,
    }
}

/// Counts stored events per type and schema version (the histogram of the upcasters view).
///
/// # Errors
/// When the store cannot be read, or [`CheckError::Cancelled`].
pub fn version_histogram(
    source: &dyn EventSource,
    rules: &crate::upcast::version::VersionRules,
    progress: &mut dyn FnMut(CheckProgress),
) -> Result<BTreeMap<String, BTreeMap<u32, u64>>, CheckError> {
    let head = source.head()?;
    let mut out: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    scan_to_head(source, head, Vec::new(), progress, &mut |event| {
        let v = detect(event, rules);
        *out.entry(v.base_type)
            .or_default()
            .entry(v.version)
            .or_default() += 1;
        Ok(())
    })?;
    Ok(out)
}
