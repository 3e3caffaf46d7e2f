//! Correlation tracing on real stores: the Emmett fixture (ids the library wrote), the demo
//! store (causal depth, external roots, missing parent, out of order), the sidecar index
//! (never touches the store, catches up, survives restart, rebuilt when corrupt or deleted)
//! and `eventscope trace`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use eventscope::core::{Event, EventSource};
use eventscope::trace::{Method, RootKind, Trace, TraceIndex};

use crate::common::{copy_fixture, expected, fixture, open, store_fingerprint};

fn scan_trace(source: &dyn EventSource, id: &str) -> Trace {
    let (trace, method) = eventscope::trace::trace(source, id, None, &mut |_, _| {}).unwrap();
    assert_eq!(method, Method::Scan);
    trace
}

fn index_trace(source: &dyn EventSource, index: &TraceIndex, id: &str) -> Trace {
    let (trace, method) =
        eventscope::trace::trace(source, id, Some(index), &mut |_, _| {}).unwrap();
    assert!(matches!(method, Method::Index { .. }));
    trace
}

fn identity(path: &Path) -> String {
    eventscope::history::store_identity(path.to_str().unwrap())
}

#[test]
fn emmett_correlations_are_exactly_what_the_library_wrote() {
    let source = open(&fixture("emmett/emmett.db"));
    let expected = expected("emmett/emmett.expected.json");
    let cache = tempfile::tempdir().unwrap();
    let index = TraceIndex::open_in(cache.path(), "emmett", "test").unwrap();
    index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    let correlations = expected["correlations"].as_array().unwrap();
    assert!(correlations.len() >= 4);
    let mut multi_stream = 0;
    for correlation in correlations {
        let id = correlation["correlation_id"].as_str().unwrap();
        let want: BTreeSet<(String, u64, u64)> = correlation["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["stream_id"].as_str().unwrap().to_owned(),
                    e["stream_position"].as_u64().unwrap(),
                    e["global_position"].as_u64().unwrap(),
                )
            })
            .collect();
        for trace in [
            scan_trace(source.as_ref(), id),
            index_trace(source.as_ref(), &index, id),
        ] {
            let got: BTreeSet<(String, u64, u64)> = trace
                .nodes
                .iter()
                .map(|n| {
                    (
                        n.event.stream_id.clone(),
                        n.event.stream_version,
                        n.event.global_position,
                    )
                })
                .collect();
            assert_eq!(got, want, "correlation {id}");
            assert_eq!(got.len(), trace.nodes.len(), "no duplicates");
            // Global order.
            assert!(
                trace
                    .nodes
                    .windows(2)
                    .all(|w| w[0].event.global_position < w[1].event.global_position)
            );
            let streams: BTreeSet<&str> = trace.streams.iter().map(String::as_str).collect();
            let want_streams: BTreeSet<&str> = correlation["streams"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert_eq!(streams, want_streams);
            if streams.len() > 1 {
                multi_stream += 1;
            }
            // Causation: events whose cause is an event have a parent carrying it; the
            // others are external roots with exactly the library's root causation ids.
            for (node, e) in trace
                .nodes
                .iter()
                .zip(correlation["events"].as_array().unwrap())
            {
                assert_eq!(node.event.event_id.as_deref(), e["message_id"].as_str());
                if e["causation_is_event"].as_bool().unwrap() {
                    let parent = node.parent.expect("caused by an event of the trace");
                    assert_eq!(
                        trace.nodes[parent].event.event_id.as_deref(),
                        e["causation_id"].as_str()
                    );
                    assert_eq!(node.depth, trace.nodes[parent].depth + 1);
                } else {
                    assert!(matches!(node.root, Some(RootKind::External { .. })));
                }
            }
            let roots: BTreeSet<&str> = trace
                .nodes
                .iter()
                .filter_map(|n| n.root.as_ref().and_then(RootKind::cause_id))
                .collect();
            let want_roots: BTreeSet<&str> = correlation["root_causation_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert_eq!(roots, want_roots);
        }
    }
    assert!(multi_stream >= 3, "journeys span several streams");
    // Events without a correlation id belong to no trace.
    for e in expected["events_without_correlation"].as_array().unwrap() {
        let position = e["global_position"].as_u64().unwrap();
        let event = eventscope::trace::index::read_at(source.as_ref(), position)
            .unwrap()
            .unwrap();
        assert!(event.correlation_id.is_none());
    }
    // An unknown id is an empty trace, not an error.
    assert!(
        scan_trace(source.as_ref(), "no-such-correlation")
            .nodes
            .is_empty()
    );
}

#[test]
fn emmett_event_id_finds_its_correlation() {
    let source = open(&fixture("emmett/emmett.db"));
    let expected = expected("emmett/emmett.expected.json");
    let correlation = &expected["correlations"][0];
    let event = &correlation["events"][5];
    let found = eventscope::trace::find_event(
        source.as_ref(),
        event["message_id"].as_str().unwrap(),
        None,
        &mut |_, _| {},
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        found.global_position,
        event["global_position"].as_u64().unwrap()
    );
    assert_eq!(
        found.correlation_id.as_deref(),
        correlation["correlation_id"].as_str()
    );
}

/// Depth of each event computed independently: hops along causation ids to an id that no
/// event of the same correlation carries.
fn independent_depths(events: &[Event]) -> HashMap<u64, u32> {
    let by_id: HashMap<(&str, &str), &Event> = events
        .iter()
        .filter_map(|e| Some(((e.correlation_id.as_deref()?, e.event_id.as_deref()?), e)))
        .collect();
    events
        .iter()
        .filter(|e| e.correlation_id.is_some())
        .map(|e| {
            let correlation = e.correlation_id.as_deref().unwrap();
            let mut depth = 0;
            let mut current = e;
            while let Some(parent) = current
                .causation_id
                .as_deref()
                .and_then(|c| by_id.get(&(correlation, c)))
            {
                depth += 1;
                current = parent;
                assert!(depth < 100, "causation loop in the demo");
            }
            (e.global_position, depth)
        })
        .collect()
}

#[test]
fn demo_flows_causal_depth_and_anomalies() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(dir.path(), 20_000, 7).0;
    let source = open(&path);
    let events = crate::common::all_events(source.as_ref());
    let depths = independent_depths(&events);
    let correlation_of_stream = |stream: &str| {
        events
            .iter()
            .find(|e| e.stream_id == stream)
            .and_then(|e| e.correlation_id.clone())
            .unwrap_or_else(|| panic!("no {stream}"))
    };
    let cache = tempfile::tempdir().unwrap();
    let index = TraceIndex::open_in(cache.path(), &identity(&path), "test").unwrap();
    index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();

    // Every flow's trace spans order, payment (and shipment) streams, with depths equal to
    // the independent count.
    let mut deepest = 0;
    for n in [1u64, 2, 3, 7, 10, 20, 40] {
        let id = correlation_of_stream(&format!("order-{n:06}"));
        let trace = index_trace(source.as_ref(), &index, &id);
        assert_eq!(trace, scan_trace(source.as_ref(), &id), "index = scan");
        let want: Vec<u64> = events
            .iter()
            .filter(|e| e.correlation_id.as_deref() == Some(id.as_str()))
            .map(|e| e.global_position)
            .collect();
        let got: Vec<u64> = trace
            .nodes
            .iter()
            .map(|n| n.event.global_position)
            .collect();
        assert_eq!(got, want);
        for node in &trace.nodes {
            assert_eq!(node.depth, depths[&node.event.global_position], "flow {n}");
        }
        assert!(trace.streams.iter().any(|s| s.starts_with("payment-")));
        deepest = deepest.max(trace.max_depth());
        // The order's first event is rooted in an external command.
        let placed = trace
            .nodes
            .iter()
            .find(|n| n.event.event_type == "OrderPlaced")
            .unwrap();
        match &placed.root {
            Some(RootKind::External { cause_id }) => assert!(cause_id.starts_with("cmd-")),
            other => panic!("flow {n}: OrderPlaced root {other:?}"),
        }
        let requested = trace
            .nodes
            .iter()
            .find(|n| n.event.event_type == "PaymentRequested");
        if let Some(requested) = requested {
            match n {
                // A missing parent: a root that names a lost event.
                7 => assert!(
                    matches!(requested.root, Some(RootKind::MissingParent { .. })),
                    "flow 7: {:?}",
                    requested.root
                ),
                // Out of order: recorded before its parent OrderPlaced.
                3 => {
                    assert!(requested.out_of_order);
                    assert_eq!(requested.depth, 1);
                    assert!(requested.event.global_position < placed.event.global_position);
                }
                _ => {
                    assert!(!requested.out_of_order);
                    assert_eq!(
                        requested.parent_event_id(&trace),
                        placed.event.event_id.as_deref()
                    );
                    assert_eq!(requested.depth, 1);
                }
            }
        }
        // ShipmentDispatched causes both OrderShipped and ShipmentDelivered.
        if let Some(dispatched) = trace
            .nodes
            .iter()
            .position(|n| n.event.event_type == "ShipmentDispatched")
        {
            let children: BTreeSet<&str> = trace.nodes[dispatched]
                .children
                .iter()
                .map(|&c| trace.nodes[c].event.event_type.as_str())
                .collect();
            assert!(children.contains("OrderShipped"), "flow {n}: {children:?}");
        }
    }
    assert!(
        deepest >= 5,
        "order → payment → shipment chains are deep: {deepest}"
    );
}

#[test]
fn index_never_touches_the_store_catches_up_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(dir.path(), 5_000, 7).0;
    let cache = tempfile::tempdir().unwrap();
    let before = store_fingerprint(&path);
    let id = identity(&path);
    let source = open(&path);
    let head = source.head().unwrap();
    {
        let index = TraceIndex::open_in(cache.path(), &id, "test").unwrap();
        assert!(index.path().starts_with(cache.path()));
        // Built in chunks, resumable.
        let first = index
            .catch_up(source.as_ref(), 1_000, &mut |_, _| {})
            .unwrap();
        assert!(!first.complete);
        assert!(first.indexed_through < head);
        let mut reported = Vec::new();
        let rest = index
            .catch_up(source.as_ref(), u64::MAX, &mut |at, h| {
                reported.push((at, h))
            })
            .unwrap();
        assert!(rest.complete);
        assert_eq!(rest.indexed_through, head);
        assert_eq!(reported.last(), Some(&(head, head)));
        assert_eq!(index.status().unwrap().events, head);
        let some = source
            .read_stream("order-000005", None, Default::default(), 1)
            .unwrap();
        let id5 = some[0].correlation_id.clone().unwrap();
        assert_eq!(
            index_trace(source.as_ref(), &index, &id5),
            scan_trace(source.as_ref(), &id5)
        );
    }
    drop(source);
    assert_eq!(store_fingerprint(&path), before, "the store is untouched");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("trace")),
        "nothing written beside the store"
    );

    // Restart: the same file, nothing to redo.
    let source = open(&path);
    let index = TraceIndex::open_in(cache.path(), &id, "test").unwrap();
    assert!(index.replaced.is_none());
    assert_eq!(index.status().unwrap().indexed_through, head);
    let again = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert_eq!((again.added, again.restarted), (0, None));
    drop(source);

    // New events (the live writer) are picked up incrementally.
    let stop = AtomicBool::new(false);
    eventscope::demo::run_live(
        &path,
        &eventscope::demo::LiveOptions {
            seed: 3,
            tick: std::time::Duration::from_millis(1),
            max_ticks: Some(40),
        },
        &stop,
    )
    .unwrap();
    let source = open(&path);
    let new_head = source.head().unwrap();
    assert!(new_head > head);
    let caught = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert_eq!(caught.added, new_head - head);
    assert_eq!(caught.indexed_through, new_head);
    assert_eq!(caught.restarted, None);
    let newest = eventscope::trace::index::read_at(source.as_ref(), new_head)
        .unwrap()
        .unwrap();
    let newest_id = newest.correlation_id.clone().unwrap();
    let (trace, method) =
        eventscope::trace::trace(source.as_ref(), &newest_id, Some(&index), &mut |_, _| {})
            .unwrap();
    assert_eq!(
        method,
        Method::Index {
            indexed_through: new_head
        }
    );
    assert!(trace.node_at(new_head).is_some());
    assert_eq!(trace, scan_trace(source.as_ref(), &newest_id));
}

#[test]
fn corrupt_or_deleted_index_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(dir.path(), 5_000, 7).0;
    let cache = tempfile::tempdir().unwrap();
    let id = identity(&path);
    let source = open(&path);
    let head = source.head().unwrap();
    let flow = source
        .read_stream("order-000004", None, Default::default(), 1)
        .unwrap();
    let correlation = flow[0].correlation_id.clone().unwrap();
    let want = scan_trace(source.as_ref(), &correlation);
    let file = {
        let index = TraceIndex::open_in(cache.path(), &id, "test").unwrap();
        index
            .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
            .unwrap();
        index.path().to_path_buf()
    };
    // Checkpoint the WAL into the file so the scribbling hits real pages.
    {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE").ok();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let len = std::fs::metadata(&file).unwrap().len();
    assert!(len > 8192);
    let mut bytes = std::fs::read(&file).unwrap();
    for (i, byte) in bytes.iter_mut().enumerate().skip(4096).take(16 * 1024) {
        *byte = (i % 251) as u8;
    }
    std::fs::write(&file, &bytes).unwrap();
    let index = TraceIndex::open_in(cache.path(), &id, "test").unwrap();
    assert!(index.replaced.is_some(), "a corrupt index is not trusted");
    assert_eq!(index.status().unwrap().indexed_through, 0);
    let rebuilt = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert_eq!(rebuilt.indexed_through, head);
    assert_eq!(index_trace(source.as_ref(), &index, &correlation), want);

    // Deleted while open: noticed on the next catch-up and rebuilt.
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", file.display())).ok();
    }
    let again = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert!(again.restarted.is_some());
    assert_eq!(again.indexed_through, head);
    assert!(file.exists());
    assert_eq!(index_trace(source.as_ref(), &index, &correlation), want);
    drop(index);

    // Deleted while closed: a fresh index on the next open.
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", file.display())).ok();
    }
    let index = TraceIndex::open_in(cache.path(), &id, "test").unwrap();
    assert_eq!(index.status().unwrap().indexed_through, 0);

    // A different store under the same identity (replaced file): starts over.
    let other = tempfile::tempdir().unwrap();
    let other_path = other.path().join("demo.db");
    eventscope::demo::write_demo(
        &other_path,
        &eventscope::demo::DemoOptions {
            events: 6_000,
            seed: 99,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    let other_source = open(&other_path);
    let switched = index
        .catch_up(other_source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert!(switched.restarted.is_some());
    assert_eq!(switched.indexed_through, other_source.head().unwrap());
}

#[test]
fn cli_trace_json_lines_in_global_order_with_parent_and_depth() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_fixture("emmett/emmett.db", dir.path());
    let expected = expected("emmett/emmett.expected.json");
    let correlation = &expected["correlations"][0];
    let id = correlation["correlation_id"].as_str().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let exports = tempfile::tempdir().unwrap();
    let dot = exports.path().join("trace.dot");
    let json = exports.path().join("trace.json");
    let before = store_fingerprint(&store);
    for extra in [
        &[][..],
        &["--cache-dir", cache.path().to_str().unwrap()][..],
    ] {
        let mut args = vec!["trace", store.to_str().unwrap(), id, "--json"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "--export-dot",
            dot.to_str().unwrap(),
            "--export-json",
            json.to_str().unwrap(),
        ]);
        let lines = crate::common::json_lines(&crate::common::eventscope(&args));
        let want = correlation["events"].as_array().unwrap();
        assert_eq!(lines.len(), want.len());
        let by_id: HashMap<&str, &serde_json::Value> = lines
            .iter()
            .map(|l| (l["event_id"].as_str().unwrap(), l))
            .collect();
        for (line, e) in lines.iter().zip(want) {
            assert_eq!(line["global_position"], e["global_position"]);
            assert_eq!(line["correlation_id"], id);
            if e["causation_is_event"].as_bool().unwrap() {
                assert_eq!(line["parent_event_id"], e["causation_id"]);
                let parent = by_id[e["causation_id"].as_str().unwrap()];
                assert_eq!(
                    line["depth"].as_u64().unwrap(),
                    parent["depth"].as_u64().unwrap() + 1
                );
            } else {
                assert!(line["parent_event_id"].is_null());
                assert_eq!(line["depth"], 0);
                assert_eq!(line["root"], "external");
            }
        }
        let text = std::fs::read_to_string(&dot).unwrap();
        assert!(text.starts_with("digraph trace {") && text.contains("->"));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(doc["event_count"].as_u64().unwrap() as usize, want.len());
    }
    assert_eq!(store_fingerprint(&store), before);
    assert!(cache.path().join("trace-index").read_dir().unwrap().count() >= 1);

    // By event id, and errors.
    let event_id = correlation["events"][3]["message_id"].as_str().unwrap();
    let output = crate::common::eventscope(&[
        "trace",
        store.to_str().unwrap(),
        event_id,
        "--event",
        "--json",
    ]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().lines().count(),
        correlation["events"].as_array().unwrap().len()
    );
    let output = crate::common::eventscope(&["trace", store.to_str().unwrap(), "nope", "--json"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("no event carries the correlation id nope")
    );
}
