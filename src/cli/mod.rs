//! Headless commands over the same core the GUI uses (for CI and scripts).
//! (Over 600 lines: the argument definitions of every command and their dispatch; each feature's command body lives in its own file here.)
//!
//! Every list command prints JSON Lines with `--json` and an aligned table otherwise.
//! Errors go to stderr with a non-zero exit code (see `main.rs`).

pub mod assets;
pub mod audit;
mod demo;
pub mod desktop;
mod lag;
pub mod replay;
pub mod search;
pub mod trace;
pub mod upcast;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::core::paging::{Limit, Paged, cut_short_note, page_log, page_stream, page_streams};
use crate::core::query::{Direction, LogQuery, StreamQuery, StreamSort};
use crate::core::source::EventSource;
use crate::core::time::{format_rfc3339, parse_timestamp};

/// eventscope: a read-only explorer for event stores.
///
/// With no command it opens the desktop app: on STORE when given, else on a live demo
/// store kept in eventscope's cache directory.
#[derive(Debug, Parser)]
#[command(name = "eventscope", version = env!("EVENTSCOPE_VERSION"), about, long_about = None)]
pub struct Cli {
    /// The command to run (omit to open the desktop app).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Store to open in the desktop app: a SQLite file (`file.db`, or `file.db#App` for one
    /// application of a multi-application eventsourcing-sqlalchemy file; a `file://` URL as
    /// file managers pass it), or a server URL (`postgres://`, `esdb://`, `umadb://`,
    /// `kafka://` …).
    pub store: Option<String>,
    /// Mapping file describing a SQLite schema eventscope does not know (see README).
    #[arg(long, global = true, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
}

/// Headless commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a deterministic demo store (bank accounts, orders, payments, shipments).
    Demo(DemoArgs),
    /// Layout, counts, head position, snapshots and checkpoints of a store.
    Info(InfoArgs),
    /// List streams.
    Streams(StreamsArgs),
    /// Read one stream's events.
    Events(EventsArgs),
    /// Read the global log ($all) with scope-first filters.
    Log(LogArgs),
    /// Every event that mentions a text (in its ids, payload or metadata), newest first,
    /// with where it matched.
    Search(search::SearchArgs),
    /// List a stream's stored snapshots.
    Snapshots(SnapshotsArgs),
    /// List projection / subscription checkpoints and the head.
    Checkpoints(InfoArgs),
    /// Projection lag: events and seconds behind, rate, trend, stall, ETA.
    Lag(LagArgs),
    /// State of a stream at a version or time, replayed with a reducer (optionally with an
    /// evidence bundle for auditors).
    State(crate::cli::replay::StateArgs),
    /// Compare every stored snapshot with a full replay; exit 1 when any drifted.
    CheckSnapshots(crate::cli::replay::CheckSnapshotsArgs),
    /// Check an evidence bundle against the store (hashes, events, optionally the state).
    VerifyEvidence(crate::cli::replay::VerifyEvidenceArgs),
    /// Every event of a correlation id across streams, as a causal tree (or JSON / DOT).
    Trace(crate::cli::trace::TraceArgs),
    /// Run every stored event through its upcaster chain and compare upcasted old events with
    /// native ones; exit 1 on any failure or shape mismatch.
    Upcast(crate::cli::upcast::UpcastArgs),
    /// Store health: the event-sourcing checklist (ids, versions, order, snapshots,
    /// personal data, names …) over every event; exit 1 with --fail-on when a check fails.
    Audit(audit::AuditArgs),
    /// Mapping files for SQLite schemas eventscope does not detect.
    #[command(subcommand)]
    Mapping(MappingCommand),
}

/// `mapping` subcommands.
#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Print a commented mapping file drafted from a SQLite store's schema (read-only):
    /// fill in every `FILL_IN`, check the guesses, then pass it with --mapping FILE.
    Suggest {
        /// The SQLite file.
        store: PathBuf,
    },
}

/// `lag` arguments.
#[derive(Debug, Args)]
pub struct LagArgs {
    /// The store: a SQLite file, or a server URL (`postgres://`, `esdb://`, `umadb://` …).
    pub store: String,
    /// A store holding the tracking table of a downstream application that follows STORE
    /// (e.g. a Python eventsourcing process application's own SQLite file); repeatable.
    #[arg(long, value_name = "STORE")]
    pub attach: Vec<String>,
    /// Keep sampling every SECONDS and print the lag each time (trend and stall need a few
    /// samples); stop with Ctrl+C.
    #[arg(long, value_name = "SECONDS")]
    pub watch: Option<f64>,
    /// Print JSON Lines: `{name, position, head, lag_events, lag_seconds,
    /// behind_head_seconds, status, …}` (`lag_seconds`: the age of the oldest unprocessed
    /// event; `behind_head_seconds`: the head event's time minus its time).
    #[arg(long)]
    pub json: bool,
}

/// `demo` arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the store (must not exist, unless --live is given alone on an existing demo).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Number of events.
    #[arg(long, default_value_t = 20_000)]
    pub events: u64,
    /// Seed: the same seed and event count give the same store.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Time of the first event (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub start: Option<DateTime<Utc>>,
    /// After writing (or on an existing demo store), keep appending events and advancing
    /// checkpoints until stopped (Ctrl+C).
    #[arg(long)]
    pub live: bool,
}

/// Arguments naming just a store.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The store: a SQLite file, or a server URL (`postgres://`, `esdb://`, `umadb://` …).
    pub store: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Stream list order.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SortArg {
    /// By stream id.
    Id,
    /// Most recently active first.
    Activity,
}

/// `streams` arguments.
#[derive(Debug, Args)]
pub struct StreamsArgs {
    /// The store: a SQLite file, or a server URL (`postgres://`, `esdb://`, `umadb://` …).
    pub store: String,
    /// Only streams whose id contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only streams of this category (aggregate type or id prefix).
    #[arg(long)]
    pub category: Option<String>,
    /// Order.
    #[arg(long, value_enum, default_value = "id")]
    pub sort: SortArg,
    /// Maximum number of streams, or `all` (read page after page; a note on stderr says
    /// when more follow).
    #[arg(long, default_value = "100", value_parser = Limit::parse)]
    pub limit: Limit,
    /// Streams to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// Print JSON Lines.
    #[arg(long)]
    pub json: bool,
}

/// `events` arguments.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The store: a SQLite file, or a server URL (`postgres://`, `esdb://`, `umadb://` …).
    pub store: String,
    /// The stream id (UUIDs in any form).
    pub stream: String,
    /// First version to read (inclusive; for --backwards, the highest).
    #[arg(long)]
    pub from_version: Option<u64>,
    /// Start at the version the stream had at this time (its last event recorded at or
    /// before it), RFC 3339: with --backwards, what led up to it. `--limit 1` prints just
    /// that event.
    #[arg(long, value_parser = parse_time, conflicts_with = "from_version")]
    pub at: Option<DateTime<Utc>>,
    /// Maximum number of events, or `all` (read page after page; a note on stderr says
    /// when more follow).
    #[arg(long, default_value = "100", value_parser = Limit::parse)]
    pub limit: Limit,
    /// Newest first.
    #[arg(long)]
    pub backwards: bool,
    /// Show payloads exactly as stored (without decoding library typed values).
    #[arg(long)]
    pub raw: bool,
    /// Print JSON Lines.
    #[arg(long)]
    pub json: bool,
}

/// Which events of the log `log` and `search` look at.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Only this event type (repeat for several).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only streams whose id starts with this.
    #[arg(long)]
    pub stream_prefix: Option<String>,
    /// Only events recorded at or after this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only events recorded at or before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
}

impl ScopeArgs {
    /// A forward read of the whole log within this scope.
    #[must_use]
    pub fn query(&self) -> LogQuery {
        LogQuery {
            event_types: self.types.clone(),
            stream_prefix: self.stream_prefix.clone(),
            since: self.since,
            until: self.until,
            ..LogQuery::default()
        }
    }
}

/// `log` arguments.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The store: a SQLite file, or a server URL (`postgres://`, `esdb://`, `umadb://` …).
    pub store: String,
    /// First global position (inclusive).
    #[arg(long)]
    pub from_position: Option<u64>,
    /// Maximum number of events, or `all` (read page after page; a note on stderr says
    /// when more follow).
    #[arg(long, default_value = "100", value_parser = Limit::parse)]
    pub limit: Limit,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// The newest N matching events (in global order) instead of reading from a position.
    #[arg(long, value_name = "N", conflicts_with = "from_position")]
    pub newest: Option<u64>,
    /// Show payloads exactly as stored.
    #[arg(long)]
    pub raw: bool,
    /// Print JSON Lines.
    #[arg(long)]
    pub json: bool,
    /// Only events that pass this filter, e.g. `type = MoneyWithdrawn and data.amount > 1000`
    /// (see README, "Filters").
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Option<String>,
}

/// `snapshots` arguments.
#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    /// The store: a SQLite file, or a server URL (`postgres://`, `esdb://`, `umadb://` …).
    pub store: String,
    /// The stream id.
    pub stream: String,
    /// Print JSON Lines.
    #[arg(long)]
    pub json: bool,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    parse_timestamp(text).ok_or_else(|| format!("not a timestamp (expected RFC 3339): {text}"))
}

pub(crate) fn open(store: &str, mapping: Option<&PathBuf>) -> Result<Arc<dyn EventSource>> {
    let options = crate::source::OpenOptions {
        mapping: mapping.cloned(),
        application: None,
    };
    Ok(crate::source::open(store, &options)?)
}

/// Runs a headless command, writing to `out`.
///
/// # Errors
/// Any failure, for `main` to print and turn into a non-zero exit.
pub fn run(
    command: &Command,
    mapping: Option<&PathBuf>,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    match command {
        Command::Demo(args) => demo::run_demo(args, out),
        Command::Info(args) => {
            let source = open(&args.store, mapping)?;
            let info = source.info()?;
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&info)?)?;
            } else {
                let rows = vec![
                    vec!["store".to_owned(), info.location.clone()],
                    vec![
                        "layout".to_owned(),
                        format!("{} — {}", info.layout, info.layout_detail),
                    ],
                    vec!["streams".to_owned(), info.stream_count.to_string()],
                    vec![
                        "events".to_owned(),
                        info.event_count.map_or_else(
                            || "not counted (the store cannot tell without a full read)".to_owned(),
                            |n| n.to_string(),
                        ),
                    ],
                    vec!["head position".to_owned(), info.head_position.to_string()],
                    vec!["snapshots".to_owned(), info.snapshot_count.to_string()],
                    vec!["checkpoints".to_owned(), info.checkpoint_names.join(", ")],
                ];
                write_table(out, &[], &rows)?;
            }
            Ok(())
        }
        Command::Streams(args) => {
            let source = open(&args.store, mapping)?;
            let query = StreamQuery {
                filter: args.filter.clone(),
                category: args.category.clone(),
                sort: match args.sort {
                    SortArg::Id => StreamSort::Id,
                    SortArg::Activity => StreamSort::LastActivity,
                },
                offset: args.offset,
                limit: 0,
            };
            let mut streams = Vec::new();
            let json = args.json;
            let paged = page_streams(source.as_ref(), &query, args.limit, &mut |page| {
                if json {
                    for stream in &page {
                        writeln!(out, "{}", serde_json::to_string(stream)?)?;
                    }
                } else {
                    streams.extend(page);
                }
                Ok::<(), anyhow::Error>(())
            })?;
            note_cut_short(&paged, "streams");
            if !json {
                let rows: Vec<Vec<String>> = streams
                    .iter()
                    .map(|s| {
                        vec![
                            s.stream_id.clone(),
                            s.category.clone(),
                            s.event_count.to_string(),
                            s.last_version.to_string(),
                            s.last_recorded_at.map(format_rfc3339).unwrap_or_default(),
                        ]
                    })
                    .collect();
                write_table(
                    out,
                    &[
                        "stream",
                        "category",
                        "events",
                        "last version",
                        "last activity",
                    ],
                    &rows,
                )?;
            }
            Ok(())
        }
        Command::Events(args) => {
            let source = open(&args.store, mapping)?;
            let direction = if args.backwards {
                Direction::Backwards
            } else {
                Direction::Forwards
            };
            let from_version = match args.at {
                None => args.from_version,
                Some(at) => match source.version_at(&args.stream, at)? {
                    Some(version) => Some(version),
                    None if source.stream(&args.stream)?.is_none() => {
                        bail!("stream not found: {}", args.stream)
                    }
                    None => bail!(
                        "stream {} has no event recorded at or before {}",
                        args.stream,
                        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    ),
                },
            };
            let mut printer = EventPrinter::new(args.json, args.raw);
            let paged = page_stream(
                source.as_ref(),
                &args.stream,
                from_version,
                direction,
                args.limit,
                &mut |page| printer.page(out, page),
            )?;
            // Only an empty read asks whether the stream exists: a summary walks the whole
            // stream, and a page must cost what the page costs.
            if paged.delivered == 0 && source.stream(&args.stream)?.is_none() {
                bail!("stream not found: {}", args.stream);
            }
            printer.finish(out)?;
            note_cut_short(&paged, "events");
            Ok(())
        }
        Command::Log(args) => {
            let source = open(&args.store, mapping)?;
            let mut query = LogQuery {
                from_position: args.from_position,
                direction: Direction::Forwards,
                limit: 0,
                ..args.scope.query()
            };
            if let Some(filter) = &args.filter {
                return search::run_where(source.as_ref(), filter, &query, args, out);
            }
            let mut limit = args.limit;
            if let Some(newest) = args.newest {
                query.direction = Direction::Backwards;
                limit = Limit::Count(newest);
            }
            if query.direction == Direction::Backwards {
                // The newest N, printed oldest first: collected, then reversed.
                let mut events = Vec::new();
                let paged = page_log(source.as_ref(), &query, limit, &mut |page| {
                    events.extend(page);
                    Ok::<(), anyhow::Error>(())
                })?;
                events.sort_by_key(|e| e.global_position);
                print_events(out, &events, args.json, args.raw)?;
                note_cut_short(&paged, "events");
                return Ok(());
            }
            let mut printer = EventPrinter::new(args.json, args.raw);
            let paged = page_log(source.as_ref(), &query, limit, &mut |page| {
                printer.page(out, page)
            })?;
            printer.finish(out)?;
            note_cut_short(&paged, "events");
            Ok(())
        }
        Command::Search(args) => {
            let source = open(&args.store, mapping)?;
            search::run_search(source.as_ref(), args, mapping.map(PathBuf::as_path), out)
        }
        Command::Audit(args) => {
            let source = open(&args.store, mapping)?;
            audit::run_audit(&source, args, out)
        }
        Command::Snapshots(args) => {
            let source = open(&args.store, mapping)?;
            let snapshots = source.snapshots(&args.stream)?;
            if args.json {
                for snapshot in &snapshots {
                    writeln!(out, "{}", serde_json::to_string(&snapshot.to_json())?)?;
                }
            } else {
                let rows: Vec<Vec<String>> = snapshots
                    .iter()
                    .map(|s| {
                        vec![
                            s.version.to_string(),
                            s.schema_version.map(|v| v.to_string()).unwrap_or_default(),
                            s.taken_at.map(format_rfc3339).unwrap_or_default(),
                        ]
                    })
                    .collect();
                write_table(out, &["version", "schema", "taken at"], &rows)?;
            }
            Ok(())
        }
        Command::Lag(args) => lag::run_lag(args, mapping, out),
        Command::State(args) => {
            let source = open(&args.store, mapping)?;
            crate::cli::replay::run_state(args, &source, out)
        }
        Command::CheckSnapshots(args) => {
            let source = open(&args.store, mapping)?;
            crate::cli::replay::run_check_snapshots(args, &source, out)
        }
        Command::Upcast(args) => {
            let source = open(&args.store, mapping)?;
            crate::cli::upcast::run_upcast(args, &source, out)
        }
        Command::VerifyEvidence(args) => {
            crate::cli::replay::run_verify_evidence(args, &|store| open(store, mapping), out)
        }
        Command::Trace(args) => {
            let source = open(&args.store, mapping)?;
            crate::cli::trace::run_trace(args, source.as_ref(), mapping.map(PathBuf::as_path), out)
        }
        Command::Checkpoints(args) => {
            let source = open(&args.store, mapping)?;
            let head = source.head()?;
            let checkpoints = source.checkpoints()?;
            if args.json {
                for checkpoint in &checkpoints {
                    let mut value = serde_json::to_value(checkpoint)?;
                    value["head"] = head.into();
                    writeln!(out, "{}", serde_json::to_string(&value)?)?;
                }
            } else {
                let rows: Vec<Vec<String>> = checkpoints
                    .iter()
                    .map(|c| {
                        vec![
                            c.name.clone(),
                            c.position.to_string(),
                            head.to_string(),
                            c.updated_at.map(format_rfc3339).unwrap_or_default(),
                        ]
                    })
                    .collect();
                write_table(out, &["name", "position", "head", "updated at"], &rows)?;
            }
            Ok(())
        }
        Command::Mapping(MappingCommand::Suggest { store }) => {
            write!(out, "{}", crate::source::sqlite::mapping::suggest(store)?)?;
            Ok(())
        }
    }
}

/// Says on stderr when a limit cut the output short (nothing is left out silently).
fn note_cut_short(paged: &Paged, what: &str) {
    if let Some(note) = cut_short_note(paged, what) {
        eprintln!("note: {note}");
    }
}

/// Prints events as pages arrive: JSON Lines at once, a table (whose column widths need
/// every row) at the end.
struct EventPrinter {
    json: bool,
    raw: bool,
    rows: Vec<crate::core::Event>,
}

impl EventPrinter {
    fn new(json: bool, raw: bool) -> Self {
        Self {
            json,
            raw,
            rows: Vec::new(),
        }
    }

    fn page(&mut self, out: &mut dyn std::io::Write, page: Vec<crate::core::Event>) -> Result<()> {
        if self.json {
            print_events(out, &page, true, self.raw)
        } else {
            self.rows.extend(page);
            Ok(())
        }
    }

    fn finish(self, out: &mut dyn std::io::Write) -> Result<()> {
        if self.json {
            Ok(())
        } else {
            print_events(out, &self.rows, false, self.raw)
        }
    }
}

fn print_events(
    out: &mut dyn std::io::Write,
    events: &[crate::core::Event],
    json: bool,
    raw: bool,
) -> Result<()> {
    if json {
        for event in events {
            // Stored JSON is written through as it is where nothing needs decoding.
            writeln!(out, "{}", event.to_json_line(raw)?)?;
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let text = serde_json::to_string(&e.payload.serialize_as(raw)).unwrap_or_default();
            event_row(e, cut_to(text, 80))
        })
        .collect();
    write_table(out, &event_header("payload"), &rows)
}

/// The header of [`event_row`]s.
pub(crate) fn event_header(last: &str) -> [&str; 6] {
    ["position", "stream", "version", "type", "recorded at", last]
}

/// A table row of an event: position, stream, version, type, time, then `last`.
pub(crate) fn event_row(e: &crate::core::Event, last: String) -> Vec<String> {
    vec![
        e.global_position.to_string(),
        e.stream_id.clone(),
        e.stream_version.to_string(),
        e.event_type.clone(),
        e.recorded_at.map(format_rfc3339).unwrap_or_default(),
        last,
    ]
}

/// `text` cut to at most `max` characters, the last one `…` when cut.
pub(crate) fn cut_to(text: String, max: usize) -> String {
    if text.chars().count() > max {
        text.chars().take(max - 1).collect::<String>() + "…"
    } else {
        text
    }
}

/// Writes rows as an aligned table (numbers right-aligned).
pub(crate) fn write_table(
    out: &mut dyn std::io::Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<()> {
    let columns = header.len().max(rows.first().map_or(0, Vec::len));
    let mut widths = vec![0usize; columns];
    for (i, h) in header.iter().enumerate() {
        widths[i] = h.chars().count();
    }
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let numeric: Vec<bool> = (0..columns)
        .map(|i| {
            !rows.is_empty()
                && rows
                    .iter()
                    .all(|r| r[i].is_empty() || r[i].parse::<f64>().is_ok())
        })
        .collect();
    let mut line = |cells: Vec<&str>| -> std::io::Result<()> {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let pad = widths[i] - cell.chars().count();
                if numeric[i] {
                    format!("{}{cell}", " ".repeat(pad))
                } else {
                    format!("{cell}{}", " ".repeat(pad))
                }
            })
            .collect();
        writeln!(out, "{}", parts.join("  ").trim_end())
    };
    if !header.is_empty() {
        line(header.to_vec())?;
    }
    for row in rows {
        line(row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}
