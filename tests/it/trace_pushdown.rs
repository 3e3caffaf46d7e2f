//! Correlation lookups SQLite filters (issue #20): the pushed-down scan and the index built
//! inside the engine find exactly what reading every event finds, on a store whose metadata
//! is written to trip a prefilter (ids inside other strings, escapes, nested and camelCase
//! keys, non-JSON rows, numbers); building the index leaves the store's files as they were.

use std::collections::BTreeSet;
use std::path::Path;

use eventscope::core::Event;
use eventscope::trace::{Method, TraceIndex};
use rusqlite::types::Value;

use crate::common::{all_events, open, store_fingerprint};

/// Metadata rows: `(metadata, event id)`.
fn tricky_rows() -> Vec<(Value, Value)> {
    let text = |s: &str| Value::Text(s.to_owned());
    let blob = |s: &[u8]| Value::Blob(s.to_vec());
    let metadata = vec![
        text(r#"{"correlation_id":"c-1","causation_id":"e-0"}"#),
        // The id inside another string; a longer id that starts with it.
        text(r#"{"note":"see c-1 later","correlation_id":"c-10"}"#),
        text(r#"{"correlationId":"c-1"}"#),
        text(r#"{"$correlationId":"c-1"}"#),
        text(r#"{"CorrelationId":"c-1"}"#),
        text(r#"{"metadata":{"correlation_id":"c-1"}}"#),
        text(r#"{"headers":{"correlationId":"c-1"},"user":"ann"}"#),
        text(r#"{"metadata":"c-1","correlation_id":"c-2"}"#),
        // Not JSON (with the id's text in it), truncated JSON, not an object.
        text("not json c-1"),
        text(r#"{"correlation_id":"c-1""#),
        text(r#"["correlation_id","c-1"]"#),
        // Escapes: of the value, of the key, of quotes, of slashes, of controls.
        text(r#"{"correlation_id":"c\u002d1"}"#),
        text(r#"{"correl\u0061tion_id":"c-1"}"#),
        text(r#"{"correlation_id":"q\"uote"}"#),
        text(r#"{"correlation_id":"a\/b"}"#),
        text(r#"{"correlation_id":"a/b"}"#),
        text(r#"{"correlation_id":"tab\tid"}"#),
        text(r#"{"correlation_id":"\u00e9-1"}"#),
        text(r#"{"correlation_id":"é-1"}"#),
        text(r#"{"correlation_id":"back\\slash"}"#),
        // Numbers are printed as serde prints them.
        text(r#"{"correlation_id":1.5e3}"#),
        text(r#"{"correlation_id":1500.0}"#),
        text(r#"{"correlation_id":12}"#),
        text(r#"{"correlation_id":"12"}"#),
        // Preference, empties, duplicates, causation only, other case.
        text(r#"{"correlation_id":"","correlationId":"c-1"}"#),
        text(r#"{"correlation_id":"c-1","correlation_id":"c-2"}"#),
        text(r#"{"causation_id":"c-1"}"#),
        text(r#"{"correlation_id":"C-1"}"#),
        text(r#"{"correlation_id":null,"headers":{"correlation_id":"c-1"}}"#),
        // Stored as bytes, as a number, as NULL, as bytes that are not UTF-8.
        blob(br#"{"correlation_id":"c-1"}"#),
        Value::Integer(1),
        Value::Null,
        blob(b"{\"correlation_id\":\"c-1\xff\"}"),
        text(r#"  {"correlation_id" : "c-1" , "x" : [1, {"y": "c-1"}]}  "#),
    ];
    let event_ids = [
        text("e-1"),
        Value::Integer(7),
        Value::Real(2.5),
        Value::Null,
        blob(b"e-blob"),
        text("e-1"),
        text("q\"e"),
    ];
    metadata
        .into_iter()
        .enumerate()
        .map(|(i, m)| (m, event_ids[i % event_ids.len()].clone()))
        .collect()
}

/// The ids the test traces (each a match somewhere, and some that only look like one).
const IDS: [&str; 17] = [
    "c-1",
    "c-10",
    "c-2",
    "q\"uote",
    "a/b",
    "tab\tid",
    "é-1",
    "back\\slash",
    "1500.0",
    "12",
    "1.5e3",
    "C-1",
    "c",
    "e-0",
    "see c-1 later",
    "c-1\u{fffd}",
    "uote",
];

/// A store of the guide's layout holding `rows` three times over (positions 1..=3n), in
/// streams of a few events.
fn write_store(path: &Path, wal: bool) -> rusqlite::Connection {
    write_store_encoded(path, wal, "UTF-8")
}

/// [`write_store`] in a text encoding of SQLite's choice (`UTF-8`, `UTF-16le`, …).
fn write_store_encoded(path: &Path, wal: bool, encoding: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "encoding", encoding).unwrap();
    if wal {
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    }
    conn.execute_batch(
        "CREATE TABLE events(id INTEGER PRIMARY KEY, event_id, aggregate_id TEXT NOT NULL,
         version INTEGER NOT NULL, event_type TEXT NOT NULL, event_version INTEGER NOT NULL DEFAULT 1,
         payload TEXT NOT NULL, metadata TEXT, created_at TEXT NOT NULL);",
    )
    .unwrap();
    let rows = tricky_rows();
    for round in 0..3 {
        for (i, (metadata, event_id)) in rows.iter().enumerate() {
            let n = round * rows.len() + i;
            conn.execute(
                "INSERT INTO events(event_id, aggregate_id, version, event_type, payload, metadata, created_at)
                 VALUES (?1, ?2, ?3, 'Happened', '{\"n\": 1}', ?4, '2024-01-01T00:00:00Z')",
                rusqlite::params![event_id, format!("thing-{}", n % 5), (n / 5 + 1) as i64, metadata],
            )
            .unwrap();
        }
    }
    conn
}

fn positions(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.global_position).collect()
}

/// What reading every event finds.
fn by_reading(all: &[Event], id: &str) -> Vec<u64> {
    positions(
        &all.iter()
            .filter(|e| e.correlation_id.as_deref() == Some(id))
            .cloned()
            .collect::<Vec<_>>(),
    )
}

#[test]
fn pushed_down_scan_finds_what_reading_every_event_finds() {
    for encoding in ["UTF-8", "UTF-16le", "UTF-16be"] {
        pushed_down_scan_agrees(encoding);
    }
}

/// The pushed-down scans on the tricky store in one text encoding (SQLite hands the
/// prefilter function UTF-8 whatever the file holds).
fn pushed_down_scan_agrees(encoding: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tricky.db");
    drop(write_store_encoded(&path, false, encoding));
    let source = open(&path);
    let all = all_events(source.as_ref());
    assert_eq!(all.len(), tricky_rows().len() * 3);
    let mut matched = BTreeSet::new();
    for id in IDS {
        let want = by_reading(&all, id);
        let pushed = source
            .correlated_events_after(id, 0)
            .unwrap()
            .expect("SQLite filters correlations itself");
        assert_eq!(positions(&pushed.events), want, "{id:?} in {encoding}");
        // The events are the ones reading the log gives (ordinal versions included).
        for event in &pushed.events {
            let read = all
                .iter()
                .find(|e| e.global_position == event.global_position)
                .unwrap();
            assert_eq!(event.stream_version, read.stream_version);
            assert_eq!(event.event_id, read.event_id);
        }
        // After a position: only the later ones.
        let later = source.correlated_events_after(id, 20).unwrap().unwrap();
        let want_later: Vec<u64> = want.iter().copied().filter(|&p| p > 20).collect();
        assert_eq!(positions(&later.events), want_later, "{id:?} after 20");
        // And through a trace without an index.
        let (trace, method) =
            eventscope::trace::trace(source.as_ref(), id, None, &mut |_, _| {}).unwrap();
        assert_eq!(method, Method::Scan);
        let mut traced: Vec<u64> = trace
            .nodes
            .iter()
            .map(|n| n.event.global_position)
            .collect();
        traced.sort_unstable();
        assert_eq!(traced, want, "{id:?} traced");
        matched.extend(want);
    }
    // The ids above find the escaped, nested, camelCase, byte and number rows.
    let found: BTreeSet<String> = all
        .iter()
        .filter(|e| matched.contains(&e.global_position))
        .filter_map(|e| e.correlation_id.clone())
        .collect();
    for id in [
        "c-1", "c-10", "c-2", "q\"uote", "a/b", "tab\tid", "é-1", "1500.0", "12",
    ] {
        assert!(found.contains(id), "{id:?} is found somewhere");
    }
    // Event ids of every stored kind, found by the store as by reading every event.
    for event_id in ["e-1", "7", "2.5", "e-blob", "q\"e", "e-2", "7.0", ""] {
        let want = all
            .iter()
            .find(|e| e.event_id.as_deref() == Some(event_id))
            .map(|e| e.global_position);
        let found = eventscope::trace::find_event(source.as_ref(), event_id, None, &mut |_, _| {});
        match found {
            Ok(found) => assert_eq!(found.map(|e| e.global_position), want, "{event_id:?}"),
            Err(error) => assert!(event_id.is_empty(), "{error}"),
        }
    }
    let c1 = by_reading(&all, "c-1").len();
    assert!(c1 >= 3 * 10, "c-1 is in many forms: {c1}");
}

#[test]
fn index_built_inside_sqlite_agrees_with_reading_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tricky.db");
    drop(write_store(&path, false));
    let source = open(&path);
    let all = all_events(source.as_ref());
    let cache = tempfile::tempdir().unwrap();
    let index = TraceIndex::open_in(cache.path(), "tricky", "test").unwrap();
    let built = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert!(built.complete);
    assert_eq!(built.added, all.len() as u64);
    assert_eq!(index.status().unwrap().events, all.len() as u64);
    for id in IDS {
        let want = by_reading(&all, id);
        // Hash matches: a superset, and exact when no two ids collide (here none do).
        assert_eq!(index.correlation_positions(id).unwrap(), want, "{id:?}");
        let (trace, method) =
            eventscope::trace::trace(source.as_ref(), id, Some(&index), &mut |_, _| {}).unwrap();
        assert!(matches!(method, Method::Index { .. }));
        let mut traced: Vec<u64> = trace
            .nodes
            .iter()
            .map(|n| n.event.global_position)
            .collect();
        traced.sort_unstable();
        assert_eq!(traced, want, "{id:?} through the index");
    }
    for event in &all {
        let Some(event_id) = &event.event_id else {
            continue;
        };
        let want: Vec<u64> = all
            .iter()
            .filter(|e| e.event_id.as_deref() == Some(event_id))
            .map(|e| e.global_position)
            .collect();
        assert_eq!(
            index.event_id_positions(event_id).unwrap(),
            want,
            "{event_id:?}"
        );
    }
}

/// Builds the index of the store at `path` in a fresh cache dir, in two calls (a budget,
/// then the rest), and traces through it.
fn build_index(path: &Path) {
    let source = open(path);
    let cache = tempfile::tempdir().unwrap();
    let index = TraceIndex::open_in(cache.path(), "store", "test").unwrap();
    let head = source.head().unwrap();
    let first = index.catch_up(source.as_ref(), 10, &mut |_, _| {}).unwrap();
    assert!(!first.complete && first.indexed_through <= 10);
    let rest = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert_eq!(rest.indexed_through, head);
    assert_eq!(index.status().unwrap().events, head);
    eventscope::trace::trace(source.as_ref(), "c-1", Some(&index), &mut |_, _| {}).unwrap();
}

#[test]
fn building_the_index_leaves_the_store_untouched() {
    // A rollback-journal store and a WAL store with no writer (no -wal).
    for wal in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        drop(write_store(&path, wal));
        let before = store_fingerprint(&path);
        build_index(&path);
        assert_eq!(
            store_fingerprint(&path),
            before,
            "wal {wal}: store files and directory unchanged"
        );
    }
    // A WAL store another process holds open (-wal and -shm present: the writer of the
    // read-only tests).
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
    assert!(Path::new(&format!("{}-shm", path.display())).exists());
    let before = store_fingerprint(&path);
    build_index(&path);
    assert_eq!(store_fingerprint(&path), before, "a writer's WAL store");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}
