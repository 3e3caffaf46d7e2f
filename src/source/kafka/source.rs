//! The Kafka source: topics listed at open, and the key index built by scanning every
//! partition in parallel (its reads are in `read.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rskafka::client::ClientBuilder;
use rskafka::client::partition::{PartitionClient, UnknownTopicHandling};

use crate::core::metadata::IdPaths;
use crate::core::source::{SourceError, SourceResult};

use super::KafkaOptions;
use super::fetch::{self, Progress, bounded};
use super::index::{Index, PartitionBatch};

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
    /// The offset the scan started at.
    start: i64,
    /// The next offset to read.
    next: i64,
    /// The high watermark the last fetch reported.
    high_watermark: i64,
}

/// A read-only Kafka source.
pub struct KafkaSource {
    pub(super) location: String,
    pub(super) options: KafkaOptions,
    pub(super) runtime: tokio::runtime::Runtime,
    pub(super) topics: Vec<TopicInfo>,
    pub(super) topic_names: Vec<String>,
    /// One client per (topic index, partition).
    pub(super) partitions: HashMap<(u32, i32), Arc<PartitionClient>>,
    pub(super) index: Mutex<Index>,
    pub(super) id_paths: IdPaths,
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

    pub(super) fn topic_name(&self, topic: u32) -> &str {
        self.topic_names
            .get(topic as usize)
            .map_or("", String::as_str)
    }

    pub(super) fn lock(&self) -> SourceResult<MutexGuard<'_, Index>> {
        self.index
            .lock()
            .map_err(|_| SourceError::Query("the Kafka key index is poisoned".to_owned()))
    }

    /// Reads every partition from where the index stopped until a fetch comes back empty,
    /// in parallel, reporting progress; merges what was read into the index. A cancel or
    /// an error leaves the index as it was.
    pub(super) fn catch_up(&self) -> SourceResult<MutexGuard<'_, Index>> {
        let mut index = self.lock()?;
        let starts: Vec<((u32, i32), Option<i64>)> = self
            .partitions
            .keys()
            .map(|key| (*key, index.next_offset.get(key).copied()))
            .collect();
        let scan = self.scan(starts)?;
        let mut batches = Vec::with_capacity(scan.len());
        for (key, scanned) in scan {
            index.start_offset.entry(key).or_insert(scanned.start);
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
                    start: 0,
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
                        Ok((start, next, high_watermark)) => {
                            slot.start = start;
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
}
