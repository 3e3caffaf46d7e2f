use serde_json::json;

use super::filter::Filter;
use super::{Match, Needle};
use crate::core::event::{Event, Payload};

fn event(payload: serde_json::Value, metadata: serde_json::Value) -> Event {
    Event {
        global_position: 7,
        stream_id: "order-42".to_owned(),
        stream_version: 3,
        event_id: Some("5f1c7a52-7b2e-4d8a-9b0e-1c2d3e4f5a6b".to_owned()),
        event_type: "MoneyWithdrawn".to_owned(),
        recorded_at: crate::core::time::parse_timestamp("2024-03-15T10:00:00Z"),
        payload: Payload::from_json(payload),
        metadata: Payload::from_json(metadata),
        correlation_id: Some("corr-1".to_owned()),
        causation_id: None,
        schema_version: None,
        stored_type: None,
        problems: Vec::new(),
    }
}

fn paths(matches: &[Match]) -> Vec<&str> {
    matches.iter().map(|m| m.path.as_str()).collect()
}

#[test]
fn text_is_found_at_its_path_ignoring_case_in_any_script() {
    let e = event(
        json!({"customer": {"email": "Ana@Example.com", "city": "Ærøskøbing"},
               "items": [{"sku": "SKU-CUP"}, {"sku": "SKU-MUG", "qty": 12345}],
               "street": "Hauptstraße 1"}),
        json!({"user_id": "user-42"}),
    );
    let found = |text: &str| Needle::new(text).map(|n| n.matches(&e)).unwrap_or_default();
    assert_eq!(paths(&found("ana@example.COM")), ["data.customer.email"]);
    assert_eq!(found("ana@example.COM")[0].value, "Ana@Example.com");
    assert_eq!(paths(&found("ærø")), ["data.customer.city"]);
    assert_eq!(paths(&found("STRASSE")), Vec::<&str>::new(), "ß is not ss");
    assert_eq!(paths(&found("hauptSTRAßE")), ["data.street"]);
    assert_eq!(paths(&found("sku-mug")), ["data.items[1].sku"]);
    assert_eq!(
        paths(&found("2345")),
        ["data.items[1].qty"],
        "numbers by their text"
    );
    assert_eq!(paths(&found("USER-42")), ["metadata.user_id"]);
    assert_eq!(paths(&found("order-4")), ["stream_id"]);
    assert_eq!(paths(&found("7b2e-4d8a")), ["event_id"]);
    assert_eq!(paths(&found("corr-1")), ["correlation_id"]);
    assert!(found("nowhere").is_empty());
    assert!(Needle::new("   ").is_none());
}

#[test]
fn odd_keys_are_quoted_in_paths_and_long_values_cut_around_the_match() {
    let long = format!("{}needle{}", "a".repeat(500), "b".repeat(500));
    let e = event(json!({"odd key": "x-needle", "1st": long}), json!(null));
    let found = Needle::new("NEEDLE")
        .map(|n| n.matches(&e))
        .unwrap_or_default();
    assert_eq!(paths(&found), [r#"data["odd key"]"#, r#"data["1st"]"#]);
    let cut = &found[1].value;
    assert!(
        cut.starts_with('…') && cut.ends_with('…') && cut.contains("needle"),
        "{cut}"
    );
    assert!(cut.chars().count() <= super::SHOWN_CHARS + 2);
}

#[test]
fn non_json_payloads_are_searched_as_text() {
    let mut e = event(json!({}), json!({}));
    e.payload = Payload::from_bytes(b"plain text with REF-991 inside");
    let found = Needle::new("ref-991")
        .map(|n| n.matches(&e))
        .unwrap_or_default();
    assert_eq!(paths(&found), ["data"]);
}

#[test]
fn the_prefilter_is_a_piece_no_stored_form_escapes() {
    let piece = |t: &str| Needle::new(t).and_then(|n| n.prefilter().map(str::to_owned));
    assert_eq!(piece("ana@example.com").as_deref(), Some("ana@example.com"));
    // Hyphens split: a UUID may be stored as plain hex.
    assert_eq!(
        piece("5f1c7a52-7b2e-4d8a-9b0e-1c2d3e4f5a6b").as_deref(),
        Some("1c2d3e4f5a6b")
    );
    // Non-ASCII may be stored as \u escapes; quotes and slashes are escaped by some writers.
    assert_eq!(piece("Ærøskøbing").as_deref(), Some("bing"));
    assert_eq!(piece("Hauptstraße").as_deref(), Some("Hauptstra"));
    assert_eq!(piece(r#"a"b/c\d"#), None);
    assert_eq!(piece("ab"), None);
}

fn passes(filter: &str, e: &Event) -> bool {
    Filter::parse(filter)
        .unwrap_or_else(|err| panic!("{}", err.pointed(filter)))
        .matches(e)
}

#[test]
fn filters_compare_typed_values() {
    let e = event(
        json!({"amount": "1234.50", "fee": 2.5, "items": [{"sku": "SKU-CUP"}, {"sku": "SKU-MUG"}],
               "flags": ["vip"], "active": true, "note": null}),
        json!({"user_id": "user-42", "causation_id": "c-9"}),
    );
    let yes = [
        "type = MoneyWithdrawn",
        "type == \"MoneyWithdrawn\" and data.amount > 1000",
        "data.amount >= 1234.5 and data.amount <= 1234.50",
        "data.fee < 3 and data.fee > -1e3",
        "metadata.user_id = \"user-42\"",
        "metadata.user_id = user-42",
        "data.items[*].sku = \"SKU-CUP\"",
        "data.items[1].sku = SKU-MUG",
        "exists(metadata.causation_id)",
        "not exists(metadata.correlationId)",
        "not exists(data.note)",
        "data.active = true",
        "data.flags contains vip",
        "data.items[0].sku contains cup",
        "time >= \"2024-03-01\" and time < \"2024-04-01\"",
        "time > 2024-03-15T09:59:59Z",
        "type in [OrderPlaced, MoneyWithdrawn]",
        "stream = order-42 and version = 3 and position >= 7",
        "data.amount != 999",
        "data.missing != 1",
        "(type = A or type = MoneyWithdrawn) and not (data.fee > 10)",
        "TYPE = MoneyWithdrawn AND data.fee = 2.5",
    ];
    for filter in yes {
        assert!(passes(filter, &e), "should pass: {filter}");
    }
    let no = [
        "type = MoneyDeposited",
        "data.amount > 2000",
        "data.amount = \"1234.5\"",
        "data.items[*].sku = \"SKU-BOWL\"",
        "data.items[5].sku = SKU-CUP",
        "exists(metadata.correlationId)",
        "exists(data.note)",
        "time < 2024-03-01",
        "type in [OrderPlaced]",
        "data.amount != 1234.5",
        "data.active = false",
        "data.fee contains 2",
    ];
    for filter in no {
        assert!(!passes(filter, &e), "should not pass: {filter}");
    }
}

#[test]
fn filter_syntax_errors_point_at_the_column() {
    let cases = [
        ("", 1, "empty"),
        ("type", 5, "expected a comparison"),
        ("type =", 7, "expected a value"),
        ("colour = red", 1, "unknown field"),
        ("data.amount >> 3", 14, "expected a value"),
        ("type = A and", 13, "expected a field"),
        ("type = A b", 10, "expected `and`, `or`"),
        ("(type = A", 10, "to close the '('"),
        ("exists data.x", 8, "expected '(' after exists"),
        ("data.x = \"open", 10, "no closing quote"),
        ("data.x ! 3", 8, "'!' must be followed"),
        ("type.x = 1", 1, "has no fields"),
        ("data.items[ = 1", 13, "inside [ ]"),
        ("type in [A, ", 13, "expected a value"),
        ("data.x = 1 # y", 12, "unexpected character"),
    ];
    for (text, column, message) in cases {
        let err = Filter::parse(text).expect_err(text);
        assert_eq!(err.column, column, "{text}: {err}");
        assert!(err.message.contains(message), "{text}: {err}");
        assert!(
            err.pointed(text)
                .contains(&format!("\n{}^", " ".repeat(column - 1)))
        );
    }
}

#[test]
fn filters_tell_sources_what_they_can_apply() {
    let f = Filter::parse(
        "type = MoneyWithdrawn and time >= 2024-01-01 and data.customer.email = \"ana@example.com\"",
    )
    .expect("parse");
    let scope = f.scope(&crate::core::query::LogQuery::default());
    assert_eq!(scope.event_types, ["MoneyWithdrawn"]);
    assert!(scope.since.is_some() && scope.until.is_none());
    assert_eq!(
        f.prefilter().as_ref().map(Needle::text),
        Some("ana@example.com")
    );
    // Under `or`, nothing can be applied before the exact check.
    let f = Filter::parse("type = A or data.x = \"hello\"").expect("parse");
    assert!(
        f.scope(&crate::core::query::LogQuery::default())
            .event_types
            .is_empty()
    );
    assert!(f.prefilter().is_none());
    // A number in quotes may be stored as a number: no text prefilter.
    assert!(
        Filter::parse("data.x = \"12.50\"")
            .expect("parse")
            .prefilter()
            .is_none()
    );
}
