//! Messages from background jobs: the app keeps what is shared (the open store, jobs,
//! errors) and routes page messages to their page.

use crate::app::{EventscopeApp, OpenStore};
use crate::context::messages::AppMsg;

impl EventscopeApp {
    /// Routes a job's message: shared state here, page messages to their page.
    pub(super) fn handle(&mut self, msg: AppMsg) {
        match msg {
            AppMsg::Opened {
                generation,
                location,
                result,
                draft,
            } => self.on_opened(generation, location, result, draft),
            AppMsg::DemoReady(result) => self.on_demo_ready(result),
            AppMsg::Info(info) => {
                if let Some(store) = &mut self.store {
                    store.head = store.head.max(info.head_position);
                    store.info = Some(info);
                }
            }
            AppMsg::Head(head) => self.on_head(head),
            msg @ (AppMsg::StreamCount { .. }
            | AppMsg::StreamPage { .. }
            | AppMsg::Categories(_)
            | AppMsg::Stream { .. }
            | AppMsg::StreamEvents { .. }
            | AppMsg::GoToVersion { .. }
            | AppMsg::GoToPosition { .. }) => {
                with_page!(@ self, streams, None, |page, ctx| page.on_message(ctx, msg));
            }
            msg @ (AppMsg::EventTypes(_) | AppMsg::LogEvents { .. }) => self.log.on_message(msg),
            msg @ AppMsg::InspectorText { .. } => self.inspector.on_message(msg),
            msg @ (AppMsg::LagSamples { .. }
            | AppMsg::HistoryReady { .. }
            | AppMsg::Attached { .. }) => {
                with_page!(self, projections, |page, ctx| page.on_message(ctx, msg));
            }
            AppMsg::FilePicked(path) => {
                if let Some(path) = path {
                    self.connect.path = path.display().to_string();
                    self.open(path.display().to_string());
                }
            }
            AppMsg::Failed {
                job_id,
                context,
                error,
            } => self.on_job_failed(job_id, &context, error),
            AppMsg::JobProgress { job_id, fraction } => {
                if let Some(job) = self.jobs.active.get_mut(&job_id) {
                    job.progress = Some(fraction);
                }
            }
            AppMsg::Replay(msg) => with_page!(self, replay, |page, ctx| page.on_message(ctx, msg)),
            AppMsg::Trace(msg) => with_page!(self, trace, |page, ctx| page.on_message(ctx, msg)),
            AppMsg::Search(msg) => with_page!(self, search, |page, ctx| page.on_message(ctx, msg)),
            AppMsg::Health(msg) => with_page!(self, health, |page, ctx| page.on_message(ctx, msg)),
            AppMsg::JobFinished { job_id } => {
                self.jobs.active.remove(&job_id);
            }
            AppMsg::Upcast(msg) => with_page!(self, upcast, |page, ctx| page.on_message(ctx, *msg)),
        }
    }

    /// Takes a store that opened (or failed to).
    fn on_opened(
        &mut self,
        generation: u64,
        location: String,
        result: Result<
            std::sync::Arc<dyn crate::core::EventSource>,
            crate::core::source::SourceError,
        >,
        draft: Option<String>,
    ) {
        if generation != self.open_generation {
            return;
        }
        self.connect.opening = None;
        match result {
            Ok(source) => {
                let reopen = location.clone();
                // From here on the location is shown, kept and hashed: never with a password.
                let location = crate::source::redact(&location);
                self.state.remember(&location);
                self.connect.open = false;
                self.connect.error = None;
                self.connect.draft = None;
                self.connect.wants_password = false;
                self.connect.password.clear();
                let is_demo = Self::is_demo_location(&location);
                with_page!(self, replay, |page, ctx| page
                    .on_open(ctx, &location, is_demo));
                with_page!(self, trace, |page, ctx| page.open_index(ctx, &location));
                self.store = Some(OpenStore {
                    location: location.clone(),
                    source,
                    info: None,
                    head: 0,
                    reopen,
                });
                self.reset_views(&location);
            }
            Err(error) => {
                self.connect.wants_password =
                    matches!(error, crate::core::source::SourceError::Authentication(_));
                let location = crate::source::redact(&location);
                if crate::source::is_server_location(&location) {
                    // Back in the URL field without its password, to fix or retry.
                    self.connect.url.clone_from(&location);
                }
                if self.connect.wants_password {
                    self.connect.password.clear();
                }
                let tried = if crate::source::is_server_location(&location) {
                    format!("tried: connecting to the server at {location}")
                } else {
                    format!("tried: opening {location} as a SQLite file, read-only")
                };
                tracing::error!("opening {location}: {error}");
                self.connect.error = Some(format!("{error}\n({tried})"));
                if let Some(text) = draft {
                    self.connect.draft = Some(crate::ui::connect::MappingDraft {
                        location: location.clone(),
                        text,
                    });
                } else if self
                    .connect
                    .draft
                    .as_ref()
                    .is_some_and(|d| d.location != location)
                {
                    // A draft for another store; the one for this store stays while it is
                    // being fixed.
                    self.connect.draft = None;
                }
                self.connect.open = true;
            }
        }
    }

    /// Opens the demo store once it is written.
    fn on_demo_ready(
        &mut self,
        result: Result<(std::path::PathBuf, crate::context::demo::DemoAnchor), String>,
    ) {
        self.demo_status = None;
        match result {
            Ok((path, anchor)) => {
                self.start_live(path.clone(), anchor);
                self.open(path.display().to_string());
            }
            Err(error) => {
                self.connect.error = Some(format!("could not create the demo store: {error}"));
                tracing::error!("creating the demo store: {error}");
            }
        }
    }

    /// Shows a failed job's error and unblocks what waited for it.
    fn on_job_failed(&mut self, job_id: u64, context: &str, error: String) {
        if self.jobs.is_active(job_id) {
            self.error(context, &error);
        }
        self.streams.job_failed(job_id, &error);
        let server = self.store.as_ref().is_some_and(OpenStore::is_server);
        if Some(job_id) == self.head_job || server {
            self.retry_pending = true;
        }
        self.log.job_failed();
    }
}
