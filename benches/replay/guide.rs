//! The big-store rows of issue #20 item 1 on the guide store, each next to the engine doing
//! the same work in the same run, plus one micro-benchmark per step of the fold. Every
//! figure is the median of `EVENTSCOPE_BENCH_ROUNDS` rounds (warm page cache: the first
//! round warms it, and is counted like the others).

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use eventscope::core::event::Event;
use eventscope::core::query::{Direction, MAX_PAGE};
use eventscope::core::source::EventSource;
use eventscope::replay::config::{ProjectConfig, TrustStore};
use eventscope::replay::evidence::{self, Target};
use eventscope::replay::generic::GenericReducer;
use eventscope::replay::script::{ScriptOptions, ScriptReducer};
use eventscope::replay::snapshots::{ReducerCache, drift_report};

const SCRIPT: &str = include_str!("guide_account.js");

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let started = Instant::now();
    let out = f();
    (started.elapsed().as_secs_f64(), out)
}

fn ro(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("open read-only")
}

/// The engine: the payloads of the query's rows, read (`parse = false`) or read and each
/// parsed into a `serde_json::Value`. Returns the row count.
fn engine(conn: &rusqlite::Connection, sql: &str, param: Option<&str>, parse: bool) -> u64 {
    let mut stmt = conn.prepare(sql).expect("prepare");
    let mut rows = match param {
        Some(p) => stmt.query([p]).expect("query"),
        None => stmt.query([]).expect("query"),
    };
    let mut n = 0u64;
    let mut bytes = 0usize;
    while let Some(row) = rows.next().expect("row") {
        let payload = row.get_ref(0).expect("payload").as_bytes().expect("text");
        if parse {
            let value: serde_json::Value = serde_json::from_slice(payload).expect("json");
            std::hint::black_box(&value);
        } else {
            bytes += payload.len();
        }
        n += 1;
    }
    std::hint::black_box(bytes);
    n
}

/// Page by page on this thread (what the fold did before the reader thread).
fn serial_fold(
    source: &dyn EventSource,
    stream: &str,
    reducer: &mut dyn eventscope::replay::Reducer,
    preparse: bool,
) -> u64 {
    reducer.reset(None).expect("reset");
    let mut next = None;
    let mut n = 0;
    loop {
        let page = source
            .read_stream(stream, next, Direction::Forwards, MAX_PAGE)
            .expect("read");
        for event in &page {
            if preparse {
                // The parse cached in the event: the merge then clones from it.
                std::hint::black_box(event.payload.as_json());
            }
            reducer.apply(event).expect("apply");
        }
        n += page.len() as u64;
        let Some(last) = page.last() else { break };
        next = Some(last.stream_version + 1);
        if (page.len() as u64) < MAX_PAGE {
            break;
        }
    }
    std::hint::black_box(reducer.state().expect("state"));
    n
}

fn read_pages(source: &dyn EventSource, stream: &str) -> Vec<Event> {
    let mut all = Vec::new();
    eventscope::replay::pipeline::for_each_page(
        source,
        stream,
        eventscope::replay::pipeline::ReadPlan::whole(),
        &mut |page| {
            all.extend(page);
            Ok(ControlFlow::Continue(()))
        },
    )
    .expect("read");
    all
}

struct Rows(Vec<(String, Vec<f64>)>);

impl Rows {
    fn add(&mut self, name: &str, secs: f64) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(secs),
            None => self.0.push((name.to_owned(), vec![secs])),
        }
    }

    fn get(&self, name: &str) -> f64 {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(f64::NAN, |(_, v)| median(v.clone()))
    }

    fn print(&self, base: &str) {
        let base = self.get(base);
        for (name, v) in &self.0 {
            let m = median(v.clone());
            println!(
                "  {name:<52} {:>9.1} ms  {:>6.2}× engine read+parse   [{}]",
                m * 1e3,
                m / base,
                v.iter()
                    .map(|s| format!("{:.0}", s * 1e3))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

pub fn run(path: &Path) {
    let stream =
        std::env::var("EVENTSCOPE_BENCH_STREAM").unwrap_or_else(|_| "account-1".to_owned());
    let rounds: usize = std::env::var("EVENTSCOPE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let skip = std::env::var("EVENTSCOPE_BENCH_SKIP").unwrap_or_default();
    let source: Arc<dyn EventSource> =
        eventscope::source::open(path.to_str().expect("utf-8"), &Default::default()).expect("open");
    let conn = ro(path);
    println!("store: {} (loadavg {})", path.display(), loadavg());
    let one_sql = "SELECT payload FROM events WHERE aggregate_id = ?1 ORDER BY version";
    let mut fold = Rows(Vec::new());
    let mut events = 0;
    for _ in 0..rounds {
        let (t, n) = time(|| engine(&conn, one_sql, Some(&stream), false));
        fold.add("engine: rusqlite read payloads", t);
        events = n;
        let (t, _) = time(|| engine(&conn, one_sql, Some(&stream), true));
        fold.add("engine: rusqlite read + serde_json Value", t);
        let (t, _) = time(|| read_pages(source.as_ref(), &stream).len());
        fold.add("eventscope: read events (reader thread)", t);

        // Steps of the generic fold, old to new.
        let (t, _) = time(|| {
            let mut r = GenericReducer::new();
            evidence::build(&source, "bench", &stream, Target::Latest, &mut r).expect("build")
        });
        fold.add("generic: with evidence hashing (old `state`)", t);
        let (t, _) =
            time(|| serial_fold(source.as_ref(), &stream, &mut GenericReducer::new(), true));
        fold.add("generic: page by page, parse cached + clone merge", t);
        let (t, _) =
            time(|| serial_fold(source.as_ref(), &stream, &mut GenericReducer::new(), false));
        fold.add("generic: page by page, own parse + move merge", t);
        let (t, state) = time(|| {
            let mut r = GenericReducer::new();
            evidence::fold_to(
                source.as_ref(),
                &stream,
                Target::Latest,
                &mut r,
                &mut |_| {},
            )
            .expect("fold")
        });
        std::hint::black_box(state);
        fold.add("generic: `state --generic` (reader thread + move)", t);

        // The script reducer.
        let options = ScriptOptions::default();
        let (t, _) = time(|| {
            let mut r = ScriptReducer::new("guide_account.js", SCRIPT, &options).expect("script");
            evidence::fold_to(
                source.as_ref(),
                &stream,
                Target::Latest,
                &mut r,
                &mut |_| {},
            )
            .expect("fold")
        });
        fold.add("script: `state --reducer guide_account.js`", t);
        let read = read_pages(source.as_ref(), &stream);
        let (t, _) = time(|| {
            for event in &read {
                std::hint::black_box(eventscope::script::event_json_parsed(event));
            }
        });
        fold.add("script step: event text via parsed Value (old)", t);
        let (t, _) = time(|| {
            for event in &read {
                std::hint::black_box(eventscope::script::event_json(event));
            }
        });
        fold.add("script step: event text passed through (new)", t);
    }
    println!(
        "fold {stream} ({events} events, median of {rounds}; loadavg {}):",
        loadavg()
    );
    fold.print("engine: rusqlite read + serde_json Value");

    if skip.contains("drift") {
        return;
    }
    let snap_sql = "SELECT payload FROM events WHERE aggregate_id IN (SELECT DISTINCT aggregate_id FROM snapshots)";
    let mut drift = Rows(Vec::new());
    let mut checked = 0;
    let mut n = 0;
    for _ in 0..rounds {
        let (t, rows) = time(|| engine(&conn, snap_sql, None, false));
        n = rows;
        drift.add("engine: rusqlite read payloads", t);
        let (t, _) = time(|| engine(&conn, snap_sql, None, true));
        drift.add("engine: rusqlite read + serde_json Value", t);
        let config = ProjectConfig::none();
        let trust = TrustStore::default();
        let mut cache =
            ReducerCache::with_override(&config, &trust, Box::new(GenericReducer::new()));
        let (t, report) =
            time(|| drift_report(&source, &mut cache, None, |_, _| {}).expect("drift"));
        checked = report.summary.checked;
        drift.add("drift report, generic (`check-snapshots`)", t);
    }
    println!(
        "drift report ({n} events of the snapshotted streams, {checked} snapshots, median of {rounds}; loadavg {}):",
        loadavg()
    );
    drift.print("engine: rusqlite read + serde_json Value");
}
