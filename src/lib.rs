//! eventscope: a read-only explorer for event-sourced systems.
//!
//! Module map (see ARCHITECTURE.md):
//! - [`core`]: the event model, the [`core::source::EventSource`] trait, typed-value decoding,
//!   id handling and query types. Pure; never names a GUI toolkit.
//! - [`source`]: implementations of `EventSource` (SQLite layouts and mapping files).
//! - [`demo`]: the deterministic demo store writer and its live mode.
//! - [`replay`]: reducers (generic, script, command), time travel, snapshot checks, drift
//!   report and evidence bundles; [`script`]: the sandboxed JavaScript engine.
//! - [`trace`]: correlation tracing (causal tree, sidecar index, exports).
//! - [`cli`]: headless commands over the same core (`cli/replay`, `cli/upcast`, `cli/trace`).
//! - [`own`]: eventscope's own files: store identity, move-aside of corrupt files.
//! - `context` / `ui` / `app` (feature `gui`): the eframe desktop application; `context`
//!   holds the commands, messages and settings that `ui` pages and the `app` share.

#[cfg(feature = "gui")]
pub mod app;
pub mod audit;
pub mod cli;
#[cfg(feature = "gui")]
pub mod context;
pub mod core;
pub mod demo;
pub mod history;
pub mod own;
pub mod replay;
pub mod script;
pub mod search;
pub mod source;
pub mod trace;
#[cfg(feature = "gui")]
pub mod ui;
pub mod upcast;
