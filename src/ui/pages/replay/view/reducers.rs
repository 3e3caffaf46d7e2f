//! The reducers window: which reducer each category uses, editing and approving it.

use egui::RichText;

use crate::ui::theme::palette;

use super::{Commands, ReducersWindow, ReplayCommand, push};

/// The reducers window.
pub fn reducers_window_ui(
    ctx: &egui::Context,
    state: &mut ReducersWindow,
    commands: &mut Commands,
) {
    if !state.open {
        return;
    }
    let mut open = true;
    egui::Window::new("Reducers")
        .open(&mut open)
        .default_width(640.0)
        .show(ctx, |ui| {
            let colours = palette(ui);
            ui.label(format!("Project config: {}", state.origin));
            if !state.choices.is_empty() {
                egui::Grid::new("reducer-choices")
                    .striped(true)
                    .show(ui, |ui| {
                        ui.strong("category");
                        ui.strong("reducer");
                        ui.end_row();
                        for (category, choice) in &state.choices {
                            ui.label(RichText::new(category).monospace());
                            ui.label(choice);
                            ui.end_row();
                        }
                    });
            }
            if !state.needs_approval.is_empty() {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.label(
                        RichText::new(
                            "The config beside this store wants to run these programs on your \
                             machine to replay events:",
                        )
                        .color(colours.warning),
                    );
                    for command in &state.needs_approval {
                        ui.label(RichText::new(command).monospace());
                    }
                    if ui.button("Allow for this store").clicked() {
                        push(commands, ReplayCommand::ApproveCommands);
                    }
                });
            }
            ui.label(
                RichText::new(
                    "Edit below and Save: the file is kept in eventscope's settings for this \
                     store (the store and its directory are never written). Keys: \
                     [reducers.<category>] with script = \"file.js\", command = \"…\" or \
                     generic = true; schema_version = N.",
                )
                .color(colours.muted),
            );
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    push(commands, ReplayCommand::SaveConfig(state.text.clone()));
                }
                crate::ui::widgets::outcome_label(ui, state.status.as_ref());
            });
            egui::ScrollArea::vertical()
                .max_height(300.0)
                .show(ui, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut state.text)
                            .code_editor()
                            .desired_rows(14)
                            .desired_width(f32::INFINITY),
                    );
                });
        });
    state.open &= open;
}
