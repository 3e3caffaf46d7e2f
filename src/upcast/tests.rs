use std::time::Duration;

use serde_json::json;

use super::engine::{FailureKind, LoadError, UpcasterSource, Upcasters};
use super::shape::{EventRef, MismatchKind, Shape, compare};
use super::version::{VersionPath, VersionRules, VersionSource, detect, split_type_suffix};
use crate::core::event::{Event, Payload};

fn event(event_type: &str, schema_version: Option<u32>, data: serde_json::Value) -> Event {
    Event {
        global_position: 7,
        stream_id: "order-1".to_owned(),
        stream_version: 1,
        event_id: Some("e-7".to_owned()),
        event_type: event_type.to_owned(),
        schema_version,
        recorded_at: crate::core::time::parse_timestamp("2024-03-04T11:33:24Z"),
        payload: Payload::from_json(data),
        metadata: Payload::from_json(json!({"schemaVersion": "3", "correlation_id": "c-1"})),
        correlation_id: Some("c-1".to_owned()),
        causation_id: None,
        stored_type: None,
        problems: Vec::new(),
    }
}

fn load(text: &str) -> Upcasters {
    load_with(text, Duration::from_millis(250))
}

fn load_with(text: &str, budget: Duration) -> Upcasters {
    Upcasters::new(
        &[UpcasterSource {
            label: "test.js".to_owned(),
            text: text.to_owned(),
        }],
        VersionRules::default(),
        budget,
    )
    .unwrap()
}

#[test]
fn type_suffixes() {
    assert_eq!(
        split_type_suffix("OrderPlaced.v2"),
        ("OrderPlaced", Some(2))
    );
    assert_eq!(
        split_type_suffix("OrderPlaced.V12"),
        ("OrderPlaced", Some(12))
    );
    assert_eq!(
        split_type_suffix("OrderPlaced_v3"),
        ("OrderPlaced", Some(3))
    );
    assert_eq!(
        split_type_suffix("order-placed-v2"),
        ("order-placed", Some(2))
    );
    assert_eq!(split_type_suffix("OrderPlacedV2"), ("OrderPlaced", Some(2)));
    // Not versions: no marker, a lower-case glued v, nothing before the marker, qualifiers.
    assert_eq!(split_type_suffix("OrderPlaced"), ("OrderPlaced", None));
    assert_eq!(split_type_suffix("Covid19"), ("Covid19", None));
    assert_eq!(split_type_suffix("Reserv2"), ("Reserv2", None));
    assert_eq!(split_type_suffix("V2"), ("V2", None));
    assert_eq!(split_type_suffix(".v2"), (".v2", None));
    assert_eq!(
        split_type_suffix("BankAccount.Deposited"),
        ("BankAccount.Deposited", None)
    );
    assert_eq!(split_type_suffix("HTTPV2"), ("HTTPV2", None));
}

#[test]
fn version_detection_order() {
    let rules = VersionRules::default();
    // Stored (a layout's column or class_version).
    let v = detect(&event("OrderPlaced", Some(2), json!({})), &rules);
    assert_eq!(
        (v.base_type.as_str(), v.version, v.source),
        ("OrderPlaced", 2, VersionSource::Stored)
    );
    // Nothing stored: version 1.
    let v = detect(&event("OrderPlaced", None, json!({})), &rules);
    assert_eq!((v.version, v.source), (1, VersionSource::Default));
    // A suffix wins over a stored default and is stripped from the type.
    let v = detect(&event("OrderPlaced.v2", Some(1), json!({})), &rules);
    assert_eq!(
        (v.base_type.as_str(), v.version, v.source),
        ("OrderPlaced", 2, VersionSource::TypeSuffix)
    );
    // Suffixes switched off for the store.
    let off = VersionRules {
        type_suffix: false,
        ..VersionRules::default()
    };
    let v = detect(&event("OrderPlacedV2", None, json!({})), &off);
    assert_eq!((v.base_type.as_str(), v.version), ("OrderPlacedV2", 1));
    // A configured payload or metadata path wins over everything.
    let payload_path = VersionRules {
        path: Some(VersionPath::parse("payload:$.meta.v").unwrap()),
        type_suffix: true,
    };
    let v = detect(
        &event("OrderPlaced.v2", Some(1), json!({"meta": {"v": 4}})),
        &payload_path,
    );
    assert_eq!(
        (v.base_type.as_str(), v.version, v.source),
        ("OrderPlaced", 4, VersionSource::Path)
    );
    let metadata_path = VersionRules {
        path: Some(VersionPath::parse("metadata:$.schemaVersion").unwrap()),
        type_suffix: true,
    };
    let v = detect(&event("OrderPlaced", None, json!({})), &metadata_path);
    assert_eq!((v.version, v.source), (3, VersionSource::Path));
    // A path that is absent falls through.
    let v = detect(&event("OrderPlaced", Some(2), json!({})), &payload_path);
    assert_eq!((v.version, v.source), (2, VersionSource::Stored));
    assert!(VersionPath::parse("payload:meta.v").is_err());
    assert!(VersionPath::parse("metadata:$").is_err());
}

#[test]
fn chains_run_in_version_order_whatever_the_registration_order() {
    let upcasters = load(
        r#"
        upcast("OrderPlaced", 3, 4, (e) => { e.data.trail.push("3>4"); return e; });
        upcast("OrderPlaced", 1, 2, (e) => { e.data.trail = ["1>2"]; return e; });
        upcast("OrderPlaced", 2, 3, (e) => { e.data.trail.push("2>3"); e.type = "OrderPlaced"; return e; });
        upcast("Other.v1", 1, 2, (e) => e);
        "#,
    );
    assert_eq!(upcasters.latest("OrderPlaced"), Some(4));
    assert_eq!(
        upcasters.latest("Other"),
        Some(2),
        "suffixes are stripped at registration"
    );
    let chain: Vec<(u32, u32)> = upcasters
        .chain("OrderPlaced", 1)
        .iter()
        .map(|(_, s)| (s.from, s.to))
        .collect();
    assert_eq!(chain, vec![(1, 2), (2, 3), (3, 4)]);
    for keep in [false, true] {
        let run = upcasters
            .run(&event("OrderPlaced", Some(1), json!({"x": 1})), keep)
            .unwrap();
        assert_eq!(run.failure, None);
        assert_eq!(run.final_version, 4);
        assert_eq!(run.outputs.len(), if keep { 3 } else { 1 });
        assert_eq!(
            run.outputs.last().unwrap().data,
            json!({"x": 1, "trail": ["1>2", "2>3", "3>4"]})
        );
    }
    // From the middle of the chain.
    let run = upcasters
        .run(&event("OrderPlaced", Some(3), json!({"trail": []})), true)
        .unwrap();
    assert_eq!(run.outputs.len(), 1);
    assert_eq!(run.outputs[0].data, json!({"trail": ["3>4"]}));
    // Already at the latest version, or a type without upcasters: nothing runs.
    let run = upcasters
        .run(&event("OrderPlaced", Some(4), json!({})), true)
        .unwrap();
    assert!(!run.needed());
    let run = upcasters
        .run(&event("Unrelated", None, json!({})), true)
        .unwrap();
    assert!(!run.needed());
}

#[test]
fn steps_may_change_type_data_and_metadata() {
    let upcasters = load(
        r#"upcast("OrderPlaced", 1, 2, (event) => ({
            type: "OrderSubmitted",
            data: { id: event.data.orderId, stream: event.streamId, at: event.recordedAt, from: event.schemaVersion },
            metadata: Object.assign({}, event.metadata, { upcasted: true }),
        }));"#,
    );
    let run = upcasters
        .run(
            &event("OrderPlaced", Some(1), json!({"orderId": "o-1"})),
            false,
        )
        .unwrap();
    assert_eq!(run.failure, None);
    let out = &run.outputs[0];
    assert_eq!(out.event_type, "OrderSubmitted");
    assert_eq!(
        out.data,
        json!({"id": "o-1", "stream": "order-1", "at": "2024-03-04T11:33:24Z", "from": 1})
    );
    assert_eq!(out.metadata["upcasted"], json!(true));
    assert_eq!(out.metadata["correlation_id"], json!("c-1"));
}

#[test]
fn failures_are_reported_at_the_failing_step() {
    let cases = [
        (
            "throw new Error('bad total')",
            FailureKind::Exception,
            "Error: bad total",
        ),
        ("return 42", FailureKind::NotObject, "returned number"),
        ("return null", FailureKind::NotObject, "returned null"),
        ("return [e]", FailureKind::NotObject, "an array"),
        ("", FailureKind::NotObject, "returned undefined"),
        ("return { data: {} }", FailureKind::MissingType, "no `type`"),
        (
            "e.data.x.y.z = 1; return e",
            FailureKind::Exception,
            "TypeError",
        ),
    ];
    for (body, kind, message) in cases {
        let upcasters = load(&format!(
            r#"upcast("T", 1, 2, (e) => {{ e.data.ok = true; return e; }});
               upcast("T", 2, 3, (e) => {{ {body} }});"#
        ));
        for keep in [false, true] {
            let run = upcasters
                .run(&event("T", Some(1), json!({})), keep)
                .unwrap();
            let failure = run
                .failure
                .clone()
                .unwrap_or_else(|| panic!("{body}: no failure"));
            assert_eq!(failure.kind, kind, "{body}");
            assert_eq!(
                (failure.step, failure.from, failure.to),
                (1, 2, 3),
                "{body}"
            );
            assert!(
                failure.message.contains(message),
                "{body}: {}",
                failure.message
            );
            assert_eq!(run.final_version, 2);
            if keep {
                // The step before the failing one is still shown.
                assert_eq!(run.outputs.len(), 1);
                assert_eq!(run.outputs[0].data, json!({"ok": true}));
            }
        }
    }
}

#[test]
fn a_runaway_loop_is_stopped_and_the_next_event_still_runs() {
    let upcasters = load_with(
        r#"upcast("T", 1, 2, (e) => { if (e.data.loop) { for (;;) {} } e.data.done = true; return e; });"#,
        Duration::from_millis(30),
    );
    let run = upcasters
        .run(&event("T", Some(1), json!({"loop": true})), false)
        .unwrap();
    let failure = run.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert_eq!((failure.step, failure.from, failure.to), (0, 1, 2));
    let run = upcasters
        .run(&event("T", Some(1), json!({"loop": false})), false)
        .unwrap();
    assert_eq!(run.failure, None);
    assert_eq!(run.outputs[0].data, json!({"loop": false, "done": true}));
}

#[test]
fn a_gap_in_the_chain_is_a_failure() {
    let upcasters = load(r#"upcast("T", 2, 3, (e) => e);"#);
    let run = upcasters
        .run(&event("T", Some(1), json!({})), true)
        .unwrap();
    let failure = run.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::NoUpcaster);
    assert_eq!((failure.from, failure.to), (1, 3));
}

#[test]
fn bad_files_are_refused_with_their_name() {
    let bad = |text: &str| {
        Upcasters::new(
            &[UpcasterSource {
                label: "bad.js".to_owned(),
                text: text.to_owned(),
            }],
            VersionRules::default(),
            Duration::from_millis(250),
        )
        .unwrap_err()
    };
    let err = bad("upcast(");
    assert!(
        matches!(&err, LoadError::Script(m) if m.contains("bad.js")),
        "{err}"
    );
    let err = bad(r#"upcast("T", 2, 1, (e) => e);"#);
    assert!(err.to_string().contains("greater than"), "{err}");
    let err = bad(r#"upcast("T", 1, 2, "not a function");"#);
    assert!(err.to_string().contains("must be a function"), "{err}");
    let err = bad(r#"upcast("T", 1, 2, (e) => e); upcast("T.v1", 1, 3, (e) => e);"#);
    assert!(matches!(err, LoadError::Duplicate { from: 1, .. }), "{err}");
    let err = bad("for (;;) {}");
    assert!(err.to_string().contains("stopped after"), "{err}");
}

#[test]
fn shape_comparison() {
    let r = |n: u64| EventRef {
        position: n,
        event_id: None,
        stream_id: "s".to_owned(),
        stream_version: n,
    };
    let mut native = Shape::default();
    native.add(
        &json!({"totalCents": 100, "lines": [{"sku": "a", "qty": 1}], "note": "x"}),
        &r(1),
    );
    native.add(
        &json!({"totalCents": 200, "lines": [{"sku": "b", "qty": 2}, {"sku": "c", "qty": 1}]}),
        &r(2),
    );
    let mut good = Shape::default();
    good.add(
        &json!({"totalCents": 300, "lines": [{"sku": "d", "qty": 1}]}),
        &r(3),
    );
    assert_eq!(
        compare(&native, &good),
        vec![],
        "an optional field may be absent"
    );

    let mut bad = Shape::default();
    bad.add(
        &json!({"totalCents": 300, "lines": [{"sku": "d", "qty": 1}]}),
        &r(4),
    );
    bad.add(
        &json!({"totalcents": "3.00", "lines": [{"sku": "d", "qty": "1"}]}),
        &r(5),
    );
    let found: Vec<(MismatchKind, String, Option<u64>)> = compare(&native, &bad)
        .into_iter()
        .map(|m| (m.kind, m.path, m.example.map(|e| e.position)))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                MismatchKind::TypeMismatch,
                "/lines/*/qty".to_owned(),
                Some(5)
            ),
            (MismatchKind::Missing, "/totalCents".to_owned(), Some(5)),
            (MismatchKind::Extra, "/totalcents".to_owned(), Some(5)),
        ]
    );
    // A whole object missing is reported once, at its top.
    let mut flat = Shape::default();
    flat.add(&json!({"totalCents": 1, "lines": "none"}), &r(6));
    let found: Vec<(MismatchKind, String)> = compare(&native, &flat)
        .into_iter()
        .map(|m| (m.kind, m.path))
        .collect();
    assert_eq!(
        found,
        vec![(MismatchKind::TypeMismatch, "/lines".to_owned())]
    );
}

#[test]
fn upcasters_registered_under_the_stored_type_run_like_the_shown_one() {
    let mut stored = event("BankAccount.Deposited", Some(1), json!({"amount": "1.00"}));
    stored.stored_type = Some("bank:BankAccount.Deposited".to_owned());
    let by_shown = load(
        r#"upcast("BankAccount.Deposited", 1, 2, (e) => { e.data.currency = "EUR"; e.data.seen = e.storedType; return e; });"#,
    );
    let by_stored = load(
        r#"upcast("bank:BankAccount.Deposited", 1, 2, (e) => { e.data.currency = "EUR"; e.data.seen = e.storedType; return e; });"#,
    );
    let a = by_shown.run(&stored, false).unwrap();
    let b = by_stored.run(&stored, false).unwrap();
    assert!(a.failure.is_none() && b.failure.is_none(), "{a:?} {b:?}");
    assert_eq!(a.final_version, 2);
    assert_eq!(b.final_version, 2);
    assert_eq!(a.outputs, b.outputs);
    assert_eq!(
        b.outputs[0].data,
        json!({"amount": "1.00", "currency": "EUR", "seen": "bank:BankAccount.Deposited"})
    );
    assert_eq!(
        by_stored.latest(by_stored.steps_key(&stored, "BankAccount.Deposited")),
        Some(2)
    );
    // An event whose stored type is something else is not upcasted by the stored name.
    let mut other = stored.clone();
    other.stored_type = Some("other:BankAccount.Deposited".to_owned());
    assert!(by_stored.run(&other, false).unwrap().chain.is_empty());
}

#[test]
fn upcaster_names_matching_no_type_are_warned_about() {
    use crate::core::event::EventTypeName;
    let known = [
        EventTypeName {
            shown: "BankAccount.Deposited".to_owned(),
            stored: "bank:BankAccount.Deposited".to_owned(),
        },
        EventTypeName {
            shown: "OrderPlaced.v2".to_owned(),
            stored: "OrderPlaced.v2".to_owned(),
        },
    ];
    let ok = load(
        r#"upcast("bank:BankAccount.Deposited", 1, 2, (e) => e); upcast("OrderPlaced", 1, 2, (e) => e);"#,
    );
    assert!(ok.type_warnings(&known).is_empty());
    let wrong = load(r#"upcast("bank:BankAccount.Deposit", 1, 2, (e) => e);"#);
    assert_eq!(
        wrong.type_warnings(&known),
        [
            "test.js: none of its 1 upcaster name matches an event type in this store, so no event is upcasted",
            "test.js: no event type `bank:BankAccount.Deposit`; did you mean `bank:BankAccount.Deposited` (shown as `BankAccount.Deposited`)?",
        ]
    );
}
