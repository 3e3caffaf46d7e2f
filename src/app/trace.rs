//! App side of the trace view: trace requests, the correlation index's lifecycle
//! (open, incremental catch-up in chunks on the background lane, pause on cancel) and
//! exports. Everything runs as jobs; results come back as [`TraceMsg`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::app::EventscopeApp;
use crate::context::jobs::Lane;
use crate::context::messages::AppMsg;
use crate::trace::TraceIndex;
use crate::ui::trace::IndexView;

pub use crate::context::trace::{TraceCommand, TraceMsg};

/// Events indexed per background job (then the lane is free for other scans).
const INDEX_CHUNK: u64 = 20_000;
/// With fewer unindexed events than this, a trace runs on the interactive lane.
const INTERACTIVE_TAIL: u64 = 50_000;

/// Job bookkeeping for the trace view (not drawn).
#[derive(Default)]
pub struct TraceRuntime {
    /// The open store's index, once open.
    pub index: Option<Arc<TraceIndex>>,
    /// Where indexes are kept (default: eventscope's cache directory).
    pub index_dir: Option<PathBuf>,
    index_job: Option<u64>,
    trace_job: Option<u64>,
    paused: bool,
    /// The head the index last caught up with: no new chunk until the head moves past it
    /// (a KurrentDB head can be a system event the log never returns).
    caught_up_at: u64,
    generation: u64,
}

impl EventscopeApp {
    /// Applies a trace command.
    pub(super) fn apply_trace(&mut self, command: TraceCommand) {
        match command {
            TraceCommand::Correlation(id) => {
                self.state.view = crate::context::state::View::Trace;
                self.trace.input.clone_from(&id);
                self.trace.by_event_id = false;
                self.request_trace(id);
            }
            TraceCommand::EventId(id) => {
                self.state.view = crate::context::state::View::Trace;
                self.trace.input.clone_from(&id);
                self.trace.by_event_id = true;
                self.request_find_event(id);
            }
            TraceCommand::Cancel => {
                if let Some(job) = self.trace_rt.trace_job.take() {
                    self.jobs.cancel(job);
                }
                self.trace.pending = None;
                self.trace.message = Some("cancelled".to_owned());
            }
            TraceCommand::ResumeIndex => {
                self.trace_rt.paused = false;
                self.request_index_chunk();
            }
            TraceCommand::Export { path, dot } => self.export_trace(Some(path), dot),
            TraceCommand::ExportDialog { dot } => self.export_trace(None, dot),
        }
    }

    /// Applies a trace job result.
    pub(super) fn handle_trace(&mut self, msg: TraceMsg) {
        match msg {
            TraceMsg::IndexReady { generation, index } => {
                if generation != self.open_generation {
                    return;
                }
                if let Some(reason) = &index.replaced {
                    tracing::warn!("correlation index was rebuilt: {reason}");
                }
                self.trace.index = IndexView::Building {
                    indexed_through: 0,
                    head: self.store.as_ref().map_or(0, |s| s.head),
                    path: index.path().display().to_string(),
                };
                self.trace_rt.index = Some(index);
                self.request_index_chunk();
            }
            TraceMsg::IndexUnavailable { generation, error } => {
                if generation == self.open_generation {
                    self.trace_rt.index = None;
                    self.trace_rt.index_job = None;
                    self.trace.index = IndexView::Unavailable(error);
                }
            }
            TraceMsg::IndexProgress {
                generation,
                indexed_through,
                head,
                complete,
            } => {
                if generation != self.open_generation {
                    return;
                }
                let path = self
                    .trace_rt
                    .index
                    .as_ref()
                    .map(|i| i.path().display().to_string())
                    .unwrap_or_default();
                self.trace.index = if complete {
                    IndexView::Ready {
                        indexed_through,
                        path,
                    }
                } else {
                    IndexView::Building {
                        indexed_through,
                        head,
                        path,
                    }
                };
                self.trace_rt.index_job = None;
                if complete {
                    self.trace_rt.caught_up_at = head;
                }
                if !complete {
                    self.request_index_chunk();
                }
            }
            TraceMsg::Traced { generation, result } => {
                if generation != self.trace_rt.generation {
                    return;
                }
                self.trace_rt.trace_job = None;
                self.trace.pending = None;
                match result {
                    Ok((trace, method)) => {
                        self.trace.message = trace.nodes.is_empty().then(|| {
                            format!(
                                "no event carries the correlation id {}",
                                trace.correlation_id
                            )
                        });
                        self.trace.method = Some(method);
                        self.trace.selected = None;
                        self.trace.trace = Some(trace);
                    }
                    Err(error) => self.trace.message = Some(error),
                }
            }
            TraceMsg::EventFound {
                generation,
                event_id,
                event,
            } => {
                if generation != self.trace_rt.generation {
                    return;
                }
                self.trace_rt.trace_job = None;
                self.trace.pending = None;
                match event {
                    Some(event) => match event.correlation_id.clone() {
                        Some(correlation) => {
                            self.request_trace(correlation);
                            self.trace.found_by_event = Some(event_id);
                            self.trace.selected = Some(event.global_position);
                        }
                        None => {
                            self.trace.message =
                                Some(format!("event {event_id} carries no correlation id"));
                        }
                    },
                    None => self.trace.message = Some(format!("no event has the id {event_id}")),
                }
            }
            TraceMsg::Exported(result) => {
                self.trace.export_message = Some(match result {
                    Ok(path) => format!("saved {path}"),
                    Err(error) => {
                        self.error("Exporting the trace", &error);
                        error
                    }
                });
            }
        }
    }

    /// Opens the index of a newly opened store (in the background).
    pub(super) fn open_trace_index(&mut self, location: &str) {
        self.trace_rt.index = None;
        self.trace_rt.index_job = None;
        self.trace_rt.paused = false;
        self.trace_rt.caught_up_at = 0;
        self.trace.index = IndexView::Opening;
        let generation = self.open_generation;
        let identity_location = location.to_owned();
        let dir = self.trace_rt.index_dir.clone();
        let config = crate::cli::trace::index_config(self.mapping.as_deref());
        self.jobs.spawn(
            Lane::Background,
            "Opening the correlation index",
            false,
            move |job| {
                let identity = crate::history::store_identity(&identity_location);
                let opened = match &dir {
                    Some(dir) => TraceIndex::open_in(dir, &identity, &config),
                    None => TraceIndex::open(&identity, &config),
                };
                job.send(AppMsg::Trace(match opened {
                    Ok(index) => TraceMsg::IndexReady {
                        generation,
                        index: Arc::new(index),
                    },
                    Err(error) => {
                        tracing::warn!("correlation index unavailable: {error}");
                        TraceMsg::IndexUnavailable {
                            generation,
                            error: error.to_string(),
                        }
                    }
                }));
            },
        );
    }

    /// Builds the next chunk of the index when it is behind the head (called every poll).
    pub(super) fn poll_trace_index(&mut self) {
        let head = self.store.as_ref().map_or(0, |s| s.head);
        let behind = match &self.trace.index {
            IndexView::Ready {
                indexed_through, ..
            } => *indexed_through < head && head > self.trace_rt.caught_up_at,
            _ => false,
        };
        if behind {
            self.request_index_chunk();
        }
    }

    /// Called when the user cancels a job: a cancelled index build pauses until resumed.
    pub(super) fn trace_job_cancelled(&mut self, job_id: u64) {
        if self.trace_rt.index_job == Some(job_id) {
            self.trace_rt.index_job = None;
            self.trace_rt.paused = true;
            if let IndexView::Building {
                indexed_through,
                head,
                path,
            } = std::mem::take(&mut self.trace.index)
            {
                self.trace.index = IndexView::Paused {
                    indexed_through,
                    head,
                    path,
                };
            }
        }
        if self.trace_rt.trace_job == Some(job_id) {
            self.trace_rt.trace_job = None;
            self.trace.pending = None;
            self.trace.message = Some("cancelled".to_owned());
        }
    }

    fn request_index_chunk(&mut self) {
        if self.trace_rt.paused
            || self
                .trace_rt
                .index_job
                .is_some_and(|id| self.jobs.is_active(id))
        {
            return;
        }
        let Some(index) = self.trace_rt.index.clone() else {
            return;
        };
        let Some(source) = self.source() else {
            return;
        };
        let generation = self.open_generation;
        self.trace_rt.index_job = self.jobs.spawn(
            Lane::Background,
            "Building the correlation index",
            true,
            move |job| {
                let mut progress = |through: u64, head: u64| {
                    if head > 0 {
                        job.progress(through as f32 / head as f32);
                    }
                };
                let msg = match index.catch_up(source.as_ref(), INDEX_CHUNK, &mut progress) {
                    Ok(caught) => TraceMsg::IndexProgress {
                        generation,
                        indexed_through: caught.indexed_through,
                        head: caught.head,
                        complete: caught.complete,
                    },
                    Err(error) if error.is_cancelled() => return,
                    Err(error) => {
                        tracing::error!("building the correlation index: {error}");
                        TraceMsg::IndexUnavailable {
                            generation,
                            error: error.to_string(),
                        }
                    }
                };
                job.send(AppMsg::Trace(msg));
            },
        );
    }

    fn unindexed_tail(&self) -> u64 {
        let head = self.store.as_ref().map_or(0, |s| s.head);
        let through = match &self.trace.index {
            IndexView::Ready {
                indexed_through, ..
            }
            | IndexView::Building {
                indexed_through, ..
            }
            | IndexView::Paused {
                indexed_through, ..
            } => *indexed_through,
            _ => 0,
        };
        head.saturating_sub(through)
    }

    fn start_trace_job(
        &mut self,
        label: &str,
        run: impl FnOnce(&dyn crate::core::EventSource, Option<&TraceIndex>, &dyn Fn(f32)) -> TraceMsg
        + Send
        + 'static,
    ) {
        if let Some(job) = self.trace_rt.trace_job.take() {
            self.jobs.cancel(job);
        }
        self.trace_rt.generation += 1;
        self.trace.message = None;
        let Some(source) = self.source() else {
            self.trace.message = Some("open a store first".to_owned());
            return;
        };
        let index = self.trace_rt.index.clone();
        let lane = if self.unindexed_tail() <= INTERACTIVE_TAIL {
            Lane::Interactive
        } else {
            Lane::Background
        };
        self.trace.pending = Some(label.to_owned());
        self.trace_rt.trace_job = self.jobs.spawn(lane, label, true, move |job| {
            let report = |fraction: f32| job.progress(fraction);
            let msg = crate::core::cancel::with_cancel(&job.token, || {
                run(source.as_ref(), index.as_deref(), &report)
            });
            if !job.token.is_cancelled() {
                job.send(AppMsg::Trace(msg));
            }
        });
    }

    fn request_trace(&mut self, correlation_id: String) {
        let correlation_id = correlation_id.trim().to_owned();
        if correlation_id.is_empty() {
            self.trace.message = Some("enter a correlation id or an event id".to_owned());
            return;
        }
        self.trace.found_by_event = None;
        let label = format!("Tracing {}", crate::ui::short_id(&correlation_id, 20));
        let generation = self.trace_rt.generation + 1;
        self.start_trace_job(&label, move |source, index, report| {
            let mut progress = |at: u64, head: u64| {
                if head > 0 {
                    report(at as f32 / head as f32);
                }
            };
            let result = crate::trace::trace(source, &correlation_id, index, &mut progress)
                .map(|(trace, method)| (Arc::new(trace), method))
                .map_err(|e| e.to_string());
            TraceMsg::Traced { generation, result }
        });
    }

    fn request_find_event(&mut self, event_id: String) {
        let event_id = event_id.trim().to_owned();
        if event_id.is_empty() {
            self.trace.message = Some("enter a correlation id or an event id".to_owned());
            return;
        }
        let label = format!("Finding event {}", crate::ui::short_id(&event_id, 20));
        let generation = self.trace_rt.generation + 1;
        self.start_trace_job(&label, move |source, index, report| {
            let mut progress = |at: u64, head: u64| {
                if head > 0 {
                    report(at as f32 / head as f32);
                }
            };
            match crate::trace::find_event(source, &event_id, index, &mut progress) {
                Ok(event) => TraceMsg::EventFound {
                    generation,
                    event_id,
                    event: event.map(Box::new),
                },
                Err(error) => TraceMsg::Traced {
                    generation,
                    result: Err(error.to_string()),
                },
            }
        });
    }

    fn export_trace(&mut self, path: Option<String>, dot: bool) {
        let Some(trace) = self.trace.trace.clone() else {
            self.trace.export_message = Some("trace something first".to_owned());
            return;
        };
        self.trace.export_message = None;
        self.jobs
            .spawn(Lane::Background, "Exporting the trace", false, move |job| {
                let path = match path {
                    Some(path) if !path.trim().is_empty() => Some(PathBuf::from(path.trim())),
                    Some(_) => {
                        job.send(AppMsg::Trace(TraceMsg::Exported(Err(
                            "enter a file name to export to".to_owned(),
                        ))));
                        return;
                    }
                    None => rfd::FileDialog::new()
                        .set_title("Export the trace")
                        .set_file_name(if dot { "trace.dot" } else { "trace.json" })
                        .save_file(),
                };
                let Some(path) = path else { return };
                let text = if dot {
                    crate::trace::export::to_dot(&trace)
                } else {
                    serde_json::to_string_pretty(&crate::trace::export::to_json(&trace))
                        .unwrap_or_default()
                        + "\n"
                };
                let result = std::fs::write(&path, text)
                    .map(|()| path.display().to_string())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()));
                job.send(AppMsg::Trace(TraceMsg::Exported(result)));
            });
    }
}
