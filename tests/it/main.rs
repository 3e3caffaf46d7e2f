//! Integration tests: real stores written by real libraries, the CLI binary, read-only
//! guarantees and bad input.

// Integration tests fail loudly by design; helpers outside #[test] fns unwrap too.
#![allow(clippy::unwrap_used)]

mod audit;
mod bad_corpus;
mod bad_input;
mod bad_rows;
mod cli;
mod common;
mod demo_store;
mod emmett;
mod eventsourcing;
#[cfg(feature = "gui")]
mod gui;
#[cfg(all(feature = "gui", feature = "grpc"))]
mod gui_grpc;
#[cfg(feature = "gui")]
mod gui_health;
#[cfg(all(feature = "gui", feature = "kafka"))]
mod gui_kafka;
#[cfg(feature = "gui")]
mod gui_search;
#[cfg(feature = "gui")]
mod gui_search_index;
#[cfg(feature = "gui")]
mod gui_trace;
mod guide;
#[cfg(feature = "gui")]
mod guide_gui;
#[cfg(feature = "kafka")]
mod kafka;
#[cfg(feature = "gui")]
mod kit;
#[cfg(feature = "grpc")]
mod kurrent;
#[cfg(feature = "grpc")]
mod kurrent_emulator;
mod lag;
mod mapping;
#[cfg(feature = "gui")]
mod mapping_gui;
#[cfg(feature = "postgres")]
mod pg_server;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(all(feature = "gui", feature = "postgres"))]
mod postgres_gui;
#[cfg(feature = "postgres")]
mod postgres_safety;
mod readonly;
mod replay;
#[cfg(feature = "gui")]
mod replay_gui;
mod search;
mod search_index;
mod summary;
#[cfg(feature = "kafka")]
mod tansu_server;
mod trace;
mod trace_pushdown;
#[cfg(feature = "grpc")]
mod umadb;
#[cfg(feature = "grpc")]
mod umadb_server;
mod upcast;
#[cfg(feature = "gui")]
mod upcast_gui;
