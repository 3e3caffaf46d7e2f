//! KurrentDB (EventStoreDB) over gRPC through the official `kurrentdb` client (source layer). (Over 600 lines: one client with its stream index, reads and conversions, which share its runtime and state; URL recognition lives in `grpc/mod.rs`.)
//!
//! - Connection strings as KurrentDB users write them: `kurrentdb://`, `esdb://` (and
//!   `kurrent://`, `kdb://`), `+discover` for clusters (gossip), `tls`, `tlsVerifyCert`,
//!   `tlsCaFile`, `user:password@`. TLS is on unless `tls=false`, as in the client.
//! - eventscope's own options ride along in the query and are removed before the string
//!   reaches the client: `snapshotStream=` (default `{stream}-snapshot`),
//!   `streamList=auto|projection|scan`, and `correlation=` / `causation=` (JSON paths of
//!   the ids in the event metadata, e.g. `$.trace.correlation`).
//! - The stream list comes from the `$streams` system projection's stream when it exists,
//!   otherwise from a scan of `$all` (kept up to date incrementally); `info` says which.
//! - Global positions are `$all` commit positions (log byte offsets, not event counts), so
//!   lag is measured in log positions.
//! - Traces use the by-correlation projection's `$bc-{id}` streams when they exist.
//! - Checkpoints: projection statistics (`C:…/P:…` positions) and persistent subscriptions
//!   (last checkpointed event; stream subscriptions are mapped to the checkpointed event's
//!   commit position).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kurrentdb::{
    Client, ClientSettings, ListPersistentSubscriptionsOptions, Position, ProjectionClient,
    ReadAllOptions, ReadStreamOptions, ResolvedEvent, StreamPosition, SubscriptionFilter,
};

use crate::core::event::{
    Checkpoint, Event, FieldProblem, Payload, Snapshot, StoreInfo, StreamInfo,
};
use crate::core::metadata::IdPaths;
use crate::core::query::{Direction, LogQuery, MAX_PAGE, StreamQuery, StreamSort};
use crate::core::source::{CorrelatedEvents, EventSource, SourceError, SourceResult};

use super::{CALL_TIMEOUT, block_on_bounded, percent_decoded, redact_url};

/// Events read per call while scanning `$all` or `$streams`.
const SCAN_PAGE: usize = 5_000;

/// How the stream list is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamListMode {
    /// `$streams` when it exists, else a scan of `$all`.
    Auto,
    /// Only the `$streams` projection's stream.
    Projection,
    /// Only a scan of `$all`.
    Scan,
}

/// eventscope's options for a KurrentDB connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KurrentOptions {
    /// The connection string as the client takes it (eventscope's own options removed).
    pub connection_string: String,
    /// Snapshot stream name pattern; `{stream}` is replaced by the stream id.
    pub snapshot_stream: String,
    /// How the stream list is built.
    pub stream_list: StreamListMode,
    /// JSON paths of the correlation and causation ids in the metadata (`correlation=`,
    /// `causation=`); by default the usual keys (`$correlationId` …) are looked for.
    pub id_paths: IdPaths,
}

impl KurrentOptions {
    /// Splits eventscope's options off a connection string.
    ///
    /// # Errors
    /// On an invalid option value.
    pub fn parse(url: &str) -> SourceResult<Self> {
        let url = url.trim();
        let mut snapshot_stream = "{stream}-snapshot".to_owned();
        let mut stream_list = StreamListMode::Auto;
        let mut id_paths = IdPaths::default();
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key.to_ascii_lowercase().as_str() {
                "snapshotstream" => snapshot_stream = value.to_owned(),
                "correlation" => id_paths.correlation = Some(percent_decoded(value)),
                "causation" => id_paths.causation = Some(percent_decoded(value)),
                "streamlist" => {
                    stream_list = match value.to_ascii_lowercase().as_str() {
                        "auto" => StreamListMode::Auto,
                        "projection" => StreamListMode::Projection,
                        "scan" => StreamListMode::Scan,
                        _ => {
                            return Err(SourceError::Open(format!(
                                "streamList= takes auto, projection or scan: {}",
                                redact_url(url)
                            )));
                        }
                    }
                }
                _ => kept.push(pair),
            }
        }
        // The client knows `kurrentdb://` and `esdb://` (and their +discover forms).
        let connection_string = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(Self {
            connection_string,
            snapshot_stream,
            stream_list,
            id_paths,
        })
    }
}

/// What is known about one stream from a scan.
#[derive(Clone, Debug, Default)]
struct StreamEntry {
    event_count: u64,
    last_version: u64,
    first_recorded_at: Option<DateTime<Utc>>,
    last_recorded_at: Option<DateTime<Utc>>,
    last_position: u64,
}

#[derive(Debug, Default)]
struct StreamIndex {
    /// Which source the list came from (decided on first use).
    from_projection: Option<bool>,
    /// `$all` scan: next position to read from; `$streams`: next revision.
    next: Option<u64>,
    streams: BTreeMap<String, StreamEntry>,
    event_types: BTreeSet<String>,
    event_count: u64,
}

/// A read-only KurrentDB source.
pub struct KurrentSource {
    location: String,
    options: KurrentOptions,
    runtime: tokio::runtime::Runtime,
    client: Client,
    projections: ProjectionClient,
    index: Mutex<StreamIndex>,
    call_timeout: Duration,
}

impl std::fmt::Debug for KurrentSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KurrentSource")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// The client's error texts are debug dumps of a gRPC status: keep only its message.
fn status_message(text: &str) -> &str {
    text.split_once("message: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or(text, |(message, _)| message)
}

fn kurrent_error(what: &str, location: &str, err: &kurrentdb::Error) -> SourceError {
    let reason = match err {
        kurrentdb::Error::AccessDenied => "access denied (check user and password)".to_owned(),
        kurrentdb::Error::DeadlineExceeded => "no answer in time (server slow)".to_owned(),
        kurrentdb::Error::GrpcConnectionError(inner) => {
            // The client's default is TLS on; a plaintext node never completes a handshake.
            let hint = if location.to_ascii_lowercase().contains("tls=false") {
                ""
            } else {
                " (TLS is on: check the certificate settings, or add tls=false for an insecure node)"
            };
            format!(
                "cannot connect to the server ({}){hint}",
                status_message(&inner.to_string())
            )
        }
        kurrentdb::Error::ServerError(text) => {
            let message = status_message(text);
            if message.contains("Connect") {
                format!("cannot connect to the server ({message})")
            } else if message.contains("SendRequest") {
                format!("the connection to the server was lost ({message})")
            } else {
                format!("server unavailable or failed ({message})")
            }
        }
        other => other.to_string(),
    };
    SourceError::Query(format!("KurrentDB {what} failed: {reason}: {location}"))
}

fn position_of(event: &ResolvedEvent) -> u64 {
    event
        .commit_position
        .or_else(|| event.event.as_ref().map(|e| e.position.commit))
        .unwrap_or(0)
}

impl KurrentSource {
    /// Connects with a KurrentDB connection string and checks that the server answers.
    ///
    /// # Errors
    /// On a malformed connection string, an unreachable server, a TLS failure or bad
    /// credentials.
    pub fn open(url: &str) -> SourceResult<Self> {
        Self::open_with_timeout(url, CALL_TIMEOUT)
    }

    /// [`Self::open`] with a custom per-call timeout.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with_timeout(url: &str, call_timeout: Duration) -> SourceResult<Self> {
        let location = redact_url(url.trim());
        let options = KurrentOptions::parse(url)?;
        let settings: ClientSettings = options.connection_string.parse().map_err(
            |err: kurrentdb::ClientSettingsParseError| {
                SourceError::Open(format!(
                    "invalid KurrentDB connection string ({err}): {location}"
                ))
            },
        )?;
        let runtime = super::runtime("kurrentdb")?;
        let client = Client::with_runtime_handle(runtime.handle().clone(), settings.clone())
            .map_err(|err| SourceError::Open(format!("KurrentDB client: {err}: {location}")))?;
        let projections = ProjectionClient::with_runtime_handle(runtime.handle().clone(), settings)
            .map_err(|err| SourceError::Open(format!("KurrentDB client: {err}: {location}")))?;
        let source = Self {
            location,
            options,
            runtime,
            client,
            projections,
            index: Mutex::new(StreamIndex::default()),
            call_timeout,
        };
        // One real read proves connection, TLS and credentials.
        source.head().map_err(SourceError::at_open)?;
        Ok(source)
    }

    fn bounded<T>(
        &self,
        what: &str,
        future: impl Future<Output = Result<T, kurrentdb::Error>>,
    ) -> SourceResult<T> {
        let location = self.location.clone();
        block_on_bounded(
            &self.runtime,
            self.call_timeout,
            &format!("KurrentDB {what}"),
            async move {
                future
                    .await
                    .map_err(|err| kurrent_error(what, &location, &err))
            },
        )
    }

    /// Reads a stream; `None` when it does not exist.
    fn read_stream_raw(
        &self,
        stream: &str,
        options: ReadStreamOptions,
        limit: usize,
    ) -> SourceResult<Option<Vec<ResolvedEvent>>> {
        let options = options.max_count(limit);
        let client = self.client.clone();
        let stream = stream.to_owned();
        self.bounded("read", async move {
            let read = async {
                let mut read = client.read_stream(stream.as_str(), &options).await?;
                let mut events = Vec::new();
                while let Some(event) = read.next().await? {
                    events.push(event);
                }
                Ok(events)
            };
            match read.await {
                Ok(events) => Ok(Some(events)),
                Err(kurrentdb::Error::ResourceNotFound) => Ok(None),
                Err(err) => Err(err),
            }
        })
    }

    fn read_all_raw(
        &self,
        options: ReadAllOptions,
        limit: usize,
    ) -> SourceResult<Vec<ResolvedEvent>> {
        let options = options.max_count(limit);
        let client = self.client.clone();
        self.bounded("read $all", async move {
            let mut read = client.read_all(&options).await?;
            let mut events = Vec::new();
            while let Some(event) = read.next().await? {
                events.push(event);
            }
            Ok(events)
        })
    }

    fn to_event(&self, event: &ResolvedEvent) -> Event {
        self.recorded_to_event(event.get_original_event(), position_of(event))
    }

    fn recorded_to_event(
        &self,
        recorded: &kurrentdb::RecordedEvent,
        global_position: u64,
    ) -> Event {
        let metadata = if recorded.custom_metadata.is_empty() {
            Payload::empty()
        } else {
            Payload::from_bytes(&recorded.custom_metadata)
        };
        let mut problems = Vec::new();
        if !metadata.is_empty() && !metadata.is_json() {
            problems.push(FieldProblem::new(
                "metadata",
                "not JSON (its correlation and causation ids cannot be read)",
                Some(FieldProblem::raw_of_bytes(&recorded.custom_metadata)),
            ));
        }
        let (correlation_id, causation_id) = metadata
            .as_json()
            .map(|m| self.options.id_paths.extract(m))
            .unwrap_or_default();
        let schema_version = metadata.as_json().and_then(|m| {
            let (key, value) = ["schema_version", "schemaVersion", "$schemaVersion"]
                .iter()
                .find_map(|k| m.get(*k).map(|v| (*k, v)))?;
            let version = value
                .as_u64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                .and_then(|v| u32::try_from(v).ok());
            if version.is_none() && !value.is_null() {
                problems.push(FieldProblem::new(
                    "schema_version",
                    format!("`{key}` in the metadata is not a whole number from 0 to 4294967295"),
                    Some(value.to_string()),
                ));
            }
            version
        });
        Event {
            global_position,
            stream_id: recorded.stream_id().to_owned(),
            stream_version: recorded.revision,
            event_id: Some(recorded.id.to_string()),
            event_type: recorded.event_type.clone(),
            schema_version,
            recorded_at: Some(recorded.created),
            payload: if recorded.data.is_empty() {
                Payload::empty()
            } else {
                Payload::from_bytes(&recorded.data)
            },
            metadata,
            correlation_id,
            causation_id,
            stored_type: None,
            problems,
        }
    }

    /// Brings the stream index up to date (from `$streams` or a scan of `$all`).
    fn catch_up(&self) -> SourceResult<std::sync::MutexGuard<'_, StreamIndex>> {
        let mut index = self
            .index
            .lock()
            .map_err(|_| SourceError::Query("KurrentDB stream index poisoned".to_owned()))?;
        let from_projection = match index.from_projection {
            Some(decided) => decided,
            None => {
                let decided = match self.options.stream_list {
                    StreamListMode::Scan => false,
                    StreamListMode::Projection => true,
                    StreamListMode::Auto => self
                        .read_stream_raw("$streams", ReadStreamOptions::default(), 1)?
                        .is_some(),
                };
                index.from_projection = Some(decided);
                decided
            }
        };
        if from_projection {
            self.catch_up_projection(&mut index)?;
        } else {
            self.catch_up_scan(&mut index)?;
        }
        Ok(index)
    }

    fn catch_up_projection(&self, index: &mut StreamIndex) -> SourceResult<()> {
        loop {
            let from = index.next.unwrap_or(0);
            let options = ReadStreamOptions::default()
                .position(StreamPosition::Position(from))
                .forwards();
            let Some(links) = self.read_stream_raw("$streams", options, SCAN_PAGE)? else {
                return Err(SourceError::Query(format!(
                    "the $streams projection's stream does not exist (enable the $streams system projection, or use streamList=scan): {}",
                    self.location
                )));
            };
            let read = links.len();
            for link in &links {
                let recorded = link.get_original_event();
                index.next = Some(recorded.revision + 1);
                // A link event's data is `N@stream`.
                let data = String::from_utf8_lossy(&recorded.data);
                if let Some((_, stream)) = data.split_once('@') {
                    index.streams.entry(stream.to_owned()).or_default();
                }
            }
            if read < SCAN_PAGE {
                return Ok(());
            }
        }
    }

    fn catch_up_scan(&self, index: &mut StreamIndex) -> SourceResult<()> {
        let head = self.head()?.max(1);
        loop {
            let options = match index.next {
                None => ReadAllOptions::default().position(StreamPosition::Start),
                Some(next) => {
                    ReadAllOptions::default().position(StreamPosition::Position(Position {
                        commit: next,
                        prepare: next,
                    }))
                }
            }
            .forwards()
            .filter(SubscriptionFilter::on_event_type().exclude_system_events());
            let events = self.read_all_raw(options, SCAN_PAGE)?;
            let read = events.len();
            for resolved in &events {
                let position = position_of(resolved);
                if index.next.is_some_and(|next| position < next) {
                    continue;
                }
                index.next = Some(position + 1);
                let recorded = resolved.get_original_event();
                index.event_count += 1;
                if !index.event_types.contains(&recorded.event_type) {
                    index.event_types.insert(recorded.event_type.clone());
                }
                let entry = index
                    .streams
                    .entry(recorded.stream_id().to_owned())
                    .or_default();
                entry.event_count += 1;
                entry.last_version = entry.last_version.max(recorded.revision);
                entry.first_recorded_at.get_or_insert(recorded.created);
                entry.last_recorded_at = Some(recorded.created);
                entry.last_position = position;
            }
            #[allow(clippy::cast_precision_loss)] // A progress fraction.
            crate::core::cancel::report_progress(index.next.unwrap_or(0) as f32 / head as f32);
            if read < SCAN_PAGE {
                return Ok(());
            }
            if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                return Err(SourceError::Cancelled);
            }
        }
    }

    /// Details of one stream read from the server (first and last events).
    fn stream_details(&self, stream_id: &str) -> SourceResult<Option<StreamInfo>> {
        let last = self.read_stream_raw(
            stream_id,
            ReadStreamOptions::default()
                .position(StreamPosition::End)
                .backwards(),
            1,
        )?;
        let Some(last) = last.and_then(|mut events| events.pop()) else {
            return Ok(None);
        };
        let first = self
            .read_stream_raw(
                stream_id,
                ReadStreamOptions::default()
                    .position(StreamPosition::Start)
                    .forwards(),
                1,
            )?
            .and_then(|mut events| events.pop());
        let last_recorded = last.get_original_event();
        let first_version = first
            .as_ref()
            .map_or(0, |e| e.get_original_event().revision);
        Ok(Some(StreamInfo {
            stream_id: stream_id.to_owned(),
            category: crate::core::ids::category_of(stream_id, '-'),
            event_count: last_recorded.revision - first_version + 1,
            last_version: last_recorded.revision,
            first_recorded_at: first.as_ref().map(|e| e.get_original_event().created),
            last_recorded_at: Some(last_recorded.created),
            last_position: position_of(&last),
        }))
    }

    fn matching_ids<'a>(index: &'a StreamIndex, query: &StreamQuery) -> Vec<&'a String> {
        let filter = query.filter.as_ref().map(|f| f.to_ascii_lowercase());
        index
            .streams
            .keys()
            .filter(|id| {
                filter
                    .as_ref()
                    .is_none_or(|f| id.to_ascii_lowercase().contains(f.as_str()))
            })
            .filter(|id| {
                query
                    .category
                    .as_ref()
                    .is_none_or(|c| &crate::core::ids::category_of(id, '-') == c)
            })
            .collect()
    }

    fn snapshot_stream_of(&self, stream_id: &str) -> String {
        self.options.snapshot_stream.replace("{stream}", stream_id)
    }

    /// The commit position of a stream's event at `revision`.
    fn position_of_revision(&self, stream: &str, revision: u64) -> SourceResult<Option<u64>> {
        let options = ReadStreamOptions::default()
            .position(StreamPosition::Position(revision))
            .forwards();
        Ok(self
            .read_stream_raw(stream, options, 1)?
            .and_then(|events| events.first().map(position_of)))
    }
}

fn entry_info(stream_id: &str, entry: &StreamEntry) -> StreamInfo {
    StreamInfo {
        stream_id: stream_id.to_owned(),
        category: crate::core::ids::category_of(stream_id, '-'),
        event_count: entry.event_count,
        last_version: entry.last_version,
        first_recorded_at: entry.first_recorded_at,
        last_recorded_at: entry.last_recorded_at,
        last_position: entry.last_position,
    }
}

fn limit_of(limit: u64) -> usize {
    usize::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(usize::MAX)
}

/// `C:123/P:120` → 123.
fn parse_commit_position(text: &str) -> Option<u64> {
    let rest = text.trim().strip_prefix("C:")?;
    let (commit, _) = rest.split_once('/')?;
    commit.parse().ok()
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl EventSource for KurrentSource {
    fn info(&self) -> SourceResult<StoreInfo> {
        let head = self.head()?;
        let index = self.catch_up()?;
        let from_projection = index.from_projection.unwrap_or(false);
        let checkpoint_names = {
            drop(index);
            self.checkpoints()?.into_iter().map(|c| c.name).collect()
        };
        let index = self.catch_up()?;
        Ok(StoreInfo {
            location: self.location.clone(),
            layout: "kurrentdb".to_owned(),
            layout_detail: if from_projection {
                "KurrentDB over gRPC; stream list from the $streams projection".to_owned()
            } else {
                "KurrentDB over gRPC; stream list from a scan of $all".to_owned()
            },
            stream_count: index.streams.len() as u64,
            event_count: (!from_projection).then_some(index.event_count),
            head_position: head,
            snapshot_count: 0,
            checkpoint_names,
            others: Vec::new(),
        })
    }

    fn head(&self) -> SourceResult<u64> {
        let options = ReadAllOptions::default()
            .position(StreamPosition::End)
            .backwards();
        let events = self.read_all_raw(options, 1)?;
        Ok(events.first().map_or(0, position_of))
    }

    fn list_streams(&self, query: &StreamQuery) -> SourceResult<Vec<StreamInfo>> {
        let index = self.catch_up()?;
        let from_projection = index.from_projection.unwrap_or(false);
        let offset = usize::try_from(query.offset).unwrap_or(usize::MAX);
        let limit = limit_of(query.limit);
        if from_projection {
            // `$streams` gives names only: details are read for the page shown. Sorting by
            // activity would need every stream's details, so the order stays by id.
            let ids: Vec<String> = Self::matching_ids(&index, query)
                .into_iter()
                .skip(offset)
                .take(limit)
                .cloned()
                .collect();
            drop(index);
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(info) = self.stream_details(&id)? {
                    out.push(info);
                }
            }
            return Ok(out);
        }
        let mut streams: Vec<StreamInfo> = Self::matching_ids(&index, query)
            .into_iter()
            .filter_map(|id| index.streams.get(id).map(|e| entry_info(id, e)))
            .collect();
        if query.sort == StreamSort::LastActivity {
            streams.sort_by(|a, b| {
                b.last_position
                    .cmp(&a.last_position)
                    .then_with(|| a.stream_id.cmp(&b.stream_id))
            });
        }
        Ok(streams.into_iter().skip(offset).take(limit).collect())
    }

    fn count_streams(&self, query: &StreamQuery) -> SourceResult<u64> {
        let index = self.catch_up()?;
        Ok(Self::matching_ids(&index, query).len() as u64)
    }

    fn categories(&self) -> SourceResult<Vec<(String, u64)>> {
        let index = self.catch_up()?;
        let mut categories: BTreeMap<String, u64> = BTreeMap::new();
        for id in index.streams.keys() {
            *categories
                .entry(crate::core::ids::category_of(id, '-'))
                .or_default() += 1;
        }
        Ok(categories.into_iter().collect())
    }

    fn stream(&self, stream_id: &str) -> SourceResult<Option<StreamInfo>> {
        let index = self.catch_up()?;
        if !index.from_projection.unwrap_or(false)
            && let Some(entry) = index.streams.get(stream_id)
        {
            return Ok(Some(entry_info(stream_id, entry)));
        }
        drop(index);
        self.stream_details(stream_id)
    }

    fn read_stream(
        &self,
        stream_id: &str,
        from_version: Option<u64>,
        direction: Direction,
        limit: u64,
    ) -> SourceResult<Vec<Event>> {
        let position = match (from_version, direction) {
            (Some(version), _) => StreamPosition::Position(version),
            (None, Direction::Forwards) => StreamPosition::Start,
            (None, Direction::Backwards) => StreamPosition::End,
        };
        let options = ReadStreamOptions::default().position(position);
        let options = match direction {
            Direction::Forwards => options.forwards(),
            Direction::Backwards => options.backwards(),
        };
        match self.read_stream_raw(stream_id, options, limit_of(limit))? {
            Some(events) => Ok(events.iter().map(|e| self.to_event(e)).collect()),
            None => Err(SourceError::StreamNotFound(stream_id.to_owned())),
        }
    }

    fn read_log(&self, query: &LogQuery) -> SourceResult<Vec<Event>> {
        let limit = limit_of(query.limit);
        let backwards = query.direction == Direction::Backwards;
        // One server-side filter per read: event types if given, else the stream prefix.
        let filter = if !query.event_types.is_empty() {
            let alternatives: Vec<String> =
                query.event_types.iter().map(|t| regex_escape(t)).collect();
            SubscriptionFilter::on_event_type().regex(format!("^({})$", alternatives.join("|")))
        } else if let Some(prefix) = &query.stream_prefix {
            SubscriptionFilter::on_stream_name().add_prefix(prefix)
        } else {
            SubscriptionFilter::on_event_type().exclude_system_events()
        };
        let mut from = query.from_position;
        let mut out = Vec::new();
        loop {
            let position = match from {
                None if backwards => StreamPosition::End,
                None => StreamPosition::Start,
                // Backward reads stop before the given position: ask from just after it.
                Some(p) if backwards => StreamPosition::Position(Position {
                    commit: p.saturating_add(1),
                    prepare: p.saturating_add(1),
                }),
                Some(p) => StreamPosition::Position(Position {
                    commit: p,
                    prepare: p,
                }),
            };
            let options = ReadAllOptions::default().position(position);
            let options = if backwards {
                options.backwards()
            } else {
                options.forwards()
            };
            let events = self.read_all_raw(options.filter(filter.clone()), limit)?;
            let read = events.len();
            let mut last = None;
            for resolved in &events {
                let event = self.to_event(resolved);
                last = Some(event.global_position);
                if event.event_type.starts_with('$') && query.event_types.is_empty() {
                    continue;
                }
                if !query.keeps_stream_and_time(&event) {
                    continue;
                }
                out.push(event);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            let Some(last) = last else { break };
            if read < limit {
                break;
            }
            from = if backwards {
                match last.checked_sub(1) {
                    Some(p) => Some(p),
                    None => break,
                }
            } else {
                Some(last + 1)
            };
            if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                return Err(SourceError::Cancelled);
            }
        }
        Ok(out)
    }

    fn event_types(&self) -> SourceResult<Vec<String>> {
        let index = self.catch_up()?;
        Ok(index.event_types.iter().cloned().collect())
    }

    fn version_at(&self, stream_id: &str, at: DateTime<Utc>) -> SourceResult<Option<u64>> {
        let mut found = None;
        let mut from = None;
        loop {
            let events = self.read_stream(stream_id, from, Direction::Forwards, MAX_PAGE)?;
            let read = events.len() as u64;
            for event in &events {
                if event.recorded_at.is_some_and(|t| t <= at) {
                    found = Some(event.stream_version);
                } else {
                    return Ok(found);
                }
            }
            match events.last() {
                Some(last) if read == MAX_PAGE => from = Some(last.stream_version + 1),
                _ => return Ok(found),
            }
        }
    }

    fn snapshots(&self, stream_id: &str) -> SourceResult<Vec<Snapshot>> {
        let snapshot_stream = self.snapshot_stream_of(stream_id);
        let Some(events) = self.read_stream_raw(
            &snapshot_stream,
            ReadStreamOptions::default()
                .position(StreamPosition::Start)
                .forwards(),
            limit_of(MAX_PAGE),
        )?
        else {
            return Ok(Vec::new());
        };
        Ok(events
            .iter()
            .filter_map(|resolved| {
                let event = self.to_event(resolved);
                let metadata = event.metadata.as_json()?;
                let version = [
                    "version",
                    "streamVersion",
                    "stream_version",
                    "$version",
                    "aggregateVersion",
                ]
                .iter()
                .find_map(|k| metadata.get(*k))
                .and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })?;
                Some(Snapshot {
                    stream_id: stream_id.to_owned(),
                    version,
                    schema_version: event.schema_version,
                    state: event.payload,
                    taken_at: event.recorded_at,
                })
            })
            .collect())
    }

    /// The by-correlation system projection's `$bc-{id}` stream, its links resolved: the
    /// events in `$all` order, as far as the projection has processed them. `None` when
    /// that stream does not exist (projection off, or no event with this id yet).
    fn correlated_events(&self, correlation_id: &str) -> SourceResult<Option<CorrelatedEvents>> {
        if self.options.id_paths.correlation.is_some() {
            // The projection indexes `$correlationId`; the user reads the id elsewhere.
            return Ok(None);
        }
        let stream = format!("$bc-{correlation_id}");
        let mut events = Vec::new();
        let mut from = 0;
        loop {
            let options = ReadStreamOptions::default()
                .position(StreamPosition::Position(from))
                .forwards()
                .resolve_link_tos();
            let Some(page) = self.read_stream_raw(&stream, options, SCAN_PAGE)? else {
                return Ok(None);
            };
            let read = page.len();
            for resolved in &page {
                from = resolved.get_original_event().revision + 1;
                // A link whose event was deleted or scavenged resolves to nothing.
                if let Some(target) = &resolved.event
                    && resolved.link.is_some()
                {
                    events.push(self.recorded_to_event(target, target.position.commit));
                }
            }
            if read < SCAN_PAGE {
                break;
            }
        }
        events.sort_by_key(|e| e.global_position);
        Ok(Some(CorrelatedEvents {
            origin: format!("KurrentDB's {stream} stream (by-correlation projection)"),
            events,
        }))
    }

    fn checkpoints(&self) -> SourceResult<Vec<Checkpoint>> {
        let mut checkpoints = Vec::new();
        let projections = self.projections.clone();
        let statuses = self.bounded("projection statistics", async move {
            use futures_util::TryStreamExt as _;
            let listed = async {
                let stream = projections
                    .list(&kurrentdb::GenericProjectionOptions::default())
                    .await?;
                stream.try_collect::<Vec<_>>().await
            };
            match listed.await {
                Ok(statuses) => Ok(statuses),
                // Servers without the projection subsystem.
                Err(kurrentdb::Error::UnsupportedFeature | kurrentdb::Error::ResourceNotFound) => {
                    Ok(Vec::new())
                }
                Err(err) => Err(err),
            }
        })?;
        for status in statuses {
            if let Some(position) = parse_commit_position(&status.position) {
                checkpoints.push(Checkpoint::new(status.name, position));
            }
        }
        let client = self.client.clone();
        let subscriptions = self.bounded("persistent subscriptions", async move {
            match client
                .list_all_persistent_subscriptions(&ListPersistentSubscriptionsOptions::default())
                .await
            {
                Ok(subscriptions) => Ok(subscriptions),
                Err(kurrentdb::Error::UnsupportedFeature | kurrentdb::Error::ResourceNotFound) => {
                    Ok(Vec::new())
                }
                Err(err) => Err(err),
            }
        })?;
        for subscription in subscriptions {
            let stats = &subscription.stats;
            let position = match (
                stats.last_checkpointed_position,
                stats.last_checkpointed_event_revision,
            ) {
                (Some(position), _) => Some(position.commit),
                (None, Some(revision)) => {
                    self.position_of_revision(&subscription.event_source, revision)?
                }
                (None, None) => Some(0),
            };
            let Some(position) = position else { continue };
            let name = format!("{}::{}", subscription.event_source, subscription.group_name);
            checkpoints.push(Checkpoint::new(name, position));
        }
        Ok(checkpoints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_split_off() {
        let options = KurrentOptions::parse(
            "esdb://admin:changeit@localhost:2113?tls=false&snapshotStream=snap-{stream}&streamList=scan",
        )
        .unwrap();
        assert_eq!(
            options.connection_string,
            "esdb://admin:changeit@localhost:2113?tls=false"
        );
        assert_eq!(options.snapshot_stream, "snap-{stream}");
        assert_eq!(options.stream_list, StreamListMode::Scan);
        let options = KurrentOptions::parse("kurrentdb+discover://a:2113,b:2113").unwrap();
        assert_eq!(options.snapshot_stream, "{stream}-snapshot");
        assert_eq!(options.stream_list, StreamListMode::Auto);
        assert!(KurrentOptions::parse("esdb://h?streamList=bogus").is_err());
    }

    #[test]
    fn positions() {
        assert_eq!(parse_commit_position("C:1234/P:1200"), Some(1234));
        assert_eq!(parse_commit_position("$ce-order: 12"), None);
        assert_eq!(regex_escape("a.b$"), "a\\.b\\$");
    }
}
