//! Kafka record batches as a broker sends them in a fetch response: decoded by rskafka's
//! protocol reader (what the Kafka source's fetches go through; gzip, snappy and lz4
//! batches), each record turned into a [`rskafka::record::Record`] as rskafka's partition
//! client does, then into an eventscope event (headers as metadata, type / id / version
//! headers, key as stream), shown as the CLI shows it.
#![no_main]

use std::io::Cursor;

use chrono::{TimeZone as _, Utc};
use eventscope::core::metadata::IdPaths;
use eventscope::source::kafka::record::{Placement, to_event};
use libfuzzer_sys::fuzz_target;
use rskafka::protocol::record::{ControlBatchOrRecords, RecordBatch};
use rskafka::protocol::traits::ReadType as _;

fuzz_target!(|data: &[u8]| {
    let mut cursor = Cursor::new(data);
    let mut position = 0u64;
    // A fetch's record set is batches back to back.
    while let Ok(batch) = RecordBatch::read(&mut cursor) {
        let ControlBatchOrRecords::Records(records) = batch.records else {
            continue;
        };
        for record in records {
            // As rskafka's `extract_records` does, with checked arithmetic.
            let Some(offset) = batch
                .base_offset
                .checked_add(i64::from(record.offset_delta))
            else {
                continue;
            };
            let Some(millis) = batch.first_timestamp.checked_add(record.timestamp_delta) else {
                continue;
            };
            let Some(timestamp) = Utc.timestamp_millis_opt(millis).single() else {
                continue;
            };
            let record = rskafka::record::Record {
                key: record.key,
                value: record.value,
                headers: record
                    .headers
                    .into_iter()
                    .map(|h| (h.key, h.value))
                    .collect(),
                timestamp,
            };
            position += 1;
            let event = to_event(
                Placement {
                    topic: "orders",
                    partition: 0,
                    offset,
                    global_position: position,
                    stream_version: position,
                },
                &record,
                &IdPaths::default(),
            );
            let _ = event.to_json_line(false);
            let _ = event.to_json_line(true);
        }
    }
});
