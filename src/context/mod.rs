//! The types the pages (`src/ui`) and the app (`src/app`) share, below both: commands from
//! pages to the app, messages from background jobs to the app and its pages, the persisted
//! settings, paged rows, pending results and job errors (rerun keeps its `SystemCommand`
//! in `re_viewer_context` the same way).
//!
//! Layer: imports core and the feature modules (replay, trace, upcast), never `app` or
//! `ui`; `scripts/check.sh` checks that neither `src/ui` nor this module imports the app.

#![warn(clippy::pedantic, missing_docs)]

pub mod demo;
pub mod export;
pub mod health;
pub mod jobs;
pub mod messages;
pub mod page;
pub mod paged;
pub mod pending;
pub mod replay;
pub mod search;
pub mod state;
pub mod store;
pub mod trace;
pub mod upcast;
