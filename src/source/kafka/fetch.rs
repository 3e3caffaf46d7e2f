//! Fetching from partitions: scanning one from an offset until a fetch comes back empty
//! (the high watermark from the fetch responses, never from `ListOffsets(latest)`), and
//! fetching the records at given offsets for a page. Every call is bounded by the source's
//! timeout; the callers race them against the job's cancel flag.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::partition::{OffsetAt, PartitionClient};
use rskafka::record::Record;

use crate::core::source::{SourceError, SourceResult};

use super::index::Scanned;
use super::record::event_type_of;

/// Bytes asked for per fetch while scanning a partition.
const SCAN_FETCH_BYTES: i32 = 4 * 1024 * 1024;
/// Bytes asked for per fetch while reading the records of a page.
const PAGE_FETCH_BYTES: i32 = 512 * 1024;
/// How long a fetch may wait on the broker for records that are not there yet. Not 0:
/// Tansu answers a fetch with no wait with no topics at all (a malformed response).
const FETCH_WAIT_MS: i32 = 1;
/// The wait of the second fetch made when one came back empty below the high watermark
/// it reported, before the partition is taken as read to its end.
const RECHECK_WAIT_MS: i32 = 200;

/// What a partition scan sends while it runs.
#[derive(Debug)]
pub(super) enum Progress {
    /// One fetch's records (offset order) and the high watermark it reported.
    Fetched {
        key: (u32, i32),
        start: i64,
        records: Vec<Scanned>,
        high_watermark: i64,
    },
    /// The scan ended: the offset it started at, the next offset to read and the last
    /// high watermark, or why not.
    Done(u32, i32, SourceResult<(i64, i64, i64)>),
}

/// Runs `future` on `runtime`, giving up after `timeout` or when the current job is
/// cancelled.
pub(super) fn bounded<T>(
    runtime: &tokio::runtime::Runtime,
    timeout: Duration,
    what: &str,
    future: impl Future<Output = SourceResult<T>>,
) -> SourceResult<T> {
    let cancelled = crate::source::runtime::cancelled(crate::core::cancel::current());
    runtime.block_on(async move {
        tokio::select! {
            result = tokio::time::timeout(timeout, future) => result.unwrap_or_else(|_| {
                Err(SourceError::Query(format!(
                    "Kafka {what}: no answer within {} s (broker slow or unreachable)",
                    timeout.as_secs()
                )))
            }),
            () = cancelled => Err(SourceError::Cancelled),
        }
    })
}

/// One broker call, bounded by `timeout`.
async fn call<T>(
    timeout: Duration,
    future: impl Future<Output = Result<T, KafkaError>>,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s (broker slow or unreachable)",
            timeout.as_secs()
        )),
    }
}

fn is_out_of_range(err: &KafkaError) -> bool {
    matches!(
        err,
        KafkaError::ServerError {
            protocol_error: ProtocolError::OffsetOutOfRange,
            ..
        }
    )
}

/// Reads a partition from `start` (`None`: its earliest offset) until a fetch returns no
/// records, sending each fetch's records. Returns the offset it started at, the next
/// offset to read and the last high watermark.
pub(super) async fn scan_partition(
    client: &PartitionClient,
    topic: &str,
    key: (u32, i32),
    start: Option<i64>,
    timeout: Duration,
    sender: &tokio::sync::mpsc::UnboundedSender<Progress>,
) -> Result<(i64, i64, i64), String> {
    let mut offset = match start {
        Some(offset) => offset,
        None => call(timeout, client.get_offset(OffsetAt::Earliest)).await?,
    };
    let first = offset;
    let mut high_watermark;
    let mut wait = FETCH_WAIT_MS;
    loop {
        let fetched = tokio::time::timeout(
            timeout,
            client.fetch_records(offset, 1..SCAN_FETCH_BYTES, wait),
        )
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?;
        let (records, mark) = match fetched {
            Ok(fetched) => fetched,
            // Retention removed records the index had not read yet: go on from the earliest.
            Err(err) if is_out_of_range(&err) => {
                let earliest = call(timeout, client.get_offset(OffsetAt::Earliest)).await?;
                if earliest <= offset {
                    return Err(err.to_string());
                }
                offset = earliest;
                continue;
            }
            Err(err) => return Err(err.to_string()),
        };
        high_watermark = mark;
        let records: Vec<Scanned> = records
            .into_iter()
            .filter(|r| r.offset >= offset)
            .map(|r| Scanned {
                offset: r.offset,
                timestamp_ms: r.record.timestamp.timestamp_millis(),
                event_type: event_type_of(topic, &r.record.headers, r.record.value.is_none()),
                key: r.record.key,
            })
            .collect();
        let Some(last) = records.last().map(|r| r.offset) else {
            // An empty fetch ends the partition; one below the high watermark it reported
            // (records still on their way, or only transaction markers left) is asked
            // again, waiting longer, once.
            if high_watermark > offset && wait == FETCH_WAIT_MS {
                wait = RECHECK_WAIT_MS;
                continue;
            }
            break;
        };
        wait = FETCH_WAIT_MS;
        offset = last + 1;
        sender
            .send(Progress::Fetched {
                key,
                start: first,
                records,
                high_watermark,
            })
            .map_err(|_| "the scan was stopped".to_owned())?;
    }
    Ok((first, offset, high_watermark))
}

/// Fetches the records at `offsets` (sorted, distinct) of one partition.
pub(super) async fn fetch_offsets(
    client: Arc<PartitionClient>,
    offsets: Vec<i64>,
    timeout: Duration,
) -> Result<HashMap<i64, Record>, String> {
    let mut found = HashMap::with_capacity(offsets.len());
    let mut next = 0;
    while let Some(&want) = offsets.get(next) {
        // A busy broker may answer a short fetch with nothing: ask again, waiting longer,
        // before taking an empty answer for a record that is gone.
        let mut records = Vec::new();
        for wait in [FETCH_WAIT_MS, RECHECK_WAIT_MS, 4 * RECHECK_WAIT_MS] {
            (records, _) = call(
                timeout,
                client.fetch_records(want, 1..PAGE_FETCH_BYTES, wait),
            )
            .await?;
            if !records.is_empty() {
                break;
            }
        }
        let last = records.last().map_or(want, |r| r.offset);
        for record in records {
            if offsets.binary_search(&record.offset).is_ok() {
                found.insert(record.offset, record.record);
            }
        }
        while let Some(&offset) = offsets.get(next).filter(|&&o| o <= last) {
            if !found.contains_key(&offset) {
                return Err(format!(
                    "the record at offset {offset} is no longer on the broker (removed by \
                     retention or compaction since it was indexed; open the store again)"
                ));
            }
            next += 1;
        }
    }
    Ok(found)
}
