//! Headless replay commands: `state`, `check-snapshots`, `verify-evidence`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::Args;

use crate::core::source::EventSource;
use crate::replay::command::{CommandReducer, CommandSpec};
use crate::replay::config::{ProjectConfig, ReducerChoice, TrustStore};
use crate::replay::evidence::{self, Target};
use crate::replay::script::{ScriptOptions, ScriptReducer};
use crate::replay::snapshots::{ReducerCache, SnapshotStatus};
use crate::replay::{Reducer, generic::GenericReducer};

/// A command found problems (drift, failures): print `message`, exit 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Findings(pub String);

/// How to pick reducers on the command line.
#[derive(Debug, Args, Clone, Default)]
pub struct ReducerArgs {
    /// JavaScript reducer file for every stream (overrides the project config).
    #[arg(long, value_name = "FILE", conflicts_with = "reducer_cmd")]
    pub reducer: Option<PathBuf>,
    /// Command reducer for every stream: a program speaking JSON Lines (see README).
    #[arg(long, value_name = "CMD")]
    pub reducer_cmd: Option<String>,
    /// Use the generic reducer (JSON merge of payloads) for every stream.
    #[arg(long, conflicts_with_all = ["reducer", "reducer_cmd"])]
    pub generic: bool,
    /// Project config (TOML) choosing reducers per category; default: eventscope's copy for
    /// this store, then `eventscope.toml` beside the store, then the demo's for the demo store.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Allow commands named in an `eventscope.toml` found beside the store to run (this once).
    #[arg(long)]
    pub trust: bool,
    /// Time budget per event for scripts, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub budget_ms: u64,
    /// Time allowed per answer for command reducers, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
    /// Snapshot schema version the reducer's states correspond to (overrides the config).
    #[arg(long, value_name = "N")]
    pub schema_version: Option<u32>,
}

/// `state` arguments.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The store.
    pub store: String,
    /// The stream (any UUID form is accepted).
    pub stream: String,
    /// State at this version (the last event with a version ≤ V).
    #[arg(long, conflicts_with = "at")]
    pub version: Option<u64>,
    /// State as of this time (the last event recorded at or before it), RFC 3339.
    #[arg(long, value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
    /// Reducer choice.
    #[command(flatten)]
    pub reducer: ReducerArgs,
    /// Also write an evidence bundle (question, reducer + hash, state, events + hashes).
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// Print JSON `{stream_id, version, recorded_at, state}`.
    #[arg(long)]
    pub json: bool,
}

/// `check-snapshots` arguments.
#[derive(Debug, Args)]
pub struct CheckSnapshotsArgs {
    /// The store.
    pub store: String,
    /// Only this stream.
    #[arg(long)]
    pub stream: Option<String>,
    /// Reducer choice.
    #[command(flatten)]
    pub reducer: ReducerArgs,
    /// Write the drift report (summary + drifted streams) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print one JSON line per checked snapshot `{stream_id, version, status, diffs}`.
    #[arg(long)]
    pub json: bool,
}

/// `verify-evidence` arguments.
#[derive(Debug, Args)]
pub struct VerifyEvidenceArgs {
    /// The bundle written by `state --evidence` or the app.
    pub bundle: PathBuf,
    /// The store to check against (default: the one named in the bundle).
    #[arg(long)]
    pub store: Option<String>,
    /// Replay again with this script reducer (must be the recorded one, by hash).
    #[arg(long, value_name = "FILE")]
    pub reducer: Option<PathBuf>,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    crate::core::time::parse_timestamp(text)
        .ok_or_else(|| format!("not a time: {text} (use RFC 3339, e.g. 2024-03-01T12:00:00Z)"))
}

/// The reducers a command uses: one override for every stream, or the project config.
pub enum Reducers {
    /// Same reducer for every stream.
    One(Box<dyn Reducer>),
    /// Per category from the project config.
    Config(ProjectConfig, TrustStore),
}

impl ReducerArgs {
    /// Resolves the reducers for a store.
    ///
    /// # Errors
    /// On a broken config or a script that does not compile.
    pub fn resolve(&self, store: &str) -> Result<Reducers> {
        if self.generic {
            return Ok(Reducers::One(Box::new(GenericReducer::new())));
        }
        if let Some(file) = &self.reducer {
            let mut options = ScriptOptions {
                schema_version: self.schema_version,
                ..ScriptOptions::default()
            };
            options.limits.call_budget = Duration::from_millis(self.budget_ms.max(1));
            return Ok(Reducers::One(Box::new(ScriptReducer::from_file(
                file, &options,
            )?)));
        }
        if let Some(line) = &self.reducer_cmd {
            let argv = CommandSpec::parse(line).map_err(|e| anyhow!(e))?;
            return Ok(Reducers::One(Box::new(CommandReducer::new(CommandSpec {
                argv,
                cwd: None,
                timeout: Duration::from_secs(self.timeout.max(1)),
                schema_version: self.schema_version,
            }))));
        }
        let settings = crate::replay::config::default_settings_dir();
        let config = ProjectConfig::discover(store, self.config.as_deref(), settings.as_deref())
            .map_err(|e| anyhow!("project config: {e}"))?;
        let mut trust = TrustStore::load(crate::history::default_data_dir().as_deref());
        if self.trust {
            trust = TrustStore::load(None);
            for entry in config.file.reducers.keys() {
                if let Ok(choice) = config.choice_for(entry) {
                    let _ = trust.approve(&choice);
                }
            }
        }
        Ok(Reducers::Config(config, trust))
    }
}

/// Builds the configured reducer for a stream's category, refusing unapproved commands.
fn build_from_config(
    config: &ProjectConfig,
    trust: &TrustStore,
    source: &dyn EventSource,
    stream: &str,
) -> Result<Box<dyn Reducer>> {
    let category = source
        .stream(stream)?
        .map(|s| s.category)
        .unwrap_or_default();
    let choice: ReducerChoice = config.choice_for(&category).map_err(|e| anyhow!(e))?;
    if !trust.allows(&choice) {
        bail!(
            "{} comes from {} and has not been approved for this store; \
             approve it in the app, or pass --trust to run it this once",
            choice.describe(),
            config.origin.describe()
        );
    }
    Ok(choice.build(true)?)
}

/// Prints on stderr a warning for each handler name of `reducer` that matches no event type
/// of the store (a fold would silently skip those events).
fn warn_unknown_handlers(reducer: &mut dyn Reducer, source: &dyn EventSource) {
    match crate::replay::handler_warnings(reducer, source) {
        Ok(warnings) => {
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
        }
        Err(e) => tracing::warn!("checking handler names: {e}"),
    }
}

/// `eventscope state`.
///
/// # Errors
/// Reading, reducer or output errors.
pub fn run_state(
    args: &StateArgs,
    source: &Arc<dyn EventSource>,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let info = source
        .stream(&args.stream)?
        .ok_or_else(|| anyhow!("stream not found: {}", args.stream))?;
    let mut reducers = args.reducer.resolve(&args.store)?;
    let mut built;
    let reducer: &mut dyn Reducer = match &mut reducers {
        Reducers::One(reducer) => reducer.as_mut(),
        Reducers::Config(config, trust) => {
            built = build_from_config(config, trust, source.as_ref(), &info.stream_id)?;
            built.as_mut()
        }
    };
    let target = match (args.version, args.at) {
        (Some(v), _) => Target::Version(v),
        (None, Some(at)) => Target::AsOf(at),
        (None, None) => Target::Latest,
    };
    // Hashing every event (canonical JSON + SHA-256) is for the evidence bundle only.
    let (answer, label) = match &args.evidence {
        Some(path) => {
            warn_unknown_handlers(reducer, source.as_ref());
            let bundle = evidence::build(source, &args.store, &info.stream_id, target, reducer)?;
            let text = serde_json::to_string_pretty(&bundle)?;
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            let answer = evidence::StateAt {
                stream_id: bundle.question.stream_id,
                version: bundle.answer.version,
                recorded_at: bundle.answer.recorded_at,
                state: bundle.answer.state,
            };
            (answer, bundle.reducer.label)
        }
        None => {
            // The store's list of type names is a scan of the whole log: ask for it only
            // when a handler name is not among the types this fold met (a type met is in
            // the store, so the warnings come out the same).
            let names = reducer.handler_names().ok().flatten();
            let mut seen: HashSet<String> = HashSet::new();
            let mut note = |event: &crate::core::event::Event| {
                if names.is_some() {
                    for name in [event.event_type.as_str(), event.stored_type()] {
                        if !seen.contains(name) {
                            seen.insert(name.to_owned());
                        }
                    }
                }
            };
            let folded =
                evidence::fold_to(source.as_ref(), &info.stream_id, target, reducer, &mut note);
            if folded.is_err() || names.is_some_and(|n| n.iter().any(|n| !seen.contains(n))) {
                warn_unknown_handlers(reducer, source.as_ref());
            }
            (folded?, reducer.info().label.clone())
        }
    };
    if args.json {
        let line = serde_json::json!({
            "stream_id": answer.stream_id,
            "version": answer.version,
            "recorded_at": answer.recorded_at,
            "reducer": label,
            "state": answer.state,
        });
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
    } else {
        writeln!(
            out,
            "{} at version {}{} (reducer: {})",
            answer.stream_id,
            answer.version,
            answer
                .recorded_at
                .as_deref()
                .map(|t| format!(", recorded {t}"))
                .unwrap_or_default(),
            label
        )?;
        writeln!(out, "{}", serde_json::to_string_pretty(&answer.state)?)?;
    }
    Ok(())
}

/// `eventscope check-snapshots`: one line per snapshot; exit 1 when anything drifted or
/// failed.
///
/// # Errors
/// Reading errors, or [`Findings`] when snapshots drifted.
pub fn run_check_snapshots(
    args: &CheckSnapshotsArgs,
    source: &Arc<dyn EventSource>,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let resolved = args.reducer.resolve(&args.store)?;
    let only = match &args.stream {
        Some(id) => Some(
            source
                .stream(id)?
                .ok_or_else(|| anyhow!("stream not found: {id}"))?
                .stream_id,
        ),
        None => None,
    };
    let mut write_error: Option<std::io::Error> = None;
    let json = args.json;
    let mut progress = |_: crate::replay::snapshots::DriftProgress,
                        checks: &[crate::replay::snapshots::SnapshotCheck]| {
        for check in checks {
            if write_error.is_some() {
                return;
            }
            let line = if json {
                serde_json::to_string(check).unwrap_or_default()
            } else {
                let detail = match check.status {
                    SnapshotStatus::Drift | SnapshotStatus::SchemaMismatch => check
                        .diffs
                        .iter()
                        .take(3)
                        .map(|d| d.path.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    SnapshotStatus::Error => check.error.clone().unwrap_or_default(),
                    SnapshotStatus::Match => String::new(),
                };
                format!(
                    "{:<40} {:>8}  {:<15} {}",
                    check.stream_id,
                    check.version,
                    serde_json::to_value(check.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    detail
                )
            };
            if let Err(e) = writeln!(out, "{line}") {
                write_error = Some(e);
            }
        }
    };
    let report = drift_with(resolved, source, only.as_deref(), &mut progress)?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let s = &report.summary;
    let summary = format!(
        "{} streams, {} snapshots checked: {} match, {} drifted, {} schema mismatch, {} errors",
        s.streams, s.checked, s.matching, s.drifted, s.schema_mismatch, s.errors
    );
    eprintln!("{summary}");
    if s.drifted > 0 || s.errors > 0 {
        return Err(Findings(summary).into());
    }
    Ok(())
}

/// The drift report with the resolved reducers (the project config's, with its handler-name
/// warnings on stderr, or one for every stream).
///
/// # Errors
/// Reading errors.
pub(super) fn drift_with(
    resolved: Reducers,
    source: &Arc<dyn EventSource>,
    only: Option<&str>,
    progress: &mut dyn FnMut(
        crate::replay::snapshots::DriftProgress,
        &[crate::replay::snapshots::SnapshotCheck],
    ),
) -> Result<crate::replay::snapshots::DriftReport> {
    Ok(match resolved {
        Reducers::One(mut reducer) => {
            warn_unknown_handlers(reducer.as_mut(), source.as_ref());
            let config = ProjectConfig::none();
            let trust = TrustStore::default();
            let mut cache = ReducerCache::with_override(&config, &trust, reducer);
            crate::replay::snapshots::drift_report(source, &mut cache, only, &mut *progress)?
        }
        Reducers::Config(config, trust) => {
            let mut cache = ReducerCache::new(&config, &trust);
            let report =
                crate::replay::snapshots::drift_report(source, &mut cache, only, &mut *progress)?;
            match cache.handler_warnings(source.as_ref()) {
                Ok(warnings) => {
                    for warning in warnings {
                        eprintln!("warning: {warning}");
                    }
                }
                Err(e) => tracing::warn!("checking handler names: {e}"),
            }
            report
        }
    })
}

/// `eventscope verify-evidence`.
///
/// # Errors
/// Reading errors, or [`Findings`] when the bundle does not check out.
pub fn run_verify_evidence(
    args: &VerifyEvidenceArgs,
    open: &dyn Fn(&str) -> Result<Arc<dyn EventSource>>,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let text = std::fs::read_to_string(&args.bundle)
        .with_context(|| format!("reading {}", args.bundle.display()))?;
    let bundle: evidence::Bundle = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an evidence bundle", args.bundle.display()))?;
    let store = args
        .store
        .clone()
        .unwrap_or_else(|| bundle.question.store.clone());
    let source = open(&store)?;
    let mut reducer = match &args.reducer {
        Some(path) => Some(ScriptReducer::from_file(path, &ScriptOptions::default())?),
        None => None,
    };
    let verification = evidence::verify(
        &bundle,
        &source,
        reducer.as_mut().map(|r| r as &mut dyn Reducer),
    )?;
    writeln!(out, "{}", serde_json::to_string(&verification)?)?;
    if verification.problems.is_empty() {
        Ok(())
    } else {
        Err(Findings(verification.problems.join("; ")).into())
    }
}
