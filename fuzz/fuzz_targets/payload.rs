//! Stored payload / metadata bytes in each format: parsing, `eventsourcing` typed-value
//! decoding, the CLI's JSON rendering. The rendering written straight through from the
//! stored text (no parse) must say what the parsed value says, whether or not the payload
//! was parsed before.
#![no_main]

use eventscope::core::{Payload, PayloadFormat};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The rendering parsed back; `None` when it nests deeper than serde_json reads by
/// default (a stored value at the limit inside a decoded wrapper), which is still JSON.
fn rendered(payload: &Payload, stored: bool) -> Option<Value> {
    let text = serde_json::to_string(&payload.serialize_as(stored)).expect("serialises");
    // The output is JSON (no deeper than the stored JSON, which parsed within serde_json's
    // nesting limit).
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => Some(value),
        Err(e) if e.to_string().contains("recursion limit") => None,
        Err(e) => panic!("rendered output is not JSON ({e}): {text}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let format = match selector % 3 {
        0 => PayloadFormat::Json,
        1 => PayloadFormat::EventsourcingJson,
        _ => PayloadFormat::Bytes,
    };
    for stored in [false, true] {
        // Rendered before any parse (the pass-through path), then after.
        let fresh = Payload::stored(bytes, format);
        let before = rendered(&fresh, stored);
        let value = if stored {
            fresh.to_stored_json()
        } else {
            fresh.to_json()
        };
        if let Some(before) = before {
            assert_eq!(before, value, "pass-through differs from the value path");
        }
        if let Some(after) = rendered(&fresh, stored) {
            assert_eq!(after, value, "after parsing");
        }
        eventscope::core::typed::drop_deep(value);
    }
    let payload = Payload::stored(bytes, format);
    if format == PayloadFormat::Bytes {
        assert!(!payload.is_json());
    }
    if payload.is_decoded() {
        assert_eq!(format, PayloadFormat::EventsourcingJson);
        assert_ne!(payload.as_json(), payload.stored_json());
    } else {
        assert_eq!(payload.as_json(), payload.stored_json());
    }
    // Decoding again finds nothing left to decode only when no `_data_` holds another
    // typed value; it must not panic or loop either way.
    if let Some(json) = payload.as_json() {
        let mut again = json.clone();
        eventscope::core::typed::decode_eventsourcing(&mut again);
        eventscope::core::typed::drop_deep(again);
    }
    let _ = payload.approx_len();
    let _ = format!("{payload:?}");
    assert_eq!(payload, Payload::stored(bytes, format));
});
