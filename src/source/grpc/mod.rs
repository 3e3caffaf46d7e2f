//! gRPC event stores (source layer): KurrentDB through the official `kurrentdb` client and
//! UmaDB through a protox-compiled subset of its protocol.
//!
//! Each source owns a small tokio runtime and exposes the blocking
//! [`crate::core::source::EventSource`] interface: every network call is bounded by a
//! timeout and stops early when the worker's job is cancelled, so a dead or slow server
//! gives a clear error instead of a hang. Connections are re-established by the clients on
//! the next call once the server is back.
//!
//! URL recognition and credential redaction are always built; the sources themselves need
//! the `grpc` feature.

#[cfg(feature = "grpc")]
pub mod kurrent;
#[cfg(feature = "grpc")]
pub mod umadb;

#[cfg(feature = "grpc")]
use std::future::Future;
use std::time::Duration;

#[cfg(feature = "grpc")]
use crate::core::source::{SourceError, SourceResult};

/// Time allowed to establish a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for one call (one page of a read, one statistics request …).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// True when `location` names a gRPC store (a URL eventscope knows) rather than a file.
#[must_use]
pub fn is_grpc_url(location: &str) -> bool {
    scheme_of(location).is_some()
}

/// The gRPC store kind a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrpcKind {
    /// `kurrentdb://`, `kurrentdb+discover://`, `esdb://`, `esdb+discover://`.
    Kurrent,
    /// `umadb://`.
    UmaDb,
}

/// The kind of gRPC store a location names, if any.
#[must_use]
pub fn scheme_of(location: &str) -> Option<GrpcKind> {
    let lower = location.trim().to_ascii_lowercase();
    let kurrent = [
        "kurrentdb://",
        "kurrentdb+discover://",
        "kurrent://",
        "kurrent+discover://",
        "kdb://",
        "kdb+discover://",
        "esdb://",
        "esdb+discover://",
    ];
    if kurrent.iter().any(|scheme| lower.starts_with(scheme)) {
        Some(GrpcKind::Kurrent)
    } else if lower.starts_with("umadb://") {
        Some(GrpcKind::UmaDb)
    } else {
        None
    }
}

/// The URL with any user-info credentials removed (`esdb://admin:changeit@host` →
/// `esdb://admin@host`; a bare secret such as an UmaDB API key is dropped whole). Safe to
/// show, log and keep in the recent-connections list.
#[must_use]
pub fn redact_url(location: &str) -> String {
    // A `#App` fragment stays as it is, after the redacted rest.
    if let Some((url, fragment)) = location.rsplit_once('#')
        && !fragment.contains(['/', '?', '@', '='])
    {
        return format!("{}#{fragment}", redact_url(url));
    }
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // Query parameters can carry secrets too.
    let tail = redact_query(tail);
    let Some((user_info, hosts)) = authority.rsplit_once('@') else {
        return format!("{scheme}://{authority}{tail}");
    };
    match user_info.split_once(':') {
        Some((user, _password)) if !user.is_empty() => format!("{scheme}://{user}@{hosts}{tail}"),
        // A bare user info is a secret for UmaDB (its API key), a user name elsewhere: so
        // redacting twice gives the same URL.
        None if !user_info.is_empty() && scheme_of(location) != Some(GrpcKind::UmaDb) => {
            format!("{scheme}://{user_info}@{hosts}{tail}")
        }
        _ => format!("{scheme}://{hosts}{tail}"),
    }
}

fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair
                .split('=')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            !matches!(key.as_str(), "password" | "apikey" | "api_key" | "token")
        })
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

#[cfg(feature = "grpc")]
pub(crate) use super::runtime::runtime;

/// Runs `future` on `runtime`, giving up after `timeout` or when the current job is
/// cancelled. `what` names the call in the timeout message.
#[cfg(feature = "grpc")]
pub(crate) fn block_on_bounded<T>(
    runtime: &tokio::runtime::Runtime,
    timeout: Duration,
    what: &str,
    future: impl Future<Output = SourceResult<T>>,
) -> SourceResult<T> {
    let cancelled = super::runtime::cancelled(crate::core::cancel::current());
    runtime.block_on(async move {
        tokio::select! {
            result = tokio::time::timeout(timeout, future) => match result {
                Ok(result) => result,
                Err(_) => Err(SourceError::Query(format!(
                    "{what}: no answer within {} s (server slow or unreachable)",
                    timeout.as_secs()
                ))),
            },
            () = cancelled => Err(SourceError::Cancelled),
        }
    })
}

/// A URL query value with `%XX` escapes decoded (e.g. a JSON path option).
#[cfg(feature = "grpc")]
fn percent_decoded(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(scheme_of("esdb://localhost:2113"), Some(GrpcKind::Kurrent));
        assert_eq!(
            scheme_of("KurrentDB+discover://a:1,b:2"),
            Some(GrpcKind::Kurrent)
        );
        assert_eq!(scheme_of("umadb://127.0.0.1:50051"), Some(GrpcKind::UmaDb));
        assert_eq!(scheme_of("/tmp/store.db"), None);
        assert_eq!(scheme_of("esdb.db"), None);
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("esdb://admin:changeit@localhost:2113?tls=false"),
            "esdb://admin@localhost:2113?tls=false"
        );
        assert_eq!(
            redact_url("kurrentdb+discover://ops:s3cret@a:2113,b:2113/?tls=true"),
            "kurrentdb+discover://ops@a:2113,b:2113/?tls=true"
        );
        assert_eq!(
            redact_url("umadb://secretkey@127.0.0.1:50051"),
            "umadb://127.0.0.1:50051"
        );
        assert_eq!(
            redact_url("umadb://:k@127.0.0.1:1?api_key=zz&streams=all"),
            "umadb://127.0.0.1:1?streams=all"
        );
        assert_eq!(redact_url("esdb://localhost:2113"), "esdb://localhost:2113");
        // Redacting twice changes nothing (the app redacts, then the recent list does).
        for url in [
            "esdb://admin:changeit@localhost:2113?tls=false",
            "umadb://secretkey@127.0.0.1:50051",
            "postgres://reader:pw@db/es?password=x#App",
        ] {
            let once = redact_url(url);
            assert_eq!(redact_url(&once), once, "{url}");
        }
    }
}
