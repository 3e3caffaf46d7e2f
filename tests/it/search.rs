//! Search (`eventscope search`, `search::scan`) and structured filters (`log --where`) on
//! stores written by the real libraries and on a store with tricky stored text: every hit
//! is compared with a brute-force check of every event, so the SQLite prefilter can never
//! drop an event that matches.

use std::ops::ControlFlow;
use std::path::Path;

use eventscope::core::EventSource;
use eventscope::core::event::Event;
use eventscope::core::query::{Direction, LogQuery};
use eventscope::search::scan::{Scan, scan};
use eventscope::search::{Needle, filter::Filter};

use crate::common::{demo_store, eventscope, fixture, json_lines, open, store_fingerprint};

/// Every event of the store, oldest first.
fn all_events(source: &dyn EventSource) -> Vec<Event> {
    let mut events = Vec::new();
    let mut from = None;
    loop {
        let page = source
            .read_log(&LogQuery {
                from_position: from,
                direction: Direction::Forwards,
                limit: 1000,
                ..LogQuery::default()
            })
            .expect("read log");
        let Some(last) = page.last().map(|e| e.global_position) else {
            break;
        };
        let full = page.len() == 1000;
        events.extend(page);
        if !full {
            break;
        }
        from = Some(last + 1);
    }
    events
}

/// Positions the scan finds for `text`, newest first.
fn searched(source: &dyn EventSource, text: &str) -> Vec<u64> {
    let needle = Needle::new(text).expect("needle");
    let matcher = |e: &Event| {
        let m = needle.matches(e);
        (!m.is_empty()).then_some(m)
    };
    let mut found = Vec::new();
    let end = scan(
        source,
        &Scan {
            scope: LogQuery::default(),
            prefilter: needle.prefilter(),
            matcher: &matcher,
        },
        |hit| {
            found.push(hit.event.global_position);
            ControlFlow::Continue(())
        },
    )
    .expect("scan");
    assert!(end.complete);
    found
}

/// Brute force, independent of the matcher: the decoded payload and metadata as JSON text,
/// and the ids, lowercased, contain the text (for texts without quotes, backslashes or
/// key names).
pub(crate) fn brute_force(events: &[Event], text: &str) -> Vec<u64> {
    let text = text.to_lowercase();
    let mut found: Vec<u64> = events
        .iter()
        .filter(|e| {
            let mut hay = format!(
                "{} {} {} {}",
                e.stream_id,
                e.event_id.as_deref().unwrap_or(""),
                e.correlation_id.as_deref().unwrap_or(""),
                e.causation_id.as_deref().unwrap_or("")
            );
            for payload in [&e.payload, &e.metadata] {
                match payload.as_json() {
                    Some(v) => hay.push_str(&v.to_string()),
                    None => hay.push_str(payload.raw_text().unwrap_or("")),
                }
            }
            hay.to_lowercase().contains(&text)
        })
        .map(|e| e.global_position)
        .collect();
    found.reverse();
    found
}

/// Texts taken from the store's own payloads: string values of a few events, far apart.
pub(crate) fn sample_values(events: &[Event]) -> Vec<String> {
    let mut values = Vec::new();
    for event in events.iter().step_by((events.len() / 6).max(1)) {
        if let Some(serde_json::Value::Object(map)) = event.payload.as_json() {
            values.extend(
                map.values()
                    .filter_map(|v| v.as_str())
                    .filter(|s| s.len() >= 4 && !s.contains(['"', '\\']))
                    .take(2)
                    .map(str::to_owned),
            );
        }
    }
    values
}

#[test]
fn search_finds_exactly_the_events_that_hold_a_value_in_real_library_stores() {
    let dir = tempfile::tempdir().expect("dir");
    let (demo, _) = demo_store(dir.path(), 3000, 7);
    let stores = [
        fixture("eventsourcing/es_sqlite.db"),
        fixture("eventsourcing/es_sqlalchemy.db"),
        fixture("emmett/emmett.db"),
        fixture("guide/guide_first.db"),
        demo,
    ];
    for path in &stores {
        let before = store_fingerprint(path);
        let source = open(path);
        let events = all_events(source.as_ref());
        let values = sample_values(&events);
        assert!(!values.is_empty(), "{}: no sample values", path.display());
        for value in &values {
            let expected = brute_force(&events, value);
            assert!(!expected.is_empty(), "{value}");
            assert_eq!(
                searched(source.as_ref(), value),
                expected,
                "{}: {value:?}",
                path.display()
            );
            // Any letter case.
            assert_eq!(
                searched(source.as_ref(), &value.to_uppercase()),
                expected,
                "{value}"
            );
        }
        assert!(searched(source.as_ref(), "no-such-text-anywhere-42").is_empty());
        assert_eq!(store_fingerprint(path), before, "{}", path.display());
    }
}

/// A store whose stored text hides matches from a naive prefilter: JSON `\u` escapes,
/// escaped quotes, ids inside longer strings, nested metadata, UUIDs stored as hex, rows
/// that are not JSON, text in a blob.
pub(crate) fn tricky_store(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("create");
    conn.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT, aggregate_id TEXT NOT NULL, \
         version INTEGER NOT NULL, event_type TEXT NOT NULL, payload, metadata TEXT, created_at TEXT);",
    )
    .expect("schema");
    let rows: [(&str, &str, &str); 9] = [
        (
            "city-1",
            r#"{"city": "\u00c6r\u00f8sk\u00f8bing", "street": "Stra\u00dfe 5"}"#,
            "{}",
        ),
        ("city-2", r#"{"city": "Ærøskøbing"}"#, "{}"),
        (
            "quote-1",
            r#"{"note": "he said \"REF-77\" twice", "ref": "xREF-77x"}"#,
            "{}",
        ),
        (
            "nested-1",
            r#"{"a": 1}"#,
            r#"{"metadata": {"inner": {"user": "Ana@Example.com"}}}"#,
        ),
        (
            "uuid-1",
            r#"{"account": {"_type_": "uuid_hex", "_data_": "5f1c7a527b2e4d8a9b0e1c2d3e4f5a6b"}}"#,
            "{}",
        ),
        (
            "text-1",
            "not json at all: REF-77 and ana@example.com",
            "also not json",
        ),
        ("num-1", r#"{"amount": 12.50, "order": 880042}"#, "{}"),
        (
            "plain-1",
            r#"{"city": "Aero"}"#,
            r#"{"correlation_id": "corr-REF-77"}"#,
        ),
        (
            "slash-1",
            r#"{"url": "https:\/\/shop.example\/p\/SKU-9"}"#,
            "{}",
        ),
    ];
    for (i, (stream, payload, metadata)) in rows.iter().enumerate() {
        conn.execute(
            "INSERT INTO events (event_id, aggregate_id, version, event_type, payload, metadata, created_at) \
             VALUES (?1, ?2, 1, 'Noted', ?3, ?4, '2024-01-01T00:00:00Z')",
            rusqlite::params![format!("e-{i}"), stream, payload, metadata],
        )
        .expect("insert");
    }
    // A payload stored as a blob.
    conn.execute(
        "INSERT INTO events (event_id, aggregate_id, version, event_type, payload, metadata, created_at) \
         VALUES ('e-blob', 'blob-1', 1, 'Noted', CAST('{\"code\": \"ZXQ-5\"}' AS BLOB), '{}', '2024-01-01T00:00:00Z')",
        [],
    )
    .expect("blob");
}

#[test]
fn the_pushed_down_scan_agrees_with_checking_every_event_on_tricky_text() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tricky.db");
    tricky_store(&path);
    let source = open(&path);
    assert!(source.narrows_searches(), "SQLite narrows searches");
    let events = all_events(source.as_ref());
    assert_eq!(events.len(), 10);
    let stream_of = |position: u64| {
        events
            .iter()
            .find(|e| e.global_position == position)
            .map(|e| e.stream_id.clone())
            .unwrap_or_default()
    };
    let cases: [(&str, &[&str]); 10] = [
        ("ærøskøbing", &["city-2", "city-1"]),
        ("STRAßE", &["city-1"]),
        ("ref-77", &["plain-1", "text-1", "quote-1"]),
        ("\"REF-77\"", &["quote-1"]),
        ("ana@example.com", &["text-1", "nested-1"]),
        ("7B2E4D8A9B0E", &["uuid-1"]),
        ("12.5", &["num-1"]),
        ("880042", &["num-1"]),
        ("shop.example/p/sku-9", &["slash-1"]),
        ("zxq-5", &["blob-1"]),
    ];
    for (text, expected) in cases {
        let needle = Needle::new(text).expect("needle");
        // The exact matcher over every event, with no prefilter…
        let mut exact: Vec<String> = events
            .iter()
            .rev()
            .filter(|e| !needle.matches(e).is_empty())
            .map(|e| e.stream_id.clone())
            .collect();
        exact.dedup();
        assert_eq!(exact, expected, "exact matcher for {text:?}");
        // … and the scan the store narrows give the same events.
        let found: Vec<String> = searched(source.as_ref(), text)
            .into_iter()
            .map(stream_of)
            .collect();
        assert_eq!(found, expected, "pushed-down scan for {text:?}");
    }
}

#[test]
fn cli_search_prints_hits_with_paths_as_json_csv_and_a_table() {
    let path = fixture("emmett/emmett.db");
    let source = open(&path);
    let events = all_events(source.as_ref());
    let value = sample_values(&events).into_iter().next().expect("a value");
    let expected = brute_force(&events, &value);
    let store = path.to_str().expect("utf-8");

    let lines = json_lines(&eventscope(&[
        "search", store, &value, "--json", "--limit", "all",
    ]));
    let positions: Vec<u64> = lines
        .iter()
        .map(|l| l["global_position"].as_u64().expect("position"))
        .collect();
    assert_eq!(positions, expected);
    for line in &lines {
        let matched = line["matched"].as_array().expect("matched");
        assert!(!matched.is_empty());
        assert!(matched.iter().any(|m| {
            m["value"]
                .as_str()
                .is_some_and(|v| v.to_lowercase().contains(&value.to_lowercase()))
        }));
        assert!(matched[0]["path"].as_str().is_some_and(|p| !p.is_empty()));
    }

    let csv = eventscope(&["search", store, &value, "--csv", "--limit", "all"]);
    let text = String::from_utf8_lossy(&csv.stdout);
    let mut rows = text.lines();
    assert_eq!(
        rows.next(),
        Some("global_position,stream_id,stream_version,event_type,recorded_at,event_id,path,value")
    );
    assert!(rows.count() >= expected.len());

    let limited = eventscope(&["search", store, &value, "--limit", "1"]);
    let table = String::from_utf8_lossy(&limited.stdout);
    assert!(
        table.lines().next().is_some_and(|h| h.contains("matched")),
        "{table}"
    );
    assert_eq!(table.lines().count(), 2, "header and one hit: {table}");
    if expected.len() > 1 {
        assert!(String::from_utf8_lossy(&limited.stderr).contains("more match"));
    }

    let none = eventscope(&["search", store, "no-such-text-anywhere-42"]);
    assert!(none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no event mentions"));
}

#[test]
fn cli_log_where_filters_with_typed_comparisons_and_points_at_syntax_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let (demo, _) = demo_store(dir.path(), 2000, 3);
    let source = open(&demo);
    let events = all_events(source.as_ref());
    let store = demo.to_str().expect("utf-8");
    // A type that occurs, and a payload number field of it.
    let sample = events
        .iter()
        .find(|e| {
            e.payload
                .as_json()
                .and_then(|v| v.as_object())
                .is_some_and(|m| m.values().any(serde_json::Value::is_number))
        })
        .expect("an event with a number");
    let (key, _) = sample
        .payload
        .as_json()
        .and_then(|v| v.as_object())
        .and_then(|m| m.iter().find(|(_, v)| v.is_number()))
        .expect("number field");
    let filter_text = format!("type = {} and data.{key} > 10", sample.event_type);
    let filter = Filter::parse(&filter_text).expect("parse");
    let expected: Vec<u64> = events
        .iter()
        .filter(|e| {
            e.event_type == sample.event_type
                && e.payload
                    .as_json()
                    .and_then(|v| v.get(key.as_str()))
                    .and_then(serde_json::Value::as_f64)
                    .is_some_and(|n| n > 10.0)
        })
        .map(|e| e.global_position)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        events
            .iter()
            .filter(|e| filter.matches(e))
            .map(|e| e.global_position)
            .collect::<Vec<_>>(),
        expected
    );
    let lines = json_lines(&eventscope(&[
        "log",
        store,
        "--where",
        &filter_text,
        "--limit",
        "all",
        "--json",
    ]));
    let printed: Vec<u64> = lines
        .iter()
        .map(|l| l["global_position"].as_u64().expect("position"))
        .collect();
    assert_eq!(printed, expected);
    let newest = json_lines(&eventscope(&[
        "log",
        store,
        "--where",
        &filter_text,
        "--newest",
        "3",
        "--json",
    ]));
    let newest: Vec<u64> = newest
        .iter()
        .map(|l| l["global_position"].as_u64().expect("position"))
        .collect();
    assert_eq!(newest, expected[expected.len().saturating_sub(3)..]);

    let bad = eventscope(&["log", store, "--where", "type = A b"]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("type = A b\n         ^"), "{stderr}");
    assert!(stderr.contains("column 10"), "{stderr}");

    let nothing = eventscope(&["log", store, "--where", "type = NoSuchType"]);
    assert!(nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no event matches"));
}
