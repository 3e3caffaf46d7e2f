//! Wiring of the upcasters view: loading and watching upcaster files, pages side by side,
//! the next failure, the version histogram and the bulk check — each a background job.
//! (Over 600 lines: file loading, watching, side-by-side paging, next failure and the histogram are one page's jobs over one compiled set of upcasters; the screens are in `view.rs`, the bulk check in `check.rs`.)
//!
//! Reload on save polls the files' modification times once a second from `logic()`, on a
//! worker (a stat can block on a network file system). Polling needs no dependency, costs a
//! few `stat` calls a second for a handful of files, and behaves the same on every OS and
//! file system (including editors that save by renaming a new file over the old one, which
//! inotify-style watchers see as the watched file disappearing). A one-second delay is
//! well within what a user notices after pressing save.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::core::source::EventSource;

use crate::context::jobs::Lane;
use crate::context::messages::AppMsg;
use crate::context::page::PageCtx;
use crate::context::pending::JobError;
use crate::context::state::View;
use crate::replay::config::ProjectConfig;
use crate::upcast::check::{CheckError, check, version_histogram};
use crate::upcast::engine::DEFAULT_BUDGET;
use crate::upcast::preview::{Selection, load_page, next_failure};
use crate::upcast::{UpcasterFile, Upcasters, VersionRules};
use view::{PAGE_SIZE, PageMove, UpcastCommand, UpcastTab, UpcastViewState};

use crate::context::upcast::{LoadedFiles, PageRows, UpcastMsg};

/// How often upcaster files are checked for changes.
mod check;
pub mod view;

use view::{upcast_side_ui, upcast_ui};

const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// App-side state of the upcasters view.
#[derive(Debug, Default)]
pub struct UpcastPage {
    /// What the view draws.
    pub view: UpcastViewState,
    files: Vec<UpcasterFile>,
    rules: VersionRules,
    mtimes: Vec<Option<SystemTime>>,
    store_generation: u64,
    started: bool,
    last_watch: Option<Instant>,
    watch_job: Option<u64>,
    page_generation: u64,
    loads_pending: bool,
}

fn compile(files: &[UpcasterFile], rules: &VersionRules) -> Result<Upcasters, JobError> {
    let sources: Vec<_> = files.iter().map(UpcasterFile::source).collect();
    Upcasters::new(&sources, rules.clone(), DEFAULT_BUDGET)
        .map_err(|e| JobError::Script(e.to_string()))
}

fn loaded(
    files: Vec<UpcasterFile>,
    rules: VersionRules,
    origin: String,
    reloaded: bool,
) -> LoadedFiles {
    let steps = compile(&files, &rules)
        .map(|u| u.steps())
        .map_err(|e| e.to_string());
    LoadedFiles {
        mtimes: crate::upcast::modified_times(&files),
        files,
        rules,
        origin,
        steps,
        reloaded,
        warnings: Vec::new(),
    }
}

/// Adds the "no event type `X`; did you mean …" warnings for registrations that name no type
/// the store holds (a registration that matches nothing would pass the check vacuously).
fn with_type_warnings(
    mut result: Result<LoadedFiles, String>,
    source: Option<&Arc<dyn EventSource>>,
) -> Result<LoadedFiles, String> {
    if let (Ok(files), Some(source)) = (&mut result, source)
        && let Ok(upcasters) = compile(&files.files, &files.rules)
    {
        match source.event_type_names() {
            Ok(known) => files.warnings = upcasters.type_warnings(&known),
            Err(error) => files.warnings = vec![format!("cannot list the store's types: {error}")],
        }
    }
    result
}

fn split_paths(text: &str) -> Vec<std::path::PathBuf> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .collect()
}

impl UpcastPage {
    /// Per-frame work of the upcasters view: starts it for a newly opened store and watches
    /// the files while the view is shown.
    pub fn logic(&mut self, ctx: &mut PageCtx<'_>) {
        if self.store_generation != ctx.store_generation {
            *self = UpcastPage {
                store_generation: ctx.store_generation,
                ..UpcastPage::default()
            };
        }
        if ctx.view != View::Upcasters || ctx.store.is_none() {
            return;
        }
        if !self.started {
            self.started = true;
            self.load_from_config(ctx);
            self.histogram(ctx);
        }
        let due = self
            .last_watch
            .is_none_or(|t| t.elapsed() >= WATCH_INTERVAL);
        let idle = self.watch_job.is_none_or(|id| !ctx.jobs.is_active(id));
        let watched = self.files.iter().any(|f| f.path.is_some());
        if due && idle && watched && !self.loads_pending {
            self.last_watch = Some(Instant::now());
            self.watch(ctx);
        }
        if let Some(job) = self.view.check_job
            && !ctx.jobs.is_active(job)
            && self.view.check_progress.is_some()
        {
            // Cancelled from the status bar or the view.
            self.view.check_progress = None;
            self.view.check_job = None;
        }
        if watched {
            ctx.egui.request_repaint_after(WATCH_INTERVAL);
        }
    }

    fn send_files(
        &mut self,
        ctx: &mut PageCtx<'_>,
        label: &str,
        load: impl FnOnce() -> Result<LoadedFiles, String> + Send + 'static,
    ) {
        let store_generation = ctx.store_generation;
        let source = ctx.store.map(|store| store.source.clone());
        self.loads_pending = true;
        ctx.jobs.spawn(Lane::Interactive, label, false, move |job| {
            let result = with_type_warnings(load(), source.as_ref());
            job.send(AppMsg::Upcast(Box::new(UpcastMsg::Files {
                store_generation,
                result,
            })));
        });
    }

    fn load_from_config(&mut self, ctx: &mut PageCtx<'_>) {
        let Some(store) = ctx.store else { return };
        let location = store.location.clone();
        self.send_files(ctx, "Loading upcasters", move || {
            let settings = crate::replay::config::default_settings_dir();
            let config = ProjectConfig::discover(&location, None, settings.as_deref())?;
            let rules = crate::upcast::rules_from_config(&config)?;
            let files = crate::upcast::files_from_config(&config)?;
            Ok(loaded(files, rules, config.origin.describe(), false))
        });
    }

    fn watch(&mut self, ctx: &mut PageCtx<'_>) {
        let files = self.files.clone();
        let known = self.mtimes.clone();
        let rules = self.rules.clone();
        let origin = self.view.origin.clone();
        let store_generation = ctx.store_generation;
        let source = ctx.store.map(|store| store.source.clone());
        self.watch_job = ctx.jobs.spawn(
            Lane::Interactive,
            "Watching upcaster files",
            false,
            move |job| {
                if crate::upcast::modified_times(&files) == known {
                    return;
                }
                let reread: Result<Vec<UpcasterFile>, String> = files
                    .iter()
                    .map(|f| match &f.path {
                        Some(path) => std::fs::read_to_string(path)
                            .map(|text| UpcasterFile { text, ..f.clone() })
                            .map_err(|e| format!("cannot read {}: {e}", path.display())),
                        None => Ok(f.clone()),
                    })
                    .collect();
                let result = with_type_warnings(
                    reread.map(|files| loaded(files, rules, origin, true)),
                    source.as_ref(),
                );
                job.send(AppMsg::Upcast(Box::new(UpcastMsg::Files {
                    store_generation,
                    result,
                })));
            },
        );
    }

    fn histogram(&mut self, ctx: &mut PageCtx<'_>) {
        let store_generation = ctx.store_generation;
        let rules = self.rules.clone();
        let Some(source) = ctx.source() else { return };
        self.view.histogram = None;
        self.view.histogram_progress = None;
        ctx.jobs.spawn(
            Lane::Background,
            "Counting event versions",
            true,
            move |job| {
                let mut last = Instant::now();
                let mut progress = |p: crate::upcast::check::CheckProgress| {
                    if last.elapsed() >= Duration::from_millis(100) {
                        last = Instant::now();
                        job.progress(p.fraction());
                        job.send(AppMsg::Upcast(Box::new(UpcastMsg::HistogramProgress {
                            store_generation,
                            fraction: p.fraction(),
                        })));
                    }
                };
                let result = match version_histogram(source.as_ref(), &rules, &mut progress) {
                    Ok(histogram) => Ok(histogram),
                    Err(CheckError::Cancelled) => return,
                    Err(error) => Err(error.into()),
                };
                if !job.token.is_cancelled() {
                    job.send(AppMsg::Upcast(Box::new(UpcastMsg::Histogram {
                        store_generation,
                        result,
                    })));
                }
            },
        );
    }

    /// Draws the page: the event types and versions on the left, the rows in the middle.
    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut crate::ui::Commands) {
        egui::Panel::left("upcast-side")
            .resizable(true)
            .default_size(300.0)
            .min_size(220.0)
            .show(ui, |ui| upcast_side_ui(ui, &mut self.view, commands));
        egui::CentralPanel::default().show(ui, |ui| upcast_ui(ui, &mut self.view, commands));
    }

    /// Applies a command of the upcasters view.
    pub fn on_command(&mut self, ctx: &mut PageCtx<'_>, command: UpcastCommand) {
        match command {
            UpcastCommand::LoadFiles(text) => {
                let paths = split_paths(&text);
                let rules = self.rules.clone();
                self.send_files(ctx, "Loading upcasters", move || {
                    let files = crate::upcast::read_files(&paths)?;
                    Ok(loaded(files, rules, "loaded in the app".to_owned(), false))
                });
            }
            UpcastCommand::Reload => {
                // Forget the times so the next watch re-reads every file.
                self.mtimes.clear();
                if self.files.iter().any(|f| f.path.is_some()) {
                    self.last_watch = None;
                } else {
                    self.load_from_config(ctx);
                }
            }
            UpcastCommand::Select(selection) => {
                self.view.selection = Some(selection);
                self.view.message = None;
                self.view.tab = UpcastTab::SideBySide;
                self.page(ctx, None, false);
            }
            UpcastCommand::Page(PageMove::First) => self.page(ctx, None, false),
            UpcastCommand::Page(PageMove::Next) => {
                let from = self.view.page_last.and_then(|c| c.checked_add(1));
                if from.is_some() {
                    self.page(ctx, from, false);
                }
            }
            UpcastCommand::Page(PageMove::Previous) => {
                match self.view.page_first.and_then(|c| c.checked_sub(1)) {
                    Some(from) => self.page(ctx, Some(from), true),
                    None => self.page(ctx, None, false),
                }
            }
            UpcastCommand::NextFailure => self.next_failure(ctx),
            UpcastCommand::RunCheck { whole_store } => self.check(ctx, whole_store),
            UpcastCommand::ShowEvent {
                event_type,
                position,
            } => {
                self.view.selection = Some(Selection::Type(event_type));
                self.view.tab = UpcastTab::SideBySide;
                self.view.message = None;
                self.page(ctx, Some(position), false);
            }
        }
    }

    fn page(&mut self, ctx: &mut PageCtx<'_>, from: Option<u64>, backwards: bool) {
        let Some(selection) = self.view.selection.clone() else {
            return;
        };
        self.page_generation += 1;
        let page_generation = self.page_generation;
        let files = self.files.clone();
        let rules = self.rules.clone();
        self.view.loading = true;
        ctx.spawn_read(
            Lane::Interactive,
            "Upcasting a page",
            false,
            move |source| {
                let result = compile(&files, &rules).and_then(|upcasters| {
                    match load_page(source, &upcasters, &selection, from, backwards, PAGE_SIZE) {
                        Ok(page) => Ok(PageRows {
                            rows: page.rows.iter().map(crate::ui::upcast::row_view).collect(),
                            first: page.first,
                            last: page.last,
                            at_end: page.at_end,
                        }),
                        Err(error) => Err(error.into()),
                    }
                });
                Ok(AppMsg::Upcast(Box::new(UpcastMsg::Page {
                    page_generation,
                    result,
                })))
            },
        );
    }

    fn next_failure(&mut self, ctx: &mut PageCtx<'_>) {
        let Some(selection) = self.view.selection.clone() else {
            return;
        };
        self.page_generation += 1;
        let page_generation = self.page_generation;
        let after = self.view.page_first;
        let files = self.files.clone();
        let rules = self.rules.clone();
        self.view.searching = true;
        self.view.message = None;
        ctx.spawn_read(
            Lane::Interactive,
            "Finding the next failure",
            true,
            move |source| {
                let result = compile(&files, &rules).and_then(|upcasters| {
                    match next_failure(source, &upcasters, &selection, after, &mut |_| {}) {
                        Ok(found) => Ok(found),
                        Err(error) => Err(error.into()),
                    }
                });
                Ok(AppMsg::Upcast(Box::new(UpcastMsg::Failure {
                    page_generation,
                    result,
                })))
            },
        );
    }

    fn check(&mut self, ctx: &mut PageCtx<'_>, whole_store: bool) {
        let only_type = match (&self.view.selection, whole_store) {
            (_, true) => None,
            (Some(Selection::Type(t)), false) => Some(t.clone()),
            _ => return,
        };
        let Some(source) = ctx.source() else { return };
        if let Some(job) = self.view.check_job.take() {
            ctx.jobs.cancel(job);
        }
        let files = self.files.clone();
        let rules = self.rules.clone();
        self.view.check_error = None;
        self.view.check_progress = Some((0.0, 0));
        let label = match &only_type {
            Some(t) => format!("Checking upcasters of {t}"),
            None => "Checking upcasters (whole store)".to_owned(),
        };
        self.view.check_job = ctx.jobs.spawn(Lane::Background, &label, true, move |job| {
            let result = compile(&files, &rules).and_then(|upcasters| {
                let mut last = Instant::now();
                let mut progress = |p: crate::upcast::check::CheckProgress| {
                    if last.elapsed() >= Duration::from_millis(100) {
                        last = Instant::now();
                        job.progress(p.fraction());
                        job.send(AppMsg::Upcast(Box::new(UpcastMsg::CheckProgress {
                            job_id: job.id,
                            fraction: p.fraction(),
                            scanned: p.scanned,
                        })));
                    }
                };
                match check(
                    source.as_ref(),
                    &upcasters,
                    only_type.as_deref(),
                    &mut progress,
                ) {
                    Ok(report) => Ok(report),
                    Err(error) => Err(error.into()),
                }
            });
            if !job.token.is_cancelled() {
                job.send(AppMsg::Upcast(Box::new(UpcastMsg::Check {
                    job_id: job.id,
                    result,
                })));
            }
        });
        if self.view.check_job.is_none() {
            self.view.check_progress = None;
        }
    }

    /// Applies a result of the upcasters view's jobs.
    pub fn on_message(&mut self, ctx: &mut PageCtx<'_>, msg: UpcastMsg) {
        let view = &mut self.view;
        match msg {
            UpcastMsg::Files {
                store_generation,
                result,
            } => {
                if store_generation != ctx.store_generation {
                    return;
                }
                self.loads_pending = false;
                match result {
                    Err(error) => {
                        tracing::error!("upcasters: {error}");
                        view.load_error = Some(error);
                    }
                    Ok(loaded) => {
                        self.mtimes = loaded.mtimes;
                        let now = chrono::Utc::now().format("%H:%M:%S").to_string();
                        match loaded.steps {
                            Err(error) => {
                                // Keep running the last upcasters that compiled.
                                tracing::error!("upcasters: {error}");
                                view.load_error = Some(error);
                                if self.files.is_empty() || !loaded.reloaded {
                                    self.files = loaded.files;
                                }
                            }
                            Ok(steps) => {
                                view.load_error = None;
                                view.steps = steps;
                                for warning in &loaded.warnings {
                                    tracing::warn!("upcasters: {warning}");
                                }
                                view.type_warnings = loaded.warnings;
                                view.files_label = loaded
                                    .files
                                    .iter()
                                    .map(|f| f.label.clone())
                                    .collect::<Vec<_>>()
                                    .join(", ");
                                view.origin = loaded.origin;
                                view.loaded_note = Some(if loaded.files.is_empty() {
                                    "No upcaster files: name them in eventscope.toml \
                                     (upcasters = [\"upcasters.js\"]) or load one below"
                                        .to_owned()
                                } else if loaded.reloaded {
                                    format!("reloaded at {now} UTC · reloads on save")
                                } else {
                                    format!("{} steps · reloads on save", view.steps.len())
                                });
                                let rules_changed = loaded.rules != self.rules;
                                self.files = loaded.files;
                                self.rules = loaded.rules;
                                if view.check.is_some() {
                                    view.check_stale = true;
                                }
                                if rules_changed {
                                    self.histogram(ctx);
                                }
                                if self.view.selection.is_none()
                                    && let Some(step) = self.view.steps.first()
                                {
                                    // Start on the first type that has upcasters.
                                    let first_type = step.event_type.clone();
                                    self.view.selection = Some(Selection::Type(first_type));
                                }
                                let first = self.view.page_first;
                                self.page(ctx, first, false);
                            }
                        }
                    }
                }
            }
            UpcastMsg::HistogramProgress {
                store_generation,
                fraction,
            } => {
                if store_generation == ctx.store_generation {
                    view.histogram_progress = Some(fraction);
                }
            }
            UpcastMsg::Histogram {
                store_generation,
                result,
            } => {
                if store_generation != ctx.store_generation {
                    return;
                }
                match result {
                    Ok(histogram) => {
                        if view.selection.is_none() {
                            let first = histogram
                                .keys()
                                .find(|t| view.latest(t).is_some())
                                .or_else(|| histogram.keys().next())
                                .cloned();
                            view.histogram = Some(histogram);
                            if let Some(first) = first {
                                self.on_command(ctx, UpcastCommand::Select(Selection::Type(first)));
                            }
                        } else {
                            view.histogram = Some(histogram);
                        }
                    }
                    Err(error) => ctx.error("Counting event versions", &error.to_string()),
                }
            }
            UpcastMsg::Page {
                page_generation,
                result,
            } => {
                if page_generation != self.page_generation {
                    return;
                }
                view.loading = false;
                match result {
                    Ok(page) => {
                        if page.rows.is_empty() && page.first.is_none() && view.page_first.is_some()
                        {
                            view.message = Some("No more events".to_owned());
                            view.at_end = true;
                        } else {
                            view.rows = page.rows;
                            view.page_first = page.first;
                            view.page_last = page.last;
                            view.at_end = page.at_end;
                        }
                    }
                    Err(error) => view.message = Some(error.to_string()),
                }
            }
            UpcastMsg::Failure {
                page_generation,
                result,
            } => {
                if page_generation != self.page_generation {
                    return;
                }
                view.searching = false;
                match result {
                    Ok(Some(cursor)) => self.page(ctx, Some(cursor), false),
                    Ok(None) => {
                        view.message = Some(match view.page_first {
                            Some(_) => "No failure after this event".to_owned(),
                            None => "No failures".to_owned(),
                        });
                    }
                    Err(error) => view.message = Some(error.to_string()),
                }
            }
            UpcastMsg::CheckProgress {
                job_id,
                fraction,
                scanned,
            } => {
                if view.check_job == Some(job_id) {
                    view.check_progress = Some((fraction, scanned));
                }
            }
            UpcastMsg::Check { job_id, result } => {
                if view.check_job != Some(job_id) {
                    return;
                }
                view.check_job = None;
                view.check_progress = None;
                match result {
                    Ok(report) => {
                        view.check = Some(report);
                        view.check_stale = false;
                    }
                    Err(error) => view.check_error = Some(error.to_string()),
                }
            }
        }
    }
}
