//! The projections page: lag of every projection, sampled live, kept in eventscope's lag
//! history (per store identity) and reconstructed from the store's checkpoint history; also
//! the tracking stores of downstream applications attached for lag. Owns the samples, the
//! history handle and the sampling jobs.

pub mod view;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::context::jobs::Lane;
use crate::context::messages::AppMsg;
use crate::context::page::PageCtx;
use crate::core::EventSource;
use crate::history::LagHistory;
use crate::ui::Commands;
use view::ProjectionsState;

/// How often the lag history is compacted.
const COMPACT_EVERY: Duration = Duration::from_mins(5);

/// The projections page.
#[derive(Default)]
pub struct ProjectionsPage {
    /// What the view draws.
    pub view: ProjectionsState,
    /// Tracking stores of downstream applications, attached for lag.
    attached: Vec<Arc<dyn EventSource>>,
    lag_job: Option<u64>,
    last_lag_sample: Option<Instant>,
    /// Lag history of the open store, in eventscope's data directory.
    lag_history: Option<Arc<LagHistory>>,
    last_compaction: Option<Instant>,
}

impl std::fmt::Debug for ProjectionsPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionsPage")
            .field("view", &self.view)
            .field("attached", &self.attached.len())
            .finish_non_exhaustive()
    }
}

impl ProjectionsPage {
    /// Starts over for a newly opened store (keeping the sampling settings): opens its lag
    /// history (in `history_dir`, default eventscope's data directory) and reconstructs past
    /// lag from the store.
    pub fn on_open(&mut self, ctx: &mut PageCtx<'_>, location: &str, history_dir: Option<PathBuf>) {
        let interval = self.view.interval_secs;
        let stall = self.view.stall_after_secs;
        let last_compaction = self.last_compaction;
        *self = Self {
            view: ProjectionsState {
                interval_secs: interval,
                stall_after_secs: stall,
                ..Default::default()
            },
            last_compaction,
            ..Self::default()
        };
        Self::request_history(ctx, location, history_dir.as_deref());
        Self::request_reconstruction(ctx);
    }

    /// Per-frame work while a store is open: samples lag every interval and compacts the
    /// history every few minutes.
    pub fn logic(&mut self, ctx: &mut PageCtx<'_>) {
        let interval = Duration::from_secs_f64(self.view.interval_secs.clamp(0.2, 60.0));
        let lag_due = self.last_lag_sample.is_none_or(|t| t.elapsed() >= interval);
        let lag_idle = self.lag_job.is_none_or(|id| !ctx.jobs.is_active(id));
        if lag_due && lag_idle {
            self.last_lag_sample = Some(Instant::now());
            self.lag_job = self.request_sample(ctx);
            ctx.jobs.mark_poll(self.lag_job);
        }
        if self
            .last_compaction
            .is_none_or(|t| t.elapsed() >= COMPACT_EVERY)
        {
            self.last_compaction = Some(Instant::now());
            self.compact(ctx);
        }
    }

    /// Samples the lag of every projection (cheap reads: checkpoints, head, one event each).
    fn request_sample(&mut self, ctx: &mut PageCtx<'_>) -> Option<u64> {
        let attached = self.attached.clone();
        let generation = ctx.store_generation;
        let history = self.lag_history.clone();
        ctx.spawn_read(Lane::Interactive, "Sampling lag", false, move |source| {
            let scoped =
                crate::source::lag::sample_lag_scoped(source, &attached, chrono::Utc::now())?;
            let partitions = scoped
                .iter()
                .filter(|s| !s.partitions.is_empty())
                .map(|s| (s.name.clone(), s.partitions.clone()))
                .collect();
            let samples: Vec<_> = scoped.into_iter().map(|s| (s.name, s.sample)).collect();
            if let Some(history) = history
                && let Err(error) = history.record(&samples)
            {
                tracing::warn!("recording lag history: {error}");
            }
            Ok(AppMsg::LagSamples {
                generation,
                samples,
                partitions,
                note: None,
            })
        })
    }

    /// Opens the store's lag history (eventscope's own file) and loads the last week.
    fn request_history(ctx: &mut PageCtx<'_>, location: &str, dir: Option<&Path>) {
        let generation = ctx.store_generation;
        let identity = crate::history::store_identity(location);
        let dir = dir.map(Path::to_path_buf);
        ctx.jobs
            .spawn(Lane::Background, "Loading lag history", false, move |job| {
                let opened = match &dir {
                    Some(dir) => LagHistory::open_in(dir, &identity),
                    None => LagHistory::open(&identity),
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
                            partitions: Vec::new(),
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
    fn compact(&self, ctx: &mut PageCtx<'_>) {
        let Some(history) = self.lag_history.clone() else {
            return;
        };
        ctx.jobs.spawn(
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
    fn request_reconstruction(ctx: &mut PageCtx<'_>) {
        let generation = ctx.store_generation;
        ctx.spawn_read(
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
                    partitions: Vec::new(),
                    note,
                })
            },
        );
    }

    /// Opens a downstream application's tracking store and adds its checkpoints.
    pub fn attach(ctx: &mut PageCtx<'_>, location: String) {
        let options = crate::source::OpenOptions::default();
        let label = format!("Attaching {location}");
        ctx.jobs.spawn(Lane::Interactive, &label, true, move |job| {
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

    /// Takes this page's job results (the app routes only those here).
    pub fn on_message(&mut self, ctx: &mut PageCtx<'_>, msg: AppMsg) {
        match msg {
            AppMsg::LagSamples {
                generation,
                samples,
                partitions,
                note,
            } => {
                if generation == ctx.store_generation {
                    for (name, partitions) in partitions {
                        self.view.partitions.insert(name, partitions);
                    }
                    self.view.add(samples);
                    self.view.summarize();
                    if note.is_some() {
                        self.view.history_note = note;
                    }
                }
            }
            AppMsg::HistoryReady {
                generation,
                history,
            } => {
                if generation == ctx.store_generation {
                    self.lag_history = Some(history);
                }
            }
            AppMsg::Attached { location, source } => {
                self.view.attached.push(location);
                self.attached.push(source);
                self.last_lag_sample = None;
            }
            _ => tracing::debug!("projections page: message for another page ignored"),
        }
    }

    /// Draws the page.
    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut Commands) {
        view::projections_ui(ui, &mut self.view, commands);
    }
}
