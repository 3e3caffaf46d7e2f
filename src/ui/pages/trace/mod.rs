//! App side of the trace view: trace requests, the correlation index's lifecycle
//! (open, incremental catch-up in chunks on the background lane, pause on cancel) and
//! exports. Everything runs as jobs; results come back as [`TraceMsg`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::context::jobs::Lane;
use crate::context::messages::AppCommand;
use crate::context::messages::AppMsg;
use crate::context::page::PageCtx;
use crate::trace::TraceIndex;
use view::{IndexView, TraceState};

use crate::context::trace::{TraceCommand, TraceMsg};

/// Events indexed per background job (then the lane is free for other scans).
const INDEX_CHUNK: u64 = 20_000;
/// With fewer unindexed events than this, a trace runs on the interactive lane.
const INTERACTIVE_TAIL: u64 = 50_000;

pub mod view;

/// The trace page: its view state and the bookkeeping of its jobs and of the correlation
/// index.
#[derive(Default)]
pub struct TracePage {
    /// What the view draws.
    pub view: TraceState,
    /// The open store's index, once open.
    pub index: Option<Arc<TraceIndex>>,
    /// Where indexes are kept (default: eventscope's cache directory).
    pub index_dir: Option<PathBuf>,
    index_job: Option<u64>,
    trace_job: Option<u64>,
    paused: bool,
    /// The head the index last caught up with: no new chunk until the head moves past it
    /// (a `KurrentDB` head can be a system event the log never returns).
    caught_up_at: u64,
    generation: u64,
}

impl TracePage {
    /// Switches to the trace page with `id` in its input, and traces it.
    fn show_and_trace(&mut self, ctx: &mut PageCtx<'_>, id: String, by_event_id: bool) {
        ctx.commands
            .push(AppCommand::SetView(crate::context::state::View::Trace));
        self.view.input.clone_from(&id);
        self.view.by_event_id = by_event_id;
        if by_event_id {
            self.request_find_event(ctx, id);
        } else {
            self.request_trace(ctx, id);
        }
    }

    /// Applies a trace command.
    pub fn on_command(&mut self, ctx: &mut PageCtx<'_>, command: TraceCommand) {
        match command {
            TraceCommand::Correlation(id) => self.show_and_trace(ctx, id, false),
            TraceCommand::EventId(id) => self.show_and_trace(ctx, id, true),
            TraceCommand::Cancel => {
                if let Some(job) = self.trace_job.take() {
                    ctx.jobs.cancel(job);
                }
                self.view.pending = None;
                self.view.message = Some("cancelled".to_owned());
            }
            TraceCommand::ResumeIndex => {
                self.paused = false;
                self.request_index_chunk(ctx);
            }
            TraceCommand::Export { path, dot } => self.export_trace(ctx, Some(path), dot),
            TraceCommand::ExportDialog { dot } => self.export_trace(ctx, None, dot),
        }
    }

    /// Applies a trace job result.
    pub fn on_message(&mut self, ctx: &mut PageCtx<'_>, msg: TraceMsg) {
        match msg {
            TraceMsg::IndexReady { generation, index } => {
                if generation != ctx.store_generation {
                    return;
                }
                if let Some(reason) = &index.replaced {
                    tracing::warn!("correlation index was rebuilt: {reason}");
                }
                self.view.index = IndexView::Building {
                    indexed_through: 0,
                    head: ctx.store.as_ref().map_or(0, |s| s.head),
                    path: index.path().display().to_string(),
                };
                self.index = Some(index);
                self.request_index_chunk(ctx);
            }
            TraceMsg::IndexUnavailable { generation, error } => {
                if generation == ctx.store_generation {
                    self.index = None;
                    self.index_job = None;
                    self.view.index = IndexView::Unavailable(error);
                }
            }
            TraceMsg::IndexProgress {
                generation,
                indexed_through,
                head,
                complete,
            } => {
                if generation != ctx.store_generation {
                    return;
                }
                let path = self
                    .index
                    .as_ref()
                    .map(|i| i.path().display().to_string())
                    .unwrap_or_default();
                self.view.index = if complete {
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
                self.index_job = None;
                if complete {
                    self.caught_up_at = head;
                }
                if !complete {
                    self.request_index_chunk(ctx);
                }
            }
            TraceMsg::Traced { generation, result } => {
                if generation != self.generation {
                    return;
                }
                self.trace_job = None;
                self.view.pending = None;
                match result {
                    Ok((trace, method)) => {
                        self.view.message = trace.nodes.is_empty().then(|| {
                            format!(
                                "no event carries the correlation id {}",
                                trace.correlation_id
                            )
                        });
                        self.view.method = Some(method);
                        self.view.index_hint = ctx.source().and_then(|s| s.index_hint());
                        self.view.selected = None;
                        self.view.trace = Some(trace);
                    }
                    Err(error) => self.view.message = Some(error),
                }
            }
            TraceMsg::EventFound {
                generation,
                event_id,
                event,
            } => {
                if generation != self.generation {
                    return;
                }
                self.trace_job = None;
                self.view.pending = None;
                match event {
                    Some(event) => match event.correlation_id.clone() {
                        Some(correlation) => {
                            self.request_trace(ctx, correlation);
                            self.view.found_by_event = Some(event_id);
                            self.view.selected = Some(event.global_position);
                        }
                        None => {
                            self.view.message =
                                Some(format!("event {event_id} carries no correlation id"));
                        }
                    },
                    None => self.view.message = Some(format!("no event has the id {event_id}")),
                }
            }
            TraceMsg::Exported(result) => {
                self.view.export_message = Some(match result {
                    Ok(path) => format!("saved {path}"),
                    Err(error) => {
                        ctx.error("Exporting the trace", &error);
                        error
                    }
                });
            }
        }
    }

    /// Opens the index of a newly opened store (in the background).
    pub fn open_index(&mut self, ctx: &mut PageCtx<'_>, location: &str) {
        self.index = None;
        self.index_job = None;
        self.paused = false;
        self.caught_up_at = 0;
        self.view.index = IndexView::Opening;
        let generation = ctx.store_generation;
        let identity_location = location.to_owned();
        let dir = self.index_dir.clone();
        let config = crate::cli::trace::index_config(ctx.mapping);
        ctx.jobs.spawn(
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
    pub fn logic(&mut self, ctx: &mut PageCtx<'_>) {
        let head = ctx.store.as_ref().map_or(0, |s| s.head);
        let behind = match &self.view.index {
            IndexView::Ready {
                indexed_through, ..
            } => *indexed_through < head && head > self.caught_up_at,
            _ => false,
        };
        if behind {
            self.request_index_chunk(ctx);
        }
    }

    /// Called when the user cancels a job: a cancelled index build pauses until resumed.
    pub fn job_cancelled(&mut self, job_id: u64) {
        if self.index_job == Some(job_id) {
            self.index_job = None;
            self.paused = true;
            if let IndexView::Building {
                indexed_through,
                head,
                path,
            } = std::mem::take(&mut self.view.index)
            {
                self.view.index = IndexView::Paused {
                    indexed_through,
                    head,
                    path,
                };
            }
        }
        if self.trace_job == Some(job_id) {
            self.trace_job = None;
            self.view.pending = None;
            self.view.message = Some("cancelled".to_owned());
        }
    }

    fn request_index_chunk(&mut self, ctx: &mut PageCtx<'_>) {
        if self.paused || self.index_job.is_some_and(|id| ctx.jobs.is_active(id)) {
            return;
        }
        let Some(index) = self.index.clone() else {
            return;
        };
        let Some(source) = ctx.source() else {
            return;
        };
        let generation = ctx.store_generation;
        self.index_job = ctx.jobs.spawn(
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

    fn unindexed_tail(&self, ctx: &PageCtx<'_>) -> u64 {
        let head = ctx.store.as_ref().map_or(0, |s| s.head);
        let through = match &self.view.index {
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
        ctx: &mut PageCtx<'_>,
        label: &str,
        run: impl FnOnce(
            &dyn crate::core::EventSource,
            Option<&TraceIndex>,
            &mut dyn FnMut(u64, u64),
        ) -> TraceMsg
        + Send
        + 'static,
    ) {
        if let Some(job) = self.trace_job.take() {
            ctx.jobs.cancel(job);
        }
        self.generation += 1;
        self.view.message = None;
        let Some(source) = ctx.source() else {
            self.view.message = Some("open a store first".to_owned());
            return;
        };
        let index = self.index.clone();
        let lane = if self.unindexed_tail(ctx) <= INTERACTIVE_TAIL {
            Lane::Interactive
        } else {
            Lane::Background
        };
        self.view.pending = Some(label.to_owned());
        self.trace_job = ctx.jobs.spawn(lane, label, true, move |job| {
            // Progress as positions scanned of the head.
            let mut report = |at: u64, head: u64| {
                if head > 0 {
                    job.progress(at as f32 / head as f32);
                }
            };
            let msg = crate::core::cancel::with_cancel(&job.token, || {
                run(source.as_ref(), index.as_deref(), &mut report)
            });
            if !job.token.is_cancelled() {
                job.send(AppMsg::Trace(msg));
            }
        });
    }

    fn request_trace(&mut self, ctx: &mut PageCtx<'_>, correlation_id: String) {
        let correlation_id = correlation_id.trim().to_owned();
        if correlation_id.is_empty() {
            self.view.message = Some("enter a correlation id or an event id".to_owned());
            return;
        }
        self.view.found_by_event = None;
        let label = format!("Tracing {}", crate::ui::short_id(&correlation_id, 20));
        let generation = self.generation + 1;
        self.start_trace_job(ctx, &label, move |source, index, progress| {
            let result = crate::trace::trace(source, &correlation_id, index, progress)
                .map(|(trace, method)| (Arc::new(trace), method))
                .map_err(|e| e.to_string());
            TraceMsg::Traced { generation, result }
        });
    }

    fn request_find_event(&mut self, ctx: &mut PageCtx<'_>, event_id: String) {
        let event_id = event_id.trim().to_owned();
        if event_id.is_empty() {
            self.view.message = Some("enter a correlation id or an event id".to_owned());
            return;
        }
        let label = format!("Finding event {}", crate::ui::short_id(&event_id, 20));
        let generation = self.generation + 1;
        self.start_trace_job(ctx, &label, move |source, index, progress| {
            match crate::trace::find_event(source, &event_id, index, progress) {
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

    fn export_trace(&mut self, ctx: &mut PageCtx<'_>, path: Option<String>, dot: bool) {
        let Some(trace) = self.view.trace.clone() else {
            self.view.export_message = Some("trace something first".to_owned());
            return;
        };
        self.view.export_message = None;
        ctx.jobs
            .spawn(Lane::Background, "Exporting the trace", false, move |job| {
                let saved = crate::context::export::save_text(
                    path.as_deref(),
                    "Export the trace",
                    if dot { "trace.dot" } else { "trace.json" },
                    || {
                        if dot {
                            crate::trace::export::to_dot(&trace)
                        } else {
                            serde_json::to_string_pretty(&crate::trace::export::to_json(&trace))
                                .unwrap_or_default()
                                + "\n"
                        }
                    },
                );
                let Some(result) = saved else { return };
                job.send(AppMsg::Trace(TraceMsg::Exported(result)));
            });
    }
}
