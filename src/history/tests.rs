//! Tests of the lag history store (tempfile directories only). (Over 600 lines: one test per retention, gap and failure rule of `history`, sharing its fixtures.)

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use sha2::{Digest as _, Sha256};

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

fn sample(time: DateTime<Utc>, position: u64, head: u64) -> LagSample {
    LagSample::compute_with_head(
        time,
        position,
        head,
        Some(time - TimeDelta::seconds(2)),
        Some(time - TimeDelta::seconds(1)),
    )
}

fn tick(time: DateTime<Utc>, names: &[&str]) -> Vec<(String, LagSample)> {
    let seconds = u64::try_from((time - t0()).num_seconds()).unwrap_or(0);
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let head = 10 * seconds + 100;
            let position = head.saturating_sub(10 * i as u64 + seconds % 7);
            ((*name).to_owned(), sample(time, position, head))
        })
        .collect()
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn file_hash(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

#[test]
fn history_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LagHistory>();
}

#[test]
fn history_path_layout() {
    let dir = Path::new("/data");
    assert_eq!(
        history_path(dir, "0123abcd").unwrap(),
        Path::new("/data/lag-history/0123abcd.db")
    );
}

#[test]
fn invalid_identity_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "../x", "a/b", "a.b", "x\0", &"a".repeat(129)] {
        assert!(
            matches!(
                LagHistory::open_in(dir.path(), bad),
                Err(HistoryError::InvalidIdentity(_))
            ),
            "{bad:?}"
        );
    }
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn record_and_load_per_name_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let history = LagHistory::open_in(dir.path(), "abc").unwrap();
    // Record out of order, with names interleaved.
    for s in [5, 1, 3, 2, 4] {
        history.record(&tick(at(s), &["zeta", "alpha"])).unwrap();
    }
    let loaded = history.load(at(0)).unwrap();
    let names: Vec<&str> = loaded.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    for (_, samples) in &loaded {
        let times: Vec<_> = samples.iter().map(|s| s.at).collect();
        assert_eq!(times, [at(1), at(2), at(3), at(4), at(5)]);
    }
    let expected = tick(at(3), &["zeta", "alpha"]);
    assert_eq!(loaded[1].1[2], expected[0].1);
    assert_eq!(loaded[0].1[2], expected[1].1);
    assert_eq!(history.sample_count().unwrap(), 10);
    assert_eq!(history.latest_at().unwrap(), Some(at(5)));
}

#[test]
fn load_since_and_range() {
    let history = LagHistory::in_memory().unwrap();
    for s in 0..10 {
        history.record(&tick(at(s), &["p"])).unwrap();
    }
    history.record(&tick(at(3), &["only-early"])).unwrap();
    let loaded = history.load(at(6)).unwrap();
    assert_eq!(
        loaded.len(),
        1,
        "projections without samples in range are left out"
    );
    assert_eq!(loaded[0].1.len(), 4);
    let range = history.load_range(at(2), Some(at(4))).unwrap();
    assert_eq!(range.len(), 2);
    assert_eq!(range[0].0, "only-early");
    assert_eq!(range[1].1.len(), 3);
    assert!(history.load(at(100)).unwrap().is_empty());
}

#[test]
fn millisecond_times_round_trip() {
    let history = LagHistory::in_memory().unwrap();
    let time = at(1) + TimeDelta::milliseconds(234);
    history
        .record(&[("p".to_owned(), sample(time, 1, 5))])
        .unwrap();
    let loaded = history.load(at(0)).unwrap();
    assert_eq!(loaded[0].1[0].at, time);
    assert_eq!(loaded[0].1[0].lag_seconds, 2.0);
}

#[test]
fn non_finite_and_huge_values_are_stored_safely() {
    let history = LagHistory::in_memory().unwrap();
    let mut weird = sample(at(0), u64::MAX, u64::MAX);
    weird.lag_seconds = f64::INFINITY;
    let mut negative = sample(at(1), 1, 2);
    negative.lag_seconds = -4.0;
    // A store without times: seconds behind unknown, and kept unknown.
    let mut unknown = sample(at(2), 1, 2);
    unknown.lag_seconds = f64::NAN;
    history
        .record(&[
            ("p".to_owned(), weird),
            ("p".to_owned(), negative),
            ("p".to_owned(), unknown),
        ])
        .unwrap();
    let loaded = history.load(at(0)).unwrap();
    assert_eq!(loaded[0].1[0].lag_seconds, 0.0);
    assert_eq!(loaded[0].1[0].position, i64::MAX as u64);
    assert_eq!(loaded[0].1[1].lag_seconds, 0.0);
    assert!(loaded[0].1[2].lag_seconds.is_nan());
}

#[test]
fn history_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let id = store_identity("/some/store.db");
    {
        let history = LagHistory::open_in(dir.path(), &id).unwrap();
        for s in 0..30 {
            history.record(&tick(at(s), &["a", "b", "c"])).unwrap();
        }
    }
    // "Restart": the app is closed for 10 minutes, then samples again.
    let history = LagHistory::open_in(dir.path(), &id).unwrap();
    assert_eq!(history.sample_count().unwrap(), 90);
    assert_eq!(history.latest_at().unwrap(), Some(at(29)));
    for s in 630..640 {
        history.record(&tick(at(s), &["a", "b", "c"])).unwrap();
    }
    drop(history);
    let history = LagHistory::open_in(dir.path(), &id).unwrap();
    let loaded = history.load(at(0)).unwrap();
    assert_eq!(loaded.len(), 3);
    let a = &loaded[0].1;
    assert_eq!(a.len(), 40);
    // The closed time is a gap in the chart.
    let parts = segments(a, Duration::from_secs(1), at(640), &Retention::default());
    assert_eq!(parts.len(), 2);
    assert_eq!((parts[0].len(), parts[1].len()), (30, 10));
    assert_eq!(
        history.path().unwrap(),
        dir.path().join("lag-history").join(format!("{id}.db"))
    );
}

#[test]
fn record_replaces_and_import_is_idempotent() {
    let history = LagHistory::in_memory().unwrap();
    let reconstructed: Vec<LagSample> = (0..100).map(|s| sample(at(s), 0, 10)).collect();
    assert_eq!(history.import("p", &reconstructed).unwrap(), 100);
    assert_eq!(history.import("p", &reconstructed).unwrap(), 0);
    assert_eq!(history.sample_count().unwrap(), 100);
    // A live sample at the same millisecond wins over the reconstructed one …
    history
        .record(&[("p".to_owned(), sample(at(50), 7, 10))])
        .unwrap();
    // … and a later import does not overwrite it.
    assert_eq!(history.import("p", &reconstructed).unwrap(), 0);
    let loaded = history.load(at(0)).unwrap();
    assert_eq!(loaded[0].1.len(), 100);
    assert_eq!(loaded[0].1[50].position, 7);
    // Another name is independent.
    assert_eq!(history.import("q", &reconstructed[..5]).unwrap(), 5);
}

#[test]
fn compaction_keeps_last_sample_of_each_minute() {
    let history = LagHistory::in_memory().unwrap();
    // Three hours of 1 s samples for one projection.
    let batch: Vec<(String, LagSample)> = (0..3 * 3600).flat_map(|s| tick(at(s), &["p"])).collect();
    history.record(&batch).unwrap();
    let now = at(3 * 3600);
    let stats = history.compact(now).unwrap();
    assert_eq!(stats.expired, 0);
    // Before now − 1 h (= 2 h of samples): one per minute remains.
    assert_eq!(stats.downsampled, 2 * 3600 - 120);
    let loaded = history.load(at(0)).unwrap();
    let samples = &loaded[0].1;
    assert_eq!(samples.len(), 120 + 3600);
    // The kept ones are the last of each minute.
    assert_eq!(samples[0].at, at(59));
    assert_eq!(samples[1].at, at(119));
    assert_eq!(samples[119].at, at(2 * 3600 - 1));
    assert_eq!(samples[120].at, at(2 * 3600));
    // Compacting again changes nothing.
    assert_eq!(history.compact(now).unwrap(), CompactStats::default());
    // The downsampled region is a line without gaps at 1 s sampling.
    assert_eq!(
        segments(samples, Duration::from_secs(1), now, &Retention::default()).len(),
        1
    );
}

#[test]
fn compaction_drops_expired_samples_and_names() {
    let history = LagHistory::in_memory().unwrap();
    history.record(&tick(at(0), &["gone", "kept"])).unwrap();
    history.record(&tick(at(8 * 24 * 3600), &["kept"])).unwrap();
    let stats = history.compact(at(8 * 24 * 3600)).unwrap();
    assert_eq!(stats.expired, 2);
    let loaded = history.load(at(0)).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].0, "kept");
    // The dropped name can come back.
    history
        .record(&tick(at(8 * 24 * 3600 + 1), &["gone"]))
        .unwrap();
    assert_eq!(history.load(at(0)).unwrap().len(), 2);
}

#[test]
fn compaction_sees_older_imports_after_watermark() {
    let history = LagHistory::in_memory().unwrap();
    let day = 24 * 3600;
    history.record(&tick(at(day), &["p"])).unwrap();
    history.compact(at(day)).unwrap();
    // Reconstruction fills the earlier hours at 1 s afterwards.
    let old: Vec<LagSample> = (0..3600).map(|s| sample(at(s), 0, 10)).collect();
    assert_eq!(history.import("p", &old).unwrap(), 3600);
    let stats = history.compact(at(day)).unwrap();
    assert_eq!(stats.downsampled, 3600 - 60);
    assert_eq!(history.sample_count().unwrap(), 61);
}

#[test]
fn compaction_bounds_row_counts() {
    let dir = tempfile::tempdir().unwrap();
    let history = LagHistory::open_in(dir.path(), "bounds").unwrap();
    let names = ["a", "b", "c", "d"];
    let retention = Retention {
        full_resolution: Duration::from_secs(600),
        bucket: Duration::from_secs(60),
        keep: Duration::from_secs(3 * 3600),
    };
    // Six hours of 1 s samples, compacted every 5 minutes.
    let mut max_rows = 0;
    for chunk in 0..(6 * 12) {
        let start = chunk * 300;
        let batch: Vec<_> = (start..start + 300)
            .flat_map(|s| tick(at(s), &names))
            .collect();
        history.record(&batch).unwrap();
        history.compact_with(at(start + 300), &retention).unwrap();
        max_rows = max_rows.max(history.sample_count().unwrap());
    }
    // Per name: 600 full-resolution + (3 h − 10 min) one-per-minute (+ bucket edges).
    let bound = names.len() as u64 * (600 + 170 + 2);
    assert!(max_rows <= bound, "{max_rows} > {bound}");
    let rows = history.sample_count().unwrap();
    assert!(rows >= names.len() as u64 * (600 + 168), "{rows}");
    let loaded = history.load(at(0)).unwrap();
    let oldest = loaded[0].1[0].at;
    assert!(oldest >= at(6 * 3600 - 3 * 3600), "{oldest}");
}

#[test]
fn corrupt_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = history_path(dir.path(), "broken").unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let garbage: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    // A stale WAL next to it must not be replayed into the new file.
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    std::fs::write(&wal, b"stale wal").unwrap();

    let history = LagHistory::open_in(dir.path(), "broken").unwrap();
    history.record(&tick(at(0), &["p"])).unwrap();
    assert_eq!(history.load(at(0)).unwrap().len(), 1);
    let mut aside = path.clone().into_os_string();
    aside.push(".corrupt");
    assert_eq!(std::fs::read(&aside).unwrap(), garbage);
    drop(history);
    // The new file is healthy on the next start.
    let history = LagHistory::open_in(dir.path(), "broken").unwrap();
    assert_eq!(history.sample_count().unwrap(), 1);
}

#[test]
fn empty_file_is_a_fresh_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = history_path(dir.path(), "empty").unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"").unwrap();
    let history = LagHistory::open_in(dir.path(), "empty").unwrap();
    history.record(&tick(at(0), &["p"])).unwrap();
    assert_eq!(history.sample_count().unwrap(), 1);
}

#[test]
fn corruption_found_later_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let path = history_path(dir.path(), "pages").unwrap();
    {
        let history = LagHistory::open_in(dir.path(), "pages").unwrap();
        let batch: Vec<_> = (0..2000).flat_map(|s| tick(at(s), &["a", "b"])).collect();
        history.record(&batch).unwrap();
        history.checkpoint().unwrap();
    }
    // Keep the header page, scribble over the rest.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 16_384);
    for (i, byte) in bytes.iter_mut().enumerate().skip(4096) {
        *byte = (i % 253) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();

    let history = LagHistory::open_in(dir.path(), "pages").unwrap();
    // Whether it is noticed at open or on first use, the app keeps working.
    let _ = history.load(at(0)).unwrap();
    history.record(&tick(at(5000), &["a"])).unwrap();
    let loaded = history.load(at(0)).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].1.len(), 1);
    let mut aside = path.into_os_string();
    aside.push(".corrupt");
    assert!(Path::new(&aside).exists());
}

#[test]
fn foreign_database_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = history_path(dir.path(), "foreign").unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE samples (x TEXT); INSERT INTO samples VALUES ('hi');")
            .unwrap();
    }
    let history = LagHistory::open_in(dir.path(), "foreign").unwrap();
    history.record(&tick(at(0), &["p"])).unwrap();
    assert_eq!(history.sample_count().unwrap(), 1);
}

#[test]
fn newer_schema_is_an_error_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    {
        let history = LagHistory::open_in(dir.path(), "newer").unwrap();
        history.record(&tick(at(0), &["p"])).unwrap();
    }
    let path = history_path(dir.path(), "newer").unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let before = file_hash(&path);
    let error = LagHistory::open_in(dir.path(), "newer").unwrap_err();
    assert!(matches!(error, HistoryError::NewerSchema { .. }), "{error}");
    assert!(error.to_string().contains("schema version"));
    assert_eq!(file_hash(&path), before);
}

#[test]
fn never_touches_the_user_store_or_anything_outside_the_dir() {
    let user = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = user.path().join("store.db");
    {
        let conn = rusqlite::Connection::open(&store).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT);
             INSERT INTO events (payload) VALUES ('{}'), ('{}');
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    }
    let user_files = files_under(user.path());
    let store_hash = file_hash(&store);

    let id = store_identity(store.to_str().unwrap());
    let history = LagHistory::open_in(data.path(), &id).unwrap();
    let batch: Vec<_> = (0..4000).flat_map(|s| tick(at(s), &["p", "q"])).collect();
    history.record(&batch).unwrap();
    history.import("r", &[sample(at(1), 0, 1)]).unwrap();
    history.compact(at(4000)).unwrap();
    let _ = history.load(at(0)).unwrap();
    history.checkpoint().unwrap();
    drop(history);

    assert_eq!(file_hash(&store), store_hash, "the user's store changed");
    assert_eq!(
        files_under(user.path()),
        user_files,
        "files appeared next to the store"
    );
    for file in files_under(data.path()) {
        assert!(file.starts_with("lag-history"), "{}", file.display());
        assert!(
            file.to_string_lossy().contains(&id),
            "unexpected file {}",
            file.display()
        );
    }
}

#[test]
fn in_memory_history_works() {
    let history = LagHistory::in_memory().unwrap();
    assert!(history.path().is_none());
    history.record(&tick(at(0), &["p"])).unwrap();
    history.compact(at(0)).unwrap();
    history.checkpoint().unwrap();
    assert_eq!(history.sample_count().unwrap(), 1);
    assert!(history.size_bytes().unwrap() > 0);
}

#[test]
fn segments_split_at_gaps() {
    let retention = Retention::default();
    let interval = Duration::from_secs(1);
    let now = at(10 * 3600);
    assert!(segments(&[], interval, now, &retention).is_empty());
    // Recent: 1 s samples with a 4 s hole (> 3 × 1 s) and a 3 s step (not a gap).
    let recent: Vec<LagSample> = [0, 1, 2, 6, 7, 10, 11]
        .iter()
        .map(|&s| sample(now - TimeDelta::seconds(100 - s), 0, 1))
        .collect();
    let parts = segments(&recent, interval, now, &retention);
    let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    assert_eq!(lengths, [3, 4]);
    // Downsampled (older than an hour): one per minute is continuous, 4 minutes is a gap.
    let old: Vec<LagSample> = [0, 60, 120, 180, 420, 480]
        .iter()
        .map(|&s| sample(at(s), 0, 1))
        .collect();
    let lengths: Vec<usize> = segments(&old, interval, now, &retention)
        .iter()
        .map(|p| p.len())
        .collect();
    assert_eq!(lengths, [4, 2]);
    assert_eq!(
        max_gap(at(0), interval, now, &retention),
        Duration::from_secs(180)
    );
    assert_eq!(
        max_gap(now, Duration::from_secs(5), now, &retention),
        Duration::from_secs(15)
    );
}

#[test]
fn error_messages_name_the_problem() {
    let error = HistoryError::InvalidIdentity("../x".to_owned());
    assert!(error.to_string().contains("../x"));
    let error = HistoryError::Io(crate::own::files::FileError {
        action: "create directory",
        path: PathBuf::from("/nope"),
        source: std::io::Error::other("denied"),
    });
    assert_eq!(error.to_string(), "cannot create directory /nope: denied");
}

#[cfg(unix)]
#[test]
fn unwritable_dir_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the lag-history directory should be.
    std::fs::write(dir.path().join("lag-history"), b"").unwrap();
    let error = LagHistory::open_in(dir.path(), "x").unwrap_err();
    assert!(matches!(error, HistoryError::Io(_)), "{error}");
}

/// Measures a week of 1 s samples for 20 projections, compacted every 5 minutes as the app
/// would. `cargo test --lib --release history::tests::week -- --ignored --nocapture`.
#[test]
#[ignore = "slow: simulates a week of 1 s samples (12 million inserts)"]
fn week_of_samples_for_20_projections_size() {
    let dir = tempfile::tempdir().unwrap();
    let history = LagHistory::open_in(dir.path(), "week").unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("projection-{i:02}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let week = 7 * 24 * 3600;
    let started = Instant::now();
    let mut compact_time = Duration::ZERO;
    let mut max_size = 0;
    // Realistic magnitudes: heads in the tens of millions.
    for chunk in 0..(week / 300) {
        let start = chunk * 300;
        let batch: Vec<_> = (start..start + 300)
            .flat_map(|s| {
                tick(at(s), &name_refs)
                    .into_iter()
                    .map(move |(name, mut sample)| {
                        sample.head += 20_000_000;
                        sample.position += 20_000_000;
                        sample.lag_seconds = (s % 97) as f64 * 0.137;
                        (name, sample)
                    })
            })
            .collect();
        history.record(&batch).unwrap();
        let compact_started = Instant::now();
        history.compact(at(start + 300)).unwrap();
        compact_time += compact_started.elapsed();
        if chunk % 12 == 0 {
            history.checkpoint().unwrap();
            max_size = max_size.max(std::fs::metadata(history.path().unwrap()).unwrap().len());
        }
    }
    history.checkpoint().unwrap();
    let rows = history.sample_count().unwrap();
    let size = std::fs::metadata(history.path().unwrap()).unwrap().len();
    let load_started = Instant::now();
    let loaded = history.load(at(0)).unwrap();
    let load_time = load_started.elapsed();
    eprintln!(
        "week, 20 projections, 1 s: {rows} rows, file {size} bytes ({:.1} MB), peak {max_size} \
         bytes, {} compactions in {compact_time:?} total, simulated in {:?}, full load {load_time:?}",
        size as f64 / 1e6,
        week / 300,
        started.elapsed()
    );
    assert_eq!(loaded.len(), 20);
    assert!(rows <= 20 * (3600 + 7 * 24 * 60 + 10));
    assert!(size < 16_000_000);
}

#[test]
fn behind_head_seconds_round_trip_and_unknown_stays_unknown() {
    let history = LagHistory::in_memory().unwrap();
    let with_head = LagSample::compute_with_head(
        at(10),
        1,
        5,
        Some(at(-100)),
        Some(at(-40) + TimeDelta::milliseconds(250)),
    );
    assert!((with_head.behind_head_seconds - 60.25).abs() < 1e-9);
    let unknown = LagSample::compute(at(11), 1, 5, Some(at(-100)));
    history
        .record(&[("p".to_owned(), with_head), ("p".to_owned(), unknown)])
        .unwrap();
    let loaded = history.load(at(0)).unwrap();
    assert_eq!(loaded[0].1[0].behind_head_seconds, 60.25);
    assert_eq!(loaded[0].1[0].lag_seconds, with_head.lag_seconds);
    assert!(loaded[0].1[1].behind_head_seconds.is_nan());
}

#[test]
fn a_schema_1_history_gains_the_behind_head_column_and_keeps_its_samples() {
    let dir = tempfile::tempdir().unwrap();
    let id = store_identity("/some/old.db");
    let path = history_path(dir.path(), &id).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        // The file as schema 1 wrote it.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA auto_vacuum = INCREMENTAL;
             CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
             CREATE TABLE samples (
                 name_id INTEGER NOT NULL, at_ms INTEGER NOT NULL, position INTEGER NOT NULL,
                 head INTEGER NOT NULL, lag_events INTEGER NOT NULL, lag_ms INTEGER NOT NULL,
                 PRIMARY KEY (name_id, at_ms)) WITHOUT ROWID;
             CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
             INSERT INTO names VALUES (1, 'p');",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO samples VALUES (1, ?1, 3, 8, 5, 2000)",
            [at(5).timestamp_millis()],
        )
        .unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let history = LagHistory::open_in(dir.path(), &id).unwrap();
    let loaded = history.load(at(0)).unwrap();
    assert_eq!(loaded[0].1.len(), 1);
    assert_eq!(loaded[0].1[0].lag_events, 5);
    assert_eq!(loaded[0].1[0].lag_seconds, 2.0);
    assert!(loaded[0].1[0].behind_head_seconds.is_nan());
    history
        .record(&[(
            "p".to_owned(),
            LagSample::compute_with_head(at(6), 3, 8, Some(at(0)), Some(at(4))),
        )])
        .unwrap();
    drop(history);
    let history = LagHistory::open_in(dir.path(), &id).unwrap();
    let loaded = history.load(at(0)).unwrap();
    assert_eq!(loaded[0].1[1].behind_head_seconds, 4.0);
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}
