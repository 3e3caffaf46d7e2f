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
/// A size in bytes for people: `512 B`, `38.8 MB`, `3.91 GB` (powers of 1000).
#[must_use]
pub fn bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // Shown rounded.
    let value = n as f64;
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", value / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", value / 1e6),
        _ => format!("{:.2} GB", value / 1e9),
    }
}

/// Thousands separators: 1,234,567.
#[must_use]
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub use query::{Direction, LogQuery, StreamQuery, StreamSort};
pub use source::{
    AttachedLog, CategoryLag, CorrelatedEvents, EventSource, SourceError, SourceResult,
};
