//! Upcasters against real stores: version detection per layout, the py-eventsourcing
//! fixture upcast to the shape of its native v2 events (and compared with the library's own
//! upcasting), the demo's deliberately buggy upcaster, failures per event, the preview and
//! the CLI.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use eventscope::core::{Direction, EventSource, LogQuery};
use eventscope::replay::config::{ConfigOrigin, ProjectConfig};
use eventscope::upcast::check::{CheckReport, TypeReport, check, version_histogram};
use eventscope::upcast::engine::{DEFAULT_BUDGET, FailureKind};
use eventscope::upcast::preview::{Selection, load_page, next_failure, preview_event};
use eventscope::upcast::shape::MismatchKind;
use eventscope::upcast::{UpcasterSource, Upcasters, VersionRules};
use serde_json::{Value, json};

use crate::common::{expected, fixture, open};

fn upcasters(text: &str, budget: Duration) -> Upcasters {
    Upcasters::new(
        &[UpcasterSource {
            label: "test.js".to_owned(),
            text: text.to_owned(),
        }],
        VersionRules::default(),
        budget,
    )
    .unwrap()
}

fn fixture_upcasters() -> Upcasters {
    let text = std::fs::read_to_string(fixture("eventsourcing/upcasters.js")).unwrap();
    upcasters(&text, DEFAULT_BUDGET)
}

fn report<'a>(report: &'a CheckReport, event_type: &str) -> &'a TypeReport {
    report
        .types
        .iter()
        .find(|t| t.event_type == event_type)
        .unwrap_or_else(|| panic!("no report for {event_type}"))
}

/// Counts per (type, version) read straight from the store's SQL, as an independent oracle.
fn sql_counts(path: &Path, sql: &str) -> BTreeMap<String, BTreeMap<u32, u64>> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let mut out: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (t, v, n) = row.unwrap();
        *out.entry(t).or_default().entry(v).or_default() += u64::try_from(n).unwrap();
    }
    out
}

#[test]
fn version_detection_design_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(dir.path(), 4_000, 7).0;
    let source = open(&path);
    let histogram =
        version_histogram(source.as_ref(), &VersionRules::default(), &mut |_| {}).unwrap();
    let oracle = sql_counts(
        &path,
        "SELECT event_type, event_version, count(*) FROM events GROUP BY 1, 2",
    );
    assert_eq!(histogram, oracle);
    assert_eq!(
        histogram["OrderPlaced"].keys().copied().collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(
        histogram["CustomerTierChanged"]
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[test]
fn version_detection_eventsourcing_class_version() {
    for file in [
        "eventsourcing/es_sqlite.db",
        "eventsourcing/es_sqlalchemy.db",
    ] {
        let path = fixture(file);
        let source = open(&path);
        let histogram =
            version_histogram(source.as_ref(), &VersionRules::default(), &mut |_| {}).unwrap();
        // The oracle: class_version inside each stored state (absent = 1), by topic.
        let table = if file.ends_with("es_sqlite.db") {
            "stored_events"
        } else {
            "bankapp_events"
        };
        let sql = format!(
            "SELECT substr(topic, instr(topic, ':') + 1), \
             coalesce(json_extract(CAST(state AS TEXT), '$.class_version'), 1), count(*) \
             FROM \"{table}\" GROUP BY 1, 2"
        );
        assert_eq!(histogram, sql_counts(&path, &sql), "{file}");
        assert_eq!(
            histogram["BankAccount.Deposited"],
            BTreeMap::from([(1, 50), (2, 68)]),
            "{file}"
        );
    }
}

#[test]
fn version_detection_emmett_has_no_versions() {
    let path = fixture("emmett/emmett.db");
    let source = open(&path);
    let histogram =
        version_histogram(source.as_ref(), &VersionRules::default(), &mut |_| {}).unwrap();
    let oracle = sql_counts(
        &path,
        "SELECT message_type, 1, count(*) FROM emt_messages WHERE is_archived = 0 GROUP BY 1",
    );
    assert_eq!(histogram, oracle, "events with no version count as v1");
}

#[test]
fn version_detection_type_suffix_and_paths_in_a_mapped_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE journal (seq INTEGER PRIMARY KEY, stream TEXT, rev INTEGER, kind TEXT, body TEXT, headers TEXT);
         INSERT INTO journal VALUES (1, 'o-1', 1, 'OrderPlaced.v1', '{\"total\": \"1.00\"}', '{\"v\": 5}');
         INSERT INTO journal VALUES (2, 'o-2', 1, 'OrderPlaced.v2', '{\"totalCents\": 100}', '{}');
         INSERT INTO journal VALUES (3, 'o-3', 1, 'OrderPlacedV2', '{\"totalCents\": 200}', '{}');
         INSERT INTO journal VALUES (4, 'o-4', 1, 'OrderPlaced', '{\"total\": \"3.00\"}', '{}');
         INSERT INTO journal VALUES (5, 'o-4', 2, 'OrderShipped', '{\"schema\": 3}', '{}');",
    )
    .unwrap();
    drop(conn);
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        "[events]\ntable = \"journal\"\nposition = \"seq\"\nstream_id = \"stream\"\nversion = \"rev\"\n\
         event_type = \"kind\"\npayload = \"body\"\nmetadata = \"headers\"\n",
    )
    .unwrap();
    let source = eventscope::source::open(
        path.to_str().unwrap(),
        &eventscope::source::OpenOptions {
            mapping: Some(mapping),
            application: None,
        },
    )
    .unwrap();
    let suffixes =
        version_histogram(source.as_ref(), &VersionRules::default(), &mut |_| {}).unwrap();
    assert_eq!(
        suffixes,
        BTreeMap::from([
            ("OrderPlaced".to_owned(), BTreeMap::from([(1, 2), (2, 2)])),
            ("OrderShipped".to_owned(), BTreeMap::from([(1, 1)])),
        ])
    );
    // Configured per store in the project config: a metadata path wins where present.
    let config = ProjectConfig::parse(
        "schema_version_path = \"metadata:$.v\"\n",
        ConfigOrigin::None,
        None,
    )
    .unwrap();
    let rules = eventscope::upcast::rules_from_config(&config).unwrap();
    let with_path = version_histogram(source.as_ref(), &rules, &mut |_| {}).unwrap();
    assert_eq!(
        with_path["OrderPlaced"],
        BTreeMap::from([(1, 1), (2, 2), (5, 1)])
    );
    let config = ProjectConfig::parse(
        "schema_version_path = \"payload:$.schema\"\ntype_suffix_versions = false\n",
        ConfigOrigin::None,
        None,
    )
    .unwrap();
    let rules = eventscope::upcast::rules_from_config(&config).unwrap();
    let no_suffix = version_histogram(source.as_ref(), &rules, &mut |_| {}).unwrap();
    assert_eq!(no_suffix["OrderPlaced.v2"], BTreeMap::from([(1, 1)]));
    assert_eq!(no_suffix["OrderPlacedV2"], BTreeMap::from([(1, 1)]));
    assert_eq!(no_suffix["OrderShipped"], BTreeMap::from([(3, 1)]));
    assert!(
        ProjectConfig::parse("schema_version_path = \"nope\"\n", ConfigOrigin::None, None)
            .map(|c| eventscope::upcast::rules_from_config(&c))
            .unwrap()
            .is_err()
    );
}

#[test]
fn eventsourcing_v1_deposits_upcast_to_the_native_v2_shape() {
    let source = open(&fixture("eventsourcing/es_sqlite.db"));
    let fixture_file = fixture_upcasters();
    let result = check(source.as_ref(), &fixture_file, None, &mut |_| {}).unwrap();
    let deposited = report(&result, "BankAccount.Deposited");
    assert_eq!(deposited.versions, BTreeMap::from([(1, 50), (2, 68)]));
    assert_eq!(deposited.latest_version, Some(2));
    assert_eq!((deposited.upcast_ok, deposited.upcast_failed), (50, 0));
    assert_eq!(deposited.shape_mismatches, vec![]);
    assert!(!result.has_findings());
    assert_eq!(result.scanned, 203);

    // What our upcaster makes of each v1 deposit equals what the library's own
    // `upcast_v1_v2` made of it (recorded by the fixture generator), apart from the class
    // version the library keeps on the class rather than in the attributes.
    let app = &expected("eventsourcing/es_sqlite.expected.json")["applications"]["BankApp"];
    let chosen = &app["chosen_aggregate"];
    let stream = chosen["id"]
        .as_str()
        .or(chosen["originator_id"].as_str())
        .unwrap();
    let events = source
        .read_stream(stream, None, Direction::Forwards, 1000)
        .unwrap();
    let mut compared = 0;
    for recorded in chosen["events"].as_array().unwrap() {
        if recorded["class_name"] != "Deposited" || recorded["stored_class_version"] != 1 {
            continue;
        }
        let version = recorded["version"].as_u64().unwrap();
        let event = events.iter().find(|e| e.stream_version == version).unwrap();
        let run = fixture_file.run(event, false).unwrap();
        assert_eq!(run.failure, None);
        let mut data = run.outputs[0].data.clone();
        data.as_object_mut().unwrap().remove("class_version");
        assert_eq!(
            data, recorded["upcast_event_attributes"],
            "version {version}"
        );
        compared += 1;
    }
    assert!(compared > 0, "the chosen aggregate has v1 deposits");

    // An upcaster that forgets the currency is caught by the shape check.
    let forgetful = upcasters(
        r#"upcast("BankAccount.Deposited", 1, 2, (e) => { e.data.class_version = 2; return e; });"#,
        DEFAULT_BUDGET,
    );
    let result = check(
        source.as_ref(),
        &forgetful,
        Some("BankAccount.Deposited"),
        &mut |_| {},
    )
    .unwrap();
    let deposited = report(&result, "BankAccount.Deposited");
    assert_eq!(result.types.len(), 1, "--type limits the check");
    let found: Vec<(MismatchKind, &str)> = deposited
        .shape_mismatches
        .iter()
        .map(|m| (m.kind, m.path.as_str()))
        .collect();
    assert_eq!(found, vec![(MismatchKind::Missing, "/currency")]);
    let example = deposited.shape_mismatches[0].example.clone().unwrap();
    let stored = events_at(source.as_ref(), example.position);
    assert_eq!(
        stored.schema_version,
        Some(1),
        "the example is an upcasted v1 event"
    );
}

fn events_at(source: &dyn EventSource, position: u64) -> eventscope::core::Event {
    source
        .read_log(&LogQuery {
            from_position: Some(position),
            limit: 1,
            ..LogQuery::default()
        })
        .unwrap()
        .remove(0)
}

#[test]
fn the_demo_upcasters_bug_is_caught_and_the_fix_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(dir.path(), 6_000, 7).0;
    let source = open(&path);
    let config = ProjectConfig::discover(path.to_str().unwrap(), None, None).unwrap();
    assert_eq!(config.origin, ConfigOrigin::Demo);
    let files = eventscope::upcast::files_from_config(&config).unwrap();
    assert_eq!(files.len(), 1);
    let sources: Vec<_> = files
        .iter()
        .map(eventscope::upcast::UpcasterFile::source)
        .collect();
    let demo = Upcasters::new(&sources, VersionRules::default(), DEFAULT_BUDGET).unwrap();
    let result = check(source.as_ref(), &demo, None, &mut |_| {}).unwrap();
    let versions = sql_counts(
        &path,
        "SELECT event_type, event_version, count(*) FROM events GROUP BY 1, 2",
    );

    let orders = report(&result, "OrderPlaced");
    assert_eq!(orders.versions, versions["OrderPlaced"]);
    assert_eq!(orders.upcast_ok, versions["OrderPlaced"][&1]);
    assert_eq!(orders.upcast_failed, 0);
    assert_eq!(
        orders.shape_mismatches,
        vec![],
        "OrderPlaced v1 → v2 is right"
    );

    let tiers = report(&result, "CustomerTierChanged");
    assert_eq!(tiers.latest_version, Some(3));
    assert_eq!(
        tiers.upcast_ok,
        versions["CustomerTierChanged"][&1] + versions["CustomerTierChanged"][&2]
    );
    let found: Vec<(MismatchKind, &str)> = tiers
        .shape_mismatches
        .iter()
        .map(|m| (m.kind, m.path.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (MismatchKind::Missing, "/tier/discountPct"),
            (MismatchKind::Extra, "/tier/discountPercent"),
        ]
    );
    assert!(result.has_findings());

    // The fix: the field name native v3 events use.
    let fixed_text = eventscope::upcast::DEMO_UPCASTERS.replace("discountPercent:", "discountPct:");
    let fixed = upcasters(&fixed_text, DEFAULT_BUDGET);
    let result = check(
        source.as_ref(),
        &fixed,
        Some("CustomerTierChanged"),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        report(&result, "CustomerTierChanged").shape_mismatches,
        vec![]
    );
    assert!(!result.has_findings());
}

#[test]
fn throwing_and_looping_upcasters_are_stopped_and_reported_per_event() {
    let source = open(&fixture("eventsourcing/es_sqlite.db"));
    let bad = upcasters(
        r#"upcast("BankAccount.Deposited", 1, 2, (e) => {
            if (e.data.reference === "opening deposit") { for (;;) {} }
            if (parseFloat(e.data.amount) > 300) { throw new RangeError("amount too large"); }
            e.data.currency = "EUR"; e.data.class_version = 2;
            return e;
        });"#,
        Duration::from_millis(20),
    );
    let result = check(
        source.as_ref(),
        &bad,
        Some("BankAccount.Deposited"),
        &mut |_| {},
    )
    .unwrap();
    let deposited = report(&result, "BankAccount.Deposited");
    // The oracle: the stored v1 deposits themselves.
    let v1: Vec<eventscope::core::Event> = crate::common::all_events(source.as_ref())
        .into_iter()
        .filter(|e| e.event_type == "BankAccount.Deposited" && e.schema_version == Some(1))
        .collect();
    let data = |e: &eventscope::core::Event| e.payload.as_json().cloned().unwrap_or(Value::Null);
    let looping: Vec<u64> = v1
        .iter()
        .filter(|e| data(e)["reference"] == "opening deposit")
        .map(|e| e.global_position)
        .collect();
    let throwing: Vec<u64> = v1
        .iter()
        .filter(|e| data(e)["reference"] != "opening deposit")
        .filter(|e| data(e)["amount"].as_str().unwrap().parse::<f64>().unwrap() > 300.0)
        .map(|e| e.global_position)
        .collect();
    assert!(!looping.is_empty() && !throwing.is_empty());
    let group = |kind| {
        deposited
            .failures
            .iter()
            .find(|f| f.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} failures"))
    };
    let timeouts = group(FailureKind::Timeout);
    assert_eq!(timeouts.count, looping.len() as u64);
    assert_eq!((timeouts.from, timeouts.to), (1, 2));
    assert!(
        timeouts.message.contains("stopped after 20 ms"),
        "{}",
        timeouts.message
    );
    let examples: Vec<u64> = timeouts.examples.iter().map(|e| e.position).collect();
    assert_eq!(
        examples,
        looping.iter().take(3).copied().collect::<Vec<_>>()
    );
    let exceptions = group(FailureKind::Exception);
    assert_eq!(exceptions.count, throwing.len() as u64);
    assert!(exceptions.message.contains("RangeError: amount too large"));
    assert_eq!(
        deposited.upcast_failed,
        (looping.len() + throwing.len()) as u64
    );
    assert_eq!(
        deposited.upcast_ok,
        50 - deposited.upcast_failed,
        "every other event still upcasts"
    );

    // The side-by-side preview shows the failure at its step, and "next failure" finds it.
    let selection = Selection::Type("BankAccount.Deposited".to_owned());
    let first_failure = next_failure(source.as_ref(), &bad, &selection, None, &mut |_| {})
        .unwrap()
        .unwrap();
    let mut failing = looping.clone();
    failing.extend(&throwing);
    failing.sort_unstable();
    assert_eq!(first_failure, failing[0]);
    let second = next_failure(
        source.as_ref(),
        &bad,
        &selection,
        Some(first_failure),
        &mut |_| {},
    )
    .unwrap()
    .unwrap();
    assert_eq!(second, failing[1]);
    let page = load_page(
        source.as_ref(),
        &bad,
        &selection,
        Some(first_failure),
        false,
        3,
    )
    .unwrap();
    assert_eq!(page.first, Some(first_failure));
    let row = &page.rows[0];
    assert_eq!(row.columns.len(), 2);
    assert_eq!(row.columns[1].title, "v1 -> v2");
    assert!(row.columns[1].value.is_none());
    assert!(row.failure().is_some());
}

#[test]
fn preview_shows_each_step_with_its_differences() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(dir.path(), 3_000, 7).0;
    let source = open(&path);
    let demo = upcasters(eventscope::upcast::DEMO_UPCASTERS, DEFAULT_BUDGET);
    let selection = Selection::Type("CustomerTierChanged".to_owned());
    let page = load_page(source.as_ref(), &demo, &selection, None, false, 5).unwrap();
    assert_eq!(page.rows.len(), 5);
    let row = page
        .rows
        .iter()
        .find(|r| r.stored.version == 1)
        .expect("a v1 event early in the store");
    let titles: Vec<&str> = row.columns.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, vec!["stored v1", "v1 -> v2", "v2 -> v3"]);
    let changes = |i: usize| -> Vec<(String, eventscope::replay::diff::Change)> {
        row.columns[i]
            .diff
            .iter()
            .map(|d| (d.path.clone(), d.change))
            .collect()
    };
    use eventscope::replay::diff::Change;
    assert_eq!(changes(1), vec![("/data/since".to_owned(), Change::Added)]);
    let v3 = changes(2);
    assert!(
        v3.contains(&("/data/since".to_owned(), Change::Removed)),
        "{v3:?}"
    );
    assert!(
        v3.contains(&("/data/tier".to_owned(), Change::Changed)),
        "{v3:?}"
    );
    let last = row.columns[2].value.as_ref().unwrap();
    let tier = row.event.payload.as_json().unwrap()["tier"].clone();
    assert_eq!(last["data"]["tier"]["name"], tier);
    // Paging on: the next page starts after this one, the previous one ends before it.
    let next = load_page(
        source.as_ref(),
        &demo,
        &selection,
        Some(page.last.unwrap() + 1),
        false,
        5,
    )
    .unwrap();
    assert!(next.first.unwrap() > page.last.unwrap());
    let back = load_page(
        source.as_ref(),
        &demo,
        &selection,
        Some(next.first.unwrap() - 1),
        true,
        5,
    )
    .unwrap();
    assert_eq!((back.first, back.last), (page.first, page.last));
    // A stream.
    let stream = row.event.stream_id.clone();
    let page = load_page(
        source.as_ref(),
        &demo,
        &Selection::Stream(stream.clone()),
        None,
        false,
        50,
    )
    .unwrap();
    assert!(page.rows.iter().all(|r| r.event.stream_id == stream));
    let event = &page.rows[0].event;
    assert_eq!(preview_event(&demo, event).unwrap(), page.rows[0]);
}

#[test]
fn project_config_names_upcaster_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("up")).unwrap();
    std::fs::write(dir.path().join("up/a.js"), "upcast('A', 1, 2, (e) => e);").unwrap();
    let config_path = dir.path().join("eventscope.toml");
    std::fs::write(
        &config_path,
        "upcasters = [\"up/a.js\"]\n\n[reducers.\"*\"]\ngeneric = true\n",
    )
    .unwrap();
    let config =
        ProjectConfig::load(&config_path, ConfigOrigin::Explicit(config_path.clone())).unwrap();
    let files = eventscope::upcast::files_from_config(&config).unwrap();
    assert_eq!(
        files[0].path.as_deref(),
        Some(dir.path().join("up/a.js").as_path())
    );
    std::fs::write(&config_path, "upcasters = [\"missing.js\"]\n").unwrap();
    let config =
        ProjectConfig::load(&config_path, ConfigOrigin::Explicit(config_path.clone())).unwrap();
    let error = eventscope::upcast::files_from_config(&config).unwrap_err();
    assert!(error.contains("missing.js"), "{error}");
    assert_eq!(
        ProjectConfig::demo().file.upcasters,
        vec![eventscope::upcast::DEMO_UPCASTERS_NAME.to_owned()]
    );
}

fn eventscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eventscope"))
        .args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent-eventscope-test")
        .output()
        .unwrap()
}

#[test]
fn cli_one_line_per_type_and_exit_status() {
    let store = fixture("eventsourcing/es_sqlite.db");
    let good = fixture("eventsourcing/upcasters.js");
    let out = eventscope(&[
        "upcast",
        store.to_str().unwrap(),
        "--upcasters",
        good.to_str().unwrap(),
        "--type",
        "BankAccount.Deposited",
        "--json",
    ]);
    let lines = crate::common::json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["event_type"], "BankAccount.Deposited");
    assert_eq!(lines[0]["versions"], json!({"1": 50, "2": 68}));
    assert_eq!(
        (
            lines[0]["upcast_ok"].clone(),
            lines[0]["upcast_failed"].clone()
        ),
        (json!(50), json!(0))
    );
    assert_eq!(lines[0]["shape_mismatches"], json!([]));

    // The demo store with its built-in (buggy) upcasters: exit 1, the mismatch on its line.
    let dir = tempfile::tempdir().unwrap();
    let demo = crate::common::demo_store(dir.path(), 3_000, 7).0;
    let out = eventscope(&["upcast", demo.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tiers = lines
        .iter()
        .find(|l| l["event_type"] == "CustomerTierChanged")
        .unwrap();
    let paths: Vec<&str> = tiers["shape_mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["/tier/discountPct", "/tier/discountPercent"]);
    assert!(tiers["shape_mismatches"][0]["example"]["event_id"].is_string());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 shape mismatches"), "{stderr}");

    // A table without --json; a broken file is a clear error.
    let out = eventscope(&["upcast", demo.to_str().unwrap(), "--type", "OrderPlaced"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OrderPlaced"));
    let broken = dir.path().join("broken.js");
    std::fs::write(&broken, "upcast('A', 1, 2, (e) => {").unwrap();
    let out = eventscope(&[
        "upcast",
        demo.to_str().unwrap(),
        "--upcasters",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.js"), "{stderr}");
}

/// An upcaster registered for the stored topic (`upcast("domain:BankAccount.Deposited", …)`)
/// upcasts exactly what the one registered for the shown name does, and one that names no
/// type gets the did-you-mean warning. Needs the SQLite source's stored-type support
/// (fidelity-sqlite).
#[test]
fn eventsourcing_upcaster_by_stored_topic_equals_by_shown_name() {
    let source = open(&fixture("eventsourcing/es_sqlite.db"));
    let text = std::fs::read_to_string(fixture("eventsourcing/upcasters.js")).unwrap();
    let by_topic = upcasters(
        &text.replace(
            "upcast(\"BankAccount.Deposited\"",
            "upcast(\"domain:BankAccount.Deposited\"",
        ),
        DEFAULT_BUDGET,
    );
    assert_eq!(by_topic.types(), ["domain:BankAccount.Deposited"]);
    let names = source.event_type_names().unwrap();
    assert!(by_topic.type_warnings(&names).is_empty());
    assert!(fixture_upcasters().type_warnings(&names).is_empty());
    let a = check(source.as_ref(), &fixture_upcasters(), None, &mut |_| {}).unwrap();
    let b = check(source.as_ref(), &by_topic, None, &mut |_| {}).unwrap();
    assert_eq!(a, b);
    let deposited = report(&b, "BankAccount.Deposited");
    assert_eq!((deposited.upcast_ok, deposited.upcast_failed), (50, 0));
    assert_eq!(deposited.latest_version, Some(2));
    // `--type` by the topic picks the same events.
    let only = check(
        source.as_ref(),
        &by_topic,
        Some("domain:BankAccount.Deposited"),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(only.types, vec![deposited.clone()]);

    let typo = upcasters(
        r#"upcast("domain:BankAccount.Deposit", 1, 2, (e) => e);"#,
        DEFAULT_BUDGET,
    );
    let warnings = typo.type_warnings(&names);
    assert_eq!(
        warnings,
        [
            "test.js: none of its 1 upcaster name matches an event type in this store, so no event is upcasted",
            "test.js: no event type `domain:BankAccount.Deposit`; did you mean `domain:BankAccount.Deposited` (shown as `BankAccount.Deposited`)?",
        ]
    );
}
