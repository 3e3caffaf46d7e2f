//! Replay views: time travel and snapshots for the selected stream, the store-wide drift
//! report, and the reducers window. Views only draw state and push commands; the app runs
//! every fold, step, blame and check on a worker (src/app/replay.rs).

use std::fmt::Write as _;

use egui::{RichText, Ui};

use crate::context::messages::AppCommand;
use crate::replay::ReducerKind;
use crate::replay::diff::{Change, DiffEntry};
use crate::replay::snapshots::{DriftReport, DriftSummary, SnapshotCheck, SnapshotStatus};
use crate::replay::timeline::{Blame, EventSummary, Step};
use crate::ui::theme::{ROW_HEIGHT, palette};
use crate::ui::widgets::json_tree::{TreeAction, TreeMarks, json_tree_marked_ui};

use crate::context::pending::Pending;
use crate::context::replay::{BlameParams, StepParams};
pub use crate::context::replay::{ReplayCommand, StreamTab};

type Commands = Vec<AppCommand>;

/// Time-travel state of the selected stream.
#[derive(Debug, Default)]
pub struct TimeTravelState {
    /// Stream the timeline is for.
    pub stream_id: Option<String>,
    /// Reducer label and kind.
    pub reducer: Option<(ReducerKind, String)>,
    /// Folding: (done, total).
    pub building: Option<(u64, u64)>,
    /// The fold could not start.
    pub error: Option<String>,
    /// The fold stopped early here.
    pub failure: Option<String>,
    /// Events of the timeline.
    pub events: Vec<EventSummary>,
    /// Index of the current event (`None` = initial state).
    pub current: Option<usize>,
    /// The step shown (the previous one stays while the next is computed).
    pub step: Pending<Step, StepParams>,
    /// Marks for the state tree.
    pub marks: TreeMarks,
    /// Version box text.
    pub version_text: String,
    /// "As of" box text.
    pub as_of_text: String,
    /// Message about the last version / time typed.
    pub input_message: Option<String>,
    /// Blame result (and whether one is running).
    pub blame: Pending<Blame, BlameParams>,
    /// Evidence file path.
    pub evidence_path: String,
    /// Result of the last export.
    pub evidence_status: Option<Result<String, String>>,
    /// Scroll the event list to the current row on the next frame.
    pub scroll_to_current: bool,
}

/// Snapshots tab state.
#[derive(Debug, Default)]
pub struct SnapshotsState {
    /// Stream they are for.
    pub stream_id: Option<String>,
    /// Checking.
    pub pending: bool,
    /// Results.
    pub checks: Option<Result<Vec<SnapshotCheck>, String>>,
    /// Selected row.
    pub selected: Option<usize>,
    /// Reducer label.
    pub reducer: Option<(ReducerKind, String)>,
}

/// Drift report state.
#[derive(Debug, Default)]
pub struct DriftState {
    /// Running: streams done, snapshots done, summary so far.
    pub running: Option<(u64, u64, DriftSummary)>,
    /// Job id (for cancel).
    pub job: Option<u64>,
    /// The finished (or cancelled) report.
    pub report: Option<Result<DriftReport, String>>,
    /// Export path.
    pub export_path: String,
    /// Result of the last export.
    pub export_status: Option<Result<String, String>>,
}

/// Reducers window state.
#[derive(Debug, Default)]
pub struct ReducersWindow {
    /// Shown.
    pub open: bool,
    /// Where the config came from.
    pub origin: String,
    /// Editable TOML.
    pub text: String,
    /// Result of the last save.
    pub status: Option<Result<String, String>>,
    /// Commands waiting for approval (descriptions).
    pub needs_approval: Vec<String>,
    /// Per-category choices, described.
    pub choices: Vec<(String, String)>,
}

/// All replay UI state.
#[derive(Debug, Default)]
pub struct ReplayState {
    /// Stream view tab.
    pub tab: StreamTab,
    /// Time travel.
    pub time_travel: TimeTravelState,
    /// Snapshots.
    pub snapshots: SnapshotsState,
    /// Drift report.
    pub drift: DriftState,
    /// Reducers window.
    pub reducers: ReducersWindow,
}

fn push(commands: &mut Commands, command: ReplayCommand) {
    commands.push(AppCommand::Replay(command));
}

/// Tabs above the stream view.
pub fn stream_tabs_ui(ui: &mut Ui, state: &mut ReplayState, commands: &mut Commands) {
    ui.horizontal(|ui| {
        for (tab, label, hover) in [
            (StreamTab::Events, "Events", "The stream's events"),
            (
                StreamTab::TimeTravel,
                "Time travel",
                "Step through the stream's states, version by version (left / right arrow keys)",
            ),
            (
                StreamTab::Snapshots,
                "Snapshots",
                "Stored snapshots compared with a full replay",
            ),
        ] {
            if ui
                .selectable_label(state.tab == tab, label)
                .on_hover_text(hover)
                .clicked()
                && state.tab != tab
            {
                push(commands, ReplayCommand::SetTab(tab));
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("Reducers…")
                .on_hover_text("Which reducer replays which category (project config)")
                .clicked()
            {
                push(commands, ReplayCommand::OpenReducers);
            }
        });
    });
    ui.separator();
}

fn reducer_badge(ui: &mut Ui, reducer: Option<&(ReducerKind, String)>) {
    let colours = palette(ui);
    match reducer {
        Some((ReducerKind::Generic, _)) => {
            ui.label(
                RichText::new(
                    "Reducer: generic — JSON merge of payloads (a guess, not your domain logic)",
                )
                .color(colours.warning),
            )
            .on_hover_text(
                "No reducer is configured for this category. Open Reducers… to name a script \
                 or a command.",
            );
        }
        Some((kind, label)) => {
            ui.label(format!("Reducer: {} {label}", kind.label()));
        }
        None => {
            ui.label(RichText::new("Reducer: …").color(colours.muted));
        }
    }
}

fn change_summary(changes: &[DiffEntry]) -> String {
    let count = |c: Change| changes.iter().filter(|d| d.change == c).count();
    format!(
        "{} added · {} changed · {} removed",
        count(Change::Added),
        count(Change::Changed),
        count(Change::Removed)
    )
}

/// The time-travel tab.
pub fn time_travel_ui(ui: &mut Ui, state: &mut TimeTravelState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.horizontal_wrapped(|ui| {
        reducer_badge(ui, state.reducer.as_ref());
        if let Some((done, total)) = state.building {
            ui.spinner();
            ui.label(format!(
                "Folding {} of {} events…",
                crate::ui::thousands(done),
                crate::ui::thousands(total)
            ));
        } else if ui.button("Replay again").clicked() {
            push(commands, ReplayCommand::Build);
        }
    });
    if let Some(error) = &state.error {
        ui.label(RichText::new(error).color(colours.error));
        return;
    }
    if let Some(failure) = &state.failure {
        ui.label(RichText::new(format!("The replay stopped: {failure}")).color(colours.error));
    }
    if state.events.is_empty() {
        if state.building.is_none() {
            ui.label(RichText::new("This stream has no events to replay.").color(colours.muted));
        }
        return;
    }
    let last_index = state.events.len() - 1;
    // Controls: step buttons, slider, version box, as-of box.
    let mut go: Option<Option<usize>> = None;
    ui.horizontal(|ui| {
        let at_start = state.current.is_none();
        if ui
            .add_enabled(!at_start, egui::Button::new("Previous"))
            .on_hover_text("Previous version (left arrow key)")
            .clicked()
        {
            go = Some(state.current.and_then(|i| i.checked_sub(1)));
        }
        if ui
            .add_enabled(state.current != Some(last_index), egui::Button::new("Next"))
            .on_hover_text("Next version (right arrow key)")
            .clicked()
        {
            go = Some(Some(state.current.map_or(0, |i| (i + 1).min(last_index))));
        }
        let mut slider = state.current.map_or(0, |i| i + 1);
        let width = (ui.available_width() - 420.0).max(120.0);
        ui.spacing_mut().slider_width = width;
        let response = ui.add(
            egui::Slider::new(&mut slider, 0..=last_index + 1)
                .show_value(false)
                .clamping(egui::SliderClamping::Always),
        );
        if response.changed() {
            go = Some(slider.checked_sub(1));
        }
        let version_label = ui.label("Version");
        let version_box = ui
            .add(
                egui::TextEdit::singleline(&mut state.version_text)
                    .desired_width(70.0)
                    .hint_text("e.g. 17"),
            )
            .labelled_by(version_label.id);
        if version_box.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            match state.version_text.trim().parse::<u64>() {
                Ok(v) => {
                    let after = state.events.partition_point(|e| e.version <= v);
                    go = Some(after.checked_sub(1));
                    state.input_message = None;
                }
                Err(_) => {
                    state.input_message = Some(format!("not a version: {}", state.version_text));
                }
            }
        }
        let as_of_label = ui.label("As of");
        let as_of_box = ui
            .add(
                egui::TextEdit::singleline(&mut state.as_of_text)
                    .desired_width(190.0)
                    .hint_text("2024-03-01T12:00:00Z"),
            )
            .labelled_by(as_of_label.id);
        if as_of_box.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            match crate::core::time::parse_timestamp(state.as_of_text.trim()) {
                Some(at) => {
                    let index = state
                        .events
                        .iter()
                        .rposition(|e| e.recorded_at.is_some_and(|t| t <= at));
                    state.input_message = match index {
                        None => Some(format!(
                            "nothing recorded at or before {}: showing the initial state",
                            crate::core::time::format_rfc3339(at)
                        )),
                        Some(_) => None,
                    };
                    go = Some(index);
                }
                None => {
                    state.input_message = Some(format!(
                        "not a time: {} (RFC 3339, e.g. 2024-03-01T12:00:00Z)",
                        state.as_of_text
                    ));
                }
            }
        }
    });
    // Arrow keys step when no text box has focus.
    let typing = ui.ctx().memory(|m| m.focused().is_some());
    if !typing {
        if ui.input(|i| i.key_pressed(egui::Key::ArrowLeft)) {
            go = Some(state.current.and_then(|i| i.checked_sub(1)));
        }
        if ui.input(|i| i.key_pressed(egui::Key::ArrowRight)) {
            go = Some(Some(state.current.map_or(0, |i| (i + 1).min(last_index))));
        }
    }
    if let Some(message) = &state.input_message {
        ui.label(RichText::new(message).color(colours.warning));
    }
    if let Some(target) = go
        && target != state.current
    {
        state.current = target;
        state.scroll_to_current = true;
        push(commands, ReplayCommand::StepTo(target));
    }
    // Where we are.
    ui.horizontal(|ui| {
        match state.current.and_then(|i| state.events.get(i)) {
            Some(event) => {
                ui.strong(format!("Version {}", event.version));
                ui.label(RichText::new(&event.event_type).color(colours.key));
                ui.label(crate::ui::long_time(event.recorded_at));
                ui.label(RichText::new(format!("#{}", event.position)).color(colours.muted));
            }
            None => {
                ui.strong("Initial state (before the first event)");
            }
        }
        if state.step.is_loading() {
            ui.spinner();
        }
        if let Some(step) = state.step.value() {
            ui.label(RichText::new(change_summary(&step.changes)).color(colours.muted));
        }
    });
    ui.separator();
    let available = ui.available_height();
    egui::Panel::left("time-travel-events")
        .resizable(true)
        .default_size(300.0)
        .min_size(200.0)
        .show(ui, |ui| {
            event_list_ui(ui, state, commands, available);
        });
    egui::CentralPanel::default().show(ui, |ui| {
        state_panel_ui(ui, state, commands);
    });
}

fn event_list_ui(ui: &mut Ui, state: &mut TimeTravelState, commands: &mut Commands, height: f32) {
    let colours = palette(ui);
    let rows = state.events.len() + 1;
    let mut scroll = egui::ScrollArea::vertical()
        .id_salt("time-travel-list")
        .max_height(height)
        .auto_shrink([false, false]);
    if state.scroll_to_current {
        let row = state.current.map_or(0, |i| i + 1);
        let spacing = ui.spacing().item_spacing.y;
        let offset = (row as f32 * (ROW_HEIGHT + spacing) - height / 2.0).max(0.0);
        scroll = scroll.vertical_scroll_offset(offset);
        state.scroll_to_current = false;
    }
    scroll.show_rows(ui, ROW_HEIGHT, rows, |ui, range| {
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
        for row in range {
            let index = row.checked_sub(1);
            let selected = index == state.current;
            let text = match index.and_then(|i| state.events.get(i)) {
                Some(e) => format!(
                    "{:>6}  {}  {}",
                    e.version,
                    e.recorded_at.map_or_else(
                        || "--:--:--".to_owned(),
                        |t| t.format("%H:%M:%S").to_string()
                    ),
                    e.event_type
                ),
                None => "     0  initial state".to_owned(),
            };
            let label = RichText::new(text).monospace();
            let label = if index.is_none() {
                label.color(colours.muted)
            } else {
                label
            };
            let hover = index
                .and_then(|i| state.events.get(i))
                .map(|e| {
                    format!(
                        "{} at {} (#{})",
                        e.event_type,
                        crate::ui::long_time(e.recorded_at),
                        e.position
                    )
                })
                .unwrap_or_default();
            if ui
                .selectable_label(selected, label)
                .on_hover_text(hover)
                .clicked()
                && !selected
            {
                state.current = index;
                push(commands, ReplayCommand::StepTo(index));
            }
        }
    });
}

fn state_panel_ui(ui: &mut Ui, state: &mut TimeTravelState, commands: &mut Commands) {
    let colours = palette(ui);
    let Some(step) = state.step.value().cloned() else {
        ui.label(RichText::new("Pick a version to see the state.").color(colours.muted));
        return;
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new("Legend:").color(colours.muted));
        for (text, fill) in [
            ("added", colours.added),
            ("changed", colours.changed),
            ("removed", colours.removed),
        ] {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, fill);
            ui.label(text);
        }
    });
    ui.label(
        RichText::new("Click a value (or right-click a group) to see which event last changed it.")
            .color(colours.muted),
    );
    // Blame.
    if state.blame.is_loading() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Finding the event that last changed it…");
        });
    }
    match state.blame.result() {
        Some(Ok(blame)) => {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(&blame.pointer).monospace().strong());
                    match &blame.event {
                        Some(event) => {
                            ui.label(format!(
                                "was last changed by version {} ({}) at {}",
                                event.stream_version,
                                event.event_type,
                                crate::ui::long_time(event.recorded_at)
                            ));
                            if let Some(correlation) = &event.correlation_id {
                                ui.label(
                                    RichText::new(format!("correlation {correlation}"))
                                        .monospace()
                                        .color(colours.link),
                                );
                            }
                            if ui.button("Inspect event").clicked() {
                                commands.push(AppCommand::Inspect(Box::new(event.clone())));
                            }
                        }
                        None => {
                            ui.label("comes from the initial state (no event changed it)");
                        }
                    }
                });
                let show = |v: &Option<serde_json::Value>| {
                    v.as_ref().map_or_else(
                        || "(absent)".to_owned(),
                        |v| {
                            let text = v.to_string();
                            crate::ui::short_id(&text, 120)
                        },
                    )
                };
                ui.label(
                    RichText::new(format!(
                        "before: {}   now: {}",
                        show(&blame.before),
                        show(&blame.value)
                    ))
                    .monospace(),
                );
            });
        }
        Some(Err(error)) => {
            ui.label(RichText::new(format!("Blame failed: {error}")).color(colours.error));
        }
        None => {}
    }
    // Evidence export.
    ui.horizontal(|ui| {
        let width = (ui.available_width() - 130.0).max(120.0);
        ui.add(
            egui::TextEdit::singleline(&mut state.evidence_path)
                .desired_width(width)
                .hint_text("evidence bundle file (.json)"),
        );
        if ui
            .button("Export evidence")
            .on_hover_text(
                "Write the question, the reducer (source + hash), this state and the events \
                 used (with SHA-256 over their canonical bytes) as JSON",
            )
            .clicked()
        {
            push(
                commands,
                ReplayCommand::ExportEvidence(state.evidence_path.clone()),
            );
        }
    });
    match &state.evidence_status {
        Some(Ok(text)) => {
            ui.label(RichText::new(text).color(colours.muted));
        }
        Some(Err(text)) => {
            ui.label(RichText::new(text).color(colours.error));
        }
        None => {}
    }
    ui.separator();
    let removed: Vec<&DiffEntry> = step
        .changes
        .iter()
        .filter(|d| d.change == Change::Removed)
        .collect();
    egui::ScrollArea::both()
        .id_salt("time-travel-state")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let salt = ("time-travel", state.stream_id.clone());
            if let Some(action) = json_tree_marked_ui(ui, salt, &step.state, &state.marks) {
                match action {
                    TreeAction::Copy(text) => commands.push(AppCommand::Copy(text)),
                    TreeAction::Select(pointer) => {
                        push(commands, ReplayCommand::Blame(pointer));
                    }
                }
            }
            if !removed.is_empty() {
                ui.add_space(8.0);
                ui.label(RichText::new("Removed by this event").strong());
                for entry in removed {
                    let text = format!(
                        "{}  was {}",
                        entry.path,
                        entry
                            .left
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    );
                    let (rect, _) = ui.allocate_exact_size(
                        egui::vec2(ui.available_width(), ROW_HEIGHT),
                        egui::Sense::hover(),
                    );
                    ui.painter().rect_filled(rect, 2.0, colours.removed);
                    ui.put(
                        rect,
                        egui::Label::new(
                            RichText::new(crate::ui::short_id(&text, 200)).monospace(),
                        ),
                    );
                }
            }
        });
}

fn status_text(status: SnapshotStatus) -> &'static str {
    match status {
        SnapshotStatus::Match => "match",
        SnapshotStatus::Drift => "DRIFT",
        SnapshotStatus::SchemaMismatch => "schema mismatch",
        SnapshotStatus::Error => "error",
    }
}

/// The snapshots tab.
pub fn snapshots_ui(ui: &mut Ui, state: &mut SnapshotsState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.horizontal_wrapped(|ui| {
        reducer_badge(ui, state.reducer.as_ref());
        if state.pending {
            ui.spinner();
            ui.label("Replaying and comparing…");
        } else if ui.button("Check again").clicked() {
            push(commands, ReplayCommand::CheckSnapshots);
        }
    });
    let checks = match &state.checks {
        None => return,
        Some(Err(error)) => {
            ui.label(RichText::new(error).color(colours.error));
            return;
        }
        Some(Ok(checks)) => checks,
    };
    if checks.is_empty() {
        ui.label(RichText::new("This stream has no stored snapshots.").color(colours.muted));
        return;
    }
    let earliest = crate::replay::snapshots::earliest_drift(checks).map(|c| c.version);
    let count = |s: SnapshotStatus| checks.iter().filter(|c| c.status == s).count();
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} snapshots: {} match, {} drifted, {} schema mismatch, {} errors",
            checks.len(),
            count(SnapshotStatus::Match),
            count(SnapshotStatus::Drift),
            count(SnapshotStatus::SchemaMismatch),
            count(SnapshotStatus::Error)
        ));
        if let Some(version) = earliest {
            ui.label(
                RichText::new(format!("earliest drift at version {version}"))
                    .color(colours.error)
                    .strong(),
            );
        }
    });
    ui.separator();
    let height = ui.available_height();
    egui::Panel::left("snapshot-list")
        .resizable(true)
        .default_size(300.0)
        .min_size(220.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("snapshot-rows")
                .max_height(height)
                .auto_shrink([false, false])
                .show_rows(ui, ROW_HEIGHT, checks.len(), |ui, range| {
                    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
                    for i in range {
                        let check = &checks[i];
                        let colour = match check.status {
                            SnapshotStatus::Match => colours.muted,
                            SnapshotStatus::Drift | SnapshotStatus::Error => colours.error,
                            SnapshotStatus::SchemaMismatch => colours.warning,
                        };
                        let mut text = format!(
                            "v{:<7} s{:<3} {:<16}",
                            check.version,
                            check
                                .schema_version
                                .map_or_else(|| "-".into(), |v| v.to_string()),
                            status_text(check.status),
                        );
                        if Some(check.version) == earliest {
                            text.push_str(" ← first");
                        }
                        if ui
                            .selectable_label(
                                state.selected == Some(i),
                                RichText::new(text).monospace().color(colour),
                            )
                            .on_hover_text(format!(
                                "snapshot at version {}, taken {}",
                                check.version,
                                crate::ui::long_time(check.taken_at)
                            ))
                            .clicked()
                        {
                            state.selected = Some(i);
                        }
                    }
                });
        });
    egui::CentralPanel::default().show(ui, |ui| {
        let Some(check) = state.selected.and_then(|i| checks.get(i)) else {
            ui.label(RichText::new("Pick a snapshot to see its diff.").color(colours.muted));
            return;
        };
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!("Snapshot at version {}", check.version));
            ui.label(status_text(check.status));
            ui.label(
                RichText::new(format!("taken {}", crate::ui::long_time(check.taken_at)))
                    .color(colours.muted),
            );
            if check.status == SnapshotStatus::SchemaMismatch {
                ui.label(
                    RichText::new(format!(
                        "stored schema version {} ≠ {} expected by the reducer: a loading \
                         application would not use this snapshot as it is",
                        check
                            .schema_version
                            .map_or_else(|| "none".to_owned(), |v| v.to_string()),
                        check
                            .expected_schema_version
                            .map_or_else(|| "?".to_owned(), |v| v.to_string())
                    ))
                    .color(colours.warning),
                );
            }
        });
        if let Some(error) = &check.error {
            ui.label(RichText::new(error).color(colours.error));
            return;
        }
        if check.diffs.is_empty() {
            ui.label("The stored state equals the replayed state.");
        } else {
            egui::Grid::new("snapshot-diff")
                .striped(true)
                .num_columns(3)
                .show(ui, |ui| {
                    ui.strong("path");
                    ui.strong("stored");
                    ui.strong("replayed");
                    ui.end_row();
                    for d in &check.diffs {
                        let fill = match d.change {
                            Change::Added => colours.added,
                            Change::Removed => colours.removed,
                            Change::Changed => colours.changed,
                        };
                        let show = |v: &Option<serde_json::Value>| {
                            v.as_ref().map_or_else(
                                || "(absent)".to_owned(),
                                |v| crate::ui::short_id(&v.to_string(), 80),
                            )
                        };
                        ui.label(RichText::new(&d.path).monospace().background_color(fill));
                        ui.label(RichText::new(show(&d.left)).monospace());
                        ui.label(RichText::new(show(&d.right)).monospace());
                        ui.end_row();
                    }
                });
        }
        ui.add_space(8.0);
        ui.columns(2, |columns| {
            columns[0].strong("Stored");
            columns[1].strong("Replayed");
            if let Some(stored) = &check.stored {
                egui::ScrollArea::vertical()
                    .id_salt("stored-state")
                    .show(&mut columns[0], |ui| {
                        let _ = json_tree_marked_ui(
                            ui,
                            ("stored", check.version),
                            stored,
                            &TreeMarks::from_diff(&check.diffs),
                        );
                    });
            }
            if let Some(replayed) = &check.replayed {
                egui::ScrollArea::vertical().id_salt("replayed-state").show(
                    &mut columns[1],
                    |ui| {
                        let _ = json_tree_marked_ui(
                            ui,
                            ("replayed", check.version),
                            replayed,
                            &TreeMarks::from_diff(&check.diffs),
                        );
                    },
                );
            }
        });
    });
}

/// The store-wide drift report view.
pub fn drift_ui(ui: &mut Ui, state: &mut DriftState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.heading("Snapshot drift");
    ui.label(
        RichText::new(
            "Every stream with stored snapshots is replayed with its category's reducer and each \
             snapshot is compared with the replayed state at its version.",
        )
        .color(colours.muted),
    );
    ui.horizontal(|ui| {
        if let Some((streams, snapshots, _)) = &state.running {
            ui.spinner();
            ui.label(format!(
                "Checked {} streams, {} snapshots…",
                crate::ui::thousands(*streams),
                crate::ui::thousands(*snapshots)
            ));
            if let Some(job) = state.job
                && ui.button("Cancel").clicked()
            {
                commands.push(AppCommand::Cancel(job));
            }
        } else if ui.button("Run drift report").clicked() {
            push(commands, ReplayCommand::RunDrift);
        }
    });
    let summary = match (&state.running, &state.report) {
        (Some((_, _, summary)), _) => Some(summary.clone()),
        (None, Some(Ok(report))) => Some(report.summary.clone()),
        _ => None,
    };
    if let Some(Err(error)) = &state.report {
        ui.label(RichText::new(error).color(colours.error));
    }
    let Some(summary) = summary else {
        return;
    };
    egui::Grid::new("drift-summary")
        .num_columns(6)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            for h in [
                "streams",
                "checked",
                "matching",
                "drifted",
                "schema mismatch",
                "reducer errors",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for (n, bad) in [
                (summary.streams, false),
                (summary.checked, false),
                (summary.matching, false),
                (summary.drifted, true),
                (summary.schema_mismatch, true),
                (summary.errors, true),
            ] {
                let text = RichText::new(crate::ui::thousands(n)).monospace();
                let text = if bad && n > 0 {
                    text.color(colours.error).strong()
                } else {
                    text
                };
                ui.label(text);
            }
            ui.end_row();
        });
    let Some(Ok(report)) = &state.report else {
        return;
    };
    if !report.complete {
        ui.label(
            RichText::new("Cancelled: the report covers part of the store.").color(colours.warning),
        );
    }
    ui.horizontal(|ui| {
        ui.label("Export JSON");
        ui.add(egui::TextEdit::singleline(&mut state.export_path).desired_width(320.0));
        if ui.button("Save").clicked() {
            push(
                commands,
                ReplayCommand::ExportDrift(state.export_path.clone()),
            );
        }
        match &state.export_status {
            Some(Ok(t)) => {
                ui.label(RichText::new(t).color(colours.muted));
            }
            Some(Err(t)) => {
                ui.label(RichText::new(t).color(colours.error));
            }
            None => {}
        }
    });
    ui.separator();
    if report.streams.is_empty() {
        ui.label("No drift: every checked snapshot matches its replay.");
        return;
    }
    ui.label(format!(
        "{} with drift, schema mismatches or errors (click one to open its snapshots):",
        crate::ui::count_of(report.streams.len() as u64, "stream", "streams")
    ));
    egui::ScrollArea::vertical()
        .id_salt("drift-rows")
        .auto_shrink([false, false])
        .show_rows(ui, ROW_HEIGHT, report.streams.len(), |ui, range| {
            for row in &report.streams[range] {
                let mut text = format!(
                    "{:<28} {:<10} {:>4} checked  {:>3} drifted",
                    crate::ui::short_id(&row.stream_id, 27),
                    crate::ui::short_id(&row.category, 9),
                    row.checked,
                    row.drifted
                );
                if let Some(v) = row.first_drift_version {
                    write!(text, "  first at v{v}: {}", row.first_paths.join(", ")).ok();
                }
                if row.schema_mismatch > 0 {
                    write!(text, "  {} schema mismatch", row.schema_mismatch).ok();
                }
                if let Some(error) = &row.error {
                    write!(text, "  error: {}", crate::ui::short_id(error, 80)).ok();
                }
                let colour = if row.drifted > 0 || row.error.is_some() {
                    colours.error
                } else {
                    colours.warning
                };
                if ui
                    .selectable_label(false, RichText::new(text).monospace().color(colour))
                    .on_hover_text(&row.stream_id)
                    .clicked()
                {
                    commands.push(AppCommand::SelectStream {
                        stream_id: row.stream_id.clone(),
                        version: row.first_drift_version,
                    });
                    push(commands, ReplayCommand::SetTab(StreamTab::Snapshots));
                    commands.push(AppCommand::SetView(crate::context::state::View::Streams));
                }
            }
        });
}

/// The reducers window.
pub fn reducers_window_ui(
    ctx: &egui::Context,
    state: &mut ReducersWindow,
    commands: &mut Commands,
) {
    if !state.open {
        return;
    }
    let mut open = true;
    egui::Window::new("Reducers")
        .open(&mut open)
        .default_width(640.0)
        .show(ctx, |ui| {
            let colours = palette(ui);
            ui.label(format!("Project config: {}", state.origin));
            if !state.choices.is_empty() {
                egui::Grid::new("reducer-choices")
                    .striped(true)
                    .show(ui, |ui| {
                        ui.strong("category");
                        ui.strong("reducer");
                        ui.end_row();
                        for (category, choice) in &state.choices {
                            ui.label(RichText::new(category).monospace());
                            ui.label(choice);
                            ui.end_row();
                        }
                    });
            }
            if !state.needs_approval.is_empty() {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.label(
                        RichText::new(
                            "The config beside this store wants to run these programs on your \
                             machine to replay events:",
                        )
                        .color(colours.warning),
                    );
                    for command in &state.needs_approval {
                        ui.label(RichText::new(command).monospace());
                    }
                    if ui.button("Allow for this store").clicked() {
                        push(commands, ReplayCommand::ApproveCommands);
                    }
                });
            }
            ui.label(
                RichText::new(
                    "Edit below and Save: the file is kept in eventscope's settings for this \
                     store (the store and its directory are never written). Keys: \
                     [reducers.<category>] with script = \"file.js\", command = \"…\" or \
                     generic = true; schema_version = N.",
                )
                .color(colours.muted),
            );
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    push(commands, ReplayCommand::SaveConfig(state.text.clone()));
                }
                match &state.status {
                    Some(Ok(t)) => {
                        ui.label(RichText::new(t).color(colours.muted));
                    }
                    Some(Err(t)) => {
                        ui.label(RichText::new(t).color(colours.error));
                    }
                    None => {}
                }
            });
            egui::ScrollArea::vertical()
                .max_height(300.0)
                .show(ui, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut state.text)
                            .code_editor()
                            .desired_rows(14)
                            .desired_width(f32::INFINITY),
                    );
                });
        });
    state.open &= open;
}
