//! Source layer: implementations of [`crate::core::source::EventSource`].
//!
//! [`open`] turns what a user typed (a path today; gRPC URLs later) into a source.

pub mod lag;
pub mod sqlite;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use crate::core::source::{EventSource, SourceError, SourceResult};

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
    let lower = location.to_ascii_lowercase();
    for scheme in [
        "kurrentdb://",
        "kurrentdb+discover://",
        "esdb://",
        "esdb+discover://",
        "umadb://",
    ] {
        if lower.starts_with(scheme) {
            return Err(SourceError::Open(format!(
                "gRPC stores are not supported yet (coming with the [grpc] work): {location}"
            )));
        }
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
