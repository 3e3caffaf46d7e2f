//! `eventscope search` (every event that mentions a text) and `eventscope log --where`
//! (structured filters).

use std::ops::ControlFlow;

use anyhow::Result;
use clap::Args;

use crate::core::event::Event;
use crate::core::paging::Limit;
use crate::core::query::{Direction, LogQuery};
use crate::core::source::EventSource;
use crate::core::time::format_rfc3339;
use crate::search::filter::Filter;
use crate::search::index::SearchIndex;
use crate::search::scan::{PAGE, Scan, scan, scan_indexed};
use crate::search::{Match, Needle};

/// `search` arguments.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The store: a SQLite file, or a server URL (`postgres://`, `esdb://`, `umadb://` …).
    pub store: String,
    /// The text to find (an order number, an email address, any id…), ignoring case.
    pub text: String,
    /// Maximum number of events, or `all` (a note on stderr says when more follow).
    #[arg(long, default_value = "100", value_parser = Limit::parse)]
    pub limit: Limit,
    #[command(flatten)]
    pub scope: super::ScopeArgs,
    /// Print JSON Lines: the `log --json` fields plus `matched: [{path, value}]`.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV, one row per match: position, stream, version, type, recorded_at,
    /// event_id, path, value (for a subject-access request or a deletion plan).
    #[arg(long)]
    pub csv: bool,
    /// Use the full-text index in eventscope's cache directory (built or caught up first;
    /// later runs answer from it) instead of scanning the whole store.
    #[arg(long)]
    pub index: bool,
    /// Keep the index under DIR instead of eventscope's cache directory (implies --index).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,
}

/// How hits are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Csv,
}

/// Runs `search`: hits newest first.
///
/// # Errors
/// When the store cannot be read or the output cannot be written.
pub fn run_search(
    source: &dyn EventSource,
    args: &SearchArgs,
    mapping: Option<&std::path::Path>,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let Some(needle) = Needle::new(&args.text) else {
        anyhow::bail!("nothing to search for: the text is empty");
    };
    let scope = args.scope.query();
    let matcher = |event: &Event| {
        let matches = needle.matches(event);
        (!matches.is_empty()).then_some(matches)
    };
    let format = if args.json {
        Format::Json
    } else if args.csv {
        Format::Csv
    } else {
        Format::Table
    };
    let index = if args.index || args.cache_dir.is_some() {
        Some(open_index(
            source,
            &args.store,
            args.cache_dir.as_deref(),
            mapping,
        )?)
    } else {
        None
    };
    let fts_query = needle.fts_query();
    if index.is_some() && fts_query.is_none() {
        eprintln!(
            "note: the full-text index cannot answer {:?} (shorter than 3 characters, or a \
             letter whose case folding differs), so the store is scanned",
            needle.text()
        );
    }
    let indexed = index.as_ref().zip(fts_query.as_deref());
    let found = print_scan(
        source,
        &Scan {
            scope,
            prefilter: needle.prefilter(),
            matcher: &matcher,
        },
        indexed,
        args.limit,
        format,
        out,
    )?;
    if found == 0 {
        eprintln!("note: no event mentions {:?}", needle.text());
    }
    Ok(())
}

/// Runs `log --where FILTER`: matching events in global order from `query`'s position, or
/// with `newest`, the newest N of them (printed oldest first).
///
/// # Errors
/// A filter that does not parse (with a caret under the column), a store that cannot be
/// read, output that cannot be written.
pub fn run_where(
    source: &dyn EventSource,
    filter_text: &str,
    query: &LogQuery,
    args: &super::LogArgs,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let (limit, newest) = (args.limit, args.newest);
    let filter = Filter::parse(filter_text).map_err(|e| anyhow::anyhow!(e.pointed(filter_text)))?;
    let scope = filter.scope(query);
    let needle = filter.prefilter();
    let prefilter = needle.as_ref().and_then(Needle::prefilter);
    let mut events = Vec::new();
    let mut more = false;
    if let Some(newest) = newest {
        let matcher = |event: &Event| filter.matches(event).then(Vec::new);
        scan(
            source,
            &Scan {
                scope,
                prefilter,
                matcher: &matcher,
            },
            |hit| {
                events.push(hit.event);
                if events.len() as u64 >= newest {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )?;
        events.sort_by_key(|e| e.global_position);
    } else {
        let wanted = match limit {
            Limit::Count(n) => n,
            Limit::All => u64::MAX,
        };
        let mut page_query = LogQuery {
            direction: Direction::Forwards,
            limit: PAGE,
            ..scope
        };
        'pages: loop {
            let page = source.search_log(&page_query, 0, prefilter)?;
            let full = page.len() as u64 >= PAGE;
            let Some(last) = page.iter().map(|e| e.global_position).max() else {
                break;
            };
            for event in page {
                if filter.matches(&event) {
                    if events.len() as u64 >= wanted {
                        more = true;
                        break 'pages;
                    }
                    events.push(event);
                }
            }
            if !full {
                break;
            }
            page_query.from_position = Some(last + 1);
        }
    }
    let mut printer = super::EventPrinter::new(args.json, args.raw);
    printer.page(out, events.clone())?;
    printer.finish(out)?;
    if more {
        eprintln!(
            "note: showing {} events; more match (--limit N or --limit all)",
            events.len()
        );
    } else if events.is_empty() {
        eprintln!("note: no event matches {filter_text:?}");
    }
    Ok(())
}

/// Opens the full-text index of a store and catches it up to the head, with a line on
/// stderr for what it did.
fn open_index(
    source: &dyn EventSource,
    store: &str,
    cache_dir: Option<&std::path::Path>,
    mapping: Option<&std::path::Path>,
) -> Result<SearchIndex> {
    use anyhow::Context as _;
    let identity = crate::history::store_identity(store);
    let config = crate::cli::trace::index_config(mapping);
    let index = match cache_dir {
        Some(dir) => SearchIndex::open_in(dir, &identity, &config),
        None => SearchIndex::open(&identity, &config),
    }
    .context("opening the full-text index")?;
    if let Some(reason) = &index.replaced {
        eprintln!("note: the full-text index was unusable ({reason}) and is rebuilt");
    }
    let started = std::time::Instant::now();
    let caught = index
        .catch_up(source, u64::MAX, &mut |_, _| {})
        .context("building the full-text index")?;
    if let Some(reason) = caught.restarted {
        eprintln!("note: the full-text index started over: {reason}");
    }
    if caught.added > 0 {
        eprintln!(
            "note: indexed {} events in {:.1} s; the index ({}) is {}",
            crate::core::thousands(caught.added),
            started.elapsed().as_secs_f64(),
            index.path().display(),
            crate::core::bytes(index.size_on_disk()),
        );
    }
    Ok(index)
}

/// Scans and prints hits as they come (tables once the scan ends, so the columns line up).
/// Returns how many were printed.
fn print_scan(
    source: &dyn EventSource,
    search: &Scan<'_>,
    indexed: Option<(&SearchIndex, &str)>,
    limit: Limit,
    format: Format,
    out: &mut dyn std::io::Write,
) -> Result<u64> {
    let wanted = match limit {
        Limit::Count(n) => n,
        Limit::All => u64::MAX,
    };
    let mut printed = 0u64;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut failure: Option<std::io::Error> = None;
    let mut more = false;
    if format == Format::Csv {
        writeln!(
            out,
            "global_position,stream_id,stream_version,event_type,recorded_at,event_id,path,value"
        )?;
    }
    let on_hit = |hit: crate::search::scan::Hit| {
        if printed >= wanted {
            more = true;
            return ControlFlow::Break(());
        }
        printed += 1;
        let written = match format {
            Format::Json => {
                json_line(&hit.event, &hit.matches).and_then(|line| writeln!(out, "{line}"))
            }
            Format::Csv => csv_rows(out, &hit.event, &hit.matches),
            Format::Table => {
                rows.push(table_row(&hit.event, &hit.matches));
                Ok(())
            }
        };
        match written {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        }
    };
    let end = match indexed {
        Some((index, query)) => scan_indexed(source, index, query, search, on_hit)?,
        None => scan(source, search, on_hit)?,
    };
    if let Some(e) = failure {
        return Err(e.into());
    }
    if format == Format::Table {
        super::write_table(out, &super::event_header("matched"), &rows)?;
    }
    if let Some(why) = end.index_failed {
        eprintln!(
            "note: the full-text index failed part way ({why}); the rest of the log was scanned"
        );
    }
    if more {
        eprintln!(
            "note: showing the newest {printed} matching events; more match (--limit N or --limit all)"
        );
    } else if !end.complete && printed > 0 {
        eprintln!("note: the search stopped before the start of the log");
    }
    Ok(printed)
}

fn json_line(event: &Event, matches: &[Match]) -> std::io::Result<String> {
    let mut value = event.to_json();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "matched".to_owned(),
            serde_json::to_value(matches).unwrap_or_default(),
        );
    }
    serde_json::to_string(&value).map_err(std::io::Error::other)
}

fn table_row(event: &Event, matches: &[Match]) -> Vec<String> {
    let mut shown = matches
        .first()
        .map(|m| format!("{} = {}", m.path, m.value))
        .unwrap_or_default();
    if matches.len() > 1 {
        shown.push_str(&format!(" (+{} more)", matches.len() - 1));
    }
    super::event_row(event, super::cut_to(shown, 100))
}

/// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn csv_rows(out: &mut dyn std::io::Write, event: &Event, matches: &[Match]) -> std::io::Result<()> {
    for m in matches {
        let fields = [
            event.global_position.to_string(),
            event.stream_id.clone(),
            event.stream_version.to_string(),
            event.event_type.clone(),
            event.recorded_at.map(format_rfc3339).unwrap_or_default(),
            event.event_id.clone().unwrap_or_default(),
            m.path.clone(),
            m.value.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}
