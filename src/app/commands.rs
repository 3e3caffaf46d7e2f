//! Applying view commands and job results to the app state.

use crate::app::EventscopeApp;
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

    pub(super) fn open(&mut self, location: String) {
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

    pub(super) fn select_stream(&mut self, stream_id: String, version: Option<u64>) {
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

    pub(super) fn select_version(&mut self, version: u64) {
        self.stream_view.selected_version = Some(version);
        let row = self.stream_view.row_of(version);
        self.stream_view.scroll_to = usize::try_from(row).ok();
        if let Some(event) = self.stream_view.rows.row(row).cloned() {
            self.inspect(event);
        } else {
            self.pending_version = Some(version);
        }
    }

    pub(super) fn inspect(&mut self, event: crate::core::Event) {
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

    pub(super) fn go_to(&mut self, text: &str) {
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

    pub(super) fn reset_views(&mut self) {
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

    pub(super) fn on_head(&mut self, head: u64) {
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
