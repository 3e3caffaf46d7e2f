//! Store locations of every scheme as typed on the command line or the connect screen:
//! `kafka://`, `umadb://`, `kurrentdb://` / `esdb://` (and `+discover`), PostgreSQL URLs
//! and keyword strings; recognition, parsing, password insertion and redaction. A password
//! put in with `with_password` never comes out of `redact` or a parse error.
#![no_main]

use std::path::PathBuf;

use eventscope::source::grpc::{
    GrpcKind, kurrent::KurrentOptions, redact_url, scheme_of, umadb::UmaDbOptions,
};
use eventscope::source::kafka::KafkaOptions;
use eventscope::source::postgres::conninfo;
use eventscope::source::{is_server_location, redact, with_password};
use libfuzzer_sys::fuzz_target;

struct NoEnv;

impl conninfo::Env for NoEnv {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
    fn home(&self) -> Option<PathBuf> {
        None
    }
}

const SECRET: &str = "Zq7pw9Xk";

/// Each parser on what it is given (all of them: none may panic); the errors of the
/// parser the location's scheme picks (the others are never handed it).
fn parse_all(location: &str) -> Vec<String> {
    let kafka = KafkaOptions::parse(location).err().map(|e| e.to_string());
    let umadb = UmaDbOptions::parse(location).err().map(|e| e.to_string());
    let kurrent = KurrentOptions::parse(location).err().map(|e| e.to_string());
    let postgres = conninfo::parse(location, &NoEnv).err();
    let chosen = if eventscope::source::kafka::is_kafka_url(location) {
        kafka
    } else if scheme_of(location) == Some(GrpcKind::UmaDb) {
        umadb
    } else if scheme_of(location) == Some(GrpcKind::Kurrent) {
        kurrent
    } else if conninfo::is_postgres_location(location) {
        postgres
    } else {
        None
    };
    chosen.into_iter().collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(location) = std::str::from_utf8(data) else {
        return;
    };
    let _ = is_server_location(location);
    let _ = scheme_of(location);
    let _ = conninfo::is_postgres_location(location);
    let _ = parse_all(location);
    let shown = redact(location);
    let _ = redact_url(location);
    let _ = redact(&shown);
    if location.contains(SECRET) {
        return;
    }
    if let Ok(with) = with_password(location, SECRET) {
        let redacted = redact(&with);
        assert!(
            !redacted.contains(SECRET),
            "{location:?} + password → {with:?} → redacted {redacted:?}"
        );
        for error in parse_all(&with) {
            assert!(!error.contains(SECRET), "{with:?}: {error}");
        }
        if conninfo::is_postgres_location(&with)
            && let Ok(info) = conninfo::parse(&with, &NoEnv)
        {
            assert_eq!(info.password.as_deref(), Some(SECRET), "{with:?}");
        }
    }
});
