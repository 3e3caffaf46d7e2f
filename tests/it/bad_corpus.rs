//! The bad-input corpus, `tests/fixtures/bad/` (written by its `generate.py`, listed with
//! what must happen in its `manifest.json`): broken stores of every layout, broken files,
//! links and directories. Each store is copied to a temp dir first and read there by the
//! built binary (`info`, `streams`, `log --json`, `events`, `checkpoints`, `audit`, and
//! `mapping suggest` where no layout is known) and by the window (egui_kittest): a store
//! that cannot be opened gives a clear error naming the problem, one that can be opened
//! reads what it can, nothing panics, every command ends within its time limit, and no file
//! changes (SHA-256 of every file before and after). Also: a store locked by a writer, and
//! stores on a read-only mount.
//!
//! (`bad_input.rs` covers single broken files built in the test, `bad_rows.rs` every bad
//! value in every column one by one; this is the committed corpus end to end.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest any one command may take (a debug binary on a loaded 2-core CI machine; the
/// slowest store reads in well under a second).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

fn corpus_dir() -> PathBuf {
    crate::common::fixture("bad")
}

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(corpus_dir().join("manifest.json")).unwrap();
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

fn text(entry: &Value, key: &str) -> String {
    entry[key].as_str().unwrap_or_default().to_owned()
}

fn files(entry: &Value) -> Vec<String> {
    entry["files"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Copies an entry's files into `dir` (symlinks as symlinks) and returns the store's path.
fn copy_entry(entry: &Value, dir: &Path) -> PathBuf {
    for file in files(entry) {
        let from = corpus_dir().join(&file);
        let to = dir.join(&file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let meta = std::fs::symlink_metadata(&from).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &to).unwrap();
        } else {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    let name = text(entry, "name");
    if name.ends_with(".db") {
        dir.join(name)
    } else {
        dir.join(&files(entry)[0])
    }
}

/// Every file under `dir` with its SHA-256 (symlinks by their target).
fn fingerprint(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(
                    name,
                    format!("-> {}", std::fs::read_link(&path).unwrap().display()),
                );
            } else if meta.is_dir() {
                todo.push(path);
            } else {
                out.insert(name, crate::common::sha256(&path).unwrap());
            }
        }
    }
    out
}

struct Run {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs the binary with eventscope's own files under `home`, killing it after
/// [`COMMAND_TIMEOUT`] (a failure: a hang).
fn run(args: &[String], home: &Path) -> Run {
    run_command(
        Command::new(env!("CARGO_BIN_EXE_eventscope")).args(args),
        home,
        &args.join(" "),
    )
}

fn run_command(command: &mut Command, home: &Path, shown: &str) -> Run {
    std::fs::create_dir_all(home).unwrap();
    // Output goes to files: a pipe nobody reads would block a big `log --json`.
    let out_path = home.join(format!("out-{}", std::process::id()));
    let err_path = home.join(format!("err-{}", std::process::id()));
    let mut child = command
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > COMMAND_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            panic!("`eventscope {shown}` did not finish within {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let run = Run {
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
    };
    std::fs::remove_file(out_path).ok();
    std::fs::remove_file(err_path).ok();
    assert!(
        !run.stderr.contains("panicked") && run.status.code().is_some_and(|c| c != 101),
        "`eventscope {shown}` panicked or was killed ({:?}): {}",
        run.status,
        run.stderr
    );
    run
}

/// The commands every store goes through, with the entry's options (a mapping file).
fn command_args(entry: &Value, store: &Path, dir: &Path) -> Vec<Vec<String>> {
    let options: Vec<String> = entry["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| s.replace("{dir}", &dir.display().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let store = store.display().to_string();
    [
        vec!["info"],
        vec!["streams"],
        vec!["log", "--json", "--limit", "all"],
        vec!["checkpoints"],
        vec!["audit"],
    ]
    .into_iter()
    .map(|cmd| {
        let mut args: Vec<String> = options.clone();
        args.push(cmd[0].to_owned());
        args.push(store.clone());
        args.extend(cmd[1..].iter().map(|s| (*s).to_owned()));
        args
    })
    .collect()
}

/// One corpus entry through the CLI; returns what went wrong (nothing: empty).
fn check_cli(entry: &Value) -> Vec<String> {
    let name = text(entry, "name");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    std::fs::create_dir_all(&dir).unwrap();
    let store = copy_entry(entry, &dir);
    let before = fingerprint(&dir);
    let home = tmp.path().join("home");
    let mut failures = Vec::new();
    let expect = text(entry, "expect");
    for args in command_args(entry, &store, &dir) {
        let out = run(&args, &home);
        let shown = format!("{name}: `eventscope {}`", args.join(" "));
        match expect.as_str() {
            "error" => {
                let message = text(entry, "message");
                if out.status.success() {
                    failures.push(format!("{shown} succeeded: {}", out.stdout));
                } else if !out.stderr.contains("error:") || !out.stderr.contains(&message) {
                    failures.push(format!(
                        "{shown}: error without {message:?}: {}",
                        out.stderr
                    ));
                }
            }
            "reads" => {
                if !out.status.success() {
                    failures.push(format!("{shown} failed: {}", out.stderr));
                } else if args.contains(&"log".to_owned()) {
                    let lines: Vec<Value> = out
                        .stdout
                        .lines()
                        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
                        .collect();
                    let want = entry["events"].as_u64().unwrap_or(1);
                    // A line nesting deeper than serde_json's limit of 128 (a stored
                    // payload 127 deep inside the line's object) is still one object.
                    let whole = out
                        .stdout
                        .lines()
                        .zip(&lines)
                        .all(|(l, v)| !v.is_null() || (l.starts_with('{') && l.ends_with('}')));
                    if (lines.len() as u64) < want || !whole {
                        failures.push(format!(
                            "{shown}: {} JSON lines, want at least {want}: {}",
                            lines.len(),
                            out.stdout.chars().take(500).collect::<String>()
                        ));
                    }
                }
            }
            other => panic!("{name}: unknown expectation {other}"),
        }
    }
    if expect == "reads" {
        // A stream read by the id the stream list shows.
        let options = &command_args(entry, &store, &dir)[0];
        let options = &options[..options.len() - 2];
        let with = |more: &[&str]| -> Vec<String> {
            let mut args = options.to_vec();
            args.extend(more.iter().map(|s| (*s).to_owned()));
            args
        };
        let shown_store = store.display().to_string();
        let out = run(&with(&["streams", &shown_store, "--json"]), &home);
        let first = out
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|v| {
                v["stream_id"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            });
        match first {
            Some(stream) => {
                let out = run(&with(&["events", &shown_store, &stream]), &home);
                // An id that cannot be written back exactly (read lossily from invalid
                // UTF-8 or UTF-16, a text id in a UUID-blob column) is listed but not found
                // by its shown form: a clear "stream not found", never a panic (TESTING.md).
                let lossy = out.stderr.contains("stream not found")
                    && (stream.contains('\u{fffd}') || name.starts_with("sqlalchemy"));
                if !out.status.success() && !lossy {
                    failures.push(format!("{name}: events of {stream:?}: {}", out.stderr));
                }
            }
            None => failures.push(format!("{name}: no stream listed: {}", out.stdout)),
        }
    } else if text(entry, "message").contains("no known event store layout") {
        // The way out the error points to: a drafted mapping file, itself valid TOML.
        let args = vec![
            "mapping".to_owned(),
            "suggest".to_owned(),
            store.display().to_string(),
        ];
        let out = run(&args, &home);
        let draft_ok = toml::from_str::<toml::Table>(&out.stdout).is_ok();
        let no_tables = out.stderr.contains("no tables");
        if !(out.status.success() && draft_ok || no_tables) {
            failures.push(format!(
                "{name}: mapping suggest: {:?} {}{}",
                out.status, out.stderr, out.stdout
            ));
        }
    }
    let mut after = fingerprint(&dir);
    // The one companion file SQLite must create: the index of a WAL left without it.
    if name == "wal_no_shm.db" {
        after.remove("wal_no_shm.db-shm");
    }
    if before != after {
        failures.push(format!("{name}: files changed: {before:?} → {after:?}"));
    }
    failures
}

/// Runs `check` on every entry of `expect`, a few at a time, and fails with every failure.
fn check_all(expect: &str, check: fn(&Value) -> Vec<String>) {
    let entries: Vec<Value> = manifest()
        .into_iter()
        .filter(|e| e["expect"] == expect)
        .collect();
    assert!(entries.len() >= 10, "{expect}: {} entries", entries.len());
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = entries
            .chunks(entries.len().div_ceil(3))
            .map(|chunk| scope.spawn(move || chunk.iter().flat_map(check).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("checker thread"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn bad_corpus_is_complete() {
    let entries = manifest();
    let stores = entries.iter().filter(|e| e["expect"] != "runtime").count();
    assert!(stores >= 30, "{stores} stores");
    for entry in &entries {
        for file in files(entry) {
            let path = corpus_dir().join(&file);
            assert!(
                std::fs::symlink_metadata(&path).is_ok(),
                "{file} of the manifest is missing (run tests/fixtures/bad/generate.py)"
            );
        }
    }
    // Every layout eventscope detects is in it, and a mapped store.
    let whys: String = entries.iter().map(|e| text(e, "why")).collect();
    for layout in [
        "DIY",
        "guide",
        "stored_events",
        "sqlalchemy",
        "Emmett",
        "mapping",
    ] {
        assert!(whys.contains(layout), "no {layout} store");
    }
}

#[test]
fn bad_corpus_cli_errors_are_clear() {
    check_all("error", check_cli);
}

#[test]
fn bad_corpus_cli_reads_what_it_can() {
    check_all("reads", check_cli);
}

/// A writer holds an exclusive lock on the store (mid-transaction) while every command
/// reads it: each gives up within SQLite's busy timeout with a clear message.
#[test]
fn bad_corpus_locked_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("locked.db");
    std::fs::copy(corpus_dir().join("diy_nulls.db"), &store).unwrap();
    // Hashed before the lock is taken and after it is let go: closing any other handle on
    // the file in this process would drop the writer's POSIX lock.
    let before = crate::common::sha256(&store);
    let writer = rusqlite::Connection::open(&store).unwrap();
    writer
        .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE events SET version = version;")
        .unwrap();

    let home = tmp.path().join("home");
    for cmd in ["info", "streams", "log", "audit"] {
        let started = Instant::now();
        let out = run(&[cmd.to_owned(), store.display().to_string()], &home);
        assert!(
            !out.status.success(),
            "{cmd} read a locked store: {}",
            out.stdout
        );
        assert!(
            out.stderr.contains("locked") && out.stderr.contains("locked.db"),
            "{cmd}: {}",
            out.stderr
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{cmd} waited too long"
        );
    }
    writer.execute_batch("ROLLBACK").unwrap();
    drop(writer);
    assert_eq!(crate::common::sha256(&store), before);
    // Once the writer is done, the same store reads.
    let out = run(&["log".to_owned(), store.display().to_string()], &home);
    assert!(out.status.success(), "{}", out.stderr);
}

/// Stores on a read-only file system: a real read-only bind mount in a private user and
/// mount namespace (`unshare -rm`, no root needed) where the machine allows it, else a
/// mode-0555 directory of mode-0444 files (which root can still write: then only the
/// approximation is checked, and the test says so).
#[test]
fn bad_corpus_read_only_mount() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&mnt).unwrap();
    for file in [
        "diy_nulls.db",
        "wal_header_only.db",
        "wal_no_shm.db",
        "wal_no_shm.db-wal",
    ] {
        std::fs::copy(corpus_dir().join(file), src.join(file)).unwrap();
    }
    let before = fingerprint(&src);
    let home = tmp.path().join("home");
    let mount_works = Command::new("unshare")
        .args(["-rm", "sh", "-c"])
        .arg(format!(
            "mount --bind -o ro '{}' '{}' && ! touch '{}/probe' 2>/dev/null",
            src.display(),
            mnt.display(),
            mnt.display()
        ))
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let in_mount = |cmd: &str, store: &str| -> Run {
        let script = format!(
            "mount --bind -o ro '{}' '{}' && exec '{}' {cmd} '{}/{store}'",
            src.display(),
            mnt.display(),
            env!("CARGO_BIN_EXE_eventscope"),
            mnt.display()
        );
        run_command(
            Command::new("unshare").args(["-rm", "sh", "-c", script.as_str()]),
            &home,
            &format!("{cmd} {store} (read-only mount)"),
        )
    };
    let plain = |cmd: &str, store: &str| -> Run {
        run(
            &[cmd.to_owned(), src.join(store).display().to_string()],
            &home,
        )
    };
    if !mount_works {
        eprintln!(
            "NOTE: no read-only bind mount here (unshare -rm + mount --bind -o ro failed); \
             checking a mode-0555 directory of mode-0444 files instead"
        );
        use std::os::unix::fs::PermissionsExt as _;
        for name in before.keys() {
            std::fs::set_permissions(src.join(name), std::fs::Permissions::from_mode(0o444))
                .unwrap();
        }
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let read = |cmd: &str, store: &str| {
        if mount_works {
            in_mount(cmd, store)
        } else {
            plain(cmd, store)
        }
    };
    for cmd in ["info", "log", "audit"] {
        for store in ["diy_nulls.db", "wal_header_only.db"] {
            let out = read(cmd, store);
            assert!(out.status.success(), "{cmd} {store}: {}", out.stderr);
        }
        // A WAL without its index: SQLite must create `-shm`, which a read-only file
        // system refuses: a clear error naming the missing index.
        let out = read(cmd, "wal_no_shm.db");
        if mount_works {
            assert!(!out.status.success(), "{cmd}: {}", out.stdout);
            assert!(
                out.stderr.contains("-shm") && out.stderr.contains("read-only"),
                "{cmd}: {}",
                out.stderr
            );
        }
    }
    if !mount_works {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Root may have created the index the WAL lacked: the one allowed companion file.
        std::fs::remove_file(src.join("wal_no_shm.db-shm")).ok();
    }
    assert_eq!(fingerprint(&src), before);
}

/// Every store of the corpus in the window: an error shown on the connect screen, or the
/// stream list, a stream and the log shown as far as they can be read; no panic.
#[test]
fn bad_corpus_in_the_window() {
    use crate::kit::{has_label, wait_until};
    use eventscope::app::messages::AppCommand;
    use eventscope::app::{EventscopeApp, Startup};
    use eventscope::context::state::View;

    let tmp = tempfile::tempdir().unwrap();
    for entry in manifest().iter().filter(|e| e["expect"] != "runtime") {
        let name = text(entry, "name");
        let dir = tmp.path().join(&name).join("store");
        std::fs::create_dir_all(&dir).unwrap();
        let store = copy_entry(entry, &dir);
        let before = fingerprint(&dir);
        let mapping = entry["args"]
            .as_array()
            .and_then(|a| a.get(1))
            .and_then(Value::as_str)
            .map(|m| PathBuf::from(m.replace("{dir}", &dir.display().to_string())));
        let location = store.display().to_string();
        // Text read lossily holds U+FFFD, which the bundled font lacks: the app draws the
        // tofu box egui's default policy draws (kittest's own default is to panic).
        let mut h = egui_kittest::Harness::builder()
            .with_size(egui::vec2(1400.0, 900.0))
            .allow_missing_glyphs()
            .build_eframe(move |cc| {
                let mut app = EventscopeApp::with_state(
                    &cc.egui_ctx,
                    Default::default(),
                    Startup::Store(location),
                    mapping,
                );
                app.history_dir = None;
                app
            });
        if text(entry, "expect") == "error" {
            let message = text(entry, "message");
            // On the connect screen, or (a file that opens but whose pages do not read)
            // in the status bar over the empty page.
            wait_until(&mut h, &format!("{name}: the error"), |h| {
                (has_label(h, "Could not open the store") && h.state().connect.error.is_some())
                    || h.state().last_error.is_some()
            });
            let error = h
                .state()
                .connect
                .error
                .clone()
                .or_else(|| h.state().last_error.clone())
                .unwrap_or_default();
            assert!(error.contains(&message), "{name}: {error}");
        } else {
            wait_until(&mut h, &format!("{name}: the stream list"), |h| {
                h.state().streams.list.rows.row(0).is_some() || h.state().last_error.is_some()
            });
            assert_eq!(h.state().last_error, None, "{name}");
            // The first stream with an id (a NULL id is listed as "" but cannot be opened
            // by it: see TESTING.md).
            let total = h.state().streams.list.rows.total.unwrap_or(0);
            let first = (0..total)
                .filter_map(|i| h.state().streams.list.rows.row(i))
                .map(|s| s.stream_id.clone())
                .find(|id| {
                    // One that can be opened by its shown id (see the CLI check).
                    !id.is_empty()
                        && !id.contains('\u{fffd}')
                        && (!name.starts_with("sqlalchemy") || eventscope::core::ids::is_uuid(id))
                });
            let first = first.unwrap_or_else(|| panic!("{name}: no stream with an id"));
            h.state_mut().apply(AppCommand::SelectStream {
                stream_id: first.clone(),
                version: None,
            });
            wait_until(&mut h, &format!("{name}: the stream {first:?}"), |h| {
                h.state().streams.view.info.is_some() || h.state().last_error.is_some()
            });
            assert_eq!(h.state().last_error, None, "{name}: stream {first:?}");
            h.state_mut().apply(AppCommand::SetView(View::Log));
            wait_until(&mut h, &format!("{name}: the log"), |h| {
                !h.state().log.view.events.is_empty() || h.state().last_error.is_some()
            });
            assert_eq!(h.state().last_error, None, "{name}: log");
            // A few frames of the log page laid out with whatever the rows hold.
            h.run_steps(5);
        }
        drop(h);
        assert_eq!(
            fingerprint(&dir).len(),
            before.len() + usize::from(name == "wal_no_shm.db"),
            "{name}"
        );
        for (file, hash) in &before {
            assert_eq!(
                fingerprint(&dir).get(file),
                Some(hash),
                "{name}: {file} changed"
            );
        }
    }
}
