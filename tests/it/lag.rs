//! Projection lag on the real libraries' stores, against what the libraries report.

use std::sync::Arc;

use chrono::Utc;
use eventscope::core::EventSource;
use eventscope::source::lag::{reconstruct_lag, sample_lag};

use crate::common::{expected, fixture, open};

fn stored_timestamp(db: &std::path::Path, sql: &str) -> chrono::DateTime<Utc> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let text: String = conn.query_row(sql, [], |row| row.get(0)).unwrap();
    eventscope::core::time::parse_timestamp(&text).unwrap()
}

#[test]
fn eventsourcing_downstream_lag_equals_library_report() {
    let upstream_path = fixture("eventsourcing/es_sqlite.db");
    let upstream = open(&upstream_path);
    let downstream: Arc<dyn EventSource> = open(&fixture("eventsourcing/es_sqlite_downstream.db"));
    let expected = expected("eventsourcing/es_sqlite_downstream.expected.json");
    let tracking = &expected["tracking"][0];
    let now = Utc::now();
    let samples = sample_lag(upstream.as_ref(), &[downstream], now).unwrap();
    assert_eq!(samples.len(), 1);
    let (name, sample) = &samples[0];
    assert!(name.contains("BankApp"), "{name}");
    assert_eq!(
        sample.position,
        tracking["max_tracking_id"].as_u64().unwrap()
    );
    assert_eq!(
        sample.head,
        tracking["leader_max_notification_id"].as_u64().unwrap()
    );
    assert_eq!(sample.lag_events, tracking["lag"].as_u64().unwrap());
    // Seconds behind: the age of notification 167, the first one not processed, read here
    // straight from the library's stored state.
    let first_unprocessed = stored_timestamp(
        &upstream_path,
        "SELECT json_extract(CAST(state AS TEXT), '$.timestamp._data_') FROM stored_events WHERE rowid = 167",
    );
    let want = (now - first_unprocessed).num_milliseconds() as f64 / 1000.0;
    assert!(
        (sample.lag_seconds - want).abs() < 0.002,
        "{} vs {want}",
        sample.lag_seconds
    );
    // Behind the head in event time: the head notification's time minus that one's, which
    // does not depend on when we look.
    let head_time = stored_timestamp(
        &upstream_path,
        &format!(
            "SELECT json_extract(CAST(state AS TEXT), '$.timestamp._data_') FROM stored_events WHERE rowid = {}",
            sample.head
        ),
    );
    let behind = (head_time - first_unprocessed).num_milliseconds() as f64 / 1000.0;
    assert!(behind > 0.0);
    assert!(
        (sample.behind_head_seconds - behind).abs() < 0.002,
        "{} vs {behind}",
        sample.behind_head_seconds
    );
    let later = sample_lag(
        upstream.as_ref(),
        &[open(&fixture("eventsourcing/es_sqlite_downstream.db"))],
        now + chrono::TimeDelta::days(365),
    )
    .unwrap();
    assert_eq!(later[0].1.behind_head_seconds, sample.behind_head_seconds);
    assert!(later[0].1.lag_seconds > sample.lag_seconds + 364.0 * 86_400.0);
}

#[test]
fn emmett_subscription_lag_equals_library_report() {
    let path = fixture("emmett/emmett.db");
    let source = open(&path);
    let expected = expected("emmett/emmett.expected.json");
    let head = expected["head_global_position"].as_u64().unwrap();
    let now = Utc::now();
    let samples = sample_lag(source.as_ref(), &[], now).unwrap();
    for want in expected["subscription_checkpoints"].as_array().unwrap() {
        let id = want["subscription_id"].as_str().unwrap();
        let position = want["position"].as_u64().unwrap();
        let (_, sample) = samples
            .iter()
            .find(|(name, _)| name.starts_with(id))
            .unwrap();
        assert_eq!(sample.position, position);
        assert_eq!(sample.head, head);
        assert_eq!(sample.lag_events, head - position, "{id}");
        if position < head {
            let created = stored_timestamp(
                &path,
                &format!(
                    "SELECT created FROM emt_messages WHERE global_position = {}",
                    position + 1
                ),
            );
            let want = (now - created).num_milliseconds() as f64 / 1000.0;
            assert!((sample.lag_seconds - want).abs() < 0.002, "{id}");
            let head_created = stored_timestamp(
                &path,
                &format!("SELECT created FROM emt_messages WHERE global_position = {head}"),
            );
            let behind = (head_created - created).num_milliseconds() as f64 / 1000.0;
            assert!(
                (sample.behind_head_seconds - behind).abs() < 0.002,
                "{id}: {} vs {behind}",
                sample.behind_head_seconds
            );
        } else {
            assert_eq!(sample.lag_seconds, 0.0, "{id} is caught up");
            assert_eq!(sample.behind_head_seconds, 0.0, "{id} is caught up");
        }
    }
}

#[test]
fn demo_history_reconstructs_past_lag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    eventscope::demo::write_demo(
        &path,
        &eventscope::demo::DemoOptions {
            events: 20_000,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    let source = open(&path);
    let past = reconstruct_lag(source.as_ref(), None, 100_000).unwrap();
    let history = source.checkpoint_history(None, 100_000).unwrap();
    assert_eq!(past.len(), history.len());
    for ((name, sample), row) in past.iter().zip(&history) {
        assert_eq!(name, &row.name);
        assert_eq!(sample.position, row.position);
        assert!(sample.head >= sample.position || sample.lag_events == 0);
        // The head then is the last event recorded at or before the sample time.
        let at_head = source
            .read_log(&eventscope::core::LogQuery {
                from_position: Some(sample.head),
                limit: 2,
                ..Default::default()
            })
            .unwrap();
        assert!(at_head[0].recorded_at.unwrap() <= sample.at);
        if let Some(next) = at_head.get(1) {
            assert!(next.recorded_at.unwrap() > sample.at);
        }
        // Behind the head then: the head event's time minus the first unprocessed one's.
        if sample.lag_events > 0 {
            let first = source
                .read_log(&eventscope::core::LogQuery {
                    from_position: Some(sample.position + 1),
                    limit: 1,
                    ..Default::default()
                })
                .unwrap()[0]
                .recorded_at
                .unwrap();
            let want = ((at_head[0].recorded_at.unwrap() - first)
                .num_milliseconds()
                .max(0) as f64)
                / 1000.0;
            assert!(
                (sample.behind_head_seconds - want).abs() < 0.002,
                "{} vs {want}",
                sample.behind_head_seconds
            );
            assert!(sample.behind_head_seconds <= sample.lag_seconds + 0.002);
        } else {
            assert_eq!(sample.behind_head_seconds, 0.0);
        }
    }
    // Heads grow over time.
    let heads: Vec<u64> = past
        .iter()
        .filter(|(n, _)| n == "order-history")
        .map(|(_, s)| s.head)
        .collect();
    assert!(heads.windows(2).all(|w| w[0] <= w[1]));
    assert!(heads.len() > 5);
}

#[test]
fn lag_cli_json() {
    let store = fixture("emmett/emmett.db");
    let lines = crate::common::json_lines(&crate::common::eventscope(&[
        "lag",
        store.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(lines.len(), 3);
    for line in &lines {
        // Emmett's processors follow the whole log: no category.
        assert!(line["category"].is_null(), "{line}");
        for key in [
            "name",
            "category",
            "position",
            "head",
            "lag_events",
            "lag_seconds",
            "behind_head_seconds",
            "status",
        ] {
            assert!(line.get(key).is_some(), "{key} in {line}");
        }
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        let at = |k: &str| keys.iter().position(|key| *key == k).unwrap();
        assert_eq!(at("behind_head_seconds"), at("lag_seconds") + 1, "{line}");
        if line["lag_events"].as_u64().unwrap() > 0 {
            assert!(line["behind_head_seconds"].as_f64().unwrap() >= 0.0);
            assert!(
                line["behind_head_seconds"].as_f64().unwrap()
                    <= line["lag_seconds"].as_f64().unwrap()
            );
        }
    }
    let table = crate::common::stdout_of(&crate::common::eventscope(&[
        "lag",
        store.to_str().unwrap(),
    ]));
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("age (s)") && header.contains("behind head (s)"),
        "{table}"
    );
    let caught_up = lines
        .iter()
        .find(|l| l["name"] == "shopping_cart_summary")
        .unwrap();
    assert_eq!(caught_up["status"], "caught up");
    assert_eq!(caught_up["lag_events"], 0);
}
