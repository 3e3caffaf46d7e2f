//! Rows with unreadable values (NULL, text, out of range, bytes) in every column of every
//! SQLite layout: each row is still read and counted, the bad field is reported in the
//! event's `problems` with its raw value, and the rest of the page is unaffected.
//! The broken stores are written here, in a temp dir.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eventscope::core::query::Direction;
use eventscope::core::{Event, EventSource, LogQuery};

fn store(dir: &Path, name: &str, ddl: &str, rows: &[String]) -> PathBuf {
    let path = dir.join(name);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(ddl).unwrap();
    for row in rows {
        conn.execute_batch(row)
            .unwrap_or_else(|e| panic!("{row}: {e}"));
    }
    drop(conn);
    path
}

fn whole_log(source: &dyn EventSource) -> Vec<Event> {
    source
        .read_log(&LogQuery {
            limit: 1000,
            ..LogQuery::default()
        })
        .unwrap()
}

/// The problem of `field` on the event at `position`, as `(problem, raw)`.
fn problem_of(events: &[Event], position: u64, field: &str) -> (String, Option<String>) {
    let event = events
        .iter()
        .find(|e| e.global_position == position)
        .unwrap_or_else(|| panic!("no event at {position}"));
    let found = event
        .problems
        .iter()
        .find(|p| p.field == field)
        .unwrap_or_else(|| panic!("{position}: no problem with {field}: {:?}", event.problems));
    (found.problem.clone(), found.raw.clone())
}

/// Every event printed by the CLI carries `null` in place of the bad field and the
/// problems list; the good ones carry no list.
fn assert_cli_marks(path: &Path, bad: usize, total: usize) {
    let out = crate::common::eventscope(&["log", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{out:?}");
    let lines = crate::common::json_lines(&out);
    assert_eq!(lines.len(), total);
    let with_problems: Vec<_> = lines
        .iter()
        .filter(|l| l.get("problems").is_some())
        .collect();
    assert_eq!(with_problems.len(), bad);
    for line in with_problems {
        for problem in line["problems"].as_array().unwrap() {
            let field = problem["field"].as_str().unwrap();
            assert!(line[field].is_null(), "{field} shown as null: {line}");
        }
    }
}

#[test]
fn design_layout_every_column() {
    let dir = tempfile::tempdir().unwrap();
    // Not an INTEGER PRIMARY KEY: the position itself can be spoiled too; payload and
    // metadata untyped, so a number stays a number (a TEXT column would store it as text).
    let ddl = "CREATE TABLE events (global_position INTEGER, aggregate_id TEXT, version INTEGER, \
               event_type TEXT, payload, metadata, created_at TEXT, schema_version INTEGER);";
    let good = |p: i64, v: i64| {
        format!(
            "INSERT INTO events VALUES ({p}, 's-1', {v}, 'T', '{{\"p\":{p}}}', '{{\"correlationId\":\"c\"}}', \
             '2025-03-01 09:00:0{}', 1)",
            p % 10
        )
    };
    let mut rows = vec![good(1, 1), good(2, 2)];
    // (position, column, spoiled value, field, problem)
    let spoiled: [(i64, &str, &str, &str, &str); 13] = [
        (3, "version", "NULL", "stream_version", "NULL"),
        (
            4,
            "version",
            "'three'",
            "stream_version",
            "text, not a number",
        ),
        (5, "version", "-4", "stream_version", "out of range"),
        (6, "version", "1e30", "stream_version", "out of range"),
        (7, "event_type", "NULL", "event_type", "NULL"),
        (8, "payload", "NULL", "payload", "NULL"),
        (9, "payload", "42", "payload", "a number, not a document"),
        (10, "metadata", "7", "metadata", "a number, not a document"),
        (
            11,
            "created_at",
            "'last tuesday'",
            "recorded_at",
            "not a time",
        ),
        (12, "created_at", "NULL", "recorded_at", "NULL"),
        (
            13,
            "created_at",
            "x'00ff'",
            "recorded_at",
            "bytes, not a time",
        ),
        (
            14,
            "schema_version",
            "'new'",
            "schema_version",
            "text, not a number",
        ),
        (
            15,
            "schema_version",
            "99999999999",
            "schema_version",
            "out of range",
        ),
    ];
    for (p, column, value, _, _) in spoiled {
        rows.push(good(p, p));
        rows.push(format!(
            "UPDATE events SET {column} = {value} WHERE global_position = {p}"
        ));
    }
    rows.push(good(16, 16));
    rows.push("UPDATE events SET aggregate_id = NULL WHERE global_position = 16".to_owned());
    rows.push(good(17, 17));
    rows.push("UPDATE events SET global_position = -1 WHERE global_position = 17".to_owned());
    rows.push(good(18, 18));
    rows.push("UPDATE events SET global_position = 'x' WHERE global_position = 18".to_owned());
    let path = store(dir.path(), "design.db", ddl, &rows);
    let source: Arc<dyn EventSource> = crate::common::open(&path);
    let log = whole_log(source.as_ref());
    assert_eq!(log.len(), 18, "every row is read");
    assert_eq!(source.info().unwrap().event_count, Some(18));
    for (p, _, value, field, problem) in spoiled {
        let (what, raw) = problem_of(&log, u64::try_from(p).unwrap(), field);
        assert_eq!(what, problem, "{p}: {field}");
        if value != "NULL" {
            assert!(raw.is_some(), "{p}: raw value kept");
        }
    }
    assert_eq!(
        problem_of(&log, 4, "stream_version").1.as_deref(),
        Some("three")
    );
    assert_eq!(
        problem_of(&log, 11, "recorded_at").1.as_deref(),
        Some("last tuesday")
    );
    assert_eq!(
        problem_of(&log, 13, "recorded_at").1.as_deref(),
        Some("00ff")
    );
    assert_eq!(problem_of(&log, 16, "stream_id").0, "NULL");
    // Unreadable positions are reported on an event at position 0.
    let bad_positions: Vec<&Event> = log
        .iter()
        .filter(|e| e.is_unreadable("global_position"))
        .collect();
    assert_eq!(bad_positions.len(), 2);
    // The good rows are untouched.
    for good in log.iter().filter(|e| [1, 2].contains(&e.global_position)) {
        assert!(good.problems.is_empty(), "{:?}", good.problems);
        assert_eq!(good.correlation_id.as_deref(), Some("c"));
        assert!(good.recorded_at.is_some());
    }
    // A stream page from the start reads the rows whose version is NULL or text too.
    let stream = source
        .read_stream("s-1", None, Direction::Forwards, 100)
        .unwrap();
    assert_eq!(stream.len(), 17, "all but the NULL stream id");
    assert!(stream.iter().any(|e| e.is_unreadable("stream_version")));
    assert_cli_marks(&path, 16, 18);
}

#[test]
fn version_less_guide_layout_every_column() {
    let dir = tempfile::tempdir().unwrap();
    // The guide's first store, without its NOT NULL constraints (metadata untyped).
    let ddl = "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, aggregate_id TEXT, \
               event_type TEXT, payload TEXT, metadata, created_at TIMESTAMP);";
    let rows: Vec<String> = [
        "'a', 'Opened', '{}', '{}', '2025-03-01 09:26:48.168819'",
        "'a', NULL, '{}', '{}', '2025-03-01 09:26:49'",
        "'a', 'Paid', NULL, '{}', '2025-03-01 09:26:50'",
        "'a', 'Paid', '{}', 3.5, '2025-03-01 09:26:51'",
        "'a', 'Paid', '{}', '{}', 'soon'",
        "'a', 'Paid', '{}', '{}', 1740821212",
        "NULL, 'Paid', '{}', '{}', '2025-03-01 09:26:53'",
        "'a', 'Closed', '{}', '{}', '2025-03-01 09:26:54'",
    ]
    .iter()
    .map(|values| {
        format!(
            "INSERT INTO events (aggregate_id, event_type, payload, metadata, created_at) \
             VALUES ({values})"
        )
    })
    .collect();
    let path = store(dir.path(), "guide.db", ddl, &rows);
    let source = crate::common::open(&path);
    let log = whole_log(source.as_ref());
    assert_eq!(log.len(), 8);
    assert_eq!(problem_of(&log, 2, "event_type").0, "NULL");
    assert_eq!(problem_of(&log, 3, "payload").0, "NULL");
    assert_eq!(
        problem_of(&log, 4, "metadata").0,
        "a number, not a document"
    );
    assert_eq!(
        problem_of(&log, 5, "recorded_at"),
        ("not a time".to_owned(), Some("soon".to_owned()))
    );
    // An epoch number is a time, not a problem.
    let epoch = log.iter().find(|e| e.global_position == 6).unwrap();
    assert!(epoch.problems.is_empty());
    assert_eq!(
        epoch.recorded_at.map(|t| t.timestamp()),
        Some(1_740_821_212)
    );
    assert_eq!(problem_of(&log, 7, "stream_id").0, "NULL");
    // Ordinals are unaffected by the bad fields: stream `a` is numbered 1..7.
    let versions: Vec<(u64, u64)> = log
        .iter()
        .filter(|e| e.stream_id == "a")
        .map(|e| (e.global_position, e.stream_version))
        .collect();
    assert_eq!(
        versions,
        [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (8, 7)]
    );
    let stream = source
        .read_stream("a", None, Direction::Forwards, 100)
        .unwrap();
    assert_eq!(stream.len(), 7);
    assert_eq!(stream[6].stream_version, 7);
    assert_cli_marks(&path, 5, 8);
}

#[test]
fn eventsourcing_layout_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = "CREATE TABLE stored_events (id INTEGER PRIMARY KEY, originator_id TEXT, \
               originator_version INTEGER, topic TEXT, state BLOB);";
    let state = |at: &str| {
        format!(r#"'{{"timestamp": {{"_type_": "datetime_iso", "_data_": "{at}"}}, "amount": 1}}'"#)
    };
    let ok = state("2025-03-01T09:00:00+00:00");
    let rows: Vec<String> = [
        format!("1, 'acc', 1, 'domain:Account.Opened', {ok}"),
        format!("2, 'acc', NULL, 'domain:Account.Paid', {ok}"),
        format!("3, 'acc', 'two', 'domain:Account.Paid', {ok}"),
        format!("4, 'acc', -2, 'domain:Account.Paid', {ok}"),
        format!("5, 'acc', 5, NULL, {ok}"),
        "6, 'acc', 6, 'domain:Account.Paid', NULL".to_owned(),
        format!(
            "7, 'acc', 7, 'domain:Account.Paid', {}",
            state("not a date")
        ),
        format!("8, NULL, 8, 'domain:Account.Paid', {ok}"),
        format!("9, 'acc', 9, 'domain:Account.Closed', {ok}"),
    ]
    .iter()
    .map(|values| format!("INSERT INTO stored_events VALUES ({values})"))
    .collect();
    let path = store(dir.path(), "es.db", ddl, &rows);
    let source = crate::common::open(&path);
    assert_eq!(source.info().unwrap().layout, "eventsourcing");
    let log = whole_log(source.as_ref());
    assert_eq!(log.len(), 9);
    assert_eq!(problem_of(&log, 2, "stream_version").0, "NULL");
    assert_eq!(
        problem_of(&log, 3, "stream_version"),
        ("text, not a number".to_owned(), Some("two".to_owned()))
    );
    assert_eq!(problem_of(&log, 4, "stream_version").0, "out of range");
    assert_eq!(problem_of(&log, 5, "event_type").0, "NULL");
    assert_eq!(problem_of(&log, 6, "payload").0, "NULL");
    assert_eq!(problem_of(&log, 7, "recorded_at").0, "not a time");
    assert_eq!(problem_of(&log, 8, "stream_id").0, "NULL");
    let first = &log[0];
    assert!(first.problems.is_empty(), "{:?}", first.problems);
    assert_eq!(first.stored_type(), "domain:Account.Opened");
    assert!(first.recorded_at.is_some());
    assert_cli_marks(&path, 7, 9);
}

#[test]
fn emmett_layout_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = "CREATE TABLE emt_messages (stream_id TEXT, stream_position INTEGER, partition TEXT, \
               message_kind TEXT, message_data, message_metadata, message_schema_version TEXT, \
               message_type TEXT, message_id TEXT, is_archived INTEGER DEFAULT 0, global_position INTEGER, \
               created TEXT);";
    let rows: Vec<String> = [
        "'s-1', 1, 'p', 'E', '{}', '{}', '0', 'Opened', 'm1', 0, 1, '2025-03-01T09:00:00.000Z'",
        "'s-1', 'x', 'p', 'E', '{}', '{}', '0', 'Paid', 'm2', 0, 2, '2025-03-01T09:00:01.000Z'",
        "'s-1', 3, 'p', 'E', 12, '{}', '0', 'Paid', 'm3', 0, 3, '2025-03-01T09:00:02.000Z'",
        "'s-1', 4, 'p', 'E', '{}', 5, '0', 'Paid', 'm4', 0, 4, '2025-03-01T09:00:03.000Z'",
        "'s-1', 5, 'p', 'E', '{}', '{}', '0', NULL, 'm5', 0, 5, '2025-03-01T09:00:04.000Z'",
        "'s-1', 6, 'p', 'E', '{}', '{}', '0', 'Paid', 'm6', 0, 6, 'garbage'",
        "'s-1', 7, 'p', 'E', '{}', '{}', '0', 'Paid', 'm7', 0, 7.5, '2025-03-01T09:00:06.000Z'",
        "'s-1', 8, 'p', 'E', '{}', '{}', '0', 'Closed', 'm8', 0, 8, '2025-03-01T09:00:07.000Z'",
    ]
    .iter()
    .map(|values| format!("INSERT INTO emt_messages VALUES ({values})"))
    .collect();
    let path = store(dir.path(), "emmett.db", ddl, &rows);
    let source = crate::common::open(&path);
    assert_eq!(source.info().unwrap().layout, "emmett");
    let log = whole_log(source.as_ref());
    assert_eq!(log.len(), 8);
    assert_eq!(
        problem_of(&log, 2, "stream_version").0,
        "text, not a number"
    );
    assert_eq!(problem_of(&log, 3, "payload").0, "a number, not a document");
    assert_eq!(
        problem_of(&log, 4, "metadata").0,
        "a number, not a document"
    );
    assert_eq!(problem_of(&log, 5, "event_type").0, "NULL");
    assert_eq!(problem_of(&log, 6, "recorded_at").0, "not a time");
    let fractional = log
        .iter()
        .find(|e| e.is_unreadable("global_position"))
        .unwrap();
    assert_eq!(fractional.event_id.as_deref(), Some("m7"));
    assert_eq!(log.iter().filter(|e| e.problems.is_empty()).count(), 2);
    assert_cli_marks(&path, 6, 8);
}
