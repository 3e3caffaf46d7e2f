//! The upcasters view driven through its labels with egui_kittest (no display, no GPU):
//! the version histogram, events side by side with their chain steps, a failing upcaster
//! loaded from a file, the next failure, reload on save, and the bulk check.

use std::path::Path;

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;
use eventscope::replay::diff::Change;

use crate::kit::{AppHarness, has_label, wait_until};

fn harness(startup: Startup) -> AppHarness<'static> {
    crate::kit::harness_sized(startup, 1500.0, 950.0)
}

fn has_label_containing(h: &AppHarness<'_>, part: &str) -> bool {
    h.query_all_by_label_contains(part).next().is_some()
}

fn open_upcasters(h: &mut AppHarness<'_>) {
    wait_until(h, "the store", |h| h.state().store.is_some());
    h.get_by_label("Upcasters").click();
    wait_until(h, "the histogram and the first page", |h| {
        let view = &h.state().upcast.view;
        view.histogram.is_some() && !view.rows.is_empty() && !view.steps.is_empty()
    });
}

#[test]
fn side_by_side_with_histogram_steps_and_differences() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(dir.path(), 4_000, 5).0;
    let mut h = harness(Startup::Store(path.display().to_string()));
    open_upcasters(&mut h);

    // The demo's upcasters are picked up; the histogram shows stored versions per type.
    let view = &h.state().upcast.view;
    assert_eq!(view.files_label, "demo/upcasters.js");
    let histogram = view.histogram.clone().unwrap();
    assert_eq!(histogram["CustomerTierChanged"].len(), 3);
    assert!(has_label(&h, "OrderPlaced"));
    assert!(has_label(&h, "v3"));
    let v1_orders = eventscope::ui::thousands(histogram["OrderPlaced"][&1]);
    assert!(has_label(&h, &v1_orders));

    // Choose OrderPlaced: stored v1 events are shown with their v1 → v2 step.
    h.get_by_label("OrderPlaced").click();
    wait_until(&mut h, "OrderPlaced rows", |h| {
        let rows = &h.state().upcast.view.rows;
        !rows.is_empty() && rows.iter().all(|r| r.heading.contains("OrderPlaced"))
    });
    assert!(has_label(&h, "stored v1"));
    assert!(has_label(&h, "v1 -> v2"));
    let rows = h.state().upcast.view.rows.clone();
    let row = &rows[0];
    assert_eq!(row.columns.len(), 2);
    let step = &row.columns[1];
    assert!(
        step.lines
            .iter()
            .any(|l| l.text.starts_with("\"totalCents\"") && l.mark == Some(Change::Added)),
        "the new field is marked as added"
    );
    assert!(step.removed.iter().any(|r| r.starts_with("/data/total:")));
    assert!(has_label_containing(&h, "- /data/total:"));

    // Page on and back.
    let first = h.state().upcast.view.page_first;
    h.get_by_label("Next").click();
    wait_until(&mut h, "the next page", |h| {
        h.state().upcast.view.page_first != first
    });
    assert!(h.state().upcast.view.page_first > first);
    h.get_by_label("Previous").click();
    wait_until(&mut h, "the page before", |h| {
        h.state().upcast.view.page_first == first
    });

    // A stream.
    let stream = row
        .heading
        .split_whitespace()
        .nth(1)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    h.get_by_label("Stream").focus();
    h.get_by_label("Stream").type_text(&stream);
    h.get_by_label("Show").click();
    wait_until(&mut h, "the stream's events", |h| {
        let rows = &h.state().upcast.view.rows;
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.heading.contains(&format!(" {stream}@")))
    });
}

#[test]
fn failures_next_failure_reload_on_save_and_bulk_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(dir.path(), 4_000, 5).0;
    let mut h = harness(Startup::Store(path.display().to_string()));
    open_upcasters(&mut h);

    // Load a file whose upcaster throws for orders of more than two items.
    let file = dir.path().join("orders.js");
    std::fs::write(
        &file,
        r#"upcast("OrderPlaced", 1, 2, (e) => {
             if (e.data.items.length > 2) { throw new Error("too many items"); }
             e.data.totalCents = 0;
             return e;
           });"#,
    )
    .unwrap();
    h.get_by_label("Upcaster file").focus();
    h.get_by_label("Upcaster file")
        .type_text(file.to_str().unwrap());
    h.get_by_label("Load").click();
    wait_until(&mut h, "the file", |h| {
        h.state().upcast.view.files_label == file.display().to_string()
    });
    h.get_by_label("OrderPlaced").click();
    wait_until(&mut h, "OrderPlaced rows", |h| {
        let rows = &h.state().upcast.view.rows;
        !rows.is_empty() && rows.iter().all(|r| r.heading.contains("OrderPlaced"))
    });

    // Next failure: the page starts at a failing event, shown at its step.
    h.get_by_label("Next failure").click();
    wait_until(&mut h, "a failure", |h| {
        let view = &h.state().upcast.view;
        !view.searching && view.rows.first().is_some_and(|r| r.failed)
    });
    let row = h.state().upcast.view.rows[0].clone();
    assert_eq!(row.status, "failed at v1 -> v2: exception");
    assert!(row.columns[1].failure.is_some());
    assert!(has_label(&h, "Failed: exception"));
    assert!(has_label_containing(&h, "Error: too many items"));
    let failing = h.state().upcast.view.page_first;
    h.get_by_label("Next failure").click();
    wait_until(&mut h, "the following failure", |h| {
        let view = &h.state().upcast.view;
        !view.searching && view.page_first != failing
    });
    assert!(h.state().upcast.view.rows[0].failed);

    // Saving the file reloads it: the failure is gone.
    std::fs::write(
        &file,
        r#"upcast("OrderPlaced", 1, 2, (e) => { e.data.totalCents = 0; return e; });"#,
    )
    .unwrap();
    wait_until(&mut h, "the reload", |h| {
        let view = &h.state().upcast.view;
        view.loaded_note
            .as_deref()
            .is_some_and(|n| n.starts_with("reloaded"))
            && !view.loading
            && view.rows.first().is_some_and(|r| !r.failed)
    });

    // Back to the demo's upcasters, then the bulk check of the whole store.
    h.state_mut()
        .apply(eventscope::app::messages::AppCommand::Upcast(
            eventscope::ui::upcast::UpcastCommand::LoadFiles(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("assets/demo/upcasters.js")
                    .display()
                    .to_string(),
            ),
        ));
    wait_until(&mut h, "the demo file", |h| {
        h.state().upcast.view.files_label.ends_with("upcasters.js")
            && h.state().upcast.view.steps.len() == 3
    });
    h.get_by_label("Bulk check").click();
    h.step();
    h.get_by_label("Whole store").click();
    h.step();
    h.get_by_label("Check").click();
    wait_until(&mut h, "the check", |h| {
        h.state().upcast.view.check.is_some()
    });
    let report = h.state().upcast.view.check.clone().unwrap();
    assert_eq!(report.scanned, 4_000);
    assert!(has_label_containing(&h, "4,000 events checked"));
    assert!(has_label(&h, "/tier/discountPct"));
    assert!(has_label(&h, "/tier/discountPercent"));
    assert!(has_label(&h, "missing after upcasting"));
    assert!(has_label(&h, "extra field"));

    // An example link opens that event side by side.
    let example = report
        .types
        .iter()
        .find(|t| t.event_type == "CustomerTierChanged")
        .unwrap()
        .shape_mismatches[0]
        .example
        .clone()
        .unwrap();
    h.get_all_by_label(&format!("e.g. {}", example.describe()))
        .next()
        .unwrap()
        .click();
    wait_until(&mut h, "the example", |h| {
        h.state().upcast.view.page_first == Some(example.position)
    });
    assert!(has_label(&h, "v2 -> v3"));
}

#[test]
fn an_upcaster_naming_no_stored_type_is_warned_about_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::demo_store(dir.path(), 4_000, 5).0;
    let mut h = harness(Startup::Store(path.display().to_string()));
    open_upcasters(&mut h);
    // The demo's own upcasters all name stored types: no warning.
    assert!(h.state().upcast.view.type_warnings.is_empty());

    // A registration with a typo would never run, and the check would pass vacuously.
    let file = dir.path().join("typo.js");
    std::fs::write(
        &file,
        r#"upcast("OrderPlacd", 1, 2, (e) => { e.data.totalCents = 0; return e; });"#,
    )
    .unwrap();
    h.get_by_label("Upcaster file").focus();
    h.get_by_label("Upcaster file")
        .type_text(file.to_str().unwrap());
    h.get_by_label("Load").click();
    wait_until(&mut h, "the file", |h| {
        h.state().upcast.view.files_label == file.display().to_string()
    });
    let warnings = h.state().upcast.view.type_warnings.clone();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("none of its 1 upcaster name matches")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("no event type `OrderPlacd`; did you mean `OrderPlaced`?")),
        "{warnings:?}"
    );
    assert!(has_label_containing(
        &h,
        "no event type `OrderPlacd`; did you mean `OrderPlaced`?"
    ));
}
