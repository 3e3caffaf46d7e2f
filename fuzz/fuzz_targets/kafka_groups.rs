//! The hand-written Kafka protocol decoding of the consumer-group requests (Metadata v1,
//! ListGroups v1, FindCoordinator v1, OffsetFetch v3 response bodies and the response
//! header) on whatever a broker might send.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eventscope::source::kafka::decode_responses_for_fuzzing(data);
});
