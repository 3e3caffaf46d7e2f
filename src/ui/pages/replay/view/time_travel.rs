//! The time-travel tab: the event list, the slider, the state at the chosen version and blame.

use egui::{RichText, Ui};

use crate::context::messages::AppCommand;
use crate::replay::diff::{Change, DiffEntry};
use crate::ui::theme::{ROW_HEIGHT, palette};
use crate::ui::widgets::json_tree::{TreeAction, json_tree_marked_ui};

use super::{Commands, ReplayCommand, TimeTravelState, change_summary, push, reducer_badge};

/// The time-travel tab.
pub fn time_travel_ui(ui: &mut Ui, state: &mut TimeTravelState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.horizontal_wrapped(|ui| {
        reducer_badge(ui, state.reducer.as_ref());
        if let Some((done, total)) = state.building {
            ui.spinner();
            ui.label(format!(
                "Folding {} of {} events…",
                crate::ui::thousands(done),
                crate::ui::thousands(total)
            ));
        } else if ui.button("Replay again").clicked() {
            push(commands, ReplayCommand::Build);
        }
    });
    if let Some(error) = &state.error {
        ui.label(RichText::new(error).color(colours.error));
        return;
    }
    if let Some(failure) = &state.failure {
        ui.label(RichText::new(format!("The replay stopped: {failure}")).color(colours.error));
    }
    for warning in &state.warnings {
        ui.label(RichText::new(format!("Warning: {warning}")).color(colours.warning));
    }
    if state.events.is_empty() {
        if state.building.is_none() {
            ui.label(RichText::new("This stream has no events to replay.").color(colours.muted));
        }
        return;
    }
    let last_index = state.events.len() - 1;
    // Controls: step buttons, slider, version box, as-of box.
    let mut go: Option<Option<usize>> = None;
    ui.horizontal(|ui| {
        let at_start = state.current.is_none();
        if ui
            .add_enabled(!at_start, egui::Button::new("Previous"))
            .on_hover_text("Previous version (left arrow key)")
            .clicked()
        {
            go = Some(state.current.and_then(|i| i.checked_sub(1)));
        }
        if ui
            .add_enabled(state.current != Some(last_index), egui::Button::new("Next"))
            .on_hover_text("Next version (right arrow key)")
            .clicked()
        {
            go = Some(Some(state.current.map_or(0, |i| (i + 1).min(last_index))));
        }
        let mut slider = state.current.map_or(0, |i| i + 1);
        let width = (ui.available_width() - 420.0).max(120.0);
        ui.spacing_mut().slider_width = width;
        let response = ui.add(
            egui::Slider::new(&mut slider, 0..=last_index + 1)
                .show_value(false)
                .clamping(egui::SliderClamping::Always),
        );
        if response.changed() {
            go = Some(slider.checked_sub(1));
        }
        let version_label = ui.label("Version");
        let version_box = ui
            .add(
                egui::TextEdit::singleline(&mut state.version_text)
                    .desired_width(70.0)
                    .hint_text("e.g. 17"),
            )
            .labelled_by(version_label.id);
        if version_box.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            match state.version_text.trim().parse::<u64>() {
                Ok(v) => {
                    let after = state.events.partition_point(|e| e.version <= v);
                    go = Some(after.checked_sub(1));
                    state.input_message = None;
                }
                Err(_) => {
                    state.input_message = Some(format!("not a version: {}", state.version_text));
                }
            }
        }
        let as_of_label = ui.label("As of");
        let as_of_box = ui
            .add(
                egui::TextEdit::singleline(&mut state.as_of_text)
                    .desired_width(190.0)
                    .hint_text("2024-03-01T12:00:00Z"),
            )
            .labelled_by(as_of_label.id);
        if as_of_box.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            match crate::core::time::parse_timestamp(state.as_of_text.trim()) {
                Some(at) => {
                    let index = state
                        .events
                        .iter()
                        .rposition(|e| e.recorded_at.is_some_and(|t| t <= at));
                    state.input_message = match index {
                        None => Some(format!(
                            "nothing recorded at or before {}: showing the initial state",
                            crate::core::time::format_rfc3339(at)
                        )),
                        Some(_) => None,
                    };
                    go = Some(index);
                }
                None => {
                    state.input_message = Some(format!(
                        "not a time: {} (RFC 3339, e.g. 2024-03-01T12:00:00Z)",
                        state.as_of_text
                    ));
                }
            }
        }
    });
    // Arrow keys step when no text box has focus.
    let typing = ui.ctx().memory(|m| m.focused().is_some());
    if !typing {
        if ui.input(|i| i.key_pressed(egui::Key::ArrowLeft)) {
            go = Some(state.current.and_then(|i| i.checked_sub(1)));
        }
        if ui.input(|i| i.key_pressed(egui::Key::ArrowRight)) {
            go = Some(Some(state.current.map_or(0, |i| (i + 1).min(last_index))));
        }
    }
    if let Some(message) = &state.input_message {
        ui.label(RichText::new(message).color(colours.warning));
    }
    if let Some(target) = go
        && target != state.current
    {
        state.current = target;
        state.scroll_to_current = true;
        push(commands, ReplayCommand::StepTo(target));
    }
    // Where we are.
    ui.horizontal(|ui| {
        match state.current.and_then(|i| state.events.get(i)) {
            Some(event) => {
                ui.strong(format!("Version {}", event.version));
                ui.label(RichText::new(&event.event_type).color(colours.key));
                ui.label(crate::ui::long_time(event.recorded_at));
                ui.label(RichText::new(format!("#{}", event.position)).color(colours.muted));
            }
            None => {
                ui.strong("Initial state (before the first event)");
            }
        }
        if state.step.is_loading() {
            ui.spinner();
        }
        if let Some(step) = state.step.value() {
            ui.label(RichText::new(change_summary(&step.changes)).color(colours.muted));
        }
    });
    ui.separator();
    let available = ui.available_height();
    egui::Panel::left("time-travel-events")
        .resizable(true)
        .default_size(300.0)
        .min_size(200.0)
        .show(ui, |ui| {
            event_list_ui(ui, state, commands, available);
        });
    egui::CentralPanel::default().show(ui, |ui| {
        state_panel_ui(ui, state, commands);
    });
}

fn event_list_ui(ui: &mut Ui, state: &mut TimeTravelState, commands: &mut Commands, height: f32) {
    let colours = palette(ui);
    let rows = state.events.len() + 1;
    let mut scroll = egui::ScrollArea::vertical()
        .id_salt("time-travel-list")
        .max_height(height)
        .auto_shrink([false, false]);
    if state.scroll_to_current {
        let row = state.current.map_or(0, |i| i + 1);
        let spacing = ui.spacing().item_spacing.y;
        let offset = (row as f32 * (ROW_HEIGHT + spacing) - height / 2.0).max(0.0);
        scroll = scroll.vertical_scroll_offset(offset);
        state.scroll_to_current = false;
    }
    scroll.show_rows(ui, ROW_HEIGHT, rows, |ui, range| {
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
        for row in range {
            let index = row.checked_sub(1);
            let selected = index == state.current;
            let text = match index.and_then(|i| state.events.get(i)) {
                Some(e) => format!(
                    "{:>6}  {}  {}",
                    e.version,
                    e.recorded_at.map_or_else(
                        || "--:--:--".to_owned(),
                        |t| t.format("%H:%M:%S").to_string()
                    ),
                    e.event_type
                ),
                None => "     0  initial state".to_owned(),
            };
            let label = RichText::new(text).monospace();
            let label = if index.is_none() {
                label.color(colours.muted)
            } else {
                label
            };
            let hover = index
                .and_then(|i| state.events.get(i))
                .map(|e| {
                    format!(
                        "{} at {} (#{})",
                        e.event_type,
                        crate::ui::long_time(e.recorded_at),
                        e.position
                    )
                })
                .unwrap_or_default();
            if ui
                .selectable_label(selected, label)
                .on_hover_text(hover)
                .clicked()
                && !selected
            {
                state.current = index;
                push(commands, ReplayCommand::StepTo(index));
            }
        }
    });
}

fn state_panel_ui(ui: &mut Ui, state: &mut TimeTravelState, commands: &mut Commands) {
    let colours = palette(ui);
    let Some(step) = state.step.value().cloned() else {
        ui.label(RichText::new("Pick a version to see the state.").color(colours.muted));
        return;
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new("Legend:").color(colours.muted));
        for (text, fill) in [
            ("added", colours.added),
            ("changed", colours.changed),
            ("removed", colours.removed),
        ] {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, fill);
            ui.label(text);
        }
    });
    ui.label(
        RichText::new("Click a value (or right-click a group) to see which event last changed it.")
            .color(colours.muted),
    );
    // Blame.
    if state.blame.is_loading() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Finding the event that last changed it…");
        });
    }
    match state.blame.result() {
        Some(Ok(blame)) => {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(&blame.pointer).monospace().strong());
                    match &blame.event {
                        Some(event) => {
                            ui.label(format!(
                                "was last changed by version {} ({}) at {}",
                                event.stream_version,
                                event.event_type,
                                crate::ui::long_time(event.recorded_at)
                            ));
                            if let Some(correlation) = &event.correlation_id {
                                ui.label(
                                    RichText::new(format!("correlation {correlation}"))
                                        .monospace()
                                        .color(colours.link),
                                );
                            }
                            if ui.button("Inspect event").clicked() {
                                commands.push(AppCommand::Inspect(Box::new(event.clone())));
                            }
                        }
                        None => {
                            ui.label("comes from the initial state (no event changed it)");
                        }
                    }
                });
                let show = |v: &Option<serde_json::Value>| {
                    v.as_ref().map_or_else(
                        || "(absent)".to_owned(),
                        |v| {
                            let text = v.to_string();
                            crate::ui::short_id(&text, 120)
                        },
                    )
                };
                ui.label(
                    RichText::new(format!(
                        "before: {}   now: {}",
                        show(&blame.before),
                        show(&blame.value)
                    ))
                    .monospace(),
                );
            });
        }
        Some(Err(error)) => {
            ui.label(RichText::new(format!("Blame failed: {error}")).color(colours.error));
        }
        None => {}
    }
    // Evidence export.
    ui.horizontal(|ui| {
        let width = (ui.available_width() - 130.0).max(120.0);
        ui.add(
            egui::TextEdit::singleline(&mut state.evidence_path)
                .desired_width(width)
                .hint_text("evidence bundle file (.json)"),
        );
        if ui
            .button("Export evidence")
            .on_hover_text(
                "Write the question, the reducer (source + hash), this state and the events \
                 used (with SHA-256 over their canonical bytes) as JSON",
            )
            .clicked()
        {
            push(
                commands,
                ReplayCommand::ExportEvidence(state.evidence_path.clone()),
            );
        }
    });
    crate::ui::widgets::outcome_label(ui, state.evidence_status.as_ref());
    ui.separator();
    let removed: Vec<&DiffEntry> = step
        .changes
        .iter()
        .filter(|d| d.change == Change::Removed)
        .collect();
    egui::ScrollArea::both()
        .id_salt("time-travel-state")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let salt = ("time-travel", state.stream_id.clone());
            if let Some(action) = json_tree_marked_ui(ui, salt, &step.state, &state.marks) {
                match action {
                    TreeAction::Copy(text) => commands.push(AppCommand::Copy(text)),
                    TreeAction::Select(pointer) => {
                        push(commands, ReplayCommand::Blame(pointer));
                    }
                }
            }
            if !removed.is_empty() {
                ui.add_space(8.0);
                ui.label(RichText::new("Removed by this event").strong());
                for entry in removed {
                    let text = format!(
                        "{}  was {}",
                        entry.path,
                        entry
                            .left
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    );
                    let (rect, _) = ui.allocate_exact_size(
                        egui::vec2(ui.available_width(), ROW_HEIGHT),
                        egui::Sense::hover(),
                    );
                    ui.painter().rect_filled(rect, 2.0, colours.removed);
                    ui.put(
                        rect,
                        egui::Label::new(
                            RichText::new(crate::ui::short_id(&text, 200)).monospace(),
                        ),
                    );
                }
            }
        });
}
