//! The stream view: a virtualised table of one stream's events, go to version / time,
//! and follow mode.

use std::collections::HashMap;

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use crate::context::messages::AppCommand;
use crate::context::paged::PagedRows;
use crate::core::{Event, StreamInfo};
use crate::ui::theme::{ROW_HEIGHT, palette};
use crate::ui::{Commands, short_id, short_time};

/// Events per fetched page.
pub const PAGE_SIZE: u64 = 200;

/// State of the stream view.
#[derive(Debug)]
pub struct StreamViewState {
    /// The stream shown.
    pub stream_id: Option<String>,
    /// Its summary.
    pub info: Option<StreamInfo>,
    /// Cached events (row i = version `first_version + i`).
    pub rows: PagedRows<Event>,
    /// The selected version.
    pub selected_version: Option<u64>,
    /// Follow new events.
    pub follow: bool,
    /// Go-to text.
    pub goto: String,
    /// Message about the last go-to.
    pub goto_message: Option<String>,
    /// Focus the go-to box on the next frame.
    pub focus_goto: bool,
    /// Row to scroll to on the next frame.
    pub scroll_to: Option<usize>,
    /// Visible rows of the last frame.
    pub visible: (u64, u64),
    /// Where the user was in each stream visited (first visible row, selected version).
    pub places: HashMap<String, (u64, Option<u64>)>,
    /// Generation of the stream selection.
    pub generation: u64,
    /// Why the stream's summary could not be read (shown instead of a spinner).
    pub load_error: Option<String>,
    /// The job reading the summary.
    pub summary_job: Option<u64>,
    /// Some event loaded for this stream has a schema version (the Schema column shows;
    /// it stays for the stream, so columns do not jump as pages come and go).
    pub has_schema: bool,
    /// The longest event type loaded for this stream (the Type column fits it).
    pub longest_type: String,
}

impl Default for StreamViewState {
    fn default() -> Self {
        Self {
            stream_id: None,
            info: None,
            rows: PagedRows::new(PAGE_SIZE),
            selected_version: None,
            follow: false,
            goto: String::new(),
            goto_message: None,
            focus_goto: false,
            scroll_to: None,
            visible: (0, 40),
            places: HashMap::new(),
            generation: 0,
            load_error: None,
            summary_job: None,
            has_schema: false,
            longest_type: String::new(),
        }
    }
}

impl StreamViewState {
    /// A new stream is shown: forget the rows and what the columns were fitted to; returns
    /// the new generation.
    pub fn reset_rows(&mut self) -> u64 {
        self.has_schema = false;
        self.longest_type.clear();
        self.generation = self.rows.reset();
        self.generation
    }

    /// A page of events arrived: the columns learn from it (schema versions, the longest
    /// type by characters), then it is cached.
    pub fn insert_page(&mut self, generation: u64, page: u64, events: Vec<Event>) {
        if generation == self.rows.generation {
            self.has_schema |= events.iter().any(|e| e.schema_version.is_some());
            if let Some(longest) = events
                .iter()
                .map(|e| e.event_type.as_str())
                .max_by_key(|t| t.chars().count())
                .filter(|t| t.chars().count() > self.longest_type.chars().count())
            {
                self.longest_type = longest.to_owned();
            }
        }
        self.rows.insert(generation, page, events);
    }

    /// The version of the first event (versions are contiguous within a stream).
    #[must_use]
    pub fn first_version(&self) -> u64 {
        self.info
            .as_ref()
            .map_or(1, |i| (i.last_version + 1).saturating_sub(i.event_count))
    }

    /// Row index of a version.
    #[must_use]
    pub fn row_of(&self, version: u64) -> u64 {
        version.saturating_sub(self.first_version())
    }

    /// The selected event, if loaded.
    #[must_use]
    pub fn selected_event(&self) -> Option<&Event> {
        self.selected_version
            .and_then(|v| self.rows.row(self.row_of(v)))
    }
}

/// Draws the stream view.
pub fn event_table_ui(ui: &mut Ui, state: &mut StreamViewState, commands: &mut Commands) {
    let colours = palette(ui);
    let Some(stream_id) = state.stream_id.clone() else {
        ui.centered_and_justified(|ui| {
            ui.label(
                RichText::new("Select a stream on the left to see its events").color(colours.muted),
            );
        });
        return;
    };
    ui.horizontal(|ui| {
        ui.heading(RichText::new(&stream_id).monospace());
        if let Some(info) = &state.info {
            ui.label(crate::ui::count_of(info.event_count, "event", "events"));
            if !info.category.is_empty() {
                ui.label(RichText::new(&info.category).color(colours.muted));
            }
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Go to");
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut state.goto)
                    .hint_text("version, #position or time")
                    .desired_width(220.0),
            )
            .labelled_by(label.id);
        if state.focus_goto {
            response.request_focus();
            state.focus_goto = false;
        }
        if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
            || ui.button("Go").clicked()
        {
            commands.push(AppCommand::GoTo(state.goto.trim().to_owned()));
        }
        ui.checkbox(&mut state.follow, "Follow")
            .on_hover_text("Show new events as they are appended");
        if let Some(message) = &state.goto_message {
            ui.label(RichText::new(message).color(colours.warning));
        }
    });
    ui.separator();
    let Some(info) = &state.info else {
        match &state.load_error {
            Some(error) => {
                ui.label(
                    RichText::new(format!("Could not read this stream: {error}"))
                        .color(colours.error),
                );
                if ui
                    .button("Try again")
                    .on_hover_text("Also happens by itself once the store answers")
                    .clicked()
                {
                    commands.push(AppCommand::Retry);
                }
            }
            None => {
                ui.spinner();
            }
        }
        return;
    };
    let total = usize::try_from(info.event_count).unwrap_or(usize::MAX);
    if total == 0 {
        ui.label("This stream has no events");
        return;
    }
    let first_version = state.first_version();
    // Most stores keep no schema version: the column only when some event has one, so the
    // time and correlation fit beside the inspector.
    let show_schema = state.has_schema;
    let type_width = if state.longest_type.is_empty() {
        120.0
    } else {
        let font = egui::TextStyle::Body.resolve(ui.style());
        let width = ui
            .painter()
            .layout_no_wrap(state.longest_type.clone(), font, egui::Color32::WHITE)
            .size()
            .x;
        (width + 12.0).clamp(80.0, 240.0)
    };
    let output = egui::ScrollArea::horizontal()
        .id_salt("events-h")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let mut table = TableBuilder::new(ui)
                .id_salt(("events", &stream_id))
                .striped(true)
                .sense(egui::Sense::click())
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(Column::exact(72.0))
                .column(Column::exact(60.0))
                .column(Column::exact(type_width).clip(true));
            if show_schema {
                table = table.column(Column::exact(56.0));
            }
            let mut table = table
                .column(Column::exact(182.0))
                .column(Column::remainder().at_least(80.0).clip(true))
                .auto_shrink([false, false]);
            if state.follow {
                table = table.stick_to_bottom(true);
            }
            if let Some(row) = state.scroll_to.take() {
                table = table.scroll_to_row(row, Some(egui::Align::Center));
            }
            let selected_version = state.selected_version;
            let rows = &state.rows;
            table
                .header(ROW_HEIGHT, |mut header| {
                    header.col(|ui| crate::ui::right_header(ui, "Position"));
                    header.col(|ui| crate::ui::right_header(ui, "Version"));
                    header.col(|ui| {
                        ui.strong("Type");
                    });
                    if show_schema {
                        header.col(|ui| crate::ui::right_header(ui, "Schema"));
                    }
                    header.col(|ui| {
                        ui.strong("Recorded at (UTC)");
                    });
                    header.col(|ui| {
                        ui.strong("Correlation");
                    });
                })
                .body(|body| {
                    body.rows(ROW_HEIGHT, total, |mut row| {
                        let index = row.index() as u64;
                        let Some(event) = rows.row(index) else {
                            let failed = rows.is_failed(index);
                            row.col(|ui| {
                                if failed {
                                    ui.label(RichText::new("not loaded").color(palette(ui).error))
                                        .on_hover_text(
                                            "Reading this page failed: see the status bar",
                                        );
                                } else {
                                    crate::ui::right_aligned(ui, "…");
                                }
                            });
                            row.col(|ui| {
                                crate::ui::right_aligned(ui, (first_version + index).to_string());
                            });
                            for _ in 0..(3 + usize::from(show_schema)) {
                                row.col(|_| {});
                            }
                            return;
                        };
                        row.set_selected(selected_version == Some(event.stream_version));
                        row.col(|ui| {
                            crate::ui::right_aligned(ui, event.global_position.to_string());
                        });
                        row.col(|ui| {
                            crate::ui::right_aligned(ui, event.stream_version.to_string());
                        });
                        row.col(|ui| {
                            crate::ui::event_type_cell(ui, event);
                        });
                        if show_schema {
                            row.col(|ui| {
                                crate::ui::right_aligned(
                                    ui,
                                    event
                                        .schema_version
                                        .map(|v| format!("v{v}"))
                                        .unwrap_or_default(),
                                );
                            });
                        }
                        row.col(|ui| {
                            ui.label(RichText::new(short_time(event.recorded_at)).monospace());
                        });
                        row.col(|ui| {
                            if let Some(correlation) = &event.correlation_id {
                                ui.add(
                                    egui::Label::new(
                                        RichText::new(short_id(correlation, 12)).monospace(),
                                    )
                                    .truncate(),
                                )
                                .on_hover_text(correlation);
                            }
                        });
                        if row.response().clicked() {
                            commands.push(AppCommand::Inspect(Box::new(event.clone())));
                        }
                    });
                })
        })
        .inner;
    let first = (output.state.clamped_offset().y / ROW_HEIGHT).max(0.0) as u64;
    let visible_rows = (output.inner_rect.height() / ROW_HEIGHT).ceil() as u64 + 1;
    state.visible = (first, first + visible_rows);
}
