//! Read-path benchmarks of the SQLite source on a 1M-event demo store, through the
//! `EventSource` trait (what the app and the CLI call), next to a baseline that runs the
//! same SQL on a bare rusqlite connection of the same bundled SQLite and only touches the
//! columns (no conversion into `Event`s).
//!
//! The store is written once by `eventscope::demo::write_demo` (1 000 000 events, seed 42)
//! and reused: `$EVENTSCOPE_BENCH_STORE` if set, else `<target dir>/bench-data/demo-1m.db`
//! (`$CARGO_TARGET_DIR` or the target directory this bench binary was built into), never a
//! path inside the repository.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-bench cargo bench --bench source
//! CARGO_TARGET_DIR=/work/target-bench cargo bench --bench source -- read_log   # one group
//! scripts/bench-sqlite3.sh /work/target-bench/bench-data/demo-1m.db           # sqlite3 shell
//! ```
//!
//! Medians are in `<target dir>/criterion/<group>/<function>/new/estimates.json`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use eventscope::core::query::{Direction, LogQuery, StreamQuery};
use eventscope::core::source::EventSource;
use eventscope::demo::{DemoOptions, write_demo};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

const EVENTS: u64 = 1_000_000;
const HOT_STREAM: &str = "account-0001";
const PAGE: u64 = 500;
const STREAMS_PAGE: u64 = 100;

/// The SQL the design layout's source issues for the three reads (see
/// `src/source/sqlite/sql.rs` and `mod.rs`; checked by tracing the prepared statements).
/// Kept identical, character for character, to what the source prepares, and mirrored in
/// `scripts/bench-sqlite3.sh`; the baseline checks that it returns the same rows as the
/// source, so a drift in semantics fails loudly.
const EVENT_COLUMNS: &str = r#""id", "aggregate_id", "version", "event_type", "event_id", "payload", "metadata", "created_at", "event_version""#;

/// `list_streams`: index-only aggregates for a page of streams, then, per stream, the time
/// and type of its first and last events (two point lookups, `STREAM_FIRST`/`STREAM_LAST`).
const LIST_STREAMS: &str = r#"SELECT "aggregate_id", COUNT(*), MAX("version"), MAX("id") FROM "events" WHERE 1 GROUP BY "aggregate_id" ORDER BY "aggregate_id" ASC LIMIT ?1 OFFSET ?2"#;
const STREAM_FIRST: &str = r#"SELECT "created_at", "event_type" FROM "events" WHERE 1 AND "aggregate_id" = ?1 ORDER BY "version" ASC LIMIT 1"#;
const STREAM_LAST: &str = r#"SELECT "created_at", "event_type" FROM "events" WHERE 1 AND "aggregate_id" = ?1 ORDER BY "version" DESC LIMIT 1"#;

fn read_stream_sql() -> String {
    format!(
        r#"SELECT {EVENT_COLUMNS} FROM "events" WHERE 1 AND "aggregate_id" = ?1 AND "version" >= ?2 ORDER BY "version" ASC LIMIT ?3"#
    )
}

fn read_log_sql() -> String {
    format!(
        r#"SELECT {EVENT_COLUMNS} FROM "events" WHERE 1 AND "id" >= ?1 ORDER BY "id" ASC LIMIT ?2"#
    )
}

/// Where the cached store lives.
fn store_path() -> PathBuf {
    if let Some(path) = std::env::var_os("EVENTSCOPE_BENCH_STORE") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // <target>/release/deps/source-<hash>
            std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_owned()))
        })
        .unwrap_or_else(|| std::env::temp_dir().join("eventscope-bench"));
    target.join("bench-data").join("demo-1m.db")
}

/// Writes the 1M-event demo store unless it is already there. Written under a temporary
/// name and renamed, so an interrupted run never leaves a partial store behind.
fn ensure_store(path: &Path) -> PathBuf {
    if path.exists() {
        return path.to_owned();
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the bench-data directory");
    }
    let partial = path.with_extension("db.partial");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = partial.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    eprintln!(
        "writing the {EVENTS}-event demo store to {} (once) …",
        path.display()
    );
    let started = Instant::now();
    let summary = write_demo(
        &partial,
        &DemoOptions {
            events: EVENTS,
            ..Default::default()
        },
        &mut |_| {},
    )
    .expect("write the demo store");
    std::fs::rename(&partial, path).expect("move the demo store into place");
    eprintln!(
        "wrote {} events, {} streams in {:.1?}",
        summary.events,
        summary.streams,
        started.elapsed()
    );
    path.to_owned()
}

/// The store and the positions the reads start from.
struct Fixture {
    path: PathBuf,
    source: std::sync::Arc<dyn EventSource>,
    from_version: u64,
    from_position: u64,
}

fn fixture() -> Fixture {
    let path = ensure_store(&store_path());
    let location = path.to_str().expect("UTF-8 store path");
    let source = eventscope::source::open(location, &Default::default()).expect("open the store");
    let hot = source
        .stream(HOT_STREAM)
        .expect("read the hot stream")
        .expect("the demo store has the hot stream");
    let head = source.head().expect("read the head");
    let fixture = Fixture {
        path,
        source,
        from_version: hot.event_count / 2,
        from_position: head / 2,
    };
    eprintln!(
        "store {}: head {head}, {HOT_STREAM} has {} events; reading from version {} and position {}",
        fixture.path.display(),
        hot.event_count,
        fixture.from_version,
        fixture.from_position
    );
    fixture
}

fn stream_query() -> StreamQuery {
    StreamQuery {
        limit: STREAMS_PAGE,
        ..Default::default()
    }
}

fn log_query(from_position: u64) -> LogQuery {
    LogQuery {
        from_position: Some(from_position),
        limit: PAGE,
        ..Default::default()
    }
}

/// A connection opened the way the source opens this store (read-only; `immutable=1` for a
/// WAL store whose `-wal` is gone, which is how `write_demo` leaves it).
fn baseline_connection(path: &Path) -> Connection {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let absolute = std::path::absolute(path).expect("absolute store path");
    let immutable = if Path::new(&wal).exists() {
        ""
    } else {
        "&immutable=1"
    };
    let uri = format!("file:{}?mode=ro{immutable}", absolute.display());
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .expect("open the baseline connection");
    conn.pragma_update(None, "query_only", true)
        .expect("query_only");
    conn
}

/// Runs `sql` and touches every column of every row the way a shell printing them would
/// have to (lengths of text and blobs, numbers as is); returns the first column of each row.
fn baseline_rows(conn: &Connection, sql: &str, params: &[rusqlite::types::Value]) -> Vec<i64> {
    let mut stmt = conn.prepare_cached(sql).expect("prepare");
    let columns = stmt.column_count();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .expect("query");
    let mut firsts = Vec::with_capacity(PAGE as usize);
    let mut touched = 0usize;
    while let Some(row) = rows.next().expect("step") {
        for i in 0..columns {
            touched = touched.wrapping_add(match row.get_ref(i).expect("column") {
                ValueRef::Null => 0,
                ValueRef::Integer(n) => n as usize,
                ValueRef::Real(r) => r as usize,
                ValueRef::Text(t) | ValueRef::Blob(t) => t.len(),
            });
        }
        firsts.push(match row.get_ref(0).expect("column") {
            ValueRef::Integer(n) => n,
            _ => 0,
        });
    }
    black_box(touched);
    firsts
}

/// `list_streams` on the bare connection: the page of summaries, then the first and last
/// event of each stream, every column touched; returns the stream ids.
fn baseline_list_streams(conn: &Connection, params: &[rusqlite::types::Value]) -> Vec<String> {
    let mut stmt = conn.prepare_cached(LIST_STREAMS).expect("prepare");
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .expect("query");
    let mut ids = Vec::with_capacity(STREAMS_PAGE as usize);
    let mut touched = 0usize;
    while let Some(row) = rows.next().expect("step") {
        let id: rusqlite::types::Value = row.get(0).expect("stream id");
        for i in 1..4 {
            touched = touched
                .wrapping_add(row.get::<_, Option<i64>>(i).expect("column").unwrap_or(0) as usize);
        }
        for sql in [STREAM_FIRST, STREAM_LAST] {
            conn.prepare_cached(sql)
                .expect("prepare")
                .query_row([&id], |end| {
                    for i in 0..2 {
                        if let ValueRef::Text(t) = end.get_ref(i)? {
                            touched = touched.wrapping_add(t.len());
                        }
                    }
                    Ok(())
                })
                .expect("first / last event");
        }
        if let rusqlite::types::Value::Text(id) = id {
            ids.push(id);
        }
    }
    black_box(touched);
    ids
}

fn text(value: &str) -> rusqlite::types::Value {
    rusqlite::types::Value::Text(value.to_owned())
}

fn int(value: u64) -> rusqlite::types::Value {
    rusqlite::types::Value::Integer(i64::try_from(value).expect("fits in i64"))
}

fn benches(c: &mut Criterion) {
    let fx = fixture();
    let source = fx.source.as_ref();
    let conn = baseline_connection(&fx.path);

    let list_params = [int(STREAMS_PAGE), int(0)];
    let stream_params = [text(HOT_STREAM), int(fx.from_version), int(PAGE)];
    let log_params = [int(fx.from_position), int(PAGE)];
    let stream_sql = read_stream_sql();
    let log_sql = read_log_sql();

    // Check once that every read returns a full page and that the baseline's SQL returns
    // exactly the rows the source returns.
    let streams = source.list_streams(&stream_query()).expect("list streams");
    assert_eq!(streams.len(), STREAMS_PAGE as usize);
    let ids: Vec<String> = streams.iter().map(|s| s.stream_id.clone()).collect();
    assert_eq!(baseline_list_streams(&conn, &list_params), ids);
    let events = source
        .read_stream(HOT_STREAM, Some(fx.from_version), Direction::Forwards, PAGE)
        .expect("read stream");
    assert_eq!(events.len(), PAGE as usize);
    assert_eq!(events[0].stream_version, fx.from_version);
    let positions: Vec<i64> = events
        .iter()
        .map(|e| i64::try_from(e.global_position).expect("fits"))
        .collect();
    assert_eq!(baseline_rows(&conn, &stream_sql, &stream_params), positions);
    let log = source
        .read_log(&log_query(fx.from_position))
        .expect("read log");
    assert_eq!(log.len(), PAGE as usize);
    assert_eq!(log[0].global_position, fx.from_position);
    let positions: Vec<i64> = log
        .iter()
        .map(|e| i64::try_from(e.global_position).expect("fits"))
        .collect();
    assert_eq!(baseline_rows(&conn, &log_sql, &log_params), positions);

    let mut group = c.benchmark_group("list_streams");
    group.bench_function("source_first_100", |b| {
        b.iter(|| {
            source
                .list_streams(black_box(&stream_query()))
                .expect("list")
        });
    });
    group.bench_function("sqlite_baseline_first_100", |b| {
        b.iter(|| baseline_list_streams(&conn, black_box(&list_params)));
    });
    group.finish();

    let mut group = c.benchmark_group("read_stream");
    group.bench_function("source_hot_mid_500", |b| {
        b.iter(|| {
            source
                .read_stream(
                    black_box(HOT_STREAM),
                    Some(fx.from_version),
                    Direction::Forwards,
                    PAGE,
                )
                .expect("read stream")
        });
    });
    group.bench_function("sqlite_baseline_hot_mid_500", |b| {
        b.iter(|| baseline_rows(&conn, &stream_sql, black_box(&stream_params)));
    });
    group.finish();

    let mut group = c.benchmark_group("read_log");
    group.bench_function("source_mid_500", |b| {
        b.iter(|| {
            source
                .read_log(black_box(&log_query(fx.from_position)))
                .expect("read log")
        });
    });
    group.bench_function("sqlite_baseline_mid_500", |b| {
        b.iter(|| baseline_rows(&conn, &log_sql, black_box(&log_params)));
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(40)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! {
    name = source_benches;
    config = config();
    targets = benches
}
fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and then there is nothing to do (and no 1M-event store to write).
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    source_benches();
    Criterion::default().configure_from_args().final_summary();
}
