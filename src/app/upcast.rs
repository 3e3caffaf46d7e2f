//! Wiring of the upcasters view: loading and watching upcaster files, pages side by side,
//! the next failure, the version histogram and the bulk check — each a background job.
//!
//! Reload on save polls the files' modification times once a second from `logic()`, on a
//! worker (a stat can block on a network file system). Polling needs no dependency, costs a
//! few `stat` calls a second for a handful of files, and behaves the same on every OS and
//! file system (including editors that save by renaming a new file over the old one, which
//! inotify-style watchers see as the watched file disappearing). A one-second delay is
//! well within what a user notices after pressing save.

use std::time::{Duration, Instant, SystemTime};

use crate::app::EventscopeApp;
use crate::context::jobs::Lane;
use crate::context::messages::AppMsg;
use crate::context::state::View;
use crate::replay::config::ProjectConfig;
use crate::ui::upcast::{PAGE_SIZE, PageMove, UpcastCommand, UpcastTab, UpcastViewState};
use crate::upcast::check::{CheckError, check, version_histogram};
use crate::upcast::engine::DEFAULT_BUDGET;
use crate::upcast::preview::{Selection, load_page, next_failure};
use crate::upcast::{UpcasterFile, Upcasters, VersionRules};

pub use crate::context::upcast::{LoadedFiles, PageRows, UpcastMsg};

/// How often upcaster files are checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// App-side state of the upcasters view.
#[derive(Debug, Default)]
pub struct UpcastApp {
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

fn compile(files: &[UpcasterFile], rules: &VersionRules) -> Result<Upcasters, String> {
    let sources: Vec<_> = files.iter().map(UpcasterFile::source).collect();
    Upcasters::new(&sources, rules.clone(), DEFAULT_BUDGET).map_err(|e| e.to_string())
}

fn loaded(
    files: Vec<UpcasterFile>,
    rules: VersionRules,
    origin: String,
    reloaded: bool,
) -> LoadedFiles {
    let steps = compile(&files, &rules).map(|u| u.steps());
    LoadedFiles {
        mtimes: crate::upcast::modified_times(&files),
        files,
        rules,
        origin,
        steps,
        reloaded,
    }
}

fn split_paths(text: &str) -> Vec<std::path::PathBuf> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .collect()
}

impl EventscopeApp {
    /// Per-frame work of the upcasters view: starts it for a newly opened store and watches
    /// the files while the view is shown.
    pub(super) fn upcast_logic(&mut self) {
        if self.upcast.store_generation != self.open_generation {
            self.upcast = UpcastApp {
                store_generation: self.open_generation,
                ..UpcastApp::default()
            };
        }
        if self.state.view != View::Upcasters || self.store.is_none() {
            return;
        }
        if !self.upcast.started {
            self.upcast.started = true;
            self.upcast_load_from_config();
            self.upcast_histogram();
        }
        let due = self
            .upcast
            .last_watch
            .is_none_or(|t| t.elapsed() >= WATCH_INTERVAL);
        let idle = self
            .upcast
            .watch_job
            .is_none_or(|id| !self.jobs.is_active(id));
        let watched = self.upcast.files.iter().any(|f| f.path.is_some());
        if due && idle && watched && !self.upcast.loads_pending {
            self.upcast.last_watch = Some(Instant::now());
            self.upcast_watch();
        }
        if let Some(job) = self.upcast.view.check_job
            && !self.jobs.is_active(job)
            && self.upcast.view.check_progress.is_some()
        {
            // Cancelled from the status bar or the view.
            self.upcast.view.check_progress = None;
            self.upcast.view.check_job = None;
        }
        if watched {
            self.egui_ctx.request_repaint_after(WATCH_INTERVAL);
        }
    }

    fn upcast_send_files(
        &mut self,
        label: &str,
        load: impl FnOnce() -> Result<LoadedFiles, String> + Send + 'static,
    ) {
        let store_generation = self.open_generation;
        self.upcast.loads_pending = true;
        self.jobs
            .spawn(Lane::Interactive, label, false, move |job| {
                let result = load();
                job.send(AppMsg::Upcast(Box::new(UpcastMsg::Files {
                    store_generation,
                    result,
                })));
            });
    }

    fn upcast_load_from_config(&mut self) {
        let Some(store) = &self.store else { return };
        let location = store.location.clone();
        self.upcast_send_files("Loading upcasters", move || {
            let settings = crate::replay::config::default_settings_dir();
            let config = ProjectConfig::discover(&location, None, settings.as_deref())?;
            let rules = crate::upcast::rules_from_config(&config)?;
            let files = crate::upcast::files_from_config(&config)?;
            Ok(loaded(files, rules, config.origin.describe(), false))
        });
    }

    fn upcast_watch(&mut self) {
        let files = self.upcast.files.clone();
        let known = self.upcast.mtimes.clone();
        let rules = self.upcast.rules.clone();
        let origin = self.upcast.view.origin.clone();
        let store_generation = self.open_generation;
        self.upcast.watch_job = self.jobs.spawn(
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
                let result = reread.map(|files| loaded(files, rules, origin, true));
                job.send(AppMsg::Upcast(Box::new(UpcastMsg::Files {
                    store_generation,
                    result,
                })));
            },
        );
    }

    fn upcast_histogram(&mut self) {
        let store_generation = self.open_generation;
        let rules = self.upcast.rules.clone();
        let Some(source) = self.source() else { return };
        self.upcast.view.histogram = None;
        self.upcast.view.histogram_progress = None;
        self.jobs.spawn(
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
                    Err(CheckError::Source(e)) => Err(e.to_string()),
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

    /// Applies a command of the upcasters view.
    pub(super) fn upcast_command(&mut self, command: UpcastCommand) {
        match command {
            UpcastCommand::LoadFiles(text) => {
                let paths = split_paths(&text);
                let rules = self.upcast.rules.clone();
                self.upcast_send_files("Loading upcasters", move || {
                    let files = crate::upcast::read_files(&paths)?;
                    Ok(loaded(files, rules, "loaded in the app".to_owned(), false))
                });
            }
            UpcastCommand::Reload => {
                // Forget the times so the next watch re-reads every file.
                self.upcast.mtimes.clear();
                if self.upcast.files.iter().any(|f| f.path.is_some()) {
                    self.upcast.last_watch = None;
                } else {
                    self.upcast_load_from_config();
                }
            }
            UpcastCommand::Select(selection) => {
                self.upcast.view.selection = Some(selection);
                self.upcast.view.message = None;
                self.upcast.view.tab = UpcastTab::SideBySide;
                self.upcast_page(None, false);
            }
            UpcastCommand::Page(PageMove::First) => self.upcast_page(None, false),
            UpcastCommand::Page(PageMove::Next) => {
                let from = self.upcast.view.page_last.and_then(|c| c.checked_add(1));
                if from.is_some() {
                    self.upcast_page(from, false);
                }
            }
            UpcastCommand::Page(PageMove::Previous) => {
                match self.upcast.view.page_first.and_then(|c| c.checked_sub(1)) {
                    Some(from) => self.upcast_page(Some(from), true),
                    None => self.upcast_page(None, false),
                }
            }
            UpcastCommand::NextFailure => self.upcast_next_failure(),
            UpcastCommand::RunCheck { whole_store } => self.upcast_check(whole_store),
            UpcastCommand::ShowEvent {
                event_type,
                position,
            } => {
                self.upcast.view.selection = Some(Selection::Type(event_type));
                self.upcast.view.tab = UpcastTab::SideBySide;
                self.upcast.view.message = None;
                self.upcast_page(Some(position), false);
            }
        }
    }

    fn upcast_page(&mut self, from: Option<u64>, backwards: bool) {
        let Some(selection) = self.upcast.view.selection.clone() else {
            return;
        };
        self.upcast.page_generation += 1;
        let page_generation = self.upcast.page_generation;
        let files = self.upcast.files.clone();
        let rules = self.upcast.rules.clone();
        self.upcast.view.loading = true;
        self.spawn_read(
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
                        Err(CheckError::Cancelled) => Err("cancelled".to_owned()),
                        Err(CheckError::Source(e)) => Err(e.to_string()),
                    }
                });
                Ok(AppMsg::Upcast(Box::new(UpcastMsg::Page {
                    page_generation,
                    result,
                })))
            },
        );
    }

    fn upcast_next_failure(&mut self) {
        let Some(selection) = self.upcast.view.selection.clone() else {
            return;
        };
        self.upcast.page_generation += 1;
        let page_generation = self.upcast.page_generation;
        let after = self.upcast.view.page_first;
        let files = self.upcast.files.clone();
        let rules = self.upcast.rules.clone();
        self.upcast.view.searching = true;
        self.upcast.view.message = None;
        self.spawn_read(
            Lane::Interactive,
            "Finding the next failure",
            true,
            move |source| {
                let result = compile(&files, &rules).and_then(|upcasters| {
                    match next_failure(source, &upcasters, &selection, after, &mut |_| {}) {
                        Ok(found) => Ok(found),
                        Err(CheckError::Cancelled) => Err("cancelled".to_owned()),
                        Err(CheckError::Source(e)) => Err(e.to_string()),
                    }
                });
                Ok(AppMsg::Upcast(Box::new(UpcastMsg::Failure {
                    page_generation,
                    result,
                })))
            },
        );
    }

    fn upcast_check(&mut self, whole_store: bool) {
        let only_type = match (&self.upcast.view.selection, whole_store) {
            (_, true) => None,
            (Some(Selection::Type(t)), false) => Some(t.clone()),
            _ => return,
        };
        let Some(source) = self.source() else { return };
        if let Some(job) = self.upcast.view.check_job.take() {
            self.jobs.cancel(job);
        }
        let files = self.upcast.files.clone();
        let rules = self.upcast.rules.clone();
        self.upcast.view.check_error = None;
        self.upcast.view.check_progress = Some((0.0, 0));
        let label = match &only_type {
            Some(t) => format!("Checking upcasters of {t}"),
            None => "Checking upcasters (whole store)".to_owned(),
        };
        self.upcast.view.check_job = self.jobs.spawn(Lane::Background, &label, true, move |job| {
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
                    Err(CheckError::Cancelled) => Err("cancelled".to_owned()),
                    Err(CheckError::Source(e)) => Err(e.to_string()),
                }
            });
            if !job.token.is_cancelled() {
                job.send(AppMsg::Upcast(Box::new(UpcastMsg::Check {
                    job_id: job.id,
                    result,
                })));
            }
        });
        if self.upcast.view.check_job.is_none() {
            self.upcast.view.check_progress = None;
        }
    }

    /// Applies a result of the upcasters view's jobs.
    pub(super) fn upcast_message(&mut self, msg: UpcastMsg) {
        let view = &mut self.upcast.view;
        match msg {
            UpcastMsg::Files {
                store_generation,
                result,
            } => {
                if store_generation != self.open_generation {
                    return;
                }
                self.upcast.loads_pending = false;
                match result {
                    Err(error) => {
                        tracing::error!("upcasters: {error}");
                        view.load_error = Some(error);
                    }
                    Ok(loaded) => {
                        self.upcast.mtimes = loaded.mtimes;
                        let now = chrono::Utc::now().format("%H:%M:%S").to_string();
                        match loaded.steps {
                            Err(error) => {
                                // Keep running the last upcasters that compiled.
                                tracing::error!("upcasters: {error}");
                                view.load_error = Some(error);
                                if self.upcast.files.is_empty() || !loaded.reloaded {
                                    self.upcast.files = loaded.files;
                                }
                            }
                            Ok(steps) => {
                                view.load_error = None;
                                view.steps = steps;
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
                                let rules_changed = loaded.rules != self.upcast.rules;
                                self.upcast.files = loaded.files;
                                self.upcast.rules = loaded.rules;
                                if view.check.is_some() {
                                    view.check_stale = true;
                                }
                                if rules_changed {
                                    self.upcast_histogram();
                                }
                                if self.upcast.view.selection.is_none()
                                    && let Some(step) = self.upcast.view.steps.first()
                                {
                                    // Start on the first type that has upcasters.
                                    let first_type = step.event_type.clone();
                                    self.upcast.view.selection = Some(Selection::Type(first_type));
                                }
                                let first = self.upcast.view.page_first;
                                self.upcast_page(first, false);
                            }
                        }
                    }
                }
            }
            UpcastMsg::HistogramProgress {
                store_generation,
                fraction,
            } => {
                if store_generation == self.open_generation {
                    view.histogram_progress = Some(fraction);
                }
            }
            UpcastMsg::Histogram {
                store_generation,
                result,
            } => {
                if store_generation != self.open_generation {
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
                                self.upcast_command(UpcastCommand::Select(Selection::Type(first)));
                            }
                        } else {
                            view.histogram = Some(histogram);
                        }
                    }
                    Err(error) => self.error("Counting event versions", &error),
                }
            }
            UpcastMsg::Page {
                page_generation,
                result,
            } => {
                if page_generation != self.upcast.page_generation {
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
                    Err(error) => view.message = Some(error),
                }
            }
            UpcastMsg::Failure {
                page_generation,
                result,
            } => {
                if page_generation != self.upcast.page_generation {
                    return;
                }
                view.searching = false;
                match result {
                    Ok(Some(cursor)) => self.upcast_page(Some(cursor), false),
                    Ok(None) => {
                        view.message = Some(match view.page_first {
                            Some(_) => "No failure after this event".to_owned(),
                            None => "No failures".to_owned(),
                        });
                    }
                    Err(error) => view.message = Some(error),
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
                    Err(error) => view.check_error = Some(error),
                }
            }
        }
    }
}
