//! The search page's full-text index ([`crate::search::index`]): found or created when a
//! store opens, built a chunk at a time in the background while it is behind the head,
//! paused, resumed and turned off per store.
//!
//! On or off per store: the index file being there means on; turning it off deletes the
//! file and leaves `<identity>.off` beside where it was, so it stays off when the store is
//! opened again. A store nobody decided for gets an index when it has at most
//! [`AUTO_BUILD_EVENTS`] events (`SearchPage::auto_build_up_to`); a bigger one shows the estimated size and a button.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::context::jobs::Lane;
use crate::context::messages::AppMsg;
use crate::context::page::PageCtx;
use crate::context::search::{OpenedIndex, SearchMsg};
use crate::search::index::SearchIndex;

use super::SearchPage;
use super::view::IndexView;

/// Stores up to this many events get a full-text index without asking.
pub const AUTO_BUILD_EVENTS: u64 = 1_000_000;
/// Events indexed per background job (then the lane is free for searches).
const INDEX_CHUNK: u64 = 50_000;
/// Events read to estimate the index's size.
const SAMPLE: u64 = 500;

/// The marker that keeps the index off for a store.
fn off_marker(index_file: &Path) -> PathBuf {
    index_file.with_extension("off")
}

fn index_file(dir: Option<&Path>, identity: &str) -> Result<PathBuf, String> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => crate::trace::index::default_cache_dir()
            .ok_or_else(|| "no cache directory for eventscope (is HOME set?)".to_owned())?,
    };
    crate::search::index::index_path(&dir, identity).map_err(|e| e.to_string())
}

impl SearchPage {
    /// Finds the full-text index of a newly opened store (in the background): opens it
    /// when it is on, or creates it for a small store nobody turned it off for; else
    /// estimates what a build would take.
    pub fn open_index(&mut self, ctx: &mut PageCtx<'_>, location: &str, build: bool) {
        self.index = None;
        self.index_job = None;
        self.index_paused = false;
        self.view.index = IndexView::Unknown;
        let Some(source) = ctx.source() else {
            return;
        };
        let generation = ctx.store_generation;
        let identity = crate::history::store_identity(location);
        let dir = self.index_dir.clone();
        let auto_build_up_to = self.auto_build_up_to.unwrap_or(AUTO_BUILD_EVENTS);
        let config = crate::cli::trace::index_config(ctx.mapping);
        ctx.jobs.spawn(
            Lane::Background,
            "Opening the full-text index",
            false,
            move |job| {
                let opened = (|| -> Result<OpenedIndex, String> {
                    let file = index_file(dir.as_deref(), &identity)?;
                    let marker = off_marker(&file);
                    let head = source.head().map_err(|e| e.to_string())?;
                    if build {
                        crate::own::files::remove_with_side_files(&marker)
                            .map_err(|e| e.to_string())?;
                    }
                    let on =
                        build || file.exists() || (!marker.exists() && head <= auto_build_up_to);
                    if !on {
                        let sample = source
                            .read_log(&crate::core::LogQuery::newest(SAMPLE))
                            .unwrap_or_default();
                        return Ok(OpenedIndex {
                            index: None,
                            status: crate::search::index::IndexStatus::default(),
                            size: 0,
                            head,
                            estimate: Some(crate::search::index::estimate_size(&sample, head)),
                        });
                    }
                    let index =
                        SearchIndex::open_path(&file, &config).map_err(|e| e.to_string())?;
                    if let Some(reason) = &index.replaced {
                        tracing::warn!("full-text index was rebuilt: {reason}");
                    }
                    Ok(OpenedIndex {
                        status: index.status().map_err(|e| e.to_string())?,
                        size: index.size_on_disk(),
                        index: Some(Arc::new(index)),
                        head,
                        estimate: None,
                    })
                })();
                job.send(AppMsg::Search(SearchMsg::IndexOpened {
                    generation,
                    result: opened,
                }));
            },
        );
    }

    /// Applies an index message; `false` when it was not one.
    pub(super) fn on_index_message(&mut self, ctx: &mut PageCtx<'_>, msg: &SearchMsg) {
        match msg {
            SearchMsg::IndexOpened { generation, result } => {
                if *generation != ctx.store_generation {
                    return;
                }
                match result {
                    Ok(opened) => match &opened.index {
                        Some(index) => {
                            self.index = Some(Arc::clone(index));
                            self.view.index = IndexView::Building {
                                through: opened.status.indexed_through,
                                head: opened.head,
                                size: opened.size,
                            };
                            self.request_chunk(ctx);
                        }
                        None => {
                            self.view.index = IndexView::Off {
                                estimate: opened.estimate,
                                events: opened.head,
                            };
                        }
                    },
                    Err(error) => self.view.index = IndexView::Unavailable(error.clone()),
                }
            }
            SearchMsg::IndexProgress {
                generation,
                through,
                head,
                complete,
                size,
            } => {
                if *generation != ctx.store_generation || self.index.is_none() {
                    return;
                }
                self.index_job = None;
                self.caught_up_at = *head;
                self.view.index = if *complete {
                    IndexView::Ready {
                        through: *through,
                        size: *size,
                    }
                } else if self.index_paused {
                    IndexView::Paused {
                        through: *through,
                        head: *head,
                        size: *size,
                    }
                } else {
                    IndexView::Building {
                        through: *through,
                        head: *head,
                        size: *size,
                    }
                };
                if !*complete {
                    self.request_chunk(ctx);
                }
            }
            SearchMsg::IndexFailed { generation, error } => {
                if *generation == ctx.store_generation {
                    self.index = None;
                    self.index_job = None;
                    self.view.index = IndexView::Unavailable(error.clone());
                }
            }
            SearchMsg::Hits { .. } | SearchMsg::Done { .. } => {}
        }
    }

    /// Builds the next chunk when the index is behind the head (called every poll).
    pub fn logic(&mut self, ctx: &mut PageCtx<'_>) {
        let head = ctx.store.as_ref().map_or(0, |s| s.head);
        if let IndexView::Ready { through, size } = self.view.index
            && through < head
            && head > self.caught_up_at
        {
            self.view.index = IndexView::Building {
                through,
                head,
                size,
            };
            self.request_chunk(ctx);
        }
    }

    /// Builds (or resumes building) the index.
    pub(super) fn build_index(&mut self, ctx: &mut PageCtx<'_>) {
        self.index_paused = false;
        if self.index.is_some() {
            if let IndexView::Paused {
                through,
                head,
                size,
            } = self.view.index
            {
                self.view.index = IndexView::Building {
                    through,
                    head,
                    size,
                };
            }
            self.request_chunk(ctx);
            return;
        }
        let Some(location) = ctx.store.as_ref().map(|s| s.location.clone()) else {
            return;
        };
        self.open_index(ctx, &location, true);
    }

    /// Pauses building (the current chunk is cancelled; what it indexed is kept).
    pub(super) fn pause_index(&mut self, ctx: &mut PageCtx<'_>) {
        self.index_paused = true;
        if let Some(job) = self.index_job.take() {
            ctx.jobs.cancel(job);
        }
        if let IndexView::Building {
            through,
            head,
            size,
        } = self.view.index
        {
            self.view.index = IndexView::Paused {
                through,
                head,
                size,
            };
        }
    }

    /// A cancelled chunk (from the status bar) pauses the build.
    pub(super) fn index_job_cancelled(&mut self, job_id: u64) -> bool {
        if self.index_job != Some(job_id) {
            return false;
        }
        self.index_job = None;
        self.index_paused = true;
        if let IndexView::Building {
            through,
            head,
            size,
        } = self.view.index
        {
            self.view.index = IndexView::Paused {
                through,
                head,
                size,
            };
        }
        true
    }

    /// Deletes the index and keeps it off for this store.
    pub(super) fn turn_off_index(&mut self, ctx: &mut PageCtx<'_>) {
        if let Some(job) = self.index_job.take() {
            ctx.jobs.cancel(job);
        }
        let Some(index) = self.index.take() else {
            return;
        };
        let events = ctx.store.as_ref().map_or(0, |s| s.head);
        let file = index.path().to_path_buf();
        let estimate = match self.view.index {
            IndexView::Ready { size, .. } => Some(size),
            _ => None,
        };
        self.view.index = IndexView::Off { estimate, events };
        ctx.jobs.spawn(
            Lane::Background,
            "Deleting the full-text index",
            false,
            move |_job| {
                drop(index);
                if let Err(error) =
                    crate::own::files::remove_with_side_files(&file).and_then(|()| {
                        std::fs::write(off_marker(&file), b"off\n").map_err(|source| {
                            crate::own::files::FileError {
                                action: "write",
                                path: off_marker(&file),
                                source,
                            }
                        })
                    })
                {
                    tracing::warn!("turning the full-text index off: {error}");
                }
            },
        );
    }

    pub(super) fn request_chunk(&mut self, ctx: &mut PageCtx<'_>) {
        if self.index_paused || self.index_job.is_some_and(|id| ctx.jobs.is_active(id)) {
            return;
        }
        let (Some(index), Some(source)) = (self.index.clone(), ctx.source()) else {
            return;
        };
        let generation = ctx.store_generation;
        self.index_job = ctx.jobs.spawn(
            Lane::Background,
            "Building the full-text index",
            true,
            move |job| {
                let mut progress = |through: u64, head: u64| {
                    if head > 0 {
                        #[allow(clippy::cast_precision_loss)] // A fraction for a progress bar.
                        job.progress(through as f32 / head as f32);
                    }
                };
                let msg = crate::core::cancel::with_cancel(&job.token, || {
                    index.catch_up(source.as_ref(), INDEX_CHUNK, &mut progress)
                });
                let msg = match msg {
                    Ok(caught) => SearchMsg::IndexProgress {
                        generation,
                        through: caught.indexed_through,
                        head: caught.head,
                        complete: caught.complete,
                        size: index.size_on_disk(),
                    },
                    Err(crate::search::index::IndexError::Cancelled) => return,
                    Err(error) => {
                        tracing::error!("building the full-text index: {error}");
                        SearchMsg::IndexFailed {
                            generation,
                            error: error.to_string(),
                        }
                    }
                };
                job.send(AppMsg::Search(msg));
            },
        );
    }
}
