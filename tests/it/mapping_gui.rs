//! The connect screen's answer to a file of no known layout (egui_kittest, no display): the
//! error comes with a mapping drafted from the schema in an editor; applying it with the
//! blank still in is refused with a clear message; filled in, it opens the store, is kept in
//! eventscope's settings (never beside the store), and is used again on the next open.

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;
use eventscope::app::messages::AppCommand;

use crate::kit::{AppHarness, harness, wait_until};

fn has_label_containing(h: &AppHarness<'_>, part: &str) -> bool {
    h.query_all_by_label_contains(part).next().is_some()
}

#[test]
fn unknown_layout_offers_a_drafted_mapping_that_opens_the_store_once_filled() {
    let dir = tempfile::tempdir().unwrap();
    let settings = tempfile::tempdir().unwrap();
    let store = crate::mapping::odd_store(
        dir.path(),
        "CREATE TABLE ledger (entry_no INTEGER PRIMARY KEY, acct TEXT, kind TEXT, body TEXT, \
         stamp REAL, revision INTEGER);",
        &[
            "INSERT INTO ledger VALUES (1, 'a-1', 'Opened', '{\"n\":1}', 1700000000.5, 1)",
            "INSERT INTO ledger VALUES (2, 'a-2', 'Opened', '{\"n\":2}', 1700000001, 1)",
            "INSERT INTO ledger VALUES (3, 'a-1', 'Paid', '{\"n\":3}', 1700000002, 2)",
        ],
    );
    let before = crate::common::store_fingerprint(&store);
    let location = store.display().to_string();
    let mappings = settings.path().join("mappings");
    let mut h = harness(Startup::Connect);
    h.state_mut().mappings_dir = Some(mappings.clone());
    h.state_mut().apply(AppCommand::Open(location.clone()));
    wait_until(&mut h, "the error and the draft", |h| {
        h.state().connect.draft.is_some()
    });
    assert!(has_label_containing(&h, "no known event store layout"));
    assert!(has_label_containing(&h, "1 blank still to fill in"));
    let draft = h.state().connect.draft.clone().unwrap();
    assert_eq!(draft.location, location);
    assert_eq!(
        draft.text,
        eventscope::source::sqlite::mapping::suggest(&store).unwrap(),
        "the editor holds what `mapping suggest` prints"
    );

    // Applied as drafted: refused, saying which blank is left; the draft stays.
    h.get_by_label("Apply and open").click();
    wait_until(&mut h, "the refusal", |h| {
        h.state().connect.opening.is_none()
            && h.state()
                .connect
                .error
                .as_deref()
                .is_some_and(|e| e.contains(eventscope::source::sqlite::mapping::BLANK))
    });
    assert!(h.state().store.is_none());
    assert_eq!(
        h.state().connect.draft.as_ref(),
        Some(&draft),
        "the draft stays in the editor to be fixed"
    );

    // Filled in (the editor's text, as a user would type it): the store opens with it.
    let blank = eventscope::source::sqlite::mapping::BLANK;
    let filled = draft
        .text
        .replace(&format!("stream_id = \"{blank}\""), "stream_id = \"acct\"");
    h.state_mut().connect.draft.as_mut().unwrap().text = filled.clone();
    h.step();
    assert!(!has_label_containing(&h, "still to fill in"));
    h.get_by_label("Apply and open").click();
    wait_until(&mut h, "the store", |h| {
        h.state().store.as_ref().is_some_and(|s| s.info.is_some())
    });
    assert!(h.state().connect.draft.is_none());
    assert_eq!(
        h.state()
            .store
            .as_ref()
            .unwrap()
            .info
            .as_ref()
            .unwrap()
            .stream_count,
        2
    );
    let saved = eventscope::own::mappings::saved_mapping(&mappings, &location).unwrap();
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), filled);
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(beside, ["odd.db"], "nothing written beside the store");
    assert_eq!(crate::common::store_fingerprint(&store), before);

    // Opened again later: the saved mapping is used without asking.
    let mut again = harness(Startup::Connect);
    again.state_mut().mappings_dir = Some(mappings);
    again.state_mut().apply(AppCommand::Open(location));
    wait_until(&mut again, "the store", |h| {
        h.state().store.as_ref().is_some_and(|s| s.info.is_some())
    });
    assert!(again.state().connect.draft.is_none());
}
