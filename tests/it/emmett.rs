//! Emmett's SQLite store against what the library reports.

use std::collections::BTreeSet;

use eventscope::core::{Direction, LogQuery, StreamQuery};

use crate::common::{expected, fixture, open};

#[test]
fn emmett_matches_library() {
    let source = open(&fixture("emmett/emmett.db"));
    let expected = expected("emmett/emmett.expected.json");
    let info = source.info().unwrap();
    assert_eq!(info.layout, "emmett");
    assert_eq!(info.event_count, expected["total_event_count"].as_u64());
    assert_eq!(
        info.head_position,
        expected["head_global_position"].as_u64().unwrap()
    );
    let want_streams = expected["streams"].as_array().unwrap();
    assert_eq!(info.stream_count, want_streams.len() as u64);

    let streams = source
        .list_streams(&StreamQuery {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    for want in want_streams {
        let id = want["stream_id"].as_str().unwrap();
        let got = streams
            .iter()
            .find(|s| s.stream_id == id)
            .unwrap_or_else(|| panic!("{id}"));
        assert_eq!(got.event_count, want["event_count"].as_u64().unwrap());
        assert_eq!(
            got.last_version,
            want["last_stream_version"].as_u64().unwrap()
        );
        assert_eq!(
            got.last_position,
            want["last_global_position"].as_u64().unwrap()
        );
        let stream_type = want["stream_type"].as_str().unwrap();
        // Emmett's own type for dash-less ids is `emt:unknown`; the category is then the id.
        let category = if stream_type == "emt:unknown" {
            id
        } else {
            stream_type
        };
        assert_eq!(got.category, category);
    }

    // The big stream's events in order with data and metadata as stored.
    let big = &expected["big_stream"];
    let id = big["stream_id"].as_str().unwrap();
    let events = source
        .read_stream(id, None, Direction::Forwards, 1000)
        .unwrap();
    let want = big["events"].as_array().unwrap();
    assert_eq!(events.len(), want.len());
    for (event, want) in events.iter().zip(want) {
        assert_eq!(event.event_type, want["type"].as_str().unwrap());
        assert_eq!(event.payload.as_json().unwrap(), &want["data"]);
        assert_eq!(event.metadata.as_json().unwrap(), &want["stored_metadata"]);
        assert_eq!(
            event.stream_version,
            want["stream_position"].as_u64().unwrap()
        );
        assert_eq!(
            event.global_position,
            want["global_position"].as_u64().unwrap()
        );
        assert_eq!(event.event_id.as_deref(), want["message_id"].as_str());
        assert_eq!(
            event.correlation_id.as_deref(),
            want["metadata"]["correlationId"].as_str()
        );
        assert_eq!(
            event.causation_id.as_deref(),
            want["metadata"]["causationId"].as_str()
        );
        assert!(event.recorded_at.is_some());
        // message_schema_version is not a schema version in Emmett 0.38.
        assert_eq!(event.schema_version, None);
    }

    // Checkpoints as stored by Emmett's processors.
    let checkpoints = source.checkpoints().unwrap();
    for want in expected["subscription_checkpoints"].as_array().unwrap() {
        let name = want["subscription_id"].as_str().unwrap();
        let found = checkpoints
            .iter()
            .find(|c| c.name.starts_with(name))
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(found.position, want["position"].as_u64().unwrap(), "{name}");
    }
    assert_eq!(
        checkpoints.len(),
        expected["subscription_checkpoints"]
            .as_array()
            .unwrap()
            .len()
    );
}

#[test]
fn emmett_correlation_ids_span_streams() {
    let source = open(&fixture("emmett/emmett.db"));
    let expected = expected("emmett/emmett.expected.json");
    let log = source
        .read_log(&LogQuery {
            limit: 10_000,
            ..LogQuery::default()
        })
        .unwrap();
    for correlation in expected["correlations"].as_array().unwrap() {
        let id = correlation["correlation_id"].as_str().unwrap();
        let streams: BTreeSet<&str> = log
            .iter()
            .filter(|e| e.correlation_id.as_deref() == Some(id))
            .map(|e| e.stream_id.as_str())
            .collect();
        let want: BTreeSet<&str> = correlation["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(streams, want, "{id}");
        let positions: Vec<u64> = log
            .iter()
            .filter(|e| e.correlation_id.as_deref() == Some(id))
            .map(|e| e.global_position)
            .collect();
        let mut want_positions: Vec<u64> = correlation["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["global_position"].as_u64().unwrap())
            .collect();
        want_positions.sort_unstable();
        assert_eq!(positions, want_positions, "{id}");
    }
    let without: Vec<u64> = log
        .iter()
        .filter(|e| e.correlation_id.is_none())
        .map(|e| e.global_position)
        .collect();
    let want: Vec<u64> = expected["events_without_correlation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["global_position"].as_u64().unwrap())
        .collect();
    assert_eq!(without, want);
}

#[test]
fn emmett_log_filters() {
    let source = open(&fixture("emmett/emmett.db"));
    let carts = source
        .read_log(&LogQuery {
            stream_prefix: Some("shopping_cart-".into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    assert!(
        carts
            .iter()
            .all(|e| e.stream_id.starts_with("shopping_cart-"))
    );
    let types = source.event_types().unwrap();
    assert!(types.contains(&"ProductItemAdded".to_owned()));
    let added = source
        .read_log(&LogQuery {
            event_types: vec!["ProductItemAdded".into(), "ProductItemRemoved".into()],
            from_position: Some(50),
            limit: 5,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(added.len(), 5);
    assert!(
        added
            .iter()
            .all(|e| e.global_position >= 50 && e.event_type.starts_with("ProductItem"))
    );
    assert!(
        added
            .windows(2)
            .all(|w| w[0].global_position < w[1].global_position)
    );
    let categories = source.categories().unwrap();
    assert!(
        categories.contains(&("shopping_cart".to_owned(), 3)),
        "{categories:?}"
    );
    let carts = source.count_streams(&StreamQuery {
        category: Some("shopping_cart".into()),
        ..Default::default()
    });
    assert_eq!(carts.unwrap(), 3);
}

/// Emmett stores the type as the application names it: the stored and the shown form are
/// the same, every type filters to exactly its events (counted in the file's own SQL), and
/// a reducer or upcaster naming them gets no warning while a misspelt one does.
#[test]
fn emmett_type_names_are_stored_as_shown_and_filter_alike() {
    let path = fixture("emmett/emmett.db");
    let source = open(&path);
    let names = source.event_type_names().unwrap();
    assert!(!names.is_empty());
    let conn =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    for name in &names {
        assert_eq!(name.shown, name.stored);
        let events = source
            .read_log(&LogQuery {
                event_types: vec![name.stored.clone()],
                limit: 10_000,
                ..LogQuery::default()
            })
            .unwrap();
        let want: i64 = conn
            .query_row(
                "SELECT count(*) FROM emt_messages WHERE message_type = ?1",
                [&name.stored],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(events.len() as i64, want, "{}", name.stored);
        assert!(
            events
                .iter()
                .all(|e| e.has_type(&name.stored) && e.stored_type() == name.stored)
        );
    }
    let first = &names[0].stored;
    let misspelt = format!("{first}x");
    let warnings = eventscope::core::type_names::unknown_type_warnings(
        "r.js",
        "handler",
        std::slice::from_ref(&misspelt),
        &names,
    );
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[1].contains(&format!(
            "no event type `{misspelt}`; did you mean `{first}`"
        )),
        "{warnings:?}"
    );
    assert!(
        eventscope::core::type_names::unknown_type_warnings(
            "r.js",
            "handler",
            std::slice::from_ref(first),
            &names
        )
        .is_empty()
    );
}
