//! The cells every table of events across streams begins with (the log, the search hits):
//! position, stream (a link to the event in its stream), version and type, and what a click
//! on the row asks for.

use egui::RichText;
use egui_extras::TableRow;

use crate::context::messages::AppCommand;
use crate::core::Event;

/// The headers of the four leading columns, then `last`.
pub fn header(header: &mut TableRow<'_, '_>, last: &str) {
    header.col(|ui| crate::ui::right_header(ui, "Position"));
    header.col(|ui| {
        ui.strong("Stream");
    });
    header.col(|ui| crate::ui::right_header(ui, "Version"));
    header.col(|ui| {
        ui.strong("Type");
    });
    header.col(|ui| {
        ui.strong(last);
    });
}

/// The four leading cells of `event`'s row, the position written as `position`. A click on
/// the stream link opens the event in its stream.
pub fn cells(
    row: &mut TableRow<'_, '_>,
    event: &Event,
    position: String,
    commands: &mut Vec<AppCommand>,
) {
    row.col(|ui| crate::ui::right_aligned(ui, position));
    row.col(|ui| {
        if ui
            .add(egui::Link::new(RichText::new(&event.stream_id).monospace()))
            .on_hover_text("Open this event in its stream")
            .clicked()
        {
            commands.push(AppCommand::OpenInStream(Box::new(event.clone())));
        }
    });
    row.col(|ui| crate::ui::right_aligned(ui, event.stream_version.to_string()));
    row.col(|ui| crate::ui::event_type_cell(ui, event));
}

/// After the row's last cell: a double click opens the event in its stream; `true` for a
/// single click (the caller selects and inspects).
pub fn clicked(row: &TableRow<'_, '_>, event: &Event, commands: &mut Vec<AppCommand>) -> bool {
    let response = row.response();
    if response.double_clicked() {
        commands.push(AppCommand::OpenInStream(Box::new(event.clone())));
        false
    } else {
        response.clicked()
    }
}
