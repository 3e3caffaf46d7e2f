//! UI layer: egui views and widgets. Views draw from their own state, never wait on I/O,
//! and report what the user asked for as [`crate::context::messages::AppCommand`]s.

#![warn(clippy::pedantic, missing_docs)]
// Counts and positions become f32/f64 only to draw them (progress bars, chart axes, row
// offsets): an error past the 24th bit is far below a pixel.
#![allow(clippy::cast_precision_loss)]
// Scroll offsets and chart coordinates go back to row and second counts; egui keeps them
// non-negative and far inside the integer range.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
// egui layout functions read top to bottom like the screen they draw, and a dispatch lists
// every variant; splitting them would scatter one screen or one match over many helpers.
#![allow(clippy::too_many_lines)]
// View state holds independent toggles (checkboxes, loading flags), not a state machine.
#![allow(clippy::struct_excessive_bools)]
// Commands and messages are moved out of their enum by the dispatch; taking their fields by
// value keeps each dispatch arm one line.
#![allow(clippy::needless_pass_by_value)]

pub mod connect;
/// The inspector's view (kept at its old path).
pub use pages::inspector::view as inspector;
/// The log page's view (kept at its old path).
pub use pages::log::view as log_view;
/// The streams page's event table (kept at its old path).
pub use pages::streams::table as event_table;
pub mod pages;
/// The projections page's view (kept at its old path).
pub use pages::projections::view as projections;
/// The replay pages' views (kept at their old path).
pub use pages::replay::view as replay;
pub mod status_bar;
/// The streams page's list (kept at its old path).
pub use pages::streams::list as stream_list;
pub mod theme;
/// The trace page's view (kept at its old path).
pub use pages::trace::view as trace;
/// The upcasters page (kept at its old path).
pub use pages::upcast::view as upcast;
pub mod widgets;

use crate::context::messages::AppCommand;
use crate::core::time::format_rfc3339;

/// What views may read about the app (borrowed, narrow).
pub struct UiCtx<'a> {
    /// The open store's summary, when known.
    pub info: Option<&'a crate::core::StoreInfo>,
    /// Head position.
    pub head: u64,
    /// A store is open (its summary may still be on its way).
    pub open: bool,
}

/// Commands produced while drawing.
pub type Commands = Vec<AppCommand>;

/// An event table's type cell: the shown type, with a `!` marker when some field of the
/// event could not be read (the inspector lists which).
pub fn event_type_cell(ui: &mut egui::Ui, event: &crate::core::Event) {
    if event.problems.is_empty() {
        ui.add(egui::Label::new(&event.event_type).truncate());
    } else {
        let text = egui::RichText::new(format!("! {}", event.event_type))
            .color(theme::palette(ui).warning);
        ui.add(egui::Label::new(text).truncate())
            .on_hover_text("Some fields of this event could not be read (see the inspector)");
    }
}

/// A timestamp for tables: `2024-01-02 11:33:24.123`, UTC.
#[must_use]
pub fn short_time(time: Option<chrono::DateTime<chrono::Utc>>) -> String {
    time.map_or_else(
        || "—".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
    )
}

/// A full timestamp for details.
#[must_use]
pub fn long_time(time: Option<chrono::DateTime<chrono::Utc>>) -> String {
    time.map_or_else(
        || "—".to_owned(),
        |t| format!("{} UTC", format_rfc3339(t).trim_end_matches('Z')),
    )
}

pub use crate::core::thousands;

/// `1 stream`, `2 streams`, with thousands separators.
#[must_use]
pub fn count_of(n: u64, singular: &str, plural: &str) -> String {
    format!(
        "{} {}",
        thousands(n),
        if n == 1 { singular } else { plural }
    )
}

/// A right-aligned bold header cell.
pub fn right_header(ui: &mut egui::Ui, text: &str) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        ui.strong(text)
    });
}

/// Right-aligned monospace text in a table cell.
pub fn right_aligned(ui: &mut egui::Ui, text: impl Into<String>) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        ui.label(egui::RichText::new(text.into()).monospace());
    });
}

/// Shortens an id for a narrow column (`1b19a3…`).
#[must_use]
pub fn short_id(id: &str, keep: usize) -> String {
    if id.chars().count() <= keep + 1 {
        id.to_owned()
    } else {
        id.chars().take(keep).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_numbers_and_ids() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(1234), "1,234");
        assert_eq!(super::thousands(10_000_000), "10,000,000");
        assert_eq!(super::short_id("abcdef", 4), "abcd…");
        assert_eq!(super::short_id("abcde", 4), "abcde");
    }
}
