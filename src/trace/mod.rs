//! Correlation tracing (core layer, GUI-free): every event of a correlation id across
//! streams, as a causal tree ([`graph`]); finding those events through a sidecar index in
//! eventscope's cache directory or by scanning ([`find`], [`index`]); exports as JSON and
//! Graphviz DOT ([`export`]).
//!
//! Correlation and causation ids come from each event's metadata as its source extracted
//! them (see [`crate::core::metadata`]: the usual keys, nested `metadata`/`headers`
//! objects, or the JSON paths of a mapping file).

pub mod export;
pub mod find;
pub mod graph;
pub mod index;

use std::path::PathBuf;

pub use find::{Method, find_event, trace};
pub use graph::{RootKind, TimeGap, Trace, TraceNode};
pub use index::{CatchUp, IndexStatus, TraceIndex};

/// Errors of tracing and of the correlation index.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// Reading the store failed.
    #[error(transparent)]
    Source(#[from] crate::core::SourceError),
    /// No id was given.
    #[error("enter a correlation id or an event id")]
    EmptyId,
    /// The job was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The platform has no cache directory for eventscope.
    #[error("no cache directory for eventscope (is HOME set?)")]
    NoCacheDir,
    /// The store identity cannot be used as a file name.
    #[error("invalid store identity {0:?}")]
    InvalidIdentity(String),
    /// A file system operation failed.
    #[error(transparent)]
    Io(#[from] crate::own::files::FileError),
    /// The index database failed.
    #[error("correlation index {}: {source}", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// The index file stays unusable even after it was replaced.
    #[error("correlation index {} is unusable: {reason}", path.display())]
    Unusable {
        /// The index file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl TraceError {
    /// True for a cancelled job (from the index or the store).
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self,
            Self::Cancelled | Self::Source(crate::core::SourceError::Cancelled)
        )
    }
}

/// Result alias for tracing.
pub type TraceResult<T> = Result<T, TraceError>;
