//! `eventscope audit`: the store-health checklist (see [`crate::audit`]), as JSON Lines or a
//! table, with an exit code for CI.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use clap::Args;

use crate::audit::{AuditOptions, CheckResult, Example, Report, Severity};
use crate::cli::replay::{Findings, Reducers};
use crate::core::query::Direction;
use crate::core::source::EventSource;
use crate::replay::snapshots::DriftReport;

/// `audit` arguments.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The store: a SQLite file, or a server URL (`postgres://`, `esdb://`, `umadb://` …).
    pub store: String,
    /// Print one JSON line per check: `{check, severity, count, total, examples:
    /// [{position, stream_id, stream_version, detail}]}`.
    #[arg(long)]
    pub json: bool,
    /// Only this check (repeatable); the names are those of the JSON `check` field.
    #[arg(long = "check", value_name = "NAME")]
    pub checks: Vec<String>,
    /// Exit 1 when a check of this severity or above found anything (`info`, `warning`,
    /// `error`).
    #[arg(long, value_name = "SEVERITY", value_parser = Severity::parse)]
    pub fail_on: Option<Severity>,
    /// Also write the report as a self-contained HTML page (no scripts, no external assets)
    /// to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The reducer for `snapshot_drift` (stored snapshots against a full replay), and the
    /// project config (`--config`, also read for the version rules `schema_version_path`
    /// and `type_suffix_versions`; default: eventscope's copy for this store, then
    /// `eventscope.toml` beside it). Without `--generic`, `--reducer` or `--reducer-cmd`
    /// the config's reducers are used; with none, `snapshot_drift` is left out.
    #[command(flatten)]
    pub reducer: crate::cli::replay::ReducerArgs,
}

/// Runs `audit`.
///
/// # Errors
/// A store that cannot be read, an unknown check, or [`Findings`] when `--fail-on` is met.
pub fn run_audit(
    source: &Arc<dyn EventSource>,
    args: &AuditArgs,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let version_rules =
        crate::audit::version_rules_for(&args.store, args.reducer.config.as_deref())
            .map_err(|e| anyhow!(e))?;
    let options = AuditOptions {
        checks: args.checks.clone(),
        version_rules,
    };
    let drift = if options.wants(DRIFT) {
        match args.reducer.resolve(&args.store)? {
            Reducers::Config(config, _) if config.file.reducers.is_empty() => {
                if args.checks.iter().any(|c| c == DRIFT) {
                    bail!(
                        "{DRIFT} compares snapshots with a replay: give a reducer (--generic, \
                         --reducer FILE, --reducer-cmd CMD) or configure one in the project config"
                    );
                }
                None
            }
            resolved => Some(resolved),
        }
    } else {
        None
    };
    let mut report = crate::audit::run(source.as_ref(), &options)?;
    if let Some(resolved) = drift {
        let drift = crate::cli::replay::drift_with(resolved, source, None, &mut |_, _| {})?;
        let at = report
            .checks
            .iter()
            .position(|c| c.check == "snapshot_schema_mismatch")
            .map_or(report.checks.len(), |i| i + 1);
        report
            .checks
            .insert(at, drift_check(source.as_ref(), &drift)?);
    }
    if let Some(path) = &args.html {
        let page = crate::audit::html::to_html(&report, &args.store, chrono::Utc::now());
        std::fs::write(path, page)
            .map_err(|e| anyhow!("cannot write the HTML report {}: {e}", path.display()))?;
    }
    if args.json {
        for check in &report.checks {
            writeln!(out, "{}", serde_json::to_string(check)?)?;
        }
    } else {
        print_table(out, &report)?;
    }
    if let Some(level) = args.fail_on {
        let failing: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.severity >= level && c.count > 0)
            .map(|c| c.check)
            .collect();
        if !failing.is_empty() {
            out.flush()?;
            return Err(Findings(format!(
                "{} check(s) at or above {} found something: {}",
                failing.len(),
                level.name(),
                failing.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

const DRIFT: &str = "snapshot_drift";

/// `snapshot_drift` from the drift report: drifted snapshots out of those checked, one
/// example per drifted stream (its earliest drifted snapshot's event).
fn drift_check(source: &dyn EventSource, drift: &DriftReport) -> Result<CheckResult> {
    let mut examples = Vec::new();
    for stream in drift.streams.iter().filter(|s| s.drifted > 0) {
        if examples.len() >= crate::audit::MAX_EXAMPLES {
            break;
        }
        let version = stream.first_drift_version.unwrap_or(0);
        let event = source
            .read_stream(&stream.stream_id, Some(version), Direction::Forwards, 1)?
            .into_iter()
            .next();
        let paths = if stream.first_paths.is_empty() {
            String::new()
        } else {
            format!(" at {}", stream.first_paths.join(", "))
        };
        examples.push(Example {
            position: event.as_ref().map_or(0, |e| e.global_position),
            stream_id: stream.stream_id.clone(),
            stream_version: version,
            detail: format!(
                "{} of {} snapshots differ from the replay ({}); the first, v{version}{paths}",
                stream.drifted, stream.checked, stream.reducer
            ),
        });
    }
    let s = &drift.summary;
    Ok(CheckResult::of(DRIFT, s.drifted, s.checked, examples))
}

fn print_table(out: &mut dyn std::io::Write, report: &Report) -> Result<()> {
    writeln!(
        out,
        "{} events in {} streams, up to position {}",
        report.events, report.streams, report.head
    )?;
    let rows: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| {
            vec![
                c.check.to_owned(),
                if c.count == 0 {
                    "ok".to_owned()
                } else {
                    c.severity.name().to_owned()
                },
                format!("{}/{}", c.count, c.total),
                bar(c.count, c.total),
                c.examples
                    .first()
                    .map(|e| {
                        format!(
                            "{} v{} @{}: {}",
                            e.stream_id, e.stream_version, e.position, e.detail
                        )
                    })
                    .unwrap_or_default(),
            ]
        })
        .collect();
    super::write_table(
        out,
        &["check", "severity", "count/total", "share", "first example"],
        &rows,
    )
}

/// A ten-cell bar of `part / whole`, at least one cell for any non-zero part.
fn bar(part: u64, whole: u64) -> String {
    if whole == 0 || part == 0 {
        return "·".repeat(10);
    }
    let cells = (part.saturating_mul(10) / whole).clamp(1, 10);
    let cells = usize::try_from(cells).unwrap_or(10);
    format!("{}{}", "█".repeat(cells), "·".repeat(10 - cells))
}
