//! Commands and messages of the search page.

use crate::context::pending::JobError;
use crate::search::scan::{Hit, ScanEnd};

/// What the search page asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchCommand {
    /// Search the open store for this text (switches to the search page).
    Run(String),
    /// Stop the running search (what was found stays).
    Cancel,
}

/// Results of a search job.
pub enum SearchMsg {
    /// More hits, newest first, as the scan finds them.
    Hits {
        /// Search generation.
        generation: u64,
        /// The hits.
        hits: Vec<Hit>,
        /// The lowest position looked at so far.
        lowest: u64,
    },
    /// The scan ended.
    Done {
        /// Search generation.
        generation: u64,
        /// How it ended.
        result: Result<ScanEnd, JobError>,
    },
}
