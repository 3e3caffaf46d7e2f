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
}

/// Draws `value` as a tree rooted at `$`. `id_salt` keeps expansion state per event.
pub fn json_tree_ui(
    ui: &mut Ui,
    id_salt: impl std::hash::Hash + std::fmt::Debug,
    value: &Value,
) -> Option<TreeAction> {
    let mut action = None;
    let id = ui.make_persistent_id(id_salt);
    ui.push_id(id, |ui| {
        node_ui(ui, None, "$", value, 0, &mut action);
    });
    action
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
    value: &Value,
    action: &mut Option<TreeAction>,
) {
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
    });
}

fn node_ui(
    ui: &mut Ui,
    key: Option<&str>,
    path: &str,
    value: &Value,
    depth: usize,
    action: &mut Option<TreeAction>,
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
            let collapsing = egui::CollapsingHeader::new(header)
                .id_salt(path)
                .default_open(depth == 0)
                .show(ui, |ui| children_ui(ui, path, value, depth, action));
            context_menu(&collapsing.header_response, path, value, action);
        }
        _ => {
            let response = ui
                .horizontal(|ui| {
                    if let Some(k) = key_text {
                        ui.label(k);
                    }
                    ui.add(egui::Label::new(scalar_text(ui, value)).wrap())
                })
                .inner;
            context_menu(&response, path, value, action);
        }
    }
}

fn children_ui(
    ui: &mut Ui,
    path: &str,
    value: &Value,
    depth: usize,
    action: &mut Option<TreeAction>,
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
                    item,
                    depth + 1,
                    action,
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
                    item,
                    depth + 1,
                    action,
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
