//! Store health: the event-sourcing checklist run against what a store actually holds.
//!
//! Every check shares one forwards pass over the log of any [`EventSource`] (pages of
//! [`PAGE`] events, read on a second thread while the checks run on the caller's), plus a
//! paged read of the streams that have snapshots. Memory stays bounded by the number of
//! streams and event types, not of events: per stream a few numbers (`pass.rs`), per type a
//! size histogram and a handful of examples, and for duplicate event ids one 64-bit hash
//! per event id (8 bytes each in an open-addressing set). Hashes only nominate candidates:
//! a repeated hash is re-checked exactly on the ids' text (the store's own id lookup for a
//! few candidates, else a second pass over the log that looks only at them), so a
//! reported duplicate is a real one and none is missed.
//!
//! Each check has a stable name ([`CHECKS`]), a severity, a count, the total it was
//! counted over and up to [`MAX_EXAMPLES`] examples.

pub mod html;
mod names;
mod pass;
pub mod pii;
mod results;
mod snapshots;
mod walk;

use serde::Serialize;

use crate::core::event::Event;
use crate::core::query::{Direction, LogQuery};
use crate::core::source::{EventSource, SourceError, SourceResult};
use crate::upcast::version::VersionRules;

pub use names::intent_problem;

/// Events per page read.
pub const PAGE: u64 = 5_000;
/// Examples kept per check.
pub const MAX_EXAMPLES: usize = 20;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A hint.
    Info,
    /// Worth fixing.
    Warning,
    /// Broken.
    Error,
}

impl Severity {
    /// The lowercase name (`info`, `warning`, `error`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    /// Parses `info`, `warning` or `error`.
    ///
    /// # Errors
    /// Any other text.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "info" => Ok(Self::Info),
            "warning" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            _ => Err(format!(
                "unknown severity {text:?}: expected info, warning or error"
            )),
        }
    }
}

/// One check: its stable name, its usual severity and the rule it checks.
#[derive(Clone, Copy, Debug)]
pub struct CheckDef {
    /// Stable name (CLI `--check`, JSON `check`).
    pub name: &'static str,
    /// Severity of a non-zero count (`long_streams` rises to error over 100,000 events).
    pub severity: Severity,
    /// Why it matters, from the guide's checklist.
    pub why: &'static str,
}

/// Every check, in report order.
pub const CHECKS: [CheckDef; 17] = [
    CheckDef {
        name: "missing_correlation_id",
        severity: Severity::Warning,
        why: "every event should carry a correlationId, to follow one request across streams",
    },
    CheckDef {
        name: "missing_causation_id",
        severity: Severity::Warning,
        why: "every event should carry a causationId: the message that caused it",
    },
    CheckDef {
        name: "missing_schema_version",
        severity: Severity::Warning,
        why: "every event should carry an eventVersion, so upcasters know what they read",
    },
    CheckDef {
        name: "version_gaps",
        severity: Severity::Error,
        why: "sequence numbers without gaps: a skipped version is a lost event",
    },
    CheckDef {
        name: "version_duplicates",
        severity: Severity::Error,
        why: "a version written twice means optimistic concurrency did not hold",
    },
    CheckDef {
        name: "position_order",
        severity: Severity::Error,
        why: "stream versions must rise with the global position, or replays disagree",
    },
    CheckDef {
        name: "time_goes_backwards",
        severity: Severity::Warning,
        why: "an event recorded before the one it follows: clock skew or a clock problem",
    },
    CheckDef {
        name: "duplicate_event_ids",
        severity: Severity::Error,
        why: "idempotency keys: the same event id twice is a message handled twice",
    },
    CheckDef {
        name: "causation_unknown",
        severity: Severity::Warning,
        why: "a causationId shaped like an event id that no event carries: a lost or never-written parent",
    },
    CheckDef {
        name: "long_streams",
        severity: Severity::Warning,
        why: "no stream over 100,000 events (a warning from 10,000): split the aggregate or close the books",
    },
    CheckDef {
        name: "streams_without_snapshots",
        severity: Severity::Warning,
        why: "snapshot a stream once it passes ~50 events, so loading it stays fast",
    },
    CheckDef {
        name: "snapshot_interval",
        severity: Severity::Info,
        why: "snapshot every 100–500 events: closer wastes writes, further makes loads slow",
    },
    CheckDef {
        name: "snapshot_schema_mismatch",
        severity: Severity::Warning,
        why: "a snapshot's schema version must match what the code reads: a stale one is misread or thrown away",
    },
    CheckDef {
        name: "snapshot_drift",
        severity: Severity::Error,
        why: "a snapshot must equal a full replay to its version, or loads and replays disagree (needs a reducer)",
    },
    CheckDef {
        name: "personal_data",
        severity: Severity::Warning,
        why: "personal data kept out of events, or crypto-shredded: events cannot be erased",
    },
    CheckDef {
        name: "non_intent_names",
        severity: Severity::Info,
        why: "intent-focused names, past-tense facts: SeatsReserved, not SeatsChanged",
    },
    CheckDef {
        name: "state_in_events",
        severity: Severity::Warning,
        why: "no \"entire state\" events: an event records what changed, not the whole aggregate",
    },
];

/// The checks, in report order.
pub fn check_defs() -> impl Iterator<Item = &'static CheckDef> {
    CHECKS.iter()
}

/// The checks [`run`] computes: all but `snapshot_drift`, which needs a reducer (the CLI
/// adds it from the drift report; in the window the Drift page shows it).
pub fn pass_checks() -> impl Iterator<Item = &'static CheckDef> {
    CHECKS.iter().filter(|c| c.name != "snapshot_drift")
}

/// The definition of a check by name.
#[must_use]
pub fn check_def(name: &str) -> Option<&'static CheckDef> {
    check_defs().find(|c| c.name == name)
}

/// One event (or stream) that shows a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Example {
    /// Global position of the event.
    pub position: u64,
    /// Its stream.
    pub stream_id: String,
    /// Its version in the stream.
    pub stream_version: u64,
    /// What is wrong, with the offending value.
    pub detail: String,
}

impl Example {
    fn of(event: &Event, detail: impl Into<String>) -> Self {
        Self {
            position: event.global_position,
            stream_id: event.stream_id.clone(),
            stream_version: event.stream_version,
            detail: detail.into(),
        }
    }
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Stable name.
    pub check: &'static str,
    /// Severity of what was found.
    pub severity: Severity,
    /// Events, streams or types found.
    pub count: u64,
    /// What the count was taken over (events, streams or types; see `unit`).
    pub total: u64,
    /// Up to [`MAX_EXAMPLES`] examples.
    pub examples: Vec<Example>,
}

impl CheckResult {
    /// A check's result, with the severity its definition gives it.
    #[must_use]
    pub fn of(check: &'static str, count: u64, total: u64, examples: Vec<Example>) -> Self {
        Self {
            check,
            severity: check_def(check).map_or(Severity::Info, |c| c.severity),
            count,
            total,
            examples,
        }
    }

    /// Why the check matters.
    #[must_use]
    pub fn why(&self) -> &'static str {
        check_def(self.check).map_or("", |c| c.why)
    }
}

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct AuditOptions {
    /// Only these checks (empty: all).
    pub checks: Vec<String>,
    /// How schema versions are read (the upcasting rules).
    pub version_rules: VersionRules,
}

impl AuditOptions {
    /// True when `name` is to run.
    #[must_use]
    pub fn wants(&self, name: &str) -> bool {
        self.checks.is_empty() || self.checks.iter().any(|c| c == name)
    }
}

/// A whole audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The head position the pass read up to.
    pub head: u64,
    /// Events read.
    pub events: u64,
    /// Streams met.
    pub streams: u64,
    /// The checks, in [`CHECKS`] order.
    pub checks: Vec<CheckResult>,
}

/// The schema-version rules for the store at `location`, from its project config
/// (`explicit`, else eventscope's copy for this store, then `eventscope.toml` beside it), so
/// the audit reads versions as the rest of the app does.
///
/// # Errors
/// A config that cannot be read or whose rules do not parse.
pub fn version_rules_for(
    location: &str,
    explicit: Option<&std::path::Path>,
) -> Result<VersionRules, String> {
    let settings = crate::replay::config::default_settings_dir();
    let config =
        crate::replay::config::ProjectConfig::discover(location, explicit, settings.as_deref())
            .map_err(|e| format!("project config: {e}"))?;
    crate::upcast::rules_from_config(&config)
}

/// Runs the audit over `source`: one pass over the log, progress (0..1) through
/// [`crate::core::cancel::report_progress`], `Cancelled` when the current job is.
///
/// # Errors
/// An unknown check name, a store that cannot be read, or a cancel.
pub fn run(source: &dyn EventSource, options: &AuditOptions) -> SourceResult<Report> {
    if let Some(unknown) = options.checks.iter().find(|c| check_def(c).is_none()) {
        return Err(SourceError::Query(format!(
            "unknown check {unknown:?}; the checks are: {}",
            check_defs().map(|c| c.name).collect::<Vec<_>>().join(", ")
        )));
    }
    let head = source.head()?;
    let mut auditor = pass::Auditor::new(options.clone(), head);
    if [
        "streams_without_snapshots",
        "snapshot_interval",
        "snapshot_schema_mismatch",
    ]
    .iter()
    .any(|check| options.wants(check))
    {
        auditor.set_snapshot_streams(snapshot_streams(source)?);
    }
    read_log(source, head, &mut |event| auditor.observe(event))?;
    auditor.finish(source)
}

fn cancelled(token: Option<&crate::core::cancel::CancelToken>) -> bool {
    token.is_some_and(crate::core::cancel::CancelToken::is_cancelled)
}

/// Every stream that has a stored snapshot (paged).
fn snapshot_streams(source: &dyn EventSource) -> SourceResult<std::collections::HashSet<String>> {
    let token = crate::core::cancel::current();
    let mut streams = std::collections::HashSet::new();
    let mut offset = 0;
    loop {
        if cancelled(token.as_ref()) {
            return Err(SourceError::Cancelled);
        }
        let page = source.snapshot_streams(offset, PAGE)?;
        let full = page.len() as u64 >= PAGE;
        offset += page.len() as u64;
        streams.extend(page);
        if !full {
            return Ok(streams);
        }
    }
}

/// Reads the log forwards up to `head`, one page at a time on a reader thread (so reading
/// and checking overlap on two cores), handing every event to `each` in global order.
fn read_log(source: &dyn EventSource, head: u64, each: &mut dyn FnMut(&Event)) -> SourceResult<()> {
    let token = crate::core::cancel::current();
    let (send, receive) = std::sync::mpsc::sync_channel::<SourceResult<Vec<Event>>>(2);
    std::thread::scope(|scope| {
        let reader_token = token.clone();
        scope.spawn(move || {
            let mut from = 0;
            loop {
                if cancelled(reader_token.as_ref()) {
                    send.send(Err(SourceError::Cancelled)).ok();
                    return;
                }
                let query = LogQuery {
                    from_position: Some(from),
                    direction: Direction::Forwards,
                    limit: PAGE,
                    ..LogQuery::default()
                };
                let page = source.read_log(&query).map(|mut page| {
                    page.retain(|e| e.global_position <= head);
                    page.sort_by_key(|e| e.global_position);
                    page
                });
                let next = match &page {
                    Ok(events) => events.last().map(|e| e.global_position + 1),
                    Err(_) => None,
                };
                let done = next.is_none_or(|n| n > head);
                if send.send(page).is_err() || done {
                    return;
                }
                from = next.unwrap_or(from);
            }
        });
        for page in receive {
            let page = page?;
            if cancelled(token.as_ref()) {
                return Err(SourceError::Cancelled);
            }
            for event in &page {
                each(event);
            }
            if let (Some(last), true) = (page.last(), head > 0) {
                #[allow(clippy::cast_precision_loss)] // A fraction for a progress bar.
                crate::core::cancel::report_progress(
                    last.global_position.min(head) as f32 / head as f32,
                );
            }
        }
        Ok(())
    })
}

/// The events of the log whose event id is one of `ids` (a second, exact look at the
/// candidates the hashes nominated), in global order.
fn events_with_ids(
    source: &dyn EventSource,
    head: u64,
    ids: &std::collections::HashSet<String>,
) -> SourceResult<Vec<Event>> {
    // A few candidates: the store's own lookup, when it has one.
    if ids.len() <= 64 {
        let mut found = Vec::new();
        let mut all_answered = true;
        for id in ids {
            match source.events_with_id(id)? {
                Some(events) => found.extend(
                    events
                        .into_iter()
                        .filter(|e| e.event_id.as_deref() == Some(id.as_str())),
                ),
                None => {
                    all_answered = false;
                    break;
                }
            }
        }
        if all_answered {
            found.retain(|e| e.global_position <= head);
            found.sort_by_key(|e| e.global_position);
            found.dedup_by_key(|e| e.global_position);
            return Ok(found);
        }
    }
    let mut found = Vec::new();
    read_log(source, head, &mut |event| {
        if event.event_id.as_ref().is_some_and(|id| ids.contains(id)) {
            found.push(event.clone());
        }
    })?;
    Ok(found)
}
