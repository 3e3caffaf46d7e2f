//! The full-text index (`search::index`): an indexed search finds exactly what a scan of
//! every event finds, on the real libraries' stores and on tricky stored text; the index
//! catches up while a writer appends, is rebuilt when damaged, deleted or built for another
//! store, and never touches the store; `eventscope search --index`.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use eventscope::core::EventSource;
use eventscope::core::event::Event;
use eventscope::core::query::LogQuery;
use eventscope::search::Needle;
use eventscope::search::index::SearchIndex;
use eventscope::search::scan::{Scan, ScanEnd, scan, scan_indexed};

use crate::common::{
    all_events, demo_store, eventscope, fixture, json_lines, open, store_fingerprint,
};
use crate::search::{brute_force, sample_values, tricky_store};

fn identity(path: &Path) -> String {
    eventscope::history::store_identity(path.to_str().unwrap())
}

/// Positions a search finds for `text`, newest first, with the index when given (and the
/// needle can use it), and how the search ended.
fn search(
    source: &dyn EventSource,
    index: Option<&SearchIndex>,
    text: &str,
) -> (Vec<u64>, ScanEnd) {
    let needle = Needle::new(text).unwrap();
    let matcher = |e: &Event| {
        let m = needle.matches(e);
        (!m.is_empty()).then_some(m)
    };
    let search = Scan {
        scope: LogQuery::default(),
        prefilter: needle.prefilter(),
        matcher: &matcher,
    };
    let mut found = Vec::new();
    let collect = |hit: eventscope::search::scan::Hit| {
        found.push(hit.event.global_position);
        ControlFlow::Continue(())
    };
    let query = needle.fts_query();
    let end = match (index, query.as_deref()) {
        (Some(index), Some(query)) => scan_indexed(source, index, query, &search, collect),
        _ => scan(source, &search, collect),
    }
    .unwrap();
    assert!(end.complete, "{text:?}");
    (found, end)
}

fn built(source: &dyn EventSource, cache: &Path, path: &Path) -> SearchIndex {
    let index = SearchIndex::open_in(cache, &identity(path), "test").unwrap();
    let caught = index.catch_up(source, u64::MAX, &mut |_, _| {}).unwrap();
    assert!(caught.complete);
    assert_eq!(caught.indexed_through, source.head().unwrap());
    index
}

#[test]
fn indexed_search_finds_exactly_what_checking_every_event_finds() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (demo, _) = demo_store(dir.path(), 3000, 7);
    let tricky = dir.path().join("tricky.db");
    tricky_store(&tricky);
    let stores = [
        fixture("eventsourcing/es_sqlite.db"),
        fixture("eventsourcing/es_sqlalchemy.db"),
        fixture("emmett/emmett.db"),
        fixture("guide/guide_first.db"),
        demo,
        tricky,
    ];
    // Texts the tricky store hides behind escapes, typed values, numbers, blobs; Unicode
    // (ß is searched by scanning: its folding is one of the unsure ones).
    let tricky_texts = [
        "ærøskøbing",
        "ÆRØ",
        "STRAßE",
        "ref-77",
        "\"REF-77\"",
        "ana@example.com",
        "7B2E4D8A9B0E",
        "12.5",
        "880042",
        "shop.example/p/sku-9",
        "zxq-5",
    ];
    let mut used_the_index = 0;
    for path in &stores {
        let before = store_fingerprint(path);
        let source = open(path);
        let events = all_events(source.as_ref());
        let index = built(source.as_ref(), cache.path(), path);
        let mut texts = sample_values(&events);
        texts.extend(tricky_texts.iter().map(|t| (*t).to_owned()));
        // Ids of every kind, whole and in part.
        let last = events.last().unwrap();
        texts.push(last.stream_id.clone());
        texts.extend(last.event_id.clone());
        texts.extend(last.correlation_id.clone());
        texts.extend(
            last.event_id
                .as_deref()
                .map(|id| id[..id.len().min(8)].to_owned()),
        );
        for text in &texts {
            let (scanned, _) = search(source.as_ref(), None, text);
            let (indexed, end) = search(source.as_ref(), Some(&index), text);
            assert_eq!(indexed, scanned, "{}: {text:?}", path.display());
            assert_eq!(end.index_failed, None);
            if !text.contains(['"', '\\']) {
                assert_eq!(scanned, brute_force(&events, text), "{text:?}");
            }
            if Needle::new(text).unwrap().fts_query().is_some() {
                used_the_index += 1;
                // Any letter case.
                let (upper, _) = search(source.as_ref(), Some(&index), &text.to_uppercase());
                let (upper_scan, _) = search(source.as_ref(), None, &text.to_uppercase());
                assert_eq!(upper, upper_scan, "{text:?} upper-cased");
            }
        }
        assert!(
            search(source.as_ref(), Some(&index), "no-such-text-anywhere-42")
                .0
                .is_empty()
        );
        drop(source);
        assert_eq!(store_fingerprint(path), before, "{}", path.display());
    }
    assert!(
        used_the_index > 40,
        "the index answered {used_the_index} searches"
    );
}

#[test]
fn a_needle_the_index_cannot_answer_is_scanned() {
    for text in ["ab", "Straße", "ΟΔΟΣ", "İstanbul"] {
        assert_eq!(Needle::new(text).unwrap().fts_query(), None, "{text:?}");
    }
    let query = Needle::new("ana@example.com").unwrap().fts_query().unwrap();
    // Trigrams covering the needle, quoted: every third and the last.
    assert_eq!(query, r#""ana" AND "@ex" AND "amp" AND "le." AND "com""#);
    assert_eq!(
        Needle::new(r#"say "hi""#).unwrap().fts_query().unwrap(),
        r#""say" AND " ""h" AND "hi""""#
    );
}

/// Overwrites the pages of one table of a SQLite file (found with `dbstat`) with garbage.
fn scribble_pages_of(file: &Path, table: &str) -> usize {
    let (page_size, pages): (usize, Vec<usize>) = {
        let conn = rusqlite::Connection::open(file).unwrap();
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE").ok();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        let page_size = conn
            .query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
            .unwrap();
        let mut statement = conn
            .prepare("SELECT pageno FROM dbstat WHERE name = ?1")
            .unwrap();
        let pages = statement
            .query_map([table], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|p| usize::try_from(p.unwrap()).unwrap())
            .collect();
        (usize::try_from(page_size).unwrap(), pages)
    };
    let mut bytes = std::fs::read(file).unwrap();
    for page in &pages {
        let start = (page - 1) * page_size;
        for (i, byte) in bytes[start..start + page_size].iter_mut().enumerate() {
            *byte = (i % 251) as u8;
        }
    }
    std::fs::write(file, &bytes).unwrap();
    pages.len()
}

#[test]
fn the_index_catches_up_with_a_writer_and_is_rebuilt_when_damaged_deleted_or_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = demo_store(dir.path(), 5_000, 7).0;
    let cache = tempfile::tempdir().unwrap();
    let before = store_fingerprint(&path);
    let source = open(&path);
    let head = source.head().unwrap();
    let index = SearchIndex::open_in(cache.path(), &identity(&path), "test").unwrap();
    assert!(index.path().starts_with(cache.path()));
    // Built in chunks, resumable; a search meanwhile scans what is not indexed yet.
    let first = index
        .catch_up(source.as_ref(), 1_000, &mut |_, _| {})
        .unwrap();
    assert!(!first.complete && first.indexed_through < head);
    let events = all_events(source.as_ref());
    let value = sample_values(&events).into_iter().next().unwrap();
    let expected = search(source.as_ref(), None, &value).0;
    assert!(!expected.is_empty());
    assert_eq!(search(source.as_ref(), Some(&index), &value).0, expected);
    let rest = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert!(rest.complete);
    assert_eq!(index.status().unwrap().events, head);
    assert!(index.status().unwrap().text_bytes > 0);
    assert_eq!(search(source.as_ref(), Some(&index), &value).0, expected);
    drop(source);
    assert_eq!(store_fingerprint(&path), before, "the store is untouched");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("search")),
        "nothing written beside the store"
    );

    // The live writer appends: only the new events are indexed, and they are found.
    let stop = AtomicBool::new(false);
    eventscope::demo::run_live(
        &path,
        &eventscope::demo::LiveOptions {
            seed: 3,
            tick: std::time::Duration::from_millis(1),
            max_ticks: Some(40),
        },
        &stop,
    )
    .unwrap();
    let source = open(&path);
    let new_head = source.head().unwrap();
    assert!(new_head > head);
    let caught = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert_eq!((caught.added, caught.restarted), (new_head - head, None));
    let newest = eventscope::trace::index::read_at(source.as_ref(), new_head)
        .unwrap()
        .unwrap();
    let id = newest.event_id.clone().unwrap();
    assert_eq!(search(source.as_ref(), Some(&index), &id).0, vec![new_head]);

    // Damaged pages of the index: the search notices, scans instead (same hits), and the
    // next catch-up rebuilds the file.
    let file = index.path().to_path_buf();
    drop(index);
    assert!(scribble_pages_of(&file, "fts_data") > 0);
    let index = SearchIndex::open_in(cache.path(), &identity(&path), "test").unwrap();
    let want = search(source.as_ref(), None, &value).0;
    let (got, end) = search(source.as_ref(), Some(&index), &value);
    assert_eq!(got, want);
    assert!(end.index_failed.is_some(), "damage noticed");
    assert!(index.is_damaged());
    let rebuilt = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert!(rebuilt.restarted.unwrap().contains("damaged"));
    let (again, end) = search(source.as_ref(), Some(&index), &value);
    assert_eq!((again, end.index_failed), (want.clone(), None));
    drop(index);

    // A file that is not an index at all: replaced on open.
    std::fs::write(&file, vec![0x5a; 64 * 1024]).unwrap();
    let index = SearchIndex::open_in(cache.path(), &identity(&path), "test").unwrap();
    assert!(index.replaced.is_some());
    assert_eq!(index.status().unwrap().indexed_through, 0);
    index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();

    // Deleted while open: noticed on the next catch-up and rebuilt.
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", file.display())).ok();
    }
    let again = index
        .catch_up(source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert!(again.restarted.is_some());
    assert_eq!(again.indexed_through, new_head);
    assert_eq!(search(source.as_ref(), Some(&index), &value).0, want);

    // Another store under the same identity (the file was replaced): starts over.
    let other = tempfile::tempdir().unwrap();
    let (other_path, _) = demo_store(other.path(), 2_000, 99);
    let other_source = open(&other_path);
    let switched = index
        .catch_up(other_source.as_ref(), u64::MAX, &mut |_, _| {})
        .unwrap();
    assert!(switched.restarted.is_some());
    assert_eq!(switched.indexed_through, other_source.head().unwrap());
    let other_events = all_events(other_source.as_ref());
    let other_value = sample_values(&other_events).into_iter().next().unwrap();
    assert_eq!(
        search(other_source.as_ref(), Some(&index), &other_value).0,
        search(other_source.as_ref(), None, &other_value).0
    );
}

#[test]
fn cli_search_with_the_index_prints_what_the_scan_prints() {
    let path = fixture("eventsourcing/es_sqlite.db");
    let before = store_fingerprint(&path);
    let cache = tempfile::tempdir().unwrap();
    let source = open(&path);
    let value = sample_values(&all_events(source.as_ref()))
        .into_iter()
        .next()
        .unwrap();
    let store = path.to_str().unwrap();
    let dir = cache.path().to_str().unwrap();
    let scanned = eventscope(&["search", store, &value, "--json", "--limit", "all"]);
    let first = eventscope(&[
        "search",
        store,
        &value,
        "--json",
        "--limit",
        "all",
        "--cache-dir",
        dir,
    ]);
    assert!(first.status.success());
    let note = String::from_utf8_lossy(&first.stderr);
    assert!(
        note.contains("indexed") && note.contains("events"),
        "{note}"
    );
    assert_eq!(json_lines(&first), json_lines(&scanned));
    assert!(!json_lines(&first).is_empty());
    // The second run answers from the index: nothing to add.
    let second = eventscope(&[
        "search",
        store,
        &value,
        "--json",
        "--limit",
        "all",
        "--index",
        "--cache-dir",
        dir,
    ]);
    assert!(!String::from_utf8_lossy(&second.stderr).contains("indexed"));
    assert_eq!(json_lines(&second), json_lines(&scanned));
    // A short needle says it is scanned.
    let short = eventscope(&["search", store, "ab", "--index", "--cache-dir", dir]);
    assert!(String::from_utf8_lossy(&short.stderr).contains("cannot answer"));
    assert_eq!(store_fingerprint(&path), before);
}
