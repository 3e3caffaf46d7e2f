//! The CQRS/ES guide's own stores in the window (egui_kittest, no display): both open with no
//! mapping, time travel folds the guide's `BankAccount.apply` to the balances the guide's
//! classes computed, a handler named by a typo is warned about on the page, the snapshot
//! check matches the snapshots the guide's store wrote, and a transfer's correlation id
//! traces across both accounts.

use std::path::{Path, PathBuf};

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;
use eventscope::app::messages::AppCommand;
use eventscope::replay::snapshots::SnapshotStatus;
use eventscope::ui::trace::IndexView;

use crate::common::{expected, fixture};
use crate::kit::{AppHarness, harness, has_label, wait_until};

/// The guide's `BankAccount.apply` as a reducer, plus one handler whose name is a typo of
/// `MoneyDeposited` (it never runs; the page must say so).
const REDUCER: &str = r#"fromAll().when({
  $init() { return { balance: 0, is_open: false, version: 0 }; },
  AccountOpened(s, e) { s.is_open = true; s.version = e.version; },
  MoneyDeposited(s, e) { s.balance += e.data.amount; s.version = e.version; },
  MoneyWithdrawn(s, e) { s.balance -= e.data.amount; s.version = e.version; },
  AccountClosed(s, e) { s.is_open = false; s.version = e.version; },
  MoneyDepositd(s, e) { s.balance = -1; },
});"#;

/// The optimistic-concurrency store's aggregate, whose snapshots hold `{balance, version}`.
const OCC_REDUCER: &str = r#"fromAll().when({
  $init() { return { balance: 0, version: 0 }; },
  AccountOpened(s, e) { s.version = e.version; },
  MoneyDeposited(s, e) { s.balance += e.data.amount; s.version = e.version; },
  MoneyWithdrawn(s, e) { s.balance -= e.data.amount; s.version = e.version; },
});"#;

fn has_label_containing(h: &AppHarness<'_>, part: &str) -> bool {
    h.query_all_by_label_contains(part).next().is_some()
}

/// A copy of a guide fixture with an `eventscope.toml` beside it naming the reducer; the
/// app with its correlation index in `cache`.
fn open_copy(
    dir: &Path,
    cache: &Path,
    name: &str,
    reducer: &str,
) -> (AppHarness<'static>, PathBuf) {
    let path = dir.join(name);
    std::fs::copy(fixture(&format!("guide/{name}")), &path).unwrap();
    std::fs::write(dir.join("guide.js"), reducer).unwrap();
    std::fs::write(
        dir.join("eventscope.toml"),
        "[reducers.\"*\"]\nscript = \"guide.js\"\n",
    )
    .unwrap();
    let mut h = harness(Startup::Connect);
    h.state_mut().trace.index_dir = Some(cache.to_owned());
    h.state_mut()
        .apply(AppCommand::Open(path.display().to_string()));
    (h, path)
}

fn time_travel(h: &mut AppHarness<'_>, stream: &str) {
    wait_until(h, "the stream list", |h| has_label(h, stream));
    h.get_by_label(stream).click();
    wait_until(h, "the stream", |h| has_label(h, "Time travel"));
    h.get_by_label("Time travel").click();
    wait_until(h, "the fold and the last state", |h| {
        let tt = &h.state().replay.view.time_travel;
        tt.step.value().is_some() && !tt.events.is_empty()
    });
}

#[test]
fn first_guide_store_time_travel_warning_and_trace() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (mut h, _) = open_copy(dir.path(), cache.path(), "guide_first.db", REDUCER);
    let want = &expected("guide/expected.json")["guide_first"];

    time_travel(&mut h, "account-2");
    // The header says what was detected, versions included.
    assert!(has_label_containing(&h, "no version column"));
    let step = h
        .state()
        .replay
        .view
        .time_travel
        .step
        .value()
        .unwrap()
        .clone();
    let events = want["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["aggregate_id"] == "account-2")
        .count() as u64;
    assert_eq!(
        step.version, events,
        "ordinal versions: the last is the count"
    );
    assert_eq!(
        step.state["balance"],
        want["balances"]["account-2"]["balance"]
    );
    assert_eq!(
        step.state["is_open"],
        want["balances"]["account-2"]["is_open"]
    );
    let warnings = h.state().replay.view.time_travel.warnings.clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("no event type `MoneyDepositd`; did you mean `MoneyDeposited`?"),
        "{warnings:?}"
    );
    assert!(has_label_containing(
        &h,
        "no event type `MoneyDepositd`; did you mean `MoneyDeposited`?"
    ));

    // A transfer: withdrawn from account-3 and deposited to account-2 under one
    // correlation id (camelCase in the guide's metadata).
    let transfer = want["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "MoneyWithdrawn")
        .unwrap();
    let correlation = transfer["correlationId"].as_str().unwrap().to_owned();
    let sharing: Vec<&str> = want["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["correlationId"] == correlation.as_str())
        .map(|e| e["aggregate_id"].as_str().unwrap())
        .collect();
    assert!(sharing.len() >= 2);
    h.get_by_label("Trace").click();
    wait_until(&mut h, "the index", |h| {
        matches!(h.state().trace.view.index, IndexView::Ready { .. })
    });
    h.get_by_label("Id").focus();
    h.get_by_label("Id").type_text(&correlation);
    h.get_by_label("Show trace").click();
    wait_until(&mut h, "the trace", |h| {
        h.state().trace.view.trace.is_some()
    });
    let trace = h.state().trace.view.trace.clone().unwrap();
    assert_eq!(trace.nodes.len(), sharing.len());
    for stream in sharing {
        assert!(has_label(&h, stream), "{stream} in the trace");
    }
}

#[test]
fn occ_guide_store_snapshot_check_matches_the_written_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (mut h, _) = open_copy(dir.path(), cache.path(), "guide_occ.db", OCC_REDUCER);
    let want = &expected("guide/expected.json")["guide_occ"];
    time_travel(&mut h, "acc-a");
    let step = h
        .state()
        .replay
        .view
        .time_travel
        .step
        .value()
        .unwrap()
        .clone();
    assert_eq!(step.version, want["streams"]["acc-a"].as_u64().unwrap());
    assert_eq!(step.state["balance"], want["balances"]["acc-a"]);

    h.get_by_label("Snapshots").click();
    wait_until(&mut h, "the snapshot checks", |h| {
        matches!(h.state().replay.view.snapshots.checks, Some(Ok(_)))
    });
    let checks = h
        .state()
        .replay
        .view
        .snapshots
        .checks
        .clone()
        .unwrap()
        .unwrap();
    let written: Vec<u64> = want["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["aggregate_id"] == "acc-a")
        .map(|s| s["version"].as_u64().unwrap())
        .collect();
    let mut checked: Vec<u64> = checks.iter().map(|c| c.version).collect();
    checked.sort_unstable();
    assert_eq!(checked, written);
    assert!(
        checks.iter().all(|c| c.status == SnapshotStatus::Match),
        "{checks:?}"
    );
}
