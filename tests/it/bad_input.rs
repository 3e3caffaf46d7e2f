//! Bad input gives a clear error and never a panic.

use eventscope::source::{OpenOptions, open};

fn open_error(path: &std::path::Path) -> String {
    match open(path.to_str().unwrap(), &OpenOptions::default()) {
        Ok(_) => panic!("{} should not open", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let message = open_error(&dir.path().join("nope.db"));
    assert!(
        message.contains("no such file") && message.contains("nope.db"),
        "{message}"
    );
    assert!(
        !dir.path().join("nope.db").exists(),
        "opening must not create the file"
    );
}

#[test]
fn directory() {
    let dir = tempfile::tempdir().unwrap();
    let message = open_error(dir.path());
    assert!(message.contains("directory"), "{message}");
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let message = open_error(&path);
    assert!(message.contains("empty file"), "{message}");
}

#[test]
fn not_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(
        &path,
        "just some text, definitely not a database\n".repeat(100),
    )
    .unwrap();
    let message = open_error(&path);
    assert!(message.contains("not a SQLite database"), "{message}");
}

#[test]
fn truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(crate::common::fixture("emmett/emmett.db")).unwrap();
    for keep in [50, 100, 4096, full.len() / 2] {
        let path = dir.path().join(format!("truncated-{keep}.db"));
        std::fs::write(&path, &full[..keep]).unwrap();
        let message = open_error(&path);
        assert!(message.contains("truncated"), "{keep}: {message}");
    }
}

#[test]
fn corrupt_pages_give_errors_not_panics() {
    use eventscope::core::{LogQuery, StreamQuery};
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(crate::common::fixture("eventsourcing/es_sqlite.db")).unwrap();
    // Scribble over everything after the first two pages, keeping the length.
    for (i, byte) in bytes.iter_mut().enumerate().skip(8192) {
        *byte = (i % 251) as u8;
    }
    let path = dir.path().join("scribbled.db");
    std::fs::write(&path, &bytes).unwrap();
    // Opening may succeed or fail, reads may fail: all with errors, none with a panic.
    if let Ok(source) = open(path.to_str().unwrap(), &OpenOptions::default()) {
        let results = [
            source.info().err().map(|e| e.to_string()),
            source
                .read_log(&LogQuery {
                    limit: 500,
                    ..Default::default()
                })
                .err()
                .map(|e| e.to_string()),
            source
                .list_streams(&StreamQuery {
                    limit: 500,
                    ..Default::default()
                })
                .err()
                .map(|e| e.to_string()),
        ];
        assert!(
            results.iter().any(Option::is_some),
            "scribbled pages must surface as an error"
        );
    }
}

#[test]
fn unknown_layout_points_to_mapping_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);")
        .unwrap();
    drop(conn);
    let message = open_error(&path);
    assert!(
        message.contains("customers"),
        "lists what it found: {message}"
    );
    assert!(
        message.contains("stored_events") && message.contains("emt_messages"),
        "says what it looked for: {message}"
    );
    assert!(
        message.contains("--mapping"),
        "points to the mapping file: {message}"
    );
}

#[test]
fn non_json_payloads_do_not_fail_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, aggregate_id TEXT, version INTEGER, event_type TEXT, \
         payload BLOB, metadata TEXT, created_at TEXT);",
    )
    .unwrap();
    let payloads: Vec<rusqlite::types::Value> = vec![
        rusqlite::types::Value::Text("{\"ok\":true}".into()),
        rusqlite::types::Value::Blob(vec![0xff, 0xfe, 0x00, 0x01]),
        rusqlite::types::Value::Text("plain text".into()),
        rusqlite::types::Value::Null,
        rusqlite::types::Value::Text(format!("{}1{}", "[".repeat(5000), "]".repeat(5000))),
    ];
    for (i, payload) in payloads.into_iter().enumerate() {
        conn.execute(
            "INSERT INTO events (aggregate_id, version, event_type, payload, metadata, created_at) \
             VALUES ('s-1', ?1, 'T', ?2, 'not json', 'yesterday')",
            rusqlite::params![i as i64 + 1, payload],
        )
        .unwrap();
    }
    drop(conn);
    let source = crate::common::open(&path);
    let events = source
        .read_stream("s-1", None, eventscope::core::Direction::Forwards, 100)
        .unwrap();
    assert_eq!(events.len(), 5);
    assert!(events[0].payload.as_json().is_some());
    assert!(!events[1].payload.is_json());
    assert_eq!(
        events[1].payload.raw_bytes(),
        Some(&[0xff, 0xfe, 0x00, 0x01][..])
    );
    assert!(!events[2].payload.is_json());
    assert_eq!(events[2].payload.raw_text(), Some("plain text"));
    assert!(events[3].payload.is_empty());
    assert_eq!(events[3].payload, eventscope::core::Payload::empty());
    // Too deeply nested for the JSON parser: kept as bytes, not a failure.
    assert!(!events[4].payload.is_json());
    assert!(events[4].payload.raw_bytes().is_some());
    // Metadata that is not JSON: no ids, kept as text.
    assert!(events.iter().all(|e| !e.metadata.is_json()
        && e.metadata.raw_text() == Some("not json")
        && e.correlation_id.is_none()));
    assert!(events.iter().all(|e| e.recorded_at.is_none()));
    // JSON rendering of bytes is explicit.
    assert_eq!(events[1].payload.to_json()["$bytes"]["hex"], "fffe0001");
}
