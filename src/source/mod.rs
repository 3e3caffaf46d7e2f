//! Source layer: implementations of [`crate::core::source::EventSource`].
//!
//! [`open`] turns what a user typed (a SQLite path, a gRPC store URL, or a PostgreSQL URL /
//! keyword string) into a source.

pub mod grpc;
pub mod lag;
pub mod postgres;
#[cfg(any(feature = "grpc", feature = "postgres"))]
mod runtime;
pub mod sqlite;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use crate::core::source::{EventSource, SourceResult};

/// How to open a store.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Mapping file for SQLite stores of unknown layout.
    pub mapping: Option<PathBuf>,
    /// Application within a multi-application `eventsourcing-sqlalchemy` file.
    pub application: Option<String>,
}

/// Opens a store by location: a SQLite file path. `path#App` picks an application in a
/// multi-application `eventsourcing-sqlalchemy` file.
///
/// # Errors
/// When the store cannot be opened or its layout is unknown.
pub fn open(location: &str, options: &OpenOptions) -> SourceResult<Arc<dyn EventSource>> {
    if let Some(source) = open_grpc(location)? {
        return Ok(source);
    }
    if postgres::conninfo::is_postgres_location(location) {
        return open_postgres(location, options);
    }
    let (path, application) = match location.rsplit_once('#') {
        Some((path, app)) if !std::path::Path::new(location).exists() && !app.is_empty() => {
            (path, Some(app.to_owned()))
        }
        _ => (location, None),
    };
    let sqlite_options = sqlite::SqliteOptions {
        mapping: options.mapping.clone(),
        application: options.application.clone().or(application),
    };
    Ok(Arc::new(sqlite::SqliteSource::open(
        std::path::Path::new(path),
        &sqlite_options,
    )?))
}

/// Opens a PostgreSQL store (URL or libpq keyword string; `#App` or
/// [`OpenOptions::application`] picks an application or schema).
#[cfg(feature = "postgres")]
fn open_postgres(location: &str, options: &OpenOptions) -> SourceResult<Arc<dyn EventSource>> {
    Ok(Arc::new(postgres::PostgresSource::open(
        location,
        options.application.as_deref(),
    )?))
}

/// Without the `postgres` feature, PostgreSQL locations get a clear error.
#[cfg(not(feature = "postgres"))]
fn open_postgres(location: &str, _options: &OpenOptions) -> SourceResult<Arc<dyn EventSource>> {
    Err(crate::core::source::SourceError::Open(format!(
        "this build has no PostgreSQL support (built without the `postgres` feature): {}",
        postgres::conninfo::redact(location)
    )))
}

/// Opens a gRPC store when `location` is a URL eventscope knows (`kurrentdb://`, `esdb://`,
/// their `+discover` forms, `umadb://`); `None` for anything else.
#[cfg(feature = "grpc")]
fn open_grpc(location: &str) -> SourceResult<Option<Arc<dyn EventSource>>> {
    Ok(match grpc::scheme_of(location) {
        Some(grpc::GrpcKind::Kurrent) => {
            Some(Arc::new(grpc::kurrent::KurrentSource::open(location)?))
        }
        Some(grpc::GrpcKind::UmaDb) => Some(Arc::new(grpc::umadb::UmaDbSource::open(location)?)),
        None => None,
    })
}

/// Without the `grpc` feature, gRPC URLs get a clear error.
#[cfg(not(feature = "grpc"))]
fn open_grpc(location: &str) -> SourceResult<Option<Arc<dyn EventSource>>> {
    if grpc::is_grpc_url(location) {
        return Err(crate::core::source::SourceError::Open(format!(
            "this build has no gRPC support (built without the `grpc` feature): {}",
            grpc::redact_url(location)
        )));
    }
    Ok(None)
}
