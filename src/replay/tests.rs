use serde_json::json;

use super::config::{ConfigOrigin, ProjectConfig, ReducerChoice, TrustStore};
use super::evidence::canonical_json;
use super::*;

#[test]
fn config_picks_per_category_with_fallback_and_rejects_ambiguity() {
    let text = "[reducers.account]\nscript = \"a.js\"\nschema_version = 3\n\n[reducers.\"*\"]\ngeneric = true\n";
    let config = ProjectConfig::parse(text, ConfigOrigin::None, None).expect("valid");
    assert_eq!(config.entry_for("account").map(|(k, _)| k), Some("account"));
    assert_eq!(config.entry_for("order").map(|(k, _)| k), Some("*"));
    assert_eq!(config.choice_for("order"), Ok(ReducerChoice::Generic));
    // The script file does not exist: a clear error naming it.
    let err = config.choice_for("account").expect_err("missing file");
    assert!(err.contains("a.js"), "{err}");

    let both = "[reducers.x]\nscript = \"a.js\"\ngeneric = true\n";
    assert!(ProjectConfig::parse(both, ConfigOrigin::None, None).is_err());
    let none = "[reducers.x]\nschema_version = 1\n";
    assert!(ProjectConfig::parse(none, ConfigOrigin::None, None).is_err());
    let typo = "[reducers.x]\nscirpt = \"a.js\"\n";
    assert!(ProjectConfig::parse(typo, ConfigOrigin::None, None).is_err());
    let quote = "[reducers.x]\ncommand = \"python3 'unterminated\"\n";
    assert!(ProjectConfig::parse(quote, ConfigOrigin::None, None).is_err());
}

#[test]
fn commands_beside_a_store_need_approval_that_persists() {
    let dir = tempfile::tempdir().expect("tmp");
    let config_path = dir.path().join("eventscope.toml");
    let text = "[reducers.\"*\"]\ncommand = \"python3 replay.py --module 'my domain'\"\n";
    let config = ProjectConfig::parse(
        text,
        ConfigOrigin::BesideStore(config_path.clone()),
        Some(dir.path().to_path_buf()),
    )
    .expect("valid");
    let choice = config.choice_for("anything").expect("choice");
    match &choice {
        ReducerChoice::Command {
            argv, needs_trust, ..
        } => {
            assert_eq!(argv, &["python3", "replay.py", "--module", "my domain"]);
            assert!(needs_trust);
        }
        other => panic!("{other:?}"),
    }
    let trust_dir = dir.path().join("data");
    let mut trust = TrustStore::load(Some(&trust_dir));
    assert!(!trust.allows(&choice));
    assert!(choice.build(false).is_err());
    trust.approve(&choice).expect("approve");
    assert!(
        TrustStore::load(Some(&trust_dir)).allows(&choice),
        "approval is remembered"
    );
    // The same command from a config given explicitly needs no approval.
    let explicit =
        ProjectConfig::parse(text, ConfigOrigin::Explicit(config_path), None).expect("valid");
    assert!(TrustStore::default().allows(&explicit.choice_for("x").expect("choice")));
}

#[test]
fn canonical_json_sorts_keys_at_every_level() {
    let a = json!({"b": 1, "a": {"d": [1, {"z": null, "y": "é\n"}], "c": true}});
    assert_eq!(
        canonical_json(&a),
        r#"{"a":{"c":true,"d":[1,{"y":"é\n","z":null}]},"b":1}"#
    );
}

#[test]
fn generic_reducer_merges_objects_and_ignores_other_payloads() {
    use crate::core::event::{Event, Payload};
    let event = |payload: Payload| Event {
        global_position: 1,
        stream_id: "s".into(),
        stream_version: 1,
        event_id: None,
        event_type: "T".into(),
        schema_version: None,
        recorded_at: None,
        payload,
        metadata: Payload::empty(),
        correlation_id: None,
        causation_id: None,
        stored_type: None,
        problems: Vec::new(),
    };
    let mut reducer = generic::GenericReducer::new();
    let events = [
        event(Payload::from_json(json!({"a": 1, "b": {"c": 2}}))),
        event(Payload::from_bytes(&[0xff, 0x00])),
        event(Payload::from_json(json!([1, 2]))),
        event(Payload::from_json(json!({"b": {"d": 3}, "a": null}))),
    ];
    let state = fold(&mut reducer, &events).expect("fold");
    assert_eq!(state, json!({"b": {"c": 2, "d": 3}}));
    assert_eq!(reducer.info().kind, ReducerKind::Generic);
}

fn typed_event(version: u64, shown: &str, stored: Option<&str>, amount: i64) -> Event {
    Event {
        global_position: version,
        stream_id: "acc-1".to_owned(),
        stream_version: version,
        event_id: None,
        event_type: shown.to_owned(),
        schema_version: None,
        recorded_at: None,
        payload: crate::core::event::Payload::from_json(json!({ "amount": amount })),
        metadata: crate::core::event::Payload::empty(),
        correlation_id: None,
        causation_id: None,
        stored_type: stored.map(str::to_owned),
        problems: Vec::new(),
    }
}

#[test]
fn script_handlers_named_by_the_stored_type_fire_like_the_shown_name() {
    use super::script::{ScriptOptions, ScriptReducer};
    let events = [
        typed_event(1, "Account.Opened", Some("bank:Account.Opened"), 0),
        typed_event(2, "Account.Deposited", Some("bank:Account.Deposited"), 5),
        typed_event(3, "Account.Deposited", Some("bank:Account.Deposited"), 7),
        // No stored form: only the shown name can match.
        typed_event(4, "Account.Deposited", None, 11),
    ];
    let by = |opened: &str, deposited: &str| {
        format!(
            r#"fromAll().when({{
                $init() {{ return {{ balance: 0, seen: [] }}; }},
                "{opened}"(s, e) {{ s.open = true; s.seen.push(e.storedType); }},
                "{deposited}"(s, e) {{ s.balance += e.data.amount; s.seen.push(e.type); }},
            }});"#
        )
    };
    let fold_with = |source: &str| {
        let mut reducer =
            ScriptReducer::new("r.js", source, &ScriptOptions::default()).expect("loads");
        let names = reducer
            .handler_names()
            .expect("names")
            .expect("a script names types");
        (fold(&mut reducer, &events).expect("folds"), names)
    };
    let (shown, shown_names) = fold_with(&by("Account.Opened", "Account.Deposited"));
    let (stored, stored_names) = fold_with(&by("bank:Account.Opened", "bank:Account.Deposited"));
    assert_eq!(
        shown,
        json!({"balance": 23, "open": true, "seen": ["bank:Account.Opened", "Account.Deposited", "Account.Deposited", "Account.Deposited"]})
    );
    // The stored names fire for the events that carry them; event 4 has no stored form.
    assert_eq!(
        stored,
        json!({"balance": 12, "open": true, "seen": ["bank:Account.Opened", "Account.Deposited", "Account.Deposited"]})
    );
    assert_eq!(shown_names, ["Account.Opened", "Account.Deposited"]);
    assert_eq!(
        stored_names,
        ["bank:Account.Opened", "bank:Account.Deposited"]
    );
    // Generic reducers name no types.
    assert_eq!(
        super::generic::GenericReducer::new()
            .handler_names()
            .expect("ok"),
        None
    );
}

/// The evidence hash of an event is over the same bytes as when the event object was built
/// as a value first: JSON, typed values, bytes, empty and non-JSON metadata.
#[test]
fn canonical_event_bytes_are_unchanged() {
    use crate::core::event::{Payload, PayloadFormat};
    let cases = [
        (
            Payload::from_bytes(br#"{"b":1,"a":{"z":[1,2.5,"x"],"\u00e9":null}}"#),
            Payload::from_bytes(br#"{"correlation_id":"c"}"#),
        ),
        (
            Payload::stored(
                br#"{"v":{"_type_":"decimal","_data_":"1.5"}}"#,
                PayloadFormat::EventsourcingJson,
            ),
            Payload::empty(),
        ),
        (
            Payload::from_bytes(&[0xff, 0x00]),
            Payload::from_bytes(b"not json"),
        ),
        (Payload::empty(), Payload::from_json(json!({"k": "v\n"}))),
    ];
    for (payload, metadata) in cases {
        let event = Event {
            global_position: 9,
            stream_id: "s-\"1\"".into(),
            stream_version: 3,
            event_id: Some("e".into()),
            event_type: "T".into(),
            schema_version: None,
            recorded_at: crate::core::time::parse_timestamp("2024-05-06T07:08:09Z"),
            payload,
            metadata,
            correlation_id: None,
            causation_id: None,
            stored_type: None,
            problems: Vec::new(),
        };
        assert_eq!(
            evidence::canonical_event(&event),
            evidence::canonical_event_reference(&event)
        );
    }
}
