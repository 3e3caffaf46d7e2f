//! The replay views driven with egui_kittest: time-travel slider, version and "as of" boxes,
//! field blame, the snapshot diff and the drift report.

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;
use eventscope::replay::evidence::{self, Target};
use eventscope::replay::snapshots::SnapshotStatus;
use eventscope::ui::replay::StreamTab;

use crate::kit::{AppHarness, harness, has_label, wait_until};

fn open_demo(dir: &std::path::Path) -> (std::path::PathBuf, AppHarness<'static>) {
    let path = dir.join("demo.db");
    eventscope::demo::write_demo(
        &path,
        &eventscope::demo::DemoOptions {
            events: 20_000,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    let mut h = harness(Startup::Store(path.display().to_string()));
    wait_until(&mut h, "the stream list", |h| has_label(h, "account-0002"));
    (path, h)
}

fn step_version(h: &AppHarness<'_>) -> Option<u64> {
    h.state()
        .replay
        .view
        .time_travel
        .step
        .value()
        .map(|s| s.version)
}

#[test]
fn time_travel_slider_version_as_of_and_blame() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut h) = open_demo(dir.path());
    let source = eventscope::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
    h.get_by_label("account-0002").click();
    wait_until(&mut h, "the stream", |h| has_label(h, "Time travel"));
    h.get_by_label("Time travel").click();
    wait_until(&mut h, "the fold and the last state", |h| {
        h.state().replay.view.time_travel.step.value().is_some()
            && !h.state().replay.view.time_travel.events.is_empty()
    });
    let n = h.state().replay.view.time_travel.events.len() as u64;
    assert_eq!(step_version(&h), Some(n), "starts at the latest version");
    assert!(
        has_label(&h, "Reducer: script demo/reducers.js"),
        "the demo's reducer is used"
    );

    // The version box.
    h.get_by_label("Version").focus();
    h.run_steps(1);
    for _ in 0..8 {
        h.key_press(egui::Key::Backspace);
    }
    h.get_by_label("Version").type_text("17");
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "version 17", |h| step_version(h) == Some(17));
    let mut reducer = eventscope::replay::config::ProjectConfig::demo()
        .choice_for("account")
        .unwrap()
        .build(true)
        .unwrap();
    let expected = evidence::build(
        &source,
        "demo",
        "account-0002",
        Target::Version(17),
        reducer.as_mut(),
    )
    .unwrap();
    assert_eq!(
        *h.state()
            .replay
            .view
            .time_travel
            .step
            .value()
            .unwrap()
            .state,
        expected.answer.state
    );
    assert!(has_label(&h, "Version 17"));

    // The slider: position 0 is the initial state, position k the state after event k.
    let slider = h.get_by_role(egui::accesskit::Role::Slider);
    slider.set_value_accesskit(5.0);
    wait_until(&mut h, "slider to version 5", |h| {
        step_version(h) == Some(5)
    });
    // Step keys.
    h.key_press(egui::Key::ArrowRight);
    wait_until(&mut h, "→ to version 6", |h| step_version(h) == Some(6));
    h.key_press(egui::Key::ArrowLeft);
    h.key_press(egui::Key::ArrowLeft);
    wait_until(&mut h, "←← to version 4", |h| {
        step_version(h) == Some(4)
    });

    // "As of": the last event at or before the time of event 40.
    let at = h.state().replay.view.time_travel.events[39]
        .recorded_at
        .unwrap();
    h.get_by_label("As of").focus();
    h.get_by_label("As of")
        .type_text(&eventscope::core::time::format_rfc3339(at));
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "as of event 40", |h| step_version(h) == Some(40));

    // Field blame: click the owner value → the event that set it (the opening event).
    let lastref = h.get_by_label("lastReference");
    lastref.click();
    wait_until(&mut h, "blame", |h| {
        matches!(
            h.state().replay.view.time_travel.blame.result(),
            Some(Ok(_))
        )
    });
    let blame = match h.state().replay.view.time_travel.blame.result() {
        Some(Ok(b)) => b.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(blame.pointer, "/lastReference");
    // At version 40 the last reference comes from the newest Deposited/Withdrawn at or before 40.
    let events = source
        .read_stream(
            "account-0002",
            None,
            eventscope::core::Direction::Forwards,
            40,
        )
        .unwrap();
    let last_money = events
        .iter()
        .rev()
        .find(|e| e.event_type == "Deposited" || e.event_type == "Withdrawn")
        .unwrap();
    assert_eq!(
        blame.event.as_ref().unwrap().stream_version,
        last_money.stream_version
    );
    assert!(has_label(&h, "Inspect event"));
}

#[test]
fn snapshot_diff_and_drift_report() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut h) = open_demo(dir.path());
    let source = eventscope::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
    // Find a drifted account independently (CLI core) to open it in the app.
    let config = eventscope::replay::config::ProjectConfig::demo();
    let trust = eventscope::replay::config::TrustStore::default();
    let mut cache = eventscope::replay::snapshots::ReducerCache::new(&config, &trust);
    let report =
        eventscope::replay::snapshots::drift_report(&source, &mut cache, None, |_, _| {}).unwrap();
    let drifted = report
        .streams
        .iter()
        .find(|s| s.drifted > 0)
        .unwrap()
        .clone();

    // The drift view.
    h.get_by_label("Drift").click();
    wait_until(&mut h, "the drift view", |h| {
        has_label(h, "Run drift report")
    });
    h.get_by_label("Run drift report").click();
    wait_until(&mut h, "the report", |h| {
        matches!(h.state().replay.view.drift.report, Some(Ok(_)))
    });
    let shown = match &h.state().replay.view.drift.report {
        Some(Ok(r)) => r.clone(),
        _ => unreachable!(),
    };
    assert_eq!(shown.summary, report.summary);
    assert!(shown.complete);
    // Clicking a drifted stream opens its snapshots tab.
    let row = h
        .query_all_by_label_contains(&drifted.stream_id)
        .next()
        .expect("the drifted stream is listed");
    row.click();
    wait_until(&mut h, "the snapshot checks", |h| {
        h.state().replay.view.tab == StreamTab::Snapshots
            && matches!(h.state().replay.view.snapshots.checks, Some(Ok(_)))
    });
    let (checks, selected) = {
        let s = &h.state().replay.view.snapshots;
        (s.checks.clone().unwrap().unwrap(), s.selected)
    };
    // The earliest drifted snapshot is selected and its diff is shown.
    let earliest = checks
        .iter()
        .filter(|c| c.status == SnapshotStatus::Drift)
        .map(|c| c.version)
        .min();
    assert_eq!(earliest, drifted.first_drift_version);
    assert_eq!(selected.map(|i| checks[i].version), earliest);
    assert!(has_label(
        &h,
        &format!("earliest drift at version {}", earliest.unwrap())
    ));
    let first_path = &drifted.first_paths[0];
    assert!(has_label(&h, first_path), "diff row {first_path} is shown");
    assert!(has_label(&h, "Stored") && has_label(&h, "Replayed"));
}

#[test]
fn a_command_beside_the_store_needs_approval_and_a_hanging_one_leaves_the_app_usable() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("project");
    std::fs::create_dir(&store_dir).unwrap();
    let store = store_dir.join("bank.db");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/eventsourcing/es_sqlite.db"),
        &store,
    )
    .unwrap();
    let before = crate::common::sha256(&store);
    // Answers init/state, never answers an event.
    std::fs::write(
        store_dir.join("hang.sh"),
        "while read l; do case \"$l\" in *apply*) sleep 30;; *) echo '{\"ok\":true,\"state\":{}}';; esac; done\n",
    )
    .unwrap();
    std::fs::write(
        store_dir.join("eventscope.toml"),
        "[reducers.\"*\"]\ncommand = \"sh hang.sh\"\ntimeout_secs = 1\n",
    )
    .unwrap();
    // eventscope's own directories for this test (never the user's), set before opening.
    let mut h = harness(Startup::Connect);
    h.state_mut().replay.settings_dir = Some(dir.path().join("settings"));
    h.state_mut().replay.data_dir = Some(dir.path().join("data"));
    h.state_mut().history_dir = Some(dir.path().join("data"));
    h.state_mut()
        .apply(eventscope::app::messages::AppCommand::Open(
            store.display().to_string(),
        ));
    let stream = "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999";
    wait_until(&mut h, "the stream list", |h| has_label(h, stream));
    h.get_by_label(stream).click();
    wait_until(&mut h, "the stream", |h| has_label(h, "Time travel"));
    h.get_by_label("Time travel").click();
    wait_until(&mut h, "the refusal", |h| {
        h.state()
            .replay
            .view
            .time_travel
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not been approved"))
    });
    assert!(!store_dir.join("ran").exists());

    h.get_by_label("Reducers…").click();
    wait_until(&mut h, "the approval prompt", |h| {
        has_label(h, "Allow for this store")
    });
    assert!(has_label(&h, "command `sh hang.sh`"));
    h.get_by_label("Allow for this store").click();
    // Approved: the command runs, hangs on the first event, and is stopped after 1 s; the
    // app keeps drawing frames all along (wait_until steps it).
    wait_until(&mut h, "the stopped replay", |h| {
        h.state()
            .replay
            .view
            .time_travel
            .failure
            .as_deref()
            .is_some_and(|f| f.contains("no answer within"))
    });
    assert!(std::fs::read_to_string(dir.path().join("data/trusted-commands.txt")).is_ok());
    // Still usable: close the window, switch tabs and views.
    h.state_mut().replay.view.reducers.open = false;
    h.run_steps(2);
    h.get_by_label("Snapshots").click();
    wait_until(&mut h, "the snapshots tab", |h| {
        h.state().replay.view.tab == StreamTab::Snapshots
    });
    h.get_by_label("Log").click();
    h.run_steps(2);
    assert_eq!(
        crate::common::sha256(&store),
        before,
        "the store is never written"
    );
}
