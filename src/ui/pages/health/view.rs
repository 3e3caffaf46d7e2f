//! Drawing the Health page: Run / Cancel with progress, then one row per check (severity,
//! count / total, a bar, why it matters), each expandable to its examples.

use std::collections::BTreeSet;

use egui::{RichText, Ui};

use crate::audit::{CheckResult, Report, Severity};
use crate::context::health::HealthCommand;
use crate::context::messages::AppCommand;
use crate::ui::theme::palette;

/// State of the Health page.
#[derive(Debug, Default)]
pub struct HealthState {
    /// The last report.
    pub report: Option<Report>,
    /// An audit is running.
    pub running: bool,
    /// Its progress (0..1), when known.
    pub progress: Option<f32>,
    /// Checks whose examples are shown.
    pub expanded: BTreeSet<&'static str>,
    /// A note (cancelled, an example gone).
    pub note: Option<String>,
    /// Why the audit could not run or failed.
    pub error: Option<String>,
    /// Checks left out of the next run (the Checks to run list).
    pub skipped: BTreeSet<&'static str>,
    /// Where to save the report.
    pub export_path: String,
    /// Result of the last save.
    pub export_message: Option<String>,
}

/// Draws the Health page.
pub fn health_ui(ui: &mut Ui, state: &mut HealthState, commands: &mut Vec<AppCommand>) {
    let colours = palette(ui);
    ui.horizontal(|ui| {
        if state.running {
            if ui.button("Cancel audit").clicked() {
                commands.push(AppCommand::Health(HealthCommand::Cancel));
            }
            ui.spinner();
            let pct = state.progress.unwrap_or(0.0) * 100.0;
            ui.label(format!("Auditing every event: {pct:.0}%"));
        } else {
            let label = if state.report.is_some() {
                "Run the audit again"
            } else {
                "Run the audit"
            };
            if ui.button(label).clicked() {
                commands.push(AppCommand::Health(HealthCommand::Run));
            }
        }
    });
    if state.running {
        ui.add(egui::ProgressBar::new(state.progress.unwrap_or(0.0)).desired_width(420.0));
    }
    checks_to_run_ui(ui, state);
    ui.label(
        RichText::new(
            "The event-sourcing checklist, checked against what the store holds: ids, \
             versions, order, time, duplicates, stream length, snapshots, personal data, names \
             and state in events — one read of the whole log.",
        )
        .small()
        .color(colours.muted),
    );
    if let Some(error) = &state.error {
        ui.label(RichText::new(error).color(colours.error));
    }
    if let Some(note) = &state.note {
        ui.label(RichText::new(note).color(colours.warning));
    }
    ui.separator();
    if state.report.is_none() {
        if !state.running {
            ui.label(
                RichText::new("Run the audit: each check shows what it found, with examples.")
                    .color(colours.muted),
            );
        }
        return;
    }
    export_ui(ui, state, commands);
    let Some(report) = &state.report else {
        return;
    };
    ui.label(format!(
        "{} in {}, up to position {}",
        crate::ui::count_of(report.events, "event", "events"),
        crate::ui::count_of(report.streams, "stream", "streams"),
        crate::ui::thousands(report.head)
    ));
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for check in &report.checks {
                check_row(ui, check, state.expanded.contains(check.check), commands);
            }
        });
}

/// Which checks the next run includes: one checkbox per check, with why it matters.
fn checks_to_run_ui(ui: &mut Ui, state: &mut HealthState) {
    let all = crate::audit::pass_checks().count();
    let running = all - state.skipped.len();
    egui::CollapsingHeader::new(format!("Checks to run ({running} of {all})"))
        .id_salt("health-checks")
        .show(ui, |ui| {
            for def in crate::audit::pass_checks() {
                let mut on = !state.skipped.contains(def.name);
                if ui
                    .checkbox(&mut on, def.name)
                    .on_hover_text(def.why)
                    .changed()
                {
                    if on {
                        state.skipped.remove(def.name);
                    } else {
                        state.skipped.insert(def.name);
                    }
                }
            }
            ui.label(
                RichText::new("snapshot_drift (snapshots against a full replay): the Drift page")
                    .small()
                    .color(palette(ui).muted),
            );
        });
}

/// Save the report as HTML or JSON: to a typed path, or through the save dialog.
fn export_ui(ui: &mut Ui, state: &mut HealthState, commands: &mut Vec<AppCommand>) {
    ui.horizontal(|ui| {
        let label = ui.label("Save the report to");
        ui.add(
            egui::TextEdit::singleline(&mut state.export_path)
                .hint_text("/path/to/health.html or .json")
                .desired_width(280.0),
        )
        .labelled_by(label.id);
        for (text, html) in [("Save HTML", true), ("Save JSON", false)] {
            if ui.button(text).clicked() {
                commands.push(AppCommand::Health(HealthCommand::Export {
                    path: Some(state.export_path.clone()),
                    html,
                }));
            }
        }
        if ui.button("Save HTML…").clicked() {
            commands.push(AppCommand::Health(HealthCommand::Export {
                path: None,
                html: true,
            }));
        }
        if let Some(message) = &state.export_message {
            let colour = if message.starts_with("saved ") {
                palette(ui).muted
            } else {
                palette(ui).error
            };
            ui.label(RichText::new(message).color(colour));
        }
    });
}

fn severity_colour(ui: &Ui, check: &CheckResult) -> egui::Color32 {
    let colours = palette(ui);
    if check.count == 0 {
        return colours.muted;
    }
    match check.severity {
        Severity::Error => colours.error,
        Severity::Warning => colours.warning,
        Severity::Info => colours.link,
    }
}

fn check_row(ui: &mut Ui, check: &CheckResult, expanded: bool, commands: &mut Vec<AppCommand>) {
    let colour = severity_colour(ui, check);
    ui.horizontal(|ui| {
        // Glyphs the built-in fonts have (no ⏵ / ⏷ there).
        let arrow = if expanded { "−" } else { "+" };
        let button = egui::Button::new(format!("{arrow} {}", check.check)).frame(false);
        let response = ui
            .allocate_ui_with_layout(
                egui::vec2(260.0, 20.0),
                egui::Layout::left_to_right(egui::Align::Center),
                |ui| {
                    ui.set_min_width(260.0);
                    ui.add(button)
                },
            )
            .inner
            .on_hover_text(check.why());
        if response.clicked() {
            commands.push(AppCommand::Health(HealthCommand::Toggle(check.check)));
        }
        let severity = if check.count == 0 {
            "ok"
        } else {
            check.severity.name()
        };
        ui.add_sized(
            [70.0, 20.0],
            egui::Label::new(RichText::new(severity).color(colour).strong()),
        );
        // Counts right-aligned, so the digits line up.
        ui.allocate_ui_with_layout(
            egui::vec2(130.0, 20.0),
            egui::Layout::right_to_left(egui::Align::Center),
            |ui| {
                ui.set_min_width(130.0);
                ui.monospace(format!(
                    "{} / {}",
                    crate::ui::thousands(check.count),
                    crate::ui::thousands(check.total)
                ));
            },
        );
        ui.add_space(8.0);
        bar(ui, check, colour);
        ui.label(RichText::new(check.why()).small().color(palette(ui).muted));
    });
    if !expanded {
        return;
    }
    ui.indent(check.check, |ui| {
        if check.examples.is_empty() {
            ui.label(RichText::new("nothing found").color(palette(ui).muted));
        }
        for example in &check.examples {
            ui.horizontal(|ui| {
                let place = format!(
                    "{} v{} @{}",
                    example.stream_id,
                    example.stream_version,
                    crate::ui::thousands(example.position)
                );
                if ui
                    .add(egui::Link::new(RichText::new(place).monospace()))
                    .on_hover_text("Open this event in its stream")
                    .clicked()
                {
                    commands.push(AppCommand::Health(HealthCommand::Open(example.clone())));
                }
                ui.label(&example.detail);
            });
        }
        if check.count > check.examples.len() as u64 {
            ui.label(
                RichText::new(format!(
                    "… and {} more",
                    crate::ui::thousands(check.count - check.examples.len() as u64)
                ))
                .small()
                .color(palette(ui).muted),
            );
        }
    });
}

/// A bar of `count / total`, at least a sliver for any finding.
fn bar(ui: &mut Ui, check: &CheckResult, colour: egui::Color32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(120.0, 10.0), egui::Sense::hover());
    let painter = ui.painter();
    painter.rect_filled(rect, 2.0, ui.visuals().faint_bg_color);
    if check.count == 0 || check.total == 0 {
        return;
    }
    #[allow(clippy::cast_precision_loss)] // A fraction for a bar.
    let share = (check.count as f32 / check.total as f32).clamp(0.03, 1.0);
    let mut filled = rect;
    filled.set_width(rect.width() * share);
    painter.rect_filled(filled, 2.0, colour);
}
