//! The CQRS/ES guide's own SQLite stores (tests/fixtures/guide, written by generate.py
//! with the guide's classes and stdlib `sqlite3`): both open with no mapping, and what the
//! writer wrote (expected.json) is what eventscope reads.

use std::collections::BTreeMap;

use eventscope::core::LogQuery;
use eventscope::core::query::Direction;
use eventscope::replay::fold;
use eventscope::replay::script::{ScriptOptions, ScriptReducer};
use serde_json::{Value, json};

use crate::common::{all_events, expected, fixture, open};

/// The guide's `BankAccount.apply`, as a reducer script.
const GUIDE_REDUCER: &str = r#"fromAll().when({
  $init() { return { balance: 0, is_open: false }; },
  AccountOpened(s, e) { s.is_open = true; },
  MoneyDeposited(s, e) { s.balance += e.data.amount; },
  MoneyWithdrawn(s, e) { s.balance -= e.data.amount; },
  AccountClosed(s, e) { s.is_open = false; },
});"#;

fn reducer() -> ScriptReducer {
    ScriptReducer::new("guide.js", GUIDE_REDUCER, &ScriptOptions::default()).unwrap()
}

fn time_of(text: &str) -> chrono::DateTime<chrono::Utc> {
    eventscope::core::time::parse_timestamp(text).unwrap()
}

#[test]
fn first_store_opens_with_no_mapping_and_says_what_it_detected() {
    let source = open(&fixture("guide/guide_first.db"));
    let info = source.info().unwrap();
    let expected = &expected("guide/expected.json")["guide_first"];
    assert_eq!(info.layout, "design");
    for part in [
        "stream from aggregate_id",
        "position from id",
        "no version column: versions are the 1-based ordinal in the stream by id",
        "time from created_at (naive times read as UTC)",
        "metadata from metadata",
    ] {
        assert!(info.layout_detail.contains(part), "{}", info.layout_detail);
    }
    let streams = expected["streams"].as_object().unwrap();
    assert_eq!(info.stream_count, streams.len() as u64);
    assert_eq!(
        info.event_count,
        Some(expected["events"].as_array().unwrap().len() as u64)
    );
    assert_eq!(info.snapshot_count, 0);
    for (stream, count) in streams {
        let summary = source.stream(stream).unwrap().unwrap();
        assert_eq!(summary.event_count, count.as_u64().unwrap(), "{stream}");
        assert_eq!(summary.last_version, count.as_u64().unwrap(), "{stream}");
    }
}

#[test]
fn first_store_events_are_what_the_guide_wrote_with_ordinal_versions() {
    let source = open(&fixture("guide/guide_first.db"));
    let expected = &expected("guide/expected.json")["guide_first"];
    let written = expected["events"].as_array().unwrap();
    let log = all_events(source.as_ref());
    assert_eq!(log.len(), written.len());
    for (event, want) in log.iter().zip(written) {
        let at = want["id"].as_u64().unwrap();
        assert_eq!(event.global_position, at);
        assert_eq!(event.stream_id, want["aggregate_id"].as_str().unwrap());
        assert_eq!(event.event_type, want["event_type"].as_str().unwrap());
        // The log page numbers each event in its stream (no version column).
        assert_eq!(
            event.stream_version,
            want["ordinal"].as_u64().unwrap(),
            "{at}"
        );
        // Python's default adapter wrote naive `YYYY-MM-DD HH:MM:SS[.ffffff]`: read as UTC.
        assert_eq!(
            event.recorded_at,
            Some(time_of(want["created_at"].as_str().unwrap())),
            "{at}"
        );
        assert_eq!(
            event.correlation_id.as_deref(),
            want["correlationId"].as_str()
        );
        assert_eq!(event.causation_id.as_deref(), want["causationId"].as_str());
        assert_eq!(event.payload.to_json(), want["payload"]);
        assert!(event.problems.is_empty(), "{:?}", event.problems);
    }
    // A stream read in created_at order, numbered 1.., forwards, backwards and from a version.
    for (stream, count) in expected["streams"].as_object().unwrap() {
        let count = count.as_u64().unwrap();
        let mine: Vec<&Value> = written
            .iter()
            .filter(|e| e["aggregate_id"] == stream.as_str())
            .collect();
        let forwards = source
            .read_stream(stream, None, Direction::Forwards, 1000)
            .unwrap();
        assert_eq!(forwards.len() as u64, count);
        for (i, (event, want)) in forwards.iter().zip(&mine).enumerate() {
            assert_eq!(event.stream_version, i as u64 + 1);
            assert_eq!(event.global_position, want["id"].as_u64().unwrap());
        }
        assert!(
            forwards
                .windows(2)
                .all(|w| w[0].recorded_at <= w[1].recorded_at),
            "{stream} in created_at order"
        );
        let backwards = source
            .read_stream(stream, None, Direction::Backwards, 1000)
            .unwrap();
        let versions: Vec<u64> = backwards.iter().map(|e| e.stream_version).collect();
        assert_eq!(versions, (1..=count).rev().collect::<Vec<_>>());
        let from_three = source
            .read_stream(stream, Some(3), Direction::Forwards, 2)
            .unwrap();
        assert_eq!(
            from_three
                .iter()
                .map(|e| (e.stream_version, e.global_position))
                .collect::<Vec<_>>(),
            forwards[2..4]
                .iter()
                .map(|e| (e.stream_version, e.global_position))
                .collect::<Vec<_>>()
        );
        let down_from_four = source
            .read_stream(stream, Some(4), Direction::Backwards, 2)
            .unwrap();
        assert_eq!(
            down_from_four
                .iter()
                .map(|e| e.stream_version)
                .collect::<Vec<_>>(),
            [4, 3]
        );
    }
    // A filtered log page still numbers events in their stream.
    let deposits = source
        .read_log(&LogQuery {
            event_types: vec!["MoneyDeposited".to_owned()],
            limit: 1000,
            ..LogQuery::default()
        })
        .unwrap();
    let want: Vec<(u64, u64)> = written
        .iter()
        .filter(|e| e["event_type"] == "MoneyDeposited")
        .map(|e| (e["id"].as_u64().unwrap(), e["ordinal"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        deposits
            .iter()
            .map(|e| (e.global_position, e.stream_version))
            .collect::<Vec<_>>(),
        want
    );
}

#[test]
fn first_store_replays_to_the_guides_balances_and_time_travels_by_ordinal() {
    let source = open(&fixture("guide/guide_first.db"));
    let expected = &expected("guide/expected.json")["guide_first"];
    for (stream, balance) in expected["balances"].as_object().unwrap() {
        let events = source
            .read_stream(stream, None, Direction::Forwards, 1000)
            .unwrap();
        let mut reducer = reducer();
        assert_eq!(&fold(&mut reducer, &events).unwrap(), balance, "{stream}");
        // Time travel: the version at the third event's time is 3.
        let third = events[2].recorded_at.unwrap();
        assert_eq!(source.version_at(stream, third).unwrap(), Some(3));
        assert_eq!(
            source
                .version_at(stream, third - chrono::TimeDelta::microseconds(1))
                .unwrap(),
            Some(2)
        );
    }
}

#[test]
fn first_store_traces_a_transfer_across_both_accounts() {
    let source = open(&fixture("guide/guide_first.db"));
    let expected = &expected("guide/expected.json")["guide_first"];
    let written = expected["events"].as_array().unwrap();
    for correlation in expected["transfer_correlations"].as_array().unwrap() {
        let id = correlation.as_str().unwrap();
        let (trace, _) =
            eventscope::trace::trace(source.as_ref(), id, None, &mut |_, _| {}).unwrap();
        let want: Vec<(u64, &str)> = written
            .iter()
            .filter(|e| e["correlationId"] == id)
            .map(|e| (e["id"].as_u64().unwrap(), e["event_type"].as_str().unwrap()))
            .collect();
        assert_eq!(want.len(), 2);
        assert_eq!(
            trace
                .nodes
                .iter()
                .map(|n| (n.event.global_position, n.event.event_type.as_str()))
                .collect::<Vec<_>>(),
            want
        );
        assert_eq!(trace.streams.len(), 2, "a transfer touches two accounts");
    }
}

#[test]
fn occ_store_opens_with_no_mapping_versions_snapshots_and_schema_versions() {
    let source = open(&fixture("guide/guide_occ.db"));
    let expected = &expected("guide/expected.json")["guide_occ"];
    let info = source.info().unwrap();
    assert_eq!(info.layout, "design");
    for part in [
        "stream from aggregate_id",
        "position from rowid",
        "version from version",
        "time from timestamp",
        "schema version from payload.version",
        "snapshots from snapshots",
    ] {
        assert!(info.layout_detail.contains(part), "{}", info.layout_detail);
    }
    let written = expected["events"].as_array().unwrap();
    assert_eq!(info.event_count, Some(written.len() as u64));
    let snapshots_written = expected["snapshots"].as_array().unwrap();
    assert_eq!(info.snapshot_count, snapshots_written.len() as u64);
    let log = all_events(source.as_ref());
    assert_eq!(log.len(), written.len());
    for (i, (event, want)) in log.iter().zip(written).enumerate() {
        // No position column: the rowid, i.e. the insertion order.
        assert_eq!(event.global_position, i as u64 + 1);
        assert_eq!(event.stream_id, want["aggregate_id"].as_str().unwrap());
        assert_eq!(event.stream_version, want["version"].as_u64().unwrap());
        assert_eq!(event.event_type, want["event_type"].as_str().unwrap());
        assert_eq!(
            event.schema_version,
            Some(u32::try_from(want["payload"]["version"].as_u64().unwrap()).unwrap())
        );
        assert_eq!(
            event.recorded_at,
            Some(time_of(want["timestamp"].as_str().unwrap()))
        );
        assert!(event.metadata.is_empty());
        assert!(event.event_id.is_none());
        assert!(event.problems.is_empty(), "{:?}", event.problems);
    }
    let mut by_stream: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for s in snapshots_written {
        by_stream
            .entry(s["aggregate_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(s.clone());
    }
    for (stream, want) in by_stream {
        let got = source.snapshots(&stream).unwrap();
        assert_eq!(
            got.iter()
                .map(|s| json!({
                    "aggregate_id": s.stream_id,
                    "version": s.version,
                    "schema_version": s.schema_version,
                    "state": s.state.to_json(),
                }))
                .collect::<Vec<_>>(),
            want
        );
        assert!(got.iter().all(|s| s.taken_at.is_none()), "no created_at");
    }
    for (stream, count) in expected["streams"].as_object().unwrap() {
        assert_eq!(
            source.stream(stream).unwrap().unwrap().event_count,
            count.as_u64().unwrap()
        );
        let events = source
            .read_stream(stream, None, Direction::Forwards, 1000)
            .unwrap();
        let mut reducer = reducer();
        let state = fold(&mut reducer, &events).unwrap();
        assert_eq!(state["balance"], expected["balances"][stream], "{stream}");
    }
}
