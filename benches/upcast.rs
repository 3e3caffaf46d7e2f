//! Bulk upcaster check over a 1M-event demo store vs merely reading and parsing the same
//! events (budget: the check within 3× of the read). A plain bench binary: it prints events/s
//! for both and the ratio, best of three runs each.
//!
//! Store: `$EVENTSCOPE_BENCH_STORE` if set, else `<target dir>/bench-data/demo-1m.db`
//! (written once with `eventscope::demo::write_demo`, 1 000 000 events, seed 42, when
//! missing). Opened read-only.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-bench cargo bench --bench upcast
//! EVENTSCOPE_BENCH_STORE=/path/demo-1m.db cargo bench --bench upcast
//! ```
//!
//! The check runs the demo's upcasters (`assets/demo/upcasters.js`: OrderPlaced v1 → v2,
//! CustomerTierChanged v1 → v2 → v3) over every event of the store, with version counts and
//! the shape check of upcasted vs native events.
//!
//! Measured (2026-11-26, release, 2 cores, idle): read + parse 642 ms (1.56M events/s),
//! bulk check 1 695 ms (590k events/s, 28 911 events upcast): 2.64×, within the 3× budget.
//! (A dev-profile run gave 1.64×: there the reading is slower, not the check faster.)

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use eventscope::core::query::{LogQuery, MAX_PAGE};
use eventscope::core::source::EventSource;
use eventscope::upcast::check::check;
use eventscope::upcast::engine::DEFAULT_BUDGET;
use eventscope::upcast::{UpcasterSource, Upcasters, VersionRules};

const EVENTS: u64 = 1_000_000;
const RUNS: usize = 3;

fn store() -> PathBuf {
    if let Ok(path) = std::env::var("EVENTSCOPE_BENCH_STORE") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    let path = target.join("bench-data/demo-1m.db");
    if !path.exists() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("bench-data dir");
        eprintln!("writing {} ({EVENTS} events)…", path.display());
        eventscope::demo::write_demo(
            &path,
            &eventscope::demo::DemoOptions {
                events: EVENTS,
                ..Default::default()
            },
            &mut |_| {},
        )
        .expect("write the bench store");
    }
    path
}

/// Reads every event through the source (SQL + JSON parsing into `Event`s) and touches the
/// payloads.
fn read_all(source: &dyn EventSource) -> (u64, usize) {
    let mut count = 0u64;
    let mut bytes = 0usize;
    let mut from = Some(0u64);
    while let Some(position) = from {
        let page = source
            .read_log(&LogQuery {
                from_position: Some(position),
                limit: MAX_PAGE,
                ..LogQuery::default()
            })
            .expect("read");
        let Some(last) = page.last() else { break };
        from = last.global_position.checked_add(1);
        for event in &page {
            count += 1;
            bytes += event.payload.approx_len();
        }
        if (page.len() as u64) < MAX_PAGE {
            break;
        }
    }
    (count, black_box(bytes))
}

fn best(mut run: impl FnMut() -> u64) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut events = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        events = run();
        best = best.min(started.elapsed());
    }
    (best, events)
}

#[allow(clippy::cast_precision_loss)] // Rates for a report.
fn rate(events: u64, took: Duration) -> f64 {
    events as f64 / took.as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it:
    // measure only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let path = store();
    let source = eventscope::source::open(
        path.to_str().expect("utf-8 path"),
        &eventscope::source::OpenOptions::default(),
    )
    .expect("open the bench store");
    let upcasters = Upcasters::new(
        &[UpcasterSource {
            label: "demo/upcasters.js".to_owned(),
            text: eventscope::upcast::DEMO_UPCASTERS.to_owned(),
        }],
        VersionRules::default(),
        DEFAULT_BUDGET,
    )
    .expect("demo upcasters");

    let (read_took, read_events) = best(|| read_all(source.as_ref()).0);
    let mut upcast_ok = 0;
    let (check_took, check_events) = best(|| {
        let report = check(source.as_ref(), &upcasters, None, &mut |_| {}).expect("check");
        upcast_ok = report.types.iter().map(|t| t.upcast_ok).sum();
        report.scanned
    });
    assert_eq!(read_events, check_events, "both read every event");
    let ratio = check_took.as_secs_f64() / read_took.as_secs_f64();
    println!("store: {} ({read_events} events)", path.display());
    println!(
        "read + parse:     {:>8.0} ms  {:>10.0} events/s",
        read_took.as_secs_f64() * 1e3,
        rate(read_events, read_took)
    );
    println!(
        "bulk check:       {:>8.0} ms  {:>10.0} events/s  ({upcast_ok} events upcast)",
        check_took.as_secs_f64() * 1e3,
        rate(check_events, check_took)
    );
    println!(
        "ratio: {ratio:.2}× (budget ≤ 3×: {})",
        if ratio <= 3.0 { "within" } else { "EXCEEDED" }
    );
}
