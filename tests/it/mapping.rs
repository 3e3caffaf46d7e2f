//! A schema no built-in layout knows, described by a mapping file.

use eventscope::core::{Direction, LogQuery};
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
