//! The global log ($all): scope-first filters (event types, stream prefix, time window,
//! newest N), a virtualised table that loads older / newer pages as you scroll, and
//! follow mode.

use std::collections::BTreeSet;

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use crate::context::messages::AppCommand;
use crate::core::time::parse_timestamp;
use crate::core::{Event, LogQuery};
use crate::ui::theme::{ROW_HEIGHT, palette};
use crate::ui::widgets::event_row;
use crate::ui::{Commands, short_time};

/// Events per page.
pub const PAGE_SIZE: u64 = 500;
/// Most events kept in memory; the far end is dropped beyond this.
pub const MAX_LOADED: usize = 20_000;

/// State of the log view.
#[derive(Debug)]
pub struct LogState {
    /// Selected event types (empty = all).
    pub types: BTreeSet<String>,
    /// All event types of the store (loaded in the background).
    pub all_types: Option<Vec<String>>,
    /// Stream prefix.
    pub stream_prefix: String,
    /// Since (RFC 3339 text).
    pub since: String,
    /// Until (RFC 3339 text).
    pub until: String,
    /// Newest N to load initially.
    pub newest: String,
    /// Position to jump to.
    pub position: String,
    /// Loaded events, in global order.
    pub events: Vec<Event>,
    /// Query generation.
    pub generation: u64,
    /// No older events match.
    pub at_start: bool,
    /// No newer events matched at the last read.
    pub at_end: bool,
    /// A page is being loaded (older, newer).
    pub loading: (bool, bool),
    /// Follow new events.
    pub follow: bool,
    /// Selected position.
    pub selected: Option<u64>,
    /// Scroll offset to apply next frame.
    pub scroll_offset: Option<f32>,
    /// Last frame's scroll offset.
    pub last_offset: f32,
    /// Row to scroll to next frame.
    pub scroll_to: Option<usize>,
    /// Input error shown next to the filters.
    pub filter_error: Option<String>,
    /// Focus the stream prefix box next frame.
    pub focus_filter: bool,
    /// Focus the position box next frame.
    pub focus_goto: bool,
}

impl Default for LogState {
    fn default() -> Self {
        Self {
            types: BTreeSet::new(),
            all_types: None,
            stream_prefix: String::new(),
            since: String::new(),
            until: String::new(),
            newest: "500".to_owned(),
            position: String::new(),
            events: Vec::new(),
            generation: 0,
            at_start: false,
            at_end: false,
            loading: (false, false),
            follow: true,
            selected: None,
            scroll_offset: None,
            last_offset: 0.0,
            scroll_to: None,
            filter_error: None,
            focus_filter: false,
            focus_goto: false,
        }
    }
}

impl LogState {
    /// The scope of the current filters, or an error about what was typed.
    ///
    /// # Errors
    /// A message naming the field that does not parse.
    pub fn scope(&self) -> Result<LogQuery, String> {
        let time = |text: &str, name: &str| -> Result<_, String> {
            let text = text.trim();
            if text.is_empty() {
                Ok(None)
            } else {
                parse_timestamp(text)
                    .map(Some)
                    .ok_or_else(|| format!("{name}: not a time (use RFC 3339)"))
            }
        };
        Ok(LogQuery {
            event_types: self.types.iter().cloned().collect(),
            stream_prefix: Some(self.stream_prefix.trim().to_owned()).filter(|p| !p.is_empty()),
            since: time(&self.since, "since")?,
            until: time(&self.until, "until")?,
            limit: PAGE_SIZE,
            ..LogQuery::default()
        })
    }

    /// The newest-N count typed (default 500).
    #[must_use]
    pub fn newest_count(&self) -> u64 {
        self.newest
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(PAGE_SIZE)
            .min(crate::core::query::MAX_PAGE)
    }

    /// Adds events in the given placement, keeping memory bounded.
    pub fn place(
        &mut self,
        placement: crate::context::messages::LogPlacement,
        mut events: Vec<Event>,
    ) {
        use crate::context::messages::LogPlacement;
        match placement {
            LogPlacement::ReplaceAtEnd | LogPlacement::ReplaceAtStart => {
                self.at_start = placement == LogPlacement::ReplaceAtStart && events.is_empty();
                self.at_end = placement == LogPlacement::ReplaceAtEnd;
                self.events = events;
                if placement == LogPlacement::ReplaceAtEnd {
                    self.scroll_to = self.events.len().checked_sub(1);
                } else {
                    self.scroll_offset = Some(0.0);
                }
            }
            LogPlacement::Append => {
                self.at_end = (events.len() as u64) < PAGE_SIZE;
                self.events.append(&mut events);
                if self.events.len() > MAX_LOADED {
                    let drop = self.events.len() - MAX_LOADED;
                    self.events.drain(..drop);
                    self.at_start = false;
                    self.scroll_offset =
                        Some((self.last_offset - drop as f32 * ROW_HEIGHT).max(0.0));
                }
            }
            LogPlacement::Prepend => {
                self.at_start = (events.len() as u64) < PAGE_SIZE;
                let added = events.len();
                events.append(&mut self.events);
                self.events = events;
                if self.events.len() > MAX_LOADED {
                    self.events.truncate(MAX_LOADED);
                    self.at_end = false;
                }
                self.scroll_offset = Some(self.last_offset + added as f32 * ROW_HEIGHT);
            }
        }
    }
}

/// Draws the log view.
pub fn log_view_ui(ui: &mut Ui, state: &mut LogState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.horizontal_wrapped(|ui| {
        let types_text = if state.types.is_empty() {
            "all types".to_owned()
        } else {
            crate::ui::count_of(state.types.len() as u64, "type", "types")
        };
        ui.menu_button(types_text, |ui| {
            egui::ScrollArea::vertical()
                .max_height(400.0)
                .show(ui, |ui| match &state.all_types {
                    None => {
                        ui.label("loading types…");
                    }
                    Some(all) => {
                        if ui.button("All types").clicked() {
                            state.types.clear();
                            commands.push(AppCommand::LogQueryChanged);
                        }
                        for name in all {
                            let mut on = state.types.contains(name);
                            if ui.checkbox(&mut on, name).changed() {
                                if on {
                                    state.types.insert(name.clone());
                                } else {
                                    state.types.remove(name);
                                }
                                commands.push(AppCommand::LogQueryChanged);
                            }
                        }
                    }
                });
        });
        let mut submitted = false;
        let mut field =
            |ui: &mut Ui, label: &str, text: &mut String, hint: &str, width: f32, focus: bool| {
                let label = ui.label(label);
                let response = ui
                    .add(
                        egui::TextEdit::singleline(text)
                            .hint_text(hint)
                            .desired_width(width),
                    )
                    .labelled_by(label.id);
                if focus {
                    response.request_focus();
                }
                if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    submitted = true;
                }
            };
        let focus_filter = std::mem::take(&mut state.focus_filter);
        field(
            ui,
            "Stream prefix",
            &mut state.stream_prefix,
            "order-",
            110.0,
            focus_filter,
        );
        field(
            ui,
            "Since",
            &mut state.since,
            "2024-01-01T00:00:00Z",
            150.0,
            false,
        );
        field(ui, "Until", &mut state.until, "RFC 3339", 150.0, false);
        field(ui, "Newest", &mut state.newest, "500", 50.0, false);
        if ui.button("Apply").clicked() || submitted {
            commands.push(AppCommand::LogQueryChanged);
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Position");
        let focus_goto = std::mem::take(&mut state.focus_goto);
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut state.position)
                    .hint_text("global position")
                    .desired_width(110.0),
            )
            .labelled_by(label.id);
        if focus_goto {
            response.request_focus();
        }
        let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Go").clicked() || enter {
            match state.position.trim().trim_start_matches('#').parse::<u64>() {
                Ok(position) => commands.push(AppCommand::LogFrom(position)),
                Err(_) => state.filter_error = Some("position: not a number".to_owned()),
            }
        }
        if ui.button("Oldest").clicked() {
            commands.push(AppCommand::LogFrom(0));
        }
        if ui.button("Newest").clicked() {
            commands.push(AppCommand::LogQueryChanged);
        }
        ui.checkbox(&mut state.follow, "Follow")
            .on_hover_text("Append new events as they arrive");
        if let Some(error) = &state.filter_error {
            ui.label(RichText::new(error).color(colours.error));
        }
    });
    ui.separator();
    if state.events.is_empty() {
        if state.loading.0 || state.loading.1 {
            ui.spinner();
        } else {
            ui.label(RichText::new("No events match these filters").color(colours.muted));
        }
        return;
    }
    // A frame that jumps (to the end, or to keep the place after a prepend) must not read
    // its stale offset as "near the top" and load more.
    let jumped = state.scroll_to.is_some() || state.scroll_offset.is_some();
    let output = egui::ScrollArea::horizontal()
        .id_salt("log-h")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let mut table = TableBuilder::new(ui)
                .id_salt("log")
                .striped(true)
                .sense(egui::Sense::click())
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(Column::exact(84.0))
                .column(
                    Column::initial(260.0)
                        .at_least(100.0)
                        .clip(true)
                        .resizable(true),
                )
                .column(Column::exact(56.0))
                .column(
                    Column::initial(190.0)
                        .at_least(80.0)
                        .clip(true)
                        .resizable(true),
                )
                .column(Column::remainder().at_least(168.0))
                .auto_shrink([false, false]);
            if state.follow && state.at_end {
                table = table.stick_to_bottom(true);
            }
            if let Some(offset) = state.scroll_offset.take() {
                table = table.vertical_scroll_offset(offset);
            }
            if let Some(row) = state.scroll_to.take() {
                table = table.scroll_to_row(row, Some(egui::Align::BOTTOM));
            }
            let selected = state.selected;
            let events = &state.events;
            table
                .header(ROW_HEIGHT, |mut header| {
                    event_row::header(&mut header, "Recorded at (UTC)");
                })
                .body(|body| {
                    body.rows(ROW_HEIGHT, events.len(), |mut row| {
                        let event = &events[row.index()];
                        row.set_selected(selected == Some(event.global_position));
                        let position = event.global_position.to_string();
                        event_row::cells(&mut row, event, position, commands);
                        row.col(|ui| {
                            ui.label(RichText::new(short_time(event.recorded_at)).monospace());
                        });
                        if event_row::clicked(&row, event, commands) {
                            commands.push(AppCommand::Inspect(Box::new(event.clone())));
                        }
                    });
                })
        })
        .inner;
    state.last_offset = output.state.clamped_offset().y;
    let content_height = state.events.len() as f32 * ROW_HEIGHT;
    let near_top = output.state.clamped_offset().y < ROW_HEIGHT * 20.0;
    let near_bottom = output.state.clamped_offset().y + output.inner_rect.height()
        > content_height - ROW_HEIGHT * 20.0;
    if jumped {
        return;
    }
    if near_top && !state.at_start && !state.loading.0 {
        commands.push(AppCommand::LogMore { older: true });
    }
    if near_bottom && !state.at_end && !state.loading.1 {
        commands.push(AppCommand::LogMore { older: false });
    }
}
