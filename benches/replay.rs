//! Replay benchmarks (a bench binary; numbers on stdout). Runs only with `cargo bench`:
//!
//! 1. Fold throughput of the demo's script reducer over the longest stream of the 1M-event
//!    demo store, against merely reading and parsing the same events through the source
//!    (budget: the fold takes ≤ 3× the read).
//! 2. Jump-to-version latency on a 100 000-event stream, after the first fold
//!    (budget: ≤ 50 ms), in random order.
//! 3. The store-wide drift report on the 1M-event demo store.
//!
//! 4. With `EVENTSCOPE_BENCH_GUIDE=guide10m.db` (the guide's layout, see
//!    `shared/tools/gen_guide_store.py`; opened read-only): only the big-store rows, each next
//!    to the engine doing the same work in the same run (a bare rusqlite read of the same
//!    payloads, then `serde_json` parsing each into a `Value`), and one micro-benchmark per
//!    step of the fold: hashing for evidence or not, page by page or through the reader
//!    thread, merging by clone or by move, the script's event text parsed or passed through.
//!    `EVENTSCOPE_BENCH_STREAM` (default `account-1`), `EVENTSCOPE_BENCH_ROUNDS` (default 3),
//!    `EVENTSCOPE_BENCH_SKIP=drift` skips the drift report.
//!
//! ```sh
//! cargo bench --bench replay
//! EVENTSCOPE_BENCH_STORE=/path/demo-1m.db cargo bench --bench replay
//! EVENTSCOPE_BENCH_GUIDE=/path/guide10m.db cargo bench --bench replay
//! ```
//! The 1M store is `$EVENTSCOPE_BENCH_STORE` or `<target dir>/bench-data/demo-1m.db` (written
//! on first use, ~1 min); the 100k-event stream store is written to a temp dir each run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use eventscope::core::query::{Direction, MAX_PAGE};
use eventscope::core::source::EventSource;
use eventscope::replay::config::{ProjectConfig, TrustStore};
use eventscope::replay::snapshots::{ReducerCache, drift_report};
use eventscope::replay::timeline::Timeline;

#[path = "replay/guide.rs"]
mod guide;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_owned()))
        })
        .unwrap_or_else(|| std::env::temp_dir().join("eventscope-bench"))
}

fn store_1m() -> PathBuf {
    if let Some(path) = std::env::var_os("EVENTSCOPE_BENCH_STORE") {
        return PathBuf::from(path);
    }
    let path = target_dir().join("bench-data").join("demo-1m.db");
    if !path.exists() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("bench-data dir");
        let partial = path.with_extension("db.partial");
        let _ = std::fs::remove_file(&partial);
        eprintln!("writing the 1M-event demo store to {} …", path.display());
        eventscope::demo::write_demo(
            &partial,
            &eventscope::demo::DemoOptions {
                events: 1_000_000,
                ..Default::default()
            },
            &mut |_| {},
        )
        .expect("demo store");
        std::fs::rename(&partial, &path).expect("rename");
    }
    path
}

fn open(path: &Path) -> Arc<dyn EventSource> {
    eventscope::source::open(path.to_str().expect("utf-8"), &Default::default()).expect("open")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

/// Reads a whole stream page by page (what a fold reads), returning the event count.
fn read_all(source: &dyn EventSource, stream: &str) -> u64 {
    let mut next = None;
    let mut n = 0;
    loop {
        let page = source
            .read_stream(stream, next, Direction::Forwards, MAX_PAGE)
            .expect("read");
        n += page.len() as u64;
        let Some(last) = page.last() else { break };
        next = Some(last.stream_version + 1);
        std::hint::black_box(&page);
        if (page.len() as u64) < MAX_PAGE {
            break;
        }
    }
    n
}

fn fold_throughput(source: &Arc<dyn EventSource>) {
    let stream = "account-0001";
    let config = ProjectConfig::demo();
    let mut read_times = Vec::new();
    let mut fold_times = Vec::new();
    let mut events = 0;
    for _ in 0..5 {
        let started = Instant::now();
        events = read_all(source.as_ref(), stream);
        read_times.push(started.elapsed().as_secs_f64());
        let reducer = config
            .choice_for("account")
            .expect("choice")
            .build(true)
            .expect("reducer");
        let started = Instant::now();
        // A fold with no kept states between (interval larger than the stream).
        let timeline = Timeline::build_with(
            source.clone(),
            stream,
            reducer,
            u64::MAX,
            usize::MAX,
            &mut |_| {},
        )
        .expect("fold");
        fold_times.push(started.elapsed().as_secs_f64());
        assert_eq!(timeline.events().len() as u64, events);
    }
    let read = median(read_times);
    let fold = median(fold_times);
    #[allow(clippy::cast_precision_loss)]
    let n = events as f64;
    println!("fold throughput ({stream}, {events} events, median of 5):");
    println!(
        "  read + parse only      {:>8.1} ms  {:>10.0} events/s",
        read * 1e3,
        n / read
    );
    println!(
        "  read + parse + script  {:>8.1} ms  {:>10.0} events/s",
        fold * 1e3,
        n / fold
    );
    println!(
        "  ratio fold / read      {:>8.2}×   (budget ≤ 3×)",
        fold / read
    );
}

fn hundred_k_stream(dir: &Path) -> PathBuf {
    let path = dir.join("one-stream.db");
    let conn = rusqlite::Connection::open(&path).expect("create");
    conn.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, aggregate_id TEXT NOT NULL, \
         version INTEGER NOT NULL, event_type TEXT NOT NULL, event_version INTEGER NOT NULL DEFAULT 1, \
         payload TEXT NOT NULL, metadata TEXT, created_at TEXT NOT NULL); \
         CREATE UNIQUE INDEX events_stream ON events(aggregate_id, version); BEGIN;",
    )
    .expect("schema");
    {
        let mut insert = conn
            .prepare(
                "INSERT INTO events (event_id, aggregate_id, version, event_type, payload, created_at) \
                 VALUES (?1, 'account-big', ?2, ?3, ?4, ?5)",
            )
            .expect("insert");
        for v in 1..=100_000u64 {
            let (kind, payload) = if v == 1 {
                (
                    "AccountOpened",
                    r#"{"accountId":"account-big","owner":"Ada Lovelace","currency":"EUR"}"#
                        .to_owned(),
                )
            } else if v % 3 == 0 {
                (
                    "Withdrawn",
                    format!(r#"{{"amountCents":{},"reference":"w-{v}"}}"#, v % 977),
                )
            } else {
                (
                    "Deposited",
                    format!(r#"{{"amountCents":{},"reference":"d-{v}"}}"#, v % 1499),
                )
            };
            let at =
                chrono::DateTime::from_timestamp(1_704_067_200 + i64::try_from(v).expect("v"), 0)
                    .expect("time");
            insert
                .execute(rusqlite::params![
                    format!("e-{v}"),
                    i64::try_from(v).expect("v"),
                    kind,
                    payload,
                    eventscope::core::time::format_rfc3339(at)
                ])
                .expect("row");
        }
    }
    conn.execute_batch("COMMIT;").expect("commit");
    path
}

fn jump_latency() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = hundred_k_stream(dir.path());
    let source = open(&path);
    let config = ProjectConfig::demo();
    let reducer = config
        .choice_for("account")
        .expect("choice")
        .build(true)
        .expect("reducer");
    let started = Instant::now();
    let mut timeline =
        Timeline::build(source, "account-big", reducer, &mut |_| {}).expect("first fold");
    let first_fold = started.elapsed();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut times = Vec::new();
    for _ in 0..300 {
        let version = rng.u64(1..=100_000);
        let started = Instant::now();
        let step = timeline.step_at_version(version).expect("step");
        times.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(step.version, version);
    }
    println!("jump to version (100 000-event stream, 300 random jumps):");
    println!(
        "  first fold {:.0} ms, {} kept states",
        first_fold.as_secs_f64() * 1e3,
        timeline.kept_states()
    );
    println!(
        "  p50 {:.2} ms  p95 {:.2} ms  max {:.2} ms   (budget ≤ 50 ms)",
        percentile(times.clone(), 0.5),
        percentile(times.clone(), 0.95),
        times.iter().copied().fold(0.0, f64::max)
    );
}

fn drift(source: &Arc<dyn EventSource>) {
    let config = ProjectConfig::demo();
    let trust = TrustStore::default();
    let mut cache = ReducerCache::new(&config, &trust);
    let started = Instant::now();
    let report = drift_report(source, &mut cache, None, |_, _| {}).expect("report");
    let took = started.elapsed();
    let s = &report.summary;
    println!("drift report (1M-event demo store):");
    println!(
        "  {:.1} s: {} streams, {} snapshots checked, {} match, {} drifted, {} errors",
        took.as_secs_f64(),
        s.streams,
        s.checked,
        s.matching,
        s.drifted,
        s.errors
    );
}

fn main() {
    // `cargo test --all-targets` runs bench binaries with `--bench`-less args: only run the
    // measurements under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("replay bench: run with `cargo bench --bench replay`");
        return;
    }
    if let Some(guide) = std::env::var_os("EVENTSCOPE_BENCH_GUIDE") {
        guide::run(Path::new(&guide));
        return;
    }
    let path = store_1m();
    let source = open(&path);
    println!("store: {}", path.display());
    fold_throughput(&source);
    jump_latency();
    drift(&source);
}
