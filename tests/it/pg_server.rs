//! A real PostgreSQL server for the tests: `scripts/pg-test-server.sh` (Debian's
//! `postgresql`; `scripts/setup.sh test` installs it) starts a private cluster on a free
//! 127.0.0.1 port, once per test binary. A watchdog shell stops it when the test process
//! ends (however it ends). Each fixture dump is restored with psql into its own database.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A running test cluster.
pub struct PgServer {
    /// Its directory (data, log, socket).
    pub dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The TLS root certificate, for a TLS cluster.
    pub root_cert: Option<PathBuf>,
    databases: Mutex<HashMap<String, ()>>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory of the PostgreSQL programs (as the script finds them), if installed.
pub fn bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    found.sort();
    if let Some(last) = found.pop() {
        return Some(last);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file())
}

/// The cluster, or `None` after a loud message when `initdb` is missing (a failure on
/// CI, which installs it).
pub fn server_or_skip(test: &str) -> Option<&'static PgServer> {
    static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            installed(test)?;
            Some(start(
                &[],
                "-c log_statement=all -c log_line_prefix='%m [%p] app=%a db=%d '",
            ))
        })
        .as_ref()
}

/// A TLS-only cluster with password (SCRAM) authentication over TCP for user `reader`
/// (password `right`), for the sslmode and wrong-password tests.
pub fn tls_server_or_skip(test: &str) -> Option<&'static PgServer> {
    static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            installed(test)?;
            let server = start(&["--tls-only"], "");
            // Passwords over TCP, TLS only; the socket stays trusted for administration.
            std::fs::write(
                server.dir.join("data/pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
            )
            .unwrap();
            server.psql("postgres", "SELECT pg_reload_conf()");
            server.psql(
                "postgres",
                "CREATE ROLE reader LOGIN PASSWORD 'right'; GRANT pg_read_all_data TO reader",
            );
            Some(server)
        })
        .as_ref()
}

/// A cluster of the test's own (for restarting it without disturbing other tests),
/// stopped and deleted when dropped.
pub fn private_server_or_skip(test: &str) -> Option<PrivateServer> {
    installed(test)?;
    Some(PrivateServer(start(&[], "")))
}

/// A cluster owned by one test: [`PgServer`] plus restart / stop / start.
pub struct PrivateServer(PgServer);

impl std::ops::Deref for PrivateServer {
    type Target = PgServer;
    fn deref(&self) -> &PgServer {
        &self.0
    }
}

impl PrivateServer {
    fn script(&self, args: &[&str], keep: bool) {
        let output = Command::new(repo().join("scripts/pg-test-server.sh"))
            .args(args)
            .arg(&self.dir)
            .env("TMPDIR", &self.dir)
            .env("KEEP", if keep { "1" } else { "0" })
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pg-test-server.sh {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `pg_ctl restart -m fast`: every session ended, the server back on its port.
    pub fn restart(&self) {
        self.script(&["restart"], true);
    }

    /// Stops the server (fast shutdown), keeping its data.
    pub fn stop(&self) {
        self.script(&["stop"], true);
    }

    /// Starts the stopped server again on its port.
    pub fn start_again(&self) {
        self.script(&["start"], true);
        let port: u16 = std::fs::read_to_string(self.dir.join("port"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(port, self.port, "the server came back on another port");
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        Command::new(repo().join("scripts/pg-test-server.sh"))
            .arg("stop")
            .arg(&self.dir)
            .env("TMPDIR", &self.dir)
            .output()
            .ok();
    }
}

fn installed(test: &str) -> Option<()> {
    if bindir().is_some() {
        return Some(());
    }
    let message = format!(
        "\n\n!!!!! SKIPPING {test}: PostgreSQL's initdb is not installed.\n\
         !!!!! Install Debian's postgresql (scripts/setup.sh test does) or set PG_BINDIR.\n"
    );
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("{message}");
    None
}

fn start(flags: &[&str], opts: &str) -> PgServer {
    let script = repo().join("scripts/pg-test-server.sh");
    let dir = tempfile::Builder::new()
        .prefix("eventscope-pg-it.")
        .tempdir()
        .unwrap()
        .keep();
    let output = Command::new(&script)
        .arg("start")
        .args(flags)
        .arg(&dir)
        .env("PGTEST_OPTS", opts)
        // Do not disturb the developer's "last cluster" record.
        .env("TMPDIR", &dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pg-test-server.sh start failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let env = String::from_utf8_lossy(&output.stdout);
    let port = env
        .lines()
        .find_map(|l| l.strip_prefix("PGPORT="))
        .and_then(|p| p.trim().parse().ok())
        .expect("PGPORT in the script's output");
    let root_cert = env
        .lines()
        .find_map(|l| l.strip_prefix("PGTEST_SSLROOTCERT="))
        .map(PathBuf::from);
    // Stop the cluster when this test process ends, however it ends.
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; TMPDIR='{dir}' '{script}' stop '{dir}'",
        pid = std::process::id(),
        dir = dir.display(),
        script = script.display()
    );
    // The watchdog outlives this process on purpose; it is never waited for.
    #[allow(clippy::zombie_processes)]
    let _watchdog = Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    PgServer {
        dir,
        port,
        root_cert,
        databases: Mutex::new(HashMap::new()),
    }
}

fn program(name: &str) -> PathBuf {
    bindir()
        .map(|dir| dir.join(name))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

impl PgServer {
    /// A `postgres://` URL for `database` as the superuser (trust auth).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// Runs SQL with psql over the Unix socket as the superuser; panics on failure.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let output = self
            .psql_command(database)
            .args(["-c", sql])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A psql command (Unix socket, superuser, `ON_ERROR_STOP`, tuples only, unaligned).
    pub fn psql_command(&self, database: &str) -> Command {
        let mut command = Command::new(program("psql"));
        command
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(&self.dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ]);
        command
    }

    /// Restores `tests/fixtures/postgres/<name>/<name>.sql` into database `es_<name>` (once)
    /// and returns its URL.
    pub fn fixture(&self, name: &str) -> String {
        let database = format!("es_{name}");
        let mut done = self.databases.lock().unwrap();
        if !done.contains_key(&database) {
            self.restore(
                &database,
                &repo().join(format!("tests/fixtures/postgres/{name}/{name}.sql")),
            );
            done.insert(database.clone(), ());
        }
        self.url(&database)
    }

    /// Creates `database` and restores a dump into it.
    pub fn restore(&self, database: &str, dump: &Path) {
        self.psql("postgres", &format!("CREATE DATABASE {database}"));
        let output = self
            .psql_command(database)
            .arg("-f")
            .arg(dump)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "restoring {} failed: {}",
            dump.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}
