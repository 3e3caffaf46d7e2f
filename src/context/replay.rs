//! Commands and messages of the replay pages (time travel, snapshots, drift, reducers).

use std::sync::{Arc, Mutex};

use crate::context::pending::JobError;
use crate::replay::ReducerKind;
use crate::replay::config::ProjectConfig;
use crate::replay::snapshots::{DriftReport, DriftSummary, SnapshotCheck};
use crate::replay::timeline::{Blame, EventSummary, Step, Timeline};

/// Which tab of the stream view is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamTab {
    /// The event table.
    #[default]
    Events,
    /// Time travel.
    TimeTravel,
    /// Snapshots vs replay.
    Snapshots,
}

/// What views ask of the replay machinery.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplayCommand {
    /// Show a tab of the stream view.
    SetTab(StreamTab),
    /// (Re)fold the selected stream.
    Build,
    /// Show the state after event `index` (`None` = initial state).
    StepTo(Option<usize>),
    /// Find the event that last changed a field (JSON Pointer) at the current step.
    Blame(String),
    /// Compare the selected stream's snapshots with a replay.
    CheckSnapshots,
    /// Run the store-wide drift report.
    RunDrift,
    /// Write the drift report as JSON.
    ExportDrift(String),
    /// Write an evidence bundle for the current step.
    ExportEvidence(String),
    /// Open the reducers window.
    OpenReducers,
    /// Save the project config text (in eventscope's settings for this store).
    SaveConfig(String),
    /// Approve the config's commands for this store.
    ApproveCommands,
}

/// Results of replay jobs.
pub enum ReplayMsg {
    /// The project config for the open store.
    Config {
        /// Store generation.
        generation: u64,
        /// The config or why it could not be read.
        result: Result<Arc<ProjectConfig>, String>,
    },
    /// Fold progress.
    Progress {
        /// Replay generation.
        generation: u64,
        /// Events folded.
        done: u64,
        /// Events in the stream.
        total: u64,
    },
    /// A stream was folded.
    Timeline {
        /// Replay generation.
        generation: u64,
        /// The timeline and what the view needs of it.
        result: Result<TimelineReady, JobError>,
    },
    /// A step was computed.
    Step {
        /// What was asked for.
        params: StepParams,
        /// The step.
        result: Result<Box<Step>, JobError>,
    },
    /// Blame was computed.
    Blame {
        /// What was asked for.
        params: BlameParams,
        /// The answer.
        result: Result<Box<Blame>, JobError>,
    },
    /// Snapshots were checked.
    Snapshots {
        /// Replay generation.
        generation: u64,
        /// Reducer used.
        reducer: (ReducerKind, String),
        /// Checks.
        result: Result<Vec<SnapshotCheck>, String>,
    },
    /// Drift report progress.
    DriftProgress {
        /// Streams checked.
        streams: u64,
        /// Snapshots checked.
        snapshots: u64,
        /// Totals so far.
        summary: DriftSummary,
    },
    /// Drift report finished.
    DriftDone(Result<DriftReport, JobError>),
    /// An export finished.
    Exported {
        /// Evidence (true) or drift report.
        evidence: bool,
        /// Path written or error.
        result: Result<String, String>,
    },
}

/// A folded stream, ready for the view.
pub struct TimelineReady {
    /// The timeline (shared with step / blame jobs).
    pub timeline: Arc<Mutex<Timeline>>,
    /// Events.
    pub events: Vec<EventSummary>,
    /// Why the fold stopped early.
    pub failure: Option<String>,
    /// Reducer.
    pub reducer: (ReducerKind, String),
    /// Handler names that match no type of the store, with the closest stored types.
    pub warnings: Vec<String>,
}

/// Parameters of a time-travel step: the replay generation and the event index (`None` =
/// the initial state).
pub type StepParams = (u64, Option<usize>);

/// Parameters of a blame: the replay generation, the event index and the JSON pointer.
pub type BlameParams = (u64, Option<usize>, String);
