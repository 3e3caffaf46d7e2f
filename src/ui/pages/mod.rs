//! The top-level views, one folder each. A page owns its view state and the state of its
//! background jobs, and has `logic` (per frame), `on_command`, `on_message` and `ui`; it
//! borrows the shared parts of the app through [`crate::context::page::PageCtx`] and never
//! reads another page.

pub mod replay;
pub mod trace;
pub mod upcast;
