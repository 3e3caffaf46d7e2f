//! Store health (`eventscope audit`): a store written here with a defect of every kind the
//! audit checks planted in it (each check finds exactly those and nothing else), the
//! real-library fixtures against what their writers wrote, and the CLI's JSON Lines and
//! exit codes.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use eventscope::audit::{AuditOptions, CheckResult, Report, Severity};
use serde_json::{Value, json};

/// A row of the events table: position, stream, version, type, payload, metadata, time,
/// event id, schema version.
type Row = (
    u64,
    String,
    u64,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<u32>,
);

/// Writes the events of the planted store, remembering where each defect went.
struct Writer {
    rows: Vec<Row>,
    /// (stream, version, schema version).
    snapshots: Vec<(String, u64, u32)>,
    versions: BTreeMap<String, u64>,
    clock: i64,
    planted: BTreeMap<&'static str, Vec<u64>>,
}

/// One event to write: defaults are a clean event.
struct Ev<'a> {
    stream: &'a str,
    event_type: &'a str,
    payload: Value,
    correlation: bool,
    causation: bool,
    /// The causation id, instead of the clean background's `cause-N` (a command id).
    cause: Option<String>,
    schema_version: Option<u32>,
    event_id: Option<String>,
    version: Option<u64>,
    minutes_back: i64,
}

impl<'a> Ev<'a> {
    fn new(stream: &'a str, event_type: &'a str) -> Self {
        Self {
            stream,
            event_type,
            payload: json!({"sku": "A-1", "qty": 2}),
            correlation: true,
            causation: true,
            cause: None,
            schema_version: Some(1),
            event_id: None,
            version: None,
            minutes_back: 0,
        }
    }
}

impl Writer {
    fn new() -> Self {
        Self {
            rows: Vec::new(),
            snapshots: Vec::new(),
            versions: BTreeMap::new(),
            clock: 0,
            planted: BTreeMap::new(),
        }
    }

    /// Appends an event; returns its position.
    fn push(&mut self, ev: Ev<'_>) -> u64 {
        let position = self.rows.len() as u64 + 1;
        let next = self.versions.get(ev.stream).map_or(1, |v| v + 1);
        let version = ev.version.unwrap_or(next);
        let highest = self.versions.entry(ev.stream.to_owned()).or_insert(0);
        *highest = (*highest).max(version);
        self.clock += 1;
        let seconds = self.clock - ev.minutes_back * 60;
        let time = chrono::DateTime::from_timestamp(1_735_689_600 + seconds, 0).unwrap();
        let mut metadata = serde_json::Map::new();
        if ev.correlation {
            metadata.insert("correlationId".into(), json!(format!("corr-{position}")));
        }
        if let Some(cause) = ev.cause {
            metadata.insert("causationId".into(), json!(cause));
        } else if ev.causation {
            metadata.insert("causationId".into(), json!(format!("cause-{position}")));
        }
        self.rows.push((
            position,
            ev.stream.to_owned(),
            version,
            ev.event_type.to_owned(),
            ev.payload.to_string(),
            Some(Value::Object(metadata).to_string()),
            time.to_rfc3339(),
            Some(ev.event_id.unwrap_or_else(|| format!("evt-{position}"))),
            ev.schema_version,
        ));
        position
    }

    fn plant(&mut self, check: &'static str, position: u64) {
        self.planted.entry(check).or_default().push(position);
    }

    fn write(&self, path: &Path) {
        let mut conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(
            "CREATE TABLE events (global_position INTEGER PRIMARY KEY, aggregate_id TEXT, \
             version INTEGER, event_type TEXT, payload TEXT, metadata TEXT, created_at TEXT, \
             event_id TEXT, schema_version INTEGER);
             CREATE TABLE snapshots (aggregate_id TEXT, version INTEGER, schema_version INTEGER, \
             state TEXT, created_at TEXT);",
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare("INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
                .unwrap();
            for r in &self.rows {
                insert
                    .execute(rusqlite::params![
                        r.0 as i64, r.1, r.2 as i64, r.3, r.4, r.5, r.6, r.7, r.8
                    ])
                    .unwrap();
            }
            let mut snap = tx
                .prepare("INSERT INTO snapshots VALUES (?1, ?2, ?3, '{}', '2025-01-02T00:00:00Z')")
                .unwrap();
            for (stream, version, schema) in &self.snapshots {
                snap.execute(rusqlite::params![stream, *version as i64, schema])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
}

/// The store with every kind of defect, and where each went (check → positions, or for
/// stream-level checks the position of the example the audit is to show).
pub fn planted_store(dir: &Path) -> (PathBuf, BTreeMap<&'static str, Vec<u64>>, Vec<String>) {
    let mut w = Writer::new();
    // Clean background: 30 orders of 8 events with ids, versions, metadata, times.
    for order in 0..30 {
        let stream = format!("order-{order}");
        w.push(Ev::new(&stream, "OrderPlaced"));
        for _ in 0..6 {
            w.push(Ev::new(&stream, "ItemAdded"));
        }
        w.push(Ev::new(&stream, "OrderShipped"));
    }
    // Missing ids and versions.
    for _ in 0..3 {
        let p = w.push(Ev {
            correlation: false,
            ..Ev::new("order-1", "ItemAdded")
        });
        w.plant("missing_correlation_id", p);
    }
    for _ in 0..2 {
        let p = w.push(Ev {
            causation: false,
            ..Ev::new("order-2", "OrderShipped")
        });
        w.plant("missing_causation_id", p);
    }
    for _ in 0..4 {
        let p = w.push(Ev {
            schema_version: None,
            ..Ev::new("order-3", "ItemAdded")
        });
        w.plant("missing_schema_version", p);
    }
    // Versions: a skip (1, 2, 4), a stream starting at 3, a repeat, and one out of order
    // (1, 3, 2: no gap once 2 arrives).
    w.push(Ev::new("gap-1", "OrderPlaced"));
    w.push(Ev::new("gap-1", "ItemAdded"));
    let p = w.push(Ev {
        version: Some(4),
        ..Ev::new("gap-1", "ItemAdded")
    });
    w.plant("version_gaps", p);
    let p = w.push(Ev {
        version: Some(3),
        ..Ev::new("gap-2", "OrderPlaced")
    });
    w.plant("version_gaps", p);
    w.push(Ev::new("gap-2", "ItemAdded"));
    w.push(Ev::new("dup-1", "OrderPlaced"));
    w.push(Ev::new("dup-1", "ItemAdded"));
    let p = w.push(Ev {
        version: Some(2),
        ..Ev::new("dup-1", "ItemAdded")
    });
    w.plant("version_duplicates", p);
    w.push(Ev::new("dup-1", "ItemAdded"));
    w.push(Ev::new("ord-1", "OrderPlaced"));
    w.push(Ev {
        version: Some(3),
        ..Ev::new("ord-1", "ItemAdded")
    });
    let p = w.push(Ev {
        version: Some(2),
        ..Ev::new("ord-1", "ItemAdded")
    });
    w.plant("position_order", p);
    // Time: the third event recorded an hour before the second.
    w.push(Ev::new("time-1", "OrderPlaced"));
    w.push(Ev::new("time-1", "ItemAdded"));
    let p = w.push(Ev {
        minutes_back: 60,
        ..Ev::new("time-1", "ItemAdded")
    });
    w.plant("time_goes_backwards", p);
    // Duplicate event ids across streams: one id twice, one three times.
    w.push(Ev {
        event_id: Some("dup-id-1".into()),
        ..Ev::new("order-5", "ItemAdded")
    });
    let p = w.push(Ev {
        event_id: Some("dup-id-1".into()),
        ..Ev::new("order-6", "ItemAdded")
    });
    w.plant("duplicate_event_ids", p);
    w.push(Ev {
        event_id: Some("dup-id-2".into()),
        ..Ev::new("order-7", "ItemAdded")
    });
    for stream in ["order-8", "order-9"] {
        let p = w.push(Ev {
            event_id: Some("dup-id-2".into()),
            ..Ev::new(stream, "ItemAdded")
        });
        w.plant("duplicate_event_ids", p);
    }
    // Causation: an id shaped like the event ids (`evt-N`) that no event carries (a lost
    // parent); an event caused by an earlier one and one caused by the next (found once the
    // pass has met it) are fine.
    let p = w.push(Ev {
        cause: Some("evt-999999".into()),
        ..Ev::new("order-11", "ItemAdded")
    });
    w.plant("causation_unknown", p);
    w.push(Ev {
        cause: Some("evt-1".into()),
        ..Ev::new("order-11", "ItemAdded")
    });
    let next = w.rows.len() + 2;
    w.push(Ev {
        cause: Some(format!("evt-{next}")),
        ..Ev::new("order-11", "ItemAdded")
    });
    w.push(Ev::new("order-11", "ItemAdded"));
    // Streams over 50 events: two without a snapshot, one with; one of exactly 50.
    for (stream, count, snapshot) in [
        ("bare-1", 60, false),
        ("bare-2", 51, false),
        ("snapped", 70, true),
        ("fifty", 50, false),
    ] {
        let mut last = 0;
        for _ in 0..count {
            last = w.push(Ev::new(stream, "Ticked"));
        }
        if snapshot {
            w.snapshots.push((stream.to_owned(), 50, 1));
        } else if count > 50 {
            w.plant("streams_without_snapshots", last);
        }
    }
    // Snapshot intervals: a stream snapshotted every 5 events (too often); one every 200
    // (fine). Schemas: in category `acct` one stream's newest snapshot is still schema 1
    // while another's is schema 2 (an older snapshot of schema 1 before it is fine).
    for (stream, count, every) in [("tight-1", 40, 5), ("paced-1", 450, 200)] {
        let mut last = 0;
        for v in 1..=count {
            last = w.push(Ev::new(stream, "Ticked"));
            if v % every == 0 {
                w.snapshots.push((stream.to_owned(), v, 1));
            }
        }
        if stream == "tight-1" {
            w.plant("snapshot_interval", last);
        }
    }
    let mut last = 0;
    for _ in 0..3 {
        last = w.push(Ev::new("acct-1", "Ticked"));
    }
    w.snapshots.push(("acct-1".to_owned(), 2, 1));
    w.plant("snapshot_schema_mismatch", last);
    for _ in 0..301 {
        w.push(Ev::new("acct-2", "Ticked"));
    }
    w.snapshots.push(("acct-2".to_owned(), 1, 1));
    w.snapshots.push(("acct-2".to_owned(), 201, 2));
    // Personal data, one pattern per event, and an email in metadata's place (payload of
    // another type: the check groups per type and path).
    for (path, value) in [
        ("email", "ana.maria@example.com"),
        ("phone", "+44 20 7946 0958"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("card", "4111 1111 1111 1111"),
        ("ip", "192.168.10.24"),
        ("ip6", "2001:db8::8a2e:370:7334"),
    ] {
        let p = w.push(Ev {
            payload: json!({ "contact": { path: value }, "name": "Ana" }),
            ..Ev::new("customer-1", "CustomerRegistered")
        });
        w.plant("personal_data", p);
    }
    // Names: a change verb, storage, a command; and the wide *Updated type below.
    for name in ["SeatsChanged", "CustomerTableUpdated", "PlaceOrder"] {
        w.push(Ev::new("names-1", name));
    }
    // State in events: two ItemAdded far larger than the type's median, and a *Updated
    // type carrying twelve fields.
    for _ in 0..2 {
        let p = w.push(Ev {
            payload: json!({ "note": "x".repeat(5_000) }),
            ..Ev::new("order-10", "ItemAdded")
        });
        w.plant("state_in_events", p);
    }
    let wide: serde_json::Map<String, Value> =
        (0..12).map(|i| (format!("field{i}"), json!(i))).collect();
    for _ in 0..3 {
        let p = w.push(Ev {
            payload: Value::Object(wide.clone()),
            ..Ev::new("cart-1", "CartUpdated")
        });
        w.plant("state_in_events", p);
    }
    // Long streams: 12,000 events (a warning) and 150,000 (an error), both snapshotted.
    for (stream, count) in [("ledger-warm", 12_000), ("ledger-huge", 150_000)] {
        let mut last = 0;
        for _ in 0..count {
            last = w.push(Ev::new(stream, "Ticked"));
        }
        w.snapshots.push((stream.to_owned(), 100, 1));
        w.plant("long_streams", last);
    }
    let path = dir.join("planted.db");
    w.write(&path);
    let non_intent = [
        "CartUpdated",
        "CustomerTableUpdated",
        "PlaceOrder",
        "SeatsChanged",
    ]
    .map(str::to_owned)
    .to_vec();
    (path, w.planted, non_intent)
}

fn audit(path: &Path) -> Report {
    let source = crate::common::open(path);
    eventscope::audit::run(source.as_ref(), &AuditOptions::default()).unwrap()
}

fn check<'a>(report: &'a Report, name: &str) -> &'a CheckResult {
    report
        .checks
        .iter()
        .find(|c| c.check == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

fn positions(check: &CheckResult) -> BTreeSet<u64> {
    check.examples.iter().map(|e| e.position).collect()
}

#[test]
fn every_planted_defect_is_found_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (path, planted, non_intent) = planted_store(dir.path());
    let before = crate::common::store_fingerprint(&path);
    let report = audit(&path);
    assert_eq!(
        crate::common::store_fingerprint(&path),
        before,
        "audit wrote to the store"
    );
    let events = report.events;
    assert_eq!(events, crate::common::open(&path).head().unwrap());
    // Every check ran, and every one not planted found nothing.
    assert_eq!(
        report.checks.len(),
        eventscope::audit::pass_checks().count()
    );
    for result in &report.checks {
        let expected = match result.check {
            "non_intent_names" => non_intent.len(),
            "missing_correlation_id"
            | "missing_causation_id"
            | "missing_schema_version"
            | "version_gaps"
            | "version_duplicates"
            | "position_order"
            | "time_goes_backwards"
            | "duplicate_event_ids"
            | "causation_unknown"
            | "snapshot_interval"
            | "snapshot_schema_mismatch"
            | "long_streams"
            | "streams_without_snapshots"
            | "personal_data"
            | "state_in_events" => planted.get(result.check).map_or(0, Vec::len),
            other => panic!("a check the test does not know: {other}"),
        };
        assert_eq!(
            result.count as usize, expected,
            "{}: {result:?}",
            result.check
        );
    }
    // The examples are the planted events themselves.
    for (name, planted_positions) in &planted {
        let found = positions(check(&report, name));
        let planted: BTreeSet<u64> = planted_positions.iter().copied().collect();
        match *name {
            // One example per event type.
            "missing_correlation_id" | "missing_causation_id" | "missing_schema_version" => {
                assert_eq!(found.len(), 1, "{name}");
                assert!(
                    planted.contains(found.first().unwrap()),
                    "{name}: {found:?}"
                );
            }
            _ => assert_eq!(found, planted, "{name}"),
        }
    }
    // Totals: what each count was taken over.
    assert_eq!(check(&report, "missing_correlation_id").total, events);
    assert_eq!(check(&report, "duplicate_event_ids").total, events);
    // Every event but the two planted without one has a causation id.
    assert_eq!(check(&report, "causation_unknown").total, events - 2);
    assert_eq!(
        check(&report, "causation_unknown").examples[0].detail,
        "causation id evt-999999 names no event, yet it is shaped like the event ids"
    );
    assert_eq!(check(&report, "long_streams").total, report.streams);
    assert_eq!(check(&report, "streams_without_snapshots").total, 7);
    // Intervals: over the streams with two snapshots or more (tight-1, paced-1, acct-2);
    // schemas: over every snapshotted stream.
    assert_eq!(check(&report, "snapshot_interval").total, 3);
    assert_eq!(
        check(&report, "snapshot_interval").examples[0].detail,
        "8 snapshots, a median of 5 events apart (the guide: every 100–500)"
    );
    assert_eq!(check(&report, "snapshot_schema_mismatch").total, 7);
    assert_eq!(
        check(&report, "snapshot_schema_mismatch").examples[0].detail,
        "newest snapshot (v2) has schema v1; acct snapshots go up to schema v2"
    );
    // Details carry the evidence.
    let ids = check(&report, "missing_correlation_id");
    assert!(
        ids.examples[0].detail.starts_with("ItemAdded: 3 of "),
        "{:?}",
        ids.examples[0]
    );
    let long = check(&report, "long_streams");
    assert_eq!(
        long.severity,
        Severity::Error,
        "a stream over 100,000 events"
    );
    assert_eq!(long.examples[0].stream_id, "ledger-huge");
    assert!(long.examples[0].detail.starts_with("150000 events"));
    let gaps = check(&report, "version_gaps");
    assert!(
        gaps.examples
            .iter()
            .any(|e| e.detail == "version 4 follows 2: 1 version missing")
    );
    assert!(
        gaps.examples
            .iter()
            .any(|e| e.detail == "the stream starts at version 3: 2 versions missing")
    );
    let pii = check(&report, "personal_data");
    let kinds: HashSet<String> = pii
        .examples
        .iter()
        .map(|e| {
            e.detail
                .split(": ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: HashSet<String> = ["email", "phone", "iban", "card", "ipv4", "ipv6"]
        .map(str::to_owned)
        .into();
    assert_eq!(kinds, expected, "{pii:?}");
    assert!(
        pii.examples
            .iter()
            .any(|e| e.detail.contains("at payload.contact.iban") && e.detail.contains("DE8…00")),
        "{pii:?}"
    );
    let names = check(&report, "non_intent_names");
    let flagged: Vec<String> = names
        .examples
        .iter()
        .map(|e| e.detail.split(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(flagged, non_intent);
    let dup = check(&report, "duplicate_event_ids");
    assert!(
        dup.examples
            .iter()
            .all(|e| e.detail.starts_with("event id dup-id-"))
    );
}

#[test]
fn only_the_checks_asked_for_run() {
    let dir = tempfile::tempdir().unwrap();
    let (path, planted, _) = planted_store(dir.path());
    let source = crate::common::open(&path);
    let options = AuditOptions {
        checks: vec!["version_gaps".into(), "duplicate_event_ids".into()],
        ..AuditOptions::default()
    };
    let report = eventscope::audit::run(source.as_ref(), &options).unwrap();
    let names: Vec<&str> = report.checks.iter().map(|c| c.check).collect();
    assert_eq!(names, ["version_gaps", "duplicate_event_ids"]);
    assert_eq!(
        check(&report, "duplicate_event_ids").count as usize,
        planted["duplicate_event_ids"].len()
    );
    let unknown = AuditOptions {
        checks: vec!["no_such_check".into()],
        ..AuditOptions::default()
    };
    let error = eventscope::audit::run(source.as_ref(), &unknown).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown check \"no_such_check\""),
        "{error}"
    );
}

/// The Python eventsourcing stores: the library writes no metadata (no correlation or
/// causation ids at all), numbers versions itself, versions every event by class
/// (`class_version`, 1 when absent), has no event ids, and snapshots BankAccount every 10
/// events.
#[test]
fn eventsourcing_fixtures_give_what_the_library_wrote() {
    for (file, expected) in [
        (
            "eventsourcing/es_sqlite.db",
            "eventsourcing/es_sqlite.expected.json",
        ),
        (
            "eventsourcing/es_sqlalchemy.db",
            "eventsourcing/es_sqlalchemy.expected.json",
        ),
    ] {
        let expected = crate::common::expected(expected);
        let app = expected["applications"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap();
        let total = app["total_event_count"].as_u64().unwrap();
        let report = audit(&crate::common::fixture(file));
        assert_eq!(report.events, total, "{file}");
        for name in ["missing_correlation_id", "missing_causation_id"] {
            let result = check(&report, name);
            assert_eq!(
                (result.count, result.total),
                (total, total),
                "{file} {name}: 100% missing"
            );
        }
        for name in [
            "missing_schema_version",
            "version_gaps",
            "version_duplicates",
            "position_order",
            "long_streams",
            "personal_data",
        ] {
            assert_eq!(check(&report, name).count, 0, "{file} {name}");
        }
        let ids = check(&report, "duplicate_event_ids");
        assert_eq!(
            (ids.count, ids.total),
            (0, 0),
            "{file}: no event ids stored"
        );
        // Streams over 50 events, and which of them have no snapshot, from the writer's
        // own account of its aggregates and snapshots.
        let snapshotted: HashSet<&str> = app["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["originator_id"].as_str().unwrap())
            .collect();
        let long: Vec<&str> = app["aggregates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["event_count"].as_u64().unwrap() > 50)
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        let bare = long.iter().filter(|id| !snapshotted.contains(*id)).count();
        let snapshots = check(&report, "streams_without_snapshots");
        assert_eq!(
            (snapshots.count, snapshots.total),
            (bare as u64, long.len() as u64),
            "{file}"
        );
        // The library snapshots every 10 events: every aggregate with two or more
        // snapshots is flagged for its interval (median 10, the guide asks 100–500).
        let mut per_stream: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
        // Per aggregate: its newest snapshot's (version, class version, aggregate class).
        let mut newest: BTreeMap<&str, (u64, u64, &str)> = BTreeMap::new();
        for snapshot in app["snapshots"].as_array().unwrap() {
            let id = snapshot["originator_id"].as_str().unwrap();
            let version = snapshot["originator_version"].as_u64().unwrap();
            per_stream.entry(id).or_default().insert(version);
            let class_version = snapshot["stored_aggregate_class_version"]
                .as_u64()
                .unwrap_or(1);
            let class = snapshot["aggregate_topic"].as_str().unwrap();
            let entry = newest.entry(id).or_insert((version, class_version, class));
            if version >= entry.0 {
                *entry = (version, class_version, class);
            }
        }
        // The class was versioned up part-way: aggregates whose newest snapshot is of the
        // old class version, while others of their class have the new one, are stale.
        let mut current: BTreeMap<&str, u64> = BTreeMap::new();
        for (_, class_version, class) in newest.values() {
            let top = current.entry(class).or_insert(*class_version);
            *top = (*top).max(*class_version);
        }
        let stale = newest
            .values()
            .filter(|(_, class_version, class)| *class_version < current[class])
            .count() as u64;
        let several = per_stream.values().filter(|v| v.len() >= 2).count() as u64;
        assert!(several > 0, "{file}");
        let interval = check(&report, "snapshot_interval");
        assert_eq!(
            (interval.count, interval.total),
            (several, several),
            "{file}"
        );
        assert!(
            interval.examples[0]
                .detail
                .contains("a median of 10 events apart"),
            "{file}: {:?}",
            interval.examples[0]
        );
        let schema = check(&report, "snapshot_schema_mismatch");
        assert_eq!(
            (schema.count, schema.total),
            (stale, per_stream.len() as u64),
            "{file}"
        );
        assert!(stale > 0, "{file}: the fixture has upgraded snapshots");
    }
}

/// Emmett: the first batch of catalog events carries no user metadata (the generator's
/// `events_without_correlation`), every other event both ids; Emmett keeps no schema
/// version and no snapshots; its big stream has 61 events.
#[test]
fn emmett_fixture_gives_what_the_generator_wrote() {
    let expected = crate::common::expected("emmett/emmett.expected.json");
    let total = expected["total_event_count"].as_u64().unwrap();
    let without: BTreeSet<u64> = expected["events_without_correlation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["global_position"].as_u64().unwrap())
        .collect();
    let report = audit(&crate::common::fixture("emmett/emmett.db"));
    assert_eq!(report.events, total);
    for name in ["missing_correlation_id", "missing_causation_id"] {
        let result = check(&report, name);
        assert_eq!(result.count, without.len() as u64, "{name}");
        assert!(without.contains(&result.examples[0].position), "{name}");
    }
    assert_eq!(check(&report, "missing_schema_version").count, total);
    let ids = check(&report, "duplicate_event_ids");
    assert_eq!(
        (ids.count, ids.total),
        (0, total),
        "every message has its own id"
    );
    let big = &expected["big_stream"];
    let big_events = big["events"].as_array().unwrap().len() as u64;
    assert!(big_events > 50);
    let snapshots = check(&report, "streams_without_snapshots");
    assert_eq!((snapshots.count, snapshots.total), (1, 1));
    assert_eq!(
        snapshots.examples[0].stream_id,
        big["stream_id"].as_str().unwrap()
    );
    assert_eq!(
        snapshots.examples[0].detail,
        format!("{big_events} events and no snapshot (more than 50)")
    );
    for name in [
        "version_gaps",
        "version_duplicates",
        "position_order",
        "long_streams",
    ] {
        assert_eq!(check(&report, name).count, 0, "{name}");
    }
}

#[test]
fn cli_json_lines_and_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    let (path, planted, _) = planted_store(dir.path());
    let store = path.to_str().unwrap();
    let out = crate::common::eventscope(&["audit", store, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let lines = crate::common::json_lines(&out);
    assert_eq!(lines.len(), eventscope::audit::pass_checks().count());
    for line in &lines {
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["check", "severity", "count", "total", "examples"],
            "{line}"
        );
        for example in line["examples"].as_array().unwrap() {
            let keys: Vec<&str> = example
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, ["position", "stream_id", "stream_version", "detail"]);
        }
    }
    let gaps = lines.iter().find(|l| l["check"] == "version_gaps").unwrap();
    assert_eq!(gaps["count"], planted["version_gaps"].len());
    assert_eq!(gaps["severity"], "error");
    // --html writes the same report as a page: every check's row with its count, the
    // examples' streams, no external asset.
    let html_path = dir.path().join("health.html");
    let out = crate::common::eventscope(&["audit", store, "--html", html_path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let html = std::fs::read_to_string(&html_path).unwrap();
    for line in &lines {
        let name = line["check"].as_str().unwrap();
        assert!(html.contains(&format!("<tr id=\"{name}\">")), "{name}");
        let count = line["count"].as_u64().unwrap();
        let total = line["total"].as_u64().unwrap();
        assert!(
            html.contains(&format!(
                ">{} / {}<",
                eventscope::core::thousands(count),
                eventscope::core::thousands(total)
            )),
            "{name}"
        );
    }
    for example in gaps["examples"].as_array().unwrap() {
        assert!(html.contains(example["stream_id"].as_str().unwrap()));
    }
    assert!(!html.contains("src=") && !html.contains("href="));
    // Only the non-intent names (an info check) alone: fails on info, passes above.
    let info_only = |level: &str| {
        crate::common::eventscope(&[
            "audit",
            store,
            "--check",
            "non_intent_names",
            "--fail-on",
            level,
        ])
    };
    assert_eq!(info_only("info").status.code(), Some(1));
    assert_eq!(info_only("warning").status.code(), Some(0));
    assert_eq!(info_only("error").status.code(), Some(0));
    let failed = info_only("info");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("non_intent_names"), "{stderr}");
    // The whole audit: errors (gaps, duplicates …) are there.
    let all = crate::common::eventscope(&["audit", store, "--fail-on", "error"]);
    assert_eq!(all.status.code(), Some(1));
    // A clean store passes at every level.
    let clean = crate::common::fixture("guide/guide_first.db");
    let out = crate::common::eventscope(&[
        "audit",
        clean.to_str().unwrap(),
        "--check",
        "version_gaps",
        "--check",
        "duplicate_event_ids",
        "--fail-on",
        "info",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The table.
    let table = crate::common::eventscope(&["audit", store]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("version_gaps") && text.contains("error"),
        "{text}"
    );
    // Bad input: an unknown check, an unknown severity.
    let bad = crate::common::eventscope(&["audit", store, "--check", "nope"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown check"));
    let bad = crate::common::eventscope(&["audit", store, "--fail-on", "fatal"]);
    assert!(!bad.status.success());
}

/// The demo store: its writer leaves the parent of two flows' `PaymentRequested` unwritten
/// (flows 7 and 301), and roots every order in an external `cmd-…` command. The audit
/// finds exactly the events whose causation id no event carries, other than the commands,
/// counted here from every event.
#[test]
fn demo_store_lost_parents_are_the_unknown_causes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 20_000, 42);
    let source = crate::common::open(&path);
    let events = crate::common::all_events(source.as_ref());
    let ids: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e.event_id.as_deref())
        .collect();
    let lost: BTreeSet<u64> = events
        .iter()
        .filter(|e| {
            e.causation_id
                .as_deref()
                .is_some_and(|c| !ids.contains(c) && !c.starts_with("cmd-"))
        })
        .map(|e| e.global_position)
        .collect();
    assert!(!lost.is_empty(), "the demo has lost parents");
    let with_cause = events
        .iter()
        .filter(|e| e.causation_id.is_some() && e.causation_id != e.event_id)
        .count() as u64;
    let options = AuditOptions {
        checks: vec!["causation_unknown".into()],
        ..AuditOptions::default()
    };
    let report = eventscope::audit::run(source.as_ref(), &options).unwrap();
    let unknown = check(&report, "causation_unknown");
    assert_eq!(positions(unknown), lost);
    assert_eq!(unknown.count, lost.len() as u64);
    assert_eq!(unknown.total, with_cause);
    for example in &unknown.examples {
        let event = events
            .iter()
            .find(|e| e.global_position == example.position)
            .unwrap();
        assert_eq!(event.event_type, "PaymentRequested", "{example:?}");
    }
}

/// `snapshot_drift` comes from the drift report and needs a reducer: the demo store's
/// built-in reducers find exactly the snapshots its writer drifted; asked for on a store with
/// no reducer configured, the command says what to give; `--generic` brings it in.
#[test]
fn snapshot_drift_from_the_drift_report() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, summary) = crate::common::demo_store(dir.path(), 20_000, 42);
    assert!(summary.drifted_snapshots > 0);
    let out = crate::common::eventscope(&[
        "audit",
        demo.to_str().unwrap(),
        "--check",
        "snapshot_drift",
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines = crate::common::json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["check"], "snapshot_drift");
    assert_eq!(lines[0]["severity"], "error");
    assert_eq!(lines[0]["count"], summary.drifted_snapshots);
    assert_eq!(lines[0]["total"], summary.snapshots);
    let examples = lines[0]["examples"].as_array().unwrap();
    assert!(!examples.is_empty());
    // Each example is the event at the drifted snapshot's version.
    let source = crate::common::open(&demo);
    for example in examples {
        let stream = example["stream_id"].as_str().unwrap();
        let version = example["stream_version"].as_u64().unwrap();
        let event = source
            .read_stream(
                stream,
                Some(version),
                eventscope::core::Direction::Forwards,
                1,
            )
            .unwrap()
            .remove(0);
        assert_eq!(example["position"], event.global_position, "{example}");
        assert!(
            example["detail"]
                .as_str()
                .unwrap()
                .contains("snapshots differ from the replay"),
            "{example}"
        );
    }

    let planted_dir = tempfile::tempdir().unwrap();
    let (planted, _, _) = planted_store(planted_dir.path());
    let store = planted.to_str().unwrap();
    let refused = crate::common::eventscope(&["audit", store, "--check", "snapshot_drift"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("give a reducer"), "{stderr}");
    let generic = crate::common::eventscope(&["audit", store, "--generic", "--json"]);
    let lines = crate::common::json_lines(&generic);
    assert_eq!(lines.len(), eventscope::audit::CHECKS.len());
    let at = lines
        .iter()
        .position(|l| l["check"] == "snapshot_drift")
        .unwrap();
    assert_eq!(lines[at - 1]["check"], "snapshot_schema_mismatch");
}
