//! Python `eventsourcing` stores (both persistence modules) against what the library reports.

use eventscope::core::{Direction, EventSource, LogQuery, StreamQuery};
use serde_json::Value;

use crate::common::{expected, fixture, open};

fn check_application(source: &dyn EventSource, app: &Value) {
    let info = source.info().expect("info");
    assert_eq!(info.event_count, app["total_event_count"].as_u64());
    assert_eq!(
        info.head_position,
        app["max_notification_id"].as_u64().unwrap()
    );
    assert_eq!(info.stream_count, app["aggregate_count"].as_u64().unwrap());
    assert_eq!(
        info.snapshot_count,
        app["snapshot_count"].as_u64().unwrap_or(0)
    );

    // Every aggregate: id in canonical form, category = aggregate class, counts.
    let streams = source
        .list_streams(&StreamQuery {
            limit: 1000,
            ..StreamQuery::default()
        })
        .unwrap();
    assert_eq!(
        streams.len() as u64,
        app["aggregate_count"].as_u64().unwrap()
    );
    for aggregate in app["aggregates"].as_array().unwrap() {
        let id = aggregate["id"].as_str().unwrap();
        let stream = streams
            .iter()
            .find(|s| s.stream_id == id)
            .unwrap_or_else(|| panic!("{id} listed"));
        assert_eq!(
            stream.event_count,
            aggregate["event_count"].as_u64().unwrap(),
            "{id}"
        );
        assert_eq!(
            stream.last_version,
            aggregate["last_version"].as_u64().unwrap(),
            "{id}"
        );
        assert_eq!(
            stream.category,
            aggregate["class_name"].as_str().unwrap(),
            "{id}"
        );
        assert_eq!(
            stream.last_position,
            aggregate["last_notification_id"].as_u64().unwrap()
        );
        // Accepted in any form.
        let hex = aggregate["id_hex"].as_str().unwrap();
        assert_eq!(source.stream(hex).unwrap().unwrap().stream_id, id);
        assert_eq!(
            source
                .stream(&id.to_uppercase())
                .unwrap()
                .unwrap()
                .event_count,
            stream.event_count
        );
    }

    // The chosen aggregate's events, in order, decoded as the library decodes them.
    let chosen = &app["chosen_aggregate"];
    let id = chosen["id"].as_str().unwrap();
    let events = source
        .read_stream(id, None, Direction::Forwards, 10_000)
        .unwrap();
    let want = chosen["events"].as_array().unwrap();
    assert_eq!(events.len(), want.len());
    for (event, want) in events.iter().zip(want) {
        assert_eq!(event.stream_id, id);
        assert_eq!(event.stream_version, want["version"].as_u64().unwrap());
        assert_eq!(
            event.global_position,
            want["notification_id"].as_u64().unwrap()
        );
        let topic = want["topic"].as_str().unwrap();
        assert_eq!(event.event_type, topic.split_once(':').unwrap().1);
        assert_eq!(
            u64::from(event.schema_version.unwrap()),
            want["stored_class_version"].as_u64().unwrap()
        );
        assert_eq!(
            event.payload.as_json().unwrap(),
            &want["decoded_state"],
            "v{}",
            event.stream_version
        );
        let raw: Value = serde_json::from_str(want["raw_state"].as_str().unwrap()).unwrap();
        assert_eq!(event.payload.stored_json().unwrap(), &raw);
        assert_eq!(
            event.payload.is_decoded(),
            event.payload.as_json() != event.payload.stored_json()
        );
        let timestamp =
            eventscope::core::time::parse_timestamp(want["timestamp"].as_str().unwrap());
        assert_eq!(event.recorded_at, timestamp);
    }

    // Backwards paging from a version.
    let top = (events.len() as u64).min(40);
    let page = source
        .read_stream(id, Some(top), Direction::Backwards, 5)
        .unwrap();
    let versions: Vec<u64> = page.iter().map(|e| e.stream_version).collect();
    let want: Vec<u64> = (1..=top).rev().take(5).collect();
    assert_eq!(versions, want);

    // Snapshots: versions and decoded state as the library reports them.
    for snapshot in app["snapshots"].as_array().unwrap() {
        let stream = snapshot["originator_id"].as_str().unwrap();
        let version = snapshot["originator_version"].as_u64().unwrap();
        let stored = source.snapshots(stream).unwrap();
        let found = stored
            .iter()
            .find(|s| s.version == version)
            .expect("snapshot present");
        let mut want_state = snapshot["state"].clone();
        // The library's report drops the class version marker from the state.
        if let Some(map) = want_state.as_object_mut() {
            map.remove("class_version");
        }
        let mut got_state = found.state.as_json().unwrap().clone();
        got_state.as_object_mut().unwrap().remove("class_version");
        assert_eq!(got_state, want_state, "{stream}@{version}");
        assert_eq!(
            u64::from(found.schema_version.unwrap()),
            snapshot["stored_aggregate_class_version"].as_u64().unwrap()
        );
        assert_eq!(
            found.taken_at,
            eventscope::core::time::parse_timestamp(snapshot["timestamp"].as_str().unwrap())
        );
    }

    // The global log matches the library's notification order.
    let log = source
        .read_log(&LogQuery {
            limit: 10_000,
            ..LogQuery::default()
        })
        .unwrap();
    let notifications = app["notifications"].as_array().unwrap();
    assert_eq!(log.len(), notifications.len());
    for (event, notification) in log.iter().zip(notifications) {
        assert_eq!(event.global_position, notification["id"].as_u64().unwrap());
        assert_eq!(
            event.stream_id,
            notification["originator_id"].as_str().unwrap()
        );
        assert_eq!(
            event.stream_version,
            notification["originator_version"].as_u64().unwrap()
        );
    }
}

#[test]
fn eventsourcing_sqlite_matches_library() {
    let source = open(&fixture("eventsourcing/es_sqlite.db"));
    let expected = expected("eventsourcing/es_sqlite.expected.json");
    assert_eq!(source.info().unwrap().layout, "eventsourcing");
    check_application(source.as_ref(), &expected["applications"]["BankApp"]);
    let categories = source.categories().unwrap();
    assert_eq!(
        categories,
        vec![("BankAccount".to_owned(), 8), ("Order".to_owned(), 4)]
    );
    let orders = source.list_streams(&StreamQuery {
        category: Some("Order".into()),
        limit: 100,
        ..Default::default()
    });
    assert_eq!(orders.unwrap().len(), 4);
}

#[test]
fn eventsourcing_sqlite_mixed_class_versions() {
    let source = open(&fixture("eventsourcing/es_sqlite.db"));
    let deposits = source
        .read_log(&LogQuery {
            event_types: vec!["BankAccount.Deposited".to_owned()],
            limit: 10_000,
            ..LogQuery::default()
        })
        .unwrap();
    let v1 = deposits
        .iter()
        .filter(|e| e.schema_version == Some(1))
        .count();
    let v2 = deposits
        .iter()
        .filter(|e| e.schema_version == Some(2))
        .count();
    assert_eq!((v1, v2), (50, 68));
    // Typed values decoded; raw form one step away.
    let scientific = deposits.iter().find(|e| e.global_position == 131).unwrap();
    assert_eq!(scientific.payload.as_json().unwrap()["amount"], "1.5E+3");
    assert!(scientific.payload.is_decoded());
    let raw = scientific.payload.stored_json().unwrap();
    assert_eq!(raw["amount"]["_type_"], "decimal_str");
}

#[test]
fn eventsourcing_downstream_tracking() {
    let source = open(&fixture("eventsourcing/es_sqlite_downstream.db"));
    let expected = expected("eventsourcing/es_sqlite_downstream.expected.json");
    let tracking = &expected["tracking"][0];
    let checkpoints = source.checkpoints().unwrap();
    assert_eq!(
        checkpoints.len(),
        1,
        "the __migration__ row is not a checkpoint: {checkpoints:?}"
    );
    assert_eq!(
        checkpoints[0].position,
        tracking["max_tracking_id"].as_u64().unwrap()
    );
    assert_eq!(
        checkpoints[0].upstream.as_deref(),
        tracking["leader"].as_str()
    );
    check_application(source.as_ref(), &expected["applications"]["Compliance"]);
}

#[test]
fn eventsourcing_sqlalchemy_matches_library() {
    let path = fixture("eventsourcing/es_sqlalchemy.db");
    let expected = expected("eventsourcing/es_sqlalchemy.expected.json");
    let source = open(&path);
    let info = source.info().unwrap();
    assert_eq!(info.layout, "eventsourcing-sqlalchemy");
    assert!(
        info.layout_detail.contains("bankapp"),
        "{}",
        info.layout_detail
    );
    check_application(source.as_ref(), &expected["applications"]["BankApp"]);
    // The file's other application is offered (the window's "1 more here").
    assert_eq!(info.others, ["compliance"]);
    // The downstream's tracking table in the same file is this application's checkpoint.
    let checkpoints = source.checkpoints().unwrap();
    let tracking = &expected["tracking"][0];
    assert_eq!(checkpoints.len(), 1);
    assert_eq!(checkpoints[0].name, "compliance");
    assert_eq!(
        checkpoints[0].position,
        tracking["max_tracking_id"].as_u64().unwrap()
    );

    // The other application of the file, chosen with `#`.
    let location = format!("{}#Compliance", path.display());
    let compliance = eventscope::source::open(&location, &Default::default()).unwrap();
    check_application(compliance.as_ref(), &expected["applications"]["Compliance"]);
    let missing =
        eventscope::source::open(&format!("{}#Nope", path.display()), &Default::default());
    let message = missing.err().unwrap().to_string();
    assert!(
        message.contains("bankapp") && message.contains("compliance"),
        "{message}"
    );
}

#[test]
fn filters_and_paging() {
    let source = open(&fixture("eventsourcing/es_sqlite.db"));
    // Filter by a hyphenated fragment of an id stored as 32 hex.
    let found = source
        .list_streams(&StreamQuery {
            filter: Some("8CB2A7EF-B0E4".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].stream_id, "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999");
    // Offsets page through the same order.
    let all = source
        .list_streams(&StreamQuery {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    let page = source
        .list_streams(&StreamQuery {
            offset: 3,
            limit: 4,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page, all[3..7].to_vec());
    // Last activity order.
    let recent = source
        .list_streams(&StreamQuery {
            sort: eventscope::core::StreamSort::LastActivity,
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(
        recent
            .windows(2)
            .all(|w| w[0].last_position >= w[1].last_position)
    );
    assert_eq!(recent[0].last_position, 203);
    // Time window and newest N on the log.
    let since = eventscope::core::time::parse_timestamp("2024-06-01T00:00:00Z").unwrap();
    let window = source
        .read_log(&LogQuery {
            since: Some(since),
            limit: 10_000,
            ..LogQuery::default()
        })
        .unwrap();
    assert!(!window.is_empty());
    assert!(window.iter().all(|e| e.recorded_at.unwrap() >= since));
    let all_log = source
        .read_log(&LogQuery {
            limit: 10_000,
            ..LogQuery::default()
        })
        .unwrap();
    let outside = all_log
        .iter()
        .filter(|e| e.recorded_at.unwrap() < since)
        .count();
    assert_eq!(window.len() + outside, all_log.len());
    let newest = source.read_log(&LogQuery::newest(3)).unwrap();
    assert_eq!(
        newest.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        vec![203, 202, 201]
    );
    // Version at a time: the last event at or before it.
    let id = "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999";
    let events = source
        .read_stream(id, None, Direction::Forwards, 1000)
        .unwrap();
    let tenth = events[9].recorded_at.unwrap();
    assert_eq!(source.version_at(id, tenth).unwrap(), Some(10));
    assert_eq!(
        source
            .version_at(id, tenth - chrono::TimeDelta::microseconds(1))
            .unwrap(),
        Some(9)
    );
    assert_eq!(
        source
            .version_at(
                id,
                events[0].recorded_at.unwrap() - chrono::TimeDelta::days(1)
            )
            .unwrap(),
        None
    );
}

/// Filtering the log by the stored topic (`domain:BankAccount.Closed`, what the library
/// stores and its users write) gives the same events as by the shown name, through the
/// source and through `eventscope log --type`. Needs the SQLite source's stored-type
/// support (fidelity-sqlite).
#[test]
fn log_filter_by_stored_topic_equals_filter_by_shown_name() {
    let path = fixture("eventsourcing/es_sqlite.db");
    let source = open(&path);
    let names = source.event_type_names().unwrap();
    let closed = names
        .iter()
        .find(|t| t.shown == "BankAccount.Closed")
        .expect("BankAccount.Closed");
    assert_eq!(closed.stored, "domain:BankAccount.Closed");
    for (shown, stored) in [
        ("BankAccount.Closed", "domain:BankAccount.Closed"),
        ("BankAccount.Deposited", "domain:BankAccount.Deposited"),
        ("Order.Placed", "domain:Order.Placed"),
    ] {
        let read = |name: &str| {
            source
                .read_log(&LogQuery {
                    event_types: vec![name.to_owned()],
                    limit: 10_000,
                    ..LogQuery::default()
                })
                .unwrap()
        };
        let by_shown = read(shown);
        assert!(!by_shown.is_empty(), "{shown}");
        assert!(
            by_shown
                .iter()
                .all(|e| e.event_type == shown && e.stored_type() == stored && e.has_type(stored))
        );
        assert_eq!(read(stored), by_shown, "{stored}");
    }
    let path = path.display().to_string();
    let cli = |name: &str| {
        crate::common::json_lines(&crate::common::eventscope(&[
            "log", &path, "--type", name, "--json",
        ]))
    };
    let by_shown = cli("BankAccount.Closed");
    assert!(!by_shown.is_empty());
    assert_eq!(cli("domain:BankAccount.Closed"), by_shown);
    assert!(
        by_shown
            .iter()
            .all(|e| e["stored_type"] == "domain:BankAccount.Closed")
    );
}
