//! Routing the commands views produce: shared state here, each page's commands to its
//! page, cross-page moves ("open this event in its stream") as calls on both pages.

use crate::app::EventscopeApp;
use crate::context::messages::{AppCommand, AppMsg, LogPlacement};
use crate::context::state::View;

impl EventscopeApp {
    /// Applies one command from a view (or a test).
    pub fn apply(&mut self, command: AppCommand) {
        match command {
            AppCommand::Open(location) => self.open(location),
            AppCommand::ApplyMapping { location, text } => self.apply_mapping(location, &text),
            AppCommand::ShowConnect => self.connect.open = true,
            AppCommand::BrowseFile => self.browse_file(),
            AppCommand::SetView(view) => {
                self.state.view = view;
                if view == View::Log {
                    with_page!(self, log, |page, ctx| page.on_show(ctx));
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
            AppCommand::GoTo(text) => {
                with_page!(@ self, streams, None, |page, ctx| page.go_to(ctx, &text));
            }
            AppCommand::StreamQueryChanged => {
                with_page!(@ self, streams, None, |page, ctx| page.reload(ctx));
            }
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
            AppCommand::AttachTracking(location) => {
                with_page!(self, projections, |_page, ctx| {
                    crate::ui::pages::projections::ProjectionsPage::attach(ctx, location);
                });
            }
            AppCommand::Cancel(job_id) => {
                self.jobs.cancel(job_id);
                self.trace.job_cancelled(job_id);
                self.search.job_cancelled(job_id);
                self.health.job_cancelled(job_id);
                self.streams.job_cancelled(job_id);
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
            AppCommand::Search(command) => {
                with_page!(self, search, |page, ctx| page.on_command(ctx, command));
            }
            AppCommand::Health(command) => {
                with_page!(self, health, |page, ctx| page.on_command(ctx, command));
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
        let shown = crate::source::redact(&location);
        self.connect.opening = Some(shown.clone());
        self.connect.error = None;
        let mapping = self.mapping.clone();
        let mappings_dir = self.mappings_dir.clone();
        let label = format!("Opening {shown}");
        self.jobs.spawn(
            crate::context::jobs::Lane::Interactive,
            &label,
            true,
            move |job| {
                let (result, draft) = open_job(&location, mapping, mappings_dir.as_deref());
                job.send(AppMsg::Opened {
                    generation,
                    location,
                    result,
                    draft,
                });
            },
        );
    }

    /// Saves the mapping the user edited from the draft, then opens the store with it.
    pub(super) fn apply_mapping(&mut self, location: String, text: &str) {
        let Some(dir) = self.mappings_dir.clone() else {
            self.connect.error =
                Some("no settings directory to keep the mapping in (no home directory)".into());
            return;
        };
        match crate::own::mappings::save_mapping(&dir, &location, text) {
            Ok(path) => {
                // The draft stays in the editor until the store opens with it.
                tracing::info!("mapping for {location} saved to {}", path.display());
                self.open(location);
            }
            Err(error) => {
                self.connect.error = Some(format!(
                    "cannot save the mapping in {}: {error}",
                    dir.display()
                ));
            }
        }
    }

    /// Opens a stream on the streams page; the replay page follows the open stream.
    pub(super) fn select_stream(&mut self, stream_id: String, version: Option<u64>) {
        let changed = with_page!(@ self, streams, None, |page, ctx| page
            .select_stream(ctx, stream_id, version));
        if changed {
            with_page!(self, replay, |page, ctx| page.on_stream_selected(ctx));
        }
    }

    /// Shows an event in the inspector and selects it where it is listed.
    pub(super) fn inspect(&mut self, event: crate::core::Event) {
        self.streams.on_inspect(&event);
        self.log.on_inspect(&event);
        with_page!(self, inspector, |page, ctx| page.inspect(ctx, event));
    }

    /// Loads log events (see [`crate::ui::pages::log::LogPage::request`]).
    pub(super) fn request_log(&mut self, placement: LogPlacement, from: Option<u64>) {
        with_page!(self, log, |page, ctx| page.request(ctx, placement, from));
    }

    /// Moves the selection in the active table by `step` rows.
    pub(super) fn move_selection(&mut self, step: i64) {
        match self.state.view {
            View::Streams => {
                with_page!(@ self, streams, None, |page, ctx| page.move_selection(ctx, step));
            }
            View::Log => {
                if let Some(event) = self.log.move_selection(step) {
                    self.inspect(event);
                }
            }
            // The other pages have no table the arrow keys move in.
            _ => {}
        }
    }

    /// Starts every page over for a newly opened store.
    pub(super) fn reset_views(&mut self, location: &str) {
        self.inspector.on_open();
        self.trace.view = crate::ui::pages::trace::view::TraceState {
            index: std::mem::take(&mut self.trace.view.index),
            ..Default::default()
        };
        self.retry_pending = false;
        self.next_auto_retry = None;
        self.auto_retry_backoff = super::AUTO_RETRY_FIRST;
        with_page!(@ self, streams, None, |page, ctx| page.on_open(ctx));
        self.request_info();
        with_page!(self, log, |page, ctx| page.on_open(ctx));
        with_page!(self, search, |page, ctx| page.on_open(ctx));
        with_page!(self, health, |page, ctx| page.on_open(ctx));
        let history_dir = self.history_dir.clone();
        with_page!(self, projections, |page, ctx| page.on_open(
            ctx,
            location,
            history_dir
        ));
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
        with_page!(@ self, streams, None, |page, ctx| page.on_head_changed(ctx));
        with_page!(self, log, |page, ctx| page.on_head_changed(ctx));
    }
}

/// The open job: the command line's mapping, else one applied earlier from the connect
/// screen (kept in `mappings_dir`); for a file of no known layout, a drafted mapping.
fn open_job(
    location: &str,
    mapping: Option<std::path::PathBuf>,
    mappings_dir: Option<&std::path::Path>,
) -> (
    Result<std::sync::Arc<dyn crate::core::source::EventSource>, crate::core::source::SourceError>,
    Option<String>,
) {
    let is_file = !crate::source::is_server_location(location);
    let saved = if mapping.is_none() && is_file {
        mappings_dir.and_then(|dir| crate::own::mappings::saved_mapping(dir, location))
    } else {
        None
    };
    let options = crate::source::OpenOptions {
        mapping: mapping.or_else(|| saved.clone()),
        application: None,
    };
    match crate::source::open(location, &options) {
        Ok(source) => (Ok(source), None),
        Err(error) => {
            let draft = if let Some(saved) = &saved {
                // The mapping applied earlier no longer opens the store: back to the
                // editor with it.
                std::fs::read_to_string(saved).ok()
            } else if is_file && matches!(error, crate::core::source::SourceError::UnknownLayout(_))
            {
                crate::source::sqlite::mapping::suggest(std::path::Path::new(location)).ok()
            } else {
                None
            };
            (Err(error), draft)
        }
    }
}
