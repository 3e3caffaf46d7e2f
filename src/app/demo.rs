//! The live demo store started when eventscope runs with no arguments.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::app::EventscopeApp;
use crate::context::demo::DemoAnchor;
use crate::context::messages::AppMsg;

/// Events in the demo store created on first start.
const DEMO_EVENTS: u64 = 50_000;

/// The live writer thread of the demo store.
pub struct DemoRuntime {
    stop: Arc<AtomicBool>,
    _anchor: DemoAnchor,
}

impl DemoRuntime {
    /// Asks the live writer to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for DemoRuntime {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the demo store lives: eventscope's cache directory.
#[must_use]
pub fn demo_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "eventscope")
        .map(|dirs| dirs.cache_dir().join("demo").join("demo.db"))
}

impl EventscopeApp {
    /// Creates the demo store if needed (in the background), then opens it and starts the
    /// live writer.
    pub(super) fn start_demo(&mut self) {
        let Some(path) = demo_path() else {
            self.connect.error =
                Some("no cache directory for the demo store (is HOME set?)".to_owned());
            return;
        };
        self.demo_status = Some(format!("Preparing the demo store {}", path.display()));
        self.jobs.spawn(
            crate::context::jobs::Lane::Background,
            "Creating the demo store",
            true,
            move |job| {
                let result = (|| -> anyhow::Result<(PathBuf, DemoAnchor)> {
                    if !path.exists() {
                        if let Some(parent) = path.parent() {
                            std::fs::create_dir_all(parent)?;
                        }
                        // End the generated history about now, so the live part follows on.
                        let span =
                            chrono::TimeDelta::milliseconds(DEMO_EVENTS.cast_signed() * 1525);
                        let options = crate::demo::DemoOptions {
                            events: DEMO_EVENTS,
                            start: chrono::Utc::now() - span,
                            ..Default::default()
                        };
                        crate::demo::write_demo(&path, &options, &mut |written| {
                            job.progress(written as f32 / DEMO_EVENTS as f32);
                        })?;
                    }
                    // This process writes the demo too: a read-write connection opened before
                    // any reader makes SQLite share a writable WAL index among them all
                    // (a reader's read-only one would otherwise stop the live writer).
                    let anchor = rusqlite::Connection::open(&path)?;
                    anchor.query_row("SELECT COUNT(*) FROM projection_checkpoints", [], |_| {
                        Ok(())
                    })?;
                    Ok((path, DemoAnchor::new(anchor)))
                })();
                job.send(AppMsg::DemoReady(result.map_err(|e| format!("{e:#}"))));
            },
        );
    }

    /// Starts the live writer on the demo store.
    pub(super) fn start_live(&mut self, path: PathBuf, anchor: DemoAnchor) {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("eventscope-demo-live".to_owned())
            .spawn(move || {
                let options = crate::demo::LiveOptions {
                    tick: std::time::Duration::from_millis(500),
                    ..Default::default()
                };
                if let Err(error) = crate::demo::run_live(&path, &options, &thread_stop) {
                    tracing::error!("live demo writer stopped: {error:#}");
                }
            });
        match spawned {
            Ok(_) => {
                self.demo = Some(DemoRuntime {
                    stop,
                    _anchor: anchor,
                });
            }
            Err(error) => self.error("starting the live demo writer", &error.to_string()),
        }
    }
}

impl EventscopeApp {
    /// Whether a location is the demo store this app created (its reducers are built in).
    pub(super) fn is_demo_location(location: &str) -> bool {
        demo_path().is_some_and(|p| p.as_path() == std::path::Path::new(location))
            || crate::replay::config::is_demo_store(std::path::Path::new(location))
    }
}
