//! `eventscope trace`: a correlation trace from the command line.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;

use crate::core::EventSource;
use crate::trace::{TraceIndex, export};

/// `trace` arguments.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The store: a SQLite file, or a server URL (`postgres://`, `esdb://`, `umadb://` …).
    pub store: String,
    /// A correlation id (or, with --event, an event id whose correlation to trace).
    pub id: String,
    /// ID is an event id: trace the correlation of that event.
    #[arg(long)]
    pub event: bool,
    /// Print JSON Lines: one event per line in global order, each with `parent_event_id`,
    /// `depth`, `root`, `out_of_order` and `children`.
    #[arg(long)]
    pub json: bool,
    /// Print the causal tree as Graphviz DOT instead.
    #[arg(long, conflicts_with = "json")]
    pub dot: bool,
    /// Also write the whole trace as one JSON document to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// Also write the causal tree as Graphviz DOT to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_dot: Option<PathBuf>,
    /// Use the correlation index in eventscope's cache directory (built or caught up
    /// first; later runs are fast) instead of scanning the whole store.
    #[arg(long)]
    pub index: bool,
    /// Keep the index under DIR instead of eventscope's cache directory (implies --index).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// What the index depends on besides the store file: the mapping file, if any.
#[must_use]
pub fn index_config(mapping: Option<&Path>) -> String {
    match mapping {
        Some(path) => {
            let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            let content = std::fs::read(&resolved).unwrap_or_default();
            format!(
                "mapping={};{:x}",
                resolved.display(),
                crate::trace::index::id_key(&String::from_utf8_lossy(&content))
            )
        }
        None => "mapping=".to_owned(),
    }
}

/// Runs `eventscope trace`.
///
/// # Errors
/// The store or index cannot be read, the id is not found, or output fails.
pub fn run_trace(
    args: &TraceArgs,
    source: &dyn EventSource,
    mapping: Option<&Path>,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let index = if args.index || args.cache_dir.is_some() {
        let identity = crate::history::store_identity(&args.store);
        let config = index_config(mapping);
        let index = match &args.cache_dir {
            Some(dir) => TraceIndex::open_in(dir, &identity, &config),
            None => TraceIndex::open(&identity, &config),
        }
        .context("opening the correlation index")?;
        let caught = index
            .catch_up(source, u64::MAX, &mut |_, _| {})
            .context("building the correlation index")?;
        tracing::info!(
            "correlation index {}: through #{} ({} added)",
            index.path().display(),
            caught.indexed_through,
            caught.added
        );
        Some(index)
    } else {
        None
    };
    let correlation_id = if args.event {
        let event = crate::trace::find_event(source, &args.id, index.as_ref(), &mut |_, _| {})?
            .with_context(|| format!("no event has the id {}", args.id))?;
        event
            .correlation_id
            .with_context(|| format!("event {} carries no correlation id", args.id))?
    } else {
        args.id.trim().to_owned()
    };
    let (trace, _) = crate::trace::trace(source, &correlation_id, index.as_ref(), &mut |_, _| {})?;
    if let Some(hint) = source.index_hint() {
        eprintln!(
            "note: the store has no index on the correlation id, so this trace scanned the \
             whole log; `{hint}` would answer it from an index (eventscope never runs it)"
        );
    }
    if trace.nodes.is_empty() {
        anyhow::bail!("no event carries the correlation id {correlation_id}");
    }
    if let Some(path) = &args.export_json {
        let text = serde_json::to_string_pretty(&export::to_json(&trace))?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.export_dot {
        std::fs::write(path, export::to_dot(&trace))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        for line in export::json_lines(&trace) {
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
        }
        return Ok(());
    }
    if args.dot {
        write!(out, "{}", export::to_dot(&trace))?;
        return Ok(());
    }
    let (_, external, missing, _) = trace.root_counts();
    writeln!(
        out,
        "correlation {}: {} events in {} streams, depth {}, {} roots ({external} external, {missing} missing parent), {} out of order",
        trace.correlation_id,
        trace.nodes.len(),
        trace.streams.len(),
        trace.max_depth(),
        trace.roots.len(),
        trace.out_of_order_count(),
    )?;
    for index in trace.tree_order() {
        let node = &trace.nodes[index];
        let e = &node.event;
        let mut notes = Vec::new();
        if let Some(root) = &node.root {
            match root.cause_id() {
                Some(cause) => notes.push(format!("{} {cause}", root.label())),
                None => notes.push(root.label().to_owned()),
            }
        }
        if node.out_of_order {
            notes.push("recorded before its parent".to_owned());
        }
        writeln!(
            out,
            "{:>10}  {}{}  {} v{}  {}{}",
            e.global_position,
            "  ".repeat(node.depth as usize),
            e.event_type,
            e.stream_id,
            e.stream_version,
            e.recorded_at
                .map(crate::core::time::format_rfc3339)
                .unwrap_or_default(),
            if notes.is_empty() {
                String::new()
            } else {
                format!("  [{}]", notes.join("; "))
            }
        )?;
    }
    Ok(())
}
