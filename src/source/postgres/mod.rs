//! PostgreSQL event stores (source layer): the DIY family, Python `eventsourcing`,
//! Message DB, Emmett and Marten, read-only, through `tokio-postgres` with a rustls TLS
//! connector on a small tokio runtime (see `client.rs`).
//!
//! Every read is one short `READ ONLY` transaction; long reads are keyset pages of at most
//! [`BATCH`] rows, each its own transaction, so nothing holds back VACUUM. Connection
//! strings, redaction and dispatch ([`conninfo`]) are always built; the source needs the
//! `postgres` feature.

#[cfg(feature = "postgres")]
mod client;
pub mod conninfo;
#[cfg(feature = "postgres")]
pub mod layout;
#[cfg(feature = "postgres")]
pub mod mapping;
#[cfg(feature = "postgres")]
mod read;
#[cfg(feature = "postgres")]
pub mod sql;
#[cfg(feature = "postgres")]
mod tls;

#[cfg(feature = "postgres")]
pub use read::PostgresSource;

/// Rows per keyset page of a long read (each page is its own short transaction).
#[cfg(feature = "postgres")]
pub const BATCH: u64 = 1000;
