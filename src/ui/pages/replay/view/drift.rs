//! The drift page: the store-wide report of snapshots that differ from replays.

use std::fmt::Write as _;

use egui::{RichText, Ui};

use crate::context::messages::AppCommand;
use crate::ui::theme::{ROW_HEIGHT, palette};

use super::{Commands, DriftState, ReplayCommand, StreamTab, push};

/// The store-wide drift report view.
pub fn drift_ui(ui: &mut Ui, state: &mut DriftState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.heading("Snapshot drift");
    ui.label(
        RichText::new(
            "Every stream with stored snapshots is replayed with its category's reducer and each \
             snapshot is compared with the replayed state at its version.",
        )
        .color(colours.muted),
    );
    ui.horizontal(|ui| {
        if let Some((streams, snapshots, _)) = &state.running {
            ui.spinner();
            ui.label(format!(
                "Checked {} streams, {} snapshots…",
                crate::ui::thousands(*streams),
                crate::ui::thousands(*snapshots)
            ));
            if let Some(job) = state.job
                && ui.button("Cancel").clicked()
            {
                commands.push(AppCommand::Cancel(job));
            }
        } else if ui.button("Run drift report").clicked() {
            push(commands, ReplayCommand::RunDrift);
        }
    });
    let summary = match (&state.running, &state.report) {
        (Some((_, _, summary)), _) => Some(summary.clone()),
        (None, Some(Ok(report))) => Some(report.summary.clone()),
        _ => None,
    };
    if let Some(Err(error)) = &state.report {
        ui.label(RichText::new(error).color(colours.error));
    }
    let Some(summary) = summary else {
        return;
    };
    egui::Grid::new("drift-summary")
        .num_columns(6)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            for h in [
                "streams",
                "checked",
                "matching",
                "drifted",
                "schema mismatch",
                "reducer errors",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for (n, bad) in [
                (summary.streams, false),
                (summary.checked, false),
                (summary.matching, false),
                (summary.drifted, true),
                (summary.schema_mismatch, true),
                (summary.errors, true),
            ] {
                let text = RichText::new(crate::ui::thousands(n)).monospace();
                let text = if bad && n > 0 {
                    text.color(colours.error).strong()
                } else {
                    text
                };
                ui.label(text);
            }
            ui.end_row();
        });
    let Some(Ok(report)) = &state.report else {
        return;
    };
    if !report.complete {
        ui.label(
            RichText::new("Cancelled: the report covers part of the store.").color(colours.warning),
        );
    }
    ui.horizontal(|ui| {
        ui.label("Export JSON");
        ui.add(egui::TextEdit::singleline(&mut state.export_path).desired_width(320.0));
        if ui.button("Save").clicked() {
            push(
                commands,
                ReplayCommand::ExportDrift(state.export_path.clone()),
            );
        }
        crate::ui::widgets::outcome_label(ui, state.export_status.as_ref());
    });
    ui.separator();
    if report.streams.is_empty() {
        ui.label("No drift: every checked snapshot matches its replay.");
        return;
    }
    ui.label(format!(
        "{} with drift, schema mismatches or errors (click one to open its snapshots):",
        crate::ui::count_of(report.streams.len() as u64, "stream", "streams")
    ));
    egui::ScrollArea::vertical()
        .id_salt("drift-rows")
        .auto_shrink([false, false])
        .show_rows(ui, ROW_HEIGHT, report.streams.len(), |ui, range| {
            for row in &report.streams[range] {
                let mut text = format!(
                    "{:<28} {:<10} {:>4} checked  {:>3} drifted",
                    crate::ui::short_id(&row.stream_id, 27),
                    crate::ui::short_id(&row.category, 9),
                    row.checked,
                    row.drifted
                );
                if let Some(v) = row.first_drift_version {
                    write!(text, "  first at v{v}: {}", row.first_paths.join(", ")).ok();
                }
                if row.schema_mismatch > 0 {
                    write!(text, "  {} schema mismatch", row.schema_mismatch).ok();
                }
                if let Some(error) = &row.error {
                    write!(text, "  error: {}", crate::ui::short_id(error, 80)).ok();
                }
                let colour = if row.drifted > 0 || row.error.is_some() {
                    colours.error
                } else {
                    colours.warning
                };
                if ui
                    .selectable_label(false, RichText::new(text).monospace().color(colour))
                    .on_hover_text(&row.stream_id)
                    .clicked()
                {
                    commands.push(AppCommand::SelectStream {
                        stream_id: row.stream_id.clone(),
                        version: row.first_drift_version,
                    });
                    push(commands, ReplayCommand::SetTab(StreamTab::Snapshots));
                    commands.push(AppCommand::SetView(crate::context::state::View::Streams));
                }
            }
        });
}
