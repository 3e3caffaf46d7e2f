//! Background jobs: the runner the app owns and pages spawn on (a worker pool, the bounded
//! message channel back to the UI) and the list of running jobs shown in the status bar.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::context::messages::AppMsg;
use crate::core::cancel::CancelToken;
use crate::source::worker::JobPool;

/// Repaint callback, so the worker side does not name egui.
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

/// Which workers run a job: interactive reads (pages the user is looking at) never queue
/// behind slow whole-store scans (counts, category and type lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Short reads for what is on screen.
    Interactive,
    /// Scans that may take seconds on big stores.
    Background,
}

/// Job dispatch and results.
pub struct Jobs {
    interactive: JobPool,
    background: JobPool,
    sender: Sender<AppMsg>,
    /// Results, drained by the app every frame.
    pub receiver: Receiver<AppMsg>,
    /// Running jobs by id.
    pub active: BTreeMap<u64, ActiveJob>,
    next_id: u64,
    repaint: Repaint,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("active", &self.active.len())
            .finish_non_exhaustive()
    }
}

/// What a job's closure gets: its id, cancel token and a way to report.
pub struct JobCtx {
    /// This job's id.
    pub id: u64,
    /// Cancellation.
    pub token: CancelToken,
    sender: Sender<AppMsg>,
    repaint: Repaint,
}

impl JobCtx {
    /// Sends a message to the UI (blocks only while the UI's queue is full) and wakes it.
    /// Returns false when the app is gone.
    pub fn send(&self, msg: AppMsg) -> bool {
        let sent = self.sender.send(msg).is_ok();
        (self.repaint)();
        sent
    }

    /// Reports progress (0..1).
    pub fn progress(&self, fraction: f32) {
        self.sender
            .try_send(AppMsg::JobProgress {
                job_id: self.id,
                fraction,
            })
            .ok();
        (self.repaint)();
    }
}

impl Jobs {
    /// Starts the worker pool.
    ///
    /// # Errors
    /// When worker threads cannot be started.
    pub fn new(repaint: Repaint) -> std::io::Result<Self> {
        let (sender, receiver) = bounded(1024);
        Ok(Self {
            interactive: JobPool::new(2, 256)?,
            background: JobPool::new(1, 64)?,
            sender,
            receiver,
            active: BTreeMap::new(),
            next_id: 1,
            repaint,
        })
    }

    /// Marks a job as a periodic poll (see [`ActiveJob::poll`]).
    pub fn mark_poll(&mut self, id: Option<u64>) {
        if let Some(job) = id.and_then(|id| self.active.get_mut(&id)) {
            job.poll = true;
        }
    }

    /// Queues a job. `label` makes it visible (with cancel) in the status bar. Returns the
    /// job id, or `None` when the queue is full (the caller may retry next frame).
    pub fn spawn(
        &mut self,
        lane: Lane,
        label: &str,
        visible: bool,
        run: impl FnOnce(&JobCtx) + Send + 'static,
    ) -> Option<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let token = CancelToken::new();
        let ctx = JobCtx {
            id,
            token: token.clone(),
            sender: self.sender.clone(),
            repaint: self.repaint.clone(),
        };
        let pool = match lane {
            Lane::Interactive => &self.interactive,
            Lane::Background => &self.background,
        };
        let queued_at = Instant::now();
        let name = label.to_owned();
        let queued = pool.spawn(token.clone(), move |_| {
            let started = Instant::now();
            let sink: crate::core::cancel::ProgressSink = {
                let (sender, repaint, job_id) = (ctx.sender.clone(), ctx.repaint.clone(), ctx.id);
                Arc::new(move |fraction| {
                    sender
                        .try_send(AppMsg::JobProgress { job_id, fraction })
                        .ok();
                    repaint();
                })
            };
            crate::core::cancel::with_progress(sink, || run(&ctx));
            tracing::debug!(
                "job {name}: waited {:.1} ms, ran {:.1} ms",
                (started - queued_at).as_secs_f64() * 1e3,
                started.elapsed().as_secs_f64() * 1e3
            );
            ctx.send(AppMsg::JobFinished { job_id: ctx.id });
        });
        if let Ok(()) = queued {
            self.active.insert(
                id,
                ActiveJob {
                    label: label.to_owned(),
                    token,
                    started: Instant::now(),
                    progress: None,
                    visible,
                    poll: false,
                },
            );
            Some(id)
        } else {
            tracing::debug!("job queue full; {label} retried later");
            None
        }
    }

    /// Cancels a job: its results will be ignored and its reads interrupted.
    pub fn cancel(&mut self, job_id: u64) {
        if let Some(job) = self.active.remove(&job_id) {
            job.token.cancel();
        }
    }

    /// Cancels every job (e.g. when another store is opened).
    pub fn cancel_all(&mut self) {
        for (_, job) in std::mem::take(&mut self.active) {
            job.token.cancel();
        }
    }

    /// True while a job with this id runs.
    #[must_use]
    pub fn is_active(&self, job_id: u64) -> bool {
        self.active.contains_key(&job_id)
    }
}

/// A running job the user can see.
#[derive(Debug)]
pub struct ActiveJob {
    /// What it does ("Counting streams").
    pub label: String,
    /// Cancels it.
    pub token: CancelToken,
    /// When it started.
    pub started: Instant,
    /// Progress 0..1 when known.
    pub progress: Option<f32>,
    /// Whether the status bar lists it (page loads are not listed).
    pub visible: bool,
    /// A periodic poll (head, lag sample): not even counted as "loading", so an idle
    /// window shows no spinner.
    pub poll: bool,
}
