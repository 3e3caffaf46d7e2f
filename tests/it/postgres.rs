//! PostgreSQL stores on a real server (scripts/pg-test-server.sh), one test per layout,
//! checked against what the writing library reported (`*.expected.json`).

use std::sync::Arc;

use eventscope::core::{Direction, EventSource, LogQuery, StreamQuery};
use serde_json::Value;

use crate::pg_server::{PgServer, server_or_skip};

fn expected(name: &str) -> Value {
    crate::common::expected(&format!("postgres/{name}/{name}.expected.json"))
}

pub(crate) fn open(location: &str) -> Arc<dyn EventSource> {
    eventscope::source::open(location, &eventscope::source::OpenOptions::default())
        .unwrap_or_else(|e| panic!("open {location}: {e}"))
}

fn server(test: &str) -> Option<&'static PgServer> {
    server_or_skip(test)
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

fn all_log(source: &dyn EventSource) -> Vec<eventscope::core::Event> {
    source
        .read_log(&LogQuery {
            limit: 10_000,
            ..LogQuery::default()
        })
        .unwrap()
}

#[test]
fn diy_public_and_ledger() {
    let Some(server) = server("diy_public_and_ledger") else {
        return;
    };
    let url = server.fixture("diy");
    let want = expected("diy");
    // Without #App: the schema with the most events (public: 248 against ledger's 40).
    let store = open(&url);
    let p = &want["public"];
    let info = store.info().unwrap();
    assert_eq!(info.layout, "diy");
    assert_eq!(info.stream_count, u(&p["stream_count"]));
    assert_eq!(info.event_count, Some(u(&p["event_count"])));
    assert_eq!(info.head_position, u(&p["head"]));
    assert_eq!(info.snapshot_count, u(&p["snapshot_count"]));
    assert!(
        info.layout_detail.contains("ledger"),
        "{}",
        info.layout_detail
    );
    assert_eq!(store.head().unwrap(), u(&p["head"]));
    // Every stream, every event in order, payload and metadata as psycopg decoded them.
    for stream in p["streams"].as_array().unwrap() {
        let id = stream["aggregate_id"].as_str().unwrap();
        let events = store
            .read_stream(id, None, Direction::Forwards, 1000)
            .unwrap();
        let want_events = stream["events"].as_array().unwrap();
        assert_eq!(events.len(), want_events.len(), "{id}");
        for (got, want) in events.iter().zip(want_events) {
            assert_eq!(got.global_position, u(&want["id"]));
            assert_eq!(got.stream_version, u(&want["version"]));
            assert_eq!(got.event_type, want["event_type"].as_str().unwrap());
            assert_eq!(got.event_id.as_deref(), want["event_id"].as_str());
            assert_eq!(got.payload.to_json(), want["payload"], "{id} payload");
            assert_eq!(got.metadata.to_json(), want["metadata"], "{id} metadata");
            assert_eq!(
                got.schema_version,
                Some(u32::try_from(u(&want["event_version"])).unwrap())
            );
            let at = eventscope::core::time::parse_timestamp(want["created_at"].as_str().unwrap());
            assert_eq!(got.recorded_at, at);
        }
        let summary = store.stream(id).unwrap().unwrap();
        assert_eq!(summary.event_count, want_events.len() as u64);
    }
    // Paging: the list pages through every stream once.
    let mut seen = Vec::new();
    let mut query = StreamQuery {
        limit: 10,
        ..StreamQuery::default()
    };
    loop {
        let page = store.list_streams(&query).unwrap();
        if page.is_empty() {
            break;
        }
        seen.extend(page.into_iter().map(|s| s.stream_id));
        query.offset += 10;
    }
    assert_eq!(seen.len() as u64, u(&p["stream_count"]));
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    // Snapshots.
    let snaps = store.snapshots("account-1").unwrap();
    let want_snaps: Vec<&Value> = p["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["aggregate_id"] == "account-1")
        .collect();
    assert_eq!(snaps.len(), want_snaps.len());
    for (got, want) in snaps.iter().zip(&want_snaps) {
        assert_eq!(got.version, u(&want["version"]));
        assert_eq!(got.state.to_json(), want["state"]);
        assert_eq!(
            got.schema_version,
            Some(u32::try_from(u(&want["schema_version"])).unwrap())
        );
    }
    assert!(!store.snapshot_streams(0, 100).unwrap().is_empty());
    // Checkpoints (and lag = head - position).
    let checkpoints = store.checkpoints().unwrap();
    let want_cps = p["checkpoints"].as_array().unwrap();
    assert_eq!(checkpoints.len(), want_cps.len());
    for (got, want) in checkpoints.iter().zip(want_cps) {
        assert_eq!(got.name, want["name"].as_str().unwrap());
        assert_eq!(got.position, u(&want["position"]));
        assert_eq!(info.head_position - got.position, u(&want["lag"]));
    }
    // Correlation traces from the store's expression index.
    for (id, positions) in p["correlations"].as_object().unwrap().iter().take(40) {
        let found = store.correlated_events(id).unwrap().expect("index answers");
        assert!(
            found.origin.contains("events_correlation_idx"),
            "{}",
            found.origin
        );
        let got: Vec<u64> = found.events.iter().map(|e| e.global_position).collect();
        let want: Vec<u64> = positions.as_array().unwrap().iter().map(u).collect();
        assert_eq!(got, want, "{id}");
    }
    // Type filter in the log; version at a time.
    let withdrawn = store
        .read_log(&LogQuery {
            event_types: vec!["MoneyWithdrawn".to_owned()],
            limit: 1000,
            ..LogQuery::default()
        })
        .unwrap();
    assert!(!withdrawn.is_empty() && withdrawn.iter().all(|e| e.event_type == "MoneyWithdrawn"));
    let first = &p["streams"][0]["events"];
    let t2 =
        eventscope::core::time::parse_timestamp(first[1]["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(store.version_at("account-1", t2).unwrap(), Some(2));

    // The ledger variant, picked with #ledger: no snapshots, no index (a hint instead).
    let ledger = open(&format!("{url}#ledger"));
    let l = &want["ledger"];
    let info = ledger.info().unwrap();
    assert_eq!(info.stream_count, u(&l["stream_count"]));
    assert_eq!(info.event_count, Some(u(&l["event_count"])));
    assert!(
        info.layout_detail.contains("CREATE INDEX"),
        "{}",
        info.layout_detail
    );
    let cps = ledger.checkpoints().unwrap();
    let names: Vec<(&str, u64)> = cps.iter().map(|c| (c.name.as_str(), c.position)).collect();
    let want_names: Vec<(&str, u64)> = l["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), u(&c["position"])))
        .collect();
    assert_eq!(names, want_names);
    // Without an index the server still filters: a scan on its side, the same events the
    // log holds for each correlation.
    let log = all_log(ledger.as_ref());
    for (id, positions) in l["correlations"].as_object().unwrap() {
        let got: Vec<u64> = log
            .iter()
            .filter(|e| e.correlation_id.as_deref() == Some(id))
            .map(|e| e.global_position)
            .collect();
        let want: Vec<u64> = positions.as_array().unwrap().iter().map(u).collect();
        assert_eq!(got, want, "{id}");
        let found = ledger.correlated_events(id).unwrap().unwrap();
        assert!(
            found.origin.contains("scan on the server"),
            "{}",
            found.origin
        );
        let scanned: Vec<u64> = found.events.iter().map(|e| e.global_position).collect();
        assert_eq!(scanned, want, "{id}");
    }
    // From a position on (what eventscope's own index has not covered yet).
    let (id, positions) = l["correlations"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, p)| p.as_array().unwrap().len() > 1)
        .unwrap();
    let first = u(&positions[0]);
    let tail = ledger.correlated_events_after(id, first).unwrap().unwrap();
    let tail: Vec<u64> = tail.events.iter().map(|e| e.global_position).collect();
    let want: Vec<u64> = positions.as_array().unwrap()[1..].iter().map(u).collect();
    assert_eq!(tail, want, "{id} after {first}");
    let none = ledger
        .correlated_events("no-such-correlation")
        .unwrap()
        .unwrap();
    assert!(none.events.is_empty());
}

#[test]
fn eventsourcing_two_applications() {
    let Some(server) = server("eventsourcing_two_applications") else {
        return;
    };
    let url = server.fixture("eventsourcing");
    let want = expected("eventsourcing");
    let bank = open(&format!("{url}#BankApp"));
    let app = &want["applications"]["BankApp"];
    let info = bank.info().unwrap();
    assert_eq!(info.layout, "eventsourcing");
    assert_eq!(info.event_count, Some(u(&app["total_event_count"])));
    assert_eq!(info.head_position, u(&app["max_notification_id"]));
    assert_eq!(info.stream_count, u(&app["aggregate_count"]));
    assert_eq!(info.snapshot_count, u(&app["snapshot_count"]));
    // The chosen aggregate: every event, topic stored, class name shown, state decoded.
    let chosen = &app["chosen_aggregate"];
    let id = chosen["id"].as_str().unwrap();
    let events = bank
        .read_stream(id, None, Direction::Forwards, 1000)
        .unwrap();
    let want_events = chosen["events"].as_array().unwrap();
    assert_eq!(events.len(), want_events.len());
    for (got, want) in events.iter().zip(want_events) {
        assert_eq!(got.stream_id, id);
        assert_eq!(got.stream_version, u(&want["version"]));
        assert_eq!(got.global_position, u(&want["notification_id"]));
        assert_eq!(got.stored_type(), want["topic"].as_str().unwrap());
        let topic = want["topic"].as_str().unwrap();
        assert_eq!(got.event_type, topic.split_once(':').unwrap().1);
        assert_eq!(got.payload.to_json(), want["decoded_state"]);
        assert_eq!(
            got.payload.raw_text(),
            Some(want["raw_state"].as_str().unwrap())
        );
        assert_eq!(
            got.schema_version,
            Some(u32::try_from(u(&want["stored_class_version"])).unwrap())
        );
        assert_eq!(
            got.recorded_at,
            eventscope::core::time::parse_timestamp(want["timestamp"].as_str().unwrap())
        );
    }
    // The same id in another form finds the same stream.
    let hex = id.replace('-', "").to_uppercase();
    assert_eq!(
        bank.stream(&hex).unwrap().unwrap().event_count,
        want_events.len() as u64
    );
    assert!(bank.stream("not-a-uuid").unwrap().is_none());
    // Time travel: the version at the third event's time.
    let t3 = eventscope::core::time::parse_timestamp(want_events[2]["timestamp"].as_str().unwrap())
        .unwrap();
    assert_eq!(bank.version_at(id, t3).unwrap(), Some(3));
    // Snapshots.
    let snaps = bank.snapshots(id).unwrap();
    let want_snaps: Vec<&Value> = app["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["originator_id"] == id)
        .collect();
    assert_eq!(snaps.len(), want_snaps.len());
    for (got, want) in snaps.iter().zip(&want_snaps) {
        assert_eq!(got.version, u(&want["originator_version"]));
        assert_eq!(got.state.to_json(), want["state"]);
    }
    // Type filter in either form.
    let opened_shown = bank
        .read_log(&LogQuery {
            event_types: vec!["BankAccount.Opened".to_owned()],
            limit: 1000,
            ..LogQuery::default()
        })
        .unwrap();
    let opened_stored = bank
        .read_log(&LogQuery {
            event_types: vec!["domain:BankAccount.Opened".to_owned()],
            limit: 1000,
            ..LogQuery::default()
        })
        .unwrap();
    assert!(!opened_shown.is_empty());
    assert_eq!(opened_shown.len(), opened_stored.len());
    let names = bank.event_type_names().unwrap();
    assert!(
        names
            .iter()
            .any(|n| n.shown == "BankAccount.Opened" && n.stored == "domain:BankAccount.Opened")
    );
    assert!(
        bank.categories()
            .unwrap()
            .iter()
            .any(|(c, _)| c == "BankAccount")
    );
    // Compliance's tracking of BankApp is a checkpoint of BankApp.
    let tracking = &want["tracking"][0];
    let cps = bank.checkpoints().unwrap();
    assert_eq!(cps.len(), 1);
    assert_eq!(cps[0].position, u(&tracking["max_tracking_id"]));
    assert_eq!(cps[0].upstream.as_deref(), Some("BankApp"));
    assert_eq!(info.head_position - cps[0].position, u(&tracking["lag"]));
    // The other application.
    let compliance = open(&format!("{url}#Compliance"));
    let c = &want["applications"]["Compliance"];
    assert_eq!(
        compliance.info().unwrap().event_count,
        Some(u(&c["total_event_count"]))
    );
    // Without #App: the one with the most events.
    assert_eq!(
        open(&url).info().unwrap().event_count,
        Some(u(&app["total_event_count"]))
    );
}

#[test]
fn messagedb_categories_positions_causation() {
    let Some(server) = server("messagedb_categories_positions_causation") else {
        return;
    };
    let url = server.fixture("messagedb");
    let want = expected("messagedb");
    let store = open(&url);
    let info = store.info().unwrap();
    assert_eq!(info.layout, "messagedb");
    assert_eq!(info.event_count, Some(u(&want["message_count"])));
    assert_eq!(info.head_position, u(&want["head"]));
    assert_eq!(info.stream_count, u(&want["stream_count"]));
    // Categories by Message DB's own rule.
    let got: Vec<(String, u64)> = store.categories().unwrap();
    let want_cats: Vec<(String, u64)> = want["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap().to_owned(),
                u(&c["stream_count"]),
            )
        })
        .collect();
    let mut want_sorted = want_cats.clone();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    let commands = store
        .list_streams(&StreamQuery {
            category: Some("account:command".to_owned()),
            limit: 100,
            ..StreamQuery::default()
        })
        .unwrap();
    assert!(
        !commands.is_empty()
            && commands
                .iter()
                .all(|s| s.stream_id.starts_with("account:command-"))
    );
    // Streams, messages in order (0-based positions as Message DB numbers them).
    let log = all_log(store.as_ref());
    for stream in want["streams"].as_array().unwrap() {
        let name = stream["stream_name"].as_str().unwrap();
        let events = store
            .read_stream(name, None, Direction::Forwards, 1000)
            .unwrap();
        let msgs = stream["messages"].as_array().unwrap();
        assert_eq!(events.len(), msgs.len(), "{name}");
        for (got, want) in events.iter().zip(msgs) {
            assert_eq!(got.event_id.as_deref(), want["id"].as_str());
            assert_eq!(got.stream_version, u(&want["position"]));
            assert_eq!(got.global_position, u(&want["global_position"]));
            assert_eq!(got.event_type, want["type"].as_str().unwrap());
            assert_eq!(got.payload.to_json(), want["data"]);
        }
        let summary = store.stream(name).unwrap().unwrap();
        assert_eq!(summary.last_version, u(&stream["stream_version"]));
        assert_eq!(summary.category, stream["category"].as_str().unwrap());
    }
    // Correlation by correlationStreamName; causation linked to the causing message's id.
    for (correlation, positions) in want["correlations"].as_object().unwrap() {
        let got: Vec<u64> = log
            .iter()
            .filter(|e| e.correlation_id.as_deref() == Some(correlation))
            .map(|e| e.global_position)
            .collect();
        let want: Vec<u64> = positions.as_array().unwrap().iter().map(u).collect();
        assert_eq!(got, want, "{correlation}");
    }
    for (effect, cause) in want["causation"].as_object().unwrap() {
        let effect = log
            .iter()
            .find(|e| e.global_position == effect.parse::<u64>().unwrap())
            .unwrap();
        let cause = log.iter().find(|e| e.global_position == u(cause)).unwrap();
        assert_eq!(
            effect.causation_id, cause.event_id,
            "{}",
            effect.global_position
        );
    }
    // Consumer positions as checkpoints.
    let cps = store.checkpoints().unwrap();
    let want_cps = want["consumer_positions"].as_array().unwrap();
    assert_eq!(cps.len(), want_cps.len());
    for want in want_cps {
        let name = want["position_stream"].as_str().unwrap();
        let got = cps
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(got.position, u(&want["position"]));
        assert_eq!(got.category.as_deref(), want["category"].as_str(), "{name}");
    }
    // Lag per consumer counts only the messages of its own category, against that
    // category's head (consumerB: 18 behind, not 132 − 58).
    let samples =
        eventscope::source::lag::sample_lag(store.as_ref(), &[], chrono::Utc::now()).unwrap();
    assert_eq!(samples.len(), want_cps.len());
    for want in want_cps {
        let name = want["position_stream"].as_str().unwrap();
        let (_, sample) = samples
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(sample.position, u(&want["position"]), "{name}");
        assert_eq!(sample.head, u(&want["category_head"]), "{name}");
        assert_eq!(sample.lag_events, u(&want["lag_messages"]), "{name}");
        if sample.lag_events == 0 {
            assert!(sample.lag_seconds.abs() < 1e-9, "{name}");
        } else {
            assert!(sample.lag_seconds > 0.0, "{name}: {}", sample.lag_seconds);
        }
    }
    // `eventscope lag --json` says the same, with the category.
    let out = crate::common::stdout_of(&crate::common::eventscope(&["lag", &url, "--json"]));
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), want_cps.len(), "{out}");
    let b = lines
        .iter()
        .find(|l| l["name"] == "account:position-consumerB")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(b["category"], "account", "{b}");
    assert_eq!(b["position"], 58, "{b}");
    assert_eq!(b["head"], 102, "{b}");
    assert_eq!(b["lag_events"], 18, "{b}");
    assert_ne!(b["status"], "caught up", "{b}");
}

#[test]
fn emmett_streams_and_processors() {
    let Some(server) = server("emmett_streams_and_processors") else {
        return;
    };
    let url = server.fixture("emmett");
    let want = expected("emmett");
    let store = open(&url);
    let info = store.info().unwrap();
    assert_eq!(info.layout, "emmett");
    assert_eq!(info.event_count, Some(u(&want["total_event_count"])));
    assert_eq!(info.stream_count, u(&want["stream_count"]));
    assert_eq!(info.head_position, u(&want["head_global_position"]));
    for stream in want["streams"].as_array().unwrap() {
        let id = stream["stream_id"].as_str().unwrap();
        let got = store.stream(id).unwrap().unwrap();
        assert_eq!(got.event_count, u(&stream["event_count"]));
        assert_eq!(got.last_version, u(&stream["last_stream_version"]));
        let events = store
            .read_stream(id, None, Direction::Forwards, 1000)
            .unwrap();
        let want_events = want["stream_events"][id].as_array().unwrap();
        assert_eq!(events.len(), want_events.len());
        for (got, want) in events.iter().zip(want_events) {
            assert_eq!(got.event_type, want["type"].as_str().unwrap());
            assert_eq!(got.payload.to_json(), want["data"]);
        }
    }
    // Processor checkpoints, the stored value (email_notifications stays at 0).
    let cps = store.checkpoints().unwrap();
    for want in want["processor_checkpoints"].as_array().unwrap() {
        let name = want["processor_id"].as_str().unwrap();
        let got = cps
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(got.position, u(&want["library_checkpoint"]), "{name}");
    }
    // Correlations: the streams each one spans.
    let log = all_log(store.as_ref());
    for correlation in want["correlations"].as_array().unwrap() {
        let id = correlation["correlation_id"].as_str().unwrap();
        let mut streams: Vec<&str> = Vec::new();
        for e in log
            .iter()
            .filter(|e| e.correlation_id.as_deref() == Some(id))
        {
            if !streams.contains(&e.stream_id.as_str()) {
                streams.push(&e.stream_id);
            }
        }
        let mut want_streams: Vec<&str> = correlation["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        want_streams.sort_unstable();
        streams.sort_unstable();
        assert_eq!(streams, want_streams, "{id}");
    }
}

#[test]
fn marten_tenants_archived_progression() {
    let Some(server) = server("marten_tenants_archived_progression") else {
        return;
    };
    let url = server.fixture("marten");
    let want = expected("marten");
    for schema in ["trips", "orders"] {
        let store = open(&format!("{url}#{schema}"));
        let w = &want[schema];
        let info = store.info().unwrap();
        assert_eq!(info.layout, "marten");
        assert_eq!(info.event_count, Some(u(&w["event_count"])), "{schema}");
        assert_eq!(info.stream_count, u(&w["stream_count"]), "{schema}");
        assert_eq!(info.head_position, u(&w["head"]));
        for stream in w["streams"].as_array().unwrap() {
            let tenant = stream["tenant_id"].as_str().unwrap();
            let raw = stream["id"].as_str().unwrap();
            let id = if tenant == "*DEFAULT*" {
                raw.to_owned()
            } else {
                format!("{tenant}/{raw}")
            };
            let events = store
                .read_stream(&id, None, Direction::Forwards, 1000)
                .unwrap();
            let want_events = stream["events"].as_array().unwrap();
            assert_eq!(events.len(), want_events.len(), "{id}");
            for (got, want) in events.iter().zip(want_events) {
                assert_eq!(got.global_position, u(&want["seq_id"]));
                assert_eq!(got.event_type, want["type"].as_str().unwrap());
                assert_eq!(got.payload.to_json(), want["data"]);
                assert_eq!(
                    got.correlation_id.as_deref(),
                    want["correlation_id"].as_str()
                );
                let meta = got.metadata.to_json();
                assert_eq!(meta["isArchived"], want["is_archived"], "{id}");
            }
        }
        let cps = store.checkpoints().unwrap();
        for want in w["progression"].as_array().unwrap() {
            let name = want["name"].as_str().unwrap();
            let got = cps.iter().find(|c| c.name == name).unwrap();
            assert_eq!(got.position, u(&want["last_seq_id"]));
            assert_eq!(info.head_position - got.position, u(&want["lag"]));
        }
        // Tenants are filterable through the stream list.
        for tenant in w["tenants"].as_array().unwrap() {
            let t = tenant["tenant_id"].as_str().unwrap();
            if t == "*DEFAULT*" {
                continue;
            }
            let count = store
                .count_streams(&StreamQuery {
                    filter: Some(format!("{t}/")),
                    ..StreamQuery::default()
                })
                .unwrap();
            assert_eq!(count, u(&tenant["stream_count"]), "{t}");
        }
    }
}

/// The stream list of every layout: in id order it walks the stream index where one leads
/// with the stream column (all but Marten's, whose ids are shown with their tenant), and
/// what it says of each stream is what the events say, the same as the grouping the other
/// orders use.
#[test]
fn stream_list_walk_matches_the_events() {
    let Some(server) = server("stream_list_walk_matches_the_events") else {
        return;
    };
    for (fixture, walks) in [
        ("diy", true),
        ("eventsourcing", true),
        ("emmett", true),
        ("messagedb", true),
        ("marten", false),
    ] {
        let url = server.fixture(fixture);
        let concrete = eventscope::source::postgres::PostgresSource::open(&url, None).unwrap();
        assert_eq!(concrete.stream_index().is_some(), walks, "{fixture}");
        let store = open(&url);
        let all = |sort| {
            store
                .list_streams(&StreamQuery {
                    sort,
                    limit: 10_000,
                    ..StreamQuery::default()
                })
                .unwrap()
        };
        let by_id = all(eventscope::core::query::StreamSort::Id);
        let mut grouped = all(eventscope::core::query::StreamSort::LastActivity);
        grouped.sort_by(|a, b| a.stream_id.cmp(&b.stream_id));
        assert_eq!(by_id, grouped, "{fixture}");
        assert!(!by_id.is_empty(), "{fixture}");
        let info = store.info().unwrap();
        assert_eq!(by_id.len() as u64, info.stream_count, "{fixture}");
        assert_eq!(
            store.count_streams(&StreamQuery::default()).unwrap(),
            info.stream_count,
            "{fixture}"
        );
        // Paged by 3, the walk gives the same list.
        let mut paged = Vec::new();
        for offset in (0..by_id.len() as u64).step_by(3) {
            paged.extend(
                store
                    .list_streams(&StreamQuery {
                        limit: 3,
                        offset,
                        ..StreamQuery::default()
                    })
                    .unwrap(),
            );
        }
        assert_eq!(paged, by_id, "{fixture}");
        // Each summary against the stream's own events.
        for summary in &by_id {
            let events = store
                .read_stream(&summary.stream_id, None, Direction::Forwards, 10_000)
                .unwrap();
            let id = &summary.stream_id;
            assert_eq!(summary.event_count, events.len() as u64, "{fixture} {id}");
            assert_eq!(
                Some(summary.last_version),
                events.iter().map(|e| e.stream_version).max(),
                "{fixture} {id}"
            );
            assert_eq!(
                Some(summary.last_position),
                events.iter().map(|e| e.global_position).max(),
                "{fixture} {id}"
            );
            assert_eq!(
                summary.first_recorded_at,
                events.first().and_then(|e| e.recorded_at),
                "{fixture} {id}"
            );
            assert_eq!(
                summary.last_recorded_at,
                events.last().and_then(|e| e.recorded_at),
                "{fixture} {id}"
            );
        }
    }
}

/// A mapping file for tables no layout knows (here the ledger schema's, which detection
/// also reads): every event, stream, checkpoint and correlation the same as detected, and
/// a mapping that does not fit the database refused with the reason.
#[test]
fn mapping_file_for_postgres_tables() {
    let Some(server) = server("mapping_file_for_postgres_tables") else {
        return;
    };
    let url = server.fixture("diy");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let good = write(
        "ledger.toml",
        r#"
[events]
table = "ledger.entries"
position = "global_position"
stream_id = "stream_id"
version = "stream_version"
event_type = "type"
payload = "data"
metadata = "meta"
recorded_at = "recorded_at"
correlation_path = "$.correlation_id"

[[checkpoints]]
table = "ledger.checkpoints"
name = "subscription"
position = "last_position"
updated_at = "updated_at"
"#,
    );
    let open_with = |path: &std::path::Path| {
        eventscope::source::open(
            &url,
            &eventscope::source::OpenOptions {
                mapping: Some(path.to_path_buf()),
                ..Default::default()
            },
        )
    };
    let mapped = open_with(&good).unwrap();
    let detected = open(&format!("{url}#ledger"));
    let info = mapped.info().unwrap();
    assert_eq!(info.layout, "mapping");
    let want = detected.info().unwrap();
    assert_eq!(
        (info.stream_count, info.event_count, info.head_position),
        (want.stream_count, want.event_count, want.head_position)
    );
    let key = |events: Vec<eventscope::core::Event>| {
        events
            .into_iter()
            .map(|e| {
                (
                    e.global_position,
                    e.stream_id,
                    e.stream_version,
                    e.event_type,
                    e.payload.to_json(),
                    e.recorded_at,
                    e.correlation_id,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        key(all_log(mapped.as_ref())),
        key(all_log(detected.as_ref()))
    );
    let streams = |s: &Arc<dyn EventSource>| {
        s.list_streams(&StreamQuery {
            limit: 1000,
            ..StreamQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|i| (i.stream_id, i.category, i.event_count, i.last_version))
        .collect::<Vec<_>>()
    };
    assert_eq!(streams(&mapped), streams(&detected));
    let checkpoints = |s: &Arc<dyn EventSource>| {
        s.checkpoints()
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.position))
            .collect::<Vec<_>>()
    };
    assert_eq!(checkpoints(&mapped), checkpoints(&detected));
    let (id, positions) = expected("diy")["ledger"]["correlations"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    let found = mapped.correlated_events(&id).unwrap().unwrap();
    let got: Vec<u64> = found.events.iter().map(|e| e.global_position).collect();
    let want: Vec<u64> = positions.as_array().unwrap().iter().map(u).collect();
    assert_eq!(got, want, "{id}");

    // What does not fit is refused, saying why.
    let error = |text: &str| {
        open_with(&write("bad.toml", text))
            .err()
            .expect("a bad mapping opened")
            .to_string()
    };
    let base = |extra: &str| {
        format!(
            "[events]\ntable = \"ledger.entries\"\nposition = \"global_position\"\n\
             stream_id = \"stream_id\"\nevent_type = \"type\"\npayload = \"data\"\n{extra}"
        )
    };
    let e = error(&base("version = \"nope\"\n"));
    assert!(
        e.contains("no column \"nope\"") && e.contains("stream_version"),
        "{e}"
    );
    let e = error(&base(""));
    assert!(e.contains("version is required"), "{e}");
    let e = error(&base("version = \"type\"\n"));
    assert!(e.contains("integer column"), "{e}");
    let e = error(&base("version = \"stream_version\"\nwhere = \"true\"\n"));
    assert!(e.contains("events.where is not supported"), "{e}");
    let e =
        error(&base("version = \"stream_version\"\n").replace("ledger.entries", "ledger.nothing"));
    assert!(e.contains("ledger.nothing does not exist"), "{e}");
}

#[test]
fn search_narrows_on_the_server_and_finds_exactly_what_checking_every_event_finds() {
    let Some(server) = server("search_narrows_on_the_server") else {
        return;
    };
    let stores = [
        (server.fixture("diy"), true),
        (server.fixture("eventsourcing"), false),
        (server.fixture("messagedb"), true),
        (server.fixture("emmett"), true),
        (format!("{}#trips", server.fixture("marten")), true),
    ];
    for (url, narrows) in &stores {
        let store = open(url);
        assert_eq!(store.narrows_searches(), *narrows, "{url}");
        let events = all_log(store.as_ref());
        let values = crate::search::sample_values(&events);
        assert!(!values.is_empty(), "{url}");
        for value in &values {
            let expected = crate::search::brute_force(&events, value);
            assert!(!expected.is_empty(), "{url}: {value}");
            for text in [value.clone(), value.to_uppercase()] {
                let needle = eventscope::search::Needle::new(&text).unwrap();
                let matcher = |e: &eventscope::core::Event| {
                    let m = needle.matches(e);
                    (!m.is_empty()).then_some(m)
                };
                let mut found = Vec::new();
                eventscope::search::scan::scan(
                    store.as_ref(),
                    &eventscope::search::scan::Scan {
                        scope: LogQuery::default(),
                        prefilter: needle.prefilter(),
                        matcher: &matcher,
                    },
                    |hit| {
                        found.push(hit.event.global_position);
                        std::ops::ControlFlow::Continue(())
                    },
                )
                .unwrap();
                assert_eq!(found, expected, "{url}: {text:?}");
            }
            // The server returned only candidates, not the whole log.
            if *narrows
                && let Some(piece) = eventscope::search::Needle::new(value)
                    .unwrap()
                    .prefilter()
                    .map(str::to_owned)
            {
                let page = store
                    .search_log(
                        &LogQuery {
                            direction: Direction::Backwards,
                            limit: 10_000,
                            ..LogQuery::default()
                        },
                        0,
                        Some(&piece),
                    )
                    .unwrap();
                assert!(page.len() >= expected.len(), "{url}: {value}");
                assert!(page.len() < events.len(), "{url}: {value} narrowed");
            }
        }
        // LIKE wildcards in the text are literal.
        let page = store
            .search_log(
                &LogQuery {
                    limit: 10_000,
                    ..LogQuery::default()
                },
                0,
                Some("%_%"),
            )
            .unwrap();
        if *narrows {
            assert!(page.is_empty(), "{url}: % and _ are not wildcards");
        }
    }
}
