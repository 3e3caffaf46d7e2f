use std::time::{Duration, Instant};

use super::*;

fn sandbox(budget_ms: u64) -> Sandbox {
    Sandbox::new(Limits {
        call_budget: Duration::from_millis(budget_ms),
        ..Limits::default()
    })
    .expect("sandbox")
}

fn eval_string(sb: &Sandbox, code: &str) -> Result<String, ScriptError> {
    let code = code.to_owned();
    sb.call(move |ctx| ctx.eval::<String, _>(code))
}

#[test]
fn runaway_loop_is_stopped_within_its_budget() {
    let sb = sandbox(100);
    let started = Instant::now();
    let err = eval_string(&sb, "while (true) {}; 'never'").expect_err("must stop");
    assert_eq!(err, ScriptError::Timeout { budget_ms: 100 });
    // Generous bound: the point is that it stops at all, and not much later than asked.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The sandbox stays usable after a time-out.
    assert_eq!(
        eval_string(&sb, "'still ' + 'here'").expect("usable"),
        "still here"
    );
}

#[test]
fn exceptions_carry_name_and_message() {
    let sb = sandbox(1000);
    let err = eval_string(&sb, "throw new TypeError('bad amount')").expect_err("throws");
    match err {
        ScriptError::Exception { message, .. } => assert_eq!(message, "TypeError: bad amount"),
        other => panic!("unexpected {other:?}"),
    }
    let err = eval_string(&sb, "throw 'plain string'").expect_err("throws");
    assert!(err.to_string().contains("plain string"), "{err}");
}

#[test]
fn no_file_network_or_process_access() {
    let sb = sandbox(1000);
    for name in [
        "require",
        "fetch",
        "std",
        "os",
        "process",
        "XMLHttpRequest",
        "print",
    ] {
        let kind = eval_string(&sb, &format!("typeof {name}")).expect("typeof");
        assert_eq!(kind, "undefined", "{name} must not exist in the sandbox");
    }
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let sb = sandbox(5000);
    let err = eval_string(&sb, "function f(n) { return f(n + 1) + 1; } f(0); 'x'")
        .expect_err("stack overflow");
    assert!(err.to_string().to_lowercase().contains("stack"), "{err}");
    // 10,000 levels of nesting built in JS, then stringified: an error or a string, never a crash.
    let result = eval_string(
        &sb,
        "let v = {}; for (let i = 0; i < 10000; i++) { v = { child: v }; } JSON.stringify(v).length + ''",
    );
    match result {
        Ok(len) => assert!(len.parse::<usize>().expect("number") > 10_000),
        Err(err) => assert!(err.to_string().to_lowercase().contains("stack"), "{err}"),
    }
}

#[test]
fn memory_limit_is_enforced() {
    let sb = Sandbox::new(Limits {
        call_budget: Duration::from_secs(20),
        memory_bytes: 16 * 1024 * 1024,
        ..Limits::default()
    })
    .expect("sandbox");
    let err = eval_string(
        &sb,
        "let a = []; while (true) { a.push('x'.repeat(1000) + a.length); } ''",
    )
    .expect_err("oom");
    assert!(matches!(err, ScriptError::OutOfMemory { .. }), "{err:?}");
}

#[test]
fn load_reports_syntax_errors_with_the_file_name() {
    let sb = sandbox(1000);
    let err = sb
        .load("reducer.js", "when({ $init() { return {} ")
        .expect_err("syntax");
    match err {
        ScriptError::Load { file, message } => {
            assert_eq!(file, "reducer.js");
            assert!(message.contains("SyntaxError"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn cancellation_stops_a_running_script() {
    let token = crate::core::cancel::CancelToken::new();
    let sb = sandbox(60_000);
    let stopper = token.clone();
    let handle = std::thread::Builder::new()
        .name("canceller".to_owned())
        .spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            stopper.cancel();
        })
        .expect("thread");
    let result =
        crate::core::cancel::with_cancel(&token, || eval_string(&sb, "while (true) {}; ''"));
    handle.join().expect("join");
    assert_eq!(result.expect_err("cancelled"), ScriptError::Cancelled);
}

#[test]
fn event_object_carries_the_shown_and_the_stored_type() {
    let mut event = crate::core::event::Event {
        global_position: 3,
        stream_id: "a-1".to_owned(),
        stream_version: 1,
        event_id: None,
        event_type: "BankAccount.Opened".to_owned(),
        schema_version: None,
        recorded_at: None,
        payload: crate::core::event::Payload::empty(),
        metadata: crate::core::event::Payload::empty(),
        correlation_id: None,
        causation_id: None,
        stored_type: Some("bank:BankAccount.Opened".to_owned()),
        problems: Vec::new(),
    };
    let value: serde_json::Value = serde_json::from_str(&event_json(&event)).expect("json");
    assert_eq!(value["type"], "BankAccount.Opened");
    assert_eq!(value["storedType"], "bank:BankAccount.Opened");
    event.stored_type = None;
    let value: serde_json::Value = serde_json::from_str(&event_json(&event)).expect("json");
    assert_eq!(value["storedType"], "BankAccount.Opened");
}

/// Stored JSON handed through as text gives the engine what the parsed form gives: the
/// same text when the stored payload is compact, the same values when it is not, and the
/// parsed form itself whenever a number is a float or the text is not plain JSON.
#[test]
fn event_text_passes_stored_json_through_only_when_it_reads_the_same() {
    use crate::core::event::{Payload, PayloadFormat};
    let event = |payload: Payload, metadata: Payload| crate::core::event::Event {
        global_position: 7,
        stream_id: "account-\"1\"".to_owned(),
        stream_version: 2,
        event_id: Some("e-1".to_owned()),
        event_type: "MoneyDeposited".to_owned(),
        schema_version: Some(2),
        recorded_at: crate::core::time::parse_timestamp("2024-01-02T03:04:05.678Z"),
        payload,
        metadata,
        correlation_id: Some("c-1".to_owned()),
        causation_id: None,
        stored_type: None,
        problems: Vec::new(),
    };
    let compact = [
        r#"{"amount":"12.50","n":-3,"big":18446744073709551615,"s":"a\"b\u00e9\n","l":[1,null,true,{}]}"#,
        r#"{"dup":1,"dup":{"x":2}}"#,
    ];
    for text in compact {
        let e = event(
            Payload::from_bytes(text.as_bytes()),
            Payload::from_bytes(br#"{"correlation_id":"c-1"}"#),
        );
        let fast = event_json(&e);
        let slow_value: serde_json::Value =
            serde_json::from_str(&event_json_parsed(&e)).expect("json");
        let fast_value: serde_json::Value = serde_json::from_str(&fast).expect("json");
        assert_eq!(fast_value, slow_value, "{text}");
        // Handed through: the stored text is in the event text as it is.
        assert!(fast.contains(text), "{fast}");
    }
    // Spaced text: the same values; empty metadata is null in both.
    let spaced = event(
        Payload::from_bytes(b"{ \"a\" : [ 1 , 2 ] }\n"),
        Payload::empty(),
    );
    let fast: serde_json::Value = serde_json::from_str(&event_json(&spaced)).expect("json");
    let slow: serde_json::Value = serde_json::from_str(&event_json_parsed(&spaced)).expect("json");
    assert_eq!(fast, slow);
    assert_eq!(
        event_json(&event(Payload::from_bytes(br#"{"a":1}"#), Payload::empty())),
        event_json_parsed(&event(Payload::from_bytes(br#"{"a":1}"#), Payload::empty()))
    );
    // Floats, -0, integers past u64, non-JSON, typed values and bytes: the parsed form.
    for (payload, metadata) in [
        (
            Payload::from_bytes(br#"{"a":0.1000000000000000055511151231257827}"#),
            Payload::empty(),
        ),
        (Payload::from_bytes(br#"{"a":-0}"#), Payload::empty()),
        (
            Payload::from_bytes(b"{\"a\":123456789012345678901234567890}"),
            Payload::empty(),
        ),
        (Payload::from_bytes(br#"{"a":1"#), Payload::empty()),
        (
            Payload::from_bytes(br#"{"a":1}"#),
            Payload::from_bytes(b"not json"),
        ),
        (
            Payload::from_bytes(br#"{"a":1}"#),
            Payload::from_bytes(br#"{"f":1.5}"#),
        ),
        (
            Payload::stored(
                br#"{"a":{"_type_":"decimal","_data_":"1.5"}}"#,
                PayloadFormat::EventsourcingJson,
            ),
            Payload::empty(),
        ),
        (Payload::from_bytes(&[0xff, 0xfe]), Payload::empty()),
    ] {
        let e = event(payload, metadata);
        assert_eq!(event_json(&e), event_json_parsed(&e));
    }
}
