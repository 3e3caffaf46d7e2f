//! The search page driven through its labels with egui_kittest (no display, no GPU): Ctrl+K,
//! type a text, hits arrive while the scan runs, Cancel keeps what was found, a click
//! inspects the event and its stream link opens it in its stream.

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

fn search_for(h: &mut AppHarness<'_>, text: &str) {
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    settle(h);
    assert_eq!(h.state().state.view, View::Search);
    h.state_mut().search.view.input.clear();
    h.step();
    h.get_by_label("Search for").focus();
    h.get_by_label("Search for").type_text(text);
    h.get_by_label("Find").click();
    h.step();
}

#[test]
fn search_page_streams_hits_cancels_and_clicks_through() {
    let dir = tempfile::tempdir().expect("dir");
    let (path, _) = crate::common::demo_store(dir.path(), 40_000, 5);
    let before = crate::common::store_fingerprint(&path);
    let mut h = harness(Startup::Connect);
    h.state_mut()
        .apply(AppCommand::Open(path.display().to_string()));
    wait_until(&mut h, "the store", |h| h.state().store.is_some());

    // A text in many events: hits show up while the scan is still running.
    search_for(&mut h, "ACCOUNT-");
    wait_until(&mut h, "the search to end", |h| {
        !h.state().search.view.running
    });
    let first = h.state().search.view.hits.len();
    assert!(first > 100, "{first} hits");
    assert!(
        h.state()
            .search
            .view
            .hits
            .windows(2)
            .all(|w| w[0].event.global_position > w[1].event.global_position),
        "newest first"
    );
    assert!(
        h.state().search.view.hits.iter().all(|hit| hit
            .matches
            .iter()
            .any(|m| m.value.to_lowercase().contains("account-"))),
        "every hit says where it matched"
    );
    assert!(has_label_containing(
        &h,
        &format!("{} events in", eventscope::ui::thousands(first as u64))
    ));

    // Again, watching the frames: the first hits arrive before the scan ends.
    let mut seen_running_with_hits = false;
    h.get_by_label("Find").click();
    for _ in 0..10_000 {
        h.step();
        let view = &h.state().search.view;
        if view.running && !view.hits.is_empty() {
            seen_running_with_hits = true;
        }
        if !view.running {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(
        seen_running_with_hits,
        "hits appeared only when the scan ended"
    );

    // Cancel: the scan stops, what was found stays, the page says so.
    h.get_by_label("Find").click();
    h.step();
    h.step();
    assert!(
        h.state().search.view.running,
        "the scan ended before Cancel could be clicked"
    );
    h.get_by_label("Stop search").click();
    settle(&mut h);
    assert!(!h.state().search.view.running);
    assert!(has_label_containing(&h, "cancelled"));
    let kept = h.state().search.view.hits.len();
    settle(&mut h);
    assert_eq!(h.state().search.view.hits.len(), kept, "late hits dropped");

    // A rare text: exactly its events, then click through.
    let source = crate::common::open(&path);
    let order = "order-000042";
    let expected = source
        .stream(order)
        .expect("stream")
        .expect("order 42 exists")
        .event_count;
    search_for(&mut h, order);
    wait_until(&mut h, "the order's events", |h| {
        !h.state().search.view.running
    });
    let hits = h.state().search.view.hits.clone();
    assert!(hits.len() as u64 >= expected, "{} < {expected}", hits.len());
    assert!(
        hits.iter()
            .filter(|hit| hit.event.stream_id == order)
            .count() as u64
            == expected
    );
    let newest = hits[0].event.clone();
    h.query_all_by_label(&newest.event_type)
        .next()
        .expect("the newest hit's type")
        .click();
    settle(&mut h);
    assert_eq!(
        h.state()
            .inspector
            .view
            .event
            .as_ref()
            .map(|e| e.global_position),
        Some(newest.global_position),
        "a click shows the hit in the inspector"
    );
    h.query_all_by_label(&newest.stream_id)
        .next()
        .expect("the stream link")
        .click();
    settle(&mut h);
    assert_eq!(h.state().state.view, View::Streams);
    assert_eq!(
        h.state().streams.view.stream_id.as_deref(),
        Some(newest.stream_id.as_str())
    );

    // Nothing found says so.
    search_for(&mut h, "no-such-text-anywhere");
    wait_until(&mut h, "an empty search", |h| {
        !h.state().search.view.running
    });
    assert!(has_label_containing(&h, "no event mentions"));
    assert_eq!(crate::common::store_fingerprint(&path), before);
}

#[test]
fn header_search_field_runs_a_search_from_any_page() {
    let dir = tempfile::tempdir().expect("dir");
    let (path, _) = crate::common::demo_store(dir.path(), 5_000, 5);
    let mut h = harness(Startup::Connect);
    h.state_mut()
        .apply(AppCommand::Open(path.display().to_string()));
    wait_until(&mut h, "the store", |h| h.state().store.is_some());
    h.state_mut().apply(AppCommand::SetView(View::Log));
    settle(&mut h);

    let order = "order-000042";
    h.get_by_label("Search events").focus();
    h.get_by_label("Search events").type_text(order);
    h.step();
    assert_eq!(
        h.state().state.view,
        View::Log,
        "typing alone searches nothing"
    );
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert_eq!(h.state().state.view, View::Search);
    assert_eq!(
        h.state().search.view.input,
        order,
        "the search page shows the text"
    );
    assert!(
        h.state().header_search.is_empty(),
        "the header field is ready for the next"
    );
    wait_until(&mut h, "the search to end", |h| {
        !h.state().search.view.running
    });
    let hits = &h.state().search.view.hits;
    assert!(!hits.is_empty(), "no hits for {order}");
    assert!(
        hits.iter().all(|hit| hit
            .matches
            .iter()
            .any(|m| m.value.to_lowercase().contains(order))),
        "every hit mentions {order}"
    );
}
