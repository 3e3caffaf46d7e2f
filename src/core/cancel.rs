//! Cooperative cancellation of the read running on the current thread.
//!
//! A worker sets the current job's flag with [`with_cancel`]; sources check
//! [`current`] (SQLite installs it as a progress handler, so even a long scan stops within
//! milliseconds) and report [`crate::core::SourceError::Cancelled`].

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

thread_local! {
    static CURRENT: RefCell<Option<CancelToken>> = const { RefCell::new(None) };
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
}
