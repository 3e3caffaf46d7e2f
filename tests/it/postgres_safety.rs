//! PostgreSQL: nothing but reads reach the server, writers are never blocked, and faults
//! (wrong password, TLS mismatch, statement timeout, a killed backend) give clear errors
//! from which the next read recovers.

use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use eventscope::core::{Direction, EventSource, LogQuery, StreamQuery};

use crate::common::{eventscope, stdout_of};
use crate::pg_server::{server_or_skip, tls_server_or_skip};
use crate::postgres::open;

/// The statements a log holds from `application_name = eventscope` in `database`.
fn eventscope_statements(log: &str, database: &str) -> Vec<String> {
    let mut out = Vec::new();
    let tag = format!("app=eventscope db={database} ");
    for line in log.lines() {
        let Some(at) = line.find(&tag) else {
            continue;
        };
        let rest = &line[at + tag.len()..];
        let statement = rest
            .strip_prefix("LOG:  statement: ")
            .or_else(|| rest.strip_prefix("LOG:  execute <unnamed>: "))
            .or_else(|| {
                rest.strip_prefix("LOG:  execute ")
                    .and_then(|r| r.split_once(": ").map(|(_, s)| s))
            });
        if let Some(statement) = statement {
            out.push(statement.to_owned());
        }
    }
    out
}

fn allowed(statement: &str) -> bool {
    let s = statement.trim_start().to_ascii_uppercase();
    let read = [
        "SELECT",
        "SHOW",
        "SET ",
        "BEGIN READ ONLY",
        "COMMIT",
        "ROLLBACK",
        "FETCH",
        "DECLARE",
        "CLOSE",
    ]
    .iter()
    .any(|p| s.starts_with(p));
    read && !s.contains("FOR UPDATE") && !s.contains("PG_ADVISORY")
}

#[test]
fn only_reads_reach_the_server_and_writers_are_never_blocked() {
    let Some(server) = server_or_skip("only_reads_reach_the_server") else {
        return;
    };
    // A private copy of the DIY store (other tests read es_diy at the same time).
    let database = "es_statements";
    server.restore(
        database,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/postgres/diy/diy.sql"),
    );
    let url = server.url(database);
    // A writer appends 1,000 events, one transaction each, while every read runs.
    let mut writer = server
        .psql_command(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = writer.stdin.take().unwrap();
    let writer_thread = std::thread::Builder::new()
        .name("pg-writer".to_owned())
        .spawn(move || {
        let started = Instant::now();
        for n in 0..1000 {
            writeln!(
                input,
                "INSERT INTO events (event_id, aggregate_id, version, event_type, payload, metadata) \
                 VALUES (gen_random_uuid(), 'writer-1', {}, 'Written', '{{\"n\": {n}}}', '{{}}');",
                n + 1
            )
            .unwrap();
        }
        drop(input);
        started
    })
        .unwrap();
    let store = open(&url);
    let started = Instant::now();
    let mut reads = 0;
    while started.elapsed() < Duration::from_secs(3) || reads < 3 {
        store.info().unwrap();
        store.head().unwrap();
        store
            .list_streams(&StreamQuery {
                limit: 50,
                ..StreamQuery::default()
            })
            .unwrap();
        store.count_streams(&StreamQuery::default()).unwrap();
        store.categories().unwrap();
        store.stream("account-1").unwrap();
        store
            .read_stream("account-1", None, Direction::Forwards, 100)
            .unwrap();
        store
            .read_stream("account-1", Some(5), Direction::Backwards, 2)
            .unwrap();
        store
            .read_log(&LogQuery {
                limit: 2500,
                ..LogQuery::default()
            })
            .unwrap();
        store.read_log(&LogQuery::newest(10)).unwrap();
        store
            .read_log(&LogQuery {
                event_types: vec!["Written".to_owned()],
                stream_prefix: Some("writer".to_owned()),
                since: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
                until: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
                limit: 100,
                ..LogQuery::default()
            })
            .unwrap();
        store.event_types().unwrap();
        store.event_type_names().unwrap();
        store.version_at("account-1", chrono::Utc::now()).unwrap();
        store.snapshots("account-1").unwrap();
        store.snapshot_streams(0, 10).unwrap();
        store
            .correlated_events("743462f2-5d2f-44e0-a890-6d7000516ca2")
            .unwrap();
        store.checkpoints().unwrap();
        store.checkpoint_history(None, 10).unwrap();
        reads += 1;
    }
    let write_started = writer_thread.join().unwrap();
    let status = writer.wait().unwrap();
    assert!(status.success(), "the writer failed");
    let write_time = write_started.elapsed();
    assert!(
        write_time < Duration::from_secs(30),
        "the writer took {write_time:?}"
    );
    let written = server.psql(
        database,
        "SELECT count(*) FROM events WHERE aggregate_id = 'writer-1'",
    );
    assert_eq!(written.trim(), "1000");
    // Every CLI command on the URL.
    for args in [
        vec!["info", url.as_str(), "--json"],
        vec!["streams", url.as_str(), "--json"],
        vec!["events", url.as_str(), "account-1", "--json"],
        vec!["log", url.as_str(), "--json", "--limit", "20"],
        vec!["lag", url.as_str(), "--json"],
    ] {
        let out = stdout_of(&eventscope(&args));
        assert!(!out.trim().is_empty(), "{args:?} printed nothing");
    }
    // Give the server a moment to flush its log.
    std::thread::sleep(Duration::from_millis(500));
    let statements = eventscope_statements(&server.log(), database);
    assert!(
        statements.len() > 50,
        "only {} statements logged",
        statements.len()
    );
    let bad: Vec<&String> = statements.iter().filter(|s| !allowed(s)).collect();
    assert!(bad.is_empty(), "statements that are not reads: {bad:#?}");
    assert!(statements.iter().any(|s| s == "BEGIN READ ONLY"));
    assert!(
        statements
            .iter()
            .any(|s| s.contains("default_transaction_read_only = on"))
    );
}

#[test]
fn tls_modes_and_wrong_password() {
    let Some(server) = tls_server_or_skip("tls_modes_and_wrong_password") else {
        return;
    };
    let cert = server.root_cert.as_ref().unwrap().display().to_string();
    let port = server.port;
    let url = |user: &str, host: &str, query: &str| {
        format!("postgres://{user}@{host}:{port}/postgres?{query}")
    };
    let open_err = |location: &str| match eventscope::source::open(
        location,
        &eventscope::source::OpenOptions::default(),
    ) {
        Ok(_) => panic!("{location} opened"),
        Err(e) => e.to_string(),
    };
    // The server has no store: a good connection ends in "no layout recognised".
    for query in [
        format!("sslmode=verify-full&sslrootcert={cert}"),
        format!("sslmode=verify-ca&sslrootcert={cert}"),
        "sslmode=require".to_owned(),
        "sslmode=prefer".to_owned(),
    ] {
        let err = open_err(&url("reader:right", "127.0.0.1", &query));
        assert!(err.contains("no event store layout"), "{query}: {err}");
        assert!(!err.contains("right@"), "password shown: {err}");
    }
    let err = open_err(&format!(
        "host=localhost port={port} dbname=postgres user=reader password=right sslmode=verify-full sslrootcert={cert}"
    ));
    assert!(err.contains("no event store layout"), "{err}");
    // A wrong password: clear, and never echoed.
    let err = open_err(&url("reader:wrong-secret", "127.0.0.1", "sslmode=require"));
    assert!(err.contains("password"), "{err}");
    assert!(!err.contains("wrong-secret"), "{err}");
    // TLS mismatch: the server takes TLS only.
    let err = open_err(&url("reader:right", "127.0.0.1", "sslmode=disable"));
    assert!(err.contains("cannot connect"), "{err}");
    assert!(
        err.contains("no encryption") || err.contains("pg_hba"),
        "{err}"
    );
    // verify-full against a certificate from another CA.
    let other = tempfile::tempdir().unwrap();
    let other_cert = other.path().join("other.crt");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
        ])
        .arg("-keyout")
        .arg(other.path().join("other.key"))
        .arg("-out")
        .arg(&other_cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let err = open_err(&url(
        "reader:right",
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", other_cert.display()),
    ));
    assert!(err.contains("certificate"), "{err}");
}

#[test]
fn statement_timeout_and_killed_backend_recover() {
    let Some(server) = server_or_skip("statement_timeout_and_killed_backend_recover") else {
        return;
    };
    let database = "es_faults";
    server.restore(
        database,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/postgres/diy/diy.sql"),
    );
    let info = eventscope::source::postgres::conninfo::parse(
        &server.url(database),
        &eventscope::source::postgres::conninfo::ProcessEnv,
    )
    .unwrap();
    let store =
        eventscope::source::postgres::PostgresSource::open_info(info, Duration::from_millis(500))
            .unwrap();
    assert_eq!(store.head().unwrap(), 248);
    // Someone holds an exclusive lock: the read times out on the server, clearly.
    let mut locker = server
        .psql_command(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = locker.stdin.take().unwrap();
    writeln!(
        input,
        "BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
    )
    .unwrap();
    input.flush().unwrap();
    let mut stdout = locker.stdout.take().unwrap();
    let mut buf = [0_u8; 7];
    std::io::Read::read_exact(&mut stdout, &mut buf).unwrap();
    let err = store.head().unwrap_err().to_string();
    assert!(err.contains("statement timeout"), "{err}");
    writeln!(input, "COMMIT;").unwrap();
    drop(input);
    locker.wait().unwrap();
    assert_eq!(store.head().unwrap(), 248, "recovers once the lock is gone");
    // The backend is terminated: a clear error or a transparent reconnect, then reads work.
    let killed = server.psql(
        database,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = 'eventscope' AND datname = 'es_faults'",
    );
    assert_eq!(killed.trim(), "1");
    std::thread::sleep(Duration::from_millis(200));
    match store.head() {
        Ok(head) => assert_eq!(head, 248),
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("connection") || e.contains("terminat"), "{e}");
        }
    }
    assert_eq!(store.head().unwrap(), 248, "the next read reconnects");
    // Cancelling a read stops it.
    let token = eventscope::core::cancel::CancelToken::new();
    token.cancel();
    let cancelled = eventscope::core::cancel::with_cancel(&token, || {
        store.read_log(&LogQuery {
            limit: 100,
            ..LogQuery::default()
        })
    });
    assert!(cancelled.is_err());
    assert_eq!(store.head().unwrap(), 248);
}

/// Waits (bounded) until `sql` printed by psql in `database` says `t`.
fn wait_for(server: &crate::pg_server::PgServer, database: &str, sql: &str) {
    let started = Instant::now();
    while server.psql(database, sql).trim() != "t" {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never true: {sql}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A read of `store` on another thread, its result awaited for at most a minute (a hang
/// fails the test instead of stalling it).
fn read_log_on_thread(
    store: &std::sync::Arc<eventscope::source::postgres::PostgresSource>,
) -> crossbeam_channel::Receiver<Result<usize, String>> {
    let (sender, receiver) = crossbeam_channel::bounded(1);
    let store = store.clone();
    std::thread::Builder::new()
        .name("pg-scan".to_owned())
        .spawn(move || {
            let result = store
                .read_log(&LogQuery {
                    limit: 5000,
                    ..LogQuery::default()
                })
                .map(|events| events.len())
                .map_err(|e| e.to_string());
            sender.send(result).ok();
        })
        .unwrap();
    receiver
}

#[test]
fn server_restarted_mid_scan_then_answers_again() {
    let Some(server) =
        crate::pg_server::private_server_or_skip("server_restarted_mid_scan_then_answers_again")
    else {
        return;
    };
    let database = "es_restart";
    server.restore(
        database,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/postgres/diy/diy.sql"),
    );
    let info = eventscope::source::postgres::conninfo::parse(
        &server.url(database),
        &eventscope::source::postgres::conninfo::ProcessEnv,
    )
    .unwrap();
    let store = std::sync::Arc::new(
        eventscope::source::postgres::PostgresSource::open_info(info, Duration::from_secs(30))
            .unwrap(),
    );
    let events = store.head().unwrap();
    assert_eq!(events, 248);
    // A scan in flight: it waits on a lock someone else holds, so it is surely running on
    // the server when the server goes down.
    let mut locker = server
        .psql_command(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = locker.stdin.take().unwrap();
    writeln!(
        input,
        "BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
    )
    .unwrap();
    input.flush().unwrap();
    let mut stdout = locker.stdout.take().unwrap();
    let mut buf = [0_u8; 7];
    std::io::Read::read_exact(&mut stdout, &mut buf).unwrap();
    let scan = read_log_on_thread(&store);
    wait_for(
        &server,
        database,
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'eventscope' \
         AND wait_event_type = 'Lock'",
    );
    server.restart();
    let result = scan
        .recv_timeout(Duration::from_secs(60))
        .expect("the scan in flight hung after the restart");
    // Shutdown ends the lock holder too: when its backend goes first, the waiting
    // statement may get the lock and finish before its own backend is ended. Either way
    // no wrong answer: a clear error, or the whole log.
    match result {
        Err(err) => assert!(
            err.contains("the server ended the session") || err.contains("connection"),
            "not a clear error: {err}"
        ),
        Ok(events) => assert_eq!(events, 248, "a partial scan passed as whole"),
    }
    drop(input);
    locker.wait().ok();
    // The same open source answers at once, and the whole scan works.
    assert_eq!(store.head().unwrap(), 248, "no answer after the restart");
    let scan = read_log_on_thread(&store);
    assert_eq!(scan.recv_timeout(Duration::from_secs(60)).unwrap(), Ok(248));
    // Restarted between two reads: the next read reconnects by itself.
    server.restart();
    assert_eq!(
        store
            .read_stream("account-1", None, Direction::Forwards, 3)
            .unwrap()
            .len(),
        3
    );
    // Down: a clear error, promptly (no hang); back on the same port: answers again.
    server.stop();
    let scan = read_log_on_thread(&store);
    let err = scan
        .recv_timeout(Duration::from_secs(60))
        .expect("a read against a stopped server hung")
        .expect_err("read from a stopped server");
    assert!(err.contains("cannot connect"), "not a clear error: {err}");
    assert!(!err.contains("password"), "{err}");
    server.start_again();
    assert_eq!(
        store.head().unwrap(),
        248,
        "no answer once the server is back"
    );
}
