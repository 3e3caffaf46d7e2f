//! Integration tests: real stores written by real libraries, the CLI binary, read-only
//! guarantees and bad input.

mod bad_input;
mod cli;
mod common;
mod demo_store;
mod emmett;
mod eventsourcing;
mod mapping;
mod readonly;
