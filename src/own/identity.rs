//! Store identity: a short, stable name for "the same store" across sessions.
//!
//! A file store is identified by its canonical absolute path (symlinks and `..` resolved
//! when the file exists), plus the `#Application` suffix when one is given (an
//! `eventsourcing-sqlalchemy` file holds several applications, each with its own
//! checkpoints). A server is identified by its URL without credentials: user info
//! (`user:password@`) and credential-like query parameters (`password`, `token`, `apikey`,
//! …) are dropped, scheme and host are lowercased and the remaining parameters sorted, so a
//! rotated password keeps the history. The canonical form is hashed with SHA-256 and the
//! first 8 bytes are the identity (16 lowercase hex digits), which is also a safe file name.

use std::path::Path;

use sha2::{Digest as _, Sha256};

/// Query parameter names (lowercased substrings) treated as credentials and ignored.
const CREDENTIAL_KEYS: [&str; 8] = [
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "credential",
    "user",
];

/// The identity of the store at `location` (a file path, `path#App`, or a server URL):
/// 16 hex digits, the same for the same store, different for different stores.
///
/// Resolves file paths on disk (read-only: `canonicalize`), so call it off the UI thread.
#[must_use]
pub fn store_identity(location: &str) -> String {
    let digest = Sha256::digest(canonical_location(location).as_bytes());
    crate::core::event::hex(&digest[..8])
}

/// The canonical form of a location that [`store_identity`] hashes: `file:<absolute
/// path>[#App]` or `url:<scheme>://<host>[/path][?sorted non-credential query]`.
#[must_use]
pub fn canonical_location(location: &str) -> String {
    let location = location.trim();
    if let Some((scheme, rest)) = location.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return canonical_url(scheme, rest);
    }
    canonical_file(location)
}

fn canonical_file(location: &str) -> String {
    // The same `path#App` rule as `source::open`.
    let (path, application) = match location.rsplit_once('#') {
        Some((path, app)) if !Path::new(location).exists() && !app.is_empty() => (path, Some(app)),
        _ => (location, None),
    };
    let path = Path::new(path);
    let resolved = std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf());
    let mut canonical = format!("file:{}", resolved.to_string_lossy());
    if let Some(application) = application {
        canonical.push('#');
        canonical.push_str(application);
    }
    canonical
}

fn canonical_url(scheme: &str, rest: &str) -> String {
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (tail, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    let mut canonical = format!(
        "url:{}://{}{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase(),
        path.trim_end_matches('/')
    );
    if let Some(query) = query {
        let mut params: Vec<&str> = query
            .split('&')
            .filter(|param| !param.is_empty())
            .filter(|param| {
                let key = param.split_once('=').map_or(*param, |(key, _)| key);
                let key = key.to_ascii_lowercase();
                !CREDENTIAL_KEYS.iter().any(|needle| key.contains(needle))
            })
            .collect();
        params.sort_unstable();
        if !params.is_empty() {
            canonical.push('?');
            canonical.push_str(&params.join("&"));
        }
    }
    if let Some(fragment) = fragment.filter(|fragment| !fragment.is_empty()) {
        canonical.push('#');
        canonical.push_str(fragment);
    }
    canonical
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_short_hex() {
        let id = store_identity("/tmp/some/store.db");
        assert_eq!(id.len(), 16);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn identity_stable_for_same_file_and_different_for_others() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store.db");
        std::fs::write(&store, b"x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let a = store_identity(store.to_str().unwrap());
        let dotted = dir.path().join("sub").join("..").join(".").join("store.db");
        assert_eq!(a, store_identity(dotted.to_str().unwrap()));
        assert_eq!(a, store_identity(&format!("  {}  ", store.display())));
        let other = dir.path().join("other.db");
        std::fs::write(&other, b"y").unwrap();
        assert_ne!(a, store_identity(other.to_str().unwrap()));
        // Same every call.
        assert_eq!(a, store_identity(store.to_str().unwrap()));
    }

    #[cfg(unix)]
    #[test]
    fn identity_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store.db");
        std::fs::write(&store, b"x").unwrap();
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&store, &link).unwrap();
        assert_eq!(
            store_identity(store.to_str().unwrap()),
            store_identity(link.to_str().unwrap())
        );
    }

    #[test]
    fn identity_application_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("multi.db");
        std::fs::write(&store, b"x").unwrap();
        let base = store.to_str().unwrap();
        let a = store_identity(&format!("{base}#Compliance"));
        let b = store_identity(&format!("{base}#Orders"));
        assert_ne!(a, b);
        assert_ne!(a, store_identity(base));
        assert_eq!(a, store_identity(&format!("{base}#Compliance")));
    }

    #[test]
    fn identity_missing_file_is_absolute() {
        let canonical = canonical_location("does-not-exist-eventscope.db");
        assert!(canonical.starts_with("file:"));
        assert!(Path::new(canonical.trim_start_matches("file:")).is_absolute());
    }

    #[test]
    fn url_identity_ignores_credentials() {
        let plain = store_identity("esdb://localhost:2113?tls=false");
        assert_eq!(
            plain,
            store_identity("esdb://admin:changeit@localhost:2113?tls=false")
        );
        assert_eq!(
            plain,
            store_identity("ESDB://admin:other@LocalHost:2113/?tls=false")
        );
        assert_eq!(
            plain,
            store_identity("esdb://localhost:2113?password=x&tls=false&apiKey=y&token=z")
        );
        assert_ne!(plain, store_identity("esdb://localhost:2114?tls=false"));
        assert_ne!(plain, store_identity("esdb://otherhost:2113?tls=false"));
        let canonical = canonical_location("umadb://u:secret@host:50051/db?b=2&a=1&token=t");
        assert_eq!(canonical, "url:umadb://host:50051/db?a=1&b=2");
        assert!(!canonical.contains("secret"));
    }
}
