//! Messages from background jobs: the app keeps what is shared (the open store, jobs,
//! errors) and routes page messages to their page.

use crate::app::{EventscopeApp, OpenStore};
use crate::context::messages::{AppCommand, AppMsg, LogPlacement};

impl EventscopeApp {
    /// Routes a job's message: shared state here, page messages to their page.
    pub(super) fn handle(&mut self, msg: AppMsg) {
        match msg {
            AppMsg::Opened {
                generation,
                location,
                result,
            } => self.on_opened(generation, location, result),
            AppMsg::DemoReady(result) => self.on_demo_ready(result),
            AppMsg::Info(info) => {
                if let Some(store) = &mut self.store {
                    store.head = store.head.max(info.head_position);
                    store.info = Some(info);
                }
            }
            AppMsg::Head(head) => self.on_head(head),
            AppMsg::StreamCount { generation, count } => {
                if generation == self.streams.rows.generation {
                    self.streams.rows.total = Some(count);
                }
            }
            AppMsg::StreamPage {
                generation,
                page,
                rows,
            } => self.streams.rows.insert(generation, page, rows),
            AppMsg::Categories(categories) => self.streams.categories = Some(categories),
            AppMsg::EventTypes(types) => self.log.all_types = Some(types),
            AppMsg::Stream { generation, info } => self.on_stream_info(generation, info),
            AppMsg::StreamEvents {
                generation,
                page,
                events,
            } => self.on_stream_events(generation, page, events),
            AppMsg::GoToVersion {
                generation,
                version,
                query,
            } => self.on_go_to_version(generation, version, query),
            AppMsg::GoToPosition { event, position } => match event {
                Some(event) => self.apply(AppCommand::OpenInStream(event)),
                None => {
                    self.stream_view.goto_message =
                        Some(format!("no event at position {position}"));
                }
            },
            AppMsg::LogEvents {
                generation,
                placement,
                events,
            } => self.on_log_events(generation, placement, events),
            AppMsg::InspectorText {
                generation,
                payload,
                metadata,
                raw,
            } => {
                if generation == self.inspector.generation {
                    self.inspector.payload_lines = Some(payload);
                    self.inspector.metadata_lines = Some(metadata);
                    self.inspector.raw_lines = raw;
                }
            }
            AppMsg::LagSamples {
                generation,
                samples,
                note,
            } => self.on_lag_samples(generation, samples, note),
            AppMsg::HistoryReady {
                generation,
                history,
            } => {
                if generation == self.open_generation {
                    self.lag_history = Some(history);
                }
            }
            AppMsg::Attached { location, source } => {
                self.projections.attached.push(location);
                self.attached.push(source);
                self.last_lag_sample = None;
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
        result: Result<std::sync::Arc<dyn crate::core::EventSource>, String>,
    ) {
        if generation != self.open_generation {
            return;
        }
        self.connect.opening = None;
        match result {
            Ok(source) => {
                self.state.remember(&location);
                self.connect.open = false;
                self.connect.error = None;
                self.lag_history = None;
                self.request_history(&location);
                let is_demo = Self::is_demo_location(&location);
                with_page!(self, replay, |page, ctx| page
                    .on_open(ctx, &location, is_demo));
                with_page!(self, trace, |page, ctx| page.open_index(ctx, &location));
                self.store = Some(OpenStore {
                    // Shown in the title and header: never with a password.
                    location: crate::source::grpc::redact_url(&location),
                    source,
                    info: None,
                    head: 0,
                });
                self.reset_views();
            }
            Err(error) => {
                let location = crate::source::grpc::redact_url(&location);
                let tried = if location.contains("://") {
                    format!("tried: connecting to the server at {location}")
                } else {
                    format!("tried: opening {location} as a SQLite file, read-only")
                };
                tracing::error!("opening {location}: {error}");
                self.connect.error = Some(format!("{error}\n({tried})"));
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

    /// Takes the open stream's summary: count, growth, follow.
    fn on_stream_info(&mut self, generation: u64, info: Option<crate::core::StreamInfo>) {
        if generation != self.stream_view.generation {
            return;
        }
        if let Some(info) = info {
            let grew = self
                .stream_view
                .info
                .as_ref()
                .is_some_and(|old| old.event_count != info.event_count);
            let last_page = info.event_count.saturating_sub(1) / self.stream_view.rows.page_size;
            self.stream_view.rows.total = Some(info.event_count);
            let first_load = self.stream_view.info.is_none();
            self.stream_view.info = Some(info);
            if grew {
                // The old last page may have been short: fetch it again.
                self.stream_view
                    .rows
                    .invalidate_page(last_page.saturating_sub(1));
                self.stream_view.rows.invalidate_page(last_page);
            }
            if let Some(version) = self.pending_version.filter(|_| first_load) {
                self.select_version(version);
            } else if self.stream_view.follow && (first_load || grew) {
                let last = self.stream_view.rows.total.unwrap_or(1).saturating_sub(1);
                self.stream_view.scroll_to = usize::try_from(last).ok();
            }
        } else {
            let stream = self.stream_view.stream_id.clone().unwrap_or_default();
            self.error("Reading stream", &format!("stream not found: {stream}"));
        }
    }

    /// Takes a page of the open stream.
    fn on_stream_events(&mut self, generation: u64, page: u64, events: Vec<crate::core::Event>) {
        self.stream_view.insert_page(generation, page, events);
        if let Some(version) = self.pending_version {
            let row = self.stream_view.row_of(version);
            if let Some(event) = self.stream_view.rows.row(row).cloned() {
                self.pending_version = None;
                self.inspect(event);
            }
        }
    }

    /// Selects the version a "go to" found.
    fn on_go_to_version(&mut self, generation: u64, version: Option<u64>, query: String) {
        if generation != self.stream_view.generation {
            return;
        }
        match version {
            Some(version) => self.select_version(version),
            None => self.stream_view.goto_message = Some(format!("no event at or before {query}")),
        }
    }

    /// Places a page of the log.
    fn on_log_events(
        &mut self,
        generation: u64,
        placement: LogPlacement,
        events: Vec<crate::core::Event>,
    ) {
        if generation != self.log.generation {
            return;
        }
        match placement {
            LogPlacement::Prepend => self.log.loading.0 = false,
            LogPlacement::Append => self.log.loading.1 = false,
            _ => self.log.loading = (false, false),
        }
        self.log.place(placement, events);
    }

    /// Adds lag samples to the projections page.
    fn on_lag_samples(
        &mut self,
        generation: u64,
        samples: Vec<(String, crate::core::lag::LagSample)>,
        note: Option<String>,
    ) {
        if generation == self.open_generation {
            self.projections.add(samples);
            self.projections.summarize();
            if note.is_some() {
                self.projections.history_note = note;
            }
        }
    }

    /// Shows a failed job's error and unblocks what waited for it.
    fn on_job_failed(&mut self, job_id: u64, context: &str, error: String) {
        if self.jobs.is_active(job_id) {
            self.error(context, &error);
        }
        self.streams.rows.fail_job(job_id);
        self.stream_view.rows.fail_job(job_id);
        if self.stream_view.summary_job == Some(job_id) {
            self.stream_view.summary_job = None;
            self.stream_view.load_error = Some(error.clone());
        }
        let server = self.store.as_ref().is_some_and(OpenStore::is_server);
        if Some(job_id) == self.head_job || server {
            self.retry_pending = true;
        }
        self.log.loading = (false, false);
    }
}
