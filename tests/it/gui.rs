//! The desktop app driven through its labels with egui_kittest (no display, no GPU).

use std::time::Duration;

use egui_kittest::kittest::{NodeT as _, Queryable as _};
use eventscope::app::Startup;
use eventscope::core::Direction;

use crate::kit::{AppHarness, harness, has_label, wait_until};

#[test]
fn browse_the_demo_store() {
    let dir = tempfile::tempdir().unwrap();
    let (path, summary) = crate::common::demo_store(dir.path(), 5_000, 11);
    let source = eventscope::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
    let mut h = harness(Startup::Store(path.display().to_string()));

    // Open: the stream list fills and counts every stream.
    wait_until(&mut h, "the stream list", |h| has_label(h, "account-0001"));
    let count = format!("{} streams", eventscope::ui::thousands(summary.streams));
    wait_until(&mut h, "the stream count", |h| has_label(h, &count));
    assert!(has_label(
        &h,
        "Select a stream on the left to see its events"
    ));

    // Filter as you type.
    h.get_by_label("Filter").focus();
    h.get_by_label("Filter").type_text("account-0001");
    wait_until(&mut h, "the filtered list", |h| {
        h.state().streams.list.rows.total == Some(1)
    });
    assert!(has_label(&h, "1 stream"));
    assert!(!has_label(&h, "account-0002"));

    // Open a stream.
    h.get_all_by_label("account-0001").next().unwrap().click();
    wait_until(&mut h, "the stream's events", |h| {
        h.state().streams.view.info.is_some() && h.state().streams.view.rows.row(0).is_some()
    });
    let info = source.stream("account-0001").unwrap().unwrap();
    assert!(has_label(
        &h,
        &format!("{} events", eventscope::ui::thousands(info.event_count))
    ));
    assert!(has_label(&h, "AccountOpened"), "the first event is shown");

    // Jump to a version: the event is selected and inspected.
    h.get_by_label("Go to").focus();
    h.get_by_label("Go to").type_text("37");
    h.get_by_label("Go").click();
    wait_until(&mut h, "version 37", |h| {
        h.state()
            .inspector
            .view
            .event
            .as_ref()
            .is_some_and(|e| e.stream_version == 37)
    });
    let v37 = source
        .read_stream("account-0001", Some(37), Direction::Forwards, 1)
        .unwrap()
        .remove(0);
    assert_eq!(h.state().streams.view.selected_version, Some(37));
    assert!(has_label(
        &h,
        &format!("#{} {}", v37.global_position, v37.event_type)
    ));

    // A version that does not exist says so.
    h.get_by_label("Go to").focus();
    h.get_by_label("Go to").type_text("0000");
    h.get_by_label("Go").click();
    wait_until(&mut h, "the go-to message", |h| {
        h.state().streams.view.goto_message.is_some()
    });
    assert!(h.query_by_label_contains("no version 370000").is_some());

    // Arrow keys move the selection.
    h.key_press(egui::Key::ArrowDown);
    wait_until(&mut h, "version 38", |h| {
        h.state()
            .inspector
            .view
            .event
            .as_ref()
            .is_some_and(|e| e.stream_version == 38)
    });

    // Open an event by clicking its row (its position cell is unique).
    let v40 = source
        .read_stream("account-0001", Some(40), Direction::Forwards, 1)
        .unwrap()
        .remove(0);
    h.get_by_label(&v40.global_position.to_string()).click();
    wait_until(&mut h, "version 40", |h| {
        h.state()
            .inspector
            .view
            .event
            .as_ref()
            .is_some_and(|e| e.stream_version == 40)
    });
    assert!(has_label(
        &h,
        &format!("#{} {}", v40.global_position, v40.event_type)
    ));
    // The inspector lays the payload out on a worker: wait for it, as for the event.
    wait_until(&mut h, "the payload tree shows the payload's keys", |h| {
        has_label(h, "amountCents")
    });

    // Switch to the log: it shows the newest events, ending at the head.
    h.get_by_label("Log").click();
    wait_until(&mut h, "the log", |h| !h.state().log.view.events.is_empty());
    let head = source.head().unwrap();
    assert_eq!(
        h.state().log.view.events.last().unwrap().global_position,
        head
    );
    h.run_steps(3);
    assert!(
        has_label(&h, &head.to_string()),
        "the log opens scrolled to its newest event"
    );

    // Filter the log by event type.
    h.get_by_label("all types").click();
    wait_until(&mut h, "the type list", |h| has_label(h, "OrderPlaced"));
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "OrderPlaced")
        .click();
    wait_until(&mut h, "the filtered log", |h| {
        let log = &h.state().log.view;
        !log.events.is_empty()
            && log.types.len() == 1
            && !log.loading.1
            && log.events.iter().all(|e| e.event_type == "OrderPlaced")
    });
    let placed = source
        .read_log(&eventscope::core::LogQuery {
            event_types: vec!["OrderPlaced".into()],
            ..eventscope::core::LogQuery::newest(500)
        })
        .unwrap();
    assert_eq!(h.state().log.view.events.len(), placed.len());
    h.run_steps(2);
    let labels: Vec<String> = h
        .query_all_by_label_contains("type")
        .map(|n| format!("{:?}", n.accesskit_node().label()))
        .collect();
    assert!(has_label(&h, "1 type"), "{labels:?}");
}

#[test]
fn empty_filter_and_broken_file_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 5_000, 11);
    let mut h = harness(Startup::Store(path.display().to_string()));
    wait_until(&mut h, "the stream list", |h| has_label(h, "account-0001"));
    h.get_by_label("Filter").focus();
    h.get_by_label("Filter").type_text("no-such-stream");
    wait_until(&mut h, "the empty state", |h| {
        has_label(h, "No stream matches \"no-such-stream\"")
    });

    // A broken file: the connect window shows the error and what was tried; the store
    // that was open stays usable underneath.
    let broken = dir.path().join("broken.db");
    std::fs::write(&broken, "this is not a database").unwrap();
    h.state_mut()
        .apply(eventscope::app::messages::AppCommand::Open(
            broken.display().to_string(),
        ));
    wait_until(&mut h, "the error", |h| {
        h.query_by_label_contains("not a SQLite database").is_some()
    });
    assert!(h.query_by_label_contains("tried: opening").is_some());
    assert!(has_label(&h, "Could not open the store"));
}

#[test]
fn connect_screen_without_a_store() {
    let mut h = harness(Startup::Connect);
    h.run_steps(3);
    assert!(has_label(&h, "Open an event store"));
    assert!(has_label(&h, "Nothing opened yet"));
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    h.get_by_label("Path").focus();
    h.get_by_label("Path").type_text(missing.to_str().unwrap());
    h.get_by_label("Open").click();
    wait_until(&mut h, "the error", |h| {
        h.query_by_label_contains("no such file").is_some()
    });
    assert!(!missing.exists(), "opening must not create the file");
    // A gRPC URL is accepted by the field; with no server there, the error says so.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    h.get_by_label("URL").focus();
    h.get_by_label("URL")
        .type_text(&format!("kurrentdb://127.0.0.1:{free}?tls=false"));
    h.get_by_label("Connect").click();
    wait_until(&mut h, "the gRPC error", |h| {
        h.query_by_label_contains("KurrentDB read").is_some()
    });
    let error = h.state().connect.error.clone().unwrap_or_default();
    assert!(error.contains(&format!("127.0.0.1:{free}")), "{error}");
}

#[test]
fn scrolling_the_log_up_loads_older_events() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 5_000, 11);
    let mut h = harness(Startup::Store(path.display().to_string()));
    h.state_mut()
        .apply(eventscope::app::messages::AppCommand::SetView(
            eventscope::app::state::View::Log,
        ));
    wait_until(&mut h, "the log", |h| {
        h.state().log.view.events.len() == 500
    });
    let newest_first = h.state().log.view.events[0].global_position;
    h.hover_at(egui::pos2(500.0, 500.0));
    for _ in 0..200 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 2000.0),
            phase: egui::TouchPhase::Move,
            modifiers: egui::Modifiers::NONE,
            source: egui::MouseWheelSource::Wheel,
        });
        h.step();
        std::thread::sleep(Duration::from_millis(5));
        if h.state().log.view.events.len() > 500 {
            break;
        }
    }
    wait_until(&mut h, "older events", |h| {
        h.state().log.view.events.len() > 500
    });
    let log = &h.state().log.view;
    assert!(log.events[0].global_position < newest_first);
    assert!(
        log.events
            .windows(2)
            .all(|w| w[0].global_position < w[1].global_position)
    );
}

#[test]
fn log_stream_prefix_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 5_000, 11);
    let mut h = harness(Startup::Store(path.display().to_string()));
    wait_until(&mut h, "the store", |h| h.state().store.is_some());
    h.get_by_label("Log").click();
    wait_until(&mut h, "the log", |h| !h.state().log.view.events.is_empty());
    h.get_by_label("Stream prefix").focus();
    h.get_by_label("Stream prefix").type_text("payment-");
    h.get_by_label("Apply").click();
    wait_until(&mut h, "payments only", |h| {
        let log = &h.state().log.view;
        !log.loading.1
            && !log.events.is_empty()
            && log
                .events
                .iter()
                .all(|e| e.stream_id.starts_with("payment-"))
    });
    // Jump to a position: the log restarts there.
    h.get_by_label("Stream prefix").focus();
    h.key_press(egui::Key::Backspace);
    for _ in 0..8 {
        h.key_press(egui::Key::Backspace);
    }
    let position = || (egui::accesskit::Role::TextInput, "Position");
    h.get_by_role_and_label(position().0, position().1).focus();
    h.get_by_role_and_label(position().0, position().1)
        .type_text("1234");
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Go")
        .click();
    wait_until(&mut h, "position 1234", |h| {
        h.state()
            .log
            .view
            .events
            .first()
            .is_some_and(|e| e.global_position == 1234)
    });
    assert!(has_label(&h, "1234"));
}

#[test]
fn go_to_a_position_and_a_time() {
    use eventscope::app::messages::AppCommand;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 5_000, 11);
    let source = eventscope::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
    let mut h = harness(Startup::Store(path.display().to_string()));
    wait_until(&mut h, "the stream list", |h| has_label(h, "account-0001"));
    h.state_mut().apply(AppCommand::SelectStream {
        stream_id: "account-0002".into(),
        version: None,
    });
    wait_until(&mut h, "account-0002", |h| {
        h.state().streams.view.info.is_some()
    });
    // A global position opens that event in its own stream.
    let target = source
        .read_log(&eventscope::core::LogQuery {
            from_position: Some(777),
            limit: 1,
            ..Default::default()
        })
        .unwrap()
        .remove(0);
    h.get_by_label("Go to").focus();
    h.get_by_label("Go to").type_text("#777");
    h.get_by_label("Go").click();
    wait_until(&mut h, "position 777", |h| {
        h.state()
            .inspector
            .view
            .event
            .as_ref()
            .is_some_and(|e| e.global_position == 777)
    });
    assert_eq!(
        h.state().streams.view.stream_id.as_deref(),
        Some(target.stream_id.as_str())
    );
    // A time selects the last event at or before it.
    h.state_mut().apply(AppCommand::SelectStream {
        stream_id: "account-0001".into(),
        version: None,
    });
    wait_until(&mut h, "account-0001", |h| {
        h.state()
            .streams
            .view
            .info
            .as_ref()
            .is_some_and(|i| i.stream_id == "account-0001")
    });
    let tenth = source
        .read_stream("account-0001", Some(10), Direction::Forwards, 1)
        .unwrap()
        .remove(0);
    let at = eventscope::core::time::format_rfc3339(tenth.recorded_at.unwrap());
    h.state_mut().apply(AppCommand::GoTo(at));
    wait_until(&mut h, "version 10", |h| {
        h.state().streams.view.selected_version == Some(10)
    });
    // Esc goes back to the previous stream.
    h.state_mut().inspector.view.event = None;
    h.key_press(egui::Key::Escape);
    wait_until(&mut h, "back", |h| {
        h.state().streams.view.stream_id.as_deref() == Some(target.stream_id.as_str())
    });
}

#[test]
fn projections_table_and_chart_controls() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 5_000, 11);
    let source = eventscope::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
    let mut h = harness(Startup::Store(path.display().to_string()));
    wait_until(&mut h, "the store", |h| h.state().store.is_some());
    h.get_by_label("Projections").click();
    wait_until(&mut h, "lag summaries", |h| {
        h.state().projections.view.summaries.len() == 4
    });
    let head = source.head().unwrap();
    for checkpoint in source.checkpoints().unwrap() {
        assert!(has_label(&h, &checkpoint.name), "{}", checkpoint.name);
        let summary = h
            .state()
            .projections
            .view
            .summaries
            .iter()
            .find(|s| s.name == checkpoint.name)
            .unwrap();
        assert_eq!(summary.lag_events, head - checkpoint.position);
        assert!(has_label(
            &h,
            &eventscope::ui::thousands(head - checkpoint.position)
        ));
    }
    // Past lag reconstructed from the demo's checkpoint history fills the chart.
    wait_until(&mut h, "reconstructed history", |h| {
        h.state().projections.view.history_note.is_some()
    });
    assert!(
        h.state()
            .projections
            .view
            .series
            .values()
            .all(|s| s.len() > 3)
    );
    // Chart controls.
    h.get_by_label("Seconds behind").click();
    h.get_by_label("1 h").click();
    h.get_by_label("Threshold").focus();
    h.get_by_label("Threshold").type_text("500");
    h.run_steps(2);
    let state = &h.state().projections.view;
    assert_eq!(state.unit, eventscope::ui::projections::LagUnit::Seconds);
    assert_eq!(state.range, eventscope::ui::projections::ChartRange::Hour);
    assert_eq!(state.threshold, "500");
    assert!(
        has_label(&h, "threshold"),
        "the threshold line is in the legend"
    );
}

#[test]
fn lag_history_outlives_the_session_and_spares_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let history_dir = tempfile::tempdir().unwrap();
    let (path, _) = crate::common::demo_store(dir.path(), 5_000, 11);
    let before = crate::common::store_fingerprint(&path);
    let session = |h: &mut AppHarness<'_>| {
        h.state_mut().history_dir = Some(history_dir.path().to_owned());
        h.state_mut()
            .apply(eventscope::app::messages::AppCommand::Open(
                path.display().to_string(),
            ));
    };
    // First session: live samples are recorded in eventscope's own history file.
    let mut h = harness(Startup::Connect);
    session(&mut h);
    wait_until(&mut h, "a few live samples", |h| {
        h.state()
            .projections
            .view
            .series
            .get("order-history")
            .is_some_and(|s| {
                s.iter()
                    .filter(|x| x.at > chrono::Utc::now() - chrono::TimeDelta::seconds(30))
                    .count()
                    >= 3
            })
    });
    let recorded_live: Vec<_> = h.state().projections.view.series["order-history"]
        .iter()
        .filter(|x| x.at > chrono::Utc::now() - chrono::TimeDelta::seconds(30))
        .map(|x| x.at.timestamp_millis())
        .collect();
    drop(h);
    // Second session: those samples come back from the history before any new sampling.
    let mut h = harness(Startup::Connect);
    session(&mut h);
    wait_until(&mut h, "history loaded", |h| {
        h.state()
            .projections
            .view
            .history_note
            .as_deref()
            .is_some_and(|n| n.contains("earlier sessions"))
            || h.state()
                .projections
                .view
                .series
                .get("order-history")
                .is_some_and(|s| {
                    recorded_live
                        .iter()
                        .filter(|at| s.iter().any(|x| x.at.timestamp_millis() == **at))
                        .count()
                        >= 2
                })
    });
    let series = &h.state().projections.view.series["order-history"];
    // History keeps millisecond times.
    assert!(
        recorded_live
            .iter()
            .filter(|at| series.iter().any(|x| x.at.timestamp_millis() == **at))
            .count()
            >= 2
    );
    assert!(
        std::fs::read_dir(history_dir.path()).unwrap().count() > 0,
        "history written in its own dir"
    );
    drop(h);
    assert_eq!(
        crate::common::store_fingerprint(&path),
        before,
        "the user's store is untouched"
    );
}
