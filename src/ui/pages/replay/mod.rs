//! App glue for replay: runs folds, steps, blame, snapshot checks, the drift report and
//! exports on workers, and applies their results to the replay views' state.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::context::jobs::Lane;
use crate::context::messages::AppMsg;
use crate::context::page::PageCtx;
use crate::context::pending::JobError;
use crate::replay::ReducerKind;
use crate::replay::config::{ConfigOrigin, ProjectConfig, ReducerChoice, TrustStore};
use crate::replay::snapshots::{DriftSummary, ReducerCache, check_stream, drift_report};
use crate::replay::timeline::Timeline;
use crate::ui::widgets::json_tree::TreeMarks;
use view::{ReplayCommand, ReplayState, StreamTab};

use crate::context::replay::{ReplayMsg, TimelineReady};

mod files;
pub mod view;

use files::{default_export_path, sanitize, write_new_file};

/// The replay pages' state (time travel and snapshots of the selected stream, the drift
/// report, the reducers window) and the machinery behind them.
#[derive(Default)]
pub struct ReplayPage {
    /// What the views draw.
    pub view: ReplayState,
    /// The open store's project config.
    pub config: Option<Arc<ProjectConfig>>,
    /// Approved commands.
    pub trust: Arc<Mutex<TrustStore>>,
    /// eventscope's settings directory (project configs edited in the app).
    pub settings_dir: Option<PathBuf>,
    /// eventscope's data directory (trust store).
    pub data_dir: Option<PathBuf>,
    timeline: Option<Arc<Mutex<Timeline>>>,
    generation: u64,
    store_generation: u64,
    step_job: Option<u64>,
    build_job: Option<u64>,
}

fn lock_err<T>(_: std::sync::PoisonError<T>) -> String {
    "an earlier replay job failed; replay again".to_owned()
}

impl ReplayPage {
    /// Loads the project config for a newly opened store.
    pub fn on_open(&mut self, ctx: &mut PageCtx<'_>, location: &str, is_demo: bool) {
        self.view = view::ReplayState {
            tab: self.view.tab,
            ..Default::default()
        };
        self.view.drift.export_path = default_export_path("drift-report.json");
        let rt = &mut *self;
        rt.timeline = None;
        rt.config = None;
        rt.store_generation += 1;
        rt.generation += 1;
        if rt.settings_dir.is_none() {
            rt.settings_dir = crate::replay::config::default_settings_dir();
        }
        if rt.data_dir.is_none() {
            rt.data_dir = crate::history::default_data_dir();
        }
        rt.trust = Arc::new(Mutex::new(TrustStore::load(rt.data_dir.as_deref())));
        let generation = rt.store_generation;
        let settings = rt.settings_dir.clone();
        let location = location.to_owned();
        ctx.jobs.spawn(
            Lane::Interactive,
            "Reading project config",
            false,
            move |job| {
                let result =
                    ProjectConfig::discover(&location, None, settings.as_deref()).map(|config| {
                        if is_demo && config.origin == ConfigOrigin::None {
                            ProjectConfig::demo()
                        } else {
                            config
                        }
                    });
                job.send(AppMsg::Replay(ReplayMsg::Config {
                    generation,
                    result: result.map(Arc::new),
                }));
            },
        );
    }

    /// A stream was selected: refresh whichever replay tab is shown.
    pub fn on_stream_selected(&mut self, ctx: &mut PageCtx<'_>) {
        self.view.time_travel = view::TimeTravelState::default();
        self.view.snapshots = view::SnapshotsState::default();
        self.timeline = None;
        self.generation += 1;
        self.refresh_tab(ctx);
    }

    fn refresh_tab(&mut self, ctx: &mut PageCtx<'_>) {
        let Some(stream) = ctx.stream.map(|s| s.stream_id.to_owned()) else {
            return;
        };
        match self.view.tab {
            StreamTab::Events => {}
            StreamTab::TimeTravel => {
                if self.view.time_travel.stream_id.as_deref() != Some(stream.as_str()) {
                    self.build(ctx);
                }
            }
            StreamTab::Snapshots => {
                if self.view.snapshots.stream_id.as_deref() != Some(stream.as_str()) {
                    self.check_snapshots(ctx);
                }
            }
        }
    }

    fn choice(&self, category: &str) -> Result<ReducerChoice, String> {
        let config = self
            .config
            .clone()
            .unwrap_or_else(|| Arc::new(ProjectConfig::none()));
        let choice = config.choice_for(category)?;
        let allowed = self.trust.lock().is_ok_and(|t| t.allows(&choice));
        if !allowed {
            return Err(format!(
                "{} comes from {} and has not been approved for this store: open Reducers… \
                 to allow it",
                choice.describe(),
                config.origin.describe()
            ));
        }
        Ok(choice)
    }

    fn category(ctx: &PageCtx<'_>) -> String {
        ctx.stream
            .map(|s| {
                s.info.map_or_else(
                    || crate::core::ids::category_of(s.stream_id, '-'),
                    |i| i.category.clone(),
                )
            })
            .unwrap_or_default()
    }

    fn build(&mut self, ctx: &mut PageCtx<'_>) {
        let Some(source) = ctx.source() else { return };
        let Some(stream) = ctx.stream.map(|s| s.stream_id.to_owned()) else {
            return;
        };
        if let Some(job) = self.build_job.take() {
            ctx.jobs.cancel(job);
        }
        self.generation += 1;
        let generation = self.generation;
        let chosen = self.choice(&Self::category(ctx));
        let tt = &mut self.view.time_travel;
        *tt = view::TimeTravelState {
            evidence_path: default_export_path(&format!("evidence-{}.json", sanitize(&stream))),
            ..Default::default()
        };
        tt.stream_id = Some(stream.clone());
        tt.building = Some((
            0,
            ctx.stream.and_then(|s| s.info).map_or(0, |i| i.event_count),
        ));
        let choice = match chosen {
            Ok(choice) => choice,
            Err(error) => {
                tt.building = None;
                tt.error = Some(error);
                return;
            }
        };
        self.build_job = ctx.jobs.spawn(
            Lane::Interactive,
            &format!("Replaying {stream}"),
            true,
            move |job| {
                let result = (|| {
                    let mut reducer = choice.build(true)?;
                    let label = (reducer.info().kind, reducer.info().label.clone());
                    // Handler names that match no stored type would leave the state at
                    // its initial value without a word.
                    let warnings =
                        crate::replay::handler_warnings(reducer.as_mut(), source.as_ref())
                            .unwrap_or_else(|e| {
                                vec![format!("cannot check the handler names: {e}")]
                            });
                    let mut progress = |p: crate::replay::timeline::FoldProgress| {
                        job.progress(p.done as f32 / p.total.max(1) as f32);
                        job.send(AppMsg::Replay(ReplayMsg::Progress {
                            generation,
                            done: p.done,
                            total: p.total,
                        }));
                    };
                    let timeline = Timeline::build(source, &stream, reducer, &mut progress)?;
                    Ok::<_, JobError>(TimelineReady {
                        events: timeline.events().to_vec(),
                        failure: timeline.failure().map(ToString::to_string),
                        reducer: label,
                        warnings,
                        timeline: Arc::new(Mutex::new(timeline)),
                    })
                })();
                if job.token.is_cancelled() {
                    return;
                }
                job.send(AppMsg::Replay(ReplayMsg::Timeline { generation, result }));
            },
        );
    }

    fn step(&mut self, ctx: &mut PageCtx<'_>, index: Option<usize>) {
        let Some(timeline) = self.timeline.clone() else {
            return;
        };
        if let Some(job) = self.step_job.take() {
            ctx.jobs.cancel(job);
        }
        let params = (self.generation, index);
        if !self.view.time_travel.step.request(params) {
            return;
        }
        self.step_job = ctx
            .jobs
            .spawn(Lane::Interactive, "Computing state", false, move |job| {
                let result = timeline
                    .lock()
                    .map_err(|e| JobError::Other(lock_err(e)))
                    .and_then(|mut t| t.step(index).map_err(JobError::from))
                    .map(Box::new);
                if matches!(&result, Err(e) if e.is_cancelled()) || job.token.is_cancelled() {
                    return;
                }
                job.send(AppMsg::Replay(ReplayMsg::Step { params, result }));
            });
    }

    fn blame(&mut self, ctx: &mut PageCtx<'_>, pointer: String) {
        let Some(timeline) = self.timeline.clone() else {
            return;
        };
        let index = self.view.time_travel.current;
        let params = (self.generation, index, pointer.clone());
        if !self.view.time_travel.blame.request(params.clone()) {
            return;
        }
        self.view.time_travel.marks.selected = Some(pointer.clone());
        ctx.jobs.spawn(
            Lane::Interactive,
            &format!("Finding who changed {pointer}"),
            true,
            move |job| {
                let result = timeline
                    .lock()
                    .map_err(|e| JobError::Other(lock_err(e)))
                    .and_then(|mut t| t.blame(&pointer, index).map_err(JobError::from))
                    .map(Box::new);
                if job.token.is_cancelled() {
                    return;
                }
                job.send(AppMsg::Replay(ReplayMsg::Blame { params, result }));
            },
        );
    }

    fn check_snapshots(&mut self, ctx: &mut PageCtx<'_>) {
        let Some(source) = ctx.source() else { return };
        let Some(stream) = ctx.stream.map(|s| s.stream_id.to_owned()) else {
            return;
        };
        let generation = self.generation;
        let chosen = self.choice(&Self::category(ctx));
        let state = &mut self.view.snapshots;
        *state = view::SnapshotsState {
            stream_id: Some(stream.clone()),
            pending: true,
            ..Default::default()
        };
        let choice = match chosen {
            Ok(choice) => choice,
            Err(error) => {
                state.pending = false;
                state.checks = Some(Err(error));
                return;
            }
        };
        ctx.jobs.spawn(
            Lane::Interactive,
            &format!("Checking snapshots of {stream}"),
            true,
            move |job| {
                let mut reducer_label = (ReducerKind::Generic, String::new());
                let result = (|| {
                    let mut reducer = choice.build(true).map_err(|e| e.to_string())?;
                    reducer_label = (reducer.info().kind, reducer.info().label.clone());
                    check_stream(source.as_ref(), &stream, reducer.as_mut(), true)
                        .map_err(|e| e.to_string())
                })();
                if job.token.is_cancelled() {
                    return;
                }
                job.send(AppMsg::Replay(ReplayMsg::Snapshots {
                    generation,
                    reducer: reducer_label,
                    result,
                }));
            },
        );
    }

    fn run_drift(&mut self, ctx: &mut PageCtx<'_>) {
        let Some(source) = ctx.source() else { return };
        if self.view.drift.running.is_some() {
            return;
        }
        let config = self
            .config
            .clone()
            .unwrap_or_else(|| Arc::new(ProjectConfig::none()));
        let trust = Arc::clone(&self.trust);
        self.view.drift.report = None;
        self.view.drift.running = Some((0, 0, DriftSummary::default()));
        self.view.drift.job = ctx
            .jobs
            .spawn(Lane::Background, "Drift report", true, move |job| {
                let trust = trust.lock().map(|t| t.clone()).unwrap_or_default();
                let mut cache = ReducerCache::new(&config, &trust);
                let total = source.info().map_or(0, |i| i.snapshot_count).max(1);
                let mut summary = DriftSummary::default();
                let result = drift_report(&source, &mut cache, None, |p, checks| {
                    for c in checks {
                        summary.add(c);
                    }
                    summary.streams = p.streams_done;
                    job.progress(p.snapshots_done as f32 / total as f32);
                    job.send(AppMsg::Replay(ReplayMsg::DriftProgress {
                        streams: p.streams_done,
                        snapshots: p.snapshots_done,
                        summary: summary.clone(),
                    }));
                })
                .map_err(JobError::from);
                job.send(AppMsg::Replay(ReplayMsg::DriftDone(result)));
            });
    }

    /// Applies a replay command from a view.
    pub fn on_command(&mut self, ctx: &mut PageCtx<'_>, command: ReplayCommand) {
        match command {
            ReplayCommand::SetTab(tab) => {
                self.view.tab = tab;
                self.refresh_tab(ctx);
            }
            ReplayCommand::Build => self.build(ctx),
            ReplayCommand::StepTo(index) => {
                self.view.time_travel.current = index;
                self.view.time_travel.blame.clear();
                self.step(ctx, index);
            }
            ReplayCommand::Blame(pointer) => self.blame(ctx, pointer),
            ReplayCommand::CheckSnapshots => self.check_snapshots(ctx),
            ReplayCommand::RunDrift => self.run_drift(ctx),
            ReplayCommand::ExportDrift(path) => {
                let result = match &self.view.drift.report {
                    Some(Ok(report)) => serde_json::to_string_pretty(report)
                        .map_err(|e| e.to_string())
                        .and_then(|text| write_new_file(&path, &text))
                        .map(|()| format!("wrote {path}")),
                    _ => Err("run the report first".to_owned()),
                };
                self.view.drift.export_status = Some(result);
            }
            ReplayCommand::ExportEvidence(path) => self.export_evidence(ctx, path),
            ReplayCommand::OpenReducers => self.open_reducers(),
            ReplayCommand::SaveConfig(text) => self.save_config(ctx, text),
            ReplayCommand::ApproveCommands => self.approve(ctx),
        }
    }

    /// Applies a replay job result.
    pub fn on_message(&mut self, ctx: &mut PageCtx<'_>, msg: ReplayMsg) {
        let current = self.generation;
        match msg {
            ReplayMsg::Config { generation, result } => {
                if generation != self.store_generation {
                    return;
                }
                match result {
                    Ok(config) => self.config = Some(config),
                    Err(error) => {
                        ctx.error("Project config", &error);
                        self.config = Some(Arc::new(ProjectConfig::none()));
                    }
                }
                self.refresh_tab(ctx);
            }
            ReplayMsg::Progress {
                generation,
                done,
                total,
            } => {
                if generation == current && self.view.time_travel.building.is_some() {
                    self.view.time_travel.building = Some((done, total));
                }
            }
            ReplayMsg::Timeline { generation, result } => {
                if generation != current {
                    return;
                }
                let tt = &mut self.view.time_travel;
                tt.building = None;
                match result {
                    Ok(ready) => {
                        tt.events = ready.events;
                        tt.failure = ready.failure;
                        for warning in &ready.warnings {
                            tracing::warn!("reducer: {warning}");
                        }
                        tt.warnings = ready.warnings;
                        tt.reducer = Some(ready.reducer);
                        self.timeline = Some(ready.timeline);
                        // Start at the version selected in the event table, else the last.
                        let selected = ctx.stream.and_then(|s| s.selected_version);
                        let index = match selected {
                            Some(v) => tt.events.iter().position(|e| e.version == v),
                            None => tt.events.len().checked_sub(1),
                        };
                        tt.current = index;
                        tt.scroll_to_current = true;
                        self.step(ctx, index);
                    }
                    Err(error) => tt.error = Some(error.to_string()),
                }
            }
            ReplayMsg::Step { params, result } => {
                let tt = &mut self.view.time_travel;
                let result = result.map(|step| *step);
                let error = result.as_ref().err().map(ToString::to_string);
                if !tt.step.finish(&params, result) {
                    return;
                }
                if let Some(error) = error {
                    tt.error = Some(error);
                    return;
                }
                if let Some(step) = tt.step.value() {
                    let selected = tt.marks.selected.take();
                    tt.marks = TreeMarks::from_diff(&step.changes);
                    tt.marks.selected = selected;
                    tt.marks.selectable = true;
                    tt.version_text = step.version.to_string();
                }
            }
            ReplayMsg::Blame { params, result } => {
                self.view
                    .time_travel
                    .blame
                    .finish(&params, result.map(|b| *b));
            }
            ReplayMsg::Snapshots {
                generation,
                reducer,
                result,
            } => {
                if generation != current {
                    return;
                }
                let state = &mut self.view.snapshots;
                state.pending = false;
                state.reducer = Some(reducer);
                // Select the earliest drift, else the first row.
                state.selected = result.as_ref().ok().and_then(|checks| {
                    crate::replay::snapshots::earliest_drift(checks)
                        .and_then(|c| checks.iter().position(|x| x.version == c.version))
                        .or(if checks.is_empty() { None } else { Some(0) })
                });
                state.checks = Some(result);
            }
            ReplayMsg::DriftProgress {
                streams,
                snapshots,
                summary,
            } => {
                if self.view.drift.running.is_some() {
                    self.view.drift.running = Some((streams, snapshots, summary));
                }
            }
            ReplayMsg::DriftDone(result) => {
                self.view.drift.running = None;
                self.view.drift.job = None;
                // Cancelled: nothing to show (the button is back), not an error.
                self.view.drift.report = match result {
                    Err(error) if error.is_cancelled() => None,
                    other => Some(other.map_err(|e| e.to_string())),
                };
            }
            ReplayMsg::Exported { evidence, result } => {
                if evidence {
                    self.view.time_travel.evidence_status = Some(result);
                } else {
                    self.view.drift.export_status = Some(result);
                }
            }
        }
    }
}
