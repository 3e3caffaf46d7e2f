//! The store summary of big SQLite stores (`source/sqlite/summary.rs`): the same answers as
//! counting directly, caught up while a writer appends, rebuilt when the store is replaced or
//! the file is damaged, and never a byte written to the store.

use std::path::Path;

use eventscope::core::EventSource as _;
use eventscope::core::query::StreamQuery;
use eventscope::source::sqlite::{SqliteOptions, SqliteSource};

use crate::common::{fixture, store_fingerprint};

/// What `info`, the category list and the type filter show.
#[derive(Debug, PartialEq, Eq)]
struct Answers {
    events: Option<u64>,
    streams: u64,
    counted_streams: u64,
    categories: Vec<(String, u64)>,
    types: Vec<String>,
}

fn answers(source: &SqliteSource) -> Answers {
    let info = source.info().expect("info");
    Answers {
        events: info.event_count,
        streams: info.stream_count,
        counted_streams: source
            .count_streams(&StreamQuery::default())
            .expect("count streams"),
        categories: source.categories().expect("categories"),
        types: source.event_types().expect("event types"),
    }
}

fn open(path: &Path, options: &SqliteOptions, summary_dir: Option<&Path>) -> SqliteSource {
    let mut source = SqliteSource::open(path, options).expect("open");
    source.use_summary(summary_dir.map(Path::to_path_buf), 0);
    source
}

fn summary_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("summary"))
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn writer(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("writer");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, \
         aggregate_id TEXT NOT NULL, version INTEGER NOT NULL, event_type TEXT NOT NULL, \
         event_version INTEGER NOT NULL DEFAULT 1, payload TEXT NOT NULL, metadata TEXT NOT NULL, \
         created_at TEXT NOT NULL, UNIQUE(aggregate_id, version));",
    )
    .expect("schema");
    conn
}

fn append(conn: &rusqlite::Connection, stream: &str, event_type: &str) {
    let version: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM events WHERE aggregate_id = ?1",
            [stream],
            |r| r.get(0),
        )
        .expect("version");
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .expect("count");
    conn.execute(
        "INSERT INTO events (event_id, aggregate_id, version, event_type, payload, metadata, \
         created_at) VALUES (?1, ?2, ?3, ?4, '{}', '{}', '2024-01-01T00:00:00.000Z')",
        rusqlite::params![format!("e-{n}"), stream, version, event_type],
    )
    .expect("append");
}

#[test]
fn summary_agrees_with_direct_counts_on_every_fixture_and_writes_nothing_to_them() {
    let cache = tempfile::tempdir().expect("cache");
    let stores = [
        ("eventsourcing/es_sqlite.db", None),
        ("eventsourcing/es_sqlite_downstream.db", None),
        ("eventsourcing/es_sqlalchemy.db", None),
        ("emmett/emmett.db", None),
        ("guide/guide_first.db", None),
        ("guide/guide_occ.db", None),
    ];
    for (relative, application) in stores.iter().cloned() {
        let path = fixture(relative);
        let options = SqliteOptions {
            application,
            ..SqliteOptions::default()
        };
        let before = store_fingerprint(&path);
        let direct = answers(&open(&path, &options, None));
        let built = answers(&open(&path, &options, Some(cache.path())));
        // A second source reads the file the first one wrote.
        let reread = answers(&open(&path, &options, Some(cache.path())));
        assert_eq!(built, direct, "{relative}: built summary");
        assert_eq!(reread, direct, "{relative}: summary read back");
        assert!(
            direct.streams > 0 && direct.events.is_some_and(|n| n > 0),
            "{relative}"
        );
        assert_eq!(
            store_fingerprint(&path),
            before,
            "{relative}: the store changed"
        );
    }
    assert_eq!(
        summary_files(cache.path()).len(),
        stores.len(),
        "one summary per store: {:?}",
        summary_files(cache.path())
    );
}

#[test]
fn summary_follows_a_writer_and_counts_new_streams_and_types() {
    let dir = tempfile::tempdir().expect("dir");
    let cache = tempfile::tempdir().expect("cache");
    let path = dir.path().join("live.db");
    let conn = writer(&path);
    for i in 0..30 {
        append(&conn, &format!("account-{}", i % 4), "Deposited");
        append(&conn, &format!("order-{}", i % 3), "OrderPlaced");
    }
    let options = SqliteOptions::default();
    let summarised = open(&path, &options, Some(cache.path()));
    let direct = open(&path, &options, None);
    let first = answers(&summarised);
    assert_eq!(first, answers(&direct));
    assert_eq!(first.streams, 7);
    assert_eq!(first.events, Some(60));

    // New events: in known streams, in new streams of a known and of a new category, and
    // of a new type.
    append(&conn, "account-1", "Withdrawn");
    append(&conn, "account-9", "Deposited");
    append(&conn, "invoice-1", "InvoiceSent");
    let caught_up = answers(&summarised);
    assert_eq!(caught_up, answers(&direct));
    assert_eq!(caught_up.streams, 9);
    assert_eq!(caught_up.events, Some(63));
    assert!(caught_up.categories.contains(&("invoice".to_owned(), 1)));
    assert!(caught_up.types.contains(&"InvoiceSent".to_owned()));

    // A new source (the next session) catches up from the file.
    append(&conn, "invoice-2", "InvoiceSent");
    assert_eq!(
        answers(&open(&path, &options, Some(cache.path()))),
        answers(&direct)
    );
}

#[test]
fn summary_starts_over_for_a_replaced_store_and_a_damaged_file() {
    let dir = tempfile::tempdir().expect("dir");
    let cache = tempfile::tempdir().expect("cache");
    let path = dir.path().join("store.db");
    let options = SqliteOptions::default();
    {
        let conn = writer(&path);
        for i in 0..20 {
            append(&conn, &format!("account-{}", i % 5), "Deposited");
        }
    }
    let first = answers(&open(&path, &options, Some(cache.path())));
    assert_eq!(first.streams, 5);

    // The same path, another store with more events: the event at the summarised position
    // is a different one, so the summary is built again instead of adding the tail.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    {
        let conn = writer(&path);
        for i in 0..25 {
            append(&conn, &format!("order-{}", i % 2), "OrderPlaced");
        }
    }
    let replaced = answers(&open(&path, &options, Some(cache.path())));
    assert_eq!(replaced, answers(&open(&path, &options, None)));
    assert_eq!(replaced.streams, 2);
    assert_eq!(replaced.categories, vec![("order".to_owned(), 2)]);

    // A damaged summary file is replaced.
    let files = summary_files(cache.path());
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::write(
        cache.path().join("summary").join(&files[0]),
        b"not a database",
    )
    .expect("damage");
    assert_eq!(
        answers(&open(&path, &options, Some(cache.path()))),
        replaced
    );
}
