//! Shared helpers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eventscope::core::EventSource;

/// Path of a committed fixture.
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// Reads a fixture's expected JSON.
pub fn expected(relative: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(relative)).expect("expected json");
    serde_json::from_str(&text).expect("valid json")
}

/// Opens a store with default options.
pub fn open(path: &Path) -> Arc<dyn EventSource> {
    eventscope::source::open(
        path.to_str().expect("utf-8 path"),
        &eventscope::source::OpenOptions::default(),
    )
    .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// SHA-256 of a file, or None when it does not exist.
pub fn sha256(path: &Path) -> Option<String> {
    use sha2::Digest as _;
    let bytes = std::fs::read(path).ok()?;
    Some(eventscope::core::event::hex(&sha2::Sha256::digest(&bytes)))
}

/// Hashes of a store file and its `-wal` / `-shm` companions, plus the directory listing.
pub fn store_fingerprint(path: &Path) -> (Vec<(String, Option<String>)>, Vec<String>) {
    let hashes = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let companion = PathBuf::from(format!("{}{suffix}", path.display()));
            (suffix.to_string(), sha256(&companion))
        })
        .collect();
    let mut listing: Vec<String> = std::fs::read_dir(path.parent().expect("parent"))
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    listing.sort();
    (hashes, listing)
}

/// Copies a fixture into a temp dir (so tests can hash it in isolation).
pub fn copy_fixture(relative: &str, dir: &Path) -> PathBuf {
    let source = fixture(relative);
    let target = dir.join(source.file_name().expect("file name"));
    std::fs::copy(&source, &target).expect("copy fixture");
    target
}

/// The error opening a store gives (panics if it opens).
pub fn open_error(location: &str) -> eventscope::core::SourceError {
    match eventscope::source::open(location, &eventscope::source::OpenOptions::default()) {
        Ok(_) => panic!("{location} opened"),
        Err(err) => err,
    }
}

/// Every event of a store's global log, read page by page.
pub fn all_events(source: &dyn EventSource) -> Vec<eventscope::core::Event> {
    let mut out = Vec::new();
    let mut from = 0;
    loop {
        let page = source
            .read_log(&eventscope::core::LogQuery {
                from_position: Some(from),
                limit: 10_000,
                ..Default::default()
            })
            .unwrap();
        let Some(last) = page.last() else { break };
        from = last.global_position + 1;
        out.extend(page);
    }
    out
}

/// A demo store of `events` events for `seed`, written into `dir` as `demo.db`.
pub fn demo_store(dir: &Path, events: u64, seed: u64) -> (PathBuf, eventscope::demo::DemoSummary) {
    let path = dir.join("demo.db");
    let summary = eventscope::demo::write_demo(
        &path,
        &eventscope::demo::DemoOptions {
            events,
            seed,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    (path, summary)
}

/// Reads the log page after page on a thread (wrapping back to position 1 past `wrap_after`,
/// so the loop never ends by itself), calls `kill` once reads are flowing, and returns the
/// error the reader then gets. Panics if the read hangs instead of failing.
pub fn error_of_read_when_killed(
    source: &Arc<dyn EventSource>,
    wrap_after: u64,
    kill: impl FnOnce(),
) -> String {
    use eventscope::core::LogQuery;
    let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let reader = Arc::clone(source);
    std::thread::Builder::new()
        .name("reader".to_owned())
        .spawn(move || {
            let mut from = None;
            let error = loop {
                match reader.read_log(&LogQuery {
                    from_position: from,
                    limit: 10_000,
                    ..LogQuery::default()
                }) {
                    Ok(page) => {
                        started_tx.try_send(()).ok();
                        from = page
                            .last()
                            .map(|e| e.global_position + 1)
                            .filter(|next| *next <= wrap_after);
                    }
                    Err(err) => break err,
                }
            };
            done_tx.send(error.to_string()).ok();
        })
        .unwrap();
    if started_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .is_err()
    {
        let error = done_rx.recv_timeout(std::time::Duration::from_secs(1));
        panic!("the reads failed before the kill: {error:?}");
    }
    kill();
    done_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the read ends with an error, no hang")
}

/// Calls `call` until it succeeds, up to 10 s (a client reconnecting after a restart).
pub fn until_ok<T, E>(mut call: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let mut result = call();
    for _ in 0..50 {
        if result.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        result = call();
    }
    result
}

/// Runs the `eventscope` binary.
pub fn eventscope(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_eventscope"))
        .args(args)
        .output()
        .expect("run eventscope")
}

/// Standard output of a run that must have succeeded (stderr shown otherwise).
pub fn stdout_of(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The JSON Lines a successful run printed.
pub fn json_lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    stdout_of(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}
