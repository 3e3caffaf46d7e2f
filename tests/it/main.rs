//! Integration tests: real stores written by real libraries, the CLI binary, read-only
//! guarantees and bad input.

// Integration tests fail loudly by design; helpers outside #[test] fns unwrap too.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod cli;
mod common;
mod demo_store;
mod emmett;
mod eventsourcing;
#[cfg(feature = "gui")]
mod gui;
mod lag;
mod mapping;
mod readonly;
mod replay;
mod upcast;
#[cfg(feature = "gui")]
mod upcast_gui;
