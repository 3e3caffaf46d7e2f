//! Source layer: implementations of [`crate::core::source::EventSource`].
//!
//! [`open`] turns what a user typed (a SQLite path, a gRPC store URL, or a PostgreSQL URL /
//! keyword string) into a source.

pub mod grpc;
pub mod kafka;
pub mod lag;
pub mod postgres;
#[cfg(any(feature = "grpc", feature = "postgres", feature = "kafka"))]
mod runtime;
pub mod sqlite;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use crate::core::source::{EventSource, SourceResult};

/// How to open a store.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Mapping file for a store of unknown layout (SQLite, or PostgreSQL tables).
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
    if kafka::is_kafka_url(location) {
        return open_kafka(location);
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

/// True when `location` names a server (a gRPC URL, a PostgreSQL URL or keyword string)
/// rather than a file.
#[must_use]
pub fn is_server_location(location: &str) -> bool {
    grpc::is_grpc_url(location)
        || kafka::is_kafka_url(location)
        || postgres::conninfo::is_postgres_location(location)
}

/// `location` with every password removed (URL user info, `password=` parameters and
/// keywords): what titles, errors, logs and the recent list show.
#[must_use]
pub fn redact(location: &str) -> String {
    if postgres::conninfo::is_postgres_location(location) {
        postgres::conninfo::redact(location)
    } else {
        grpc::redact_url(location)
    }
}

/// `location` with `password` added, in memory only (the password the window asks for):
/// a `password=` parameter for PostgreSQL URLs and keyword strings, the user info of other
/// server URLs. A location that already has a password gets the new one in its place.
///
/// # Errors
/// When `location` is a server URL with no user name to put the password beside.
pub fn with_password(location: &str, password: &str) -> Result<String, String> {
    let location = location.trim();
    let (base, fragment) = match location.rsplit_once('#') {
        Some((base, app)) if !app.is_empty() && !app.contains(['=', ' ', '/', '\'']) => {
            (base, format!("#{app}"))
        }
        _ => (location, String::new()),
    };
    let lower = base.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        let base = postgres::conninfo::redact(base);
        let separator = if base.contains('?') { '&' } else { '?' };
        return Ok(format!(
            "{base}{separator}password={}{fragment}",
            percent_encode(password)
        ));
    }
    // As `open` dispatches: a gRPC or Kafka URL is never a keyword string, even when it
    // holds spaces and `=` (found by the `location` fuzz target: the password went in as
    // a keyword and came out in UmaDB's "invalid URL" error).
    if postgres::conninfo::is_postgres_location(location)
        && !grpc::is_grpc_url(location)
        && !kafka::is_kafka_url(location)
    {
        let kept = postgres::conninfo::redact(base);
        let quoted = password.replace('\\', "\\\\").replace('\'', "\\'");
        return Ok(format!("{kept} password='{quoted}'{fragment}"));
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return Err("a password goes with a server URL, not a file".to_owned());
    };
    // A URL scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`); anything else
    // is not a server URL, and the password must not go into it (found by the `location`
    // fuzz target: `host=x+y://u:…@` took the password as user info and, read back as a
    // keyword string, showed it unredacted).
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return Err("a password goes with a server URL, not a file".to_owned());
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((user_info, hosts)) = authority.rsplit_once('@') else {
        return Err(format!(
            "put the user name in the URL ({scheme}://USER@{authority}…) to go with the password"
        ));
    };
    let user = user_info
        .split_once(':')
        .map_or(user_info, |(user, _)| user);
    if user.is_empty() {
        return Err(format!(
            "put the user name in the URL ({scheme}://USER@{hosts}…) to go with the password"
        ));
    }
    Ok(format!(
        "{scheme}://{user}:{}@{hosts}{tail}{fragment}",
        percent_encode(password)
    ))
}

/// Percent-encodes everything but the URL's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Opens a PostgreSQL store (URL or libpq keyword string; `#App` or
/// [`OpenOptions::application`] picks an application or schema).
#[cfg(feature = "postgres")]
fn open_postgres(location: &str, options: &OpenOptions) -> SourceResult<Arc<dyn EventSource>> {
    let mapping = options
        .mapping
        .as_ref()
        .map(|path| {
            std::fs::read_to_string(path).map_err(|e| {
                crate::core::source::SourceError::Mapping(format!(
                    "cannot read {}: {e}",
                    path.display()
                ))
            })
        })
        .transpose()?;
    Ok(Arc::new(postgres::PostgresSource::open_mapped(
        location,
        options.application.as_deref(),
        mapping.as_deref(),
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

/// Opens Kafka topics (`kafka://HOST:PORT…`).
#[cfg(feature = "kafka")]
fn open_kafka(location: &str) -> SourceResult<Arc<dyn EventSource>> {
    Ok(Arc::new(kafka::KafkaSource::open(location)?))
}

/// Without the `kafka` feature, Kafka URLs get a clear error.
#[cfg(not(feature = "kafka"))]
fn open_kafka(location: &str) -> SourceResult<Arc<dyn EventSource>> {
    Err(crate::core::source::SourceError::Open(format!(
        "this build has no Kafka support (built without the `kafka` feature): {}",
        grpc::redact_url(location)
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

#[cfg(test)]
mod tests {
    use super::*;

    struct NoEnv;

    impl postgres::conninfo::Env for NoEnv {
        fn var(&self, _name: &str) -> Option<String> {
            None
        }
        fn home(&self) -> Option<PathBuf> {
            None
        }
    }

    #[test]
    fn passwords_go_in_and_never_come_out() {
        let url =
            with_password("postgres://reader@db:5432/es?sslmode=require#App", "p@ss w").unwrap();
        assert_eq!(
            url,
            "postgres://reader@db:5432/es?sslmode=require&password=p%40ss%20w#App"
        );
        let info = postgres::conninfo::parse(&url, &NoEnv).unwrap();
        assert_eq!(info.password.as_deref(), Some("p@ss w"));
        assert_eq!(
            redact(&url),
            "postgres://reader@db:5432/es?sslmode=require#App"
        );
        // An old password is replaced, not kept beside the new one.
        let again = with_password("postgresql://u:old@h/d", "new").unwrap();
        assert_eq!(again, "postgresql://u@h/d?password=new");
        let keywords = with_password("host=h dbname=es user=u password=old", "it's").unwrap();
        let info = postgres::conninfo::parse(&keywords, &NoEnv).unwrap();
        assert_eq!(info.password.as_deref(), Some("it's"));
        assert!(!redact(&keywords).contains("it"), "{}", redact(&keywords));
        assert_eq!(
            with_password("esdb://admin@localhost:2113?tls=false", "changeit").unwrap(),
            "esdb://admin:changeit@localhost:2113?tls=false"
        );
        assert!(
            with_password("esdb://localhost:2113", "x")
                .unwrap_err()
                .contains("USER@")
        );
        assert!(with_password("/tmp/store.db", "x").is_err());
        // A server URL that looks like a keyword string gets the password as user info.
        let odd = "umadb://h:1?streams=a b=c";
        let with = with_password(odd, "Zq7pw9Xk");
        assert!(
            with.as_ref().is_err_and(|e| e.contains("USER@")),
            "{with:?}"
        );
        let odd = "umadb://key@h:1?bogus=a b=c";
        let with = with_password(odd, "Zq7pw9Xk").unwrap();
        assert!(!redact(&with).contains("Zq7pw9Xk"), "{with}");
        let err = crate::source::grpc::umadb::UmaDbOptions::parse(&with).unwrap_err();
        assert!(!err.to_string().contains("Zq7pw9Xk"), "{err}");
        // Not a URL scheme (the `location` fuzz target's crash): no password goes in, and
        // whatever does come back never shows it.
        let odd = "host=rentdb+dgres://%:\r\r\r@@@@@@";
        match with_password(odd, "Zq7pw9Xk") {
            Ok(with) => assert!(!redact(&with).contains("Zq7pw9Xk"), "{with:?}"),
            Err(error) => assert!(!error.contains("Zq7pw9Xk")),
        }
        assert!(
            with_password("host=x+y://u@h", "Zq7pw9Xk").is_err_and(|e| e.contains("server URL"))
                || !redact(&with_password("host=x+y://u@h", "Zq7pw9Xk").unwrap())
                    .contains("Zq7pw9Xk")
        );
        assert!(is_server_location("host=h dbname=es"));
        assert!(is_server_location("umadb://127.0.0.1:50051"));
        assert!(is_server_location("kafka://127.0.0.1:9092?topics=orders"));
        assert!(!is_server_location("/tmp/store.db"));
    }
}
