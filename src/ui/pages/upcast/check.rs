//! The bulk check tab of the upcasters view: run it (selected type or whole store) with
//! progress and cancel, then per type the version counts, failures by kind with examples,
//! and the shape mismatches with example events that open side by side.

use egui::{RichText, Ui};

use super::view::{UpcastCommand, UpcastViewState};
use crate::context::messages::AppCommand;
use crate::ui::theme::palette;
use crate::ui::{Commands, thousands};
use crate::upcast::check::TypeReport;
use crate::upcast::preview::Selection;
use crate::upcast::shape::JsonType;

fn types_text(types: &[JsonType]) -> String {
    if types.is_empty() {
        "—".to_owned()
    } else {
        types
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

pub(super) fn bulk_check_ui(ui: &mut Ui, state: &mut UpcastViewState, commands: &mut Commands) {
    let colours = palette(ui);
    let selected_type = match &state.selection {
        Some(Selection::Type(t)) => Some(t.clone()),
        _ => None,
    };
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.whole_store, "Whole store");
        if !state.whole_store {
            match &selected_type {
                Some(t) => ui.label(format!("type {t}")),
                None => ui.label(RichText::new("choose a type on the left").color(colours.muted)),
            };
        }
        let can_run =
            state.check_progress.is_none() && (state.whole_store || selected_type.is_some());
        if ui
            .add_enabled(can_run, egui::Button::new("Check"))
            .clicked()
        {
            commands.push(AppCommand::Upcast(UpcastCommand::RunCheck {
                whole_store: state.whole_store,
            }));
        }
        if let Some((fraction, scanned)) = state.check_progress {
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(160.0)
                    .show_percentage(),
            );
            ui.label(format!("{} events", thousands(scanned)));
            if let Some(job) = state.check_job
                && ui.button("Cancel").clicked()
            {
                commands.push(AppCommand::Cancel(job));
            }
        }
    });
    if let Some(error) = &state.check_error {
        ui.label(RichText::new(error).color(colours.error));
    }
    let Some(report) = &state.check else {
        if state.check_progress.is_none() {
            ui.label(
                RichText::new(
                    "Runs every event through its upcasters, counts failures, and compares \
                     upcasted old events with native events of the latest version",
                )
                .color(colours.muted),
            );
        }
        return;
    };
    if state.check_stale {
        ui.label(
            RichText::new("The upcasters changed since this check ran: check again")
                .color(colours.warning),
        );
    }
    let ok: u64 = report.types.iter().map(|t| t.upcast_ok).sum();
    let failed: u64 = report.types.iter().map(|t| t.upcast_failed).sum();
    let mismatches: usize = report.types.iter().map(|t| t.shape_mismatches.len()).sum();
    let summary = format!(
        "{} events checked: {} upcast, {} failed, {} shape mismatches",
        thousands(report.scanned),
        thousands(ok),
        thousands(failed),
        mismatches
    );
    let colour = if report.has_findings() {
        colours.error
    } else {
        colours.number
    };
    ui.label(RichText::new(summary).color(colour).strong());
    egui::ScrollArea::vertical()
        .id_salt("upcast-check")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for t in report.types.iter().filter(|t| t.latest_version.is_some()) {
                type_report_ui(ui, t, commands);
                ui.separator();
            }
            let others: Vec<&str> = report
                .types
                .iter()
                .filter(|t| t.latest_version.is_none())
                .map(|t| t.event_type.as_str())
                .collect();
            if !others.is_empty() {
                ui.label(
                    RichText::new(format!("No upcasters for: {}", others.join(", ")))
                        .color(colours.muted),
                );
            }
        });
}

fn type_report_ui(ui: &mut Ui, t: &TypeReport, commands: &mut Commands) {
    let colours = palette(ui);
    let versions = t
        .versions
        .iter()
        .map(|(v, n)| format!("v{v}: {}", thousands(*n)))
        .collect::<Vec<_>>()
        .join(", ");
    ui.horizontal(|ui| {
        ui.strong(&t.event_type);
        ui.label(format!(
            "{versions} · -> v{}",
            t.latest_version.unwrap_or_default()
        ));
    });
    ui.horizontal(|ui| {
        ui.label(format!("{} upcast", thousands(t.upcast_ok)));
        let failed = RichText::new(format!("{} failed", thousands(t.upcast_failed)));
        ui.label(if t.upcast_failed > 0 {
            failed.color(colours.error)
        } else {
            failed
        });
        let mismatches = RichText::new(format!("{} shape mismatches", t.shape_mismatches.len()));
        ui.label(if t.shape_mismatches.is_empty() {
            mismatches
        } else {
            mismatches.color(colours.error)
        });
    });
    let mut show = |ui: &mut Ui, position: u64, text: String| {
        if ui
            .link(text)
            .on_hover_text("Show this event side by side")
            .clicked()
        {
            commands.push(AppCommand::Upcast(UpcastCommand::ShowEvent {
                event_type: t.event_type.clone(),
                position,
            }));
        }
    };
    for f in &t.failures {
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!(
                    "{} × {} at v{} -> v{}",
                    thousands(f.count),
                    f.kind.label(),
                    f.from,
                    f.to
                ))
                .color(colours.error),
            );
            ui.label(RichText::new(f.message.lines().next().unwrap_or_default()).monospace());
            for example in &f.examples {
                show(ui, example.position, example.describe());
            }
        });
    }
    for m in &t.shape_mismatches {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(m.kind.label()).color(colours.error));
            ui.label(RichText::new(&m.path).monospace().strong());
            ui.label(format!(
                "native {} · upcasted {}",
                types_text(&m.native_types),
                types_text(&m.upcasted_types)
            ));
            if let Some(example) = &m.example {
                show(ui, example.position, format!("e.g. {}", example.describe()));
            }
        });
    }
    if let Some(note) = &t.note {
        ui.label(RichText::new(note).color(colours.warning));
    }
}
