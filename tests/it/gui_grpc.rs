//! The desktop app on gRPC stores, driven with egui_kittest: the connect screen with a
//! KurrentDB URL (the emulator, with credentials) and an UmaDB URL (a real server).

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;

use crate::kit::{harness, has_label, wait_until};

#[test]
fn connect_screen_opens_a_kurrentdb_url_and_forgets_the_password() {
    let mut data = crate::kurrent::fixture_data(true);
    data.credentials = Some(("admin".to_owned(), "changeit".to_owned()));
    let emulator = crate::kurrent_emulator::Emulator::start(data);
    let port = emulator.port;

    let mut h = harness(Startup::Connect);
    h.run_steps(3);
    h.get_by_label("URL").focus();
    h.get_by_label("URL")
        .type_text(&format!("esdb://admin:wrong@127.0.0.1:{port}?tls=false"));
    h.get_by_label("Connect").click();
    wait_until(&mut h, "the access-denied error", |h| {
        h.query_by_label_contains("access denied").is_some()
    });
    let error = h.state().connect.error.clone().unwrap_or_default();
    assert!(
        !error.contains("wrong"),
        "the password is not shown: {error}"
    );

    h.state_mut().connect.url = format!("esdb://admin:changeit@127.0.0.1:{port}?tls=false");
    h.step();
    h.get_by_label("Connect").click();
    wait_until(&mut h, "the stream list", |h| has_label(h, "order-1"));
    assert!(has_label(&h, "account-7"));
    assert_eq!(
        h.state().state.recent.first().map(String::as_str),
        Some(format!("esdb://admin@127.0.0.1:{port}?tls=false").as_str()),
        "recent connections keep no password"
    );
    assert!(
        h.state()
            .state
            .recent
            .iter()
            .all(|r| !r.contains("changeit"))
    );
}

#[test]
fn an_umadb_url_opens_tags_as_streams() {
    let Some(command) = crate::umadb_server::umadb_or_skip("an_umadb_url_opens_tags_as_streams")
    else {
        return;
    };
    let server = crate::umadb_server::UmaDbServer::start(&command);
    server.python(
        "client.append([umadb.Event('OrderPlaced', b'{\"total\": 5}', tags=['order:1', 'order:1:v1']), umadb.Event('OrderPaid', b'{}', tags=['order:1', 'order:1:v2'])])",
    );
    let mut h = harness(Startup::Store(server.url("")));
    wait_until(&mut h, "the tag stream", |h| has_label(h, "order:1"));
    assert!(!has_label(&h, "order:1:v1"), "single-event tags are hidden");
}

#[test]
fn a_killed_server_keeps_what_is_shown_offers_reconnect_and_comes_back() {
    let mut emulator = crate::kurrent_emulator::Emulator::start(crate::kurrent::fixture_data(true));
    let mut h = harness(Startup::Store(emulator.url("")));
    wait_until(&mut h, "the stream list", |h| has_label(h, "order-1"));

    // The server dies; opening a stream fails with an error, the list stays.
    emulator.kill();
    h.get_by_label("order-1").click();
    wait_until(&mut h, "an error in the status bar", |h| {
        h.state().last_error.is_some()
    });
    wait_until(&mut h, "the stream view's error", |h| {
        h.query_by_label_contains("Could not read this stream")
            .is_some()
    });
    assert!(has_label(&h, "account-7"), "the stream list stays");
    assert!(!has_label(&h, "OrderPaid"));
    let error = h.state().last_error.clone().unwrap_or_default();
    // Refused, or dropped under a call in flight, depending on timing: either way it names
    // the store and the server, without the client's dump of a gRPC status.
    assert!(
        error.contains("KurrentDB")
            && error.contains(&format!("127.0.0.1:{}", emulator.port))
            && !error.contains("MetadataMap")
            && !error.contains("details: ["),
        "a clear message, not a gRPC status dump: {error}"
    );

    // It comes back; Reconnect (or the app itself, once a poll gets through) loads what
    // failed.
    emulator.restart();
    h.get_by_label("Reconnect").click();
    wait_until(&mut h, "the stream's events after Reconnect", |h| {
        has_label(h, "OrderPaid")
    });
    assert!(h.state().last_error.is_none(), "the stale error is cleared");

    // It dies again while the app polls the head; once it answers, the app reloads by
    // itself: the log, empty before, fills without any click.
    emulator.kill();
    h.state_mut().log = Default::default();
    let head_failed = std::cell::Cell::new(false);
    wait_until(&mut h, "the head poll's error", |h| {
        // Other reads fail too and may replace the message: look at every frame.
        let error = h.state().last_error.clone().unwrap_or_default();
        head_failed.set(head_failed.get() || error.starts_with("Reading head"));
        head_failed.get()
    });
    assert!(has_label(&h, "OrderPaid"), "the stream's events stay");
    emulator.restart();
    wait_until(&mut h, "the log reloaded by itself", |h| {
        !h.state().log.view.events.is_empty()
    });
    assert!(h.state().last_error.is_none());
}

#[test]
fn an_idle_window_on_a_slow_server_shows_no_loading_spinner() {
    let emulator = crate::kurrent_emulator::Emulator::start(crate::kurrent::fixture_data(true));
    let mut h = harness(Startup::Store(emulator.url("")));
    wait_until(&mut h, "the stream list", |h| has_label(h, "order-1"));
    wait_until(&mut h, "the first jobs to end", |h| {
        h.state().jobs.active.values().all(|j| j.poll)
    });
    // Every call now takes a while: the head poll and the lag sample are in flight most of
    // the time, but they are polls, not something the user waits for.
    emulator.update(|data| data.delay = Some(std::time::Duration::from_millis(300)));
    let started = std::time::Instant::now();
    let mut polls_seen = 0;
    while started.elapsed() < std::time::Duration::from_millis(2_500) {
        h.step();
        polls_seen += h.state().jobs.active.values().filter(|j| j.poll).count();
        assert!(!has_label(&h, "loading"), "an idle window spins");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(polls_seen > 0, "the polls ran");
}
