//! Nothing is ever written to a user's store, and writers are never held up.

use std::path::Path;
use std::time::{Duration, Instant};

use eventscope::core::{Direction, EventSource, LogQuery, StreamQuery};

use crate::common::{copy_fixture, open, store_fingerprint};

/// Runs every read operation of the trait once.
fn exercise(source: &dyn EventSource) {
    let info = source.info().unwrap();
    source.head().unwrap();
    let streams = source
        .list_streams(&StreamQuery {
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    source
        .count_streams(&StreamQuery {
            filter: Some("a".into()),
            ..Default::default()
        })
        .unwrap();
    source.categories().unwrap();
    source.event_types().unwrap();
    if let Some(first) = streams.first() {
        source.stream(&first.stream_id).unwrap();
        source
            .read_stream(&first.stream_id, None, Direction::Forwards, 20)
            .unwrap();
        source
            .read_stream(&first.stream_id, None, Direction::Backwards, 20)
            .unwrap();
        source.snapshots(&first.stream_id).unwrap();
        source
            .version_at(&first.stream_id, chrono::Utc::now())
            .unwrap();
    }
    source
        .read_log(&LogQuery {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    source.read_log(&LogQuery::newest(10)).unwrap();
    source.checkpoints().unwrap();
    assert!(info.event_count.is_some_and(|n| n > 0));
}

fn assert_untouched(path: &Path, source_fn: impl Fn(&Path)) {
    let before = store_fingerprint(path);
    source_fn(path);
    assert_eq!(
        store_fingerprint(path),
        before,
        "store or directory changed: {}",
        path.display()
    );
}

#[test]
fn reads_never_write_to_fixture_stores() {
    let dir = tempfile::tempdir().unwrap();
    for fixture in [
        "eventsourcing/es_sqlite.db",
        "eventsourcing/es_sqlite_downstream.db",
        "eventsourcing/es_sqlalchemy.db",
        "emmett/emmett.db",
    ] {
        let path = copy_fixture(fixture, dir.path());
        assert_untouched(&path, |p| exercise(open(p).as_ref()));
    }
}

fn write_wal_store(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT, aggregate_id TEXT NOT NULL, \
         version INTEGER NOT NULL, event_type TEXT NOT NULL, event_version INTEGER, payload TEXT, \
         metadata TEXT, created_at TEXT);",
    )
    .unwrap();
    for i in 1..=500 {
        append(&conn, i);
    }
    conn
}

fn append(conn: &rusqlite::Connection, i: i64) {
    conn.execute(
        "INSERT INTO events (event_id, aggregate_id, version, event_type, event_version, payload, metadata, created_at) \
         VALUES (?1, ?2, ?3, 'Ticked', 1, ?4, '{}', '2024-01-01T00:00:00Z')",
        rusqlite::params![format!("e{i}"), format!("clock-{}", i % 7), i / 7 + 1, format!("{{\"n\":{i}}}")],
    )
    .unwrap();
}

/// Not a test on its own: the writer process for `wal_store_is_not_modified_by_reads`,
/// run by re-invoking this test binary. It writes a WAL store, then holds it open, idle,
/// until its stdin closes (so `-wal` and `-shm` stay in place, owned by another process).
#[test]
#[ignore = "helper process, started by wal_store_is_not_modified_by_reads"]
fn wal_writer_child() {
    let Ok(path) = std::env::var("EVENTSCOPE_WAL_CHILD") else {
        return;
    };
    let writer = write_wal_store(Path::new(&path));
    println!("ready");
    use std::io::Read as _;
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink).ok();
    drop(writer);
}

#[test]
fn wal_store_is_not_modified_by_reads() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "readonly::wal_writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("EVENTSCOPE_WAL_CHILD", &path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|line| line.unwrap().contains("ready")),
        "writer process did not start"
    );
    assert!(Path::new(&format!("{}-wal", path.display())).exists());
    assert!(Path::new(&format!("{}-shm", path.display())).exists());
    // Another process holds the store open in WAL mode: reads leave db, -wal and -shm as they were.
    assert_untouched(&path, |p| exercise(open(p).as_ref()));
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    // Writer gone, WAL checkpointed and removed: reads create no -wal or -shm.
    assert!(!Path::new(&format!("{}-wal", path.display())).exists());
    assert_untouched(&path, |p| exercise(open(p).as_ref()));
}

#[test]
fn concurrent_writer_is_never_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let writer = write_wal_store(&path);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader_stop = stop.clone();
    let reader_path = path.clone();
    let reader = std::thread::Builder::new()
        .name("reader".into())
        .spawn(move || {
            let source = open(&reader_path);
            let mut reads = 0u64;
            while !reader_stop.load(std::sync::atomic::Ordering::Relaxed) {
                exercise(source.as_ref());
                reads += 1;
            }
            reads
        })
        .unwrap();
    // Each append is its own transaction; none may wait on the reader.
    let mut slowest = Duration::ZERO;
    for i in 501..=1500 {
        let started = Instant::now();
        append(&writer, i);
        slowest = slowest.max(started.elapsed());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads > 0);
    // "A moment": generous for a loaded CI machine, far below the reader's busy timeout,
    // which is what a blocked writer would hit.
    assert!(
        slowest < Duration::from_millis(1500),
        "a write waited {slowest:?}"
    );
    // The reader sees the writer's rows.
    let source = open(&path);
    assert_eq!(source.head().unwrap(), 1500);
    // And the writer can still checkpoint fully: no reader holds an old snapshot.
    let (busy, _, _): (i64, i64, i64) = writer
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(
        busy, 0,
        "checkpoint blocked by a lingering read transaction"
    );
}

#[test]
fn a_cancelled_job_interrupts_its_reads() {
    use eventscope::core::cancel::{CancelToken, with_cancel};
    let source = open(&crate::common::fixture("eventsourcing/es_sqlite.db"));
    let token = CancelToken::new();
    // Not cancelled: reads work under a token.
    let count = with_cancel(&token, || source.count_streams(&StreamQuery::default()));
    assert_eq!(count.unwrap(), 12);
    // Cancelled: the statement is interrupted and reported as such, not as a failure.
    token.cancel();
    let result = with_cancel(&token, || {
        source.read_log(&LogQuery {
            limit: 10_000,
            ..Default::default()
        })
    });
    assert!(
        matches!(result, Err(eventscope::core::SourceError::Cancelled)),
        "{result:?}"
    );
    // The source stays usable afterwards.
    assert_eq!(source.head().unwrap(), 203);
}
