//! The search page's full-text index with egui_kittest: built in the background after a
//! small store opens, searches answered from it (the same hits as a scan), turned off (the
//! file deleted, off again on the next open) and built again with the button; a big store
//! shows the estimated size and waits for the button.

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;
use eventscope::app::messages::AppCommand;
use eventscope::ui::pages::search::view::IndexView;

use crate::kit::{AppHarness, harness, wait_until};

fn has_label_containing(h: &AppHarness<'_>, part: &str) -> bool {
    h.query_all_by_label_contains(part).next().is_some()
}

fn open_store(h: &mut AppHarness<'_>, path: &std::path::Path) {
    h.state_mut()
        .apply(AppCommand::Open(path.display().to_string()));
    wait_until(h, "the store", |h| h.state().store.is_some());
}

fn search_for(h: &mut AppHarness<'_>, text: &str) -> Vec<u64> {
    h.state_mut().search.view.input.clear();
    h.step();
    h.get_by_label("Search for").focus();
    h.get_by_label("Search for").type_text(text);
    h.get_by_label("Find").click();
    h.step();
    wait_until(h, "the search to end", |h| !h.state().search.view.running);
    h.state()
        .search
        .view
        .hits
        .iter()
        .map(|hit| hit.event.global_position)
        .collect()
}

fn index_file_count(dir: &std::path::Path, ext: &str) -> usize {
    std::fs::read_dir(dir.join("search-index")).map_or(0, |entries| {
        entries
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == ext))
            })
            .count()
    })
}

#[test]
fn the_index_is_built_in_the_background_answers_searches_and_turns_off_and_on() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 20_000, 5);
    let before = crate::common::store_fingerprint(&path);
    let mut h = harness(Startup::Connect);
    h.state_mut().search.index_dir = Some(cache.path().to_owned());
    h.state_mut().search.auto_build_up_to = None;
    open_store(&mut h, &path);
    h.state_mut()
        .apply(AppCommand::SetView(eventscope::app::state::View::Search));
    wait_until(&mut h, "the index to be built", |h| {
        matches!(h.state().search.view.index, IndexView::Ready { .. })
    });
    assert!(has_label_containing(&h, "up to date through position"));
    assert_eq!(index_file_count(cache.path(), "db"), 1);

    // A search answered by the index finds what a scan finds.
    let source = crate::common::open(&path);
    let events = crate::common::all_events(source.as_ref());
    let value = crate::search::sample_values(&events)
        .into_iter()
        .next()
        .unwrap();
    let scanned = crate::search::brute_force(&events, &value);
    let found = search_for(&mut h, &value);
    assert!(h.state().search.view.used_index);
    assert_eq!(found, scanned);
    assert!(has_label_containing(
        &h,
        "from the full-text index and the store"
    ));

    // Turned off: the file goes, searches scan, and it stays off when reopened.
    h.get_by_label("Turn off").click();
    wait_until(&mut h, "the index file to go", |h| {
        matches!(h.state().search.view.index, IndexView::Off { .. })
            && index_file_count(cache.path(), "db") == 0
    });
    wait_until(&mut h, "the off marker", |_| {
        index_file_count(cache.path(), "off") == 1
    });
    assert_eq!(search_for(&mut h, &value), scanned);
    assert!(!h.state().search.view.used_index);
    open_store(&mut h, &path);
    wait_until(&mut h, "the index to be found off", |h| {
        matches!(h.state().search.view.index, IndexView::Off { .. })
    });
    for _ in 0..20 {
        h.step();
    }
    assert_eq!(index_file_count(cache.path(), "db"), 0, "still off");

    // Built again with the button.
    h.get_by_label_contains("Build the index").click();
    wait_until(&mut h, "the index to be rebuilt", |h| {
        matches!(h.state().search.view.index, IndexView::Ready { .. })
    });
    assert_eq!(index_file_count(cache.path(), "off"), 0);
    assert_eq!(search_for(&mut h, &value), scanned);
    assert!(h.state().search.view.used_index);
    drop(h);
    assert_eq!(crate::common::store_fingerprint(&path), before);
}

#[test]
fn a_big_store_shows_the_estimated_size_and_waits_for_the_button() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 5_000, 5);
    let mut h = harness(Startup::Connect);
    h.state_mut().search.index_dir = Some(cache.path().to_owned());
    h.state_mut().search.auto_build_up_to = Some(1_000);
    open_store(&mut h, &path);
    h.state_mut()
        .apply(AppCommand::SetView(eventscope::app::state::View::Search));
    wait_until(&mut h, "the estimate", |h| {
        matches!(h.state().search.view.index, IndexView::Off { .. })
    });
    let IndexView::Off { estimate, events } = h.state().search.view.index.clone() else {
        unreachable!()
    };
    let estimate = estimate.unwrap();
    // The demo's events carry a few hundred bytes of text each.
    assert!(
        estimate > events * 50 && estimate < events * 2_000,
        "{estimate} bytes for {events} events"
    );
    assert!(has_label_containing(&h, "Build the index (about"));
    assert!(has_label_containing(&h, "off for this store"));
    assert_eq!(index_file_count(cache.path(), "db"), 0);
}
