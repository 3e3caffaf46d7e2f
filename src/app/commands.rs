//! Applying view commands and job results to the app state.

use crate::app::{EventscopeApp, OpenStore};
use crate::context::messages::{AppCommand, AppMsg, LogPlacement};
use crate::context::state::View;
use crate::core::time::parse_timestamp;

impl EventscopeApp {
    /// Applies one command from a view (or a test).
    pub fn apply(&mut self, command: AppCommand) {
        match command {
            AppCommand::Open(location) => self.open(location),
            AppCommand::ShowConnect => self.connect.open = true,
            AppCommand::BrowseFile => self.browse_file(),
            AppCommand::SetView(view) => {
                self.state.view = view;
                if view == View::Log && self.log.events.is_empty() && !self.log.loading.1 {
                    self.request_log(LogPlacement::ReplaceAtEnd, None);
                }
            }
            AppCommand::SelectStream { stream_id, version } => {
                self.select_stream(stream_id, version);
            }
            AppCommand::Inspect(event) => self.inspect(*event),
            AppCommand::OpenInStream(event) => {
                self.state.view = View::Streams;
                let version = event.stream_version;
                self.select_stream(event.stream_id.clone(), Some(version));
                self.inspect(*event);
            }
            AppCommand::GoTo(text) => self.go_to(&text),
            AppCommand::StreamQueryChanged => self.reload_streams(),
            AppCommand::LogQueryChanged => self.request_log(LogPlacement::ReplaceAtEnd, None),
            AppCommand::LogFrom(position) => {
                self.request_log(LogPlacement::ReplaceAtStart, Some(position));
            }
            AppCommand::LogMore { older } => {
                self.request_log(
                    if older {
                        LogPlacement::Prepend
                    } else {
                        LogPlacement::Append
                    },
                    None,
                );
            }
            AppCommand::AttachTracking(location) => self.attach_tracking(location),
            AppCommand::Cancel(job_id) => {
                self.jobs.cancel(job_id);
                self.trace.job_cancelled(job_id);
                if Some(job_id) == self.count_job {
                    self.count_job = None;
                }
            }
            AppCommand::Copy(text) => self.egui_ctx.copy_text(text),
            AppCommand::Replay(command) => {
                with_page!(self, replay, |page, ctx| page.on_command(ctx, command));
            }
            AppCommand::DismissError => self.last_error = None,
            AppCommand::Retry => {
                self.auto_retry_backoff = super::AUTO_RETRY_FIRST;
                self.next_auto_retry = None;
                self.retry_failed();
            }
            AppCommand::SetTheme(choice) => {
                self.state.theme = choice;
                self.egui_ctx.set_theme(choice.preference());
            }
            AppCommand::Trace(command) => {
                with_page!(self, trace, |page, ctx| page.on_command(ctx, command));
            }
            AppCommand::Upcast(command) => {
                with_page!(self, upcast, |page, ctx| page.on_command(ctx, command));
            }
        }
    }

    fn open(&mut self, location: String) {
        self.jobs.cancel_all();
        self.open_generation += 1;
        let generation = self.open_generation;
        // Shown and logged without credentials.
        let shown = crate::source::grpc::redact_url(&location);
        self.connect.opening = Some(shown.clone());
        self.connect.error = None;
        let options = crate::source::OpenOptions {
            mapping: self.mapping.clone(),
            application: None,
        };
        let label = format!("Opening {shown}");
        self.jobs.spawn(
            crate::context::jobs::Lane::Interactive,
            &label,
            true,
            move |job| {
                let result = crate::source::open(&location, &options).map_err(|e| e.to_string());
                job.send(AppMsg::Opened {
                    generation,
                    location,
                    result,
                });
            },
        );
    }

    fn select_stream(&mut self, stream_id: String, version: Option<u64>) {
        if self.stream_view.stream_id.as_deref() == Some(stream_id.as_str()) {
            if let Some(version) = version {
                self.select_version(version);
            }
            return;
        }
        if let Some(current) = self.stream_view.stream_id.take() {
            let place = (
                self.stream_view.visible.0,
                self.stream_view.selected_version,
            );
            self.stream_view.places.insert(current.clone(), place);
            self.history
                .push((current, self.stream_view.selected_version));
        }
        let remembered = self.stream_view.places.get(&stream_id).copied();
        self.streams.selected = Some(stream_id.clone());
        self.stream_view.stream_id = Some(stream_id);
        self.stream_view.info = None;
        self.stream_view.reset_rows();
        self.stream_view.goto_message = None;
        self.stream_view.selected_version = version.or(remembered.and_then(|(_, v)| v));
        self.pending_version = version;
        if version.is_none()
            && let Some((row, _)) = remembered
        {
            self.stream_view.scroll_to = usize::try_from(row).ok();
        }
        self.request_stream();
        with_page!(self, replay, |page, ctx| page.on_stream_selected(ctx));
    }

    fn select_version(&mut self, version: u64) {
        self.stream_view.selected_version = Some(version);
        let row = self.stream_view.row_of(version);
        self.stream_view.scroll_to = usize::try_from(row).ok();
        if let Some(event) = self.stream_view.rows.row(row).cloned() {
            self.inspect(event);
        } else {
            self.pending_version = Some(version);
        }
    }

    fn inspect(&mut self, event: crate::core::Event) {
        if self.stream_view.stream_id.as_deref() == Some(event.stream_id.as_str()) {
            self.stream_view.selected_version = Some(event.stream_version);
        }
        self.log.selected = Some(event.global_position);
        self.inspector.generation += 1;
        self.inspector.payload_lines = None;
        self.inspector.metadata_lines = None;
        self.inspector.raw_lines = None;
        self.inspector.show_all = false;
        self.inspector.event = Some(event);
        self.request_inspector_text();
    }

    fn go_to(&mut self, text: &str) {
        self.stream_view.goto_message = None;
        if self.stream_view.stream_id.is_none() {
            return;
        }
        let trimmed = text.trim().trim_start_matches(['v', 'V']);
        if let Some(position) = text
            .trim()
            .strip_prefix('#')
            .and_then(|p| p.trim().parse::<u64>().ok())
        {
            self.spawn_read(
                crate::context::jobs::Lane::Interactive,
                "Finding position",
                false,
                move |source| {
                    let query = crate::core::LogQuery {
                        from_position: Some(position),
                        limit: 1,
                        ..Default::default()
                    };
                    let event = source
                        .read_log(&query)?
                        .into_iter()
                        .find(|e| e.global_position == position);
                    Ok(AppMsg::GoToPosition {
                        event: event.map(Box::new),
                        position,
                    })
                },
            );
        } else if let Ok(version) = trimmed.parse::<u64>() {
            let Some(info) = &self.stream_view.info else {
                return;
            };
            let first = self.stream_view.first_version();
            if version < first || version > info.last_version {
                self.stream_view.goto_message = Some(format!(
                    "no version {version} (this stream has {first}–{})",
                    info.last_version
                ));
                return;
            }
            self.select_version(version);
        } else if let Some(at) = parse_timestamp(text) {
            self.request_version_at(at, text.to_owned());
        } else {
            self.stream_view.goto_message = Some(format!(
                "{text:?} is not a version, a #position or a time (RFC 3339)"
            ));
        }
    }

    /// Moves the selection in the active table by `step` rows.
    pub(super) fn move_selection(&mut self, step: i64) {
        match self.state.view {
            View::Projections | View::Drift | View::Trace | View::Upcasters => {}
            View::Streams => {
                let Some(info) = &self.stream_view.info else {
                    return;
                };
                if info.event_count == 0 {
                    return;
                }
                let first = self.stream_view.first_version();
                let current = self.stream_view.selected_version.unwrap_or(first);
                let target = current
                    .saturating_add_signed(step)
                    .clamp(first, info.last_version);
                self.select_version(target);
            }
            View::Log => {
                let events = &self.log.events;
                if events.is_empty() {
                    return;
                }
                let index = self
                    .log
                    .selected
                    .and_then(|p| events.iter().position(|e| e.global_position == p))
                    .unwrap_or(0);
                let last = events.len() - 1;
                let target = usize::try_from(
                    i64::try_from(index)
                        .unwrap_or(0)
                        .saturating_add(step)
                        .max(0),
                )
                .unwrap_or(0)
                .min(last);
                let event = events[target].clone();
                self.log.scroll_to = Some(target);
                self.inspect(event);
            }
        }
    }

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

    fn reset_views(&mut self) {
        let view = self.state.view;
        self.streams = crate::ui::stream_list::StreamListState::default();
        self.stream_view = crate::ui::event_table::StreamViewState::default();
        self.log = crate::ui::log_view::LogState::default();
        self.inspector = crate::ui::inspector::InspectorState::default();
        self.history.clear();
        self.pending_version = None;
        self.state.view = view;
        self.trace.view = crate::ui::pages::trace::view::TraceState {
            index: std::mem::take(&mut self.trace.view.index),
            ..Default::default()
        };
        let interval = self.projections.interval_secs;
        let stall = self.projections.stall_after_secs;
        self.projections = crate::ui::projections::ProjectionsState {
            interval_secs: interval,
            stall_after_secs: stall,
            ..Default::default()
        };
        self.attached.clear();
        self.last_lag_sample = None;
        self.retry_pending = false;
        self.next_auto_retry = None;
        self.auto_retry_backoff = super::AUTO_RETRY_FIRST;
        // The stream count first: the list's length depends on it.
        self.reload_streams();
        self.request_info();
        self.request_store_lists();
        self.request_log(LogPlacement::ReplaceAtEnd, None);
        self.request_lag_history();
        self.last_head_poll = None;
    }

    fn on_head(&mut self, head: u64) {
        // The store answers (a server came back): load what failed meanwhile, backing off
        // while reads keep failing.
        let now = std::time::Instant::now();
        if !self.retry_pending {
            self.auto_retry_backoff = super::AUTO_RETRY_FIRST;
        } else if self.next_auto_retry.is_none_or(|at| now >= at) {
            self.retry_pending = false;
            self.next_auto_retry = Some(now + self.auto_retry_backoff);
            self.auto_retry_backoff = (self.auto_retry_backoff * 2).min(super::AUTO_RETRY_MAX);
            self.retry_failed();
        }
        let Some(store) = &mut self.store else { return };
        let changed = head != store.head;
        store.head = head;
        if !changed {
            return;
        }
        if self
            .last_info
            .is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(5))
        {
            self.request_info();
        }
        if self.stream_view.follow && self.stream_view.stream_id.is_some() {
            self.request_stream();
        }
        if self.log.follow && self.log.at_end && !self.log.loading.1 {
            self.log.at_end = false;
            self.request_log(LogPlacement::Append, None);
        }
    }
}
