//! Commands and messages of the trace page.

use std::sync::Arc;

use crate::core::Event;
use crate::trace::{Method, Trace, TraceIndex};

/// What the trace view asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceCommand {
    /// Trace a correlation id (switches to the trace view).
    Correlation(String),
    /// Find the event with this id and trace its correlation.
    EventId(String),
    /// Cancel the running trace.
    Cancel,
    /// Resume building the index after it was cancelled.
    ResumeIndex,
    /// Write the current trace to a file.
    Export {
        /// Target file.
        path: String,
        /// Graphviz DOT instead of JSON.
        dot: bool,
    },
    /// Choose a file in the native save dialog, then export.
    ExportDialog {
        /// Graphviz DOT instead of JSON.
        dot: bool,
    },
}

/// Results of trace jobs.
pub enum TraceMsg {
    /// The index of the open store is open.
    IndexReady {
        /// Store generation.
        generation: u64,
        /// The index.
        index: Arc<TraceIndex>,
    },
    /// The index could not be opened; traces scan.
    IndexUnavailable {
        /// Store generation.
        generation: u64,
        /// Why.
        error: String,
    },
    /// A chunk of the index was built.
    IndexProgress {
        /// Store generation.
        generation: u64,
        /// Indexed through this position.
        indexed_through: u64,
        /// Store head.
        head: u64,
        /// Reached the head.
        complete: bool,
    },
    /// A trace is ready.
    Traced {
        /// Trace generation.
        generation: u64,
        /// The trace and how it was found.
        result: Result<(Arc<Trace>, Method), String>,
    },
    /// An event id lookup finished.
    EventFound {
        /// Trace generation.
        generation: u64,
        /// The id looked up.
        event_id: String,
        /// The event, if found.
        event: Option<Box<Event>>,
    },
    /// An export finished (path or error).
    Exported(Result<String, String>),
}
