//! The desktop app on gRPC stores, driven with egui_kittest: the connect screen with a
//! KurrentDB URL (the emulator, with credentials) and an UmaDB URL (a real server).

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use eventscope::app::{EventscopeApp, Startup};

type AppHarness<'a> = Harness<'a, EventscopeApp>;

fn harness(startup: Startup) -> AppHarness<'static> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            EventscopeApp::with_state(&cc.egui_ctx, Default::default(), startup, None)
        })
}

fn wait_until(h: &mut AppHarness<'_>, what: &str, done: impl Fn(&AppHarness<'_>) -> bool) {
    let started = Instant::now();
    loop {
        h.step();
        if done(h) {
            h.step();
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn has_label(h: &AppHarness<'_>, label: &str) -> bool {
    h.query_all_by_label(label).next().is_some()
}

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
