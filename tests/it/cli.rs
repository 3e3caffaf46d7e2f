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
