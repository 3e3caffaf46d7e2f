//! `eventscope audit`: the store-health checklist (see [`crate::audit`]), as JSON Lines or a
//! table, with an exit code for CI.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Args;

use crate::audit::{AuditOptions, Report, Severity};
use crate::cli::replay::Findings;
use crate::core::source::EventSource;

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
    /// Project config (TOML) with the version rules (`schema_version_path`,
    /// `type_suffix_versions`); default: eventscope's copy for this store, then
    /// `eventscope.toml` beside it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs `audit`.
///
/// # Errors
/// A store that cannot be read, an unknown check, or [`Findings`] when `--fail-on` is met.
pub fn run_audit(
    source: &dyn EventSource,
    args: &AuditArgs,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let version_rules = crate::audit::version_rules_for(&args.store, args.config.as_deref())
        .map_err(|e| anyhow!(e))?;
    let options = AuditOptions {
        checks: args.checks.clone(),
        version_rules,
    };
    let report = crate::audit::run(source, &options)?;
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
