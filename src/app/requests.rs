//! Read requests: each turns into a background job whose result comes back as an
//! [`AppMsg`]. Nothing here blocks the UI thread.

use std::sync::Arc;

use crate::app::EventscopeApp;
use crate::context::jobs::Lane;
use crate::context::messages::{AppMsg, LogPlacement};
use crate::core::{Direction, LogQuery};

impl EventscopeApp {
    /// Spawns a read job on the open store; `read` runs on a worker and returns the
    /// message to send. Errors are reported with `context`.
    pub(super) fn spawn_read(
        &mut self,
        lane: Lane,
        label: &str,
        visible: bool,
        read: impl FnOnce(&dyn crate::core::EventSource) -> Result<AppMsg, crate::core::SourceError>
        + Send
        + 'static,
    ) -> Option<u64> {
        let source = self.source()?;
        crate::context::page::spawn_read(&mut self.jobs, source, lane, label, visible, read)
    }

    pub(super) fn request_head(&mut self) -> Option<u64> {
        self.spawn_read(Lane::Interactive, "Reading head", false, |source| {
            Ok(AppMsg::Head(source.head()?))
        })
    }

    pub(super) fn request_info(&mut self) {
        if self.info_job.is_some_and(|id| self.jobs.is_active(id)) {
            return;
        }
        self.last_info = Some(std::time::Instant::now());
        self.info_job =
            self.spawn_read(Lane::Background, "Reading store summary", true, |source| {
                Ok(AppMsg::Info(source.info()?))
            });
    }

    pub(super) fn request_store_lists(&mut self) {
        self.spawn_read(Lane::Background, "Listing categories", true, |source| {
            Ok(AppMsg::Categories(source.categories()?))
        });
        self.spawn_read(Lane::Background, "Listing event types", true, |source| {
            Ok(AppMsg::EventTypes(source.event_types()?))
        });
    }

    /// Restarts the stream list for the current filter.
    pub(super) fn reload_streams(&mut self) {
        let generation = self.streams.rows.reset();
        if let Some(job) = self.count_job.take() {
            self.jobs.cancel(job);
        }
        self.request_stream_count(generation);
        self.streams.scroll_to = Some(0);
    }

    fn request_stream_count(&mut self, generation: u64) {
        let query = self.streams.query(0);
        self.count_job =
            self.spawn_read(Lane::Background, "Counting streams", true, move |source| {
                Ok(AppMsg::StreamCount {
                    generation,
                    count: source.count_streams(&query)?,
                })
            });
    }

    /// Runs again what failed to load, keeping everything already shown: after the user
    /// asks (Retry / Reconnect in the status bar) and when the store answers again after
    /// its head could not be read (a server came back). Failed pages of the stream list
    /// and the stream, the stream count, the summary and lists, the selected stream's
    /// summary and an empty log are asked for again; the head is polled now.
    pub(super) fn retry_failed(&mut self) {
        if self.store.is_none() {
            return;
        }
        self.last_error = None;
        self.streams.rows.retry();
        self.stream_view.rows.retry();
        if self.streams.rows.total.is_none()
            && !self.count_job.is_some_and(|id| self.jobs.is_active(id))
        {
            self.request_stream_count(self.streams.rows.generation);
        }
        self.request_info();
        if self.streams.categories.is_none() || self.log.all_types.is_none() {
            self.request_store_lists();
        }
        if self.stream_view.stream_id.is_some() && self.stream_view.info.is_none() {
            self.request_stream();
        }
        if self.log.events.is_empty() && !self.log.loading.1 {
            self.request_log(LogPlacement::ReplaceAtEnd, None);
        }
        self.last_head_poll = None;
    }

    /// Requests the pages of visible rows that are not loaded yet.
    pub(super) fn request_visible_pages(&mut self) {
        if self.store.is_none() {
            return;
        }
        let (first, last) = self.streams.visible;
        for job in self.streams.rows.stale(first, last) {
            self.jobs.cancel(job);
        }
        let mut pages = self.streams.rows.want(first, last);
        if std::mem::take(&mut self.refresh_streams) {
            pages.extend(self.streams.rows.refresh(first, last));
        }
        for page in pages {
            let generation = self.streams.rows.generation;
            let query = self.streams.query(page);
            let job = self.spawn_read(Lane::Interactive, "Loading streams", false, move |source| {
                Ok(AppMsg::StreamPage {
                    generation,
                    page,
                    rows: source.list_streams(&query)?,
                })
            });
            match job {
                Some(job) => self.streams.rows.set_job(page, job),
                None => self.streams.rows.abandon(page),
            }
        }
        if let (Some(stream_id), Some(_)) =
            (self.stream_view.stream_id.clone(), &self.stream_view.info)
        {
            let (first, last) = self.stream_view.visible;
            for job in self.stream_view.rows.stale(first, last) {
                self.jobs.cancel(job);
            }
            let first_version = self.stream_view.first_version();
            let page_size = self.stream_view.rows.page_size;
            for page in self.stream_view.rows.want(first, last) {
                let generation = self.stream_view.rows.generation;
                let stream_id = stream_id.clone();
                let from = first_version + page * page_size;
                let job =
                    self.spawn_read(Lane::Interactive, "Loading events", false, move |source| {
                        let events = source.read_stream(
                            &stream_id,
                            Some(from),
                            Direction::Forwards,
                            page_size,
                        )?;
                        Ok(AppMsg::StreamEvents {
                            generation,
                            page,
                            events,
                        })
                    });
                match job {
                    Some(job) => self.stream_view.rows.set_job(page, job),
                    None => self.stream_view.rows.abandon(page),
                }
            }
        }
    }

    /// Loads the selected stream's summary.
    pub(super) fn request_stream(&mut self) {
        let Some(stream_id) = self.stream_view.stream_id.clone() else {
            return;
        };
        let generation = self.stream_view.generation;
        self.stream_view.load_error = None;
        self.stream_view.summary_job =
            self.spawn_read(Lane::Interactive, "Reading stream", false, move |source| {
                Ok(AppMsg::Stream {
                    generation,
                    info: source.stream(&stream_id)?,
                })
            });
    }

    /// Loads log events for the current filters.
    pub(super) fn request_log(&mut self, placement: LogPlacement, from: Option<u64>) {
        let mut query = match self.log.scope() {
            Ok(query) => query,
            Err(message) => {
                self.log.filter_error = Some(message);
                return;
            }
        };
        self.log.filter_error = None;
        match placement {
            LogPlacement::ReplaceAtEnd => {
                self.log.generation += 1;
                query.direction = Direction::Backwards;
                query.limit = self.log.newest_count();
                self.log.loading = (true, true);
            }
            LogPlacement::ReplaceAtStart => {
                self.log.generation += 1;
                query.from_position = from;
                self.log.loading = (true, true);
            }
            LogPlacement::Prepend => {
                let Some(first) = self.log.events.first() else {
                    return;
                };
                if first.global_position <= 1 {
                    self.log.at_start = true;
                    return;
                }
                query.from_position = Some(first.global_position - 1);
                query.direction = Direction::Backwards;
                self.log.loading.0 = true;
            }
            LogPlacement::Append => {
                let Some(last) = self.log.events.last() else {
                    return self.request_log(LogPlacement::ReplaceAtEnd, None);
                };
                query.from_position = Some(last.global_position + 1);
                self.log.loading.1 = true;
            }
        }
        let generation = self.log.generation;
        let visible = matches!(
            placement,
            LogPlacement::ReplaceAtEnd | LogPlacement::ReplaceAtStart
        );
        let job = self.spawn_read(
            Lane::Interactive,
            "Reading the log",
            visible,
            move |source| {
                let mut events = source.read_log(&query)?;
                if query.direction == Direction::Backwards {
                    events.reverse();
                }
                Ok(AppMsg::LogEvents {
                    generation,
                    placement,
                    events,
                })
            },
        );
        if job.is_none() {
            self.log.loading = (false, false);
        }
    }

    /// Resolves a "go to" that needs the store (a time).
    pub(super) fn request_version_at(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        query_text: String,
    ) {
        let Some(stream_id) = self.stream_view.stream_id.clone() else {
            return;
        };
        let generation = self.stream_view.generation;
        self.spawn_read(
            Lane::Interactive,
            "Finding version at time",
            true,
            move |source| {
                Ok(AppMsg::GoToVersion {
                    generation,
                    version: source.version_at(&stream_id, at)?,
                    query: query_text,
                })
            },
        );
    }

    /// Pretty-prints the inspected event in the background (payloads can be megabytes).
    pub(super) fn request_inspector_text(&mut self) {
        let Some(event) = self.inspector.event.clone() else {
            return;
        };
        let generation = self.inspector.generation;
        self.jobs
            .spawn(Lane::Interactive, "Formatting payload", false, move |job| {
                // Parses payload and metadata here, off the UI thread; the parsed values
                // are shared with the inspected event (clones share them).
                let payload = crate::ui::inspector::pretty_lines(&event.payload, false);
                let metadata = crate::ui::inspector::pretty_lines(&event.metadata, false);
                let raw = event
                    .payload
                    .is_decoded()
                    .then(|| crate::ui::inspector::pretty_lines(&event.payload, true));
                job.send(AppMsg::InspectorText {
                    generation,
                    payload,
                    metadata,
                    raw,
                });
            });
    }

    /// Samples the lag of every projection (cheap reads: checkpoints, head, one event each).
    pub(super) fn request_lag_sample(&mut self) -> Option<u64> {
        let attached = self.attached.clone();
        let generation = self.open_generation;
        let history = self.lag_history.clone();
        self.spawn_read(Lane::Interactive, "Sampling lag", false, move |source| {
            let samples = crate::source::lag::sample_lag(source, &attached, chrono::Utc::now())?;
            if let Some(history) = history
                && let Err(error) = history.record(&samples)
            {
                tracing::warn!("recording lag history: {error}");
            }
            Ok(AppMsg::LagSamples {
                generation,
                samples,
                note: None,
            })
        })
    }

    /// Opens the store's lag history (eventscope's own file) and loads the last week.
    pub(super) fn request_history(&mut self, location: &str) {
        let generation = self.open_generation;
        let identity = crate::history::store_identity(location);
        let dir = self.history_dir.clone();
        self.jobs
            .spawn(Lane::Background, "Loading lag history", false, move |job| {
                let opened = match &dir {
                    Some(dir) => crate::history::LagHistory::open_in(dir, &identity),
                    None => crate::history::LagHistory::open(&identity),
                };
                let history = match opened {
                    Ok(history) => Arc::new(history),
                    Err(error) => {
                        tracing::warn!("lag history unavailable: {error}");
                        return;
                    }
                };
                let since = chrono::Utc::now() - chrono::TimeDelta::days(7);
                match history.load(since) {
                    Ok(series) => {
                        let count: usize = series.iter().map(|(_, s)| s.len()).sum();
                        let samples = series
                            .into_iter()
                            .flat_map(|(name, samples)| {
                                samples.into_iter().map(move |s| (name.clone(), s))
                            })
                            .collect();
                        let place = history
                            .path()
                            .map_or_else(String::new, |p| format!(" ({})", p.display()));
                        let note = (count > 0)
                            .then(|| format!("{count} samples from earlier sessions{place}"));
                        job.send(AppMsg::LagSamples {
                            generation,
                            samples,
                            note,
                        });
                    }
                    Err(error) => tracing::warn!("loading lag history: {error}"),
                }
                job.send(AppMsg::HistoryReady {
                    generation,
                    history,
                });
            });
    }

    /// Keeps the lag history bounded (downsampling and retention).
    pub(super) fn compact_lag_history(&mut self) {
        let Some(history) = self.lag_history.clone() else {
            return;
        };
        self.jobs.spawn(
            Lane::Background,
            "Compacting lag history",
            false,
            move |_| {
                if let Err(error) = history.compact(chrono::Utc::now()) {
                    tracing::warn!("compacting lag history: {error}");
                }
            },
        );
    }

    /// Fills the lag chart from the store's own checkpoint history, where it keeps one.
    pub(super) fn request_lag_history(&mut self) {
        let generation = self.open_generation;
        self.spawn_read(
            Lane::Background,
            "Reconstructing past lag",
            true,
            move |source| {
                // The newest rows of the history, whenever the store was last written.
                let samples = crate::source::lag::reconstruct_lag(source, None, 5_000)?;
                let note = (!samples.is_empty()).then(|| {
                    format!(
                        "{} past samples reconstructed from the store's checkpoint history",
                        samples.len()
                    )
                });
                Ok(AppMsg::LagSamples {
                    generation,
                    samples,
                    note,
                })
            },
        );
    }

    /// Opens a downstream application's tracking store and adds its checkpoints.
    pub(super) fn attach_tracking(&mut self, location: String) {
        let options = crate::source::OpenOptions::default();
        let label = format!("Attaching {location}");
        self.jobs
            .spawn(Lane::Interactive, &label, true, move |job| {
                let msg = match crate::source::open(&location, &options) {
                    Ok(source) => AppMsg::Attached { location, source },
                    Err(e) => AppMsg::Failed {
                        job_id: job.id,
                        context: format!("attaching {location}"),
                        error: e.to_string(),
                    },
                };
                job.send(msg);
            });
    }

    /// Opens the native file dialog on a worker (it may block while the dialog is open).
    pub(super) fn browse_file(&mut self) {
        self.jobs
            .spawn(Lane::Background, "Choosing a file", false, |job| {
                let picked = rfd::FileDialog::new()
                    .set_title("Open an event store")
                    .add_filter("SQLite", &["db", "sqlite", "sqlite3", "db3"])
                    .add_filter("All files", &["*"])
                    .pick_file();
                job.send(AppMsg::FilePicked(picked));
            });
    }

    /// A page of the log for queries built elsewhere (used by tests and follow mode).
    #[must_use]
    pub fn log_scope(&self) -> Option<LogQuery> {
        self.log.scope().ok()
    }
}
