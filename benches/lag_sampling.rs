//! CPU cost of lag sampling: 50 projections sampled once a second (not a timed test).
//!
//! Writes a 1M-event demo store with 50 projection checkpoints spread over the log into
//! `target/bench-data/`, samples it every second for 60 s like the app does, and reports
//! the CPU time the sampling took as a share of one core (from /proc/self/stat).
//! Run: `cargo bench --bench lag_sampling`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

fn cpu_seconds() -> f64 {
    // utime + stime, fields 14 and 15 of /proc/self/stat, in clock ticks (100 Hz here).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and then there is nothing to do.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/lag-50.db");
    if !path.exists() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("bench-data dir");
        let options = eventscope::demo::DemoOptions {
            events: 1_000_000,
            ..Default::default()
        };
        eventscope::demo::write_demo(&path, &options, &mut |_| {}).expect("demo store");
        // Our own benchmark file: add projections until there are 50.
        let conn = rusqlite::Connection::open(&path).expect("open");
        for i in 0..46u64 {
            conn.execute(
                "INSERT INTO projection_checkpoints (name, position, updated_at) VALUES (?1, ?2, '2024-01-02T00:00:00Z')",
                rusqlite::params![format!("projection-{i:02}"), i64::try_from(1_000_000 - i * 20_000).unwrap_or(0)],
            )
            .expect("insert");
        }
    }
    let source = eventscope::source::open(path.to_str().expect("utf-8"), &Default::default())
        .expect("open store");
    let projections = source.checkpoints().expect("checkpoints").len();
    let seconds = std::env::var("LAG_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60u64);
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut rounds = 0u32;
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(seconds) {
        let round = Instant::now();
        let samples = eventscope::source::lag::sample_lag(source.as_ref(), &[], chrono::Utc::now())
            .expect("sample");
        assert_eq!(samples.len(), projections);
        slowest = slowest.max(round.elapsed());
        rounds += 1;
        std::thread::sleep(Duration::from_secs(1).saturating_sub(round.elapsed()));
    }
    let cpu = cpu_seconds() - cpu_before;
    let wall = started.elapsed().as_secs_f64();
    println!(
        "lag sampling: {projections} projections, {rounds} rounds in {wall:.1} s: CPU {cpu:.2} s = {:.2} % of one core; slowest round {:.1} ms",
        cpu / wall * 100.0,
        slowest.as_secs_f64() * 1e3
    );
}
