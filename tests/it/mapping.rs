//! A schema no built-in layout knows, described by a mapping file.

use eventscope::core::{Direction, EventSource, LogQuery};
use eventscope::source::{OpenOptions, open};

fn write_custom_store(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("custom.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE journal (seq INTEGER PRIMARY KEY, stream TEXT, rev INTEGER, kind TEXT, body TEXT, \
         headers TEXT, at_ms INTEGER, deleted INTEGER DEFAULT 0);
         CREATE TABLE marks (projection TEXT, pos INTEGER);
         INSERT INTO journal (stream, rev, kind, body, headers, at_ms) VALUES
           ('cart/1', 1, 'Opened', '{\"v\":2}', '{\"trace\":{\"corr\":\"c-1\",\"cause\":\"cmd-9\"}}', 1704067200000),
           ('cart/1', 2, 'Added', '{\"sku\":\"a\",\"v\":3}', '{\"trace\":{\"corr\":\"c-1\"}}', 1704067260000),
           ('user/7', 1, 'Joined', '{}', '{}', 1704067320000);
         INSERT INTO journal (stream, rev, kind, body, headers, at_ms, deleted) VALUES
           ('cart/1', 3, 'Ghost', '{}', '{}', 1704067380000, 1);
         INSERT INTO marks VALUES ('carts', 2), ('users', 3);",
    )
    .unwrap();
    path
}

const MAPPING: &str = r#"
[events]
table = "journal"
position = "seq"
stream_id = "stream"
version = "rev"
event_type = "kind"
payload = "body"
metadata = "headers"
recorded_at = "at_ms"
recorded_at_format = "unix_millis"
schema_version_path = "payload:$.v"
correlation_path = "$.trace.corr"
causation_path = "$.trace.cause"
category_separator = "/"
where = "deleted = 0"

[[checkpoints]]
table = "marks"
name = "projection"
position = "pos"
"#;

#[test]
fn mapping_file_maps_a_custom_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_custom_store(dir.path());
    let mapping = dir.path().join("custom.toml");
    std::fs::write(&mapping, MAPPING).unwrap();
    let options = OpenOptions {
        mapping: Some(mapping),
        application: None,
    };
    let source = open(path.to_str().unwrap(), &options).unwrap();
    let info = source.info().unwrap();
    assert_eq!(info.layout, "mapping");
    assert_eq!(
        (info.event_count, info.stream_count, info.head_position),
        (Some(3), 2, 3)
    );
    assert_eq!(
        info.checkpoint_names,
        vec!["carts".to_owned(), "users".to_owned()]
    );
    let events = source
        .read_stream("cart/1", None, Direction::Forwards, 10)
        .unwrap();
    assert_eq!(events.len(), 2, "the where filter hides deleted rows");
    assert_eq!(events[0].correlation_id.as_deref(), Some("c-1"));
    assert_eq!(events[0].causation_id.as_deref(), Some("cmd-9"));
    assert_eq!(events[1].schema_version, Some(3));
    assert_eq!(
        events[1].recorded_at.unwrap().to_rfc3339(),
        "2024-01-01T00:01:00+00:00"
    );
    assert_eq!(
        source.categories().unwrap(),
        vec![("cart".to_owned(), 1), ("user".to_owned(), 1)]
    );
    let since = eventscope::core::time::parse_timestamp("2024-01-01T00:01:00Z");
    let window = source
        .read_log(&LogQuery {
            since,
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        window.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        vec![2, 3]
    );
}

#[test]
fn bad_mapping_files_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_custom_store(dir.path());
    let cases = [
        (
            MAPPING.replace("\"rev\"", "\"revision\""),
            "no column \"revision\"",
        ),
        (
            MAPPING.replace("table = \"journal\"", "table = \"jornal\""),
            "does not exist",
        ),
        ("[events]\ntable = 1".to_owned(), "invalid mapping file"),
        (
            MAPPING.replace("unix_millis", "fortnights"),
            "recorded_at_format",
        ),
        (
            MAPPING.replace("deleted = 0", "deleted = = 0"),
            "syntax error",
        ),
    ];
    for (text, want) in cases {
        let mapping = dir.path().join("bad.toml");
        std::fs::write(&mapping, &text).unwrap();
        let options = OpenOptions {
            mapping: Some(mapping),
            application: None,
        };
        let message = open(path.to_str().unwrap(), &options)
            .err()
            .expect("must fail")
            .to_string();
        assert!(message.contains(want), "want {want:?} in {message:?}");
        assert!(message.contains("bad.toml"), "names the file: {message}");
    }
}

/// Writes a store with an odd schema no layout detects, and the rows given.
/// A SQLite file of no known layout, made by `ddl` and `rows` (also used by the GUI tests).
pub fn odd_store(dir: &std::path::Path, ddl: &str, rows: &[&str]) -> std::path::PathBuf {
    let path = dir.join("odd.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(ddl).unwrap();
    for row in rows {
        conn.execute_batch(row).unwrap();
    }
    drop(conn);
    path
}

fn open_with_mapping(
    store: &std::path::Path,
    mapping: &str,
) -> eventscope::core::SourceResult<std::sync::Arc<dyn EventSource>> {
    let file = store.with_extension("toml");
    std::fs::write(&file, mapping).unwrap();
    eventscope::source::open(
        store.to_str().unwrap(),
        &OpenOptions {
            mapping: Some(file),
            ..OpenOptions::default()
        },
    )
}

/// `mapping suggest` on a ledger whose stream column has no usual name: the draft marks
/// the blank, guesses the rest (type, payload, rowid position), and once the blank is
/// filled the store opens; the CLI prints the same draft.
#[test]
fn suggested_mapping_with_its_blank_filled_opens_an_odd_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let store = odd_store(
        dir.path(),
        "CREATE TABLE ledger (entry_no INTEGER PRIMARY KEY, acct TEXT, kind TEXT, body TEXT, \
         stamp REAL, revision INTEGER); CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);",
        &[
            "INSERT INTO ledger VALUES (1, 'a-1', 'Opened', '{\"n\":1}', 1700000000.5, 1)",
            "INSERT INTO ledger VALUES (2, 'a-2', 'Opened', '{\"n\":2}', 1700000001, 1)",
            "INSERT INTO ledger VALUES (3, 'a-1', 'Paid', '{\"n\":3}', 1700000002, 2)",
        ],
    );
    assert!(matches!(
        eventscope::source::open(store.to_str().unwrap(), &OpenOptions::default()),
        Err(eventscope::core::SourceError::UnknownLayout(_))
    ));
    let draft = eventscope::source::sqlite::mapping::suggest(&store).unwrap();
    let blank = eventscope::source::sqlite::mapping::BLANK;
    assert!(draft.contains("table = \"ledger\""), "{draft}");
    assert!(
        draft.contains(&format!("stream_id = \"{blank}\"  # FILL IN")),
        "{draft}"
    );
    for guess in [
        "position = \"rowid\"",
        "event_type = \"kind\"",
        "payload = \"body\"",
        "version = \"revision\"",
    ] {
        assert!(draft.contains(guess), "{guess}: {draft}");
    }
    // As drafted, the blank is refused with a clear message.
    let refused = open_with_mapping(&store, &draft).err().unwrap().to_string();
    assert!(refused.contains(blank), "{refused}");
    let filled = draft
        .replace(&format!("stream_id = \"{blank}\""), "stream_id = \"acct\"")
        .replace("# recorded_at = \"\"", "recorded_at = \"stamp\"");
    let source = open_with_mapping(&store, &filled).unwrap();
    let events = source
        .read_stream("a-1", None, eventscope::core::Direction::Forwards, 10)
        .unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.global_position, e.stream_version, e.event_type.as_str()))
            .collect::<Vec<_>>(),
        [(1, 1, "Opened"), (3, 2, "Paid")]
    );
    assert_eq!(
        events[0].recorded_at.map(|t| t.timestamp_millis()),
        Some(1_700_000_000_500)
    );
    let cli = crate::common::eventscope(&["mapping", "suggest", store.to_str().unwrap()]);
    assert!(cli.status.success());
    assert_eq!(crate::common::stdout_of(&cli), draft);
}

/// A journal where neither the stream, the type nor the payload has a usual name and
/// there is no version: three blanks; filled, with the version left out, the store opens
/// and versions are the ordinal of each event in its stream.
#[test]
fn suggested_mapping_with_three_blanks_filled_opens_a_version_less_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = odd_store(
        dir.path(),
        "CREATE TABLE journal (who TEXT, what TEXT, doc BLOB, written_on TEXT);",
        &[
            "INSERT INTO journal VALUES ('x', 'A', '{}', '2025-01-01 10:00:00')",
            "INSERT INTO journal VALUES ('y', 'A', '{}', '2025-01-01 10:00:01')",
            "INSERT INTO journal VALUES ('x', 'B', '{}', '2025-01-01 10:00:02')",
            "INSERT INTO journal VALUES ('x', 'C', '{}', '2025-01-01 10:00:03')",
        ],
    );
    let draft = eventscope::source::sqlite::mapping::suggest(&store).unwrap();
    let blank = eventscope::source::sqlite::mapping::BLANK;
    assert_eq!(
        draft.matches(&format!("= \"{blank}\"")).count(),
        3,
        "{draft}"
    );
    assert!(draft.contains("position = \"rowid\""), "{draft}");
    assert!(draft.contains("# version = \"\""), "{draft}");
    let filled = draft
        .replace(&format!("stream_id = \"{blank}\""), "stream_id = \"who\"")
        .replace(
            &format!("event_type = \"{blank}\""),
            "event_type = \"what\"",
        )
        .replace(&format!("payload = \"{blank}\""), "payload = \"doc\"");
    let source = open_with_mapping(&store, &filled).unwrap();
    let x = source
        .read_stream("x", None, eventscope::core::Direction::Forwards, 10)
        .unwrap();
    assert_eq!(
        x.iter()
            .map(|e| (e.stream_version, e.event_type.as_str()))
            .collect::<Vec<_>>(),
        [(1, "A"), (2, "B"), (3, "C")]
    );
    assert!(source.info().unwrap().layout_detail.contains("ordinal"));
}
