//! The `EventSource` trait every store implements, and its error type.
//!
//! Sources are blocking and `Send + Sync`: the app calls them from background worker threads,
//! never from the UI thread, and network sources drive their own runtime internally. Every
//! read is paged and bounded by [`crate::core::query::MAX_PAGE`].

use chrono::{DateTime, Utc};

use crate::core::event::{
    Checkpoint, CheckpointSample, Event, EventTypeName, Snapshot, StoreInfo, StreamInfo,
};
use crate::core::query::{Direction, LogQuery, StreamQuery};

/// Errors a source reports.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The store could not be opened (missing, not a store, unreadable …).
    #[error("{0}")]
    Open(String),
    /// The server wants a password, or refused the one given (the window asks for it).
    #[error("{0}")]
    Authentication(String),
    /// The store was opened but its layout is not recognised.
    #[error("{0}")]
    UnknownLayout(String),
    /// A mapping file is invalid.
    #[error("invalid mapping file: {0}")]
    Mapping(String),
    /// The requested stream does not exist.
    #[error("stream not found: {0}")]
    StreamNotFound(String),
    /// A query failed.
    #[error("query failed: {0}")]
    Query(String),
    /// The operation was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl SourceError {
    /// A read made while opening (the one that proves connection, TLS and credentials):
    /// its query error is an error opening the store.
    #[must_use]
    pub fn at_open(self) -> Self {
        match self {
            Self::Query(message) => Self::Open(message),
            other => other,
        }
    }
}

/// Events a store's own correlation index returned, and where they came from.
#[derive(Clone, Debug)]
pub struct CorrelatedEvents {
    /// What answered, for the UI (e.g. "KurrentDB's $bc-… stream").
    pub origin: String,
    /// The events, in global order.
    pub events: Vec<Event>,
}

/// A SQLite store's log as SQL that another SQLite connection runs with the store attached
/// read-only, so eventscope's sidecars (the correlation index) are built inside the engine
/// (see [`EventSource::attached_log`]).
#[derive(Clone, Debug)]
pub struct AttachedLog {
    /// A `file:` URI that opens the store read-only without writing to it or creating a
    /// file beside it (the open mode the SQLite source itself would use now).
    pub uri: String,
    /// `SELECT position, metadata, event_id` of the events with positions in `(?1, ?2]`;
    /// `{schema}` stands for the schema name the store is attached as. Metadata and event
    /// ids are the stored values: read them as the SQLite source does (JSON text or bytes;
    /// any value as the id's text).
    pub rows: String,
    /// How correlation ids are read from the metadata.
    pub id_paths: crate::core::metadata::IdPaths,
}

/// What a checkpoint that follows one category is behind by (see
/// [`EventSource::category_lag`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CategoryLag {
    /// The category's head: the highest global position of its events (0 when it has none).
    pub head: u64,
    /// Events of the category after the checkpoint's position.
    pub behind: u64,
    /// When the first of those was recorded (`None` when caught up or not recorded).
    pub first_unprocessed_at: Option<DateTime<Utc>>,
    /// When the category's head event was recorded.
    pub head_at: Option<DateTime<Utc>>,
}

/// Result alias for sources.
pub type SourceResult<T> = Result<T, SourceError>;

/// A read-only event store.
pub trait EventSource: Send + Sync {
    /// Layout, counts, head and checkpoint names. May scan indexes; call from a worker.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn info(&self) -> SourceResult<StoreInfo>;

    /// The highest global position (0 for an empty store). Cheap.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn head(&self) -> SourceResult<u64>;

    /// A page of streams.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn list_streams(&self, query: &StreamQuery) -> SourceResult<Vec<StreamInfo>>;

    /// Number of streams matching the query's filter and category (ignores offset/limit).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn count_streams(&self, query: &StreamQuery) -> SourceResult<u64>;

    /// Categories with their stream counts, sorted by name.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn categories(&self) -> SourceResult<Vec<(String, u64)>>;

    /// One stream's summary (`None` when it has no events). Accepts any UUID form.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn stream(&self, stream_id: &str) -> SourceResult<Option<StreamInfo>>;

    /// Reads a stream from `from_version` (inclusive; `None` = start for forwards, end for
    /// backwards), at most `limit` events.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn read_stream(
        &self,
        stream_id: &str,
        from_version: Option<u64>,
        direction: Direction,
        limit: u64,
    ) -> SourceResult<Vec<Event>>;

    /// Reads the global log.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn read_log(&self, query: &LogQuery) -> SourceResult<Vec<Event>>;

    /// Distinct event types, sorted.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn event_types(&self) -> SourceResult<Vec<String>>;

    /// Distinct event types as shown and as stored, sorted by the shown form. Sources whose
    /// stored type names differ from the shown ones (Python `eventsourcing` topics) override
    /// this; by default the two are the same.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn event_type_names(&self) -> SourceResult<Vec<EventTypeName>> {
        Ok(self
            .event_types()?
            .into_iter()
            .map(|shown| EventTypeName {
                stored: shown.clone(),
                shown,
            })
            .collect())
    }

    /// The version of the stream's last event recorded at or before `at` (`None` if the
    /// stream has no event that early).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn version_at(&self, stream_id: &str, at: DateTime<Utc>) -> SourceResult<Option<u64>>;

    /// Stored snapshots of a stream, oldest first.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn snapshots(&self, stream_id: &str) -> SourceResult<Vec<Snapshot>>;

    /// Streams that have stored snapshots, sorted, a page at a time (`offset`, `limit`).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn snapshot_streams(&self, offset: u64, limit: u64) -> SourceResult<Vec<String>> {
        let _ = (offset, limit);
        Ok(Vec::new())
    }

    /// The events carrying `correlation_id`, when the store keeps its own index of
    /// correlation ids (KurrentDB's `$bc-{id}` streams from the by-correlation projection):
    /// `Ok(Some(events))` in global order, or `Ok(None)` when the store has no such index
    /// for this id (the caller then uses eventscope's sidecar index or a scan).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn correlated_events(&self, correlation_id: &str) -> SourceResult<Option<CorrelatedEvents>> {
        let _ = correlation_id;
        Ok(None)
    }

    /// The events of a correlation after global position `after`, when the store can
    /// filter by correlation on its side (without an index of its own too): eventscope's
    /// index answers up to where it is built, the store the rest, so only the
    /// correlation's events come over the wire. `None`: the caller scans.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn correlated_events_after(
        &self,
        correlation_id: &str,
        after: u64,
    ) -> SourceResult<Option<CorrelatedEvents>> {
        let _ = (correlation_id, after);
        Ok(None)
    }

    /// A page of the log for a search (see [`crate::search::scan`]): like
    /// [`EventSource::read_log`], limited to positions at or above `floor`, and — when the
    /// source can filter ([`EventSource::narrows_searches`]) — to events whose payload,
    /// metadata, stream id or event id contain `contains` in any ASCII letter case. The
    /// caller checks every event exactly, so a source may return more than matches, never
    /// less. The default reads the page unfiltered.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn search_log(
        &self,
        query: &LogQuery,
        floor: u64,
        contains: Option<&str>,
    ) -> SourceResult<Vec<Event>> {
        let _ = contains;
        let mut events = self.read_log(query)?;
        events.retain(|e| e.global_position >= floor);
        Ok(events)
    }

    /// True when [`EventSource::search_log`] filters by its text on the store's side (then
    /// a search reads the log in windows of positions, for progress between statements).
    fn narrows_searches(&self) -> bool {
        false
    }

    /// The events whose event id is `event_id`, in global order, when the store can find
    /// them on its side (SQLite: the event id column, through its index when it has one,
    /// checked exactly by the caller too). `None`: the caller scans.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn events_with_id(&self, event_id: &str) -> SourceResult<Option<Vec<Event>>> {
        let _ = event_id;
        Ok(None)
    }

    /// The store's log as SQL for a SQLite connection that attaches the store read-only
    /// (SQLite stores only), so a sidecar index is built with `INSERT … SELECT` instead of
    /// reading every event through [`EventSource::read_log`]. `None`: read the log.
    fn attached_log(&self) -> Option<AttachedLog> {
        None
    }

    /// The statement that would let the store answer correlation lookups from an index,
    /// when it has none and a trace has to scan (a PostgreSQL expression index on the
    /// correlation path): shown to the user with a copy button, never run. Cheap: no I/O.
    fn index_hint(&self) -> Option<String> {
        None
    }

    /// Checkpoints of projections / subscriptions / downstream applications.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn checkpoints(&self) -> SourceResult<Vec<Checkpoint>>;

    /// The lag of a checkpoint that follows only `category` and has processed up to global
    /// `position`: that category's head and how many of its events come after `position`
    /// (Message DB consumers read one category; the rest of the log is not their work).
    /// `Ok(None)` when the source cannot count by category (the default): the caller then
    /// measures against the whole log.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn category_lag(&self, category: &str, position: u64) -> SourceResult<Option<CategoryLag>> {
        let _ = (category, position);
        Ok(None)
    }

    /// The lag of one checkpoint when the source measures it itself: by default a checkpoint
    /// that follows one category is measured by [`EventSource::category_lag`]; a Kafka
    /// source measures a consumer group from its partitions' committed offsets. `Ok(None)`:
    /// the caller measures against the whole log.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn checkpoint_lag(
        &self,
        checkpoint: &crate::core::event::Checkpoint,
    ) -> SourceResult<Option<CategoryLag>> {
        match &checkpoint.category {
            Some(category) => self.category_lag(category, checkpoint.position),
            None => Ok(None),
        }
    }

    /// Past checkpoint positions recorded at or after `since`: the newest `limit` of them,
    /// returned oldest first (stores that keep checkpoint history; empty otherwise).
    ///
    /// # Errors
    /// When the store cannot be read.
    fn checkpoint_history(
        &self,
        since: Option<DateTime<Utc>>,
        limit: u64,
    ) -> SourceResult<Vec<CheckpointSample>> {
        let _ = (since, limit);
        Ok(Vec::new())
    }
}
