//! The correlation / causation id scan of stored metadata text (one pass, no JSON value)
//! against the parsed-value path it stands in for, as the unit test
//! `core::metadata::tests::scan_of_stored_text_matches_value_path` does on fixed cases.
#![no_main]

use eventscope::core::Payload;
use eventscope::core::metadata::{IdPaths, scan_ids};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let paths = IdPaths::default();
    let want = serde_json::from_slice::<Value>(data)
        .ok()
        .map_or((None, None), |value| {
            let ids = paths.extract(&value);
            eventscope::core::typed::drop_deep(value);
            ids
        });
    if let Some(scanned) = scan_ids(data) {
        assert_eq!(scanned, want, "scan disagrees with the parsed value");
    }
    let payload = Payload::from_bytes(data);
    assert_eq!(paths.extract_from_payload(&payload), want, "before parse");
    assert_eq!(paths.extract_from_payload(&payload), want, "after parse");
    // Explicit paths read the parsed value; the path text is fuzzed too.
    if let Some(split) = data.iter().position(|&b| b == 0) {
        let path = String::from_utf8_lossy(&data[..split]).into_owned();
        let explicit = IdPaths {
            correlation: Some(path.clone()),
            causation: Some(path),
        };
        let payload = Payload::from_bytes(&data[split + 1..]);
        let _ = explicit.extract_from_payload(&payload);
    }
});
