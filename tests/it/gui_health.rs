//! The Health page driven through its labels with egui_kittest (no display, no GPU): run
//! the audit on the store with planted defects, read the checks, expand one, click an
//! example through to its event in its stream, and cancel a running audit.

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;
use eventscope::app::messages::AppCommand;
use eventscope::app::state::View;

use crate::kit::{AppHarness, harness, wait_until};

fn settle(h: &mut AppHarness<'_>) {
    for _ in 0..4 {
        h.step();
    }
}

fn has_label_containing(h: &AppHarness<'_>, part: &str) -> bool {
    h.query_all_by_label_contains(part).next().is_some()
}

#[test]
fn health_page_runs_expands_clicks_through_and_cancels() {
    let dir = tempfile::tempdir().expect("dir");
    let (path, planted, _) = crate::audit::planted_store(dir.path());
    let before = crate::common::store_fingerprint(&path);
    let mut h = harness(Startup::Connect);
    h.state_mut()
        .apply(AppCommand::Open(path.display().to_string()));
    wait_until(&mut h, "the store", |h| h.state().store.is_some());

    h.get_by_label("Health").click();
    settle(&mut h);
    assert_eq!(h.state().state.view, View::Health);
    h.get_by_label("Run the audit").click();
    h.step();
    assert!(h.state().health.view.running, "the audit runs in the background");
    wait_until(&mut h, "the audit", |h| {
        !h.state().health.view.running && h.state().health.view.report.is_some()
    });
    let report = h.state().health.view.report.clone().expect("a report");
    let gaps = report
        .checks
        .iter()
        .find(|c| c.check == "version_gaps")
        .expect("version_gaps");
    assert_eq!(gaps.count as usize, planted["version_gaps"].len());
    // Every check has its row; the gaps show as errors with their count.
    for check in &report.checks {
        assert!(has_label_containing(&h, check.check), "{}", check.check);
    }
    assert!(has_label_containing(
        &h,
        &format!("{} / {}", gaps.count, eventscope::ui::thousands(gaps.total))
    ));

    // Expand the gaps: their examples appear; click the one in gap-1 through to its event.
    h.query_all_by_label_contains("version_gaps")
        .next()
        .expect("the gaps row")
        .click();
    settle(&mut h);
    assert!(h.state().health.view.expanded.contains("version_gaps"));
    let example = gaps
        .examples
        .iter()
        .find(|e| e.stream_id == "gap-1")
        .expect("gap-1 example")
        .clone();
    let link = format!(
        "gap-1 v{} @{}",
        example.stream_version,
        eventscope::ui::thousands(example.position)
    );
    assert!(has_label_containing(&h, &example.detail));
    h.get_by_label(&link).click();
    wait_until(&mut h, "the event in its stream", |h| {
        h.state().state.view == View::Streams
            && h.state()
                .inspector
                .view
                .event
                .as_ref()
                .is_some_and(|e| e.global_position == example.position)
    });
    assert_eq!(h.state().streams.view.stream_id.as_deref(), Some("gap-1"));

    // Collapse, then run again and cancel: the page says so and keeps no half report.
    h.get_by_label("Health").click();
    settle(&mut h);
    h.query_all_by_label_contains("version_gaps")
        .next()
        .expect("the gaps row")
        .click();
    settle(&mut h);
    assert!(!h.state().health.view.expanded.contains("version_gaps"));
    h.get_by_label("Run the audit again").click();
    h.step();
    assert!(h.state().health.view.running);
    h.get_by_label("Cancel audit").click();
    settle(&mut h);
    assert!(!h.state().health.view.running);
    assert!(has_label_containing(&h, "cancelled"));
    assert_eq!(crate::common::store_fingerprint(&path), before);
}
