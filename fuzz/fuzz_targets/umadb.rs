//! UmaDB `ReadResponse` messages (protobuf) as a server might send them: decoded, indexed
//! by tag as the source's catch-up does, each event turned into an eventscope event
//! (metadata, tags as streams, times, schema versions, correlation ids). The first byte
//! picks the URL options.
#![no_main]

use libfuzzer_sys::fuzz_target;

const URLS: [&str; 4] = [
    "umadb://127.0.0.1:50051",
    "umadb://h:1?streams=all&single=show",
    "umadb://h:1?streams=order:,account:&correlation=%24.trace.c&causation=causation",
    "umadb://h:1?streams=prefixed&tracking=t1",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let url = URLS[usize::from(selector) % URLS.len()];
    for event in eventscope::source::grpc::umadb::decode_read_response_for_fuzzing(url, bytes) {
        let _ = event.to_json();
        let _ = event.to_json_line(false);
    }
});
