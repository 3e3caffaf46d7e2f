//! `eventscope upcast`: runs every stored event through its upcaster chain and compares
//! upcasted old events with native events of the latest version. Exit 1 on any failure or
//! shape mismatch.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use clap::Args;

use crate::cli::replay::Findings;
use crate::core::source::EventSource;
use crate::replay::config::ProjectConfig;
use crate::upcast::check::{CheckError, check};
use crate::upcast::version::VersionPath;
use crate::upcast::{UpcasterFile, Upcasters};

/// `upcast` arguments.
#[derive(Debug, Args)]
pub struct UpcastArgs {
    /// The store.
    pub store: String,
    /// Upcaster file (JavaScript, `upcast(type, from, to, fn)` calls); repeatable, loaded in
    /// order. Default: the files the project config names (`upcasters = [...]`).
    #[arg(long, value_name = "FILE")]
    pub upcasters: Vec<PathBuf>,
    /// Only this event type (version suffixes such as `.v2` are part of the same type).
    #[arg(long = "type", value_name = "T")]
    pub event_type: Option<String>,
    /// Project config (TOML) naming upcaster files and version rules; default: eventscope's
    /// copy for this store, then `eventscope.toml` beside it, then the demo's.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where schema versions are read: `payload:$.path` or `metadata:$.path` (default: the
    /// layout's own place, then type suffixes such as `.v2`, then version 1).
    #[arg(long, value_name = "PATH")]
    pub version_path: Option<String>,
    /// Time budget per event (the whole chain), milliseconds.
    #[arg(long, default_value_t = 250)]
    pub budget_ms: u64,
    /// Print one JSON line per event type: `{event_type, versions, latest_version, upcast_ok,
    /// upcast_failed, failures, shape_mismatches}`.
    #[arg(long)]
    pub json: bool,
}

/// `eventscope upcast`.
///
/// # Errors
/// Reading or loading errors, or [`Findings`] when an upcast failed or a shape mismatched.
pub fn run_upcast(
    args: &UpcastArgs,
    source: &Arc<dyn EventSource>,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let settings = crate::replay::config::default_settings_dir();
    let config = ProjectConfig::discover(&args.store, args.config.as_deref(), settings.as_deref())
        .map_err(|e| anyhow!("project config: {e}"))?;
    let mut rules = crate::upcast::rules_from_config(&config).map_err(|e| anyhow!(e))?;
    if let Some(path) = &args.version_path {
        rules.path = Some(VersionPath::parse(path).map_err(|e| anyhow!(e))?);
    }
    let files: Vec<UpcasterFile> = if args.upcasters.is_empty() {
        crate::upcast::files_from_config(&config).map_err(|e| anyhow!(e))?
    } else {
        crate::upcast::read_files(&args.upcasters).map_err(|e| anyhow!(e))?
    };
    if files.is_empty() {
        bail!(
            "no upcasters: pass --upcasters FILE, or name files in the project config \
             (upcasters = [\"upcasters.js\"]; {})",
            config.origin.describe()
        );
    }
    let sources: Vec<_> = files.iter().map(UpcasterFile::source).collect();
    let upcasters = Upcasters::new(
        &sources,
        rules,
        Duration::from_millis(args.budget_ms.max(1)),
    )?;
    for warning in upcasters.type_warnings(&source.event_type_names()?) {
        eprintln!("warning: {warning}");
    }
    let report = match check(
        source.as_ref(),
        &upcasters,
        args.event_type.as_deref(),
        &mut |_| {},
    ) {
        Ok(report) => report,
        Err(CheckError::Cancelled) => bail!("cancelled"),
        Err(CheckError::Source(e)) => return Err(e.into()),
    };
    if let Some(wanted) = &args.event_type
        && report.types.is_empty()
    {
        bail!("no events of type {wanted} in {}", args.store);
    }
    for t in &report.types {
        if args.json {
            let mut value = serde_json::to_value(t)?;
            // Versions as an object keyed by version number.
            if let Some(obj) = value.as_object_mut() {
                obj.insert(
                    "versions".to_owned(),
                    serde_json::Value::Object(
                        t.versions
                            .iter()
                            .map(|(v, n)| (v.to_string(), serde_json::Value::from(*n)))
                            .collect(),
                    ),
                );
            }
            writeln!(out, "{}", serde_json::to_string(&value)?)?;
        } else {
            let versions = t
                .versions
                .iter()
                .map(|(v, n)| format!("v{v}: {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(
                out,
                "{:<32} {:<28} latest {:<4} ok {:>8}  failed {:>8}  shape mismatches {}",
                t.event_type,
                versions,
                t.latest_version
                    .map_or_else(|| "—".to_owned(), |v| format!("v{v}")),
                t.upcast_ok,
                t.upcast_failed,
                t.shape_mismatches.len()
            )?;
            for f in &t.failures {
                let examples = f
                    .examples
                    .iter()
                    .map(crate::upcast::shape::EventRef::describe)
                    .collect::<Vec<_>>()
                    .join(", ");
                writeln!(
                    out,
                    "    {} × {} at v{} → v{}: {} (e.g. {examples})",
                    f.count,
                    f.kind.label(),
                    f.from,
                    f.to,
                    f.message.lines().next().unwrap_or_default()
                )?;
            }
            for m in &t.shape_mismatches {
                let types = |ts: &[crate::upcast::shape::JsonType]| {
                    ts.iter().map(|t| t.name()).collect::<Vec<_>>().join("|")
                };
                writeln!(
                    out,
                    "    {} {}: native {} / upcasted {}{}",
                    m.kind.label(),
                    m.path,
                    if m.native_types.is_empty() {
                        "—".to_owned()
                    } else {
                        types(&m.native_types)
                    },
                    if m.upcasted_types.is_empty() {
                        "—".to_owned()
                    } else {
                        types(&m.upcasted_types)
                    },
                    m.example
                        .as_ref()
                        .map(|e| format!(" (e.g. {})", e.describe()))
                        .unwrap_or_default()
                )?;
            }
            if let Some(note) = &t.note {
                writeln!(out, "    note: {note}")?;
            }
        }
    }
    let failed: u64 = report.types.iter().map(|t| t.upcast_failed).sum();
    let ok: u64 = report.types.iter().map(|t| t.upcast_ok).sum();
    let mismatches: usize = report.types.iter().map(|t| t.shape_mismatches.len()).sum();
    let summary = format!(
        "{} events checked: {ok} upcast, {failed} failed, {mismatches} shape mismatches",
        report.scanned
    );
    eprintln!("{summary}");
    if report.has_findings() {
        return Err(Findings(summary).into());
    }
    Ok(())
}
