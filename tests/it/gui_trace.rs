//! The trace view driven through its labels with egui_kittest (no display, no GPU).

use std::path::Path;

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;
use eventscope::app::messages::AppCommand;
use eventscope::app::state::View;
use eventscope::ui::trace::IndexView;

use crate::kit::{AppHarness, harness, has_label, wait_until};

/// A few frames (the status bar's spinner keeps repainting, so `run` would not settle).
fn settle(h: &mut AppHarness<'_>) {
    for _ in 0..4 {
        h.step();
    }
}

fn has_label_containing(h: &AppHarness<'_>, part: &str) -> bool {
    h.query_all_by_label_contains(part).next().is_some()
}

/// The app on a demo store, with the correlation index in `cache` (never the real cache).
fn open_demo(dir: &Path, cache: &Path) -> (AppHarness<'static>, std::path::PathBuf) {
    let (path, _) = crate::common::demo_store(dir, 5_000, 11);
    let mut h = harness(Startup::Connect);
    h.state_mut().trace.index_dir = Some(cache.to_owned());
    h.state_mut()
        .apply(AppCommand::Open(path.display().to_string()));
    (h, path)
}

fn correlation_of(path: &Path, stream: &str) -> String {
    let source = eventscope::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
    source
        .read_stream(stream, None, Default::default(), 1)
        .unwrap()[0]
        .correlation_id
        .clone()
        .unwrap()
}

#[test]
fn trace_view_tree_timeline_navigation_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (mut h, path) = open_demo(dir.path(), cache.path());
    let before = crate::common::store_fingerprint(&path);
    wait_until(&mut h, "the index", |h| {
        matches!(h.state().trace.view.index, IndexView::Ready { .. })
    });
    // A flow that reached its shipment (order → payment → shipment).
    let source = eventscope::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
    let n = (8..200)
        .find(|n| {
            source
                .stream(&format!("shipment-{n:06}"))
                .unwrap()
                .is_some()
        })
        .expect("a shipped flow");
    let (order, payment) = (format!("order-{n:06}"), format!("payment-{n:06}"));
    let correlation = correlation_of(&path, &order);

    // Type a correlation id into the trace view.
    h.get_by_label("Trace").click();
    settle(&mut h);
    assert_eq!(h.state().state.view, View::Trace);
    assert!(has_label_containing(&h, "Correlation index: up to date"));
    h.get_by_label("Id").focus();
    h.get_by_label("Id").type_text(&correlation);
    h.get_by_label("Show trace").click();
    wait_until(&mut h, "the trace", |h| {
        h.state().trace.view.trace.is_some()
    });
    let trace = h.state().trace.view.trace.clone().unwrap();
    assert!(trace.nodes.len() >= 3);
    assert!(has_label(&h, "OrderPlaced"));
    assert!(has_label(&h, &order));
    assert!(has_label(&h, &payment));
    assert!(has_label(&h, &format!("shipment-{n:06}")));
    assert!(has_label_containing(
        &h,
        &format!("{} events", trace.nodes.len())
    ));
    assert!(has_label_containing(&h, "found with the index"));
    assert!(has_label_containing(&h, "external cause cmd-"));

    // Click a node: the inspector shows it.
    h.get_by_label("PaymentRequested").click();
    settle(&mut h);
    assert_eq!(
        h.state()
            .inspector
            .view
            .event
            .as_ref()
            .map(|e| e.event_type.as_str()),
        Some("PaymentRequested")
    );

    // The timeline and the list draw.
    h.get_by_label("Timeline").click();
    settle(&mut h);
    assert!(has_label_containing(&h, "One lane per stream"));
    h.get_by_label("Events").click();
    settle(&mut h);
    assert!(has_label(&h, "depth"));

    // Export as JSON through the path field.
    let exports = tempfile::tempdir().unwrap();
    let out = exports.path().join("exported.json");
    h.get_by_label("Export to").focus();
    h.get_by_label("Export to").type_text(out.to_str().unwrap());
    h.get_by_label("Export JSON").click();
    wait_until(&mut h, "the export", |h| {
        h.state().trace.view.export_message.is_some()
    });
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["correlation_id"], correlation.as_str());
    assert_eq!(
        doc["event_count"].as_u64().unwrap() as usize,
        trace.nodes.len()
    );
    h.get_by_label("Export DOT").click();
    wait_until(&mut h, "the DOT export", |_| {
        std::fs::read_to_string(&out).is_ok_and(|t| t.starts_with("digraph"))
    });

    // Click the stream of a node: the event opens in its stream.
    h.get_by_label("Causal tree").click();
    settle(&mut h);
    h.get_all_by_label(&payment).next().unwrap().click();
    settle(&mut h);
    assert_eq!(h.state().state.view, View::Streams);
    assert_eq!(
        h.state().streams.view.stream_id.as_deref(),
        Some(payment.as_str())
    );

    // From the inspector back to the trace: "Trace correlation".
    wait_until(&mut h, "the inspector", |h| {
        has_label(h, "Trace correlation")
    });
    h.get_by_label("Trace correlation").click();
    wait_until(&mut h, "the trace again", |h| {
        h.state().state.view == View::Trace
            && h.state().trace.view.trace.is_some()
            && h.state().trace.view.pending.is_none()
    });
    assert_eq!(
        h.state().trace.view.trace.as_ref().unwrap().correlation_id,
        correlation
    );
    drop(h);
    assert_eq!(
        crate::common::store_fingerprint(&path),
        before,
        "store untouched"
    );
    assert!(cache.path().join("trace-index").read_dir().unwrap().count() > 0);
}

#[test]
fn trace_view_by_event_id_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (mut h, path) = open_demo(dir.path(), cache.path());
    wait_until(&mut h, "the store", |h| h.state().store.is_some());
    // Search by event id before the index may be ready: works either way.
    let source = eventscope::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
    let requested = source
        .read_stream("payment-000007", None, Default::default(), 1)
        .unwrap()
        .remove(0);
    h.get_by_label("Trace").click();
    settle(&mut h);
    h.get_by_label("Event id").click();
    settle(&mut h);
    h.get_by_label("Id").focus();
    h.get_by_label("Id")
        .type_text(requested.event_id.as_deref().unwrap());
    h.get_by_label("Find event").click();
    wait_until(&mut h, "the trace of the event", |h| {
        h.state().trace.view.trace.is_some() && h.state().trace.view.pending.is_none()
    });
    let trace = h.state().trace.view.trace.clone().unwrap();
    assert_eq!(
        trace.correlation_id,
        requested.correlation_id.clone().unwrap()
    );
    // Flow 7's payment names a parent no event carries.
    assert!(has_label_containing(&h, "missing parent"));
    assert!(has_label_containing(&h, "correlation of event"));

    // Flow 3: a child recorded before its parent.
    h.get_by_label("Correlation id").click();
    settle(&mut h);
    h.state_mut().trace.view.input.clear();
    h.get_by_label("Id").focus();
    h.get_by_label("Id")
        .type_text(&correlation_of(&path, "order-000003"));
    h.get_by_label("Show trace").click();
    wait_until(&mut h, "flow 3", |h| {
        h.state()
            .trace
            .view
            .trace
            .as_ref()
            .is_some_and(|t| t.out_of_order_count() > 0)
    });
    assert!(has_label(&h, "recorded before its parent"));

    // Unknown ids say so.
    h.state_mut().trace.view.input.clear();
    h.get_by_label("Id").focus();
    h.get_by_label("Id").type_text("no-such-id");
    h.get_by_label("Show trace").click();
    wait_until(&mut h, "the message", |h| {
        h.state().trace.view.message.is_some()
    });
    assert!(has_label_containing(
        &h,
        "no event carries the correlation id no-such-id"
    ));
}
