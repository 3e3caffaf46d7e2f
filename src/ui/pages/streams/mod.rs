//! The streams page: the stream list, the open stream's event table and its "go to" box.
//! It owns their rows and the jobs that load them; opening an event in the inspector is an
//! [`AppCommand::Inspect`] the app routes.

pub mod list;
pub mod table;

use crate::context::jobs::Lane;
use crate::context::messages::{AppCommand, AppMsg};
use crate::context::page::{PageCtx, StreamFocus};
use crate::core::time::parse_timestamp;
use crate::core::{Direction, Event, StreamInfo};
use crate::ui::Commands;
use list::StreamListState;
use table::StreamViewState;

/// The streams page.
#[derive(Debug, Default)]
pub struct StreamsPage {
    /// The stream list on the left.
    pub list: StreamListState,
    /// The open stream's event table.
    pub view: StreamViewState,
    /// Streams left, newest last, for "back" (Escape).
    history: Vec<(String, Option<u64>)>,
    /// A version to select once its page has loaded.
    pending_version: Option<u64>,
    /// The stream count of the current filter.
    count_job: Option<u64>,
}

impl StreamsPage {
    /// The open stream, as other pages may see it.
    #[must_use]
    pub fn focus(&self) -> Option<StreamFocus<'_>> {
        self.view.stream_id.as_deref().map(|stream_id| StreamFocus {
            stream_id,
            info: self.view.info.as_ref(),
            selected_version: self.view.selected_version,
        })
    }

    /// Starts over for a newly opened store.
    pub fn on_open(&mut self, ctx: &mut PageCtx<'_>) {
        *self = Self::default();
        // The stream count first: the list's length depends on it.
        self.reload(ctx);
        Self::request_categories(ctx);
    }

    /// Restarts the stream list for the current filter.
    pub fn reload(&mut self, ctx: &mut PageCtx<'_>) {
        let generation = self.list.rows.reset();
        if let Some(job) = self.count_job.take() {
            ctx.jobs.cancel(job);
        }
        self.request_count(ctx, generation);
        self.list.scroll_to = Some(0);
    }

    fn request_count(&mut self, ctx: &mut PageCtx<'_>, generation: u64) {
        let query = self.list.query(0);
        self.count_job =
            ctx.spawn_read(Lane::Background, "Counting streams", true, move |source| {
                Ok(AppMsg::StreamCount {
                    generation,
                    count: source.count_streams(&query)?,
                })
            });
    }

    fn request_categories(ctx: &mut PageCtx<'_>) {
        ctx.spawn_read(Lane::Background, "Listing categories", true, |source| {
            Ok(AppMsg::Categories(source.categories()?))
        });
    }

    /// A job was cancelled (from the status bar).
    pub fn job_cancelled(&mut self, job_id: u64) {
        if Some(job_id) == self.count_job {
            self.count_job = None;
        }
    }

    /// Opens a stream (and selects `version`); false when it was open already.
    pub fn select_stream(
        &mut self,
        ctx: &mut PageCtx<'_>,
        stream_id: String,
        version: Option<u64>,
    ) -> bool {
        if self.view.stream_id.as_deref() == Some(stream_id.as_str()) {
            if let Some(version) = version {
                self.select_version(ctx, version);
            }
            return false;
        }
        if let Some(current) = self.view.stream_id.take() {
            let place = (self.view.visible.0, self.view.selected_version);
            self.view.places.insert(current.clone(), place);
            self.history.push((current, self.view.selected_version));
        }
        let remembered = self.view.places.get(&stream_id).copied();
        self.list.selected = Some(stream_id.clone());
        self.view.stream_id = Some(stream_id);
        self.view.info = None;
        self.view.reset_rows();
        self.view.goto_message = None;
        self.view.selected_version = version.or(remembered.and_then(|(_, v)| v));
        self.pending_version = version;
        if version.is_none()
            && let Some((row, _)) = remembered
        {
            self.view.scroll_to = usize::try_from(row).ok();
        }
        self.request_stream(ctx);
        true
    }

    /// Selects a version of the open stream and inspects it once it is loaded.
    pub fn select_version(&mut self, ctx: &mut PageCtx<'_>, version: u64) {
        self.view.selected_version = Some(version);
        let row = self.view.row_of(version);
        self.view.scroll_to = usize::try_from(row).ok();
        if let Some(event) = self.view.rows.row(row).cloned() {
            ctx.commands.push(AppCommand::Inspect(Box::new(event)));
        } else {
            self.pending_version = Some(version);
        }
    }

    /// An event is being inspected: select it when it is in the open stream.
    pub fn on_inspect(&mut self, event: &Event) {
        if self.view.stream_id.as_deref() == Some(event.stream_id.as_str()) {
            self.view.selected_version = Some(event.stream_version);
        }
    }

    /// The inspector closed.
    pub fn clear_selection(&mut self) {
        self.view.selected_version = None;
    }

    /// The stream to go back to (Escape), if any.
    pub fn back(&mut self) -> Option<(String, Option<u64>)> {
        let back = self.history.pop();
        if back.is_some() {
            // Going back must not push the stream we leave.
            self.history.pop();
        }
        back
    }

    /// Focuses the stream filter (Ctrl+F).
    pub fn focus_filter(&mut self) {
        self.list.focus_filter = true;
    }

    /// Focuses the "go to" box (Ctrl+G).
    pub fn focus_goto(&mut self) {
        self.view.focus_goto = true;
    }

    /// Goes to a version, a `#position` or a time in the open stream.
    pub fn go_to(&mut self, ctx: &mut PageCtx<'_>, text: &str) {
        self.view.goto_message = None;
        if self.view.stream_id.is_none() {
            return;
        }
        let trimmed = text.trim().trim_start_matches(['v', 'V']);
        if let Some(position) = text
            .trim()
            .strip_prefix('#')
            .and_then(|p| p.trim().parse::<u64>().ok())
        {
            ctx.spawn_read(
                Lane::Interactive,
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
            let Some(info) = &self.view.info else {
                return;
            };
            let first = self.view.first_version();
            if version < first || version > info.last_version {
                self.view.goto_message = Some(format!(
                    "no version {version} (this stream has {first}–{})",
                    info.last_version
                ));
                return;
            }
            self.select_version(ctx, version);
        } else if let Some(at) = parse_timestamp(text) {
            self.request_version_at(ctx, at, text.to_owned());
        } else {
            self.view.goto_message = Some(format!(
                "{text:?} is not a version, a #position or a time (RFC 3339)"
            ));
        }
    }

    /// Moves the selection in the event table by `step` rows.
    pub fn move_selection(&mut self, ctx: &mut PageCtx<'_>, step: i64) {
        let Some(info) = &self.view.info else {
            return;
        };
        if info.event_count == 0 {
            return;
        }
        let first = self.view.first_version();
        let current = self.view.selected_version.unwrap_or(first);
        let target = current
            .saturating_add_signed(step)
            .clamp(first, info.last_version);
        self.select_version(ctx, target);
    }

    /// The head moved: reload the open stream when following it.
    pub fn on_head_changed(&mut self, ctx: &mut PageCtx<'_>) {
        if self.view.follow && self.view.stream_id.is_some() {
            self.request_stream(ctx);
        }
    }

    /// Asks again for what failed to load (see the app's `retry_failed`).
    pub fn retry(&mut self, ctx: &mut PageCtx<'_>) {
        self.list.rows.retry();
        self.view.rows.retry();
        if self.list.rows.total.is_none()
            && !self.count_job.is_some_and(|id| ctx.jobs.is_active(id))
        {
            self.request_count(ctx, self.list.rows.generation);
        }
        if self.list.categories.is_none() {
            Self::request_categories(ctx);
        }
        if self.view.stream_id.is_some() && self.view.info.is_none() {
            self.request_stream(ctx);
        }
    }

    /// A job failed: unblock the rows and the summary that waited for it.
    pub fn job_failed(&mut self, job_id: u64, error: &str) {
        self.list.rows.fail_job(job_id);
        self.view.rows.fail_job(job_id);
        if self.view.summary_job == Some(job_id) {
            self.view.summary_job = None;
            self.view.load_error = Some(error.to_owned());
        }
    }

    /// Requests the pages of visible rows that are not loaded yet.
    pub fn request_visible_pages(&mut self, ctx: &mut PageCtx<'_>) {
        let (first, last) = self.list.visible;
        for job in self.list.rows.stale(first, last) {
            ctx.jobs.cancel(job);
        }
        for page in self.list.rows.want(first, last) {
            let generation = self.list.rows.generation;
            let query = self.list.query(page);
            let job = ctx.spawn_read(Lane::Interactive, "Loading streams", false, move |source| {
                Ok(AppMsg::StreamPage {
                    generation,
                    page,
                    rows: source.list_streams(&query)?,
                })
            });
            match job {
                Some(job) => self.list.rows.set_job(page, job),
                None => self.list.rows.abandon(page),
            }
        }
        if let (Some(stream_id), Some(_)) = (self.view.stream_id.clone(), &self.view.info) {
            let (first, last) = self.view.visible;
            for job in self.view.rows.stale(first, last) {
                ctx.jobs.cancel(job);
            }
            let first_version = self.view.first_version();
            let page_size = self.view.rows.page_size;
            for page in self.view.rows.want(first, last) {
                let generation = self.view.rows.generation;
                let stream_id = stream_id.clone();
                let from = first_version + page * page_size;
                let job =
                    ctx.spawn_read(Lane::Interactive, "Loading events", false, move |source| {
                        let events = source.read_stream(
                            &stream_id,
                            Some(from),
                            Direction::Forwards,
                            page_size,
                        )?;
                        Ok(AppMsg::StreamEvents {
                            generation,
                            page,
                            events,
                        })
                    });
                match job {
                    Some(job) => self.view.rows.set_job(page, job),
                    None => self.view.rows.abandon(page),
                }
            }
        }
    }

    /// Loads the open stream's summary.
    fn request_stream(&mut self, ctx: &mut PageCtx<'_>) {
        let Some(stream_id) = self.view.stream_id.clone() else {
            return;
        };
        let generation = self.view.generation;
        self.view.load_error = None;
        self.view.summary_job =
            ctx.spawn_read(Lane::Interactive, "Reading stream", false, move |source| {
                Ok(AppMsg::Stream {
                    generation,
                    info: source.stream(&stream_id)?,
                })
            });
    }

    /// Resolves a "go to" that needs the store (a time).
    fn request_version_at(
        &mut self,
        ctx: &mut PageCtx<'_>,
        at: chrono::DateTime<chrono::Utc>,
        query_text: String,
    ) {
        let Some(stream_id) = self.view.stream_id.clone() else {
            return;
        };
        let generation = self.view.generation;
        ctx.spawn_read(
            Lane::Interactive,
            "Finding version at time",
            true,
            move |source| {
                Ok(AppMsg::GoToVersion {
                    generation,
                    version: source.version_at(&stream_id, at)?,
                    query: query_text,
                })
            },
        );
    }

    /// Takes this page's job results (the app routes only those here).
    pub fn on_message(&mut self, ctx: &mut PageCtx<'_>, msg: AppMsg) {
        match msg {
            AppMsg::StreamCount { generation, count } => {
                if generation == self.list.rows.generation {
                    self.list.rows.total = Some(count);
                }
            }
            AppMsg::StreamPage {
                generation,
                page,
                rows,
            } => self.list.rows.insert(generation, page, rows),
            AppMsg::Categories(categories) => self.list.categories = Some(categories),
            AppMsg::Stream { generation, info } => self.on_stream_info(ctx, generation, info),
            AppMsg::StreamEvents {
                generation,
                page,
                events,
            } => self.on_stream_events(ctx, generation, page, events),
            AppMsg::GoToVersion {
                generation,
                version,
                query,
            } => {
                if generation != self.view.generation {
                    return;
                }
                match version {
                    Some(version) => self.select_version(ctx, version),
                    None => {
                        self.view.goto_message = Some(format!("no event at or before {query}"));
                    }
                }
            }
            AppMsg::GoToPosition { event, position } => match event {
                Some(event) => ctx.commands.push(AppCommand::OpenInStream(event)),
                None => {
                    self.view.goto_message = Some(format!("no event at position {position}"));
                }
            },
            _ => tracing::debug!("streams page: message for another page ignored"),
        }
    }

    /// Takes the open stream's summary: count, growth, follow.
    fn on_stream_info(&mut self, ctx: &mut PageCtx<'_>, generation: u64, info: Option<StreamInfo>) {
        if generation != self.view.generation {
            return;
        }
        if let Some(info) = info {
            let grew = self
                .view
                .info
                .as_ref()
                .is_some_and(|old| old.event_count != info.event_count);
            let last_page = info.event_count.saturating_sub(1) / self.view.rows.page_size;
            self.view.rows.total = Some(info.event_count);
            let first_load = self.view.info.is_none();
            self.view.info = Some(info);
            if grew {
                // The old last page may have been short: fetch it again.
                self.view.rows.invalidate_page(last_page.saturating_sub(1));
                self.view.rows.invalidate_page(last_page);
            }
            if let Some(version) = self.pending_version.filter(|_| first_load) {
                self.select_version(ctx, version);
            } else if self.view.follow && (first_load || grew) {
                let last = self.view.rows.total.unwrap_or(1).saturating_sub(1);
                self.view.scroll_to = usize::try_from(last).ok();
            }
        } else {
            let stream = self.view.stream_id.clone().unwrap_or_default();
            ctx.error("Reading stream", &format!("stream not found: {stream}"));
        }
    }

    /// Takes a page of the open stream.
    fn on_stream_events(
        &mut self,
        ctx: &mut PageCtx<'_>,
        generation: u64,
        page: u64,
        events: Vec<Event>,
    ) {
        self.view.insert_page(generation, page, events);
        if let Some(version) = self.pending_version {
            let row = self.view.row_of(version);
            if let Some(event) = self.view.rows.row(row).cloned() {
                self.pending_version = None;
                ctx.commands.push(AppCommand::Inspect(Box::new(event)));
            }
        }
    }

    /// Draws the stream list (the left panel).
    pub fn list_ui(&mut self, ui: &mut egui::Ui, commands: &mut Commands) {
        list::stream_list_ui(ui, &mut self.list, commands);
    }

    /// Draws the open stream's event table.
    pub fn table_ui(&mut self, ui: &mut egui::Ui, commands: &mut Commands) {
        table::event_table_ui(ui, &mut self.view, commands);
    }
}
