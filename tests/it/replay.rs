//! Replay: reducers on the real-library fixtures, the demo's drifted snapshots, time travel,
//! blame, evidence bundles, and reducers that loop, throw, crash, hang or print garbage.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use eventscope::core::EventSource;
use eventscope::core::query::Direction;
use eventscope::replay::command::{CommandReducer, CommandSpec};
use eventscope::replay::config::{ProjectConfig, TrustStore};
use eventscope::replay::evidence::{self, Target};
use eventscope::replay::script::{ScriptOptions, ScriptReducer};
use eventscope::replay::snapshots::{ReducerCache, SnapshotStatus, drift_report};
use eventscope::replay::timeline::Timeline;
use eventscope::replay::{ReduceError, Reducer, fold};
use serde_json::{Value, json};

use crate::common::{fixture, open};

fn fixture_config() -> ProjectConfig {
    let path = fixture("eventsourcing/replay/eventscope.toml");
    ProjectConfig::discover("unused", Some(&path), None).unwrap()
}

/// Python with the `eventsourcing` library: `EVENTSCOPE_TEST_PYTHON`, else the venv that
/// `scripts/setup.sh test` creates in target/pyvenv.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("EVENTSCOPE_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyvenv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/setup.sh test (it creates the venv with the eventsourcing library)",
        venv.display()
    );
    venv
}

fn library_command() -> CommandSpec {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    CommandSpec {
        argv: vec![
            python().display().to_string(),
            root.join("assets/examples/eventsourcing_replay.py")
                .display()
                .to_string(),
            "--path".to_owned(),
            root.join("tests/fixtures/eventsourcing")
                .display()
                .to_string(),
            "--module".to_owned(),
            "domain".to_owned(),
        ],
        cwd: None,
        timeout: Duration::from_secs(30),
        schema_version: None,
    }
}

/// Every snapshot either matches the replay exactly, or is an old-schema BankAccount
/// snapshot that differs exactly by what the library's `upcast_v1_v2` adds.
fn assert_replay_matches_library_snapshots(store: &Path, cache: &mut ReducerCache<'_>) {
    let source = open(store);
    let mut rows = Vec::new();
    let report = drift_report(&source, cache, None, |_, checks| {
        rows.extend_from_slice(checks)
    })
    .unwrap();
    assert!(report.complete);
    assert_eq!(report.summary.checked as usize, rows.len());
    assert!(rows.len() >= 15, "fixture has snapshots: {}", rows.len());
    let mut matched = 0;
    for row in &rows {
        match row.status {
            SnapshotStatus::Match => matched += 1,
            SnapshotStatus::SchemaMismatch => {
                assert_eq!(row.schema_version, Some(1), "{row:?}");
                let paths: Vec<&str> = row.diffs.iter().map(|d| d.path.as_str()).collect();
                let mut sorted = paths.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, ["/class_version", "/overdraft_limit"], "{row:?}");
                let overdraft = row
                    .diffs
                    .iter()
                    .find(|d| d.path == "/overdraft_limit")
                    .unwrap();
                assert_eq!(overdraft.left, None);
                assert_eq!(overdraft.right, Some(json!("0.00")));
            }
            _ => panic!("unexpected {row:?}"),
        }
    }
    assert!(matched >= 8, "{matched} of {}", rows.len());
    assert_eq!(report.summary.drifted, 0);
    assert_eq!(report.summary.errors, 0);
}

#[test]
fn script_reducer_replays_eventsourcing_aggregates_to_the_librarys_snapshots() {
    let config = fixture_config();
    let trust = TrustStore::default();
    for store in [
        "eventsourcing/es_sqlite.db",
        "eventsourcing/es_sqlalchemy.db#BankApp",
    ] {
        let (path, app) = store
            .split_once('#')
            .map_or((store, None), |(p, a)| (p, Some(a)));
        let location = match app {
            Some(app) => format!("{}#{app}", fixture(path).display()),
            None => fixture(path).display().to_string(),
        };
        let mut cache = ReducerCache::new(&config, &trust);
        assert_replay_matches_library_snapshots(Path::new(&location), &mut cache);
    }
}

#[test]
fn command_reducer_replays_with_the_librarys_own_classes() {
    // A project config naming the example wrapper per category, as a user would write it.
    let command = library_command()
        .argv
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let toml = format!(
        "[reducers.BankAccount]\ncommand = \"{c}\"\nschema_version = 2\n\n\
         [reducers.Order]\ncommand = \"{c}\"\nschema_version = 1\n",
        c = command.replace('\\', "\\\\").replace('"', "\\\"")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eventscope.toml");
    std::fs::write(&path, toml).unwrap();
    let config = ProjectConfig::discover("unused", Some(&path), None).unwrap();
    let trust = TrustStore::default();
    let mut cache = ReducerCache::new(&config, &trust);
    assert_replay_matches_library_snapshots(&fixture("eventsourcing/es_sqlite.db"), &mut cache);
}

#[test]
fn script_and_command_agree_at_every_version() {
    let source = open(&fixture("eventsourcing/es_sqlite.db"));
    let stream = "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999"; // the big account, v1 and v2 events
    let config = fixture_config();
    let script = config
        .choice_for("BankAccount")
        .unwrap()
        .build(true)
        .unwrap();
    let mut script_tl = Timeline::build(source.clone(), stream, script, &mut |_| {}).unwrap();
    let command = Box::new(CommandReducer::new(library_command()));
    let mut command_tl = Timeline::build(source, stream, command, &mut |_| {}).unwrap();
    assert_eq!(script_tl.events().len(), 75);
    assert!(script_tl.failure().is_none() && command_tl.failure().is_none());
    for index in [0usize, 1, 9, 10, 33, 74] {
        let a = script_tl.step(Some(index)).unwrap();
        let b = command_tl.step(Some(index)).unwrap();
        assert_eq!(a.state, b.state, "state after event index {index}");
        assert_eq!(a.version, index as u64 + 1);
    }
}

#[test]
fn demo_reducers_find_exactly_the_demos_drifted_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(
        dir.path(),
        20_000,
        eventscope::demo::DemoOptions::default().seed,
    )
    .0;
    assert!(eventscope::replay::config::is_demo_store(&path));
    let config = ProjectConfig::discover(path.to_str().unwrap(), None, None).unwrap();
    assert_eq!(
        config.origin,
        eventscope::replay::config::ConfigOrigin::Demo
    );
    let source = open(&path);
    let trust = TrustStore::default();
    let mut cache = ReducerCache::new(&config, &trust);
    let mut rows = Vec::new();
    let report = drift_report(&source, &mut cache, None, |_, checks| {
        rows.extend_from_slice(checks)
    })
    .unwrap();

    // Independent answer: fold each stream with the demo writer's own Rust reducer.
    let mut expected_drift = Vec::new();
    for row in &rows {
        let mut state = Value::Null;
        let events = source
            .read_stream(&row.stream_id, None, Direction::Forwards, row.version)
            .unwrap();
        for e in &events {
            state =
                eventscope::demo::demo_reduce(state, &e.event_type, e.payload.as_json().unwrap());
        }
        let stored = source
            .snapshots(&row.stream_id)
            .unwrap()
            .into_iter()
            .find(|s| s.version == row.version)
            .unwrap();
        if stored.state.as_json() != Some(&state) {
            expected_drift.push((row.stream_id.clone(), row.version));
        }
    }
    let found: Vec<(String, u64)> = rows
        .iter()
        .filter(|r| r.status == SnapshotStatus::Drift)
        .map(|r| (r.stream_id.clone(), r.version))
        .collect();
    assert!(!found.is_empty(), "the demo store has drifted snapshots");
    assert_eq!(found, expected_drift);
    assert_eq!(report.summary.drifted as usize, found.len());
    assert_eq!(report.summary.errors, 0);
    assert_eq!(
        report.summary.matching + report.summary.drifted,
        report.summary.checked
    );
    // Each drifted stream is listed with its earliest drifted version and first paths.
    for stream in &report.streams {
        let first = found
            .iter()
            .filter(|(s, _)| *s == stream.stream_id)
            .map(|(_, v)| *v)
            .min();
        assert_eq!(stream.first_drift_version, first);
        assert!(!stream.first_paths.is_empty());
    }
}

#[test]
fn time_travel_matches_a_full_replay_and_blame_finds_the_last_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(
        dir.path(),
        20_000,
        eventscope::demo::DemoOptions::default().seed,
    )
    .0;
    let source = open(&path);
    let config = ProjectConfig::demo();
    let stream = "account-0001"; // the hot account: the longest stream
    let reducer = config.choice_for("account").unwrap().build(true).unwrap();
    let mut timeline =
        Timeline::build_with(source.clone(), stream, reducer, 64, usize::MAX, &mut |_| {}).unwrap();
    let n = timeline.events().len();
    assert!(n > 500, "{n}");
    assert!(timeline.kept_states() > n / 64);

    let mut full = config.choice_for("account").unwrap().build(true).unwrap();
    for version in [1u64, 2, 63, 64, 65, 200, n as u64 - 1, n as u64] {
        let step = timeline.step_at_version(version).unwrap();
        let bundle = evidence::build(
            &source,
            "demo",
            stream,
            Target::Version(version),
            full.as_mut(),
        )
        .unwrap();
        assert_eq!(*step.state, bundle.answer.state, "version {version}");
        assert_eq!(step.version, version);
        let event = step.event.as_ref().unwrap();
        assert_eq!(event.stream_version, version);
        // The step's changes are exactly the diff of previous → state.
        let changed: Vec<&str> = step.changes.iter().map(|c| c.path.as_str()).collect();
        if event.event_type == "Deposited" || event.event_type == "Withdrawn" {
            assert!(changed.contains(&"/balanceCents"), "{changed:?}");
        }
    }
    // "As of" a time: the last event at or before it.
    let some = &timeline.events()[300];
    let at = some.recorded_at.unwrap();
    let index = timeline.index_as_of(at).unwrap();
    assert!(timeline.events()[index].recorded_at.unwrap() <= at);
    assert!(index + 1 == n || timeline.events()[index + 1].recorded_at.unwrap() > at);

    // Blame: brute force the last event that changed /lastReference and /status at index 400.
    for pointer in ["/lastReference", "/status", "/owner"] {
        let blame = timeline.blame(pointer, Some(400)).unwrap();
        let mut reducer = config.choice_for("account").unwrap().build(true).unwrap();
        reducer.reset(None).unwrap();
        let events = source
            .read_stream(stream, None, Direction::Forwards, 401)
            .unwrap();
        let mut last = None;
        let mut before = reducer.value_at(pointer).unwrap();
        for e in &events {
            reducer.apply(e).unwrap();
            let now = reducer.value_at(pointer).unwrap();
            if now != before {
                last = Some(e.stream_version);
            }
            before = now;
        }
        assert_eq!(
            blame.event.as_ref().map(|e| e.stream_version),
            last,
            "{pointer}"
        );
        assert_eq!(blame.value, before, "{pointer}");
    }
}

fn single_stream_store(dir: &Path, payloads: &[(&str, String)]) -> PathBuf {
    // A store in the design layout (the one the demo uses), written here with rusqlite.
    let path = dir.join("odd.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, aggregate_id TEXT NOT NULL, \
         version INTEGER NOT NULL, event_type TEXT NOT NULL, event_version INTEGER NOT NULL DEFAULT 1, \
         payload TEXT NOT NULL, metadata TEXT, created_at TEXT NOT NULL);",
    )
    .unwrap();
    for (i, (event_type, payload)) in payloads.iter().enumerate() {
        conn.execute(
            "INSERT INTO events (event_id, aggregate_id, version, event_type, payload, created_at) \
             VALUES (?1, 'thing-1', ?2, ?3, ?4, ?5)",
            rusqlite::params![
                format!("e{i}"),
                i as i64 + 1,
                event_type,
                payload,
                format!("2024-01-01T00:00:{:02}Z", i % 60)
            ],
        )
        .unwrap();
    }
    path
}

fn script(source: &str, budget_ms: u64) -> Box<dyn Reducer> {
    let mut options = ScriptOptions::default();
    options.limits.call_budget = Duration::from_millis(budget_ms);
    Box::new(ScriptReducer::new("test.js", source, &options).unwrap())
}

fn source_of(path: &Path) -> Arc<dyn EventSource> {
    open(path)
}

#[test]
fn runaway_script_is_stopped_and_named_by_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = single_stream_store(
        dir.path(),
        &[
            ("Created", "{}".into()),
            ("Spin", "{}".into()),
            ("After", "{}".into()),
        ],
    );
    let source = source_of(&path);
    let reducer = script(
        "when({ $init: () => ({n: 0}), Created(s) { s.n++; }, Spin(s) { while (true) {} }, $any(s) { s.n++; } });",
        200,
    );
    let timeline = Timeline::build(source, "thing-1", reducer, &mut |_| {}).unwrap();
    // The fold stopped at the looping event; what came before is still there.
    assert_eq!(timeline.events().len(), 1);
    match timeline.failure().unwrap() {
        ReduceError::AtEvent {
            version,
            message,
            event,
            ..
        } => {
            assert_eq!(*version, 2);
            assert!(message.contains("200 ms"), "{message}");
            assert!(event.contains("Spin"), "{event}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn script_exception_is_reported_with_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = single_stream_store(
        dir.path(),
        &[("Created", "{}".into()), ("Bad", r#"{"x":1}"#.into())],
    );
    let source = source_of(&path);
    let mut reducer = script(
        "fromAll().when({ $init() { return {}; }, Bad(s, e) { throw new RangeError('x is ' + e.data.x); } });",
        1000,
    );
    let events = source
        .read_stream("thing-1", None, Direction::Forwards, 10)
        .unwrap();
    let err = fold(reducer.as_mut(), &events).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("RangeError: x is 1"), "{text}");
    assert!(text.contains("thing-1@2 (Bad)"), "{text}");
    // Handlers see every documented field and alias.
    let mut reducer = script(
        "when({ $any(s, e) { s[e.version] = [e.type === e.eventType, e.data === e.body, \
         e.version === e.sequenceNumber, e.streamId, e.position, typeof e.recordedAt, e.eventId]; return s; } });",
        1000,
    );
    let state = fold(reducer.as_mut(), &events).unwrap();
    assert_eq!(
        state["2"],
        json!([true, true, true, "thing-1", 2, "string", "e1"])
    );
}

#[test]
fn a_script_that_never_calls_when_or_does_not_compile_is_refused() {
    let options = ScriptOptions::default();
    let err = ScriptReducer::new("r.js", "const x = 1;", &options).unwrap_err();
    assert!(err.to_string().contains("when("), "{err}");
    let err = ScriptReducer::new("r.js", "when({ $init() { return {", &options).unwrap_err();
    assert!(err.to_string().contains("SyntaxError"), "{err}");
}

fn sh(script: &str) -> CommandReducer {
    CommandReducer::new(CommandSpec {
        argv: vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()],
        cwd: None,
        timeout: Duration::from_millis(1500),
        schema_version: None,
    })
}

#[test]
fn command_that_crashes_hangs_or_prints_garbage_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = single_stream_store(dir.path(), &[("Created", "{}".into())]);
    let source = source_of(&path);
    let events = source
        .read_stream("thing-1", None, Direction::Forwards, 10)
        .unwrap();

    // Crashes at the first event, after writing to stderr.
    let mut crash =
        sh(r#"read line; echo '{"ok":true}'; read line; echo 'Traceback: boom' >&2; exit 3"#);
    let err = fold(&mut crash, &events).unwrap_err().to_string();
    assert!(err.contains("exited"), "{err}");
    assert!(err.contains("boom"), "{err}");
    assert!(err.contains("thing-1@1"), "{err}");

    // Hangs: stopped after the time-out.
    let mut hang = sh(r#"read line; echo '{"ok":true}'; sleep 30"#);
    let started = std::time::Instant::now();
    let err = fold(&mut hang, &events).unwrap_err().to_string();
    assert!(err.contains("no answer within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // The app stays usable: the next fold starts a fresh process.
    hang.reset(None).unwrap();

    // Garbage.
    let mut garbage = sh(r#"read line; echo 'hello there'"#);
    let err = fold(&mut garbage, &events).unwrap_err().to_string();
    assert!(err.contains("not a JSON answer"), "{err}");
    assert!(err.contains("hello there"), "{err}");

    // A command that does not exist.
    let mut missing = CommandReducer::new(CommandSpec {
        argv: vec!["/nonexistent/replayer".to_owned()],
        cwd: None,
        timeout: Duration::from_secs(1),
        schema_version: None,
    });
    let err = fold(&mut missing, &events).unwrap_err().to_string();
    assert!(err.contains("cannot start"), "{err}");

    // A well-behaved shell command.
    let mut flaky = sh(
        r#"while read line; do case "$line" in *'"state"'*) echo '{"ok":true,"state":{"n":1}}';; *) echo '{"ok":true}';; esac; done"#,
    );
    assert_eq!(fold(&mut flaky, &events).unwrap(), json!({"n": 1}));
}

#[test]
fn deeply_nested_and_huge_events_and_states_do_not_break_anything() {
    let dir = tempfile::tempdir().unwrap();
    let deep_payload = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let huge_payload = serde_json::to_string(&json!({
        "items": (0..50_000).map(|i| json!({"i": i, "name": format!("item {i}")})).collect::<Vec<_>>()
    }))
    .unwrap();
    let path = single_stream_store(
        dir.path(),
        &[
            ("Created", r#"{"name":"x"}"#.into()),
            ("Deep", deep_payload),
            ("Huge", huge_payload),
            ("Nest", "{}".into()),
        ],
    );
    let source = source_of(&path);
    // The generic reducer: the 10,000-level payload is not JSON it can merge (shown as bytes),
    // the huge one merges.
    let generic = Box::new(eventscope::replay::generic::GenericReducer::new());
    let mut timeline = Timeline::build(source.clone(), "thing-1", generic, &mut |_| {}).unwrap();
    assert_eq!(timeline.events().len(), 4);
    let step = timeline.step_at_version(3).unwrap();
    assert_eq!(step.state["items"].as_array().unwrap().len(), 50_000);
    assert_eq!(step.state["name"], json!("x"));
    assert!(step.changes.len() <= eventscope::replay::timeline::MAX_STEP_CHANGES);

    // A script that builds a 10,000-level state: a clear error, not a crash.
    let reducer = script(
        "when({ $init: () => ({}), Nest(s) { let v = {}; for (let i = 0; i < 10000; i++) v = {c: v}; return v; } });",
        2000,
    );
    let result = Timeline::build(source, "thing-1", reducer, &mut |_| {});
    let err = match result {
        Ok(mut t) => t.step_at_version(4).map(|_| ()).unwrap_err(),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(
        text.contains("128 levels") || text.to_lowercase().contains("stack"),
        "{text}"
    );
}

#[test]
fn evidence_bundle_verifies_and_detects_tampering() {
    let source = open(&fixture("eventsourcing/es_sqlite.db"));
    let stream = "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999";
    let config = fixture_config();
    let mut reducer = config
        .choice_for("BankAccount")
        .unwrap()
        .build(true)
        .unwrap();
    let bundle = evidence::build(
        &source,
        "es_sqlite.db",
        stream,
        Target::Version(30),
        reducer.as_mut(),
    )
    .unwrap();
    assert_eq!(bundle.answer.version, 30);
    assert_eq!(bundle.events.len(), 30);
    assert_eq!(bundle.events[0].version, 1);
    assert!(bundle.events.iter().all(|e| e.sha256.len() == 64));
    assert_eq!(
        bundle.reducer.sha256,
        eventscope::replay::sha256_hex(bundle.reducer.source.as_bytes())
    );
    // The same question answered again gives the same hashes (deterministic canonical form).
    let again = evidence::build(
        &source,
        "es_sqlite.db",
        stream,
        Target::Version(30),
        reducer.as_mut(),
    )
    .unwrap();
    assert_eq!(again.events_sha256, bundle.events_sha256);
    assert_eq!(again.answer.state_sha256, bundle.answer.state_sha256);

    let ok = evidence::verify(&bundle, &source, Some(reducer.as_mut())).unwrap();
    assert!(ok.problems.is_empty(), "{:?}", ok.problems);
    assert!(ok.state_recomputed);
    assert_eq!(ok.events_checked, 30);

    let mut tampered = bundle.clone();
    tampered.answer.state["balance"] = json!("1000000.00");
    let bad = evidence::verify(&tampered, &source, None).unwrap();
    assert!(
        bad.problems.iter().any(|p| p.contains("state_sha256")),
        "{:?}",
        bad.problems
    );
    let mut tampered = bundle.clone();
    tampered.events[5].sha256 = "0".repeat(64);
    let bad = evidence::verify(&tampered, &source, None).unwrap();
    assert!(
        bad.problems.iter().any(|p| p.contains("version 6")),
        "{:?}",
        bad.problems
    );

    // As of a time: the last event at or before it.
    let events = source
        .read_stream(stream, None, Direction::Forwards, 100)
        .unwrap();
    let at = events[11].recorded_at.unwrap();
    let bundle = evidence::build(&source, "x", stream, Target::AsOf(at), reducer.as_mut()).unwrap();
    assert_eq!(bundle.answer.version, 12);
}

#[test]
fn cli_state_check_snapshots_and_verify_evidence() {
    let store = fixture("eventsourcing/es_sqlite.db");
    let store = store.to_str().unwrap();
    let config = fixture("eventsourcing/replay/eventscope.toml");
    let config = config.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let evidence_path = dir.path().join("evidence.json");
    // Stream ids in any form.
    let out = crate::common::eventscope(&[
        "state",
        store,
        "8cb2a7efb0e44fa1be951c42ea79c999",
        "--version",
        "40",
        "--config",
        config,
        "--json",
        "--evidence",
        evidence_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["stream_id"], "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999");
    assert_eq!(answer["version"], 40);
    let stored = open(Path::new(store))
        .snapshots("8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999")
        .unwrap()
        .into_iter()
        .find(|s| s.version == 40)
        .unwrap();
    assert_eq!(Some(&answer["state"]), stored.state.as_json());

    let out = crate::common::eventscope(&["verify-evidence", evidence_path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // check-snapshots: one line per snapshot, exit 0 without drift …
    let out = crate::common::eventscope(&["check-snapshots", store, "--config", config, "--json"]);
    let lines = crate::common::json_lines(&out);
    assert_eq!(lines.len(), 19);
    assert!(
        lines
            .iter()
            .all(|l| ["match", "schema_mismatch"].contains(&l["status"].as_str().unwrap()))
    );
    // … and exit 1 with drift (the demo store).
    let demo = crate::common::demo_store(
        dir.path(),
        20_000,
        eventscope::demo::DemoOptions::default().seed,
    )
    .0;
    let out = crate::common::eventscope(&["check-snapshots", demo.to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let drifted = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.contains(r#""status":"drift""#))
        .count();
    assert!(drifted > 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{drifted} drifted")));

    // A command named in a config beside the store is refused until approved.
    let beside = dir.path().join("beside");
    std::fs::create_dir(&beside).unwrap();
    let copy = beside.join("store.db");
    std::fs::copy(store, &copy).unwrap();
    std::fs::write(
        beside.join("eventscope.toml"),
        "[reducers.\"*\"]\ncommand = \"sh -c 'touch ran'\"\n",
    )
    .unwrap();
    let out = crate::common::eventscope(&[
        "state",
        copy.to_str().unwrap(),
        "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not been approved"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !beside.join("ran").exists(),
        "the command must not have run"
    );
}

/// The fixture's reducer with every handler named by the stored topic
/// (`"domain:BankAccount.Deposited"(s, e)`) replays to the same states as by the shown
/// names; a reducer naming no type gets the did-you-mean warning. Needs the SQLite source's
/// stored-type support (fidelity-sqlite).
#[test]
fn reducer_handlers_by_stored_topic_equal_handlers_by_shown_name() {
    let source = open(&fixture("eventsourcing/es_sqlite.db"));
    let stream = "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999";
    let text = std::fs::read_to_string(fixture("eventsourcing/replay/bank.js")).unwrap();
    let by_topic = text
        .replace("\"BankAccount.", "\"domain:BankAccount.")
        .replace("\"Order.", "\"domain:Order.");
    assert_ne!(by_topic, text);
    let load = |source_text: &str| -> Box<dyn Reducer> {
        Box::new(ScriptReducer::new("bank.js", source_text, &ScriptOptions::default()).unwrap())
    };
    let mut shown_reducer = load(&text);
    let mut topic_reducer = load(&by_topic);
    assert!(
        eventscope::replay::handler_warnings(shown_reducer.as_mut(), source.as_ref())
            .unwrap()
            .is_empty()
    );
    assert!(
        eventscope::replay::handler_warnings(topic_reducer.as_mut(), source.as_ref())
            .unwrap()
            .is_empty()
    );
    let mut a = Timeline::build(source.clone(), stream, shown_reducer, &mut |_| {}).unwrap();
    let mut b = Timeline::build(source.clone(), stream, topic_reducer, &mut |_| {}).unwrap();
    assert_eq!(a.events().len(), 75);
    for index in [0usize, 1, 9, 33, 74] {
        let left = a.step(Some(index)).unwrap().state;
        let right = b.step(Some(index)).unwrap().state;
        assert_eq!(left, right, "state after event index {index}");
    }
    assert_ne!(*a.step(Some(74)).unwrap().state, json!({}));

    let mut typo = load(
        r#"fromAll().when({ $init() { return {}; }, "domain:BankAccount.Openned"(s, e) { s.open = true; } });"#,
    );
    let warnings = eventscope::replay::handler_warnings(typo.as_mut(), source.as_ref()).unwrap();
    assert_eq!(
        warnings,
        [
            "bank.js: none of its 1 handler name matches an event type in this store, so no handler ever runs",
            "bank.js: no event type `domain:BankAccount.Openned`; did you mean `domain:BankAccount.Opened` (shown as `BankAccount.Opened`)?",
        ]
    );
}

/// `eventscope state` with a reducer whose handlers name no type of the store warns on
/// stderr with the closest types (the state is still printed: it is the reducer's answer),
/// and a reducer that names real types does not.
#[test]
fn cli_warns_about_a_reducer_that_names_no_stored_type() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = crate::common::demo_store(dir.path(), 300, 3);
    let source = open(&store);
    let account = source
        .list_streams(&eventscope::core::StreamQuery {
            category: Some("account".to_owned()),
            limit: 1,
            ..Default::default()
        })
        .unwrap()
        .remove(0)
        .stream_id;
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let typo = write(
        "typo.js",
        r#"fromAll().when({ $init() { return { n: 0 }; }, AccountOpend(s, e) { s.n += 1; } });"#,
    );
    let right = write(
        "right.js",
        r#"fromAll().when({ $init() { return { n: 0 }; }, AccountOpened(s, e) { s.n += 1; } });"#,
    );
    let store = store.display().to_string();
    let out = crate::common::eventscope(&["state", &store, &account, "--reducer", &typo, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: {typo}: none of its 1 handler name matches an event type in this store, so no handler ever runs"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "warning: {typo}: no event type `AccountOpend`; did you mean `AccountOpened`?"
        )),
        "{stderr}"
    );
    let out =
        crate::common::eventscope(&["state", &store, &account, "--reducer", &right, "--json"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
    let state = crate::common::json_lines(&out);
    assert_eq!(state[0]["state"]["n"], 1);
}
