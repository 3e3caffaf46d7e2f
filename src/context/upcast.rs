//! Commands and messages of the upcasters page, and the rows it draws.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::context::pending::JobError;
use crate::replay::diff::Change;
use crate::upcast::UpcasterFile;
use crate::upcast::VersionRules;
use crate::upcast::check::CheckReport;
use crate::upcast::engine::{StepInfo, UpcastFailure};
use crate::upcast::preview::Selection;

/// What the view asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpcastCommand {
    /// Load upcaster files from typed paths (separated by `,` or `;`).
    LoadFiles(String),
    /// Reload the current files.
    Reload,
    /// Page through these events.
    Select(Selection),
    /// Move the page.
    Page(PageMove),
    /// Find the next event whose upcast fails.
    NextFailure,
    /// Run the bulk check over the selected type, or the whole store.
    RunCheck {
        /// Every event of the store instead of the selected type.
        whole_store: bool,
    },
    /// Show an event (a check example) side by side: its type, from its position.
    ShowEvent {
        /// Type (base).
        event_type: String,
        /// Global position.
        position: u64,
    },
}

/// Page moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageMove {
    /// From the start.
    First,
    /// The page before.
    Previous,
    /// The page after.
    Next,
}

/// The view's tabs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpcastTab {
    /// Events side by side.
    #[default]
    SideBySide,
    /// The bulk check.
    BulkCheck,
}

/// One line of a JSON value in a column.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonLine {
    /// Nesting level.
    pub indent: usize,
    /// Text of the line.
    pub text: String,
    /// How this part differs from the column before.
    pub mark: Option<Change>,
}

/// A column of a row, ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnView {
    /// `stored v1`, `v1 -> v2`.
    pub title: String,
    /// The value's lines.
    pub lines: Vec<JsonLine>,
    /// Paths removed since the column before, with their old values.
    pub removed: Vec<String>,
    /// Number of differences from the column before.
    pub changes: usize,
    /// The failure at this step.
    pub failure: Option<UpcastFailure>,
}

/// An event side by side, ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct RowView {
    /// `#123 order-0042@1 · OrderPlaced`.
    pub heading: String,
    /// `upcast v1 -> v2`, `already v2`, `failed at v2 -> v3: exception`.
    pub status: String,
    /// Whether a step failed.
    pub failed: bool,
    /// Columns: stored, each step.
    pub columns: Vec<ColumnView>,
}

/// Upcaster files as loaded by a job.
#[derive(Debug)]
pub struct LoadedFiles {
    /// The files (texts as read).
    pub files: Vec<UpcasterFile>,
    /// Their modification times.
    pub mtimes: Vec<Option<SystemTime>>,
    /// Version rules (from the project config).
    pub rules: VersionRules,
    /// Where they came from.
    pub origin: String,
    /// The steps they register, or why they do not compile.
    pub steps: Result<Vec<StepInfo>, String>,
    /// A reload after a save (not the first load).
    pub reloaded: bool,
    /// Registrations that name no type of the store, with the closest stored types.
    pub warnings: Vec<String>,
}

/// A page ready to draw: rows, the cursors of the first and last rows, whether it is the
/// last page.
#[derive(Debug)]
pub struct PageRows {
    /// Rows.
    pub rows: Vec<RowView>,
    /// Cursor of the first row.
    pub first: Option<u64>,
    /// Cursor of the last row.
    pub last: Option<u64>,
    /// Nothing follows.
    pub at_end: bool,
}

/// Results of the upcasters view's jobs.
#[derive(Debug)]
pub enum UpcastMsg {
    /// Files loaded (or failed to).
    Files {
        /// Store generation.
        store_generation: u64,
        /// The files, or why they could not be read.
        result: Result<LoadedFiles, String>,
    },
    /// Histogram counting progress.
    HistogramProgress {
        /// Store generation.
        store_generation: u64,
        /// 0..1.
        fraction: f32,
    },
    /// The histogram.
    Histogram {
        /// Store generation.
        store_generation: u64,
        /// Counts per type and version.
        result: Result<BTreeMap<String, BTreeMap<u32, u64>>, JobError>,
    },
    /// A page side by side.
    Page {
        /// Page request generation.
        page_generation: u64,
        /// Rows, cursors and end flag, or the error.
        result: Result<PageRows, JobError>,
    },
    /// Where the next failure is.
    Failure {
        /// Page request generation.
        page_generation: u64,
        /// Its cursor, or none.
        result: Result<Option<u64>, JobError>,
    },
    /// Check progress.
    CheckProgress {
        /// The check's job.
        job_id: u64,
        /// 0..1.
        fraction: f32,
        /// Events read.
        scanned: u64,
    },
    /// The check's result.
    Check {
        /// The check's job.
        job_id: u64,
        /// The report or the error.
        result: Result<CheckReport, JobError>,
    },
}
