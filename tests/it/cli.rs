//! The `eventscope` binary: JSON Lines output, tables, errors and help.

use crate::common::{eventscope, fixture, json_lines};

#[test]
fn info_json() {
    let store = fixture("emmett/emmett.db");
    let lines = json_lines(&eventscope(&["info", store.to_str().unwrap(), "--json"]));
    assert_eq!(lines.len(), 1);
    let info = &lines[0];
    assert_eq!(info["layout"], "emmett");
    assert_eq!(info["stream_count"], 12);
    assert_eq!(info["event_count"], 117);
    assert_eq!(info["head_position"], 117);
    assert_eq!(info["snapshot_count"], 0);
    assert_eq!(info["checkpoint_names"].as_array().unwrap().len(), 3);
}

#[test]
fn streams_events_and_log_json() {
    let store = fixture("eventsourcing/es_sqlite.db");
    let store = store.to_str().unwrap();
    let streams = json_lines(&eventscope(&[
        "streams",
        store,
        "--category",
        "Order",
        "--json",
    ]));
    assert_eq!(streams.len(), 4);
    for key in [
        "stream_id",
        "category",
        "event_count",
        "last_version",
        "first_recorded_at",
        "last_recorded_at",
    ] {
        assert!(streams[0].get(key).is_some(), "missing {key}");
    }
    let limited = json_lines(&eventscope(&["streams", store, "--limit", "2", "--json"]));
    assert_eq!(limited.len(), 2);

    // UUID accepted as 32 hex; printed hyphenated.
    let events = json_lines(&eventscope(&[
        "events",
        store,
        "8cb2a7efb0e44fa1be951c42ea79c999",
        "--from-version",
        "70",
        "--limit",
        "3",
        "--json",
    ]));
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[0]["stream_id"],
        "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999"
    );
    assert_eq!(events[0]["stream_version"], 70);
    for key in [
        "global_position",
        "stream_id",
        "stream_version",
        "event_id",
        "event_type",
        "schema_version",
        "recorded_at",
        "payload",
        "metadata",
        "correlation_id",
        "causation_id",
    ] {
        assert!(events[0].get(key).is_some(), "missing {key}");
    }
    let backwards = json_lines(&eventscope(&[
        "events",
        store,
        "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999",
        "--backwards",
        "--limit",
        "2",
        "--json",
    ]));
    assert_eq!(
        backwards
            .iter()
            .map(|e| e["stream_version"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![75, 74]
    );

    let log = json_lines(&eventscope(&[
        "log",
        store,
        "--type",
        "BankAccount.Withdrawn",
        "--type",
        "Order.Placed",
        "--from-position",
        "100",
        "--limit",
        "5",
        "--json",
    ]));
    assert_eq!(log.len(), 5);
    assert!(
        log.iter()
            .all(|e| e["global_position"].as_u64().unwrap() >= 100)
    );
    let newest = json_lines(&eventscope(&["log", store, "--newest", "2", "--json"]));
    assert_eq!(
        newest
            .iter()
            .map(|e| e["global_position"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![202, 203]
    );
    let window = json_lines(&eventscope(&[
        "log",
        store,
        "--since",
        "2024-06-01T00:00:00Z",
        "--until",
        "2024-06-05T00:00:00Z",
        "--limit",
        "1000",
        "--json",
    ]));
    assert!(!window.is_empty());
    assert!(window.iter().all(|e| {
        let at = e["recorded_at"].as_str().unwrap();
        ("2024-06-01".."2024-06-05").contains(&at)
    }));
}

#[test]
fn tables_are_readable() {
    let store = fixture("emmett/emmett.db");
    let output = eventscope(&["streams", store.to_str().unwrap()]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("stream") && header.contains("events"),
        "{header}"
    );
    assert_eq!(text.lines().count(), 13, "header + 12 streams:\n{text}");
    // Numbers are right-aligned under their header.
    let events_end = header.find("events").unwrap() + "events".len();
    for line in text.lines().skip(1) {
        let digit_end = line[..events_end].trim_end().len();
        assert_eq!(digit_end, events_end, "{line}");
    }
}

#[test]
fn errors_go_to_stderr_with_nonzero_exit() {
    let output = eventscope(&["info", "/definitely/not/here.db", "--json"]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("no such file") && stderr.contains("/definitely/not/here.db"),
        "{stderr}"
    );

    let store = fixture("emmett/emmett.db");
    let output = eventscope(&[
        "events",
        store.to_str().unwrap(),
        "no-such-stream",
        "--json",
    ]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("stream not found")
    );

    let output = eventscope(&["log", store.to_str().unwrap(), "--since", "last tuesday"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("not a timestamp")
    );
}

#[test]
fn help_explains_every_command() {
    let output = eventscope(&["--help"]);
    let text = String::from_utf8(output.stdout).unwrap();
    for command in ["demo", "info", "streams", "events", "log"] {
        assert!(text.contains(command), "{command} in help:\n{text}");
        let sub = eventscope(&[command, "--help"]);
        assert!(sub.status.success());
        assert!(String::from_utf8(sub.stdout).unwrap().contains("--json") || command == "demo");
    }
}

/// `--limit` above the page size (10,000) and `--limit all` return every event of a
/// 25,000-event store, page after page; a limit that cuts the output short says so on
/// stderr, and one that does not says nothing.
#[test]
fn limits_above_the_page_size_and_all_return_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 25_000, 7);
    let source = crate::common::open(&path);
    let info = source.info().unwrap();
    let total = info.event_count.unwrap();
    assert!(total >= 25_000, "{total}");
    let store = path.display().to_string();
    let run = |args: &[&str]| {
        let mut all = vec![args[0], store.as_str()];
        all.extend_from_slice(&args[1..]);
        eventscope(&all)
    };
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let positions = |o: &std::process::Output| {
        json_lines(o)
            .iter()
            .map(|e| e["global_position"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };

    for limit in ["1000000", "all"] {
        let out = run(&["log", "--limit", limit, "--json"]);
        let got = positions(&out);
        assert_eq!(got.len() as u64, total, "--limit {limit}");
        assert!(got.windows(2).all(|w| w[0] < w[1]), "in order, no repeats");
        assert_eq!(got.last().copied(), Some(info.head_position));
        assert!(!stderr(&out).contains("more follow"), "{}", stderr(&out));
    }
    // Cut short: exactly the limit, across pages, and a note on stderr.
    let out = run(&["log", "--limit", "12345", "--json"]);
    assert_eq!(positions(&out).len(), 12_345);
    assert!(
        stderr(&out).contains("note: showing 12345 events; more follow"),
        "{}",
        stderr(&out)
    );
    // The default limit also says so.
    let out = run(&["log", "--json"]);
    assert_eq!(positions(&out).len(), 100);
    assert!(stderr(&out).contains("showing 100 events; more follow"));
    // The newest N beyond a page, in global order.
    let out = run(&["log", "--newest", "15000", "--json"]);
    let newest = positions(&out);
    assert_eq!(newest.len(), 15_000);
    assert!(newest.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(newest.last().copied(), Some(info.head_position));
    // A type filter pages too: every event of the type, counted against the store.
    let some_type = source.event_types().unwrap()[0].clone();
    let of_type = crate::common::all_events(source.as_ref())
        .into_iter()
        .filter(|e| e.event_type == some_type)
        .count();
    let out = run(&["log", "--type", &some_type, "--limit", "all", "--json"]);
    assert_eq!(positions(&out).len(), of_type);

    // Streams: all of them, and the count the store gives.
    let out = run(&["streams", "--limit", "all", "--json"]);
    assert_eq!(json_lines(&out).len() as u64, info.stream_count);
    assert!(!stderr(&out).contains("more follow"));
    if info.stream_count > 100 {
        let out = run(&["streams", "--json"]);
        assert_eq!(json_lines(&out).len(), 100);
        assert!(stderr(&out).contains("showing 100 streams; more follow"));
    }
    // A stream forwards and backwards, all of it.
    let biggest = json_lines(&run(&["streams", "--limit", "all", "--json"]))
        .into_iter()
        .max_by_key(|s| s["event_count"].as_u64().unwrap())
        .unwrap();
    let id = biggest["stream_id"].as_str().unwrap();
    let count = biggest["event_count"].as_u64().unwrap();
    let forwards = json_lines(&run(&["events", id, "--limit", "all", "--json"]));
    assert_eq!(forwards.len() as u64, count);
    let backwards = json_lines(&run(&[
        "events",
        id,
        "--limit",
        "all",
        "--backwards",
        "--json",
    ]));
    assert_eq!(backwards.len() as u64, count);
    assert_eq!(backwards.first(), forwards.last());
    let out = run(&["events", id, "--limit", "2", "--json"]);
    assert_eq!(json_lines(&out).len(), 2.min(count as usize));
    if count > 2 {
        assert!(stderr(&out).contains("showing 2 events; more follow"));
    }
    // A bad limit is a clear error.
    let out = run(&["log", "--limit", "lots"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a number of rows or `all`"),
        "{}",
        stderr(&out)
    );
}

/// One stream longer than a page (12,345 events): `events --limit all` forwards and
/// backwards, and from a version, returns every event exactly once, in order.
#[test]
fn events_of_a_stream_longer_than_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.db");
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, aggregate_id TEXT NOT NULL, \
         version INTEGER NOT NULL, event_type TEXT NOT NULL, event_version INTEGER NOT NULL DEFAULT 1, \
         payload TEXT NOT NULL, metadata TEXT, created_at TEXT NOT NULL);",
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    for i in 0..12_345i64 {
        let stream = if i % 10 == 9 { "other-1" } else { "long-1" };
        tx.execute(
            "INSERT INTO events (event_id, aggregate_id, version, event_type, payload, created_at) \
             VALUES (?1, ?2, (SELECT count(*) + 1 FROM events WHERE aggregate_id = ?2), 'Ticked', ?3, '2024-01-01T00:00:00Z')",
            rusqlite::params![format!("e{i}"), stream, format!("{{\"i\": {i}}}")],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(conn);
    let want: u64 = 12_345 - 12_345 / 10;
    let store = path.display().to_string();
    let versions = |args: &[&str]| {
        let mut all = vec!["events", store.as_str(), "long-1", "--json"];
        all.extend_from_slice(args);
        json_lines(&eventscope(&all))
            .iter()
            .map(|e| e["stream_version"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let forwards = versions(&["--limit", "all"]);
    assert_eq!(forwards, (1..=want).collect::<Vec<_>>());
    let backwards = versions(&["--limit", "all", "--backwards"]);
    assert_eq!(backwards, (1..=want).rev().collect::<Vec<_>>());
    let from = versions(&["--limit", "10500", "--from-version", "500"]);
    assert_eq!(from, (500..11_000).collect::<Vec<_>>());
    let cut = eventscope(&["events", &store, "long-1", "--json", "--limit", "10001"]);
    assert_eq!(json_lines(&cut).len(), 10_001);
    assert!(String::from_utf8_lossy(&cut.stderr).contains("showing 10001 events; more follow"));
    let missing = eventscope(&["events", &store, "nope-1", "--json"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("stream not found: nope-1"));
}

/// `events --at TIME` starts at the version the stream had then: the last event recorded at
/// or before the time, whatever the layout's version column says.
#[test]
fn events_at_a_time() {
    let store = fixture("eventsourcing/es_sqlite.db");
    let store = store.to_str().unwrap();
    let id = "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999";
    let all = json_lines(&eventscope(&[
        "events", store, id, "--limit", "all", "--json",
    ]));
    assert!(all.len() > 40, "{}", all.len());
    // An event whose successor was recorded later, so the time names it alone.
    let pick = (20..all.len() - 1)
        .find(|&i| all[i]["recorded_at"] != all[i + 1]["recorded_at"])
        .unwrap();
    let at = all[pick]["recorded_at"].as_str().unwrap();
    let want = all[pick]["stream_version"].as_u64().unwrap();
    let versions = |args: &[&str]| {
        let mut full = vec!["events", store, id, "--at", at, "--json"];
        full.extend_from_slice(args);
        json_lines(&eventscope(&full))
            .iter()
            .map(|e| e["stream_version"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(versions(&["--limit", "1"]), vec![want]);
    assert_eq!(versions(&["--limit", "2"]), vec![want, want + 1]);
    assert_eq!(
        versions(&["--limit", "2", "--backwards"]),
        vec![want, want - 1]
    );

    let first = all[0]["recorded_at"].as_str().unwrap();
    let before = chrono::DateTime::parse_from_rfc3339(first).unwrap() - chrono::TimeDelta::days(1);
    let output = eventscope(&["events", store, id, "--at", &before.to_rfc3339()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no event recorded at or before"),
        "{stderr}"
    );
    let output = eventscope(&["events", store, "no-such-stream", "--at", at]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("stream not found"));
}
