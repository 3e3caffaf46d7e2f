//! PostgreSQL stores in the window (egui_kittest, no display) on the real test server: a URL
//! typed on the connect screen, an `eventsourcing` aggregate time-travelled with a reducer
//! named by stored topics, Message DB consumer positions in the projections view, the
//! index hint on a trace that had to scan, and the password the connect screen asks for.

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;
use serde_json::Value;

use crate::kit::{AppHarness, harness, has_label, wait_until};
use crate::pg_server::{server_or_skip, tls_server_or_skip};

fn expected(name: &str) -> Value {
    crate::common::expected(&format!("postgres/{name}/{name}.expected.json"))
}

fn has_label_containing(h: &AppHarness<'_>, part: &str) -> bool {
    h.query_all_by_label_contains(part).next().is_some()
}

/// Types `url` (and `password`, when given) on the connect screen and presses Connect.
fn connect(h: &mut AppHarness<'_>, url: &str, password: Option<&str>) {
    h.get_by_label("URL").focus();
    h.get_by_label("URL").type_text(url);
    if let Some(password) = password {
        h.get_by_label("Password").focus();
        h.get_by_label("Password").type_text(password);
    }
    h.get_by_label("Connect").click();
}

/// The `eventsourcing` reducer, its handlers named by stored topic and by displayed name.
const BANK_REDUCER: &str = r#"fromAll().when({
  $init() { return { owner: null, currency: null, transactions: 0 }; },
  "domain:BankAccount.Opened"(s, e) { s.owner = e.data.owner; s.currency = e.data.currency; },
  "BankAccount.Deposited"(s, e) { s.transactions += 1; },
  "domain:BankAccount.Withdrawn"(s, e) { s.transactions += 1; },
});"#;

#[test]
fn connect_by_url_and_time_travel_an_eventsourcing_aggregate() {
    let Some(server) = server_or_skip("connect_by_url_and_time_travel_an_eventsourcing_aggregate")
    else {
        return;
    };
    let url = server.fixture("eventsourcing");
    let want = expected("eventsourcing");
    let bank = &want["applications"]["BankApp"];
    let chosen = &bank["aggregates"][0];
    let id = chosen["id"].as_str().unwrap();

    // The reducer, kept in eventscope's settings for this store (a server has no
    // "beside the store").
    let settings = tempfile::tempdir().unwrap();
    let script = settings.path().join("bank.js");
    std::fs::write(&script, BANK_REDUCER).unwrap();
    let config = eventscope::replay::config::settings_path(settings.path(), &url);
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "[reducers.\"*\"]\nscript = {:?}\n",
            script.display().to_string()
        ),
    )
    .unwrap();

    let mut h = harness(Startup::Connect);
    h.state_mut().replay.settings_dir = Some(settings.path().to_owned());
    connect(&mut h, &url, None);
    wait_until(&mut h, "the store", |h| h.state().store.is_some());
    wait_until(&mut h, "the header", |h| {
        h.state().store.as_ref().is_some_and(|s| s.info.is_some())
    });
    let info = h.state().store.as_ref().unwrap().info.clone().unwrap();
    assert_eq!(info.layout, "eventsourcing");
    // Without #App the application with the most events opens, and the others are named.
    assert_eq!(
        info.event_count,
        Some(bank["total_event_count"].as_u64().unwrap())
    );
    assert!(
        info.layout_detail.to_lowercase().contains("compliance"),
        "{}",
        info.layout_detail
    );
    assert!(has_label_containing(&h, "eventsourcing layout"));

    wait_until(&mut h, "the stream list", |h| has_label(h, id));
    h.get_by_label(id).click();
    wait_until(&mut h, "the stream", |h| has_label(h, "Time travel"));
    h.get_by_label("Time travel").click();
    wait_until(&mut h, "the fold and the last state", |h| {
        let tt = &h.state().replay.view.time_travel;
        tt.step.value().is_some() && !tt.events.is_empty()
    });
    let step = h
        .state()
        .replay
        .view
        .time_travel
        .step
        .value()
        .unwrap()
        .clone();
    let last = &chosen["final_state"];
    assert_eq!(step.version, last["_version"].as_u64().unwrap());
    assert_eq!(step.state["owner"], last["owner"]);
    assert_eq!(step.state["currency"], last["currency"]);
    assert_eq!(step.state["transactions"], last["transaction_count"]);
    // Handlers named by stored topic and by displayed name both matched: no warning.
    let warnings = &h.state().replay.view.time_travel.warnings;
    assert!(warnings.is_empty(), "{warnings:?}");

    // The window offers the database's other application, and opens it.
    h.get_by_label("1 more here").click();
    h.run_steps(2);
    h.get_by_label("compliance").click();
    wait_until(&mut h, "the other application", |h| {
        h.state()
            .store
            .as_ref()
            .and_then(|s| s.info.as_ref())
            .is_some_and(|i| i.layout_detail.contains("application compliance"))
    });
    let info = h.state().store.as_ref().unwrap().info.clone().unwrap();
    let compliance = &want["applications"]["Compliance"];
    assert_eq!(
        info.event_count,
        Some(compliance["total_event_count"].as_u64().unwrap())
    );
    assert_eq!(info.others, ["bankapp"]);
}

#[test]
fn message_db_consumer_positions_in_the_projections_view() {
    let Some(server) = server_or_skip("message_db_consumer_positions_in_the_projections_view")
    else {
        return;
    };
    let url = server.fixture("messagedb");
    let want = expected("messagedb");
    let mut h = harness(Startup::Connect);
    h.state_mut().history_dir = Some(tempfile::tempdir().unwrap().keep());
    connect(&mut h, &url, None);
    wait_until(&mut h, "the store", |h| h.state().store.is_some());
    h.get_by_label("Projections").click();
    let consumers = want["consumer_positions"].as_array().unwrap();
    wait_until(&mut h, "lag summaries", |h| {
        h.state().projections.view.summaries.len() == consumers.len()
    });
    for consumer in consumers {
        let name = consumer["position_stream"].as_str().unwrap();
        assert!(has_label(&h, name), "{name} in the table");
        let summary = h
            .state()
            .projections
            .view
            .summaries
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .clone();
        assert_eq!(
            summary.position,
            consumer["position"].as_u64().unwrap(),
            "{name}"
        );
        // Lag counts the consumer's own category (consumerB: 18 behind in `account`).
        assert_eq!(
            summary.lag_events,
            consumer["lag_messages"].as_u64().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn a_trace_that_scans_shows_the_index_that_would_answer_it() {
    let Some(server) = server_or_skip("a_trace_that_scans_shows_the_index_that_would_answer_it")
    else {
        return;
    };
    // The ledger schema has no expression index on its correlation path.
    let url = format!("{}#ledger", server.fixture("diy"));
    let mut h = harness(Startup::Connect);
    h.state_mut().trace.index_dir = Some(tempfile::tempdir().unwrap().keep());
    connect(&mut h, &url, None);
    wait_until(&mut h, "the store", |h| {
        h.state().store.as_ref().is_some_and(|s| s.info.is_some())
    });
    h.get_by_label("Trace").click();
    wait_until(&mut h, "the trace page", |h| has_label(h, "Id"));
    h.get_by_label("Id").focus();
    h.get_by_label("Id").type_text("req-001");
    h.get_by_label("Show trace").click();
    wait_until(&mut h, "the trace", |h| {
        h.state().trace.view.trace.is_some()
    });
    let trace = h.state().trace.view.trace.clone().unwrap();
    assert_eq!(trace.nodes.len(), 3);
    let hint = h.state().trace.view.index_hint.clone().unwrap();
    // On the key the ledger really writes (`correlation_id`, not the guide's
    // `correlationId`).
    assert_eq!(
        hint,
        r#"CREATE INDEX ON "ledger"."entries" (("meta"->>'correlation_id'))"#
    );
    assert!(has_label(&h, &hint), "the statement is shown");
    assert!(has_label(&h, "Copy"));

    // The public schema has the index: the trace comes from it and no hint is shown.
    let mut h = harness(Startup::Connect);
    h.state_mut().trace.index_dir = Some(tempfile::tempdir().unwrap().keep());
    connect(&mut h, &server.fixture("diy"), None);
    wait_until(&mut h, "the store", |h| {
        h.state().store.as_ref().is_some_and(|s| s.info.is_some())
    });
    let correlation = expected("diy")["public"]["correlations"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, positions)| positions.as_array().unwrap().len() > 1)
        .map(|(id, _)| id.clone())
        .unwrap();
    h.get_by_label("Trace").click();
    wait_until(&mut h, "the trace page", |h| has_label(h, "Id"));
    h.get_by_label("Id").focus();
    h.get_by_label("Id").type_text(&correlation);
    h.get_by_label("Show trace").click();
    wait_until(&mut h, "the trace", |h| {
        h.state().trace.view.trace.is_some()
    });
    assert!(has_label_containing(&h, "found with the store's index"));
    assert!(!has_label_containing(&h, "CREATE INDEX"));
}

#[test]
fn the_connect_screen_asks_for_the_password_and_never_keeps_it() {
    let Some(server) =
        tls_server_or_skip("the_connect_screen_asks_for_the_password_and_never_keeps_it")
    else {
        return;
    };
    let database = "es_gui_password";
    server.restore(
        database,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/postgres/messagedb/messagedb.sql"),
    );
    let url = format!(
        "postgres://reader@127.0.0.1:{}/{database}?sslmode=require",
        server.port
    );
    let mut h = harness(Startup::Connect);
    connect(&mut h, &url, None);
    wait_until(&mut h, "the refusal", |h| h.state().connect.error.is_some());
    assert!(
        h.state().connect.wants_password,
        "{:?}",
        h.state().connect.error
    );
    assert!(has_label_containing(
        &h,
        "refused the connection for its password"
    ));
    // A wrong password: asked again, never shown.
    connect_password(&mut h, "wrong-secret");
    wait_until(&mut h, "the second refusal", |h| {
        h.state().connect.error.is_some() && h.state().connect.opening.is_none()
    });
    assert!(h.state().connect.wants_password);
    assert!(!has_label_containing(&h, "wrong-secret"));
    assert!(
        h.state().connect.password.is_empty(),
        "a refused password is dropped"
    );
    // The right one opens the store; the URL kept and shown has no password.
    connect_password(&mut h, "right");
    wait_until(&mut h, "the store", |h| h.state().store.is_some());
    let store = h.state().store.as_ref().unwrap();
    assert!(!store.location.contains("right"), "{}", store.location);
    assert!(h.state().state.recent.iter().all(|r| !r.contains("right")));
    assert!(
        h.state().connect.password.is_empty(),
        "the password is dropped once used"
    );
}

/// Types a password into the password field (the URL is already there) and connects.
fn connect_password(h: &mut AppHarness<'_>, password: &str) {
    h.get_by_label("Password").focus();
    h.get_by_label("Password").type_text(password);
    h.get_by_label("Connect").click();
}
