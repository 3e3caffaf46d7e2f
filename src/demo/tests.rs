//! Tests of the bulk demo writer (the live appender's are in `live.rs`).

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use rusqlite::Connection;
use serde_json::Value;

use super::domain::{MISSING_PARENT_FLOWS, OUT_OF_ORDER_FLOWS, stream_number};
use super::*;

fn write(events: u64, seed: u64) -> (tempfile::TempDir, PathBuf, DemoSummary) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo.db");
    let opts = DemoOptions {
        events,
        seed,
        ..DemoOptions::default()
    };
    let summary = write_demo(&path, &opts, &mut |_| {}).expect("write demo");
    (dir, path, summary)
}

/// Reads a non-negative integer column.
pub(crate) fn u(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.try_into().unwrap_or(u64::MAX))
}

fn open(path: &Path) -> Connection {
    Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open")
}

#[derive(Debug, Clone)]
struct Row {
    id: u64,
    event_id: String,
    stream: String,
    version: u64,
    event_type: String,
    event_version: u64,
    payload: Value,
    meta: Value,
    created_at: String,
}

fn rows(conn: &Connection) -> Vec<Row> {
    let mut stmt = conn
        .prepare("SELECT id, event_id, aggregate_id, version, event_type, event_version, payload, metadata, created_at FROM events ORDER BY id")
        .expect("prepare");
    stmt.query_map([], |r| {
        let payload: String = r.get(6)?;
        let meta: Option<String> = r.get(7)?;
        Ok(Row {
            id: u(r, 0)?,
            event_id: r.get(1)?,
            stream: r.get(2)?,
            version: u(r, 3)?,
            event_type: r.get(4)?,
            event_version: u(r, 5)?,
            payload: serde_json::from_str(&payload).expect("payload is JSON"),
            meta: meta.map_or(Value::Null, |m| {
                serde_json::from_str(&m).expect("metadata is JSON")
            }),
            created_at: r.get(8)?,
        })
    })
    .expect("query")
    .collect::<rusqlite::Result<_>>()
    .expect("rows")
}

fn meta_str<'a>(row: &'a Row, key: &str) -> Option<&'a str> {
    row.meta.get(key).and_then(Value::as_str)
}

fn is_flow_stream(stream: &str) -> bool {
    ["order-", "payment-", "shipment-"]
        .iter()
        .any(|p| stream.starts_with(p))
}

/// Every stream's versions are 1..=n in position order.
pub(crate) fn assert_versions_contiguous(conn: &Connection) {
    let mut last: HashMap<String, u64> = HashMap::new();
    let mut stmt = conn
        .prepare("SELECT aggregate_id, version FROM events ORDER BY id")
        .expect("prepare");
    let mut q = stmt.query([]).expect("query");
    while let Some(r) = q.next().expect("row") {
        let stream: String = r.get(0).expect("stream");
        let version = u(r, 1).expect("version");
        let prev = last.insert(stream.clone(), version).unwrap_or(0);
        assert_eq!(
            version,
            prev + 1,
            "{stream}: version {version} after {prev}"
        );
    }
}

/// All events of an order/payment/shipment flow share one correlation id.
pub(crate) fn assert_flows_correlated(conn: &Connection) {
    let mut by_flow: HashMap<u64, BTreeSet<String>> = HashMap::new();
    for row in rows(conn).iter().filter(|r| is_flow_stream(&r.stream)) {
        let flow = stream_number(&row.stream).expect("flow number");
        let corr = meta_str(row, "correlation_id").expect("flow events have a correlation id");
        by_flow.entry(flow).or_default().insert(corr.to_owned());
    }
    assert!(!by_flow.is_empty());
    for (flow, ids) in by_flow {
        assert_eq!(ids.len(), 1, "flow {flow} has correlation ids {ids:?}");
    }
}

#[test]
fn default_options() {
    let opts = DemoOptions::default();
    assert_eq!((opts.events, opts.seed), (20_000, 42));
    assert_eq!(store::ts(opts.start), "2024-01-01T00:00:00.000Z");
}

#[test]
fn same_seed_same_store() {
    let (_d1, p1, s1) = write(5_000, 42);
    let (_d2, p2, s2) = write(5_000, 42);
    let (_d3, p3, _) = write(5_000, 43);
    assert_eq!(s1, s2);
    let all = |p: &Path| -> Vec<Vec<String>> {
        let conn = open(p);
        let mut stmt = conn
            .prepare("SELECT * FROM events ORDER BY id")
            .expect("prepare");
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        other => format!("{other:?}"),
                    })
                })
                .collect()
        })
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
    };
    let (a, b, c) = (all(&p1), all(&p2), all(&p3));
    assert_eq!(a.len(), 5_000);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(
        std::fs::read(&p1).expect("read"),
        std::fs::read(&p2).expect("read"),
        "byte-identical files"
    );
}

#[test]
fn tiny_stores() {
    for events in [0, 1, 7, 1_001] {
        let (_dir, path, summary) = write(events, 1);
        let conn = open(&path);
        let n: u64 = conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| u(r, 0))
            .expect("count");
        assert_eq!((n, summary.head), (events, events));
        let checkpoints: u64 = conn
            .query_row("SELECT COUNT(*) FROM projection_checkpoints", [], |r| {
                u(r, 0)
            })
            .expect("count");
        assert_eq!(checkpoints, 4);
        assert_versions_contiguous(&conn);
    }
}

#[test]
fn refuses_existing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo.db");
    std::fs::write(&path, b"precious").expect("write");
    assert!(write_demo(&path, &DemoOptions::default(), &mut |_| {}).is_err());
    assert_eq!(std::fs::read(&path).expect("read"), b"precious");
}

#[test]
fn summary_matches_store() {
    let mut calls = Vec::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo.db");
    let opts = DemoOptions::default();
    let summary = write_demo(&path, &opts, &mut |n| calls.push(n)).expect("write");
    assert_eq!(calls, [20_000]);
    let conn = open(&path);
    let q = |sql: &str| -> u64 { conn.query_row(sql, [], |r| u(r, 0)).expect(sql) };
    assert_eq!(summary.events, 20_000);
    assert_eq!(q("SELECT COUNT(*) FROM events"), summary.events);
    assert_eq!(q("SELECT MIN(id) FROM events"), 1);
    assert_eq!(q("SELECT MAX(id) FROM events"), summary.head);
    assert_eq!(summary.head, summary.events);
    assert_eq!(
        q("SELECT COUNT(DISTINCT aggregate_id) FROM events"),
        summary.streams
    );
    assert_eq!(q("SELECT COUNT(*) FROM snapshots"), summary.snapshots);
    assert!(summary.snapshots > 0);
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(journal, "wal");
    let index: u64 = q("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_stream_version'");
    assert_eq!(index, 1);

    let rows = rows(&conn);
    assert_eq!(
        rows.last().map(|r| r.created_at.clone()),
        Some(store::ts(summary.last_recorded_at))
    );
    assert_eq!(rows[0].created_at, "2024-01-01T00:00:00.000Z");
    let mut ids = BTreeSet::new();
    for w in rows.windows(2) {
        let (a, b) = (
            store::parse_ts(&w[0].created_at).expect("ts"),
            store::parse_ts(&w[1].created_at).expect("ts"),
        );
        let gap = (b - a).num_milliseconds();
        // Out-of-order pairs are recorded back to back: still non-decreasing.
        assert!((50..=3_000).contains(&gap), "gap {gap} ms at {}", w[1].id);
    }
    for r in &rows {
        assert_eq!(r.created_at.len(), 24, "{}", r.created_at);
        assert!(r.created_at.ends_with('Z'));
        assert!(
            ids.insert(r.event_id.clone()),
            "duplicate event id {}",
            r.event_id
        );
        assert_eq!(r.event_id.len(), 36);
    }
}

#[test]
fn streams_versions_and_accounts() {
    let (_dir, path, summary) = write(20_000, 42);
    let conn = open(&path);
    assert_versions_contiguous(&conn);
    let rows = rows(&conn);
    let mut per_stream: HashMap<&str, u64> = HashMap::new();
    for r in &rows {
        *per_stream.entry(r.stream.as_str()).or_default() += 1;
    }
    let count = |prefix: &str| per_stream.keys().filter(|s| s.starts_with(prefix)).count();
    assert_eq!(count("account-"), 20);
    assert!(count("order-") > 500, "{} orders", count("order-"));
    assert!(count("payment-") > 400);
    assert!(count("shipment-") > 300);
    assert!(count("customer-") > 100);
    let account_events: u64 = per_stream
        .iter()
        .filter(|(s, _)| s.starts_with("account-"))
        .map(|(_, n)| n)
        .sum();
    let share = account_events as f64 / summary.events as f64;
    assert!((0.45..0.55).contains(&share), "account share {share}");
    let hot = per_stream["account-0001"] as f64 / summary.events as f64;
    assert!((0.04..0.07).contains(&hot), "hot account share {hot}");
    let others = per_stream
        .iter()
        .filter(|(s, _)| s.starts_with("account-") && **s != "account-0001");
    for (stream, n) in others {
        assert!(
            *n >= 100 && *n < per_stream["account-0001"],
            "{stream}: {n}"
        );
    }
    for ty in [
        "AccountFrozen",
        "AccountUnfrozen",
        "Withdrawn",
        "OrderCancelled",
        "PaymentFailed",
        "PaymentRetried",
        "ShipmentDelivered",
    ] {
        assert!(rows.iter().any(|r| r.event_type == ty), "no {ty}");
    }
    // Balances never go negative.
    let mut state: HashMap<&str, Value> = HashMap::new();
    for r in rows.iter().filter(|r| r.stream.starts_with("account-")) {
        let s = state.remove(r.stream.as_str()).unwrap_or(Value::Null);
        let s = demo_reduce(s, &r.event_type, &r.payload);
        assert!(s["balanceCents"].as_i64().expect("balance") >= 0);
        state.insert(&r.stream, s);
    }
}

#[test]
fn flows_correlation_and_causation() {
    let (_dir, path, _) = write(20_000, 42);
    let conn = open(&path);
    assert_flows_correlated(&conn);
    let rows = rows(&conn);
    let by_id: HashMap<&str, &Row> = rows.iter().map(|r| (r.event_id.as_str(), r)).collect();
    let mut missing = BTreeSet::new();
    let mut child_first = BTreeSet::new();
    let mut open_at_once = 0;
    let mut open: BTreeSet<u64> = BTreeSet::new();
    for r in rows
        .iter()
        .filter(|r| is_flow_stream(&r.stream) || r.event_type == "CustomerTierChanged")
    {
        let cause = meta_str(r, "causation_id").expect("flow events have a cause");
        let corr = meta_str(r, "correlation_id").expect("correlation");
        if r.event_type == "OrderPlaced"
            || (r.event_type == "OrderCancelled" && r.payload["reason"] == "customer request")
        {
            assert!(cause.starts_with("cmd-"), "{} {cause}", r.event_type);
            assert!(!by_id.contains_key(cause));
        } else if let Some(parent) = by_id.get(cause) {
            assert_eq!(
                meta_str(parent, "correlation_id"),
                Some(corr),
                "cause in the same flow"
            );
            if parent.id > r.id {
                child_first.insert(stream_number(&r.stream).expect("n"));
            }
        } else {
            missing.insert(stream_number(&r.stream).expect("n"));
        }
        if is_flow_stream(&r.stream) {
            let n = stream_number(&r.stream).expect("n");
            if ["ShipmentDelivered", "OrderCancelled"].contains(&r.event_type.as_str()) {
                open.remove(&n);
            } else {
                open.insert(n);
            }
            open_at_once = open_at_once.max(open.len());
        }
    }
    assert_eq!(missing, MISSING_PARENT_FLOWS.into_iter().collect());
    assert_eq!(child_first, OUT_OF_ORDER_FLOWS.into_iter().collect());
    assert!(
        open_at_once >= 5,
        "flows interleave ({open_at_once} open at once)"
    );
}

#[test]
fn schema_versions() {
    let (_dir, path, summary) = write(20_000, 42);
    let conn = open(&path);
    let rows = rows(&conn);
    let versions = |ty: &str| -> BTreeSet<u64> {
        rows.iter()
            .filter(|r| r.event_type == ty)
            .map(|r| r.event_version)
            .collect()
    };
    assert_eq!(versions("OrderPlaced"), BTreeSet::from([1, 2]));
    assert_eq!(versions("CustomerTierChanged"), BTreeSet::from([1, 2, 3]));
    assert_eq!(versions("Deposited"), BTreeSet::from([1]));
    let mut last_v1 = 0;
    let mut first_v2 = u64::MAX;
    for r in rows.iter().filter(|r| r.event_type == "OrderPlaced") {
        if r.event_version == 1 {
            assert!(r.payload["total"].is_string() && r.payload["items"][0]["price"].is_string());
            last_v1 = last_v1.max(r.id);
        } else {
            assert!(
                r.payload["totalCents"].is_i64() && r.payload["lines"][0]["priceCents"].is_i64()
            );
            assert!(r.payload["currency"].is_string());
            first_v2 = first_v2.min(r.id);
        }
    }
    assert!(last_v1 < first_v2, "v1 era precedes v2 era");
    assert!((last_v1 as f64) < summary.events as f64 * 0.41);
    for r in rows
        .iter()
        .filter(|r| r.event_type == "CustomerTierChanged")
    {
        let tier = &r.payload["tier"];
        match r.event_version {
            1 => assert!(tier.is_string() && r.payload.get("since").is_none()),
            2 => assert!(tier.is_string() && r.payload["since"].is_string()),
            _ => assert!(tier["name"].is_string() && tier["discountPct"].is_i64()),
        }
    }
}

#[test]
fn snapshots_and_drift() {
    let (_dir, path, summary) = write(20_000, 42);
    let conn = open(&path);
    let rows = rows(&conn);
    let mut stmt = conn
        .prepare("SELECT aggregate_id, version, schema_version, state FROM snapshots ORDER BY aggregate_id, version")
        .expect("prepare");
    let snapshots: Vec<(String, u64, u64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, u(r, 1)?, u(r, 2)?, r.get(3)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    assert_eq!(snapshots.len() as u64, summary.snapshots);
    let mut drifted = 0;
    for (stream, version, schema, state) in &snapshots {
        assert!(stream.starts_with("account-"));
        assert_eq!(version % 100, 0);
        assert_eq!(*schema, 1);
        let replay = rows
            .iter()
            .filter(|r| &r.stream == stream && r.version <= *version)
            .fold(Value::Null, |s, r| {
                demo_reduce(s, &r.event_type, &r.payload)
            });
        let stored: Value = serde_json::from_str(state).expect("state");
        if stored != replay {
            drifted += 1;
        }
    }
    assert!(summary.drifted_snapshots >= 2, "{summary:?}");
    assert_eq!(drifted, summary.drifted_snapshots);
    assert!(summary.drifted_snapshots * 10 < summary.snapshots);
}

#[test]
fn checkpoints_lag() {
    let (_dir, path, summary) = write(20_000, 42);
    let conn = open(&path);
    let head = summary.head;
    let pos = |name: &str| -> u64 {
        conn.query_row(
            "SELECT position FROM projection_checkpoints WHERE name = ?1",
            [name],
            |r| u(r, 0),
        )
        .expect(name)
    };
    let count: u64 = conn
        .query_row("SELECT COUNT(*) FROM projection_checkpoints", [], |r| {
            u(r, 0)
        })
        .expect("n");
    assert_eq!(count, 4);
    assert!(pos("account-balances") + 5 >= head);
    let behind = (head - pos("order-history")) as f64 / head as f64;
    assert!((0.04..=0.16).contains(&behind), "order-history {behind}");
    assert!(pos("shipping-dashboard") <= head);
    assert!(
        pos("email-notifier") < head * 3 / 4,
        "email-notifier far behind"
    );
    let history: u64 = conn
        .query_row(
            "SELECT COUNT(*) FROM projection_checkpoint_history",
            [],
            |r| u(r, 0),
        )
        .expect("n");
    assert_eq!(history, 4 * 20);
    // The shipping dashboard stalls now and then: some consecutive rows repeat a position.
    let mut stmt = conn
        .prepare("SELECT position FROM projection_checkpoint_history WHERE name = 'shipping-dashboard' ORDER BY recorded_at")
        .expect("prepare");
    let positions: Vec<u64> = stmt
        .query_map([], |r| u(r, 0))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    assert!(positions.windows(2).all(|w| w[0] <= w[1]));
}

/// `cargo test --release --lib --no-default-features demo::tests::write_one_million -- --ignored --nocapture`
#[test]
#[ignore = "timing measurement; run in release"]
fn write_one_million() {
    let events = std::env::var("DEMO_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path =
        std::env::var_os("DEMO_OUT").map_or_else(|| dir.path().join("demo.db"), PathBuf::from);
    let opts = DemoOptions {
        events,
        ..DemoOptions::default()
    };
    let started = std::time::Instant::now();
    let summary = write_demo(&path, &opts, &mut |n| {
        eprintln!("  {n} events, {:?}", started.elapsed())
    })
    .expect("write");
    let elapsed = started.elapsed();
    let size = std::fs::metadata(&path).expect("metadata").len();
    eprintln!(
        "{events} events in {elapsed:?} ({:.0} events/s), {} MB: {summary:?}",
        events as f64 / elapsed.as_secs_f64(),
        size / 1_000_000
    );
}
