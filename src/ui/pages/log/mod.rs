//! The log page: the store's events in global order, filtered by type, stream prefix and
//! time, loaded in pages at either end. It owns the loaded events and the jobs that read
//! them; selecting an event is an [`AppCommand::Inspect`](crate::context::messages::AppCommand)
//! the app routes.

pub mod view;

use crate::context::jobs::Lane;
use crate::context::messages::{AppMsg, LogPlacement};
use crate::context::page::PageCtx;
use crate::core::{Direction, Event, LogQuery};
use crate::ui::Commands;
use view::LogState;

/// The log page.
#[derive(Debug, Default)]
pub struct LogPage {
    /// What the view draws.
    pub view: LogState,
}

impl LogPage {
    /// Starts over for a newly opened store: the type list and the newest events.
    pub fn on_open(&mut self, ctx: &mut PageCtx<'_>) {
        *self = Self::default();
        Self::request_types(ctx);
        self.request(ctx, LogPlacement::ReplaceAtEnd, None);
    }

    /// The page came on screen: load the newest events if nothing is loaded.
    pub fn on_show(&mut self, ctx: &mut PageCtx<'_>) {
        if self.view.events.is_empty() && !self.view.loading.1 {
            self.request(ctx, LogPlacement::ReplaceAtEnd, None);
        }
    }

    fn request_types(ctx: &mut PageCtx<'_>) {
        ctx.spawn_read(Lane::Background, "Listing event types", true, |source| {
            Ok(AppMsg::EventTypes(source.event_types()?))
        });
    }

    /// The query of the current filters (`None` while a filter does not parse).
    #[must_use]
    pub fn scope(&self) -> Option<LogQuery> {
        self.view.scope().ok()
    }

    /// An event is being inspected: select it here too.
    pub fn on_inspect(&mut self, event: &Event) {
        self.view.selected = Some(event.global_position);
    }

    /// The inspector closed.
    pub fn clear_selection(&mut self) {
        self.view.selected = None;
    }

    /// Focuses the type filter (Ctrl+F).
    pub fn focus_filter(&mut self) {
        self.view.focus_filter = true;
    }

    /// Focuses the position box (Ctrl+G).
    pub fn focus_goto(&mut self) {
        self.view.focus_goto = true;
    }

    /// Moves the selection by `step` rows; returns the event to inspect.
    pub fn move_selection(&mut self, step: i64) -> Option<Event> {
        let events = &self.view.events;
        if events.is_empty() {
            return None;
        }
        let index = self
            .view
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
        self.view.scroll_to = Some(target);
        Some(events[target].clone())
    }

    /// The head moved: append the new events when following the end.
    pub fn on_head_changed(&mut self, ctx: &mut PageCtx<'_>) {
        if self.view.follow && self.view.at_end && !self.view.loading.1 {
            self.view.at_end = false;
            self.request(ctx, LogPlacement::Append, None);
        }
    }

    /// Asks again for what failed to load: the type list, and the log when empty.
    pub fn retry(&mut self, ctx: &mut PageCtx<'_>) {
        if self.view.all_types.is_none() {
            Self::request_types(ctx);
        }
        if self.view.events.is_empty() && !self.view.loading.1 {
            self.request(ctx, LogPlacement::ReplaceAtEnd, None);
        }
    }

    /// A job failed: nothing is loading any more.
    pub fn job_failed(&mut self) {
        self.view.loading = (false, false);
    }

    /// Loads log events for the current filters.
    pub fn request(&mut self, ctx: &mut PageCtx<'_>, placement: LogPlacement, from: Option<u64>) {
        let mut query = match self.view.scope() {
            Ok(query) => query,
            Err(message) => {
                self.view.filter_error = Some(message);
                return;
            }
        };
        self.view.filter_error = None;
        match placement {
            LogPlacement::ReplaceAtEnd => {
                self.view.generation += 1;
                query.direction = Direction::Backwards;
                query.limit = self.view.newest_count();
                self.view.loading = (true, true);
            }
            LogPlacement::ReplaceAtStart => {
                self.view.generation += 1;
                query.from_position = from;
                self.view.loading = (true, true);
            }
            LogPlacement::Prepend => {
                let Some(first) = self.view.events.first() else {
                    return;
                };
                if first.global_position <= 1 {
                    self.view.at_start = true;
                    return;
                }
                query.from_position = Some(first.global_position - 1);
                query.direction = Direction::Backwards;
                self.view.loading.0 = true;
            }
            LogPlacement::Append => {
                let Some(last) = self.view.events.last() else {
                    return self.request(ctx, LogPlacement::ReplaceAtEnd, None);
                };
                query.from_position = Some(last.global_position + 1);
                self.view.loading.1 = true;
            }
        }
        let generation = self.view.generation;
        let visible = matches!(
            placement,
            LogPlacement::ReplaceAtEnd | LogPlacement::ReplaceAtStart
        );
        let job = ctx.spawn_read(
            Lane::Interactive,
            "Reading the log",
            visible,
            move |source| {
                let mut events = source.read_log(&query)?;
                if query.direction == Direction::Backwards {
                    events.reverse();
                }
                Ok(AppMsg::LogEvents {
                    generation,
                    placement,
                    events,
                })
            },
        );
        if job.is_none() {
            self.view.loading = (false, false);
        }
    }

    /// Takes this page's job results (the app routes only those here).
    pub fn on_message(&mut self, msg: AppMsg) {
        match msg {
            AppMsg::EventTypes(types) => self.view.all_types = Some(types),
            AppMsg::LogEvents {
                generation,
                placement,
                events,
            } => {
                if generation != self.view.generation {
                    return;
                }
                match placement {
                    LogPlacement::Prepend => self.view.loading.0 = false,
                    LogPlacement::Append => self.view.loading.1 = false,
                    _ => self.view.loading = (false, false),
                }
                self.view.place(placement, events);
            }
            _ => tracing::debug!("log page: message for another page ignored"),
        }
    }

    /// Draws the page.
    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut Commands) {
        view::log_view_ui(ui, &mut self.view, commands);
    }
}
