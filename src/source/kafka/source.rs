//! The Kafka [`EventSource`]: topics listed at open, a key index built by scanning every
//! partition in parallel, records fetched by offset for each page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rskafka::client::ClientBuilder;
use rskafka::client::partition::{PartitionClient, UnknownTopicHandling};

use crate::core::event::{Checkpoint, Event, Snapshot, StoreInfo, StreamInfo};
use crate::core::metadata::IdPaths;
use crate::core::query::{Direction, LogQuery, MAX_PAGE, StreamQuery, StreamSort};
use crate::core::source::{EventSource, SourceError, SourceResult};

use super::KafkaOptions;
use super::fetch::{self, Progress, bounded};
use super::index::{Entry, Index, PartitionBatch, Stream};
use super::record::{Placement, to_event};

/// A topic and its partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicInfo {
    /// The topic's name.
    pub name: String,
    /// Its partition ids, sorted.
    pub partitions: Vec<i32>,
}

/// What a scan read of one partition.
#[derive(Debug)]
struct ScannedPartition {
    batch: PartitionBatch,
    /// The next offset to read.
    next: i64,
    /// The high watermark the last fetch reported.
    high_watermark: i64,
}

/// A read-only Kafka source.
pub struct KafkaSource {
    location: String,
    options: KafkaOptions,
    runtime: tokio::runtime::Runtime,
    topics: Vec<TopicInfo>,
    topic_names: Vec<String>,
    /// One client per (topic index, partition).
    partitions: HashMap<(u32, i32), Arc<PartitionClient>>,
    index: Mutex<Index>,
    id_paths: IdPaths,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl KafkaSource {
    /// Connects to the brokers of a `kafka://` URL and lists the topics to read.
    ///
    /// # Errors
    /// On a malformed URL, unreachable brokers, or a `topics=` topic that does not exist.
    pub fn open(url: &str) -> SourceResult<Self> {
        let options = KafkaOptions::parse(url)?;
        let location = crate::source::grpc::redact_url(url.trim());
        let runtime = crate::source::runtime::runtime("kafka")?;
        let backoff = rskafka::BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 3.0,
            deadline: Some(options.timeout),
        };
        let builder = ClientBuilder::new(options.brokers.clone())
            .client_id(options.client_id.clone())
            .backoff_config(backoff);
        let open_error = |err: String| {
            SourceError::Open(format!("cannot reach the Kafka brokers: {err}: {location}"))
        };
        let client = bounded(&runtime, options.timeout, "connecting", async {
            builder.build().await.map_err(|e| open_error(e.to_string()))
        })
        .map_err(|err| match err {
            SourceError::Query(message) => open_error(message),
            other => other,
        })?;
        let listed = bounded(&runtime, options.timeout, "listing topics", async {
            client
                .list_topics()
                .await
                .map_err(|e| open_error(e.to_string()))
        })?;
        let mut topics: Vec<TopicInfo> = listed
            .into_iter()
            .filter(|topic| {
                if options.topics.is_empty() {
                    !topic.name.starts_with('_')
                } else {
                    options.topics.contains(&topic.name)
                }
            })
            .map(|topic| TopicInfo {
                name: topic.name,
                partitions: topic.partitions.into_iter().collect(),
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(missing) = options
            .topics
            .iter()
            .find(|name| !topics.iter().any(|topic| &topic.name == *name))
        {
            return Err(SourceError::Open(format!(
                "no topic {missing} on the Kafka brokers: {location}"
            )));
        }
        let client = Arc::new(client);
        let partitions = bounded(&runtime, options.timeout, "finding partition leaders", {
            let wanted: Vec<(u32, String, i32)> = topics
                .iter()
                .enumerate()
                .flat_map(|(i, topic)| {
                    let i = u32::try_from(i).unwrap_or(u32::MAX);
                    topic
                        .partitions
                        .iter()
                        .map(move |&p| (i, topic.name.clone(), p))
                })
                .collect();
            let client = Arc::clone(&client);
            async move {
                let mut tasks = tokio::task::JoinSet::new();
                for (i, name, partition) in wanted {
                    let client = Arc::clone(&client);
                    tasks.spawn(async move {
                        client
                            .partition_client(name.clone(), partition, UnknownTopicHandling::Error)
                            .await
                            .map(|pc| ((i, partition), Arc::new(pc)))
                            .map_err(|e| format!("{name}/{partition}: {e}"))
                    });
                }
                let mut partitions = HashMap::new();
                while let Some(done) = tasks.join_next().await {
                    let (key, pc) = done
                        .map_err(|e| SourceError::Open(e.to_string()))?
                        .map_err(|e| SourceError::Open(format!("Kafka partition {e}")))?;
                    partitions.insert(key, pc);
                }
                Ok(partitions)
            }
        })?;
        let topic_names = topics.iter().map(|t| t.name.clone()).collect();
        Ok(Self {
            location,
            options,
            runtime,
            topics,
            topic_names,
            partitions,
            index: Mutex::new(Index::default()),
            id_paths: IdPaths::default(),
        })
    }

    /// The topics read, with their partitions, sorted by name.
    #[must_use]
    pub fn topics(&self) -> &[TopicInfo] {
        &self.topics
    }

    /// The high watermark of every partition as the last fetch reported it, after bringing
    /// the index up to date: `(topic, partition, high watermark)`, sorted.
    ///
    /// # Errors
    /// When the brokers cannot be read.
    pub fn high_watermarks(&self) -> SourceResult<Vec<(String, i32, i64)>> {
        let index = self.catch_up()?;
        let mut marks: Vec<(String, i32, i64)> = index
            .high_watermark
            .iter()
            .map(|(&(topic, partition), &mark)| {
                (self.topic_name(topic).to_owned(), partition, mark)
            })
            .collect();
        marks.sort();
        Ok(marks)
    }

    fn topic_name(&self, topic: u32) -> &str {
        self.topic_names
            .get(topic as usize)
            .map_or("", String::as_str)
    }

    fn lock(&self) -> SourceResult<MutexGuard<'_, Index>> {
        self.index
            .lock()
            .map_err(|_| SourceError::Query("the Kafka key index is poisoned".to_owned()))
    }

    /// Reads every partition from where the index stopped until a fetch comes back empty,
    /// in parallel, reporting progress; merges what was read into the index. A cancel or
    /// an error leaves the index as it was.
    fn catch_up(&self) -> SourceResult<MutexGuard<'_, Index>> {
        let mut index = self.lock()?;
        let starts: Vec<((u32, i32), Option<i64>)> = self
            .partitions
            .keys()
            .map(|key| (*key, index.next_offset.get(key).copied()))
            .collect();
        let scan = self.scan(starts)?;
        let mut batches = Vec::with_capacity(scan.len());
        for (key, scanned) in scan {
            index.next_offset.insert(key, scanned.next);
            index.high_watermark.insert(key, scanned.high_watermark);
            batches.push(scanned.batch);
        }
        batches.sort_by_key(|b| (b.topic, b.partition));
        index.append(batches, &self.topic_names);
        Ok(index)
    }

    /// Scans the partitions from the given offsets (see [`Self::catch_up`]): per partition
    /// its records, the next offset and the last high watermark.
    fn scan(
        &self,
        starts: Vec<((u32, i32), Option<i64>)>,
    ) -> SourceResult<HashMap<(u32, i32), ScannedPartition>> {
        let cancelled = crate::source::runtime::cancelled(crate::core::cancel::current());
        let timeout = self.options.timeout;
        self.runtime.block_on(async move {
            let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
            let mut tasks = tokio::task::JoinSet::new();
            for (key, start) in starts {
                let Some(client) = self.partitions.get(&key).cloned() else {
                    continue;
                };
                let sender = sender.clone();
                let topic = self.topic_name(key.0).to_owned();
                tasks.spawn(async move {
                    let result =
                        fetch::scan_partition(&client, &topic, key, start, timeout, &sender).await;
                    sender
                        .send(Progress::Done(
                            key.0,
                            key.1,
                            result.map_err(|err| {
                                SourceError::Query(format!(
                                    "reading Kafka partition {topic}/{}: {err}",
                                    key.1
                                ))
                            }),
                        ))
                        .ok();
                });
            }
            drop(sender);
            let mut out: HashMap<(u32, i32), ScannedPartition> = HashMap::new();
            let mut spans: HashMap<(u32, i32), (i64, i64)> = HashMap::new();
            let mut read = 0u64;
            tokio::pin!(cancelled);
            loop {
                let message = tokio::select! {
                    message = receiver.recv() => message,
                    () = &mut cancelled => {
                        tasks.abort_all();
                        return Err(SourceError::Cancelled);
                    }
                };
                let Some(message) = message else { break };
                let key = match &message {
                    Progress::Fetched { key, .. } => *key,
                    Progress::Done(topic, partition, _) => (*topic, *partition),
                };
                let slot = out.entry(key).or_insert_with(|| ScannedPartition {
                    batch: PartitionBatch {
                        topic: key.0,
                        partition: key.1,
                        records: Vec::new(),
                    },
                    next: 0,
                    high_watermark: 0,
                });
                match message {
                    Progress::Fetched {
                        start,
                        records,
                        high_watermark,
                        ..
                    } => {
                        read += records.len() as u64;
                        slot.batch.records.extend(records);
                        spans.entry(key).or_insert((start, high_watermark)).1 = high_watermark;
                        let total: i64 = spans.values().map(|(s, h)| (h - s).max(0)).sum();
                        #[allow(clippy::cast_precision_loss)] // A progress fraction.
                        crate::core::cancel::report_progress(read as f32 / total.max(1) as f32);
                    }
                    Progress::Done(_, _, result) => match result {
                        Ok((next, high_watermark)) => {
                            slot.next = next;
                            slot.high_watermark = high_watermark;
                        }
                        Err(err) => {
                            tasks.abort_all();
                            return Err(SourceError::Query(format!("{err}: {}", self.location)));
                        }
                    },
                }
            }
            Ok(out)
        })
    }

    /// The events at these log entries, in the given order.
    fn events_at(&self, index: &Index, entries: &[(u64, Entry)]) -> SourceResult<Vec<Event>> {
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

    fn checkpoints(&self) -> SourceResult<Vec<Checkpoint>> {
        // Consumer-group offsets (OffsetFetch) are not read yet.
        Ok(Vec::new())
    }
}
