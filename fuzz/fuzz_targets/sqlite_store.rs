//! SQLite stores on small mutated database files: the bytes are written to a temp file,
//! opened with the SQLite source (read-only), the layout detected, the store info, a page
//! of the stream list, a page of the log both ways, a stream, its snapshots and the
//! checkpoints read. Nothing may panic, and the file must be left exactly as written with
//! no companion file created beside it (a WAL database without `-wal` is read immutable).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use eventscope::core::EventSource as _;
use eventscope::core::query::{Direction, LogQuery, StreamQuery};
use eventscope::source::sqlite::{SqliteOptions, SqliteSource};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("eventscope-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("cache")).expect("temp dir");
        // The summary of big stores and other own files go here, never to the user's dirs.
        // SAFETY: set once, on the first input, before the source starts any thread.
        unsafe {
            std::env::set_var("XDG_CACHE_HOME", dir.join("cache"));
            std::env::set_var("XDG_DATA_HOME", dir.join("cache"));
        }
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let path = dir().join("store.db");
    std::fs::write(&path, data).expect("write");
    if let Ok(source) = SqliteSource::open(&path, &SqliteOptions::default()) {
        let _ = source.info();
        let _ = source.head();
        let streams = source
            .list_streams(&StreamQuery {
                limit: 20,
                ..StreamQuery::default()
            })
            .unwrap_or_default();
        let _ = source.categories();
        for direction in [Direction::Forwards, Direction::Backwards] {
            if let Ok(events) = source.read_log(&LogQuery {
                limit: 50,
                direction,
                ..LogQuery::default()
            }) {
                for event in events {
                    let _ = event.to_json_line(false);
                }
            }
        }
        if let Some(stream) = streams.first() {
            let _ = source.stream(&stream.stream_id);
            let _ = source.read_stream(&stream.stream_id, None, Direction::Forwards, 50);
            let _ = source.read_stream(&stream.stream_id, Some(2), Direction::Backwards, 50);
            let _ = source.snapshots(&stream.stream_id);
        }
        let _ = source.event_types();
        let _ = source.checkpoints();
        drop(source);
    }
    assert_eq!(
        std::fs::read(&path).expect("read back"),
        data,
        "the store was changed"
    );
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut companion = path.clone().into_os_string();
        companion.push(suffix);
        assert!(
            !PathBuf::from(&companion).exists(),
            "a {suffix} file was created beside the store"
        );
    }
});
