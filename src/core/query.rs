//! Query types for paged, bounded reads.

use chrono::{DateTime, Utc};

/// Reading direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// Oldest first.
    #[default]
    Forwards,
    /// Newest first.
    Backwards,
}

/// Stream list order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamSort {
    /// By stream id, ascending.
    #[default]
    Id,
    /// Most recently active first (by the global position of the last event).
    LastActivity,
}

/// A page request for the stream list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamQuery {
    /// Substring the stream id must contain (case-insensitive for ASCII).
    pub filter: Option<String>,
    /// Category the stream must be in.
    pub category: Option<String>,
    /// Order.
    pub sort: StreamSort,
    /// Rows to skip.
    pub offset: u64,
    /// Maximum rows to return.
    pub limit: u64,
}

/// A page request for the global log: scope first (types, stream prefix, time window), then
/// a position and a bounded count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Start at this global position (inclusive); for backwards reads, at or below it.
    pub from_position: Option<u64>,
    /// Only these event types (empty = all).
    pub event_types: Vec<String>,
    /// Only streams whose id starts with this.
    pub stream_prefix: Option<String>,
    /// Only events recorded at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events recorded at or before this time.
    pub until: Option<DateTime<Utc>>,
    /// Direction of reading.
    pub direction: Direction,
    /// Maximum events to return.
    pub limit: u64,
}

impl LogQuery {
    /// The newest `count` events matching the scope, in global order.
    #[must_use]
    pub fn newest(count: u64) -> Self {
        Self {
            direction: Direction::Backwards,
            limit: count,
            ..Self::default()
        }
    }

    /// Whether an event passes the stream-prefix and time-window filters (for sources that
    /// cannot apply them on the server). An event without a recorded time fails any
    /// time window.
    #[must_use]
    pub fn keeps_stream_and_time(&self, event: &crate::core::Event) -> bool {
        self.stream_prefix
            .as_deref()
            .is_none_or(|prefix| event.stream_id.starts_with(prefix))
            && self
                .since
                .is_none_or(|since| event.recorded_at.is_some_and(|t| t >= since))
            && self
                .until
                .is_none_or(|until| event.recorded_at.is_some_and(|t| t <= until))
    }
}

/// The maximum page size any source returns, whatever is asked.
pub const MAX_PAGE: u64 = 10_000;
