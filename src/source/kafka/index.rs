//! The in-memory key index of a Kafka source: for every record read so far, where it is
//! (topic, partition, offset), when (timestamp), which stream (key) and which event type.
//! Records are not kept; pages fetch them again by offset.
//!
//! Each scan's records are merged into the log by timestamp (ties by topic, partition,
//! offset) with every partition kept in offset order, and appended after what earlier
//! scans merged, so positions already shown never move.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

/// What a scan keeps of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Scanned {
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<Vec<u8>>,
    pub event_type: String,
}

/// One partition's records read by a scan, in offset order.
#[derive(Debug)]
pub(super) struct PartitionBatch {
    pub topic: u32,
    pub partition: i32,
    pub records: Vec<Scanned>,
}

/// One record of the merged log (its position is its index + 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub topic: u32,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub stream: u32,
    pub event_type: u32,
    /// Ordinal within its stream, 1-based.
    pub version: u32,
}

/// The records of one key in one topic.
#[derive(Debug)]
pub(super) struct Stream {
    pub id: String,
    pub topic: u32,
    /// Log positions, in (partition, offset) order: version `v` is `positions[v - 1]`.
    pub positions: Vec<u64>,
}

/// The index.
#[derive(Debug, Default)]
pub(super) struct Index {
    pub log: Vec<Entry>,
    pub streams: Vec<Stream>,
    by_id: HashMap<String, u32>,
    /// Bare key → the streams of that key (one per topic that has it).
    by_key: HashMap<String, Vec<u32>>,
    pub types: Vec<String>,
    type_ids: HashMap<String, u32>,
    /// Per (topic, partition): its log positions in offset order.
    pub by_partition: HashMap<(u32, i32), Vec<u64>>,
    /// Per (topic, partition): the offset its first scan started at (its earliest then).
    pub start_offset: HashMap<(u32, i32), i64>,
    /// Per (topic, partition): the next offset to read.
    pub next_offset: HashMap<(u32, i32), i64>,
    /// Per (topic, partition): the high watermark the last fetch reported.
    pub high_watermark: HashMap<(u32, i32), i64>,
}

impl Index {
    /// Merges one scan's batches into the log (see the module doc).
    pub fn append(&mut self, batches: Vec<PartitionBatch>, topics: &[String]) {
        let mut heap = BinaryHeap::new();
        for (i, batch) in batches.iter().enumerate() {
            if let Some(first) = batch.records.first() {
                heap.push(Reverse((
                    first.timestamp_ms,
                    batch.topic,
                    batch.partition,
                    first.offset,
                    i,
                    0usize,
                )));
            }
        }
        let mut touched = BTreeSet::new();
        while let Some(Reverse((timestamp_ms, topic, partition, offset, batch, at))) = heap.pop() {
            let record = &batches[batch].records[at];
            let topic_name = topics.get(topic as usize).map_or("", String::as_str);
            let stream = self.stream_for(topic, topic_name, record.key.as_deref());
            let event_type = self.type_id(&record.event_type);
            self.log.push(Entry {
                topic,
                partition,
                offset,
                timestamp_ms,
                stream,
                event_type,
                version: 0,
            });
            let position = self.log.len() as u64;
            self.streams[stream as usize].positions.push(position);
            self.by_partition
                .entry((topic, partition))
                .or_default()
                .push(position);
            touched.insert(stream);
            if let Some(next) = batches[batch].records.get(at + 1) {
                heap.push(Reverse((
                    next.timestamp_ms,
                    topic,
                    partition,
                    next.offset,
                    batch,
                    at + 1,
                )));
            }
        }
        for stream in touched {
            self.renumber(stream);
        }
    }

    /// Puts a stream's positions in (partition, offset) order and numbers its entries.
    fn renumber(&mut self, stream: u32) {
        let log = &mut self.log;
        let positions = &mut self.streams[stream as usize].positions;
        let entry = |log: &[Entry], position: u64| log[usize::try_from(position - 1).unwrap_or(0)];
        positions.sort_by_key(|&position| {
            let e = entry(log, position);
            (e.partition, e.offset)
        });
        for (ordinal, &position) in positions.iter().enumerate() {
            if let Some(e) = log.get_mut(usize::try_from(position - 1).unwrap_or(usize::MAX)) {
                e.version = u32::try_from(ordinal + 1).unwrap_or(u32::MAX);
            }
        }
    }

    fn stream_for(&mut self, topic: u32, topic_name: &str, key: Option<&[u8]>) -> u32 {
        let id = super::stream_id_of(topic_name, key);
        if let Some(&stream) = self.by_id.get(&id) {
            return stream;
        }
        let stream = u32::try_from(self.streams.len()).unwrap_or(u32::MAX);
        let bare = id[topic_name.len() + 1..].to_owned();
        self.by_key.entry(bare).or_default().push(stream);
        self.by_id.insert(id.clone(), stream);
        self.streams.push(Stream {
            id,
            topic,
            positions: Vec::new(),
        });
        stream
    }

    fn type_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.type_ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.types.len()).unwrap_or(u32::MAX);
        self.types.push(name.to_owned());
        self.type_ids.insert(name.to_owned(), id);
        id
    }

    /// The stream named `id`: `topic/key`, or a bare key that only one topic has.
    pub fn resolve(&self, id: &str) -> Option<&Stream> {
        let stream = self.by_id.get(id).copied().or_else(|| {
            self.by_key
                .get(id)
                .filter(|streams| streams.len() == 1)
                .and_then(|streams| streams.first().copied())
        })?;
        self.streams.get(stream as usize)
    }

    /// The entry at a log position.
    pub fn entry(&self, position: u64) -> Option<&Entry> {
        self.log
            .get(usize::try_from(position.checked_sub(1)?).ok()?)
    }

    /// The timestamp of the first record of a partition at or after `offset` (`None` when
    /// the index has none there).
    pub fn timestamp_from(&self, topic: u32, partition: i32, offset: i64) -> Option<i64> {
        let positions = self.by_partition.get(&(topic, partition))?;
        let at = positions.partition_point(|&p| self.entry(p).is_some_and(|e| e.offset < offset));
        positions
            .get(at)
            .and_then(|&p| self.entry(p))
            .map(|e| e.timestamp_ms)
    }

    /// The id of an event type, if any record has it.
    pub fn type_id_of(&self, name: &str) -> Option<u32> {
        self.type_ids.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(offset: i64, timestamp_ms: i64, key: &str) -> Scanned {
        Scanned {
            offset,
            timestamp_ms,
            key: Some(key.as_bytes().to_vec()),
            event_type: "T".to_owned(),
        }
    }

    #[test]
    fn merges_by_time_keeping_partition_order() {
        let topics = vec!["orders".to_owned()];
        let mut index = Index::default();
        index.append(
            vec![
                PartitionBatch {
                    topic: 0,
                    partition: 0,
                    // A timestamp going backwards stays after its predecessor.
                    records: vec![scanned(0, 10, "a"), scanned(1, 5, "a"), scanned(2, 30, "b")],
                },
                PartitionBatch {
                    topic: 0,
                    partition: 1,
                    records: vec![scanned(0, 10, "c"), scanned(1, 20, "a")],
                },
            ],
            &topics,
        );
        let order: Vec<(i32, i64)> = index.log.iter().map(|e| (e.partition, e.offset)).collect();
        assert_eq!(order, [(0, 0), (0, 1), (1, 0), (1, 1), (0, 2)]);
        let a = index.resolve("orders/a").unwrap();
        // Versions follow (partition, offset), not the log.
        let places: Vec<(i32, i64, u32)> = a
            .positions
            .iter()
            .map(|&p| {
                let e = index.entry(p).unwrap();
                (e.partition, e.offset, e.version)
            })
            .collect();
        assert_eq!(places, [(0, 0, 1), (0, 1, 2), (1, 1, 3)]);
        assert!(
            index.resolve("a").is_some(),
            "a bare key only one topic has"
        );
        assert!(index.resolve("orders/zzz").is_none());

        // A later scan appends after what is there.
        index.append(
            vec![PartitionBatch {
                topic: 0,
                partition: 1,
                records: vec![scanned(2, 1, "a")],
            }],
            &topics,
        );
        assert_eq!(index.log.len(), 6);
        assert_eq!(index.entry(6).unwrap().version, 4);
        assert_eq!(index.timestamp_from(0, 1, 1), Some(20));
        assert_eq!(index.timestamp_from(0, 1, 2), Some(1));
        assert_eq!(index.timestamp_from(0, 1, 3), None);
        assert_eq!(index.timestamp_from(0, 0, -1), Some(10));
    }
}
