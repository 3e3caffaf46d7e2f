//! A real UmaDB server for tests and benchmarks: the `umadb` command from the `umadb`
//! Python package (`pip install umadb==0.7.8`; `.ci/run` installs it into a venv), started
//! on a loopback port with its data file in a temp dir. Populated through UmaDB's own
//! Python client, which the same package ships.

#![allow(dead_code, reason = "shared by the test binary and the benchmark")]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the `umadb` command is: `$UMADB_BIN`, else `umadb` on `PATH`.
pub fn umadb_command() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("UMADB_BIN") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("umadb"))
        .find(|candidate| candidate.is_file())
}

/// The `umadb` command, or `None` after a loud message when it is missing (and a panic on
/// CI, where `.ci/run` must have installed it).
pub fn umadb_or_skip(test: &str) -> Option<PathBuf> {
    let found = umadb_command();
    if found.is_none() {
        let message = format!(
            "\n\n!!!!! SKIPPING {test}: the `umadb` server command is not installed.\n\
             !!!!! Install it with: python3 -m venv .venv-umadb && .venv-umadb/bin/pip install umadb==0.7.8\n\
             !!!!! and put .venv-umadb/bin on PATH (or set UMADB_BIN). .ci/run does this.\n"
        );
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("{message}");
    }
    found
}

/// UmaDB preallocates a 256 MiB data file: at most this many servers run at once, so that
/// parallel tests do not fill a small disk.
const MAX_SERVERS: usize = 2;
static RUNNING: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

fn acquire_slot() {
    let (count, freed) = &RUNNING;
    let mut running = count
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    while *running >= MAX_SERVERS {
        running = freed
            .wait(running)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    *running += 1;
}

fn release_slot() {
    let (count, freed) = &RUNNING;
    let mut running = count
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *running -= 1;
    freed.notify_one();
}

/// A running UmaDB server on 127.0.0.1.
pub struct UmaDbServer {
    command: PathBuf,
    db_path: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

impl UmaDbServer {
    /// Starts a server with a fresh data file in a new temp dir.
    pub fn start(command: &Path) -> Self {
        acquire_slot();
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("uma.db");
        let mut server = Self {
            command: command.to_path_buf(),
            db_path,
            port: free_port(),
            child: None,
            dir: Some(dir),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new(&self.command)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--db-path")
            .arg(&self.db_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start umadb");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "umadb did not start listening on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `umadb://127.0.0.1:PORT` plus `query` (e.g. `?streams=all`).
    pub fn url(&self, query: &str) -> String {
        format!("umadb://127.0.0.1:{}{query}", self.port)
    }

    /// Kills the server (SIGKILL), keeping its data file.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts the server again on the same port and data file.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Runs a Python script against the server with UmaDB's own client; `URL` is bound to
    /// the server's `http://` address. Uses the Python beside the `umadb` command (its venv).
    pub fn python(&self, script: &str) -> String {
        let python = self
            .command
            .parent()
            .map(|dir| dir.join("python3"))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("python3"));
        let prelude = format!(
            "import umadb, json, uuid\nURL = 'http://127.0.0.1:{}'\nclient = umadb.Client(URL)\n",
            self.port
        );
        let output = Command::new(python)
            .arg("-c")
            .arg(format!("{prelude}{script}"))
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for UmaDbServer {
    fn drop(&mut self) {
        self.kill();
        // The data file goes with the temp dir before another server may start.
        drop(self.dir.take());
        release_slot();
    }
}
