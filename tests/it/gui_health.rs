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

/// The app with `path` open, on the Health page.
fn on_health_page(path: &std::path::Path) -> AppHarness<'static> {
    let mut h = harness(Startup::Connect);
    h.state_mut()
        .apply(AppCommand::Open(path.display().to_string()));
    wait_until(&mut h, "the store", |h| h.state().store.is_some());
    h.get_by_label("Health").click();
    settle(&mut h);
    h
}

fn has_label_containing(h: &AppHarness<'_>, part: &str) -> bool {
    h.query_all_by_label_contains(part).next().is_some()
}

#[test]
fn health_page_runs_expands_clicks_through_and_cancels() {
    let dir = tempfile::tempdir().expect("dir");
    let (path, planted, _) = crate::audit::planted_store(dir.path());
    let before = crate::common::store_fingerprint(&path);
    let mut h = on_health_page(&path);
    assert_eq!(h.state().state.view, View::Health);
    h.get_by_label("Run the audit").click();
    h.step();
    assert!(
        h.state().health.view.running,
        "the audit runs in the background"
    );
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

    // Save the report as HTML through the path field: the page has every check's row.
    // (In a directory of its own: the store's directory must stay as it was.)
    let out_dir = tempfile::tempdir().expect("dir");
    let html_path = out_dir.path().join("report.html");
    h.state_mut().health.view.export_path = html_path.display().to_string();
    h.get_by_label("Save HTML").click();
    wait_until(&mut h, "the saved report", |h| {
        h.state()
            .health
            .view
            .export_message
            .as_deref()
            .is_some_and(|m| m.starts_with("saved "))
    });
    let html = std::fs::read_to_string(&html_path).expect("the report");
    for check in &report.checks {
        assert!(html.contains(&format!("<tr id=\"{}\">", check.check)));
    }
    // An empty path says so instead of writing anywhere.
    h.state_mut().health.view.export_path.clear();
    h.get_by_label("Save JSON").click();
    wait_until(&mut h, "the refusal", |h| {
        h.state().health.view.export_message.as_deref() == Some("enter a file name to export to")
    });

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
    // The next frame draws the running audit, with its Cancel button.
    h.step();
    assert!(
        h.state().health.view.running,
        "a pass over 160,000 events outlasts two frames"
    );
    h.get_by_label("Cancel audit").click();
    settle(&mut h);
    assert!(!h.state().health.view.running);
    assert!(has_label_containing(&h, "cancelled"));
    assert_eq!(crate::common::store_fingerprint(&path), before);
}

#[test]
fn health_page_runs_only_the_ticked_checks() {
    let dir = tempfile::tempdir().expect("dir");
    let (path, _, _) = crate::audit::planted_store(dir.path());
    let mut h = on_health_page(&path);
    let all = eventscope::audit::pass_checks().count();
    h.get_by_label(&format!("Checks to run ({all} of {all})"))
        .click();
    settle(&mut h);
    h.get_by_label("version_gaps").click();
    settle(&mut h);
    assert!(has_label_containing(
        &h,
        &format!("Checks to run ({} of {all})", all - 1)
    ));
    h.get_by_label("Run the audit").click();
    wait_until(&mut h, "the audit", |h| {
        h.state().health.view.report.is_some()
    });
    let report = h.state().health.view.report.clone().unwrap();
    let names: Vec<&str> = report.checks.iter().map(|c| c.check).collect();
    assert_eq!(names.len(), all - 1);
    assert!(!names.contains(&"version_gaps"));
    // Nothing ticked: the page says so instead of running.
    for def in eventscope::audit::pass_checks() {
        h.state_mut().health.view.skipped.insert(def.name);
    }
    h.get_by_label("Run the audit again").click();
    settle(&mut h);
    assert!(!h.state().health.view.running);
    assert!(has_label_containing(&h, "no check is selected"));
}
