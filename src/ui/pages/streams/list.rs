//! The streams panel: a virtualised list of every stream, with filter-as-you-type, a
//! category filter with counts, and sorting by id or last activity.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use crate::context::messages::AppCommand;
use crate::context::paged::PagedRows;
use crate::core::{StreamInfo, StreamQuery, StreamSort};
use crate::ui::theme::{ROW_HEIGHT, palette};
use crate::ui::{Commands, thousands};

/// Rows per fetched page.
pub const PAGE_SIZE: u64 = 200;

/// State of the streams panel.
#[derive(Debug)]
pub struct StreamListState {
    /// Filter text.
    pub filter: String,
    /// Category filter.
    pub category: Option<String>,
    /// Sort order.
    pub sort: StreamSort,
    /// Cached rows.
    pub rows: PagedRows<StreamInfo>,
    /// Categories with counts (loaded in the background).
    pub categories: Option<Vec<(String, u64)>>,
    /// The selected stream.
    pub selected: Option<String>,
    /// Visible row range of the last frame (for page requests).
    pub visible: (u64, u64),
    /// Set to focus the filter box on the next frame.
    pub focus_filter: bool,
    /// Row to scroll to on the next frame.
    pub scroll_to: Option<usize>,
}

impl Default for StreamListState {
    fn default() -> Self {
        Self {
            filter: String::new(),
            category: None,
            sort: StreamSort::Id,
            rows: PagedRows::new(PAGE_SIZE),
            categories: None,
            selected: None,
            visible: (0, 40),
            focus_filter: false,
            scroll_to: None,
        }
    }
}

impl StreamListState {
    /// The query for a page.
    #[must_use]
    pub fn query(&self, page: u64) -> StreamQuery {
        StreamQuery {
            filter: Some(self.filter.trim().to_owned()).filter(|f| !f.is_empty()),
            category: self.category.clone(),
            sort: self.sort,
            offset: page * PAGE_SIZE,
            limit: PAGE_SIZE,
        }
    }
}

/// Draws the streams panel.
pub fn stream_list_ui(ui: &mut Ui, state: &mut StreamListState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.horizontal(|ui| {
        let label = ui.label("Filter");
        let response = ui.add(
            egui::TextEdit::singleline(&mut state.filter)
                .hint_text("stream id contains…")
                .desired_width(f32::INFINITY),
        );
        let response = response.labelled_by(label.id);
        if state.focus_filter {
            response.request_focus();
            state.focus_filter = false;
        }
        if response.changed() {
            commands.push(AppCommand::StreamQueryChanged);
        }
    });
    ui.horizontal(|ui| {
        let shown = state.category.clone().unwrap_or_else(|| "all".to_owned());
        let shown = if shown.is_empty() {
            "(no category)".to_owned()
        } else {
            shown
        };
        let category_label = ui.label("Category");
        let category_combo = egui::ComboBox::from_id_salt("category")
            .selected_text(shown)
            .width(140.0)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(state.category.is_none(), "all")
                    .clicked()
                {
                    state.category = None;
                    commands.push(AppCommand::StreamQueryChanged);
                }
                match &state.categories {
                    None => {
                        ui.label(RichText::new("counting…").color(colours.muted));
                    }
                    Some(categories) => {
                        for (name, count) in categories {
                            let text = format!(
                                "{} ({})",
                                if name.is_empty() {
                                    "(no category)"
                                } else {
                                    name
                                },
                                thousands(*count)
                            );
                            if ui
                                .selectable_label(state.category.as_ref() == Some(name), text)
                                .clicked()
                            {
                                state.category = Some(name.clone());
                                commands.push(AppCommand::StreamQueryChanged);
                            }
                        }
                    }
                }
            });
        category_combo.response.labelled_by(category_label.id);
        let sort_label = ui.label("Sort");
        let before = state.sort;
        let sort_combo = egui::ComboBox::from_id_salt("sort")
            .selected_text(match state.sort {
                StreamSort::Id => "id",
                StreamSort::LastActivity => "last activity",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.sort, StreamSort::Id, "id");
                ui.selectable_value(&mut state.sort, StreamSort::LastActivity, "last activity");
            });
        sort_combo.response.labelled_by(sort_label.id);
        if before != state.sort {
            commands.push(AppCommand::StreamQueryChanged);
        }
    });
    let count_text = match state.rows.total {
        Some(total) => crate::ui::count_of(total, "stream", "streams"),
        None if state.rows.is_loading() => "loading…".to_owned(),
        None => "counting…".to_owned(),
    };
    ui.label(RichText::new(count_text).color(colours.muted));
    ui.separator();

    let total = state.rows.display_rows();
    if total == 0 && !state.rows.is_loading() && state.rows.total == Some(0) {
        ui.label(
            if state.filter.trim().is_empty() && state.category.is_none() {
                "This store has no streams".to_owned()
            } else {
                format!("No stream matches {:?}", state.filter.trim())
            },
        );
        return;
    }
    let mut table = TableBuilder::new(ui)
        .id_salt("streams")
        .striped(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::remainder().at_least(120.0).clip(true))
        .column(Column::exact(64.0))
        .column(Column::exact(150.0))
        .auto_shrink([false, false]);
    if let Some(row) = state.scroll_to.take() {
        table = table.scroll_to_row(row, Some(egui::Align::Center));
    }
    let output = table
        .header(ROW_HEIGHT, |mut header| {
            header.col(|ui| {
                ui.strong("Stream");
            });
            header.col(|ui| crate::ui::right_header(ui, "Events"));
            header.col(|ui| {
                ui.strong("Last activity (UTC)");
            });
        })
        .body(|body| {
            body.rows(
                ROW_HEIGHT,
                usize::try_from(total).unwrap_or(usize::MAX),
                |mut row| {
                    let index = row.index() as u64;
                    let Some(stream) = state.rows.row(index) else {
                        let failed = state.rows.is_failed(index);
                        row.col(|ui| {
                            if failed {
                                ui.label(RichText::new("not loaded").color(colours.error))
                                    .on_hover_text("Reading this page failed: see the status bar");
                            } else {
                                ui.label(RichText::new("…").color(colours.muted));
                            }
                        });
                        row.col(|_| {});
                        row.col(|_| {});
                        return;
                    };
                    let selected = state.selected.as_deref() == Some(stream.stream_id.as_str());
                    row.set_selected(selected);
                    row.col(|ui| {
                        ui.add(
                            egui::Label::new(RichText::new(&stream.stream_id).monospace())
                                .truncate(),
                        )
                        .on_hover_text(format!(
                            "{}\ncategory: {}",
                            stream.stream_id, stream.category
                        ));
                    });
                    row.col(|ui| crate::ui::right_aligned(ui, thousands(stream.event_count)));
                    row.col(|ui| {
                        let time = stream.last_recorded_at.map_or_else(
                            || "—".to_owned(),
                            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
                        );
                        ui.label(RichText::new(time).monospace());
                    });
                    if row.response().clicked() {
                        commands.push(AppCommand::SelectStream {
                            stream_id: stream.stream_id.clone(),
                            version: None,
                        });
                    }
                },
            );
        });
    let first = (output.state.clamped_offset().y / ROW_HEIGHT).max(0.0) as u64;
    let visible_rows = (output.inner_rect.height() / ROW_HEIGHT).ceil() as u64 + 1;
    state.visible = (first, first + visible_rows);
}
