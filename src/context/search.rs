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
    /// Build the full-text index of the open store (and keep it up to date).
    BuildIndex,
    /// Pause building the index (searches scan what it does not cover).
    PauseIndex,
    /// Delete the index and stop building it for this store.
    TurnOffIndex,
}

/// The full-text index as it was found when the store opened.
pub struct OpenedIndex {
    /// The index, when it is on for this store.
    pub index: Option<std::sync::Arc<crate::search::index::SearchIndex>>,
    /// How far it has got.
    pub status: crate::search::index::IndexStatus,
    /// Its size on disk, bytes.
    pub size: u64,
    /// The store's head.
    pub head: u64,
    /// The size a full build would take, estimated (when it is off).
    pub estimate: Option<u64>,
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
    /// The index was opened, or found off, for a newly opened store.
    IndexOpened {
        /// Store generation.
        generation: u64,
        /// The index, or why it cannot be used.
        result: Result<OpenedIndex, String>,
    },
    /// A chunk of the index was built.
    IndexProgress {
        /// Store generation.
        generation: u64,
        /// Indexed through this position.
        through: u64,
        /// The head when the chunk started.
        head: u64,
        /// The index reached the head.
        complete: bool,
        /// Its size on disk, bytes.
        size: u64,
    },
    /// Building the index failed.
    IndexFailed {
        /// Store generation.
        generation: u64,
        /// Why.
        error: String,
    },
}
