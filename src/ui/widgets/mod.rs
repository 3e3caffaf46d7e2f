//! Reusable widgets.

pub mod event_row;
pub mod json_tree;
pub mod text_lines;

/// The outcome line of a save or export beside its button: muted on success, in the error
/// colour on failure, nothing before the first try.
pub fn outcome_label(ui: &mut egui::Ui, outcome: Option<&Result<String, String>>) {
    let colours = crate::ui::theme::palette(ui);
    match outcome {
        Some(Ok(text)) => {
            ui.label(egui::RichText::new(text).color(colours.muted));
        }
        Some(Err(text)) => {
            ui.label(egui::RichText::new(text).color(colours.error));
        }
        None => {}
    }
}
