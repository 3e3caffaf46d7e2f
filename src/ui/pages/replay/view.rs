//! Replay views: time travel and snapshots for the selected stream, the store-wide drift
//! report, and the reducers window. Views only draw state and push commands; the app runs
//! every fold, step, blame and check on a worker (src/app/replay.rs).

use egui::{RichText, Ui};

use crate::context::messages::AppCommand;
use crate::replay::ReducerKind;
use crate::replay::diff::{Change, DiffEntry};
use crate::replay::snapshots::{DriftReport, DriftSummary, SnapshotCheck};
use crate::replay::timeline::{Blame, EventSummary, Step};
use crate::ui::theme::palette;
use crate::ui::widgets::json_tree::TreeMarks;

use crate::context::pending::Pending;
use crate::context::replay::{BlameParams, StepParams};
pub use crate::context::replay::{ReplayCommand, StreamTab};

mod drift;
mod reducers;
mod snapshots;
mod time_travel;

pub use drift::drift_ui;
pub use reducers::reducers_window_ui;
pub use snapshots::snapshots_ui;
pub use time_travel::time_travel_ui;

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
    /// The reducer's handler names that match no stored type ("did you mean …").
    pub warnings: Vec<String>,
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
