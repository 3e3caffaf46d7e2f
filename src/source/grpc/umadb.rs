//! UmaDB over gRPC (source layer): `umadb.v1.DCB` Read, Head, GetTrackingInfo. (Over 600 lines: one client with its tag index, reads and conversions, which share its runtime and state.)
//!
//! UmaDB has no streams: events carry a type and tags. eventscope shows tags as streams by
//! a [`TagRule`] (default: tags shaped `prefix:value`, hiding tags that occur on a single
//! event, such as per-version tags), so an aggregate is a tag; an event's version in a tag
//! stream is its 1-based ordinal among the events carrying that tag. The global log is the
//! event sequence. Tracking info (sources named on appended events, or by the user) gives
//! checkpoints for the lag view.
//!
//! The tag index is built by reading the log once and then kept up to date incrementally
//! (only events after the last indexed position are read on later calls).
//!
//! URL: `umadb://[API_KEY@]HOST:PORT[?streams=prefixed|all|PREFIX,PREFIX…][&single=hide|show]
//! [&tracking=SOURCE,SOURCE…]`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tonic::transport::{Channel, Endpoint};

use crate::core::event::{
    Checkpoint, Event, FieldProblem, Payload, Snapshot, StoreInfo, StreamInfo,
};
use crate::core::metadata::IdPaths;
use crate::core::query::{Direction, LogQuery, MAX_PAGE, StreamQuery, StreamSort};
use crate::core::source::{EventSource, SourceError, SourceResult};

use super::{CALL_TIMEOUT, CONNECT_TIMEOUT, block_on_bounded, percent_decoded, redact_url};

/// Code generated from `proto/umadb/v1/umadb.proto` by build.rs (protox + tonic-prost-build).
#[allow(clippy::all, clippy::pedantic, missing_docs, reason = "generated code")]
pub mod proto {
    tonic::include_proto!("umadb.v1");
}

use proto::dcb_client::DcbClient;

/// Events requested per response chunk of a read.
const READ_BATCH: u32 = 1000;

/// Which tags are shown as streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagRule {
    /// Tags shaped `prefix:value` (both parts non-empty). The default.
    Prefixed,
    /// Every tag.
    All,
    /// Tags starting with one of these prefixes (e.g. `order:`).
    Prefixes(Vec<String>),
}

impl TagRule {
    fn matches(&self, tag: &str) -> bool {
        match self {
            Self::Prefixed => tag
                .split_once(':')
                .is_some_and(|(prefix, value)| !prefix.is_empty() && !value.is_empty()),
            Self::All => !tag.is_empty(),
            Self::Prefixes(prefixes) => prefixes.iter().any(|prefix| tag.starts_with(prefix)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Prefixed => "prefix:value tags".to_owned(),
            Self::All => "all tags".to_owned(),
            Self::Prefixes(prefixes) => format!("tags starting with {}", prefixes.join(", ")),
        }
    }
}

/// Options parsed from an `umadb://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UmaDbOptions {
    /// `http://host:port` for the gRPC channel.
    pub endpoint: String,
    /// API key (the URL's user-info part), sent as a bearer token.
    pub api_key: Option<String>,
    /// Which tags are streams.
    pub rule: TagRule,
    /// Show tags that occur on a single event as streams too.
    pub show_single_event_tags: bool,
    /// Tracking sources named by the user (added to those found on events).
    pub tracking_sources: Vec<String>,
    /// JSON paths of the correlation and causation ids in the metadata (`correlation=`,
    /// `causation=`); by default the usual keys are looked for.
    pub id_paths: IdPaths,
}

impl UmaDbOptions {
    /// Parses `umadb://[API_KEY@]HOST:PORT[?streams=…&single=…&tracking=…&correlation=…&causation=…]`.
    ///
    /// # Errors
    /// On a malformed URL or an unknown option.
    pub fn parse(url: &str) -> SourceResult<Self> {
        let bad = |why: &str| {
            SourceError::Open(format!("invalid UmaDB URL ({why}): {}", redact_url(url)))
        };
        let rest = url
            .trim()
            .get("umadb://".len()..)
            .filter(|_| url.trim().to_ascii_lowercase().starts_with("umadb://"))
            .ok_or_else(|| bad("expected umadb://HOST:PORT"))?;
        let (authority, query) = match rest.split_once('?') {
            Some((authority, query)) => (authority, query),
            None => (rest, ""),
        };
        let authority = authority.trim_end_matches('/');
        let (api_key, host_port) = match authority.rsplit_once('@') {
            Some((user_info, host_port)) => {
                // Accept `KEY@host` and `user:KEY@host` (the key is the secret part).
                let key = user_info.rsplit_once(':').map_or(user_info, |(_, key)| key);
                (Some(key.to_owned()).filter(|k| !k.is_empty()), host_port)
            }
            None => (None, authority),
        };
        if host_port.is_empty() {
            return Err(bad("no host"));
        }
        let host_port = if host_port
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        {
            host_port.to_owned()
        } else {
            format!("{host_port}:50051")
        };
        let mut options = Self {
            endpoint: format!("http://{host_port}"),
            api_key,
            rule: TagRule::Prefixed,
            show_single_event_tags: false,
            tracking_sources: Vec::new(),
            id_paths: IdPaths::default(),
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key.to_ascii_lowercase().as_str() {
                "streams" => {
                    options.rule = match value {
                        "prefixed" | "" => TagRule::Prefixed,
                        "all" => TagRule::All,
                        prefixes => TagRule::Prefixes(
                            prefixes
                                .split(',')
                                .filter(|p| !p.is_empty())
                                .map(str::to_owned)
                                .collect(),
                        ),
                    };
                }
                "correlation" => options.id_paths.correlation = Some(percent_decoded(value)),
                "causation" => options.id_paths.causation = Some(percent_decoded(value)),
                "single" => {
                    options.show_single_event_tags = match value {
                        "show" => true,
                        "hide" => false,
                        _ => return Err(bad("single= takes hide or show")),
                    };
                }
                "tracking" => options.tracking_sources.extend(
                    value
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                ),
                "api_key" | "apikey" => options.api_key = Some(value.to_owned()),
                "tls" if value == "true" => {
                    return Err(bad("TLS connections to UmaDB are not supported yet"));
                }
                "tls" => {}
                other => return Err(bad(&format!("unknown option {other}"))),
            }
        }
        Ok(options)
    }
}

/// Positions of the events carrying one tag, oldest first.
#[derive(Debug, Default)]
struct TagEntry {
    positions: Vec<u64>,
}

/// What a scan of the log learnt: tags with their event positions, event types, tracking
/// sources.
#[derive(Debug, Default)]
struct TagIndex {
    /// Last position read (0 = nothing yet).
    indexed_to: u64,
    event_count: u64,
    tags: HashMap<String, TagEntry>,
    event_types: BTreeSet<String>,
    tracking_sources: BTreeSet<String>,
}

impl TagIndex {
    /// Indexes one event read after the last one (older positions are skipped).
    fn add(&mut self, sequenced: proto::SequencedEvent) {
        let position = sequenced.position;
        if position <= self.indexed_to {
            return;
        }
        self.indexed_to = position;
        self.event_count += 1;
        if let Some(tracking) = &sequenced.tracking_info
            && !self.tracking_sources.contains(&tracking.source)
        {
            self.tracking_sources.insert(tracking.source.clone());
        }
        let Some(event) = sequenced.event else {
            return;
        };
        if !self.event_types.contains(&event.event_type) {
            self.event_types.insert(event.event_type);
        }
        for tag in event.tags {
            self.tags.entry(tag).or_default().positions.push(position);
        }
    }
}

/// Decodes `bytes` as a `ReadResponse` from an UmaDB server, indexes its events as the
/// source's catch-up does and turns each into an [`Event`] as a read does, with the
/// options of `url`: the entry point of the `umadb` fuzz target. Never panics, whatever
/// the bytes.
#[doc(hidden)]
pub fn decode_read_response_for_fuzzing(url: &str, bytes: &[u8]) -> Vec<Event> {
    use prost::Message as _;
    let Ok(options) = UmaDbOptions::parse(url) else {
        return Vec::new();
    };
    let Ok(response) = proto::ReadResponse::decode(bytes) else {
        return Vec::new();
    };
    let mut index = TagIndex::default();
    for sequenced in &response.events {
        index.add(sequenced.clone());
    }
    let first_tag = response
        .events
        .first()
        .and_then(|s| s.event.as_ref())
        .and_then(|e| e.tags.first().cloned());
    response
        .events
        .into_iter()
        .enumerate()
        .map(|(i, sequenced)| {
            let tag = if i % 2 == 0 {
                None
            } else {
                first_tag.as_deref()
            };
            event_of(&options, &index, sequenced, tag)
        })
        .collect()
}

/// A read-only UmaDB source.
pub struct UmaDbSource {
    location: String,
    options: UmaDbOptions,
    runtime: tokio::runtime::Runtime,
    channel: Channel,
    index: Mutex<TagIndex>,
    call_timeout: Duration,
}

impl std::fmt::Debug for UmaDbSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaDbSource")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl UmaDbSource {
    /// Connects to the server named by an `umadb://` URL and checks that it answers.
    ///
    /// # Errors
    /// On a malformed URL, an unreachable server or one that is not UmaDB.
    pub fn open(url: &str) -> SourceResult<Self> {
        Self::open_with_timeout(url, CALL_TIMEOUT)
    }

    /// [`Self::open`] with a custom per-call timeout (for tests of slow servers).
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with_timeout(url: &str, call_timeout: Duration) -> SourceResult<Self> {
        let options = UmaDbOptions::parse(url)?;
        let location = redact_url(url.trim());
        let runtime = super::runtime("umadb")?;
        let endpoint = Endpoint::from_shared(options.endpoint.clone())
            .map_err(|err| SourceError::Open(format!("invalid UmaDB address {location}: {err}")))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(call_timeout)
            .tcp_keepalive(Some(Duration::from_secs(10)))
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
        // A lazy channel reconnects by itself on the next call after the server comes back.
        let channel = {
            let _guard = runtime.enter();
            endpoint.connect_lazy()
        };
        let source = Self {
            location,
            options,
            runtime,
            channel,
            index: Mutex::new(TagIndex::default()),
            call_timeout,
        };
        source.head().map_err(SourceError::at_open)?;
        Ok(source)
    }

    fn client(&self) -> DcbClient<Channel> {
        DcbClient::new(self.channel.clone())
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(key) = &self.options.api_key
            && let Ok(value) = format!("Bearer {key}").parse()
        {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    fn status_error(&self, what: &str, status: &tonic::Status) -> SourceError {
        let reason = match status.code() {
            tonic::Code::Unavailable => format!("server unavailable ({})", status.message()),
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                format!("access denied: {} (check the API key)", status.message())
            }
            tonic::Code::DeadlineExceeded => "no answer in time (server slow)".to_owned(),
            tonic::Code::Unimplemented => "not an UmaDB server (method unknown)".to_owned(),
            _ => format!("{}: {}", status.code(), status.message()),
        };
        let source = std::error::Error::source(status)
            .map(|err| format!(" — {err}"))
            .unwrap_or_default();
        SourceError::Query(format!(
            "UmaDB {what} failed: {reason}{source}: {}",
            self.location
        ))
    }

    /// Reads up to `limit` events (server-side query, start, direction) in chunks, each
    /// chunk bounded by the call timeout.
    fn read_raw(
        &self,
        query: Option<proto::Query>,
        start: Option<u64>,
        backwards: bool,
        limit: Option<u32>,
    ) -> SourceResult<(Vec<proto::SequencedEvent>, Option<u64>)> {
        let request = self.request(proto::ReadRequest {
            query,
            start,
            backwards: Some(backwards),
            limit,
            batch_size: Some(READ_BATCH),
        });
        let mut client = self.client();
        let mut stream = block_on_bounded(&self.runtime, self.call_timeout, "UmaDB read", async {
            client
                .read(request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| self.status_error("read", &status))
        })?;
        let mut events = Vec::new();
        let mut head = None;
        loop {
            let chunk = block_on_bounded(&self.runtime, self.call_timeout, "UmaDB read", async {
                stream
                    .message()
                    .await
                    .map_err(|status| self.status_error("read", &status))
            })?;
            let Some(chunk) = chunk else { break };
            head = chunk.head.or(head);
            events.extend(chunk.events);
            if limit.is_some_and(|limit| events.len() >= limit as usize) {
                break;
            }
        }
        Ok((events, head))
    }

    /// Brings the tag index up to the current head.
    fn catch_up(&self) -> SourceResult<std::sync::MutexGuard<'_, TagIndex>> {
        let mut index = self
            .index
            .lock()
            .map_err(|_| SourceError::Query("UmaDB tag index poisoned".to_owned()))?;
        let head = self.head()?;
        while index.indexed_to < head {
            let start = index.indexed_to + 1;
            let (events, _) = self.read_raw(None, Some(start), false, Some(MAX_PAGE as u32))?;
            if events.is_empty() {
                break;
            }
            for sequenced in events {
                index.add(sequenced);
            }
            #[allow(clippy::cast_precision_loss)] // A progress fraction.
            crate::core::cancel::report_progress(index.indexed_to as f32 / head.max(1) as f32);
        }
        Ok(index)
    }

    fn visible(&self, tag: &str, entry: &TagEntry) -> bool {
        visible(&self.options, tag, entry)
    }

    fn stream_info(tag: &str, entry: &TagEntry) -> StreamInfo {
        StreamInfo {
            stream_id: tag.to_owned(),
            category: category_of_tag(tag),
            event_count: entry.positions.len() as u64,
            last_version: entry.positions.len() as u64,
            first_recorded_at: None,
            last_recorded_at: None,
            last_position: entry.positions.last().copied().unwrap_or(0),
        }
    }

    fn visible_streams(&self, index: &TagIndex, query: &StreamQuery) -> Vec<StreamInfo> {
        let filter = query.filter.as_ref().map(|f| f.to_ascii_lowercase());
        let mut streams: Vec<StreamInfo> = index
            .tags
            .iter()
            .filter(|(tag, entry)| self.visible(tag, entry))
            .filter(|(tag, _)| {
                filter
                    .as_ref()
                    .is_none_or(|f| tag.to_ascii_lowercase().contains(f.as_str()))
            })
            .filter(|(tag, _)| {
                query
                    .category
                    .as_ref()
                    .is_none_or(|category| &category_of_tag(tag) == category)
            })
            .map(|(tag, entry)| Self::stream_info(tag, entry))
            .collect();
        match query.sort {
            StreamSort::Id => streams.sort_by(|a, b| a.stream_id.cmp(&b.stream_id)),
            StreamSort::LastActivity => streams.sort_by(|a, b| {
                b.last_position
                    .cmp(&a.last_position)
                    .then_with(|| a.stream_id.cmp(&b.stream_id))
            }),
        }
        streams
    }

    fn to_event(
        &self,
        index: &TagIndex,
        sequenced: proto::SequencedEvent,
        tag: Option<&str>,
    ) -> Event {
        event_of(&self.options, index, sequenced, tag)
    }

    fn tracking_sources(&self, index: &TagIndex) -> Vec<String> {
        let mut names: BTreeSet<String> = index.tracking_sources.clone();
        names.extend(self.options.tracking_sources.iter().cloned());
        names.into_iter().collect()
    }
}

fn visible(options: &UmaDbOptions, tag: &str, entry: &TagEntry) -> bool {
    options.rule.matches(tag) && (options.show_single_event_tags || entry.positions.len() > 1)
}

/// The stream an event is shown in: its first tag that is a visible stream, else its
/// first tag matching the rule, else its first tag.
fn stream_of<'a>(
    options: &UmaDbOptions,
    index: &TagIndex,
    tags: &'a [String],
) -> Option<&'a String> {
    tags.iter()
        .find(|tag| {
            index
                .tags
                .get(*tag)
                .is_some_and(|entry| visible(options, tag, entry))
        })
        .or_else(|| tags.iter().find(|tag| options.rule.matches(tag)))
        .or_else(|| tags.first())
}

fn event_of(
    options: &UmaDbOptions,
    index: &TagIndex,
    sequenced: proto::SequencedEvent,
    tag: Option<&str>,
) -> Event {
    let position = sequenced.position;
    let event = sequenced.event.unwrap_or_default();
    let stream_id = match tag {
        Some(tag) => tag.to_owned(),
        None => stream_of(options, index, &event.tags)
            .cloned()
            .unwrap_or_default(),
    };
    let stream_version = index
        .tags
        .get(&stream_id)
        .and_then(|entry| entry.positions.binary_search(&position).ok())
        .map_or(0, |ordinal| ordinal as u64 + 1);
    let mut metadata = serde_json::Map::new();
    for entry in &event.metadata {
        metadata.insert(
            entry.key.clone(),
            serde_json::Value::String(entry.value.clone()),
        );
    }
    metadata.insert(
        "tags".to_owned(),
        serde_json::Value::Array(
            event
                .tags
                .iter()
                .map(|t| serde_json::Value::String(t.clone()))
                .collect(),
        ),
    );
    if let Some(tracking) = &sequenced.tracking_info {
        metadata.insert(
            "tracking".to_owned(),
            serde_json::json!({"source": tracking.source, "position": tracking.position}),
        );
    }
    let metadata = serde_json::Value::Object(metadata);
    let (correlation_id, causation_id) = options.id_paths.extract(&metadata);
    // Metadata values are text; each is read on its own, and one that cannot be read
    // is a problem of its field, not of the page.
    let mut problems = Vec::new();
    let recorded_at = first_text(
        &metadata,
        &["recorded_at", "timestamp", "created_at", "createdAt"],
    )
    .and_then(|(key, text)| {
        let time = crate::core::time::parse_timestamp(text);
        if time.is_none() {
            problems.push(FieldProblem::new(
                "recorded_at",
                format!("`{key}` in the metadata is not a time"),
                Some(text.to_owned()),
            ));
        }
        time
    });
    let schema_version =
        first_text(&metadata, &["schema_version", "schemaVersion"]).and_then(|(key, text)| {
            let version = text.trim().parse::<u32>().ok();
            if version.is_none() {
                problems.push(FieldProblem::new(
                    "schema_version",
                    format!("`{key}` in the metadata is not a whole number from 0 to 4294967295"),
                    Some(text.to_owned()),
                ));
            }
            version
        });
    Event {
        global_position: position,
        stream_id,
        stream_version,
        event_id: Some(event.uuid).filter(|uuid| !uuid.is_empty()),
        event_type: event.event_type,
        schema_version,
        recorded_at,
        payload: Payload::from_bytes(&event.data),
        metadata: Payload::from_json(metadata),
        correlation_id,
        causation_id,
        stored_type: None,
        problems,
    }
}

fn category_of_tag(tag: &str) -> String {
    tag.split_once(':')
        .map_or_else(String::new, |(prefix, _)| prefix.to_owned())
}

fn page_limit(limit: u64) -> u32 {
    u32::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(u32::MAX)
}

impl EventSource for UmaDbSource {
    fn info(&self) -> SourceResult<StoreInfo> {
        let index = self.catch_up()?;
        let stream_count = index
            .tags
            .iter()
            .filter(|(tag, entry)| self.visible(tag, entry))
            .count() as u64;
        Ok(StoreInfo {
            location: self.location.clone(),
            layout: "umadb".to_owned(),
            layout_detail: format!(
                "UmaDB over gRPC; streams are {}{}",
                self.options.rule.describe(),
                if self.options.show_single_event_tags {
                    ""
                } else {
                    " on more than one event"
                }
            ),
            stream_count,
            event_count: Some(index.event_count),
            head_position: index.indexed_to,
            snapshot_count: 0,
            checkpoint_names: self.tracking_sources(&index),
            others: Vec::new(),
        })
    }

    fn head(&self) -> SourceResult<u64> {
        let request = self.request(proto::HeadRequest {});
        let mut client = self.client();
        block_on_bounded(&self.runtime, self.call_timeout, "UmaDB head", async {
            client
                .head(request)
                .await
                .map(|response| response.into_inner().position.unwrap_or(0))
                .map_err(|status| self.status_error("head", &status))
        })
    }

    fn list_streams(&self, query: &StreamQuery) -> SourceResult<Vec<StreamInfo>> {
        let index = self.catch_up()?;
        let streams = self.visible_streams(&index, query);
        let offset = usize::try_from(query.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.limit.min(MAX_PAGE)).unwrap_or(usize::MAX);
        Ok(streams.into_iter().skip(offset).take(limit).collect())
    }

    fn count_streams(&self, query: &StreamQuery) -> SourceResult<u64> {
        let index = self.catch_up()?;
        Ok(self.visible_streams(&index, query).len() as u64)
    }

    fn categories(&self) -> SourceResult<Vec<(String, u64)>> {
        let index = self.catch_up()?;
        let mut categories: BTreeMap<String, u64> = BTreeMap::new();
        for (tag, entry) in &index.tags {
            if self.visible(tag, entry) {
                *categories.entry(category_of_tag(tag)).or_default() += 1;
            }
        }
        Ok(categories.into_iter().collect())
    }

    fn stream(&self, stream_id: &str) -> SourceResult<Option<StreamInfo>> {
        let index = self.catch_up()?;
        Ok(index
            .tags
            .get(stream_id)
            .map(|entry| Self::stream_info(stream_id, entry)))
    }

    fn read_stream(
        &self,
        stream_id: &str,
        from_version: Option<u64>,
        direction: Direction,
        limit: u64,
    ) -> SourceResult<Vec<Event>> {
        let index = self.catch_up()?;
        let Some(entry) = index.tags.get(stream_id) else {
            return Err(SourceError::StreamNotFound(stream_id.to_owned()));
        };
        let count = entry.positions.len() as u64;
        let backwards = direction == Direction::Backwards;
        let start = match from_version {
            None => None,
            Some(version) if backwards => {
                let version = version.min(count);
                if version == 0 {
                    return Ok(Vec::new());
                }
                Some(entry.positions[usize::try_from(version - 1).unwrap_or(0)])
            }
            Some(version) => {
                if version > count {
                    return Ok(Vec::new());
                }
                Some(entry.positions[usize::try_from(version.max(1) - 1).unwrap_or(0)])
            }
        };
        let query = proto::Query {
            items: vec![proto::QueryItem {
                types: Vec::new(),
                tags: vec![stream_id.to_owned()],
            }],
        };
        let (events, _) = self.read_raw(Some(query), start, backwards, Some(page_limit(limit)))?;
        Ok(events
            .into_iter()
            // Events appended after the index caught up are left for the next page.
            .filter(|e| e.position <= index.indexed_to)
            .map(|e| self.to_event(&index, e, Some(stream_id)))
            .collect())
    }

    fn read_log(&self, query: &LogQuery) -> SourceResult<Vec<Event>> {
        let index = self.catch_up()?;
        let limit = query.limit.clamp(1, MAX_PAGE);
        let backwards = query.direction == Direction::Backwards;
        let server_query = (!query.event_types.is_empty()).then(|| proto::Query {
            items: vec![proto::QueryItem {
                types: query.event_types.clone(),
                tags: Vec::new(),
            }],
        });
        let needs_client_filter =
            query.stream_prefix.is_some() || query.since.is_some() || query.until.is_some();
        let mut start = query.from_position;
        let mut out = Vec::new();
        // Client-side filters (stream prefix, time window) may need several pages.
        loop {
            let (events, _) = self.read_raw(
                server_query.clone(),
                start,
                backwards,
                Some(page_limit(limit)),
            )?;
            let Some(last) = events.last().map(|e| e.position) else {
                break;
            };
            let page_len = events.len() as u64;
            for sequenced in events {
                if sequenced.position > index.indexed_to {
                    continue;
                }
                let event = self.to_event(&index, sequenced, None);
                if !query.keeps_stream_and_time(&event) {
                    continue;
                }
                out.push(event);
                if out.len() as u64 >= limit {
                    return Ok(out);
                }
            }
            if !needs_client_filter || page_len < limit {
                break;
            }
            if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                return Err(SourceError::Cancelled);
            }
            start = if backwards {
                match last.checked_sub(1) {
                    Some(0) | None => break,
                    Some(next) => Some(next),
                }
            } else {
                Some(last + 1)
            };
        }
        Ok(out)
    }

    fn event_types(&self) -> SourceResult<Vec<String>> {
        let index = self.catch_up()?;
        Ok(index.event_types.iter().cloned().collect())
    }

    fn version_at(&self, stream_id: &str, at: DateTime<Utc>) -> SourceResult<Option<u64>> {
        // UmaDB keeps no timestamps; events that carry one in their metadata are used.
        let events = self.read_stream(stream_id, None, Direction::Forwards, MAX_PAGE)?;
        Ok(events
            .iter()
            .filter(|e| e.recorded_at.is_some_and(|t| t <= at))
            .map(|e| e.stream_version)
            .max())
    }

    fn snapshots(&self, _stream_id: &str) -> SourceResult<Vec<Snapshot>> {
        Ok(Vec::new())
    }

    fn checkpoints(&self) -> SourceResult<Vec<Checkpoint>> {
        let names = {
            let index = self.catch_up()?;
            self.tracking_sources(&index)
        };
        let mut checkpoints = Vec::with_capacity(names.len());
        for name in names {
            let request = self.request(proto::TrackingRequest {
                source: name.clone(),
            });
            let mut client = self.client();
            let position = block_on_bounded(
                &self.runtime,
                self.call_timeout,
                "UmaDB tracking info",
                async {
                    client
                        .get_tracking_info(request)
                        .await
                        .map(|response| response.into_inner().position)
                        .map_err(|status| self.status_error("tracking info", &status))
                },
            )?;
            checkpoints.push(Checkpoint::new(name, position.unwrap_or(0)));
        }
        Ok(checkpoints)
    }
}

/// The first of `keys` that is a text value in `metadata`, with its value.
fn first_text<'a>(
    metadata: &'a serde_json::Value,
    keys: &[&'static str],
) -> Option<(&'static str, &'a str)> {
    keys.iter().find_map(|key| {
        metadata
            .get(*key)
            .and_then(serde_json::Value::as_str)
            .map(|v| (*key, v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let options = UmaDbOptions::parse("umadb://127.0.0.1:50051").unwrap();
        assert_eq!(options.endpoint, "http://127.0.0.1:50051");
        assert_eq!(options.rule, TagRule::Prefixed);
        assert!(!options.show_single_event_tags);
        assert!(options.api_key.is_none());

        let options = UmaDbOptions::parse(
            "umadb://key123@db:7000/?streams=order:,account:&single=show&tracking=a,b",
        )
        .unwrap();
        assert_eq!(options.endpoint, "http://db:7000");
        assert_eq!(options.api_key.as_deref(), Some("key123"));
        assert_eq!(
            options.rule,
            TagRule::Prefixes(vec!["order:".to_owned(), "account:".to_owned()])
        );
        assert!(options.show_single_event_tags);
        assert_eq!(options.tracking_sources, ["a", "b"]);

        assert_eq!(
            UmaDbOptions::parse("umadb://localhost").unwrap().endpoint,
            "http://localhost:50051"
        );
        let err = UmaDbOptions::parse("umadb://secret@h:1?bogus=1").unwrap_err();
        assert!(err.to_string().contains("unknown option bogus"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn tag_rules() {
        assert!(TagRule::Prefixed.matches("order:42"));
        assert!(!TagRule::Prefixed.matches("order"));
        assert!(!TagRule::Prefixed.matches(":42"));
        assert!(!TagRule::Prefixed.matches("order:"));
        assert!(TagRule::All.matches("order"));
        assert!(TagRule::Prefixes(vec!["acc".to_owned()]).matches("account:1"));
        assert_eq!(category_of_tag("order:42"), "order");
        assert_eq!(category_of_tag("plain"), "");
    }
}
