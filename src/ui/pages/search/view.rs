//! Drawing the search page: the box, the scan's progress and the hits.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use crate::context::messages::AppCommand;
use crate::context::search::SearchCommand;
use crate::search::scan::Hit;
use crate::ui::theme::palette;
use crate::ui::widgets::event_row;

const ROW_HEIGHT: f32 = 22.0;

/// The full-text index as the page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum IndexView {
    /// No store, or not looked at yet.
    #[default]
    Unknown,
    /// Off for this store: searches scan. `estimate`: bytes a build would take.
    Off {
        /// Estimated size of a full index, bytes.
        estimate: Option<u64>,
        /// Events in the store.
        events: u64,
    },
    /// Being built (or caught up) in the background.
    Building {
        /// Indexed through this position.
        through: u64,
        /// The store's head.
        head: u64,
        /// Size on disk so far, bytes.
        size: u64,
    },
    /// Building paused by the user.
    Paused {
        /// Indexed through this position.
        through: u64,
        /// The store's head.
        head: u64,
        /// Size on disk so far, bytes.
        size: u64,
    },
    /// Up to date.
    Ready {
        /// Indexed through this position.
        through: u64,
        /// Size on disk, bytes.
        size: u64,
    },
    /// Cannot be used (the reason).
    Unavailable(String),
}

/// State of the search page.
#[derive(Debug, Default)]
pub struct SearchState {
    /// The text in the box.
    pub input: String,
    /// The text the hits are for.
    pub searched: String,
    /// Hits so far, newest first.
    pub hits: Vec<Hit>,
    /// A scan is running.
    pub running: bool,
    /// The scan reached the start of the log.
    pub complete: bool,
    /// Events checked (when the scan ended).
    pub checked: u64,
    /// The lowest position looked at so far.
    pub lowest: Option<u64>,
    /// The head when the search started.
    pub head: u64,
    /// The selected hit's position.
    pub selected: Option<u64>,
    /// A note below the box (cancelled, nothing found, stopped at the cap).
    pub note: Option<String>,
    /// Why the search could not run or failed.
    pub error: Option<String>,
    /// Focus the box next frame.
    pub focus: bool,
    /// The full-text index.
    pub index: IndexView,
    /// The last search was answered by the index (for the part it covers).
    pub used_index: bool,
}

/// Draws the search page.
pub fn search_ui(ui: &mut Ui, state: &mut SearchState, commands: &mut Vec<AppCommand>) {
    let colours = palette(ui);
    ui.horizontal(|ui| {
        let label = ui.label("Search for");
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut state.input)
                    .hint_text("an order number, an email, any id… (Ctrl+K)")
                    .desired_width(420.0),
            )
            .labelled_by(label.id);
        if std::mem::take(&mut state.focus) {
            response.request_focus();
        }
        let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Find").clicked() || enter {
            commands.push(AppCommand::Search(SearchCommand::Run(state.input.clone())));
        }
        if state.running && ui.button("Stop search").clicked() {
            commands.push(AppCommand::Search(SearchCommand::Cancel));
        }
    });
    ui.label(
        RichText::new(
            "Finds the text in stream ids, event ids, correlation and causation ids, and every \
             string and number of payloads and metadata, ignoring case.",
        )
        .small()
        .color(colours.muted),
    );
    index_line(ui, &state.index, commands);
    if let Some(error) = &state.error {
        ui.label(RichText::new(error).color(colours.error));
        return;
    }
    let hits = crate::ui::count_of(state.hits.len() as u64, "event", "events");
    if state.running {
        ui.horizontal(|ui| {
            ui.spinner();
            let place = state.lowest.map_or_else(
                || "from the newest event".to_owned(),
                |p| format!("down to position {}", crate::ui::thousands(p)),
            );
            ui.label(format!(
                "Searching for “{}”: {hits} so far, {place} of {}",
                state.searched,
                crate::ui::thousands(state.head)
            ));
        });
    } else if !state.searched.is_empty() {
        let scope = if state.complete && state.used_index {
            format!(
                "the whole log ({} from the full-text index and the store, checked one by one)",
                crate::ui::count_of(state.checked, "candidate", "candidates")
            )
        } else if state.complete {
            format!(
                "the whole log ({} the store picked out, checked one by one)",
                crate::ui::count_of(state.checked, "candidate", "candidates")
            )
        } else {
            state.lowest.map_or_else(String::new, |p| {
                format!("positions {} and up", crate::ui::thousands(p))
            })
        };
        ui.label(format!("“{}”: {hits} in {scope}", state.searched));
    }
    if let Some(note) = &state.note {
        ui.label(RichText::new(note).color(colours.warning));
    }
    ui.separator();
    if state.hits.is_empty() {
        if state.searched.is_empty() {
            ui.label(
                RichText::new("Type a text and press Enter: every event that mentions it appears here, newest first.")
                    .color(colours.muted),
            );
        }
        return;
    }
    hits_table(ui, state, commands);
}

/// The full-text index's state, with what can be done about it.
fn index_line(ui: &mut Ui, index: &IndexView, commands: &mut Vec<AppCommand>) {
    let colours = palette(ui);
    let fraction = |through: u64, head: u64| {
        if head == 0 {
            100
        } else {
            (u128::from(through.min(head)) * 100 / u128::from(head)) as u64
        }
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Full-text index:").strong());
        match index {
            IndexView::Unknown => {
                ui.label(RichText::new("looking…").color(colours.muted));
            }
            IndexView::Off { estimate, events } => {
                ui.label(
                    RichText::new(format!(
                        "off for this store: searches read all {} events",
                        crate::ui::thousands(*events)
                    ))
                    .color(colours.muted),
                );
                let size = estimate.map_or_else(String::new, |b| {
                    format!(" (about {})", crate::core::bytes(b))
                });
                if ui
                    .button(format!("Build the index{size}"))
                    .on_hover_text(
                        "Indexes every text of every event in eventscope's cache directory \
                         (never in the store), in the background; searches then answer at once.",
                    )
                    .clicked()
                {
                    commands.push(AppCommand::Search(SearchCommand::BuildIndex));
                }
            }
            IndexView::Building {
                through,
                head,
                size,
            } => {
                ui.add(egui::Spinner::new());
                ui.label(format!(
                    "building: {}% ({} of {} events, {}); searches scan the rest",
                    fraction(*through, *head),
                    crate::ui::thousands(*through),
                    crate::ui::thousands(*head),
                    crate::core::bytes(*size)
                ));
                if ui.button("Pause").clicked() {
                    commands.push(AppCommand::Search(SearchCommand::PauseIndex));
                }
            }
            IndexView::Paused {
                through,
                head,
                size,
            } => {
                ui.label(format!(
                    "paused at {}% ({} of {} events, {})",
                    fraction(*through, *head),
                    crate::ui::thousands(*through),
                    crate::ui::thousands(*head),
                    crate::core::bytes(*size)
                ));
                if ui.button("Resume").clicked() {
                    commands.push(AppCommand::Search(SearchCommand::BuildIndex));
                }
                if ui.button("Turn off").clicked() {
                    commands.push(AppCommand::Search(SearchCommand::TurnOffIndex));
                }
            }
            IndexView::Ready { through, size } => {
                ui.label(format!(
                    "up to date through position {} ({})",
                    crate::ui::thousands(*through),
                    crate::core::bytes(*size)
                ));
                if ui
                    .button("Turn off")
                    .on_hover_text("Deletes the index; searches then read the store again.")
                    .clicked()
                {
                    commands.push(AppCommand::Search(SearchCommand::TurnOffIndex));
                }
            }
            IndexView::Unavailable(error) => {
                ui.label(
                    RichText::new(format!("unavailable ({error}); searches read the store"))
                        .color(colours.warning),
                );
            }
        }
    });
}

fn hits_table(ui: &mut Ui, state: &mut SearchState, commands: &mut Vec<AppCommand>) {
    let colours = palette(ui);
    let selected = state.selected;
    let mut clicked = None;
    TableBuilder::new(ui)
        .id_salt("search-hits")
        .striped(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(84.0))
        .column(
            Column::initial(200.0)
                .at_least(80.0)
                .clip(true)
                .resizable(true),
        )
        .column(Column::exact(56.0))
        .column(
            Column::initial(160.0)
                .at_least(80.0)
                .clip(true)
                .resizable(true),
        )
        .column(Column::remainder().at_least(200.0).clip(true))
        .auto_shrink([false, false])
        .header(ROW_HEIGHT, |mut header| {
            event_row::header(&mut header, "Matched");
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, state.hits.len(), |mut row| {
                let hit = &state.hits[row.index()];
                let event = &hit.event;
                row.set_selected(selected == Some(event.global_position));
                let position = crate::ui::thousands(event.global_position);
                event_row::cells(&mut row, event, position, commands);
                row.col(|ui| {
                    matched_cell(ui, hit, &state.searched, colours.warning);
                });
                if event_row::clicked(&row, event, commands) {
                    clicked = Some(event.clone());
                }
            });
        });
    if let Some(event) = clicked {
        state.selected = Some(event.global_position);
        commands.push(AppCommand::Inspect(Box::new(event)));
    }
}

/// `path = value` of the first match, the matched text highlighted, with the others on
/// hover; a correlation id match offers its trace.
fn matched_cell(ui: &mut Ui, hit: &Hit, searched: &str, highlight: egui::Color32) {
    let Some(first) = hit.matches.first() else {
        return;
    };
    let mut job = egui::text::LayoutJob::default();
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let plain = egui::TextFormat::simple(font.clone(), ui.visuals().text_color());
    let marked = egui::TextFormat {
        background: highlight.gamma_multiply(0.35),
        ..egui::TextFormat::simple(font, ui.visuals().strong_text_color())
    };
    job.append(&format!("{} = ", first.path), 0.0, plain.clone());
    for (part, is_match) in split_matches(&first.value, searched) {
        job.append(
            part,
            0.0,
            if is_match {
                marked.clone()
            } else {
                plain.clone()
            },
        );
    }
    if hit.matches.len() > 1 {
        job.append(
            &format!("  +{} more", hit.matches.len() - 1),
            0.0,
            egui::TextFormat::simple(
                egui::TextStyle::Small.resolve(ui.style()),
                ui.visuals().weak_text_color(),
            ),
        );
    }
    let response = ui.label(job);
    if hit.matches.len() > 1 {
        let all: Vec<String> = hit
            .matches
            .iter()
            .map(|m| format!("{} = {}", m.path, m.value))
            .collect();
        response.on_hover_text(all.join("\n"));
    }
}

/// `text` cut into pieces, each marked whether it is the needle (ignoring case); pieces
/// are whole characters of `text`.
#[must_use]
pub fn split_matches<'a>(text: &'a str, needle: &str) -> Vec<(&'a str, bool)> {
    let needle: Vec<char> = needle.to_lowercase().chars().collect();
    if needle.is_empty() {
        return vec![(text, false)];
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let lower: Vec<String> = chars
        .iter()
        .map(|(_, c)| c.to_lowercase().collect())
        .collect();
    let mut pieces = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < chars.len() {
        // Match needle chars against the lowercase of each text char in turn.
        let mut j = i;
        let mut k = 0usize;
        while j < chars.len() && k < needle.len() {
            let folded: Vec<char> = lower[j].chars().collect();
            if needle.get(k..k + folded.len()) == Some(folded.as_slice()) {
                k += folded.len();
                j += 1;
            } else {
                break;
            }
        }
        if k == needle.len() && j > i {
            let at = chars[i].0;
            let end = chars.get(j).map_or(text.len(), |(b, _)| *b);
            if at > start {
                pieces.push((&text[start..at], false));
            }
            pieces.push((&text[at..end], true));
            start = end;
            i = j;
        } else {
            i += 1;
        }
    }
    if start < text.len() {
        pieces.push((&text[start..], false));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::split_matches;

    #[test]
    fn matches_are_marked_ignoring_case_on_char_boundaries() {
        assert_eq!(
            split_matches("Ana@Example.com and ana@example.COM", "ana@example.com"),
            [
                ("Ana@Example.com", true),
                (" and ", false),
                ("ana@example.COM", true)
            ]
        );
        assert_eq!(
            split_matches("Ærøskøbing", "ærø"),
            [("Ærø", true), ("skøbing", false)]
        );
        assert_eq!(split_matches("nothing", "x"), [("nothing", false)]);
    }
}
