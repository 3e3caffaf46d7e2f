//! Virtualised display of long text (pretty JSON, hex dumps): only visible lines are laid
//! out, so megabytes of text scroll smoothly.

use egui::{RichText, Ui};

/// Lines shown before "show all".
pub const DEFAULT_LINE_LIMIT: usize = 2_000;

/// Shows `lines` in a scroll area, truncated to `limit` lines unless `show_all` is set;
/// returns true when the user clicked "Show all".
pub fn text_lines_ui(
    ui: &mut Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    lines: &[String],
    show_all: bool,
) -> bool {
    let shown = if show_all {
        lines.len()
    } else {
        lines.len().min(DEFAULT_LINE_LIMIT)
    };
    let mut clicked = false;
    if shown < lines.len() {
        ui.horizontal(|ui| {
            ui.label(format!(
                "Showing the first {shown} of {} lines",
                lines.len()
            ));
            clicked = ui.button("Show all").clicked();
        });
    }
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
    egui::ScrollArea::both()
        .id_salt(id_salt)
        .auto_shrink([false, false])
        .show_rows(ui, row_height, shown, |ui, range| {
            for line in &lines[range] {
                ui.add(egui::Label::new(RichText::new(line).monospace()).extend());
            }
        });
    clicked
}

/// A classic hex dump: offset, 16 bytes in hex, and their printable ASCII.
#[must_use]
pub fn hex_dump(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        char::from(b)
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {:<48}  {ascii}", i * 16, hex.join(" "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_dump_lines() {
        let lines = super::hex_dump(b"hello\x00\xffworld, this is long");
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("00000000  68 65 6c 6c 6f 00 ff"));
        assert!(lines[0].ends_with("hello..world, th"));
    }
}
