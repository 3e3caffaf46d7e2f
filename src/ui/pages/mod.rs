//! The top-level views, one folder each. A page owns its view state and the state of its
//! background jobs, and has `on_message`, `ui` and, where it needs them, `logic` (per
//! frame) and `on_command`; it borrows the shared parts of the app through
//! [`crate::context::page::PageCtx`] and never reads another page. A move to another page
//! is an [`AppCommand`](crate::context::messages::AppCommand) the app routes.

pub mod health;
pub mod inspector;
pub mod log;
pub mod projections;
pub mod replay;
pub mod search;
pub mod streams;
pub mod trace;
pub mod upcast;
