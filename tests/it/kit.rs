//! Shared helpers of the kittest-driven GUI tests.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use eventscope::app::{EventscopeApp, Startup};

/// The app under test.
pub type AppHarness<'a> = Harness<'a, EventscopeApp>;

/// The app at 1400×900 with default state.
pub fn harness(startup: Startup) -> AppHarness<'static> {
    harness_sized(startup, 1400.0, 900.0)
}

/// The app at a given size with default state.
pub fn harness_sized(startup: Startup, width: f32, height: f32) -> AppHarness<'static> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(width, height))
        .build_eframe(move |cc| {
            EventscopeApp::with_state(&cc.egui_ctx, Default::default(), startup, None)
        });
    // No full-text index unless a test asks for one (gui_search_index.rs), and never in
    // the user's cache directory.
    h.state_mut().search.auto_build_up_to = Some(0);
    h.state_mut().search.index_dir = Some(std::env::temp_dir().join(format!(
        "eventscope-test-search-index-{}",
        std::process::id()
    )));
    h
}

/// Steps frames until `done` holds (background jobs deliver results between frames).
pub fn wait_until(h: &mut AppHarness<'_>, what: &str, done: impl Fn(&AppHarness<'_>) -> bool) {
    let started = Instant::now();
    loop {
        h.step();
        if done(h) {
            h.step();
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a node with exactly this label exists.
pub fn has_label(h: &AppHarness<'_>, label: &str) -> bool {
    h.query_all_by_label(label).next().is_some()
}
