//! The demo store in the design layout, written by `eventscope demo`, read back.

use std::process::Command;

use eventscope::core::{Direction, LogQuery, StreamQuery};

use crate::common::open;

#[test]
fn demo_store_reads_back_through_the_design_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    let output = Command::new(env!("CARGO_BIN_EXE_eventscope"))
        .args([
            "demo",
            "--out",
            path.to_str().unwrap(),
            "--events",
            "5000",
            "--seed",
            "7",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let summary = eventscope::demo::write_demo(
        &dir.path().join("again.db"),
        &eventscope::demo::DemoOptions {
            events: 5000,
            seed: 7,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    let source = open(&path);
    let info = source.info().unwrap();
    assert_eq!(info.layout, "design");
    assert_eq!(info.event_count, Some(5000));
    assert_eq!(info.head_position, summary.head);
    assert_eq!(info.stream_count, summary.streams);
    assert_eq!(info.snapshot_count, summary.snapshots);
    assert!(
        info.checkpoint_names.len() >= 3,
        "{:?}",
        info.checkpoint_names
    );

    // Every stream's versions are contiguous from 1, in global order.
    let streams = source
        .list_streams(&StreamQuery {
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    for stream in &streams {
        let events = source
            .read_stream(&stream.stream_id, None, Direction::Forwards, 10_000)
            .unwrap();
        assert_eq!(events.len() as u64, stream.event_count);
        assert!(
            events
                .iter()
                .enumerate()
                .all(|(i, e)| e.stream_version == i as u64 + 1)
        );
        assert!(
            events
                .windows(2)
                .all(|w| w[0].global_position < w[1].global_position)
        );
    }
    // Order flows carry correlation and causation ids; OrderPlaced has two schema versions.
    let placed = source
        .read_log(&LogQuery {
            event_types: vec!["OrderPlaced".into()],
            limit: 10_000,
            ..Default::default()
        })
        .unwrap();
    assert!(
        placed
            .iter()
            .all(|e| e.correlation_id.is_some() && e.causation_id.is_some())
    );
    let versions: std::collections::BTreeSet<_> =
        placed.iter().filter_map(|e| e.schema_version).collect();
    assert_eq!(versions.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    // Snapshots exist for the hot account.
    let snapshots = source.snapshots("account-0001").unwrap();
    assert!(!snapshots.is_empty());
    assert!(snapshots.iter().all(|s| s.version % 100 == 0));
    // Checkpoints lag the head.
    let head = source.head().unwrap();
    assert!(
        source
            .checkpoints()
            .unwrap()
            .iter()
            .all(|c| c.position <= head)
    );
}
