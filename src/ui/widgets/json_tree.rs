//! A collapsible tree view over `serde_json::Value`, with copy value / copy path.
//!
//! Only expanded nodes are drawn, and a node shows at most a bounded number of children
//! at a time ("show more" adds more), so a 10 MB payload never freezes a frame.

use egui::{RichText, Ui};
use serde_json::Value;

use crate::ui::theme::palette;

/// Children shown per node before "show more".
const CHILDREN_PAGE: usize = 200;

/// What the user asked for from the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeAction {
    /// Copy this text to the clipboard.
    Copy(String),
    /// A node was clicked: its JSON Pointer (selectable trees only).
    Select(String),
}

/// Diff marks and selection for a tree.
#[derive(Debug, Default)]
pub struct TreeMarks {
    /// JSON Pointer → how it changed (drawn as a background tint).
    pub changes: std::collections::HashMap<String, crate::replay::diff::Change>,
    /// Pointers under which something changed (their nodes open by default).
    pub changed_parents: std::collections::HashSet<String>,
    /// The selected node's pointer.
    pub selected: Option<String>,
    /// Clicking a node selects it.
    pub selectable: bool,
}

impl TreeMarks {
    /// Marks from diff rows.
    #[must_use]
    pub fn from_diff(rows: &[crate::replay::diff::DiffEntry]) -> Self {
        let mut marks = Self::default();
        for row in rows {
            marks.changes.insert(row.path.clone(), row.change);
            let mut parent = row.path.as_str();
            while let Some(cut) = parent.rfind('/') {
                parent = &parent[..cut];
                if !marks.changed_parents.insert(parent.to_owned()) {
                    break;
                }
            }
        }
        marks
    }
}

/// Draws `value` as a tree rooted at `$`. `id_salt` keeps expansion state per event.
pub fn json_tree_ui(
    ui: &mut Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    value: &Value,
) -> Option<TreeAction> {
    json_tree_marked_ui(ui, id_salt, value, &TreeMarks::default())
}

/// [`json_tree_ui`] with diff tints, a selected node and click-to-select.
pub fn json_tree_marked_ui(
    ui: &mut Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    value: &Value,
    marks: &TreeMarks,
) -> Option<TreeAction> {
    let mut action = None;
    let id = ui.make_persistent_id(id_salt);
    ui.push_id(id, |ui| {
        let mut node = Node {
            marks,
            action: &mut action,
        };
        node_ui(ui, None, "$", "", value, 0, &mut node);
    });
    action
}

struct Node<'a> {
    marks: &'a TreeMarks,
    action: &'a mut Option<TreeAction>,
}

fn tint(ui: &Ui, node: &Node<'_>, pointer: &str, rect: egui::Rect) {
    let colours = palette(ui);
    let fill = match node.marks.changes.get(pointer) {
        Some(crate::replay::diff::Change::Added) => Some(colours.added),
        Some(crate::replay::diff::Change::Removed) => Some(colours.removed),
        Some(crate::replay::diff::Change::Changed) => Some(colours.changed),
        None => None,
    };
    if let Some(fill) = fill {
        ui.painter().rect_filled(rect.expand(1.0), 2.0, fill);
    }
    if node.marks.selected.as_deref() == Some(pointer) {
        ui.painter().rect_stroke(
            rect.expand(2.0),
            2.0,
            egui::Stroke::new(1.5, colours.link),
            egui::StrokeKind::Outside,
        );
    }
}

fn scalar_text(ui: &Ui, value: &Value) -> RichText {
    let colours = palette(ui);
    match value {
        Value::String(s) => {
            let shown: String = if s.chars().count() > 500 {
                s.chars().take(500).collect::<String>() + "…"
            } else {
                s.clone()
            };
            RichText::new(format!("\"{shown}\"")).color(colours.string)
        }
        Value::Number(n) => RichText::new(n.to_string()).color(colours.number),
        Value::Bool(b) => RichText::new(b.to_string()).color(colours.literal),
        Value::Null => RichText::new("null").color(colours.literal),
        Value::Array(items) => {
            RichText::new(format!("[{} items]", items.len())).color(colours.muted)
        }
        Value::Object(map) => RichText::new(format!("{{{} keys}}", map.len())).color(colours.muted),
    }
    .monospace()
}

fn child_path(path: &str, key: Option<&str>, index: Option<usize>) -> String {
    match (key, index) {
        (Some(k), _) if k.chars().all(|c| c.is_alphanumeric() || c == '_') && !k.is_empty() => {
            format!("{path}.{k}")
        }
        (Some(k), _) => format!("{path}[{}]", serde_json::to_string(k).unwrap_or_default()),
        (None, Some(i)) => format!("{path}[{i}]"),
        (None, None) => path.to_owned(),
    }
}

fn context_menu(
    response: &egui::Response,
    path: &str,
    pointer: &str,
    value: &Value,
    node: &mut Node<'_>,
) {
    let selectable = node.marks.selectable;
    let action = &mut *node.action;
    if response.hovered() {
        response.ctx.set_cursor_icon(egui::CursorIcon::PointingHand);
    }
    response.context_menu(|ui| {
        if ui.button("Copy value").clicked() {
            let text = match value {
                Value::String(s) => s.clone(),
                other => serde_json::to_string_pretty(other).unwrap_or_default(),
            };
            *action = Some(TreeAction::Copy(text));
            ui.close();
        }
        if ui.button("Copy path").clicked() {
            *action = Some(TreeAction::Copy(path.to_owned()));
            ui.close();
        }
        if selectable && ui.button("Which event last changed this?").clicked() {
            *action = Some(TreeAction::Select(pointer.to_owned()));
            ui.close();
        }
    });
}

fn node_ui(
    ui: &mut Ui,
    key: Option<&str>,
    path: &str,
    pointer: &str,
    value: &Value,
    depth: usize,
    node: &mut Node<'_>,
) {
    let colours = palette(ui);
    let key_text = key.map(|k| RichText::new(k).color(colours.key).monospace());
    match value {
        Value::Array(_) | Value::Object(_) if depth < 200 => {
            let header = match &key_text {
                Some(k) => {
                    let mut job = egui::text::LayoutJob::default();
                    k.clone().append_to(
                        &mut job,
                        ui.style(),
                        egui::FontSelection::Default,
                        egui::Align::Center,
                    );
                    RichText::new("  ").append_to(
                        &mut job,
                        ui.style(),
                        egui::FontSelection::Default,
                        egui::Align::Center,
                    );
                    scalar_text(ui, value).append_to(
                        &mut job,
                        ui.style(),
                        egui::FontSelection::Default,
                        egui::Align::Center,
                    );
                    egui::WidgetText::LayoutJob(job.into())
                }
                None => egui::WidgetText::RichText(scalar_text(ui, value).into()),
            };
            let open = depth == 0 || node.marks.changed_parents.contains(pointer);
            let collapsing = egui::CollapsingHeader::new(header)
                .id_salt(path)
                .default_open(open)
                .show(ui, |ui| children_ui(ui, path, pointer, value, depth, node));
            tint(ui, node, pointer, collapsing.header_response.rect);
            context_menu(&collapsing.header_response, path, pointer, value, node);
        }
        _ => {
            let sense = if node.marks.selectable {
                egui::Sense::click()
            } else {
                egui::Sense::hover()
            };
            let row = ui.horizontal(|ui| {
                let key_response = key_text.map(|k| ui.add(egui::Label::new(k).sense(sense)));
                let value_response =
                    ui.add(egui::Label::new(scalar_text(ui, value)).wrap().sense(sense));
                match key_response {
                    Some(k) => k.union(value_response),
                    None => value_response,
                }
            });
            tint(ui, node, pointer, row.response.rect);
            let response = row.inner;
            if node.marks.selectable && response.clicked() {
                *node.action = Some(TreeAction::Select(pointer.to_owned()));
            }
            context_menu(&response, path, pointer, value, node);
        }
    }
}

fn children_ui(
    ui: &mut Ui,
    path: &str,
    pointer: &str,
    value: &Value,
    depth: usize,
    node: &mut Node<'_>,
) {
    let limit_id = ui.scope_id().with(("limit", path));
    let limit = ui
        .data(|d| d.get_temp::<usize>(limit_id))
        .unwrap_or(CHILDREN_PAGE);
    let total = match value {
        Value::Array(items) => {
            for (i, item) in items.iter().take(limit).enumerate() {
                let key = i.to_string();
                node_ui(
                    ui,
                    Some(&key),
                    &child_path(path, None, Some(i)),
                    &format!("{pointer}/{i}"),
                    item,
                    depth + 1,
                    node,
                );
            }
            items.len()
        }
        Value::Object(map) => {
            for (k, item) in map.iter().take(limit) {
                node_ui(
                    ui,
                    Some(k),
                    &child_path(path, Some(k), None),
                    &format!("{pointer}/{}", crate::replay::diff::escape_key(k)),
                    item,
                    depth + 1,
                    node,
                );
            }
            map.len()
        }
        _ => 0,
    };
    if total > limit {
        let more = (total - limit).min(CHILDREN_PAGE * 5);
        if ui
            .button(format!("Show {more} more of {} remaining", total - limit))
            .clicked()
        {
            ui.data_mut(|d| d.insert_temp(limit_id, limit + more));
        }
    }
}
