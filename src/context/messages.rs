//! Messages from background jobs to the UI, and commands from views to the app.

use std::sync::Arc;

use crate::core::{Event, EventSource, StoreInfo, StreamInfo};

/// A result from a background job.
pub enum AppMsg {
    /// A store was opened (or failed to).
    Opened {
        /// Open request generation.
        generation: u64,
        /// What was opened.
        location: String,
        /// The source, or why not (an
        /// [`SourceError::Authentication`](crate::core::source::SourceError::Authentication)
        /// makes the connect screen ask for a password).
        result: Result<Arc<dyn EventSource>, crate::core::source::SourceError>,
        /// For a `SQLite` file of no known layout: a mapping drafted from its schema.
        draft: Option<String>,
    },
    /// The demo store is ready (or failed).
    DemoReady(Result<(std::path::PathBuf, crate::context::demo::DemoAnchor), String>),
    /// Store summary.
    Info(StoreInfo),
    /// Current head position.
    Head(u64),
    /// Stream count for the current stream query.
    StreamCount {
        /// Query generation.
        generation: u64,
        /// The count.
        count: u64,
    },
    /// A page of the stream list.
    StreamPage {
        /// Query generation.
        generation: u64,
        /// Page index.
        page: u64,
        /// Rows.
        rows: Vec<StreamInfo>,
    },
    /// Categories with counts.
    Categories(Vec<(String, u64)>),
    /// Event types.
    EventTypes(Vec<String>),
    /// The selected stream's summary.
    Stream {
        /// Stream selection generation.
        generation: u64,
        /// The summary (`None`: no such stream).
        info: Option<StreamInfo>,
    },
    /// A page of the selected stream's events.
    StreamEvents {
        /// Stream selection generation.
        generation: u64,
        /// Page index.
        page: u64,
        /// Events.
        events: Vec<Event>,
    },
    /// The version a "go to" resolved to.
    GoToVersion {
        /// Stream selection generation.
        generation: u64,
        /// The version (None: nothing that early).
        version: Option<u64>,
        /// What the user typed.
        query: String,
    },
    /// The event at a global position a "go to" asked for.
    GoToPosition {
        /// The event, when one has exactly that position.
        event: Option<Box<Event>>,
        /// The position asked for.
        position: u64,
    },
    /// Events of the global log.
    LogEvents {
        /// Log query generation.
        generation: u64,
        /// Where they go.
        placement: LogPlacement,
        /// Events in global order.
        events: Vec<Event>,
    },
    /// Pretty-printed lines of the inspected event.
    InspectorText {
        /// Inspector generation.
        generation: u64,
        /// Payload lines.
        payload: Vec<String>,
        /// Metadata lines.
        metadata: Vec<String>,
        /// Stored (raw) payload lines, when it differs.
        raw: Option<Vec<String>>,
    },
    /// Lag samples (live sampling, history or reconstruction).
    LagSamples {
        /// Store generation (samples of a previously open store are dropped).
        generation: u64,
        /// Samples per projection.
        samples: Vec<(String, crate::core::lag::LagSample)>,
        /// Per consumer group (Kafka), its partitions at this sample; empty otherwise.
        partitions: Vec<(String, Vec<crate::core::PartitionLag>)>,
        /// A note about where they came from, for the view.
        note: Option<String>,
    },
    /// The lag history of the open store is ready.
    HistoryReady {
        /// Store generation.
        generation: u64,
        /// The history.
        history: Arc<crate::history::LagHistory>,
    },
    /// A tracking store was attached.
    Attached {
        /// Where it is.
        location: String,
        /// The opened store.
        source: Arc<dyn EventSource>,
    },
    /// A file chosen in the native dialog.
    FilePicked(Option<std::path::PathBuf>),
    /// A job failed.
    Failed {
        /// Which job.
        job_id: u64,
        /// What it was doing.
        context: String,
        /// The error.
        error: String,
    },
    /// Progress of a job.
    JobProgress {
        /// Which job.
        job_id: u64,
        /// 0..1.
        fraction: f32,
    },
    /// A replay job's result.
    Replay(crate::context::replay::ReplayMsg),
    /// A trace job's result.
    Trace(crate::context::trace::TraceMsg),
    /// A search page job result.
    Search(crate::context::search::SearchMsg),
    /// A Health page job result.
    Health(crate::context::health::HealthMsg),
    /// A job ended.
    JobFinished {
        /// Which job.
        job_id: u64,
    },
    /// A result of the upcasters view's jobs.
    Upcast(Box<crate::context::upcast::UpcastMsg>),
}

/// Where log events go in the log view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogPlacement {
    /// Replace everything and scroll to the end.
    ReplaceAtEnd,
    /// Replace everything and scroll to the start.
    ReplaceAtStart,
    /// Append after the last loaded event.
    Append,
    /// Prepend before the first loaded event.
    Prepend,
}

/// Something a view asks the app to do after drawing.
#[derive(Clone, Debug, PartialEq)]
pub enum AppCommand {
    /// Open a store by location.
    Open(String),
    /// Save a mapping (edited from the connect screen's draft) in eventscope's settings and
    /// open the store with it.
    ApplyMapping {
        /// The store.
        location: String,
        /// The mapping's TOML.
        text: String,
    },
    /// Show the connect dialog.
    ShowConnect,
    /// Open the native file dialog.
    BrowseFile,
    /// Switch view.
    SetView(crate::context::state::View),
    /// Select a stream (and optionally scroll to / select a version).
    SelectStream {
        /// The stream.
        stream_id: String,
        /// A version to select.
        version: Option<u64>,
    },
    /// Inspect an event.
    Inspect(Box<Event>),
    /// Open an event in its stream (from the log).
    OpenInStream(Box<Event>),
    /// Go to a version or time in the selected stream.
    GoTo(String),
    /// The stream list query changed.
    StreamQueryChanged,
    /// The log query changed (reload newest).
    LogQueryChanged,
    /// Load the log from a position.
    LogFrom(u64),
    /// Load older / newer log events.
    LogMore {
        /// True for older.
        older: bool,
    },
    /// Attach the tracking store of a downstream application (for lag).
    AttachTracking(String),
    /// Cancel a job.
    Cancel(u64),
    /// Copy text to the clipboard.
    Copy(String),
    /// Dismiss the last error.
    DismissError,
    /// Runs the failed reads again (a server store's client reconnects on the way).
    Retry,
    /// A replay view's request.
    Replay(crate::context::replay::ReplayCommand),
    /// Set the theme.
    SetTheme(crate::context::state::ThemeChoice),
    /// Correlation tracing (trace an id, export, index control).
    Trace(crate::context::trace::TraceCommand),
    /// A search page command.
    Search(crate::context::search::SearchCommand),
    /// A Health page command.
    Health(crate::context::health::HealthCommand),
    /// A command of the upcasters view.
    Upcast(crate::context::upcast::UpcastCommand),
}
