//! The status bar: head, event count, background jobs with progress and cancel, last error.

use egui::{RichText, Ui};

use crate::context::jobs::ActiveJob;
use crate::context::messages::AppCommand;
use crate::ui::theme::palette;
use crate::ui::{Commands, UiCtx, thousands};

/// Background jobs named in the bar; more are counted.
const MAX_SHOWN: usize = 3;

/// Draws the status bar.
pub fn status_bar_ui(
    ui: &mut Ui,
    ctx: &UiCtx<'_>,
    jobs: &std::collections::BTreeMap<u64, ActiveJob>,
    last_error: Option<&str>,
    retry: Option<&str>,
    commands: &mut Commands,
) {
    let colours = palette(ui);
    ui.horizontal(|ui| {
        if ctx.open {
            ui.label(format!("head {}", thousands(ctx.head)));
        } else {
            ui.label("no store open");
        }
        if let Some(count) = ctx.info.and_then(|info| info.event_count) {
            ui.separator();
            ui.label(format!("{} events", thousands(count)));
        }
        let loading = jobs.values().filter(|j| !j.visible && !j.poll).count();
        if loading > 0 {
            ui.separator();
            ui.spinner();
            ui.label(RichText::new("loading").color(colours.muted));
        }
        // At most three jobs by name (the bar is one line); the rest on hover.
        let visible: Vec<(&u64, &ActiveJob)> = jobs.iter().filter(|(_, j)| j.visible).collect();
        let more = visible.len().saturating_sub(MAX_SHOWN);
        for &(id, job) in visible.iter().take(MAX_SHOWN) {
            ui.separator();
            ui.spinner();
            let seconds = job.started.elapsed().as_secs();
            match job.progress {
                Some(fraction) => {
                    ui.add(
                        egui::ProgressBar::new(fraction)
                            .desired_width(90.0)
                            .show_percentage(),
                    );
                    ui.label(&job.label);
                }
                None => {
                    ui.label(format!("{} ({seconds} s)", job.label));
                }
            }
            if ui.small_button("Cancel").clicked() {
                commands.push(AppCommand::Cancel(*id));
            }
        }
        if more > 0 {
            let names: Vec<&str> = visible[MAX_SHOWN..]
                .iter()
                .map(|(_, job)| job.label.as_str())
                .collect();
            ui.separator();
            ui.label(RichText::new(format!("+{more} more")).color(colours.muted))
                .on_hover_text(names.join("\n"));
        }
        ui.with_layout(
            egui::Layout::right_to_left(egui::Align::Center),
            |ui| match last_error {
                Some(error) => {
                    if ui
                        .small_button("Dismiss")
                        .on_hover_text("Hide this error")
                        .clicked()
                    {
                        commands.push(AppCommand::DismissError);
                    }
                    if let Some(label) = retry
                        && ui
                            .small_button(label)
                            .on_hover_text(
                                "Run what failed again; loaded rows stay (also happens by itself once the store answers)",
                            )
                            .clicked()
                    {
                        commands.push(AppCommand::Retry);
                    }
                    ui.add(egui::Label::new(RichText::new(error).color(colours.error)).truncate())
                        .on_hover_text(error);
                }
                None => {
                    ui.label(RichText::new("last error: —").color(colours.muted));
                }
            },
        );
    });
}
