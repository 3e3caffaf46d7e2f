//! The upcasters view: the event types with a histogram of stored versions, each event of
//! a type (or a stream) side by side — stored, every chain step, final — with structural
//! differences coloured and failures at the failing step; and the bulk check with its
//! shape comparison. Draws from its own state; all work runs on background jobs.

use std::collections::{BTreeMap, HashMap};

use egui::{RichText, Ui};
use serde_json::Value;

use crate::context::messages::AppCommand;
use crate::replay::diff::{Change, escape_key};
use crate::ui::theme::{diff_colours, palette};
use crate::ui::{Commands, thousands};
use crate::upcast::check::CheckReport;
use crate::upcast::engine::StepInfo;
use crate::upcast::preview::{PreviewColumn, PreviewPage, PreviewRow, Selection};

pub use crate::context::upcast::{
    ColumnView, JsonLine, PageMove, RowView, UpcastCommand, UpcastTab,
};

/// Events per page.
pub const PAGE_SIZE: u64 = 10;
/// Width of one column of a row.
const COLUMN_WIDTH: f32 = 330.0;
/// Lines shown per column at most.
const MAX_LINES: usize = 400;
/// Nesting shown at most.
const MAX_DEPTH: usize = 32;

/// State of the upcasters view.
#[derive(Debug, Default)]
pub struct UpcastViewState {
    /// The loaded files, for the header.
    pub files_label: String,
    /// Where they came from.
    pub origin: String,
    /// Registered steps.
    pub steps: Vec<StepInfo>,
    /// Why the files could not be loaded.
    pub load_error: Option<String>,
    /// Registrations that name no type of the store ("did you mean …").
    pub type_warnings: Vec<String>,
    /// When they were last (re)loaded.
    pub loaded_note: Option<String>,
    /// Typed upcaster file path(s).
    pub path_input: String,
    /// Stored events per type and version, once counted.
    pub histogram: Option<BTreeMap<String, BTreeMap<u32, u64>>>,
    /// Counting progress.
    pub histogram_progress: Option<f32>,
    /// What is paged through.
    pub selection: Option<Selection>,
    /// Typed stream id.
    pub stream_input: String,
    /// The page's rows.
    pub rows: Vec<RowView>,
    /// Cursor of the first and last rows.
    pub page_first: Option<u64>,
    /// Cursor of the last row.
    pub page_last: Option<u64>,
    /// Nothing after this page.
    pub at_end: bool,
    /// A page is loading.
    pub loading: bool,
    /// Looking for the next failure.
    pub searching: bool,
    /// A note for the user ("no further failure").
    pub message: Option<String>,
    /// The tab shown.
    pub tab: UpcastTab,
    /// Check the whole store rather than the selected type.
    pub whole_store: bool,
    /// The last check's result.
    pub check: Option<CheckReport>,
    /// The upcasters changed since the check ran.
    pub check_stale: bool,
    /// Progress of a running check (fraction, events read).
    pub check_progress: Option<(f32, u64)>,
    /// The running check's job.
    pub check_job: Option<u64>,
    /// Why the check failed.
    pub check_error: Option<String>,
}

impl UpcastViewState {
    /// Takes a loaded page.
    pub fn set_page(&mut self, page: &PreviewPage) {
        self.rows = page.rows.iter().map(row_view).collect();
        self.page_first = page.first;
        self.page_last = page.last;
        self.at_end = page.at_end;
        self.loading = false;
    }

    /// The latest version a type's upcasters reach.
    #[must_use]
    pub fn latest(&self, event_type: &str) -> Option<u32> {
        self.steps
            .iter()
            .filter(|s| s.event_type == event_type)
            .map(|s| s.to)
            .max()
    }
}

/// Builds the drawable row of a preview row.
#[must_use]
pub fn row_view(row: &PreviewRow) -> RowView {
    let event = &row.event;
    let heading = format!(
        "#{} {}@{} · {}",
        event.global_position, event.stream_id, event.stream_version, event.event_type
    );
    let failure = row.failure();
    let status = match failure {
        Some(f) => format!("failed at v{} -> v{}: {}", f.from, f.to, f.kind.label()),
        None if row.columns.len() > 1 => {
            let to = row
                .columns
                .last()
                .map(|c| c.title.rsplit('v').next().unwrap_or_default().to_owned())
                .unwrap_or_default();
            format!("upcast v{} -> v{to}", row.stored.version)
        }
        None => format!("stored v{}: nothing to upcast", row.stored.version),
    };
    RowView {
        heading,
        status,
        failed: failure.is_some(),
        columns: row.columns.iter().map(column_view).collect(),
    }
}

fn column_view(column: &PreviewColumn) -> ColumnView {
    let mut marks: HashMap<&str, Change> = HashMap::new();
    let mut removed = Vec::new();
    for entry in &column.diff {
        match entry.change {
            Change::Removed => removed.push(format!(
                "{}: {}",
                entry.path,
                entry
                    .left
                    .as_ref()
                    .map(|v| crate::ui::short_id(&v.to_string(), 60))
                    .unwrap_or_default()
            )),
            change => {
                marks.insert(entry.path.as_str(), change);
            }
        }
    }
    let mut lines = Vec::new();
    if let Some(value) = &column.value {
        json_lines(value, &marks, &mut lines);
    }
    ColumnView {
        title: column.title.clone(),
        lines,
        removed,
        changes: column.diff.len(),
        failure: column.failure.clone(),
    }
}

/// Pretty-printed lines of a value, each marked with how it differs (a mark on an object
/// or array covers its children).
#[allow(clippy::implicit_hasher)] // Called with the marks map built just before; never another hasher.
pub fn json_lines(value: &Value, marks: &HashMap<&str, Change>, out: &mut Vec<JsonLine>) {
    emit(None, value, "", 0, None, marks, out);
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Object(m) if m.is_empty() => "{}".to_owned(),
        Value::Array(a) if a.is_empty() => "[]".to_owned(),
        Value::Object(_) => "{…}".to_owned(),
        Value::Array(_) => "[…]".to_owned(),
        other => other.to_string(),
    }
}

fn emit(
    key: Option<&str>,
    value: &Value,
    pointer: &str,
    indent: usize,
    inherited: Option<Change>,
    marks: &HashMap<&str, Change>,
    out: &mut Vec<JsonLine>,
) {
    if out.len() >= MAX_LINES {
        if out.len() == MAX_LINES {
            out.push(JsonLine {
                indent,
                text: "… (more)".to_owned(),
                mark: None,
            });
        }
        return;
    }
    let mark = marks.get(pointer).copied().or(inherited);
    let prefix = key.map(|k| format!("{k:?}: ")).unwrap_or_default();
    let nested = match value {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    if !nested || indent >= MAX_DEPTH {
        out.push(JsonLine {
            indent,
            text: format!("{prefix}{}", scalar(value)),
            mark,
        });
        return;
    }
    match value {
        Value::Object(map) => {
            out.push(JsonLine {
                indent,
                text: format!("{prefix}{{"),
                mark,
            });
            for (k, v) in map {
                let child = format!("{pointer}/{}", escape_key(k));
                emit(Some(k), v, &child, indent + 1, mark, marks, out);
            }
            out.push(JsonLine {
                indent,
                text: "}".to_owned(),
                mark,
            });
        }
        Value::Array(items) => {
            out.push(JsonLine {
                indent,
                text: format!("{prefix}["),
                mark,
            });
            for (i, v) in items.iter().enumerate() {
                let child = format!("{pointer}/{i}");
                emit(None, v, &child, indent + 1, mark, marks, out);
            }
            out.push(JsonLine {
                indent,
                text: "]".to_owned(),
                mark,
            });
        }
        _ => {}
    }
}

/// The left side: upcaster files, event types with their version histogram, a stream.
pub fn upcast_side_ui(ui: &mut Ui, state: &mut UpcastViewState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.heading("Upcasters");
    if state.files_label.is_empty() {
        ui.label(RichText::new("No upcaster files loaded").color(colours.muted));
    } else {
        ui.label(RichText::new(&state.files_label).monospace())
            .on_hover_text(&state.origin);
    }
    if let Some(note) = &state.loaded_note {
        ui.label(RichText::new(note).color(colours.muted).small());
    }
    if let Some(error) = &state.load_error {
        ui.label(RichText::new(error).color(colours.error));
    }
    for warning in &state.type_warnings {
        ui.label(RichText::new(format!("Warning: {warning}")).color(colours.warning));
    }
    ui.horizontal(|ui| {
        let label = ui.label("Upcaster file");
        ui.add(
            egui::TextEdit::singleline(&mut state.path_input)
                .hint_text("path/to/upcasters.js")
                .desired_width(150.0),
        )
        .labelled_by(label.id);
    });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                !state.path_input.trim().is_empty(),
                egui::Button::new("Load"),
            )
            .clicked()
        {
            commands.push(AppCommand::Upcast(UpcastCommand::LoadFiles(
                state.path_input.clone(),
            )));
        }
        if ui
            .button("Reload")
            .on_hover_text("Files also reload on their own when saved")
            .clicked()
        {
            commands.push(AppCommand::Upcast(UpcastCommand::Reload));
        }
    });
    ui.separator();
    ui.strong("Event types");
    match &state.histogram {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                let pct = state.histogram_progress.map_or(0.0, |f| f * 100.0);
                ui.label(format!("Counting stored versions… {pct:.0} %"));
            });
        }
        Some(histogram) => {
            let max = histogram
                .values()
                .flat_map(|v| v.values())
                .copied()
                .max()
                .unwrap_or(1)
                .max(1);
            egui::ScrollArea::vertical()
                .id_salt("upcast-types")
                .max_height(ui.available_height() - 90.0)
                .show(ui, |ui| {
                    for (event_type, versions) in histogram {
                        let selected =
                            state.selection.as_ref() == Some(&Selection::Type(event_type.clone()));
                        let latest = state.latest(event_type);
                        ui.horizontal(|ui| {
                            if ui.selectable_label(selected, event_type).clicked() {
                                commands.push(AppCommand::Upcast(UpcastCommand::Select(
                                    Selection::Type(event_type.clone()),
                                )));
                            }
                            if let Some(latest) = latest {
                                ui.label(
                                    RichText::new(format!("-> v{latest}"))
                                        .color(colours.muted)
                                        .small(),
                                );
                            }
                        });
                        for (version, count) in versions {
                            histogram_bar(ui, *version, *count, max, latest);
                        }
                    }
                });
        }
    }
    ui.separator();
    ui.horizontal(|ui| {
        let label = ui.label("Stream");
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut state.stream_input)
                    .hint_text("stream id")
                    .desired_width(150.0),
            )
            .labelled_by(label.id);
        let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Show").clicked() || enter) && !state.stream_input.trim().is_empty() {
            commands.push(AppCommand::Upcast(UpcastCommand::Select(
                Selection::Stream(state.stream_input.trim().to_owned()),
            )));
        }
    });
}

fn histogram_bar(ui: &mut Ui, version: u32, count: u64, max: u64, latest: Option<u32>) {
    let colours = palette(ui);
    let diff = diff_colours(ui);
    ui.horizontal(|ui| {
        ui.add_space(12.0);
        ui.label(RichText::new(format!("v{version}")).monospace());
        let width = 110.0;
        let (rect, _) = ui.allocate_exact_size(egui::vec2(width, 10.0), egui::Sense::hover());
        let fraction = (count as f64 / max as f64) as f32;
        let fill = match latest {
            Some(latest) if version < latest => diff.changed,
            _ => colours.link,
        };
        ui.painter().rect_filled(
            rect.with_max_x(rect.min.x + (width * fraction).max(1.0)),
            2.0,
            fill,
        );
        ui.label(RichText::new(thousands(count)).monospace());
    });
}

/// The central part: tabs for the side-by-side pages and the bulk check.
pub fn upcast_ui(ui: &mut Ui, state: &mut UpcastViewState, commands: &mut Commands) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut state.tab, UpcastTab::SideBySide, "Side by side");
        ui.selectable_value(&mut state.tab, UpcastTab::BulkCheck, "Bulk check");
    });
    ui.separator();
    match state.tab {
        UpcastTab::SideBySide => side_by_side_ui(ui, state, commands),
        UpcastTab::BulkCheck => super::check::bulk_check_ui(ui, state, commands),
    }
}

fn side_by_side_ui(ui: &mut Ui, state: &mut UpcastViewState, commands: &mut Commands) {
    let colours = palette(ui);
    let Some(selection) = &state.selection else {
        ui.label("Choose an event type or a stream on the left to see its events side by side");
        return;
    };
    ui.horizontal(|ui| {
        let what = match selection {
            Selection::Type(t) => format!("type {t}"),
            Selection::Stream(s) => format!("stream {s}"),
        };
        ui.strong(what);
        let mut push = |c| commands.push(AppCommand::Upcast(c));
        if ui.button("First").clicked() {
            push(UpcastCommand::Page(PageMove::First));
        }
        if ui
            .add_enabled(state.page_first.is_some(), egui::Button::new("Previous"))
            .clicked()
        {
            push(UpcastCommand::Page(PageMove::Previous));
        }
        if ui
            .add_enabled(!state.at_end, egui::Button::new("Next"))
            .clicked()
        {
            push(UpcastCommand::Page(PageMove::Next));
        }
        if ui
            .add_enabled(!state.searching, egui::Button::new("Next failure"))
            .on_hover_text("Find the next event whose upcast fails")
            .clicked()
        {
            push(UpcastCommand::NextFailure);
        }
        if state.loading || state.searching {
            ui.spinner();
        }
    });
    if let Some(message) = &state.message {
        ui.label(RichText::new(message).color(colours.warning));
    }
    if state.rows.is_empty() && !state.loading {
        ui.label(RichText::new("No events").color(colours.muted));
        return;
    }
    egui::ScrollArea::both()
        .id_salt("upcast-rows")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for row in &state.rows {
                row_ui(ui, row);
                ui.add_space(10.0);
            }
        });
}

fn row_ui(ui: &mut Ui, row: &RowView) {
    let colours = palette(ui);
    ui.horizontal(|ui| {
        ui.label(RichText::new(&row.heading).monospace().strong());
        let colour = if row.failed {
            colours.error
        } else {
            colours.muted
        };
        ui.label(RichText::new(&row.status).color(colour));
    });
    ui.horizontal_top(|ui| {
        for column in &row.columns {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.vertical(|ui| {
                    ui.set_width(COLUMN_WIDTH);
                    column_ui(ui, column);
                });
            });
        }
    });
}

fn column_ui(ui: &mut Ui, column: &ColumnView) {
    let colours = palette(ui);
    let diff = diff_colours(ui);
    ui.horizontal(|ui| {
        ui.strong(&column.title);
        if column.changes > 0 {
            ui.label(
                RichText::new(format!(
                    "{} {}",
                    column.changes,
                    if column.changes == 1 {
                        "difference"
                    } else {
                        "differences"
                    }
                ))
                .color(colours.muted)
                .small(),
            );
        }
    });
    if let Some(failure) = &column.failure {
        ui.label(
            RichText::new(format!("Failed: {}", failure.kind.label()))
                .color(colours.error)
                .strong(),
        );
        ui.label(
            RichText::new(&failure.message)
                .color(colours.error)
                .monospace(),
        );
        return;
    }
    for line in &column.lines {
        let text = format!("{}{}", "  ".repeat(line.indent), line.text);
        let mut rich = RichText::new(text).monospace();
        match line.mark {
            Some(Change::Added) => rich = rich.color(diff.added),
            Some(Change::Changed) => rich = rich.color(diff.changed),
            Some(Change::Removed) => rich = rich.color(diff.removed),
            None => {}
        }
        ui.add(egui::Label::new(rich).wrap_mode(egui::TextWrapMode::Truncate));
    }
    for removed in &column.removed {
        ui.add(
            egui::Label::new(
                RichText::new(format!("- {removed}"))
                    .monospace()
                    .strikethrough()
                    .color(diff.removed),
            )
            .wrap_mode(egui::TextWrapMode::Truncate),
        );
    }
}
