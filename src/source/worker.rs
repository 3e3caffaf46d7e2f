//! Background workers: a small pool of named threads that run read jobs off the UI thread.
//!
//! Jobs are queued on a bounded channel; a full queue is reported to the caller instead of
//! blocking it. Each job runs with its [`CancelToken`] as the thread's current token, so
//! sources can stop long reads when it is cancelled. Results travel back through whatever
//! channel the job's closure captured (the app's bounded message channel).

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::core::cancel::{CancelToken, with_cancel};

type JobFn = Box<dyn FnOnce(&CancelToken) + Send>;

struct Queued {
    token: CancelToken,
    run: JobFn,
}

/// The queue was full; try again on a later frame.
#[derive(Debug, thiserror::Error)]
#[error("the job queue is full")]
pub struct QueueFull;

/// A pool of worker threads.
pub struct JobPool {
    sender: Option<Sender<Queued>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for JobPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobPool")
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl JobPool {
    /// Starts `threads` workers with a queue of `capacity` jobs.
    ///
    /// # Errors
    /// When the OS refuses to start a thread.
    pub fn new(threads: usize, capacity: usize) -> std::io::Result<Self> {
        let (sender, receiver) = bounded::<Queued>(capacity);
        let threads = (0..threads.max(1))
            .map(|i| {
                let receiver: Receiver<Queued> = receiver.clone();
                std::thread::Builder::new()
                    .name(format!("eventscope-worker-{i}"))
                    .spawn(move || {
                        while let Ok(job) = receiver.recv() {
                            if job.token.is_cancelled() {
                                continue;
                            }
                            let token = job.token.clone();
                            with_cancel(&token, || (job.run)(&token));
                        }
                    })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Self {
            sender: Some(sender),
            threads,
        })
    }

    /// Queues a job.
    ///
    /// # Errors
    /// [`QueueFull`] when the queue is full (the caller retries later).
    pub fn spawn(
        &self,
        token: CancelToken,
        run: impl FnOnce(&CancelToken) + Send + 'static,
    ) -> Result<(), QueueFull> {
        let Some(sender) = &self.sender else {
            return Err(QueueFull);
        };
        match sender.try_send(Queued {
            token,
            run: Box::new(run),
        }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(QueueFull),
        }
    }
}

impl Drop for JobPool {
    fn drop(&mut self) {
        // Closing the queue ends the workers once their current job returns; they are not
        // joined, so a slow read never holds up closing the window.
        self.sender.take();
        self.threads.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_jobs_and_skips_cancelled_ones() {
        let pool = JobPool::new(2, 8).unwrap();
        let (tx, rx) = bounded(8);
        for i in 0..4 {
            let tx = tx.clone();
            pool.spawn(CancelToken::new(), move |_| {
                tx.send(i).ok();
            })
            .unwrap();
        }
        let cancelled = CancelToken::new();
        cancelled.cancel();
        let tx2 = tx.clone();
        pool.spawn(cancelled, move |_| {
            tx2.send(99).ok();
        })
        .unwrap();
        let mut got: Vec<i32> = (0..4)
            .map(|_| rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 2, 3]);
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err()
        );
    }

    #[test]
    fn full_queue_is_reported() {
        let pool = JobPool::new(1, 1).unwrap();
        let (block_tx, block_rx) = bounded::<()>(0);
        pool.spawn(CancelToken::new(), move |_| {
            block_rx.recv().ok();
        })
        .unwrap();
        // The worker is busy; one job fits in the queue, the next does not.
        let mut results = Vec::new();
        for _ in 0..3 {
            results.push(pool.spawn(CancelToken::new(), |_| {}).is_ok());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(results.contains(&false));
        block_tx.send(()).ok();
    }
}
