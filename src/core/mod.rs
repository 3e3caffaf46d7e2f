//! Core layer: the event model, the `EventSource` trait and pure helpers.
//!
//! Nothing in here touches a GUI toolkit; it is checked by
//! `cargo check --lib --no-default-features`.

pub mod cancel;
pub mod event;
pub mod ids;
pub mod lag;
pub mod metadata;
pub mod paging;
pub mod query;
pub mod source;
pub mod time;
pub mod type_names;
pub mod typed;

pub use event::{
    Checkpoint, CheckpointSample, Event, EventTypeName, FieldProblem, PartitionLag, Payload,
    PayloadFormat, Snapshot, StoreInfo, StreamInfo,
};
pub use query::{Direction, LogQuery, StreamQuery, StreamSort};
pub use source::{
    AttachedLog, CategoryLag, CorrelatedEvents, EventSource, SourceError, SourceResult,
};
