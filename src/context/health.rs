//! Commands and messages of the Health page.

use crate::audit::{Example, Report};
use crate::context::pending::JobError;
use crate::core::Event;

/// What the Health page asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthCommand {
    /// Audit the open store (one background pass over the whole log).
    Run,
    /// Stop the running audit.
    Cancel,
    /// Show or hide a check's examples.
    Toggle(&'static str),
    /// Open an example's event in its stream.
    Open(Example),
    /// Save the report: to `path` (`None`: ask with the save dialog), as HTML or JSON.
    Export {
        /// Where (`None`: the native save dialog).
        path: Option<String>,
        /// A self-contained HTML page; else JSON.
        html: bool,
    },
}

/// Results of the Health page's jobs.
pub enum HealthMsg {
    /// The audit ended.
    Done {
        /// Audit generation.
        generation: u64,
        /// The report.
        result: Result<Report, JobError>,
    },
    /// The event of an example, read by its position (`None`: it is gone).
    Event {
        /// Audit generation.
        generation: u64,
        /// The event.
        result: Result<Option<Event>, JobError>,
    },
    /// The report was saved (the path) or not (why).
    Exported(Result<String, String>),
}
