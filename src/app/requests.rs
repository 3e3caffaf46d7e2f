//! Read requests: each turns into a background job whose result comes back as an
//! [`AppMsg`]. Nothing here blocks the UI thread.

use crate::app::EventscopeApp;
use crate::context::jobs::Lane;
use crate::context::messages::AppMsg;
use crate::core::LogQuery;

impl EventscopeApp {
    /// Spawns a read job on the open store; `read` runs on a worker and returns the
    /// message to send. Errors are reported with `context`.
    pub(super) fn spawn_read(
        &mut self,
        lane: Lane,
        label: &str,
        visible: bool,
        read: impl FnOnce(&dyn crate::core::EventSource) -> Result<AppMsg, crate::core::SourceError>
        + Send
        + 'static,
    ) -> Option<u64> {
        let source = self.source()?;
        crate::context::page::spawn_read(&mut self.jobs, source, lane, label, visible, read)
    }

    pub(super) fn request_head(&mut self) -> Option<u64> {
        self.spawn_read(Lane::Interactive, "Reading head", false, |source| {
            Ok(AppMsg::Head(source.head()?))
        })
    }

    pub(super) fn request_info(&mut self) {
        if self.info_job.is_some_and(|id| self.jobs.is_active(id)) {
            return;
        }
        self.last_info = Some(std::time::Instant::now());
        self.info_job =
            self.spawn_read(Lane::Background, "Reading store summary", true, |source| {
                Ok(AppMsg::Info(source.info()?))
            });
    }

    /// Runs again what failed to load, keeping everything already shown: after the user
    /// asks (Retry / Reconnect in the status bar) and when the store answers again after
    /// its head could not be read (a server came back). Failed pages of the stream list
    /// and the stream, the stream count, the summary and lists, the selected stream's
    /// summary and an empty log are asked for again; the head is polled now.
    pub(super) fn retry_failed(&mut self) {
        if self.store.is_none() {
            return;
        }
        self.last_error = None;
        with_page!(@ self, streams, None, |page, ctx| page.retry(ctx));
        self.request_info();
        with_page!(self, log, |page, ctx| page.retry(ctx));
        self.last_head_poll = None;
    }

    /// Requests the pages of visible rows that are not loaded yet.
    pub(super) fn request_visible_pages(&mut self) {
        if self.store.is_none() {
            return;
        }
        with_page!(@ self, streams, None, |page, ctx| page.request_visible_pages(ctx));
    }

    /// Opens the native file dialog on a worker (it may block while the dialog is open).
    pub(super) fn browse_file(&mut self) {
        self.jobs
            .spawn(Lane::Background, "Choosing a file", false, |job| {
                let picked = rfd::FileDialog::new()
                    .set_title("Open an event store")
                    .add_filter("SQLite", &["db", "sqlite", "sqlite3", "db3"])
                    .add_filter("All files", &["*"])
                    .pick_file();
                job.send(AppMsg::FilePicked(picked));
            });
    }

    /// A page of the log for queries built elsewhere (used by tests and follow mode).
    #[must_use]
    pub fn log_scope(&self) -> Option<LogQuery> {
        self.log.scope()
    }
}
