//! The event inspector: payload and metadata as a collapsible JSON tree and as pretty text,
//! bytes as a hex dump, copy value / path / whole event.

use egui::{RichText, Ui};

use crate::context::messages::AppCommand;
use crate::core::{Event, Payload};
use crate::ui::theme::palette;
use crate::ui::widgets::json_tree::{TreeAction, json_tree_ui};
use crate::ui::widgets::text_lines::{hex_dump, text_lines_ui};
use crate::ui::{Commands, long_time, thousands};

/// Inspector tabs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InspectorTab {
    /// Payload as a tree.
    #[default]
    Payload,
    /// Metadata as a tree.
    Metadata,
    /// Pretty text of payload (and stored form when decoded).
    Text,
}

/// State of the inspector.
#[derive(Debug, Default)]
pub struct InspectorState {
    /// The inspected event.
    pub event: Option<Event>,
    /// Active tab.
    pub tab: InspectorTab,
    /// Pretty text lines (computed in the background).
    pub payload_lines: Option<Vec<String>>,
    /// Metadata text lines.
    pub metadata_lines: Option<Vec<String>>,
    /// The stored payload's lines, when the shown payload was decoded.
    pub raw_lines: Option<Vec<String>>,
    /// Show the stored form rather than the decoded one.
    pub show_raw: bool,
    /// Show all lines of long text.
    pub show_all: bool,
    /// Generation of the inspected event.
    pub generation: u64,
}

/// Lines of pretty text for a payload, decoded or (with `stored`) as stored. Parses the
/// payload, so it runs in a background job (payloads can be megabytes); afterwards the
/// parsed value is shared with the event the UI holds.
#[must_use]
pub fn pretty_lines(payload: &Payload, stored: bool) -> Vec<String> {
    let json = if stored {
        payload.stored_json()
    } else {
        payload.as_json()
    };
    match (json, payload.raw_bytes()) {
        (Some(value), _) => serde_json::to_string_pretty(value)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
        (None, Some(bytes)) => match std::str::from_utf8(bytes) {
            Ok(text) if !text.is_empty() => text.lines().map(str::to_owned).collect(),
            _ => hex_dump(bytes),
        },
        (None, None) => vec!["(empty)".to_owned()],
    }
}

fn copy_button(ui: &mut Ui, label: &str, text: impl FnOnce() -> String, commands: &mut Commands) {
    if ui.small_button(label).clicked() {
        commands.push(AppCommand::Copy(text()));
    }
}

/// Draws the inspector.
pub fn inspector_ui(ui: &mut Ui, state: &mut InspectorState, commands: &mut Commands) {
    let colours = palette(ui);
    let Some(event) = state.event.clone() else {
        ui.centered_and_justified(|ui| {
            ui.label(RichText::new("Select an event to inspect it").color(colours.muted));
        });
        return;
    };
    ui.add(
        egui::Label::new(
            RichText::new(format!("#{} {}", event.global_position, event.event_type)).heading(),
        )
        .truncate(),
    );
    egui::Grid::new("event-fields")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            ui.label("Stream");
            if ui
                .add(
                    egui::Label::new(
                        RichText::new(&event.stream_id)
                            .monospace()
                            .color(colours.link),
                    )
                    .truncate()
                    .sense(egui::Sense::click()),
                )
                .on_hover_text(format!("{}\nOpen this stream", event.stream_id))
                .clicked()
            {
                commands.push(AppCommand::OpenInStream(Box::new(event.clone())));
            }
            ui.end_row();
            ui.label("Version");
            ui.label(RichText::new(event.stream_version.to_string()).monospace());
            ui.end_row();
            ui.label("Schema");
            ui.label(
                event
                    .schema_version
                    .map_or_else(|| "—".to_owned(), |v| format!("v{v}")),
            );
            ui.end_row();
            ui.label("Recorded at");
            ui.label(RichText::new(long_time(event.recorded_at)).monospace());
            ui.end_row();
            if let Some(stored) = &event.stored_type {
                ui.label("Stored type");
                ui.add(egui::Label::new(RichText::new(stored).monospace()).truncate())
                    .on_hover_text(format!(
                        "The type as the store keeps it (shown as {})",
                        event.event_type
                    ));
                ui.end_row();
            }
            for problem in &event.problems {
                ui.label(RichText::new("Unreadable").color(colours.warning));
                let raw = problem
                    .raw
                    .as_deref()
                    .map_or_else(|| "no value".to_owned(), |raw| format!("stored: {raw}"));
                ui.add(
                    egui::Label::new(
                        RichText::new(format!("{}: {} ({raw})", problem.field, problem.problem))
                            .color(colours.warning),
                    )
                    .truncate(),
                );
                ui.end_row();
            }
            for (name, value) in [
                ("Event id", &event.event_id),
                ("Correlation", &event.correlation_id),
                ("Causation", &event.causation_id),
            ] {
                ui.label(name);
                match value {
                    Some(text) => {
                        // Buttons at the right edge first, so a long id truncates in what
                        // is left (hover shows it whole; Copy copies it whole) instead of
                        // widening the panel.
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            trace_button(ui, name, text, commands);
                            copy_button(ui, "Copy", || text.clone(), commands);
                            ui.with_layout(
                                egui::Layout::left_to_right(egui::Align::Center),
                                |ui| {
                                    ui.add(
                                        egui::Label::new(RichText::new(text).monospace())
                                            .truncate(),
                                    )
                                    .on_hover_text(text);
                                },
                            );
                        });
                    }
                    None => {
                        ui.label(RichText::new("—").color(colours.muted));
                    }
                }
                ui.end_row();
            }
        });
    ui.horizontal(|ui| {
        copy_button(
            ui,
            "Copy event",
            || {
                if event.payload.is_parsed() && event.metadata.is_parsed() {
                    serde_json::to_string_pretty(&event.to_json()).unwrap_or_default()
                } else {
                    // Not parsed yet: the stored text, without parsing on the UI thread.
                    event.to_json_line(false).unwrap_or_default()
                }
            },
            commands,
        );
        copy_button(
            ui,
            "Copy payload",
            || payload_text(&event.payload),
            commands,
        );
    });
    ui.separator();
    ui.horizontal(|ui| {
        ui.selectable_value(&mut state.tab, InspectorTab::Payload, "Payload");
        ui.selectable_value(&mut state.tab, InspectorTab::Metadata, "Metadata");
        ui.selectable_value(&mut state.tab, InspectorTab::Text, "Text");
        // Only once the background job has parsed the payload: the UI thread never parses.
        if event.payload.is_parsed() && event.payload.is_decoded() {
            ui.separator();
            ui.checkbox(&mut state.show_raw, "Stored form")
                .on_hover_text(
                    "Show the payload as stored, with the library's typed values undecoded",
                );
        }
    });
    match state.tab {
        InspectorTab::Payload => payload_tree_ui(
            ui,
            ("payload", event.global_position, state.show_raw),
            &event.payload,
            state.show_raw,
            commands,
        ),
        InspectorTab::Metadata => payload_tree_ui(
            ui,
            ("metadata", event.global_position),
            &event.metadata,
            false,
            commands,
        ),
        InspectorTab::Text => {
            let lines = if state.show_raw && state.raw_lines.is_some() {
                state.raw_lines.as_ref()
            } else {
                state.payload_lines.as_ref()
            };
            match lines {
                Some(lines) => {
                    if text_lines_ui(ui, ("text", event.global_position), lines, state.show_all) {
                        state.show_all = true;
                    }
                }
                None => {
                    ui.spinner();
                }
            }
        }
    }
}

/// The payload's text for the clipboard: pretty JSON once parsed, else the stored text (the
/// UI thread does not parse).
fn payload_text(payload: &Payload) -> String {
    if !payload.is_parsed() {
        return payload
            .raw_bytes()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .unwrap_or_default();
    }
    match (payload.as_json(), payload.raw_bytes()) {
        (Some(value), _) => serde_json::to_string_pretty(value).unwrap_or_default(),
        (None, Some(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
        (None, None) => String::new(),
    }
}

fn payload_tree_ui(
    ui: &mut Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    payload: &Payload,
    stored: bool,
    commands: &mut Commands,
) {
    let colours = palette(ui);
    egui::ScrollArea::both()
        .id_salt(("tree", &id_salt))
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if payload.is_empty() {
                ui.label(RichText::new("(empty)").color(colours.muted));
                return;
            }
            // The background job parses the payload; until then, a spinner.
            if !payload.is_parsed() {
                ui.spinner();
                return;
            }
            let json = if stored {
                payload.stored_json()
            } else {
                payload.as_json()
            };
            if let Some(value) = json {
                if let Some(TreeAction::Copy(text)) = json_tree_ui(ui, &id_salt, value) {
                    commands.push(AppCommand::Copy(text));
                }
                return;
            }
            if let Some(bytes) = payload.raw_bytes() {
                ui.label(
                    RichText::new(format!("{} bytes, not JSON", thousands(bytes.len() as u64)))
                        .color(colours.warning),
                );
                let lines = match std::str::from_utf8(bytes) {
                    Ok(text) => text
                        .lines()
                        .take(2_000)
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                    Err(_) => hex_dump(&bytes[..bytes.len().min(64 * 1024)]),
                };
                for line in lines.iter().take(2_000) {
                    ui.label(RichText::new(line).monospace());
                }
            }
        });
}

/// A trace button next to a correlation id (trace it) or a causation id (trace the
/// correlation of the event that carries it).
fn trace_button(ui: &mut egui::Ui, field: &str, id: &str, commands: &mut Vec<AppCommand>) {
    use crate::context::trace::TraceCommand;
    let (command, label, hover) = match field {
        "Correlation" => (
            TraceCommand::Correlation(id.to_owned()),
            "Trace correlation",
            "Every event of this correlation, across streams",
        ),
        "Causation" => (
            TraceCommand::EventId(id.to_owned()),
            "Trace cause",
            "Find the event with this id and trace its correlation",
        ),
        _ => return,
    };
    if ui.small_button(label).on_hover_text(hover).clicked() {
        commands.push(AppCommand::Trace(command));
    }
}
