//! The Health page: the store-health checklist ([`crate::audit`]) run as one background
//! job over the whole log, with progress and Cancel; a table of the checks, each
//! expandable to its examples, and a click on an example opens the event in its stream.

pub mod view;

use crate::audit::{AuditOptions, Example};
use crate::context::health::{HealthCommand, HealthMsg};
use crate::context::jobs::Lane;
use crate::context::messages::{AppCommand, AppMsg};
use crate::context::page::PageCtx;
use crate::context::pending::JobError;
use crate::core::query::{Direction, LogQuery};
use view::HealthState;

/// The Health page.
#[derive(Default)]
pub struct HealthPage {
    /// What the view draws.
    pub view: HealthState,
    job: Option<u64>,
    generation: u64,
}

impl HealthPage {
    /// Forgets the previous store's report.
    pub fn on_open(&mut self, ctx: &mut PageCtx<'_>) {
        self.stop(ctx);
        self.generation += 1;
        self.view = HealthState::default();
    }

    /// Applies a Health command.
    pub fn on_command(&mut self, ctx: &mut PageCtx<'_>, command: HealthCommand) {
        match command {
            HealthCommand::Run => self.run(ctx),
            HealthCommand::Cancel => {
                self.stop(ctx);
                self.generation += 1;
                self.cancelled();
            }
            HealthCommand::Toggle(check) => {
                if !self.view.expanded.remove(check) {
                    self.view.expanded.insert(check);
                }
            }
            HealthCommand::Open(example) => self.open(ctx, example),
            HealthCommand::Export { path, html } => self.export(ctx, path, html),
        }
    }

    /// A job was cancelled from the status bar.
    pub fn job_cancelled(&mut self, job_id: u64) {
        if self.job == Some(job_id) {
            self.job = None;
            self.cancelled();
        }
    }

    fn cancelled(&mut self) {
        self.view.running = false;
        self.view.progress = None;
        self.view.note = Some("cancelled: run the audit again for a report".to_owned());
    }

    /// Copies the running audit's progress into the view (each frame).
    pub fn logic(&mut self, ctx: &mut PageCtx<'_>) {
        if let Some(job) = self.job.and_then(|id| ctx.jobs.active.get(&id)) {
            self.view.progress = job.progress;
        }
    }

    fn stop(&mut self, ctx: &mut PageCtx<'_>) {
        if let Some(job) = self.job.take() {
            ctx.jobs.cancel(job);
        }
    }

    fn run(&mut self, ctx: &mut PageCtx<'_>) {
        self.stop(ctx);
        self.generation += 1;
        self.view.note = None;
        self.view.error = None;
        let Some(source) = ctx.source() else {
            self.view.error = Some("open a store first".to_owned());
            return;
        };
        self.view.running = true;
        self.view.progress = Some(0.0);
        let generation = self.generation;
        if self.view.skipped.len() == crate::audit::pass_checks().count() {
            self.view.running = false;
            self.view.progress = None;
            self.view.error = Some("no check is selected: tick one under Checks to run".to_owned());
            return;
        }
        // Every check (empty list) unless some are left out.
        let checks = if self.view.skipped.is_empty() {
            Vec::new()
        } else {
            crate::audit::pass_checks()
                .filter(|c| !self.view.skipped.contains(c.name))
                .map(|c| c.name.to_owned())
                .collect()
        };
        let location = ctx
            .store
            .map(|store| store.location.clone())
            .unwrap_or_default();
        self.job = ctx
            .jobs
            .spawn(Lane::Background, "Auditing the store", true, move |job| {
                let result = crate::audit::version_rules_for(&location, None)
                    .map_err(crate::core::source::SourceError::Query)
                    .and_then(|version_rules| {
                        let options = AuditOptions {
                            checks,
                            version_rules,
                        };
                        crate::core::cancel::with_cancel(&job.token, || {
                            crate::audit::run(source.as_ref(), &options)
                        })
                    });
                if job.token.is_cancelled() {
                    return;
                }
                job.send(AppMsg::Health(HealthMsg::Done {
                    generation,
                    result: result.map_err(JobError::from),
                }));
            });
        if self.job.is_none() {
            self.view.running = false;
            self.view.error = Some("too many jobs queued; try again".to_owned());
        }
    }

    fn export(&mut self, ctx: &mut PageCtx<'_>, path: Option<String>, html: bool) {
        let Some(report) = self.view.report.clone() else {
            self.view.export_message = Some("run the audit first".to_owned());
            return;
        };
        let location = ctx
            .store
            .map(|store| store.location.clone())
            .unwrap_or_default();
        self.view.export_message = None;
        ctx.jobs.spawn(
            Lane::Background,
            "Saving the health report",
            false,
            move |job| {
                let saved = crate::context::export::save_text(
                    path.as_deref(),
                    "Save the health report",
                    if html { "health.html" } else { "health.json" },
                    || {
                        if html {
                            crate::audit::html::to_html(&report, &location, chrono::Utc::now())
                        } else {
                            serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
                        }
                    },
                );
                let Some(result) = saved else { return };
                job.send(AppMsg::Health(HealthMsg::Exported(result)));
            },
        );
    }

    fn open(&mut self, ctx: &mut PageCtx<'_>, example: Example) {
        let Some(source) = ctx.source() else {
            return;
        };
        let generation = self.generation;
        ctx.jobs.spawn(
            Lane::Interactive,
            "Reading the example event",
            false,
            move |job| {
                let query = LogQuery {
                    from_position: Some(example.position),
                    direction: Direction::Forwards,
                    limit: 1,
                    ..LogQuery::default()
                };
                let result = crate::core::cancel::with_cancel(&job.token, || {
                    source.read_log(&query).map(|events| {
                        events
                            .into_iter()
                            .find(|e| e.global_position == example.position)
                    })
                });
                job.send(AppMsg::Health(HealthMsg::Event {
                    generation,
                    result: result.map_err(JobError::from),
                }));
            },
        );
    }

    /// Applies a Health job's result.
    pub fn on_message(&mut self, ctx: &mut PageCtx<'_>, msg: HealthMsg) {
        match msg {
            HealthMsg::Done { generation, result } => {
                if generation != self.generation {
                    return;
                }
                self.job = None;
                self.view.running = false;
                self.view.progress = None;
                match result {
                    Ok(report) => self.view.report = Some(report),
                    Err(error) if error.is_cancelled() => {}
                    Err(error) => {
                        ctx.error("Auditing", &error.to_string());
                        self.view.error = Some(error.to_string());
                    }
                }
            }
            HealthMsg::Exported(result) => {
                self.view.export_message = Some(match result {
                    Ok(path) => format!("saved {path}"),
                    Err(error) => {
                        ctx.error("Saving the health report", &error);
                        error
                    }
                });
            }
            HealthMsg::Event { generation, result } => {
                if generation != self.generation {
                    return;
                }
                match result {
                    Ok(Some(event)) => ctx.commands.push(AppCommand::OpenInStream(Box::new(event))),
                    Ok(None) => {
                        self.view.note = Some("that event is no longer in the store".to_owned());
                    }
                    Err(error) => ctx.error("Reading the example event", &error.to_string()),
                }
            }
        }
    }
}
