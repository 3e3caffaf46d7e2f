//! eventscope's own files (never a user's store): the store identity that names them, and
//! the file helpers (and the index-file checks of [`sidecar`]) shared by the lag history ([`crate::history`]), the correlation index
//! ([`crate::trace::TraceIndex`]) and the replay settings ([`crate::replay::config`]).
//!
//! Layer: below the features, beside core; GUI-free.

pub mod files;
mod identity;
pub mod mappings;
pub mod sidecar;

pub use identity::{canonical_location, store_identity};
