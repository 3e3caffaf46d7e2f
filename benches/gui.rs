//! UI benchmark on a 10M-event demo store (not a timed test): time from opening the store
//! to the first rows of the stream list and of the log, and UI time per frame while
//! scrolling the stream list and the log, stepping frames headlessly with egui_kittest.
//!
//! Store: `$EVENTSCOPE_BENCH_10M` if set, else `target/bench-data/demo-10m.db` (written on
//! first run, ~45 s). Run: `cargo bench --bench gui`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use eventscope::app::{EventscopeApp, Startup};

fn store() -> PathBuf {
    if let Ok(path) = std::env::var("EVENTSCOPE_BENCH_10M") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/demo-10m.db");
    if !path.exists() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("bench-data dir");
        eprintln!("writing the 10M-event demo store to {} …", path.display());
        eventscope::demo::write_demo(
            &path,
            &eventscope::demo::DemoOptions {
                events: 10_000_000,
                ..Default::default()
            },
            &mut |_| {},
        )
        .expect("write demo store");
    }
    path
}

fn harness(path: &std::path::Path) -> Harness<'static, EventscopeApp> {
    let location = path.display().to_string();
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            EventscopeApp::with_state(
                &cc.egui_ctx,
                Default::default(),
                Startup::Store(location),
                None,
            )
        })
}

fn step_until(
    h: &mut Harness<'static, EventscopeApp>,
    done: impl Fn(&EventscopeApp) -> bool,
) -> Duration {
    let started = Instant::now();
    let mut last_print = Instant::now();
    while !done(h.state()) {
        if std::env::var("BENCH_DEBUG").is_ok() && last_print.elapsed() > Duration::from_millis(300)
        {
            last_print = Instant::now();
            let s = h.state();
            eprintln!(
                "{:?}: pages={} loading={} total={:?} store={} visible={:?}",
                started.elapsed(),
                s.streams.list.rows.loaded_pages(),
                s.streams.list.rows.is_loading(),
                s.streams.list.rows.total,
                s.store.is_some(),
                s.streams.list.visible
            );
        }
        h.step();
        assert!(started.elapsed() < Duration::from_secs(120), "timed out");
        std::thread::sleep(Duration::from_micros(200));
    }
    h.step(); // The frame that draws them.
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    println!(
        "{name}: n={} median={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
}

/// Scrolls with the mouse wheel over `at` for `frames` frames and times each frame.
fn scroll_frames(
    h: &mut Harness<'static, EventscopeApp>,
    at: egui::Pos2,
    delta: f32,
    frames: usize,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(frames);
    h.hover_at(at);
    for _ in 0..frames {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, delta),
            phase: egui::TouchPhase::Move,
            modifiers: egui::Modifiers::NONE,
            source: egui::MouseWheelSource::Wheel,
        });
        let started = Instant::now();
        h.step();
        samples.push(started.elapsed());
        std::thread::sleep(Duration::from_millis(4));
    }
    samples
}

fn main() {
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and then there is nothing to do.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let path = store();
    println!("store: {}", path.display());
    let mut first_streams = Vec::new();
    let mut first_log = Vec::new();
    for _ in 0..5 {
        // The harness steps the app while it is built: time from before that.
        let started = Instant::now();
        let mut h = harness(&path);
        let built = started.elapsed();
        step_until(&mut h, |app| app.streams.list.rows.row(0).is_some());
        first_streams.push(started.elapsed());
        if std::env::var("BENCH_DEBUG").is_ok() {
            eprintln!(
                "built in {built:?}, first rows after {:?}",
                started.elapsed()
            );
        }
        h.state_mut()
            .apply(eventscope::app::messages::AppCommand::SetView(
                eventscope::app::state::View::Log,
            ));
        let started = Instant::now();
        step_until(&mut h, |app| !app.log.view.events.is_empty());
        first_log.push(started.elapsed());
    }
    report("open → first stream rows drawn", first_streams);
    report("log view → first log rows drawn", first_log);

    let mut h = harness(&path);
    step_until(&mut h, |app| app.streams.list.rows.row(0).is_some());
    // Down the stream list: 30 rows per wheel tick, pages load in the background.
    let streams = scroll_frames(&mut h, egui::pos2(200.0, 500.0), -600.0, 600);
    let loaded = h.state().streams.list.visible;
    report("frame while scrolling the stream list", streams);
    println!("  (scrolled to rows {}–{})", loaded.0, loaded.1);

    h.state_mut()
        .apply(eventscope::app::messages::AppCommand::SetView(
            eventscope::app::state::View::Log,
        ));
    step_until(&mut h, |app| !app.log.view.events.is_empty());
    // Up the log: older pages are prepended as the top is reached.
    let log = scroll_frames(&mut h, egui::pos2(500.0, 500.0), 2000.0, 600);
    let events = &h.state().log.view.events;
    report("frame while scrolling the log", log);
    println!(
        "  (log holds positions {}–{})",
        events.first().map_or(0, |e| e.global_position),
        events.last().map_or(0, |e| e.global_position)
    );
}
