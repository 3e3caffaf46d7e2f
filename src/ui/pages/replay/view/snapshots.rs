//! The snapshots tab: each stored snapshot of the stream against a full replay.

use egui::{RichText, Ui};

use crate::replay::diff::Change;
use crate::replay::snapshots::SnapshotStatus;
use crate::ui::theme::{ROW_HEIGHT, palette};
use crate::ui::widgets::json_tree::{TreeMarks, json_tree_marked_ui};

use super::{Commands, ReplayCommand, SnapshotsState, push, reducer_badge};

fn status_text(status: SnapshotStatus) -> &'static str {
    match status {
        SnapshotStatus::Match => "match",
        SnapshotStatus::Drift => "DRIFT",
        SnapshotStatus::SchemaMismatch => "schema mismatch",
        SnapshotStatus::Error => "error",
    }
}

/// The snapshots tab.
pub fn snapshots_ui(ui: &mut Ui, state: &mut SnapshotsState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.horizontal_wrapped(|ui| {
        reducer_badge(ui, state.reducer.as_ref());
        if state.pending {
            ui.spinner();
            ui.label("Replaying and comparing…");
        } else if ui.button("Check again").clicked() {
            push(commands, ReplayCommand::CheckSnapshots);
        }
    });
    let checks = match &state.checks {
        None => return,
        Some(Err(error)) => {
            ui.label(RichText::new(error).color(colours.error));
            return;
        }
        Some(Ok(checks)) => checks,
    };
    if checks.is_empty() {
        ui.label(RichText::new("This stream has no stored snapshots.").color(colours.muted));
        return;
    }
    let earliest = crate::replay::snapshots::earliest_drift(checks).map(|c| c.version);
    let count = |s: SnapshotStatus| checks.iter().filter(|c| c.status == s).count();
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} snapshots: {} match, {} drifted, {} schema mismatch, {} errors",
            checks.len(),
            count(SnapshotStatus::Match),
            count(SnapshotStatus::Drift),
            count(SnapshotStatus::SchemaMismatch),
            count(SnapshotStatus::Error)
        ));
        if let Some(version) = earliest {
            ui.label(
                RichText::new(format!("earliest drift at version {version}"))
                    .color(colours.error)
                    .strong(),
            );
        }
    });
    ui.separator();
    let height = ui.available_height();
    egui::Panel::left("snapshot-list")
        .resizable(true)
        .default_size(300.0)
        .min_size(220.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("snapshot-rows")
                .max_height(height)
                .auto_shrink([false, false])
                .show_rows(ui, ROW_HEIGHT, checks.len(), |ui, range| {
                    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
                    for i in range {
                        let check = &checks[i];
                        let colour = match check.status {
                            SnapshotStatus::Match => colours.muted,
                            SnapshotStatus::Drift | SnapshotStatus::Error => colours.error,
                            SnapshotStatus::SchemaMismatch => colours.warning,
                        };
                        let mut text = format!(
                            "v{:<7} s{:<3} {:<16}",
                            check.version,
                            check
                                .schema_version
                                .map_or_else(|| "-".into(), |v| v.to_string()),
                            status_text(check.status),
                        );
                        if Some(check.version) == earliest {
                            text.push_str(" ← first");
                        }
                        if ui
                            .selectable_label(
                                state.selected == Some(i),
                                RichText::new(text).monospace().color(colour),
                            )
                            .on_hover_text(format!(
                                "snapshot at version {}, taken {}",
                                check.version,
                                crate::ui::long_time(check.taken_at)
                            ))
                            .clicked()
                        {
                            state.selected = Some(i);
                        }
                    }
                });
        });
    egui::CentralPanel::default().show(ui, |ui| {
        let Some(check) = state.selected.and_then(|i| checks.get(i)) else {
            ui.label(RichText::new("Pick a snapshot to see its diff.").color(colours.muted));
            return;
        };
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!("Snapshot at version {}", check.version));
            ui.label(status_text(check.status));
            ui.label(
                RichText::new(format!("taken {}", crate::ui::long_time(check.taken_at)))
                    .color(colours.muted),
            );
            if check.status == SnapshotStatus::SchemaMismatch {
                ui.label(
                    RichText::new(format!(
                        "stored schema version {} ≠ {} expected by the reducer: a loading \
                         application would not use this snapshot as it is",
                        check
                            .schema_version
                            .map_or_else(|| "none".to_owned(), |v| v.to_string()),
                        check
                            .expected_schema_version
                            .map_or_else(|| "?".to_owned(), |v| v.to_string())
                    ))
                    .color(colours.warning),
                );
            }
        });
        if let Some(error) = &check.error {
            ui.label(RichText::new(error).color(colours.error));
            return;
        }
        if check.diffs.is_empty() {
            ui.label("The stored state equals the replayed state.");
        } else {
            egui::Grid::new("snapshot-diff")
                .striped(true)
                .num_columns(3)
                .show(ui, |ui| {
                    ui.strong("path");
                    ui.strong("stored");
                    ui.strong("replayed");
                    ui.end_row();
                    for d in &check.diffs {
                        let fill = match d.change {
                            Change::Added => colours.added,
                            Change::Removed => colours.removed,
                            Change::Changed => colours.changed,
                        };
                        let show = |v: &Option<serde_json::Value>| {
                            v.as_ref().map_or_else(
                                || "(absent)".to_owned(),
                                |v| crate::ui::short_id(&v.to_string(), 80),
                            )
                        };
                        ui.label(RichText::new(&d.path).monospace().background_color(fill));
                        ui.label(RichText::new(show(&d.left)).monospace());
                        ui.label(RichText::new(show(&d.right)).monospace());
                        ui.end_row();
                    }
                });
        }
        ui.add_space(8.0);
        ui.columns(2, |columns| {
            columns[0].strong("Stored");
            columns[1].strong("Replayed");
            if let Some(stored) = &check.stored {
                egui::ScrollArea::vertical()
                    .id_salt("stored-state")
                    .show(&mut columns[0], |ui| {
                        let _ = json_tree_marked_ui(
                            ui,
                            ("stored", check.version),
                            stored,
                            &TreeMarks::from_diff(&check.diffs),
                        );
                    });
            }
            if let Some(replayed) = &check.replayed {
                egui::ScrollArea::vertical().id_salt("replayed-state").show(
                    &mut columns[1],
                    |ui| {
                        let _ = json_tree_marked_ui(
                            ui,
                            ("replayed", check.version),
                            replayed,
                            &TreeMarks::from_diff(&check.diffs),
                        );
                    },
                );
            }
        });
    });
}
