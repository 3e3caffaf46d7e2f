//! Cooperative cancellation of the read running on the current thread, and where it
//! reports progress.
//!
//! A worker sets the current job's flag with [`with_cancel`]; sources check
//! [`current`] (SQLite installs it as a progress handler, so even a long scan stops within
//! milliseconds) and report [`crate::core::SourceError::Cancelled`]. A source doing a long
//! scan inside one call (a KurrentDB stream list from `$all`, UmaDB's tag index) reports how
//! far it got with [`report_progress`]; the app shows it on the job's progress bar.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared flag: set it to cancel.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh, not cancelled token.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once cancelled.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The underlying flag (for progress handlers).
    #[must_use]
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// Receives a long read's progress (0..1).
pub type ProgressSink = Arc<dyn Fn(f32) + Send + Sync>;

thread_local! {
    static CURRENT: RefCell<Option<CancelToken>> = const { RefCell::new(None) };
    static PROGRESS: RefCell<Option<ProgressSink>> = const { RefCell::new(None) };
}

/// Runs `f` with `sink` receiving this thread's [`report_progress`] calls.
pub fn with_progress<T>(sink: ProgressSink, f: impl FnOnce() -> T) -> T {
    let previous = PROGRESS.with(|current| current.replace(Some(sink)));
    let result = f();
    PROGRESS.with(|current| *current.borrow_mut() = previous);
    result
}

/// Reports how far the current long read got (0..1, clamped); nothing when no one listens.
pub fn report_progress(fraction: f32) {
    PROGRESS.with(|current| {
        if let Some(sink) = current.borrow().as_ref() {
            sink(fraction.clamp(0.0, 1.0));
        }
    });
}

/// Runs `f` with `token` as this thread's current cancellation token.
pub fn with_cancel<T>(token: &CancelToken, f: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|current| current.replace(Some(token.clone())));
    let result = f();
    CURRENT.with(|current| *current.borrow_mut() = previous);
    result
}

/// This thread's current token, if a worker set one.
#[must_use]
pub fn current() -> Option<CancelToken> {
    CURRENT.with(|current| current.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_token() {
        assert!(current().is_none());
        let token = CancelToken::new();
        with_cancel(&token, || {
            token.cancel();
            assert!(current().is_some_and(|t| t.is_cancelled()));
        });
        assert!(current().is_none());
    }

    #[test]
    fn progress_reaches_the_scoped_sink_only() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        report_progress(0.1);
        let sink = Arc::clone(&seen);
        with_progress(Arc::new(move |f| sink.lock().unwrap().push(f)), || {
            report_progress(0.5);
            report_progress(1.5);
        });
        report_progress(0.9);
        assert_eq!(*seen.lock().unwrap(), [0.5, 1.0]);
    }
}
