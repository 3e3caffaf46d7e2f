//! KurrentDB through the official `kurrentdb` client, against the KurrentDB emulator (a
//! tonic server on loopback serving the protocol subset eventscope uses).

use std::sync::Arc;
use std::time::{Duration, Instant};

use eventscope::core::{Direction, EventSource, LogQuery, SourceError, StreamQuery};
use eventscope::source::grpc::kurrent::KurrentSource;
use eventscope::source::{OpenOptions, open};
use serde_json::json;

use crate::kurrent_emulator::{
    Emulator, EmulatorData, GossipMember, PersistentGroup, ProjectionStats,
};

/// Positions of the interesting events, for assertions.
struct Fixture {
    data: EmulatorData,
    order_1: Vec<u64>,
    account_7: Vec<u64>,
    order_2: u64,
}

fn fixture(streams_projection: bool) -> Fixture {
    let mut data = EmulatorData::default();
    let mut order_1 = Vec::new();
    let mut account_7 = Vec::new();
    order_1.push(data.append(
        "order-1",
        "OrderPlaced",
        &json!({"order": 1, "total": 30}),
        &json!({"$correlationId": "c-1"}),
    ));
    account_7.push(data.append(
        "account-7",
        "AccountOpened",
        &json!({"owner": "ada"}),
        &json!(null),
    ));
    order_1.push(data.append(
        "order-1",
        "OrderPaid",
        &json!({"amount": 30}),
        &json!({"$correlationId": "c-1", "$causationId": "cause-1"}),
    ));
    data.append_raw(
        "$stats-127.0.0.1:2113",
        "$statsCollected",
        b"{}".to_vec(),
        Vec::new(),
    );
    let order_2 = data.append(
        "order-2",
        "OrderPlaced",
        &json!({"order": 2}),
        &json!({"$correlationId": "c-2"}),
    );
    for amount in [10, 20, 30] {
        account_7.push(data.append(
            "account-7",
            "Deposited",
            &json!({"amount": amount}),
            &json!(null),
        ));
    }
    order_1.push(data.append(
        "order-1",
        "OrderShipped",
        &json!({}),
        &json!({"$correlationId": "c-1"}),
    ));
    data.append(
        "order-1-snapshot",
        "OrderSnapshot",
        &json!({"total": 30, "paid": true}),
        &json!({"version": 1, "schemaVersion": 2}),
    );
    if streams_projection {
        data.build_streams_projection();
    }
    let head = data.head();
    data.projections = vec![
        ProjectionStats {
            name: "$streams".to_owned(),
            status: "Running".to_owned(),
            position: format!("C:{head}/P:{head}"),
            progress: 100.0,
        },
        ProjectionStats {
            name: "order-totals".to_owned(),
            status: "Running".to_owned(),
            position: format!("C:{0}/P:{0}", order_1[1]),
            progress: 40.0,
        },
        ProjectionStats {
            name: "not-started".to_owned(),
            status: "Stopped".to_owned(),
            position: String::new(),
            progress: 0.0,
        },
    ];
    data.persistent = vec![
        PersistentGroup {
            event_source: "$all".to_owned(),
            group: "audit".to_owned(),
            last_checkpointed: format!("C:{0}/P:{0}", account_7[2]),
            last_known: format!("C:{head}/P:{head}"),
        },
        PersistentGroup {
            event_source: "order-1".to_owned(),
            group: "mailer".to_owned(),
            last_checkpointed: "1".to_owned(),
            last_known: "2".to_owned(),
        },
    ];
    Fixture {
        data,
        order_1,
        account_7,
        order_2,
    }
}

fn connect(url: &str) -> Arc<dyn EventSource> {
    open(url, &OpenOptions::default()).unwrap_or_else(|e| panic!("open {url}: {e}"))
}

fn stream_ids(source: &dyn EventSource) -> Vec<String> {
    source
        .list_streams(&StreamQuery {
            limit: 100,
            ..StreamQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|s| s.stream_id)
        .collect()
}

#[test]
fn kurrent_stream_list_from_streams_projection_or_scan() {
    let fixture = fixture(true);
    let emulator = Emulator::start(fixture.data);
    let source = connect(&emulator.url(""));
    let info = source.info().unwrap();
    assert_eq!(info.layout, "kurrentdb");
    assert!(
        info.layout_detail.contains("$streams projection"),
        "{}",
        info.layout_detail
    );
    assert_eq!(
        info.event_count, None,
        "$streams names streams, it does not count events"
    );
    let expected = ["account-7", "order-1", "order-1-snapshot", "order-2"];
    assert_eq!(stream_ids(&*source), expected);
    let account = source.stream("account-7").unwrap().unwrap();
    assert_eq!((account.event_count, account.last_version), (4, 3));
    assert_eq!(account.last_position, fixture.account_7[3]);
    assert_eq!(account.category, "account");

    let scan = connect(&emulator.url("&streamList=scan"));
    let scanned = scan.info().unwrap();
    assert!(scanned.layout_detail.contains("scan of $all"));
    // The scan counts what it read: the user's events, not `$`-streams or system events.
    assert_eq!(scanned.event_count, Some(9));
    assert_eq!(stream_ids(&*scan), expected);
    assert_eq!(scan.stream("order-1").unwrap().unwrap().event_count, 3);
    assert_eq!(
        scan.categories().unwrap(),
        [("account".to_owned(), 1), ("order".to_owned(), 3)]
    );

    // Without the projection, auto mode scans $all.
    let bare = Emulator::start(fixture_data(false));
    let auto = connect(&bare.url(""));
    assert!(auto.info().unwrap().layout_detail.contains("scan of $all"));
    assert_eq!(stream_ids(&*auto), expected);
    // New events show up on the next call (incremental scan).
    bare.update(|data| {
        data.append("order-3", "OrderPlaced", &json!({}), &json!(null));
    });
    assert!(stream_ids(&*auto).contains(&"order-3".to_owned()));
    let forced = open(&bare.url("&streamList=projection"), &OpenOptions::default())
        .unwrap()
        .list_streams(&StreamQuery {
            limit: 10,
            ..StreamQuery::default()
        });
    assert!(forced.unwrap_err().to_string().contains("$streams"));
}

pub(crate) fn fixture_data(streams_projection: bool) -> EmulatorData {
    fixture(streams_projection).data
}

#[test]
fn kurrent_read_streams_forwards_and_backwards() {
    let fixture = fixture(false);
    let emulator = Emulator::start(fixture.data);
    let source = connect(&emulator.url(""));
    let events = source
        .read_stream("order-1", None, Direction::Forwards, 100)
        .unwrap();
    let summary: Vec<(u64, u64, &str)> = events
        .iter()
        .map(|e| (e.stream_version, e.global_position, e.event_type.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (0, fixture.order_1[0], "OrderPlaced"),
            (1, fixture.order_1[1], "OrderPaid"),
            (2, fixture.order_1[2], "OrderShipped")
        ]
    );
    assert_eq!(events[0].payload.as_json().unwrap()["total"], 30);
    assert!(events[0].event_id.as_ref().is_some_and(|id| id.len() == 36));
    assert!(events[0].recorded_at.is_some());
    let back: Vec<u64> = source
        .read_stream("order-1", Some(1), Direction::Backwards, 10)
        .unwrap()
        .iter()
        .map(|e| e.stream_version)
        .collect();
    assert_eq!(back, [1, 0]);
    let newest = source
        .read_stream("account-7", None, Direction::Backwards, 2)
        .unwrap();
    assert_eq!(
        newest.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        [3, 2]
    );
    let page = source
        .read_stream("account-7", Some(2), Direction::Forwards, 1)
        .unwrap();
    assert_eq!(page[0].payload.as_json().unwrap()["amount"], 20);
    assert!(matches!(
        source.read_stream("order-404", None, Direction::Forwards, 10),
        Err(SourceError::StreamNotFound(_))
    ));
}

#[test]
fn kurrent_all_with_server_side_filters_and_correlation() {
    let fixture = fixture(true);
    let emulator = Emulator::start(fixture.data);
    let source = connect(&emulator.url(""));
    let log = source
        .read_log(&LogQuery {
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    // System events ($stats, $streams links) are left out; the rest in $all order.
    assert_eq!(log.len(), 9);
    assert!(log.iter().all(|e| !e.event_type.starts_with('$')));
    assert!(
        log.windows(2)
            .all(|w| w[0].global_position < w[1].global_position)
    );
    assert_eq!(log[0].correlation_id.as_deref(), Some("c-1"));
    let paid = log.iter().find(|e| e.event_type == "OrderPaid").unwrap();
    assert_eq!(paid.correlation_id.as_deref(), Some("c-1"));
    assert_eq!(paid.causation_id.as_deref(), Some("cause-1"));

    let placed = source
        .read_log(&LogQuery {
            event_types: vec!["OrderPlaced".to_owned()],
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(
        placed.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        [fixture.order_1[0], fixture.order_2]
    );
    let accounts = source
        .read_log(&LogQuery {
            stream_prefix: Some("account-".to_owned()),
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(
        accounts
            .iter()
            .map(|e| e.global_position)
            .collect::<Vec<_>>(),
        fixture.account_7
    );
    let newest = source.read_log(&LogQuery::newest(2)).unwrap();
    assert_eq!(newest.len(), 2);
    assert_eq!(newest[0].stream_id, "order-1-snapshot");
    assert_eq!(newest[1].event_type, "OrderShipped");
    // Backwards from a position includes it.
    let before = source
        .read_log(&LogQuery {
            from_position: Some(fixture.order_2),
            direction: Direction::Backwards,
            limit: 2,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(
        before.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        [fixture.order_2, fixture.order_1[1]]
    );
    // Forward pages continue without overlap.
    let first = source
        .read_log(&LogQuery {
            limit: 3,
            ..LogQuery::default()
        })
        .unwrap();
    let next = source
        .read_log(&LogQuery {
            from_position: Some(first[2].global_position + 1),
            limit: 3,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(next[0].global_position, log[3].global_position);

    let snapshots = source.snapshots("order-1").unwrap();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].version, 1);
    assert_eq!(snapshots[0].schema_version, Some(2));
    assert_eq!(snapshots[0].state.as_json().unwrap()["paid"], true);
    let custom = connect(&emulator.url("&snapshotStream=snap-{stream}"));
    assert!(custom.snapshots("order-1").unwrap().is_empty());
}

#[test]
fn kurrent_projection_and_persistent_subscription_lag() {
    let fixture = fixture(true);
    let head = fixture.data.head();
    let emulator = Emulator::start(fixture.data);
    let source = connect(&emulator.url(""));
    assert_eq!(source.head().unwrap(), head);
    let checkpoints: Vec<(String, u64)> = source
        .checkpoints()
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.position))
        .collect();
    assert_eq!(
        checkpoints,
        [
            ("$streams".to_owned(), head),
            ("order-totals".to_owned(), fixture.order_1[1]),
            ("$all::audit".to_owned(), fixture.account_7[2]),
            // A stream subscription's revision 1 is mapped to that event's position.
            ("order-1::mailer".to_owned(), fixture.order_1[1]),
        ]
    );
    // Through the CLI: lag in log positions behind the head.
    let lines = crate::common::json_lines(&crate::common::eventscope(&[
        "lag",
        &emulator.url(""),
        "--json",
    ]));
    let totals = lines.iter().find(|l| l["name"] == "order-totals").unwrap();
    assert_eq!(totals["lag_events"], head - fixture.order_1[1]);
    let streams = lines.iter().find(|l| l["name"] == "$streams").unwrap();
    assert_eq!(streams["lag_events"], 0);
}

#[test]
fn kurrent_cluster_discovery_via_gossip() {
    // The seed node holds no data and says another node is the leader.
    let leader = Emulator::start(fixture_data(false));
    let mut seed_data = EmulatorData::default();
    seed_data.append("seed-only", "Nothing", &json!({}), &json!(null));
    let seed = Emulator::start(seed_data);
    seed.update(|data| {
        data.gossip = vec![
            GossipMember {
                port: seed.port,
                leader: false,
            },
            GossipMember {
                port: leader.port,
                leader: true,
            },
        ];
    });
    let url = format!("esdb+discover://127.0.0.1:{}?tls=false", seed.port);
    let source = connect(&url);
    assert_eq!(
        stream_ids(&*source),
        ["account-7", "order-1", "order-1-snapshot", "order-2"]
    );
    assert_eq!(source.info().unwrap().location, url);
}

#[test]
fn kurrent_credentials_tls_and_unreachable_fail_clearly() {
    let mut data = fixture_data(false);
    data.credentials = Some(("admin".to_owned(), "changeit".to_owned()));
    let emulator = Emulator::start(data);
    let port = emulator.port;

    let good = connect(&format!("esdb://admin:changeit@127.0.0.1:{port}?tls=false"));
    assert_eq!(stream_ids(&*good).len(), 4);
    assert_eq!(
        good.info().unwrap().location,
        format!("esdb://admin@127.0.0.1:{port}?tls=false"),
        "the password is never shown"
    );

    let started = Instant::now();
    let err = crate::common::open_error(&format!(
        "esdb://admin:wrong-password@127.0.0.1:{port}?tls=false"
    ))
    .to_string();
    assert!(err.contains("access denied"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");

    // TLS is on by default; the plaintext emulator cannot complete a handshake.
    let err = crate::common::open_error(&format!("esdb://127.0.0.1:{port}")).to_string();
    assert!(err.contains("KurrentDB"), "{err}");

    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err =
        crate::common::open_error(&format!("kurrentdb://127.0.0.1:{free}?tls=false")).to_string();
    assert!(err.contains(&format!("127.0.0.1:{free}")), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );

    let err = crate::common::open_error("esdb://").to_string();
    assert!(err.contains("invalid KurrentDB connection string"), "{err}");
}

#[test]
fn kurrent_slow_server_times_out() {
    let emulator = Emulator::start(fixture_data(false));
    let source =
        KurrentSource::open_with_timeout(&emulator.url(""), Duration::from_secs(1)).unwrap();
    emulator.update(|data| data.delay = Some(Duration::from_secs(3)));
    let started = Instant::now();
    let err = source
        .read_stream("order-1", None, Direction::Forwards, 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no answer within 1 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    emulator.update(|data| data.delay = None);
    assert_eq!(
        source
            .read_stream("order-1", None, Direction::Forwards, 10)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn kurrent_server_killed_mid_read_then_back() {
    let mut data = EmulatorData::default();
    for i in 0..20_000u32 {
        data.append(
            &format!("clock-{}", i % 7),
            "Tick",
            &json!({"n": i}),
            &json!(null),
        );
    }
    let mut emulator = Emulator::start(data);
    let source =
        KurrentSource::open_with_timeout(&emulator.url(""), Duration::from_secs(10)).unwrap();
    let source: Arc<dyn EventSource> = Arc::new(source);
    let message = crate::common::error_of_read_when_killed(&source, u64::MAX, || emulator.kill());
    assert!(message.contains("KurrentDB"), "{message}");
    assert!(
        message.contains(&format!("127.0.0.1:{}", emulator.port)),
        "{message}"
    );

    emulator.restart();
    let page = crate::common::until_ok(|| {
        source.read_log(&LogQuery {
            limit: 5,
            ..LogQuery::default()
        })
    });
    assert_eq!(page.unwrap().len(), 5, "the same source reconnects");
}

#[test]
fn kurrent_trace_reads_the_by_correlation_projections_streams() {
    use eventscope::trace::{Method, trace};
    let mut fixture = fixture(true);
    // Without the by-correlation projection the trace scans `$all`.
    let emulator = Emulator::start(fixture.data.clone());
    let source = connect(&emulator.url(""));
    let (scanned, method) = trace(&*source, "c-1", None, &mut |_, _| {}).unwrap();
    assert_eq!(method, Method::Scan);
    drop(emulator);

    fixture.data.build_by_correlation_projection();
    // An event the projection has not linked yet: the store's index answers as it stands.
    fixture.data.append(
        "order-1",
        "OrderArchived",
        &json!({}),
        &json!({"$correlationId": "c-1"}),
    );
    let emulator = Emulator::start(fixture.data);
    let source = connect(&emulator.url(""));
    let (traced, method) = trace(&*source, "c-1", None, &mut |_, _| {}).unwrap();
    let Method::Store { origin } = &method else {
        panic!("expected the $bc- stream to answer, got {method:?}")
    };
    assert!(origin.contains("$bc-c-1"), "{origin}");
    let positions = |t: &eventscope::trace::Trace| {
        t.nodes
            .iter()
            .map(|n| n.event.global_position)
            .collect::<Vec<_>>()
    };
    // The resolved events, not the links: their own streams, types and `$all` positions.
    assert_eq!(positions(&traced), fixture.order_1);
    assert_eq!(positions(&scanned), fixture.order_1);
    assert!(traced.nodes.iter().all(|n| n.event.stream_id == "order-1"));
    assert_eq!(
        traced
            .nodes
            .iter()
            .map(|n| n.event.event_type.as_str())
            .collect::<Vec<_>>(),
        ["OrderPlaced", "OrderPaid", "OrderShipped"]
    );
    let paid = &traced.nodes[1];
    assert_eq!(paid.event.causation_id.as_deref(), Some("cause-1"));
    assert_eq!(
        paid.root.as_ref().and_then(|r| r.cause_id()),
        Some("cause-1")
    );
    // Ids read from another metadata path: the projection's index does not apply.
    let custom = connect(&emulator.url("&correlation=$.nowhere"));
    let (_, method) = trace(&*custom, "c-1", None, &mut |_, _| {}).unwrap();
    assert_eq!(method, Method::Scan);
    // No `$bc-` stream for this id: back to a scan.
    let (none, method) = trace(&*source, "c-404", None, &mut |_, _| {}).unwrap();
    assert_eq!(method, Method::Scan);
    assert!(none.nodes.is_empty());
}

#[test]
fn kurrent_stream_list_scan_reports_progress() {
    let mut data = EmulatorData::default();
    for i in 0..12_000u32 {
        data.append(
            &format!("clock-{}", i % 5),
            "Tick",
            &json!({"n": i}),
            &json!(null),
        );
    }
    let emulator = Emulator::start(data);
    let source = connect(&emulator.url("&streamList=scan"));
    let seen = Arc::new(std::sync::Mutex::new(Vec::<f32>::new()));
    let sink = Arc::clone(&seen);
    let count = eventscope::core::cancel::with_progress(
        Arc::new(move |f| sink.lock().unwrap().push(f)),
        || source.count_streams(&StreamQuery::default()),
    )
    .unwrap();
    assert_eq!(count, 5);
    let seen = seen.lock().unwrap().clone();
    // 12 000 events in pages of 5 000: three reports, rising, the last at the head.
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(seen[0] < 0.5 && *seen.last().unwrap() > 0.99, "{seen:?}");
}

#[test]
fn kurrent_id_paths_from_the_url() {
    let mut data = EmulatorData::default();
    data.append(
        "order-9",
        "OrderPlaced",
        &json!({}),
        &json!({"trace": {"corr": "t-9", "cause": "cmd-1"}, "$correlationId": "other"}),
    );
    let emulator = Emulator::start(data);
    let by_default = connect(&emulator.url(""));
    let event = &by_default.read_log(&LogQuery::default()).unwrap()[0];
    assert_eq!(event.correlation_id.as_deref(), Some("other"));
    let custom = connect(&emulator.url("&correlation=$.trace.corr&causation=%24.trace.cause"));
    let event = &custom.read_log(&LogQuery::default()).unwrap()[0];
    assert_eq!(event.correlation_id.as_deref(), Some("t-9"));
    assert_eq!(event.causation_id.as_deref(), Some("cmd-1"));
}

#[test]
fn kurrent_correlation_index_completes_below_a_system_event_head() {
    use eventscope::trace::TraceIndex;
    // `$streams` links come last: the head is a position `read_log` never returns.
    let fixture = fixture(true);
    let emulator = Emulator::start(fixture.data);
    let source = connect(&emulator.url(""));
    let head = source.head().unwrap();
    let last_user_event = *fixture.order_1.last().unwrap();
    assert!(head > last_user_event + 1, "{head} vs {last_user_event}");
    let dir = tempfile::tempdir().unwrap();
    let index = TraceIndex::open_in(dir.path(), "kurrent-test", "test").unwrap();
    let first = index.catch_up(&*source, 1_000, &mut |_, _| {}).unwrap();
    assert!(first.complete, "nothing left to read is complete");
    assert!(first.indexed_through < head);
    assert_eq!(first.added, 9);
    let again = index.catch_up(&*source, 1_000, &mut |_, _| {}).unwrap();
    assert!(again.complete);
    assert_eq!(again.added, 0);
    assert!(again.restarted.is_none(), "the index is kept, not rebuilt");
    assert_eq!(index.correlation_positions("c-1").unwrap(), fixture.order_1);
}

/// Serves the emulator with a richer data set for screenshots by hand:
/// `EMULATOR_PORT=2113 EMULATOR_SECONDS=120 cargo test --test it serve_kurrent_emulator -- --ignored`
/// then `eventscope "esdb://127.0.0.1:2113?tls=false"`.
#[test]
#[ignore = "serves the emulator for manual screenshots"]
fn serve_kurrent_emulator() {
    let port: u16 = std::env::var("EMULATOR_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2113);
    let seconds: u64 = std::env::var("EMULATOR_SECONDS")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(60);
    let mut data = fixture_data(false);
    for i in 0..200u32 {
        let order = format!("order-{}", 100 + i % 40);
        let correlation = format!("c-{}", 100 + i % 40);
        data.append(
            &order,
            [
                "OrderPlaced",
                "OrderPaid",
                "OrderShipped",
                "OrderDelivered",
                "OrderClosed",
            ][(i / 40) as usize],
            &json!({"order": 100 + i % 40, "step": i / 40, "total": 25 + i % 13}),
            &json!({"$correlationId": correlation, "$causationId": format!("cmd-{i}")}),
        );
    }
    data.build_streams_projection();
    data.build_by_correlation_projection();
    let head = data.head();
    data.projections[0].position = format!("C:{head}/P:{head}");
    let _emulator = Emulator::start_on(data, port);
    eprintln!("KurrentDB emulator on esdb://127.0.0.1:{port}?tls=false for {seconds} s");
    std::thread::sleep(Duration::from_secs(seconds));
}

/// Fields the client hands on but eventscope cannot read (metadata that is not JSON, a
/// schema version that is not a number) become problems of that event; the page is still
/// returned with every event, and the others are unaffected.
#[test]
fn kurrent_unreadable_fields_are_problems_not_failed_pages() {
    let mut data = EmulatorData::default();
    data.append(
        "order-1",
        "OrderPlaced",
        &json!({"order": 1}),
        &json!({"$correlationId": "c-1"}),
    );
    data.append_raw(
        "order-1",
        "OrderPaid",
        br#"{"amount": 30}"#.to_vec(),
        b"\xff\xfenot json".to_vec(),
    );
    data.append(
        "order-1",
        "OrderShipped",
        &json!({}),
        &json!({"$correlationId": "c-1", "schemaVersion": "two"}),
    );
    data.append(
        "order-1",
        "OrderClosed",
        &json!({}),
        &json!({"$correlationId": "c-1", "schemaVersion": "3"}),
    );
    let emulator = Emulator::start(data);
    let source = connect(&emulator.url(""));
    let events = source
        .read_stream("order-1", None, Direction::Forwards, 100)
        .unwrap();
    assert_eq!(events.len(), 4);
    assert!(events[0].problems.is_empty());
    assert_eq!(events[0].correlation_id.as_deref(), Some("c-1"));
    assert_eq!(events[1].problems.len(), 1, "{:?}", events[1].problems);
    let bad_metadata = &events[1].problems[0];
    assert_eq!(bad_metadata.field, "metadata");
    assert!(
        bad_metadata.problem.starts_with("not JSON"),
        "{bad_metadata:?}"
    );
    assert_eq!(bad_metadata.raw.as_deref(), Some("fffe6e6f74206a736f6e"));
    assert_eq!(events[1].payload.as_json(), Some(&json!({"amount": 30})));
    let json = events[1].to_json();
    assert_eq!(json["metadata"], serde_json::Value::Null);
    assert_eq!(json["problems"][0]["field"], "metadata");
    assert_eq!(events[2].schema_version, None);
    assert_eq!(
        events[2].problems,
        [eventscope::core::FieldProblem::new(
            "schema_version",
            "`schemaVersion` in the metadata is not a whole number from 0 to 4294967295",
            Some("\"two\"".to_owned()),
        )]
    );
    assert!(events[3].problems.is_empty());
    assert_eq!(events[3].schema_version, Some(3));
    // The log and the CLI carry the same problems.
    let log = source
        .read_log(&LogQuery {
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(log.len(), 4);
    assert_eq!(log[1].problems, events[1].problems);
    let lines = crate::common::json_lines(&crate::common::eventscope(&[
        "log",
        &emulator.url(""),
        "--json",
    ]));
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[2]["schema_version"], serde_json::Value::Null);
    assert_eq!(lines[2]["problems"][0]["raw"], "\"two\"");
    assert!(lines[0].get("problems").is_none());
}
