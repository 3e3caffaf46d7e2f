//! The Kafka source's reads: pages of streams and of the merged log answered from the key
//! index, the records themselves fetched by offset, every partition in parallel.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::core::event::{Checkpoint, Event, PartitionLag, Snapshot, StoreInfo, StreamInfo};
use crate::core::query::{Direction, LogQuery, MAX_PAGE, StreamQuery, StreamSort};
use crate::core::source::{CategoryLag, EventSource, SourceError, SourceResult};

use super::KafkaSource;
use super::index::{Entry, Index, Stream};
use super::record::{Placement, to_event};
use super::{fetch, groups};

impl KafkaSource {
    /// The events at these log entries, in the given order.
    pub(super) fn events_at(
        &self,
        index: &Index,
        entries: &[(u64, Entry)],
    ) -> SourceResult<Vec<Event>> {
        let mut wanted: HashMap<(u32, i32), Vec<i64>> = HashMap::new();
        for (_, entry) in entries {
            wanted
                .entry((entry.topic, entry.partition))
                .or_default()
                .push(entry.offset);
        }
        let timeout = self.options.timeout;
        let mut tasks = Vec::with_capacity(wanted.len());
        for (key, mut offsets) in wanted {
            offsets.sort_unstable();
            offsets.dedup();
            let client = self.partitions.get(&key).cloned().ok_or_else(|| {
                SourceError::Query(format!(
                    "no client for Kafka partition {}/{}",
                    self.topic_name(key.0),
                    key.1
                ))
            })?;
            tasks.push((key, client, offsets));
        }
        // Each partition's fetches are bounded by the timeout; the whole read by the cancel
        // flag and, as a backstop, the timeout per partition read.
        let total = timeout.saturating_mul(u32::try_from(entries.len().max(1)).unwrap_or(u32::MAX));
        let fetched = fetch::bounded(&self.runtime, total, "read", async {
            let mut set = tokio::task::JoinSet::new();
            for (key, client, offsets) in tasks {
                set.spawn(
                    async move { (key, fetch::fetch_offsets(client, offsets, timeout).await) },
                );
            }
            let mut records = HashMap::new();
            while let Some(done) = set.join_next().await {
                let (key, result) = done.map_err(|e| SourceError::Query(e.to_string()))?;
                let found = result.map_err(|err| {
                    SourceError::Query(format!(
                        "reading Kafka partition {}/{}: {err}: {}",
                        self.topic_name(key.0),
                        key.1,
                        self.location
                    ))
                })?;
                for (offset, record) in found {
                    records.insert((key.0, key.1, offset), record);
                }
            }
            Ok(records)
        })?;
        entries
            .iter()
            .map(|(position, entry)| {
                let record = fetched
                    .get(&(entry.topic, entry.partition, entry.offset))
                    .ok_or_else(|| {
                        SourceError::Query(format!(
                            "Kafka record {}/{}@{} was not returned by the broker",
                            self.topic_name(entry.topic),
                            entry.partition,
                            entry.offset
                        ))
                    })?;
                let event = to_event(
                    Placement {
                        topic: self.topic_name(entry.topic),
                        partition: entry.partition,
                        offset: entry.offset,
                        global_position: *position,
                        stream_version: u64::from(entry.version),
                    },
                    record,
                    &self.id_paths,
                );
                debug_assert_eq!(
                    index
                        .streams
                        .get(entry.stream as usize)
                        .map(|s| s.id.as_str()),
                    Some(event.stream_id.as_str())
                );
                Ok(event)
            })
            .collect()
    }

    fn stream_info(&self, index: &Index, stream: &Stream) -> StreamInfo {
        let time = |position: Option<&u64>| {
            position
                .and_then(|&p| index.entry(p))
                .and_then(|e| DateTime::<Utc>::from_timestamp_millis(e.timestamp_ms))
        };
        StreamInfo {
            stream_id: stream.id.clone(),
            category: self.topic_name(stream.topic).to_owned(),
            event_count: stream.positions.len() as u64,
            last_version: stream.positions.len() as u64,
            first_recorded_at: time(stream.positions.first()),
            last_recorded_at: time(stream.positions.last()),
            last_position: stream.positions.iter().copied().max().unwrap_or(0),
        }
    }

    fn matching_streams<'a>(&self, index: &'a Index, query: &StreamQuery) -> Vec<&'a Stream> {
        let filter = query.filter.as_ref().map(|f| f.to_ascii_lowercase());
        let mut streams: Vec<&Stream> = index
            .streams
            .iter()
            .filter(|s| {
                filter
                    .as_ref()
                    .is_none_or(|f| s.id.to_ascii_lowercase().contains(f.as_str()))
            })
            .filter(|s| {
                query
                    .category
                    .as_ref()
                    .is_none_or(|category| self.topic_name(s.topic) == category)
            })
            .collect();
        match query.sort {
            StreamSort::Id => streams.sort_by(|a, b| a.id.cmp(&b.id)),
            StreamSort::LastActivity => {
                let last = |s: &Stream| s.positions.iter().copied().max().unwrap_or(0);
                streams.sort_by(|a, b| last(b).cmp(&last(a)).then_with(|| a.id.cmp(&b.id)));
            }
        }
        streams
    }
}

impl EventSource for KafkaSource {
    fn info(&self) -> SourceResult<StoreInfo> {
        let index = self.catch_up()?;
        let topics: Vec<String> = self
            .topics
            .iter()
            .map(|t| {
                let n = t.partitions.len();
                format!(
                    "{} ({n} partition{})",
                    t.name,
                    if n == 1 { "" } else { "s" }
                )
            })
            .collect();
        Ok(StoreInfo {
            location: self.location.clone(),
            layout: "kafka".to_owned(),
            layout_detail: format!(
                "Kafka topics {}; a stream is a record key (topic/key); the log merges \
                 partitions by record timestamp",
                if topics.is_empty() {
                    "(none)".to_owned()
                } else {
                    topics.join(", ")
                }
            ),
            stream_count: index.streams.len() as u64,
            event_count: Some(index.log.len() as u64),
            head_position: index.log.len() as u64,
            snapshot_count: 0,
            checkpoint_names: Vec::new(),
            others: Vec::new(),
        })
    }

    fn head(&self) -> SourceResult<u64> {
        Ok(self.catch_up()?.log.len() as u64)
    }

    fn list_streams(&self, query: &StreamQuery) -> SourceResult<Vec<StreamInfo>> {
        let index = self.catch_up()?;
        let offset = usize::try_from(query.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.limit.min(MAX_PAGE)).unwrap_or(usize::MAX);
        Ok(self
            .matching_streams(&index, query)
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|s| self.stream_info(&index, s))
            .collect())
    }

    fn count_streams(&self, query: &StreamQuery) -> SourceResult<u64> {
        let index = self.catch_up()?;
        Ok(self.matching_streams(&index, query).len() as u64)
    }

    fn categories(&self) -> SourceResult<Vec<(String, u64)>> {
        let index = self.catch_up()?;
        let mut counts = vec![0u64; self.topics.len()];
        for stream in &index.streams {
            if let Some(count) = counts.get_mut(stream.topic as usize) {
                *count += 1;
            }
        }
        Ok(self.topic_names.iter().cloned().zip(counts).collect())
    }

    fn stream(&self, stream_id: &str) -> SourceResult<Option<StreamInfo>> {
        let index = self.catch_up()?;
        Ok(index
            .resolve(stream_id)
            .map(|s| self.stream_info(&index, s)))
    }

    fn read_stream(
        &self,
        stream_id: &str,
        from_version: Option<u64>,
        direction: Direction,
        limit: u64,
    ) -> SourceResult<Vec<Event>> {
        let index = self.catch_up()?;
        let stream = index
            .resolve(stream_id)
            .ok_or_else(|| SourceError::StreamNotFound(stream_id.to_owned()))?;
        let count = stream.positions.len() as u64;
        let limit = limit.clamp(1, MAX_PAGE);
        let versions: Vec<u64> = if direction == Direction::Backwards {
            let top = from_version.unwrap_or(count).min(count);
            (1..=top)
                .rev()
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .collect()
        } else {
            let from = from_version.unwrap_or(1).max(1);
            (from..=count)
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .collect()
        };
        let entries: Vec<(u64, Entry)> = versions
            .into_iter()
            .filter_map(|v| {
                let position = *stream.positions.get(usize::try_from(v - 1).ok()?)?;
                Some((position, *index.entry(position)?))
            })
            .collect();
        self.events_at(&index, &entries)
    }

    fn read_log(&self, query: &LogQuery) -> SourceResult<Vec<Event>> {
        let index = self.catch_up()?;
        let head = index.log.len() as u64;
        let limit = usize::try_from(query.limit.clamp(1, MAX_PAGE)).unwrap_or(usize::MAX);
        let types: Option<Vec<u32>> = (!query.event_types.is_empty()).then(|| {
            query
                .event_types
                .iter()
                .filter_map(|t| index.type_id_of(t))
                .collect()
        });
        let since = query.since.map(|t| t.timestamp_millis());
        let until = query.until.map(|t| t.timestamp_millis());
        let keeps = |entry: &Entry| {
            types
                .as_ref()
                .is_none_or(|types| types.contains(&entry.event_type))
                && since.is_none_or(|since| entry.timestamp_ms >= since)
                && until.is_none_or(|until| entry.timestamp_ms <= until)
                && query.stream_prefix.as_deref().is_none_or(|prefix| {
                    index
                        .streams
                        .get(entry.stream as usize)
                        .is_some_and(|s| s.id.starts_with(prefix))
                })
        };
        let positions: Box<dyn Iterator<Item = u64>> = if query.direction == Direction::Backwards {
            Box::new((1..=query.from_position.unwrap_or(head).min(head)).rev())
        } else {
            Box::new(query.from_position.unwrap_or(1).max(1)..=head)
        };
        let mut entries = Vec::new();
        for position in positions {
            let Some(entry) = index.entry(position) else {
                break;
            };
            if keeps(entry) {
                entries.push((position, *entry));
                if entries.len() >= limit {
                    break;
                }
            }
        }
        self.events_at(&index, &entries)
    }

    fn event_types(&self) -> SourceResult<Vec<String>> {
        let index = self.catch_up()?;
        let mut types = index.types.clone();
        types.sort();
        Ok(types)
    }

    fn version_at(&self, stream_id: &str, at: DateTime<Utc>) -> SourceResult<Option<u64>> {
        let index = self.catch_up()?;
        let stream = index
            .resolve(stream_id)
            .ok_or_else(|| SourceError::StreamNotFound(stream_id.to_owned()))?;
        let at = at.timestamp_millis();
        Ok(stream
            .positions
            .iter()
            .filter_map(|&p| index.entry(p))
            .filter(|e| e.timestamp_ms <= at)
            .map(|e| u64::from(e.version))
            .max())
    }

    fn snapshots(&self, _stream_id: &str) -> SourceResult<Vec<Snapshot>> {
        Ok(Vec::new())
    }

    /// One checkpoint per consumer group and topic it has committed offsets on (named by
    /// the group, or `group/topic` when it has several), with every partition's committed
    /// offset and high watermark. Groups with no committed offset on the topics read are
    /// left out (whether they read them at all would take their members' assignments).
    fn checkpoints(&self) -> SourceResult<Vec<Checkpoint>> {
        let topics: Vec<(String, Vec<i32>)> = self
            .topics
            .iter()
            .map(|t| (t.name.clone(), t.partitions.clone()))
            .collect();
        let timeout = self.options.timeout;
        let groups = fetch::bounded(
            &self.runtime,
            timeout.saturating_mul(4),
            "reading consumer groups",
            async {
                groups::committed_offsets(
                    &self.options.brokers,
                    &self.options.client_id,
                    timeout,
                    &topics,
                )
                .await
                .map_err(|err| {
                    SourceError::Query(format!(
                        "reading Kafka consumer groups: {err}: {}",
                        self.location
                    ))
                })
            },
        )?;
        let index = self.catch_up()?;
        let mut out = Vec::new();
        for (group, by_topic) in groups {
            let committed: Vec<(String, groups::Committed)> = by_topic
                .into_iter()
                .filter(|(_, offsets)| offsets.values().any(Option::is_some))
                .collect();
            let several = committed.len() > 1;
            for (topic, offsets) in committed {
                let Some(t) = self.topic_names.iter().position(|name| *name == topic) else {
                    continue;
                };
                let t = u32::try_from(t).unwrap_or(u32::MAX);
                let partitions: Vec<PartitionLag> = offsets
                    .iter()
                    .map(|(&partition, &committed)| {
                        let high_watermark = index
                            .high_watermark
                            .get(&(t, partition))
                            .copied()
                            .unwrap_or(0);
                        let from = committed
                            .or_else(|| index.start_offset.get(&(t, partition)).copied())
                            .unwrap_or(0);
                        PartitionLag {
                            partition,
                            committed,
                            high_watermark,
                            lag_events: u64::try_from(high_watermark - from).unwrap_or(0),
                        }
                    })
                    .collect();
                let position = partitions
                    .iter()
                    .filter_map(|p| p.committed)
                    .map(|c| u64::try_from(c).unwrap_or(0))
                    .sum();
                let mut checkpoint = Checkpoint::new(
                    if several {
                        format!("{group}/{topic}")
                    } else {
                        group.clone()
                    },
                    position,
                );
                checkpoint.category = Some(topic);
                checkpoint.partitions = partitions;
                out.push(checkpoint);
            }
        }
        Ok(out)
    }

    /// A consumer group's lag: records between its committed offsets and the high
    /// watermarks, summed over the partitions; its age the timestamp of the oldest
    /// unconsumed record.
    fn checkpoint_lag(&self, checkpoint: &Checkpoint) -> SourceResult<Option<CategoryLag>> {
        let Some(topic) = checkpoint.category.as_deref() else {
            return Ok(None);
        };
        let Some(t) = self.topic_names.iter().position(|name| name == topic) else {
            return Ok(None);
        };
        if checkpoint.partitions.is_empty() {
            return Ok(None);
        }
        let t = u32::try_from(t).unwrap_or(u32::MAX);
        let index = self.lock()?;
        let time = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms);
        let head = checkpoint
            .partitions
            .iter()
            .map(|p| u64::try_from(p.high_watermark).unwrap_or(0))
            .sum();
        let behind = checkpoint.partitions.iter().map(|p| p.lag_events).sum();
        let first_unprocessed_at = checkpoint
            .partitions
            .iter()
            .filter(|p| p.lag_events > 0)
            .filter_map(|p| {
                let from = p.committed.unwrap_or(i64::MIN);
                index.timestamp_from(t, p.partition, from)
            })
            .min()
            .and_then(time);
        let head_at = self
            .topics
            .get(t as usize)
            .into_iter()
            .flat_map(|info| info.partitions.iter())
            .filter_map(|&p| index.by_partition.get(&(t, p))?.last())
            .filter_map(|&position| index.entry(position))
            .map(|e| e.timestamp_ms)
            .max()
            .and_then(time);
        Ok(Some(CategoryLag {
            head,
            behind,
            first_unprocessed_at,
            head_at,
        }))
    }
}
