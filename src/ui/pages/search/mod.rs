//! The search page: every event that mentions a text, newest first, found by a background
//! scan whose hits stream in as they are found (count, progress, Cancel), each with where
//! it matched. A click opens the event in the inspector; its stream or its correlation are
//! one more click away.

mod index;
pub mod view;

pub use index::AUTO_BUILD_EVENTS;

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use crate::context::jobs::Lane;
use crate::context::messages::{AppCommand, AppMsg};
use crate::context::page::PageCtx;
use crate::context::pending::JobError;
use crate::context::search::{SearchCommand, SearchMsg};
use crate::search::Needle;
use crate::search::scan::{Scan, scan, scan_indexed};
use view::SearchState;

/// Hits kept at most; the scan stops there and says so.
pub const MAX_HITS: usize = 10_000;
/// How often a running scan hands over what it found.
const BATCH_EVERY: Duration = Duration::from_millis(150);

/// The search page.
#[derive(Default)]
pub struct SearchPage {
    /// What the view draws.
    pub view: SearchState,
    /// Where full-text indexes are kept (default: eventscope's cache directory).
    pub index_dir: Option<std::path::PathBuf>,
    /// Stores with at most this many events get an index without asking (default
    /// [`AUTO_BUILD_EVENTS`]; `None` before the first store opened).
    pub auto_build_up_to: Option<u64>,
    job: Option<u64>,
    generation: u64,
    index: Option<std::sync::Arc<crate::search::index::SearchIndex>>,
    index_job: Option<u64>,
    index_paused: bool,
    /// The head the index last caught up with: no new chunk until the head moves past it.
    caught_up_at: u64,
}

impl SearchPage {
    /// Focuses the search box next frame.
    pub fn focus_input(&mut self) {
        self.view.focus = true;
    }

    /// Forgets the previous store's results.
    pub fn on_open(&mut self, ctx: &mut PageCtx<'_>) {
        self.stop(ctx);
        self.generation += 1;
        self.view = SearchState {
            input: std::mem::take(&mut self.view.input),
            ..SearchState::default()
        };
        if let Some(location) = ctx.store.map(|s| s.location.clone()) {
            self.open_index(ctx, &location, false);
        }
    }

    /// Applies a search command.
    pub fn on_command(&mut self, ctx: &mut PageCtx<'_>, command: SearchCommand) {
        match command {
            SearchCommand::Run(text) => self.run(ctx, &text),
            SearchCommand::BuildIndex => self.build_index(ctx),
            SearchCommand::PauseIndex => self.pause_index(ctx),
            SearchCommand::TurnOffIndex => self.turn_off_index(ctx),
            SearchCommand::Cancel => {
                self.stop(ctx);
                // Hits still on their way are dropped with the rest.
                self.generation += 1;
                self.view.running = false;
                self.view.note = Some("cancelled: the hits so far are shown".to_owned());
            }
        }
    }

    /// A job was cancelled from the status bar.
    pub fn job_cancelled(&mut self, job_id: u64) {
        if self.index_job_cancelled(job_id) {
            return;
        }
        if self.job == Some(job_id) {
            self.job = None;
            self.view.running = false;
            self.view.note = Some("cancelled: the hits so far are shown".to_owned());
        }
    }

    fn stop(&mut self, ctx: &mut PageCtx<'_>) {
        if let Some(job) = self.job.take() {
            ctx.jobs.cancel(job);
        }
    }

    fn run(&mut self, ctx: &mut PageCtx<'_>, text: &str) {
        ctx.commands
            .push(AppCommand::SetView(crate::context::state::View::Search));
        self.stop(ctx);
        self.generation += 1;
        text.clone_into(&mut self.view.input);
        self.view.hits.clear();
        self.view.selected = None;
        self.view.checked = 0;
        self.view.lowest = None;
        self.view.note = None;
        self.view.error = None;
        let Some(needle) = Needle::new(text) else {
            self.view.running = false;
            self.view.error = Some("type something to search for".to_owned());
            return;
        };
        let Some(source) = ctx.source() else {
            self.view.error = Some("open a store first".to_owned());
            return;
        };
        self.view.head = ctx.store.map_or(0, |s| s.head);
        let index = self.index.clone();
        let fts_query = needle.fts_query();
        self.view.used_index = index.is_some() && fts_query.is_some();
        needle.text().clone_into(&mut self.view.searched);
        self.view.running = true;
        let generation = self.generation;
        let label = format!("Searching for {}", crate::ui::short_id(needle.text(), 24));
        self.job = ctx.jobs.spawn(Lane::Background, &label, true, move |job| {
            let matcher = |event: &crate::core::Event| {
                let matches = needle.matches(event);
                (!matches.is_empty()).then_some(matches)
            };
            let search = Scan {
                scope: crate::core::query::LogQuery::default(),
                prefilter: needle.prefilter(),
                matcher: &matcher,
            };
            let mut batch = Vec::new();
            // The first hit goes out at once, then a batch every BATCH_EVERY.
            let mut sent: Option<Instant> = None;
            let mut found = 0usize;
            let result = crate::core::cancel::with_cancel(&job.token, || {
                let on_hit = |hit: crate::search::scan::Hit| {
                    let lowest = hit.event.global_position;
                    batch.push(hit);
                    found += 1;
                    if sent.is_none_or(|at| at.elapsed() >= BATCH_EVERY) {
                        sent = Some(Instant::now());
                        job.send(AppMsg::Search(SearchMsg::Hits {
                            generation,
                            hits: std::mem::take(&mut batch),
                            lowest,
                        }));
                    }
                    if found >= MAX_HITS {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                };
                match (&index, &fts_query) {
                    (Some(index), Some(query)) => {
                        scan_indexed(source.as_ref(), index, query, &search, on_hit)
                    }
                    _ => scan(source.as_ref(), &search, on_hit),
                }
            });
            if job.token.is_cancelled() {
                return;
            }
            let lowest = batch.last().map(|h| h.event.global_position);
            if !batch.is_empty() {
                job.send(AppMsg::Search(SearchMsg::Hits {
                    generation,
                    hits: batch,
                    lowest: lowest.unwrap_or(0),
                }));
            }
            job.send(AppMsg::Search(SearchMsg::Done {
                generation,
                result: result.map_err(JobError::from),
            }));
        });
        if self.job.is_none() {
            self.view.running = false;
            self.view.error = Some("too many jobs queued; try again".to_owned());
        }
    }

    /// Applies a search job's result.
    pub fn on_message(&mut self, ctx: &mut PageCtx<'_>, msg: SearchMsg) {
        match msg {
            SearchMsg::IndexOpened { .. }
            | SearchMsg::IndexProgress { .. }
            | SearchMsg::IndexFailed { .. } => self.on_index_message(ctx, &msg),
            SearchMsg::Hits {
                generation,
                hits,
                lowest,
                ..
            } => {
                if generation == self.generation {
                    self.view.hits.extend(hits);
                    self.view.lowest = Some(lowest);
                }
            }
            SearchMsg::Done { generation, result } => {
                if generation != self.generation {
                    return;
                }
                self.job = None;
                self.view.running = false;
                match result {
                    Ok(end) => {
                        if let Some(why) = end.index_failed {
                            self.view.used_index = false;
                            // A damaged file is rebuilt by the next chunk.
                            self.request_chunk(ctx);
                            ctx.error("Searching", &format!("full-text index failed part way: {why}; the rest of the log was scanned"));
                        }
                        self.view.checked = end.checked;
                        self.view.lowest = Some(end.lowest);
                        self.view.complete = end.complete;
                        if self.view.hits.len() >= MAX_HITS {
                            self.view.note = Some(format!(
                                "stopped at {} hits: search for something more precise",
                                crate::ui::thousands(MAX_HITS as u64)
                            ));
                        } else if self.view.hits.is_empty() {
                            self.view.note =
                                Some(format!("no event mentions “{}”", self.view.searched));
                        }
                    }
                    Err(error) if error.is_cancelled() => {}
                    Err(error) => {
                        ctx.error("Searching", &error.to_string());
                        self.view.error = Some(error.to_string());
                    }
                }
            }
        }
    }
}
