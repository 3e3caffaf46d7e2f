//! UmaDB through eventscope's own protox-compiled client, against a REAL UmaDB server on
//! loopback, populated through UmaDB's own Python client.

use std::sync::Arc;
use std::time::Duration;

use eventscope::core::{Direction, EventSource, LogQuery, StreamQuery, StreamSort};
use eventscope::source::{OpenOptions, open};

use crate::umadb_server::{UmaDbServer, umadb_or_skip};

/// Seven domain events, an untagged binary heartbeat and a downstream projection's event
/// appended with tracking info (`orders-summary` processed up to position 5).
const POPULATE: &str = r#"
def ev(t, data, tags, meta=None):
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return umadb.Event(t, body, tags=tags, uuid=uuid.uuid4(), metadata=meta or {})
placed = uuid.uuid4()
batch = [
    umadb.Event("OrderPlaced", json.dumps({"order": "1", "total": 10}).encode(), tags=["order:1", "order:1:v1"], uuid=placed, metadata={"correlation_id": "c-1"}),
    ev("AccountOpened", {"account": "A1"}, ["account:A1", "account:A1:v1"]),
    ev("PaymentTaken", {"order": "1", "amount": 10}, ["order:1", "order:1:v2", "account:A1", "account:A1:v2", "important"], {"correlation_id": "c-1", "causation_id": str(placed)}),
    ev("OrderPlaced", {"order": "2", "total": 5}, ["order:2", "order:2:v1"], {"correlation_id": "c-2"}),
    ev("OrderShipped", {"order": "1"}, ["order:1", "order:1:v3", "important"], {"correlation_id": "c-1"}),
    ev("Heartbeat", b"\x00\x01binary", []),
    ev("OrderCancelled", {"order": "2"}, ["order:2", "order:2:v2"]),
]
client.append(batch)
client.append([ev("OrdersSummaryUpdated", {"orders": 2}, ["summary:orders"])], tracking_info=umadb.TrackingInfo("orders-summary", 5))
print(client.head())
"#;

fn populated(test: &str) -> Option<UmaDbServer> {
    let command = umadb_or_skip(test)?;
    let server = UmaDbServer::start(&command);
    let head = server.python(POPULATE);
    assert_eq!(head.trim(), "8", "UmaDB's own client reports the head");
    Some(server)
}

fn connect(url: &str) -> Arc<dyn EventSource> {
    open(url, &OpenOptions::default()).unwrap_or_else(|e| panic!("open {url}: {e}"))
}

fn ids(source: &dyn EventSource, query: &StreamQuery) -> Vec<String> {
    source
        .list_streams(query)
        .unwrap()
        .into_iter()
        .map(|s| s.stream_id)
        .collect()
}

fn all_streams() -> StreamQuery {
    StreamQuery {
        limit: 100,
        ..StreamQuery::default()
    }
}

#[test]
fn umadb_tags_as_streams_by_rule() {
    let Some(server) = populated("umadb_tags_as_streams_by_rule") else {
        return;
    };
    let source = connect(&server.url(""));
    // Default rule: prefix:value tags on more than one event (per-version tags hidden).
    assert_eq!(
        ids(&*source, &all_streams()),
        ["account:A1", "order:1", "order:2"]
    );
    assert_eq!(source.count_streams(&all_streams()).unwrap(), 3);
    assert_eq!(
        source.categories().unwrap(),
        [("account".to_owned(), 1), ("order".to_owned(), 2)]
    );
    let by_activity = StreamQuery {
        sort: StreamSort::LastActivity,
        ..all_streams()
    };
    assert_eq!(
        ids(&*source, &by_activity),
        ["order:2", "order:1", "account:A1"]
    );
    let order_1 = source.stream("order:1").unwrap().unwrap();
    assert_eq!((order_1.event_count, order_1.last_version), (3, 3));
    assert_eq!(order_1.category, "order");

    let info = source.info().unwrap();
    assert_eq!(info.layout, "umadb");
    assert_eq!(
        (info.event_count, info.head_position, info.stream_count),
        (Some(8), 8, 3)
    );
    assert_eq!(info.checkpoint_names, ["orders-summary"]);

    let all_tags = connect(&server.url("?streams=all"));
    assert_eq!(
        ids(&*all_tags, &all_streams()),
        ["account:A1", "important", "order:1", "order:2"]
    );
    let singles = connect(&server.url("?single=show"));
    let shown = ids(&*singles, &all_streams());
    assert!(shown.contains(&"order:1:v2".to_owned()), "{shown:?}");
    assert!(shown.contains(&"summary:orders".to_owned()), "{shown:?}");
    assert!(!shown.contains(&"important".to_owned()), "{shown:?}");
    let orders_only = connect(&server.url("?streams=order:"));
    assert_eq!(ids(&*orders_only, &all_streams()), ["order:1", "order:2"]);
}

#[test]
fn umadb_aggregate_events_in_order_and_global_log() {
    let Some(server) = populated("umadb_aggregate_events_in_order_and_global_log") else {
        return;
    };
    let source = connect(&server.url(""));
    let events = source
        .read_stream("order:1", None, Direction::Forwards, 100)
        .unwrap();
    let summary: Vec<(u64, u64, &str)> = events
        .iter()
        .map(|e| (e.stream_version, e.global_position, e.event_type.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, 1, "OrderPlaced"),
            (2, 3, "PaymentTaken"),
            (3, 5, "OrderShipped")
        ]
    );
    assert!(events.iter().all(|e| e.stream_id == "order:1"));
    assert_eq!(events[0].payload.as_json().unwrap()["total"], 10);
    assert_eq!(events[1].correlation_id.as_deref(), Some("c-1"));
    assert_eq!(
        events[1].causation_id.as_ref(),
        events[0].event_id.as_ref(),
        "causation id points at the placing event's uuid"
    );
    let back: Vec<u64> = source
        .read_stream("order:1", Some(2), Direction::Backwards, 10)
        .unwrap()
        .iter()
        .map(|e| e.stream_version)
        .collect();
    assert_eq!(back, [2, 1]);
    let page = source
        .read_stream("order:1", Some(2), Direction::Forwards, 1)
        .unwrap();
    assert_eq!((page[0].stream_version, page[0].global_position), (2, 3));

    // Ids under other keys: JSON paths in the URL (percent-encoded or not).
    let custom = connect(&server.url("?correlation=%24.causation_id&causation=$.nowhere"));
    let events = custom
        .read_stream("order:1", None, Direction::Forwards, 100)
        .unwrap();
    assert_eq!(events[1].correlation_id, events[0].event_id);
    assert_eq!(events[0].correlation_id, None);
    assert!(events.iter().all(|e| e.causation_id.is_none()));
    // The same event seen from the account's stream has the account's version.
    let account = source
        .read_stream("account:A1", None, Direction::Forwards, 10)
        .unwrap();
    assert_eq!(
        account
            .iter()
            .map(|e| (e.stream_version, e.global_position))
            .collect::<Vec<_>>(),
        [(1, 2), (2, 3)]
    );
    assert!(matches!(
        source.read_stream("order:404", None, Direction::Forwards, 10),
        Err(eventscope::core::SourceError::StreamNotFound(_))
    ));

    let log = source
        .read_log(&LogQuery {
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(
        log.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<u64>>()
    );
    let streams: Vec<&str> = log.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(
        streams,
        [
            "order:1",
            "account:A1",
            "order:1",
            "order:2",
            "order:1",
            "",
            "order:2",
            "summary:orders"
        ]
    );
    assert!(!log[5].payload.is_json());
    assert!(
        log[5]
            .payload
            .raw_bytes()
            .is_some_and(|b| b.starts_with(&[0, 1]))
    );
    assert_eq!(
        log[7].metadata.as_json().unwrap()["tracking"]["source"],
        "orders-summary"
    );

    let newest = source.read_log(&LogQuery {
        from_position: Some(5),
        direction: Direction::Backwards,
        limit: 2,
        ..LogQuery::default()
    });
    assert_eq!(
        newest
            .unwrap()
            .iter()
            .map(|e| e.global_position)
            .collect::<Vec<_>>(),
        [5, 4]
    );
    let placed = source
        .read_log(&LogQuery {
            event_types: vec!["OrderPlaced".to_owned()],
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(
        placed.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        [1, 4]
    );
    let orders = source
        .read_log(&LogQuery {
            stream_prefix: Some("order:".to_owned()),
            limit: 3,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(
        orders.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        [1, 3, 4]
    );
    assert_eq!(
        source.event_types().unwrap(),
        [
            "AccountOpened",
            "Heartbeat",
            "OrderCancelled",
            "OrderPlaced",
            "OrderShipped",
            "OrdersSummaryUpdated",
            "PaymentTaken"
        ]
    );
}

#[test]
fn umadb_head_tracking_and_new_events() {
    let Some(server) = populated("umadb_head_tracking_and_new_events") else {
        return;
    };
    let source = connect(&server.url("?tracking=never-ran"));
    assert_eq!(source.head().unwrap(), 8);
    let checkpoints = source.checkpoints().unwrap();
    let positions: Vec<(&str, u64)> = checkpoints
        .iter()
        .map(|c| (c.name.as_str(), c.position))
        .collect();
    assert_eq!(positions, [("never-ran", 0), ("orders-summary", 5)]);

    // Events appended after the source opened show up (the tag index catches up).
    server.python(
        "client.append([umadb.Event('OrderPlaced', b'{}', tags=['order:3']), umadb.Event('OrderPaid', b'{}', tags=['order:3'])], tracking_info=umadb.TrackingInfo('orders-summary', 9))",
    );
    assert_eq!(source.head().unwrap(), 10);
    assert_eq!(
        ids(&*source, &all_streams()),
        ["account:A1", "order:1", "order:2", "order:3"]
    );
    let checkpoints = source.checkpoints().unwrap();
    assert_eq!(checkpoints[1].position, 9);
}

#[test]
fn umadb_through_the_cli() {
    let Some(server) = populated("umadb_through_the_cli") else {
        return;
    };
    let url = server.url("");
    let run = |args: &[&str]| crate::common::stdout_of(&crate::common::eventscope(args));
    let streams = run(&["streams", &url, "--json"]);
    let streams: Vec<serde_json::Value> = streams
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(streams.len(), 3);
    assert_eq!(streams[1]["stream_id"], "order:1");
    assert_eq!(streams[1]["event_count"], 3);
    let events = run(&["events", &url, "order:2", "--json"]);
    assert_eq!(events.lines().count(), 2);
    let log = run(&["log", &url, "--json"]);
    assert_eq!(log.lines().count(), 8);
    let info: serde_json::Value = serde_json::from_str(&run(&["info", &url, "--json"])).unwrap();
    assert_eq!(info["layout"], "umadb");
    assert_eq!(info["head_position"], 8);
    let lag = run(&["lag", &url, "--json"]);
    let lag: serde_json::Value = serde_json::from_str(lag.lines().next().unwrap()).unwrap();
    assert_eq!(lag["name"], "orders-summary");
    assert_eq!(lag["lag_events"], 3);
    // UmaDB records no times: seconds behind are unknown, not zero.
    assert!(lag["lag_seconds"].is_null(), "{lag}");
    let table = run(&["lag", &url]);
    assert!(
        table
            .lines()
            .any(|l| l.contains("orders-summary") && l.contains(" - ")),
        "{table}"
    );
}

#[test]
fn umadb_unreachable_and_wrong_port_fail_fast() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let err = crate::common::open_error(&format!("umadb://127.0.0.1:{port}"));
    let message = err.to_string();
    assert!(message.contains("UmaDB"), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let err = crate::common::open_error("umadb://");
    assert!(err.to_string().contains("invalid UmaDB URL"), "{err}");
}

#[test]
fn umadb_server_killed_mid_read_then_back() {
    let Some(command) = umadb_or_skip("umadb_server_killed_mid_read_then_back") else {
        return;
    };
    let mut server = UmaDbServer::start(&command);
    // 40k events so that a page loop is busy when the server dies.
    server.python(
        "for b in range(40):\n    client.append([umadb.Event('Tick', b'{\"n\": 1}', tags=['clock:%d' % (i % 7)]) for i in range(1000)])",
    );
    let source = umadb_source(&server);
    assert_eq!(source.head().unwrap(), 40_000);

    let message = crate::common::error_of_read_when_killed(&source, 40_000, || server.kill());
    assert!(message.contains("UmaDB"), "{message}");
    assert!(
        message.contains(&format!("127.0.0.1:{}", server.port)),
        "{message}"
    );

    // Calls while the server is down fail quickly and clearly.
    assert!(source.head().is_err());

    server.restart();
    // The same source reconnects by itself once the server is back.
    let head = crate::common::until_ok(|| source.head());
    assert_eq!(head.unwrap(), 40_000);
    let page = source
        .read_log(&LogQuery {
            from_position: Some(39_999),
            limit: 10,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(page.len(), 2);
}

fn umadb_source(server: &UmaDbServer) -> Arc<dyn EventSource> {
    connect(&server.url(""))
}

/// Metadata values eventscope cannot read (a time that does not parse, a schema version
/// that is not a number) become problems of that event; the page is still returned whole.
#[test]
fn umadb_unreadable_metadata_fields_are_problems_not_failed_pages() {
    let Some(command) =
        umadb_or_skip("umadb_unreadable_metadata_fields_are_problems_not_failed_pages")
    else {
        return;
    };
    let server = UmaDbServer::start(&command);
    let head = server.python(
        r#"
def ev(t, tags, meta):
    return umadb.Event(t, json.dumps({"n": 1}).encode(), tags=tags, uuid=uuid.uuid4(), metadata=meta)
client.append([
    ev("Good", ["order:1"], {"timestamp": "2026-01-02T03:04:05Z", "schema_version": "2"}),
    ev("BadTime", ["order:1"], {"timestamp": "next tuesday"}),
    ev("BadVersion", ["order:1"], {"schema_version": "v-two"}),
])
print(client.head())
"#,
    );
    assert_eq!(head.trim(), "3");
    let source = connect(&server.url(""));
    let events = source
        .read_log(&LogQuery {
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(events.len(), 3);
    assert!(events[0].problems.is_empty(), "{:?}", events[0].problems);
    assert_eq!(events[0].schema_version, Some(2));
    assert!(events[0].recorded_at.is_some());
    assert_eq!(events[1].recorded_at, None);
    assert_eq!(
        events[1].problems,
        [eventscope::core::FieldProblem::new(
            "recorded_at",
            "`timestamp` in the metadata is not a time",
            Some("next tuesday".to_owned()),
        )]
    );
    assert_eq!(events[2].problems.len(), 1);
    assert_eq!(events[2].problems[0].field, "schema_version");
    assert_eq!(events[2].problems[0].raw.as_deref(), Some("v-two"));
    let stream = source
        .read_stream("order:1", None, Direction::Forwards, 100)
        .unwrap();
    assert_eq!(stream.len(), 3);
    assert_eq!(stream[1].problems, events[1].problems);
    assert_eq!(events[1].to_json()["problems"][0]["field"], "recorded_at");
}
