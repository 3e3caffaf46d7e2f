//! The trace view: a correlation id (or an event id) → every event of that correlation
//! across streams, as a causal tree, a timeline (one lane per stream) and a list, with
//! exports. Draws from [`TraceState`] only; asks for work through
//! [`crate::context::trace::TraceCommand`].

use std::sync::Arc;

use egui::RichText;

use crate::context::messages::AppCommand;
use crate::context::trace::TraceCommand;
use crate::trace::{Method, RootKind, Trace};
use crate::ui::theme::{SERIES, palette};
use crate::ui::{count_of, long_time, short_id, thousands};

mod timeline;
use timeline::timeline_ui;

/// The state of the correlation index, as the view shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum IndexView {
    /// No store open.
    #[default]
    None,
    /// Being opened.
    Opening,
    /// Catching up.
    Building {
        /// Indexed through.
        indexed_through: u64,
        /// Store head.
        head: u64,
        /// The index file.
        path: String,
    },
    /// Cancelled by the user; traces scan what is not indexed.
    Paused {
        /// Indexed through.
        indexed_through: u64,
        /// Store head.
        head: u64,
        /// The index file.
        path: String,
    },
    /// Caught up with the head.
    Ready {
        /// Indexed through.
        indexed_through: u64,
        /// The index file.
        path: String,
    },
    /// Could not be opened or built; traces scan.
    Unavailable(String),
}

/// Sub-views of a trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TraceTab {
    /// Parent → caused events.
    #[default]
    Tree,
    /// One lane per stream, time on x.
    Timeline,
    /// Flat list in global order.
    Events,
}

/// The trace view's state.
#[derive(Default)]
pub struct TraceState {
    /// What the user typed.
    pub input: String,
    /// The input is an event id (find its correlation), not a correlation id.
    pub by_event_id: bool,
    /// The trace shown.
    pub trace: Option<Arc<Trace>>,
    /// How it was found.
    pub method: Option<Method>,
    /// The index the store could have answered it from (a statement for the user to run).
    pub index_hint: Option<String>,
    /// What is running (label), while a trace or lookup runs.
    pub pending: Option<String>,
    /// Not found / errors / cancelled.
    pub message: Option<String>,
    /// The trace was found from this event id.
    pub found_by_event: Option<String>,
    /// Selected event (global position).
    pub selected: Option<u64>,
    /// Sub-view.
    pub tab: TraceTab,
    /// Export target typed by the user.
    pub export_path: String,
    /// Result of the last export.
    pub export_message: Option<String>,
    /// The correlation index.
    pub index: IndexView,
}

fn index_line(ui: &mut egui::Ui, state: &TraceState, commands: &mut Vec<AppCommand>) {
    let colours = palette(ui);
    ui.horizontal(|ui| {
        match &state.index {
            IndexView::None => {}
            IndexView::Opening => {
                ui.label(RichText::new("Correlation index: opening…").color(colours.muted));
            }
            IndexView::Building {
                indexed_through,
                head,
                path,
            } => {
                let percent = if *head == 0 {
                    0.0
                } else {
                    *indexed_through as f64 * 100.0 / *head as f64
                };
                let text = format!(
                    "Correlation index: building, {percent:.0} % (through position {} of {}) — traces scan what is not indexed yet",
                    thousands(*indexed_through),
                    thousands(*head)
                );
                ui.label(RichText::new(text).color(colours.warning))
                    .on_hover_text(path);
            }
            IndexView::Paused {
                indexed_through,
                head,
                path,
            } => {
                let text = format!(
                    "Correlation index: paused at position {} of {} — traces scan the rest",
                    thousands(*indexed_through),
                    thousands(*head)
                );
                ui.label(RichText::new(text).color(colours.warning))
                    .on_hover_text(path);
                if ui.button("Resume").clicked() {
                    commands.push(AppCommand::Trace(TraceCommand::ResumeIndex));
                }
            }
            IndexView::Ready {
                indexed_through,
                path,
            } => {
                ui.label(
                    RichText::new(format!(
                        "Correlation index: up to date (through #{})",
                        thousands(*indexed_through)
                    ))
                    .color(colours.muted),
                )
                .on_hover_text(format!("Kept in eventscope's cache, never in the store:\n{path}"));
            }
            IndexView::Unavailable(error) => {
                ui.label(
                    RichText::new(format!("Correlation index unavailable ({error}) — traces scan the store"))
                        .color(colours.warning),
                );
            }
        }
    });
}

/// Draws the trace view.
pub fn trace_ui(ui: &mut egui::Ui, state: &mut TraceState, commands: &mut Vec<AppCommand>) {
    let colours = palette(ui);
    ui.horizontal(|ui| {
        ui.selectable_value(&mut state.by_event_id, false, "Correlation id");
        ui.selectable_value(&mut state.by_event_id, true, "Event id");
        let hint = if state.by_event_id {
            "an event id: its correlation is traced"
        } else {
            "paste a correlation id"
        };
        let id_label = ui.label("Id");
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut state.input)
                    .hint_text(hint)
                    .desired_width(380.0)
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(id_label.id);
        let label = if state.by_event_id {
            "Find event"
        } else {
            "Show trace"
        };
        let submitted = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button(label).clicked() || submitted {
            let id = state.input.trim().to_owned();
            commands.push(AppCommand::Trace(if state.by_event_id {
                TraceCommand::EventId(id)
            } else {
                TraceCommand::Correlation(id)
            }));
        }
        if let Some(pending) = &state.pending {
            ui.spinner();
            ui.label(pending);
            if ui.button("Cancel").clicked() {
                commands.push(AppCommand::Trace(TraceCommand::Cancel));
            }
        }
    });
    index_line(ui, state, commands);
    if let Some(message) = &state.message {
        ui.label(RichText::new(message).color(colours.error));
    }
    let Some(trace) = state.trace.clone() else {
        ui.add_space(24.0);
        ui.label(
            RichText::new(
                "Enter a correlation id (or an event id) to see every event of that correlation across streams — or click 'Trace correlation' in the inspector",
            )
            .color(colours.muted),
        );
        return;
    };
    if trace.nodes.is_empty() {
        return;
    }
    summary_ui(ui, state, &trace);
    ui.horizontal(|ui| {
        ui.selectable_value(&mut state.tab, TraceTab::Tree, "Causal tree");
        ui.selectable_value(&mut state.tab, TraceTab::Timeline, "Timeline");
        ui.selectable_value(&mut state.tab, TraceTab::Events, "Events");
    });
    ui.separator();
    egui::Panel::bottom("trace-export").show(ui, |ui| export_ui(ui, state, commands));
    egui::CentralPanel::default().show(ui, |ui| match state.tab {
        TraceTab::Tree => tree_ui(ui, state, &trace, commands),
        TraceTab::Timeline => timeline_ui(ui, state, &trace, commands),
        TraceTab::Events => events_ui(ui, state, &trace, commands),
    });
}

fn summary_ui(ui: &mut egui::Ui, state: &TraceState, trace: &Trace) {
    let colours = palette(ui);
    let (_, external, missing, cycles) = trace.root_counts();
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!(
            "{} · {} · depth {} · {}",
            count_of(trace.nodes.len() as u64, "event", "events"),
            count_of(trace.streams.len() as u64, "stream", "streams"),
            trace.max_depth(),
            count_of(trace.roots.len() as u64, "root", "roots"),
        ));
        if external > 0 {
            ui.label(format!(
                "{external} external cause{}",
                if external == 1 { "" } else { "s" }
            ));
        }
        if missing > 0 {
            ui.label(
                RichText::new(format!(
                    "{missing} missing parent{}",
                    if missing == 1 { "" } else { "s" }
                ))
                .color(colours.error),
            );
        }
        if cycles > 0 {
            ui.label(RichText::new(format!("{cycles} causation loop(s)")).color(colours.error));
        }
        let late = trace.out_of_order_count();
        if late > 0 {
            ui.label(
                RichText::new(format!("{late} recorded before the parent")).color(colours.warning),
            );
        }
        if !trace.gaps.is_empty() {
            ui.label(
                RichText::new(count_of(trace.gaps.len() as u64, "time gap", "time gaps"))
                    .color(colours.warning),
            );
        }
        let how = match &state.method {
            Some(Method::Index { indexed_through }) => {
                format!(
                    "found with the index (through #{})",
                    thousands(*indexed_through)
                )
            }
            Some(Method::Scan) => "found by scanning the store".to_owned(),
            Some(Method::Store { origin }) => format!("found with {origin}"),
            None => String::new(),
        };
        ui.label(RichText::new(how).color(colours.muted));
        if let (Some(hint), Some(_)) = (&state.index_hint, &state.method) {
            index_hint_ui(ui, hint);
        }
        if let Some(event_id) = &state.found_by_event {
            ui.label(
                RichText::new(format!("(correlation of event {})", short_id(event_id, 13)))
                    .color(colours.muted),
            );
        }
    });
    ui.label(
        RichText::new(format!("correlation {}", trace.correlation_id))
            .monospace()
            .color(colours.muted),
    );
}

/// The store's missing index: the statement that would answer traces from it, to copy
/// (eventscope never runs it: it writes nothing to the store).
fn index_hint_ui(ui: &mut egui::Ui, hint: &str) {
    let colours = palette(ui);
    ui.label(RichText::new("faster with").color(colours.warning))
        .on_hover_text(
            "The store has no index on the correlation id, so traces read the whole log. \
             This statement would create one; eventscope never runs it.",
        );
    ui.label(RichText::new(hint).monospace());
    if ui.small_button("Copy").clicked() {
        ui.ctx().copy_text(hint.to_owned());
    }
}

/// The badges of a node: root kind, out of order, gap before it.
fn badges(ui: &mut egui::Ui, trace: &Trace, index: usize) {
    let colours = palette(ui);
    let node = &trace.nodes[index];
    match &node.root {
        Some(RootKind::External { cause_id }) => {
            ui.label(
                RichText::new(format!("external cause {}", short_id(cause_id, 16)))
                    .color(colours.muted),
            )
            .on_hover_text(cause_id);
        }
        Some(RootKind::MissingParent { cause_id }) => {
            ui.label(
                RichText::new(format!("missing parent {}", short_id(cause_id, 16)))
                    .color(colours.error),
            )
            .on_hover_text(format!(
                "The causation id {cause_id} looks like an event id, but no event of this trace carries it"
            ));
        }
        Some(RootKind::Cycle { cause_id }) => {
            ui.label(RichText::new("causation loop").color(colours.error))
                .on_hover_text(cause_id);
        }
        Some(RootKind::NoCause) | None => {}
    }
    if node.out_of_order {
        ui.label(RichText::new("recorded before its parent").color(colours.warning));
    }
    if let Some(gap) = trace.gaps.iter().find(|g| g.before == index) {
        ui.label(
            RichText::new(format!("gap of {} before", duration_text(gap.seconds)))
                .color(colours.warning),
        );
    }
}

pub(super) fn duration_text(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds < 172_800.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} days", seconds / 86_400.0)
    }
}

fn tree_ui(
    ui: &mut egui::Ui,
    state: &mut TraceState,
    trace: &Trace,
    commands: &mut Vec<AppCommand>,
) {
    let colours = palette(ui);
    scroll_both(ui, |ui| {
        for index in trace.tree_order() {
            let node = &trace.nodes[index];
            let event = &node.event;
            ui.horizontal(|ui| {
                ui.add_space(node.depth as f32 * 22.0);
                lane_dot(ui, node.lane, node.parent.is_none());
                let selected = state.selected == Some(event.global_position);
                let response = ui
                    .selectable_label(selected, RichText::new(&event.event_type).strong())
                    .on_hover_text(format!(
                        "#{} · {} v{}\n{}\nClick: inspect · double-click: open in its stream",
                        event.global_position,
                        event.stream_id,
                        event.stream_version,
                        long_time(event.recorded_at)
                    ));
                if response.clicked() {
                    state.selected = Some(event.global_position);
                    commands.push(AppCommand::Inspect(Box::new(event.clone())));
                }
                if response.double_clicked() {
                    commands.push(AppCommand::OpenInStream(Box::new(event.clone())));
                }
                if ui
                    .link(
                        RichText::new(&event.stream_id)
                            .monospace()
                            .color(colours.link),
                    )
                    .on_hover_text("Open this event in its stream")
                    .clicked()
                {
                    commands.push(AppCommand::OpenInStream(Box::new(event.clone())));
                }
                ui.label(
                    RichText::new(format!(
                        "v{} · #{}",
                        event.stream_version,
                        thousands(event.global_position)
                    ))
                    .monospace()
                    .color(colours.muted),
                );
                badges(ui, trace, index);
            });
        }
    });
}

/// A scroll area both ways that fills the space it is given.
fn scroll_both<R>(ui: &mut egui::Ui, add: impl FnOnce(&mut egui::Ui) -> R) {
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, add);
}

/// A dot in the lane's colour: filled for roots, a ring for caused events.
fn lane_dot(ui: &mut egui::Ui, lane: usize, root: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    let colour = SERIES[lane % SERIES.len()];
    if root {
        ui.painter().circle_filled(rect.center(), 4.5, colour);
    } else {
        ui.painter()
            .circle_stroke(rect.center(), 3.5, egui::Stroke::new(1.5, colour));
    }
}

fn events_ui(
    ui: &mut egui::Ui,
    state: &mut TraceState,
    trace: &Trace,
    commands: &mut Vec<AppCommand>,
) {
    let colours = palette(ui);
    scroll_both(ui, |ui| {
        egui::Grid::new("trace-events")
            .striped(true)
            .num_columns(7)
            .show(ui, |ui| {
                for header in [
                    "position",
                    "recorded at",
                    "stream",
                    "version",
                    "type",
                    "depth",
                    "",
                ] {
                    ui.strong(header);
                }
                ui.end_row();
                for (index, node) in trace.nodes.iter().enumerate() {
                    let event = &node.event;
                    ui.label(RichText::new(thousands(event.global_position)).monospace());
                    ui.label(RichText::new(crate::ui::short_time(event.recorded_at)).monospace());
                    if ui
                        .link(
                            RichText::new(&event.stream_id)
                                .monospace()
                                .color(colours.link),
                        )
                        .clicked()
                    {
                        commands.push(AppCommand::OpenInStream(Box::new(event.clone())));
                    }
                    ui.label(event.stream_version.to_string());
                    let selected = state.selected == Some(event.global_position);
                    if ui.selectable_label(selected, &event.event_type).clicked() {
                        state.selected = Some(event.global_position);
                        commands.push(AppCommand::Inspect(Box::new(event.clone())));
                    }
                    ui.label(node.depth.to_string());
                    ui.horizontal(|ui| badges(ui, trace, index));
                    ui.end_row();
                }
            });
    });
}

fn export_ui(ui: &mut egui::Ui, state: &mut TraceState, commands: &mut Vec<AppCommand>) {
    let colours = palette(ui);
    ui.horizontal(|ui| {
        let label = ui.label("Export to");
        ui.add(
            egui::TextEdit::singleline(&mut state.export_path)
                .hint_text("/path/to/trace.json or .dot")
                .desired_width(320.0),
        )
        .labelled_by(label.id);
        if ui.button("Export JSON").clicked() {
            commands.push(AppCommand::Trace(TraceCommand::Export {
                path: state.export_path.clone(),
                dot: false,
            }));
        }
        if ui.button("Export DOT").clicked() {
            commands.push(AppCommand::Trace(TraceCommand::Export {
                path: state.export_path.clone(),
                dot: true,
            }));
        }
        ui.separator();
        if ui.button("Save JSON…").clicked() {
            commands.push(AppCommand::Trace(TraceCommand::ExportDialog { dot: false }));
        }
        if ui.button("Save DOT…").clicked() {
            commands.push(AppCommand::Trace(TraceCommand::ExportDialog { dot: true }));
        }
        if let Some(message) = &state.export_message {
            let colour = if message.starts_with("saved ") {
                colours.muted
            } else {
                colours.error
            };
            ui.label(RichText::new(message).color(colour));
        }
    });
}
