//! The eframe application: owns the state, dispatches background jobs, drains their
//! results, and lays out the views. `logic` handles messages and polling; `ui` draws and
//! then applies the commands the views produced.

#![warn(clippy::pedantic, missing_docs)]
// Counts and positions become f32/f64 only to draw them (progress bars, chart axes, row
// offsets): an error past the 24th bit is far below a pixel.
#![allow(clippy::cast_precision_loss)]
// Scroll offsets and chart coordinates go back to row and second counts; egui keeps them
// non-negative and far inside the integer range.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
// egui layout functions read top to bottom like the screen they draw, and a dispatch lists
// every variant; splitting them would scatter one screen or one match over many helpers.
#![allow(clippy::too_many_lines)]
// View state holds independent toggles (checkboxes, loading flags), not a state machine.
#![allow(clippy::struct_excessive_bools)]
// Commands and messages are moved out of their enum by the dispatch; taking their fields by
// value keeps each dispatch arm one line.
#![allow(clippy::needless_pass_by_value)]

/// Runs `$body` on the page in field `$page` with a [`PageCtx`] borrowing the shared parts
/// of the app (a macro, so the borrows of the page and of the shared fields stay apart),
/// then applies the commands the page produced. The streams page itself runs with
/// `with_page!(@ self, streams, None, |page, ctx| …)`: the open stream is its own state.
macro_rules! with_page {
    ($app:ident, $page:ident, |$p:ident, $ctx:ident| $body:expr) => {
        with_page!(@ $app, $page, $app.streams.focus(), |$p, $ctx| $body)
    };
    (@ $app:ident, $page:ident, $focus:expr, |$p:ident, $ctx:ident| $body:expr) => {{
        let mut commands = Vec::new();
        let result = {
            let $ctx = &mut $crate::context::page::PageCtx {
                jobs: &mut $app.jobs,
                store: $app.store.as_ref(),
                store_generation: $app.open_generation,
                view: $app.state.view,
                egui: &$app.egui_ctx,
                stream: $focus,
                mapping: $app.mapping.as_deref(),
                last_error: &mut $app.last_error,
                commands: &mut commands,
            };
            let $p = &mut $app.$page;
            $body
        };
        for command in commands {
            $app.apply(command);
        }
        result
    }};
}

pub use crate::context::store::OpenStore;
/// Re-exported from [`crate::context`], where pages and the app both import them.
pub use crate::context::{jobs, messages, paged, state};

mod commands;
pub(crate) mod demo;
mod handle;
mod layout;
mod requests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::context::jobs::Jobs;
use crate::core::EventSource;
use crate::ui::connect::ConnectState;
use crate::ui::pages::health::HealthPage;
use crate::ui::pages::inspector::InspectorPage;
use crate::ui::pages::log::LogPage;
use crate::ui::pages::projections::ProjectionsPage;
use crate::ui::pages::replay::ReplayPage;
use crate::ui::pages::search::SearchPage;
use crate::ui::pages::streams::StreamsPage;
use crate::ui::pages::trace::TracePage;
use crate::ui::pages::upcast::UpcastPage;
use messages::AppCommand;
use state::AppState;

/// What to show first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Startup {
    /// Open this store.
    Store(String),
    /// Create (if needed) and open the live demo store in the cache directory.
    Demo,
    /// Show the connect screen.
    Connect,
}

/// How often the head is polled while a store is open.
const HEAD_POLL: Duration = Duration::from_secs(1);
/// The first wait between automatic retries of failed reads (see `retry_pending`).
const AUTO_RETRY_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between automatic retries.
const AUTO_RETRY_MAX: Duration = Duration::from_mins(1);
/// Time budget for draining job results per frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(10);

/// The application.
pub struct EventscopeApp {
    /// Persisted state.
    pub state: AppState,
    /// Background jobs.
    pub jobs: Jobs,
    /// The open store.
    pub store: Option<OpenStore>,
    /// Connect screen.
    pub connect: ConnectState,
    /// The streams page (stream list, event table).
    pub streams: StreamsPage,
    /// The log page.
    pub log: LogPage,
    /// The inspector beside the streams and log pages.
    pub inspector: InspectorPage,
    /// The projections (lag) page.
    pub projections: ProjectionsPage,
    /// Replay views (time travel, snapshots, drift, reducers).
    pub replay: ReplayPage,
    /// The trace page.
    pub trace: TracePage,
    /// The search page.
    pub search: SearchPage,
    /// The Health page.
    pub health: HealthPage,
    /// The header's search field (Enter searches on the search page).
    pub header_search: String,
    /// The upcasters page.
    pub upcast: UpcastPage,
    /// Where lag history is kept (default: eventscope's data directory).
    pub history_dir: Option<std::path::PathBuf>,
    /// Last error, shown in the status bar.
    pub last_error: Option<String>,
    /// Mapping file for `SQLite` stores (from the command line).
    pub mapping: Option<std::path::PathBuf>,
    /// Where mappings applied from the connect screen are kept (default: `mappings/` in
    /// eventscope's settings directory).
    pub mappings_dir: Option<std::path::PathBuf>,
    /// The live demo writer, when running.
    demo: Option<demo::DemoRuntime>,
    /// A demo store is being created.
    pub demo_status: Option<String>,
    open_generation: u64,
    last_head_poll: Option<Instant>,
    head_job: Option<u64>,
    /// Something failed to load that is worth loading again once the store answers: the
    /// head poll (any store) or any read from a server store (its connection may have
    /// dropped). The next successful head poll reloads what failed, with backoff.
    retry_pending: bool,
    /// No automatic retry before this.
    next_auto_retry: Option<Instant>,
    /// Wait after an automatic retry before the next (doubles up to a minute while reads
    /// keep failing; back to a second once a poll finds nothing failed).
    auto_retry_backoff: Duration,
    info_job: Option<u64>,
    last_info: Option<Instant>,
    egui_ctx: egui::Context,
    title: String,
}

impl EventscopeApp {
    /// Creates the app from eframe's creation context (restores persisted state).
    #[must_use]
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        startup: Startup,
        mapping: Option<std::path::PathBuf>,
    ) -> Self {
        let state: AppState = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        Self::with_state(&cc.egui_ctx, state, startup, mapping)
    }

    /// Creates the app with explicit state (tests).
    ///
    /// # Panics
    /// When the OS refuses to start worker threads.
    #[must_use]
    pub fn with_state(
        ctx: &egui::Context,
        state: AppState,
        startup: Startup,
        mapping: Option<std::path::PathBuf>,
    ) -> Self {
        ctx.set_theme(state.theme.preference());
        // Rows are clickable as a whole; selectable labels would take their clicks. Values
        // are copied through buttons and context menus instead.
        ctx.all_styles_mut(|style| style.interaction.selectable_labels = false);
        let repaint_ctx = ctx.clone();
        let jobs = Jobs::new(Arc::new(move || repaint_ctx.request_repaint()))
            .expect("start worker threads");
        let mut app = Self {
            state,
            jobs,
            store: None,
            connect: ConnectState::default(),
            streams: StreamsPage::default(),
            log: LogPage::default(),
            inspector: InspectorPage::default(),
            projections: ProjectionsPage::default(),
            replay: ReplayPage::default(),
            trace: TracePage::default(),
            search: SearchPage::default(),
            health: HealthPage::default(),
            header_search: String::new(),
            upcast: UpcastPage::default(),
            history_dir: None,
            last_error: None,
            mapping,
            mappings_dir: crate::replay::config::default_settings_dir().map(|d| d.join("mappings")),
            demo: None,
            demo_status: None,
            open_generation: 0,
            last_head_poll: None,
            head_job: None,
            retry_pending: false,
            next_auto_retry: None,
            auto_retry_backoff: AUTO_RETRY_FIRST,
            info_job: None,
            last_info: None,
            egui_ctx: ctx.clone(),
            title: String::new(),
        };
        match startup {
            Startup::Store(location) => app.apply(AppCommand::Open(location)),
            Startup::Demo => app.start_demo(),
            Startup::Connect => {}
        }
        app
    }

    /// The source of the open store.
    fn source(&self) -> Option<Arc<dyn EventSource>> {
        self.store.as_ref().map(|s| s.source.clone())
    }

    /// Records an error for the status bar and the log.
    fn error(&mut self, context: &str, error: &str) {
        crate::context::page::record_error(&mut self.last_error, context, error);
    }

    /// Drains job results within the frame budget.
    fn drain(&mut self) {
        let started = Instant::now();
        let _span = tracing::trace_span!("drain").entered();
        while started.elapsed() < DRAIN_BUDGET {
            match self.jobs.receiver.try_recv() {
                Ok(msg) => self.handle(msg),
                Err(_) => return,
            }
        }
        self.egui_ctx.request_repaint();
    }

    fn poll(&mut self) {
        if self.store.is_none() {
            return;
        }
        let due = self.last_head_poll.is_none_or(|t| t.elapsed() >= HEAD_POLL);
        let idle = self.head_job.is_none_or(|id| !self.jobs.is_active(id));
        if due && idle {
            self.last_head_poll = Some(Instant::now());
            self.head_job = self.request_head();
            self.jobs.mark_poll(self.head_job);
        }
        with_page!(self, projections, |page, ctx| page.logic(ctx));
        with_page!(self, trace, |page, ctx| page.logic(ctx));
        with_page!(self, search, |page, ctx| page.logic(ctx));
        self.egui_ctx.request_repaint_after(HEAD_POLL);
    }

    fn update_title(&mut self) {
        let title = match &self.store {
            Some(store) => {
                let name = std::path::Path::new(&store.location)
                    .file_name()
                    .map_or_else(
                        || store.location.clone(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                match &store.info {
                    Some(info) => format!(
                        "eventscope — {name} · {} layout · {} streams · {} events · head {}",
                        info.layout,
                        crate::ui::thousands(info.stream_count),
                        info.event_count
                            .map_or_else(|| "?".to_owned(), crate::ui::thousands),
                        crate::ui::thousands(store.head.max(info.head_position))
                    ),
                    None => format!("eventscope — {name}"),
                }
            }
            None => "eventscope".to_owned(),
        };
        if title != self.title {
            self.egui_ctx
                .send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }
}

impl Drop for EventscopeApp {
    fn drop(&mut self) {
        // Stop background reads (SQLite statements are interrupted) and the demo writer.
        self.jobs.cancel_all();
        if let Some(demo) = self.demo.take() {
            demo.stop();
        }
    }
}

impl eframe::App for EventscopeApp {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain();
        self.poll();
        with_page!(self, upcast, |page, ctx| page.logic(ctx));
        with_page!(self, health, |page, ctx| page.logic(ctx));
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let commands = self.draw(ui);
        for command in commands {
            self.apply(command);
        }
        self.request_visible_pages();
        self.update_title();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.state);
    }

    fn on_exit(&mut self) {
        self.jobs.cancel_all();
        if let Some(demo) = self.demo.take() {
            demo.stop();
        }
    }
}
