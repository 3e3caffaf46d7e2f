//! What a page may use of the app while it handles a command or a message: the shared
//! parts only (the open store, the job runner, the current view, the error line). A page
//! never sees another page; a move to another page is an
//! [`AppCommand`] pushed to `commands`, which the app routes.

use std::sync::Arc;

use crate::context::jobs::{Jobs, Lane};
use crate::context::messages::{AppCommand, AppMsg};
use crate::context::state::View;
use crate::context::store::OpenStore;
use crate::core::{EventSource, SourceError, StreamInfo};

/// The shared state a page borrows from the app for one call.
pub struct PageCtx<'a> {
    /// The background job runner.
    pub jobs: &'a mut Jobs,
    /// The open store, if any.
    pub store: Option<&'a OpenStore>,
    /// Bumped each time a store is opened: results for an older store are dropped.
    pub store_generation: u64,
    /// The page on screen.
    pub view: View,
    /// For repaint requests.
    pub egui: &'a egui::Context,
    /// The stream open on the streams page (navigation, owned by the app).
    pub stream: Option<StreamFocus<'a>>,
    /// The mapping file given on the command line, if any.
    pub mapping: Option<&'a std::path::Path>,
    /// The status bar's error line.
    pub last_error: &'a mut Option<String>,
    /// Commands for the app (other pages, navigation), applied after this call.
    pub commands: &'a mut Vec<AppCommand>,
}

/// The stream that is open, as other pages may see it.
#[derive(Clone, Copy, Debug)]
pub struct StreamFocus<'a> {
    /// Its id.
    pub stream_id: &'a str,
    /// What is known of it, once loaded.
    pub info: Option<&'a StreamInfo>,
    /// The version selected in the event table.
    pub selected_version: Option<u64>,
}

impl PageCtx<'_> {
    /// The open store's source.
    #[must_use]
    pub fn source(&self) -> Option<Arc<dyn EventSource>> {
        self.store.map(|s| s.source.clone())
    }

    /// Records an error for the status bar and the log.
    pub fn error(&mut self, context: &str, error: &str) {
        record_error(self.last_error, context, error);
    }

    /// Runs `read` against the open store on a worker and sends its message; a failure
    /// becomes [`AppMsg::Failed`] (shown in the status bar), a cancel sends nothing.
    pub fn spawn_read(
        &mut self,
        lane: Lane,
        label: &str,
        visible: bool,
        read: impl FnOnce(&dyn EventSource) -> Result<AppMsg, SourceError> + Send + 'static,
    ) -> Option<u64> {
        spawn_read(self.jobs, self.source()?, lane, label, visible, read)
    }
}

/// Logs an error and puts it on the status bar's error line.
pub fn record_error(last_error: &mut Option<String>, context: &str, error: &str) {
    tracing::error!("{context}: {error}");
    *last_error = Some(format!("{context}: {error}"));
}

/// Runs `read` against `source` on a worker (see [`PageCtx::spawn_read`]).
pub fn spawn_read(
    jobs: &mut Jobs,
    source: Arc<dyn EventSource>,
    lane: Lane,
    label: &str,
    visible: bool,
    read: impl FnOnce(&dyn EventSource) -> Result<AppMsg, SourceError> + Send + 'static,
) -> Option<u64> {
    let context = label.to_owned();
    jobs.spawn(lane, label, visible, move |job| {
        let msg = match read(source.as_ref()) {
            Ok(msg) => msg,
            Err(SourceError::Cancelled) => return,
            Err(e) => AppMsg::Failed {
                job_id: job.id,
                context,
                error: e.to_string(),
            },
        };
        if !job.token.is_cancelled() {
            job.send(msg);
        }
    })
}
