//! One pending result: the previous value stays visible while a new one loads (rerun's
//! `RequestedObject`), a request with the same parameters as the one in flight or shown is
//! a no-op (gitui's `AsyncSingleJob`), and a result for other parameters (a stale job) is
//! dropped. Errors are a typed [`JobError`], never text to compare.

use crate::core::source::SourceError;
use crate::replay::ReduceError;
use crate::upcast::check::CheckError;

/// Why a background job produced no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The user (or a newer request) cancelled it.
    #[error("cancelled")]
    Cancelled,
    /// Reading the store failed.
    #[error("{0}")]
    Source(String),
    /// A user's script (reducer, upcaster) failed.
    #[error("{0}")]
    Script(String),
    /// Anything else (a poisoned lock, a file of ours).
    #[error("{0}")]
    Other(String),
}

impl JobError {
    /// Whether the job was cancelled rather than failed.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled)
    }
}

impl From<ReduceError> for JobError {
    fn from(error: ReduceError) -> Self {
        match error {
            ReduceError::Cancelled => Self::Cancelled,
            ReduceError::Source(message) => Self::Source(message),
            other => Self::Script(other.to_string()),
        }
    }
}

impl From<SourceError> for JobError {
    fn from(error: SourceError) -> Self {
        match error {
            SourceError::Cancelled => Self::Cancelled,
            other => Self::Source(other.to_string()),
        }
    }
}

impl From<CheckError> for JobError {
    fn from(error: CheckError) -> Self {
        match error {
            CheckError::Cancelled => Self::Cancelled,
            CheckError::Source(error) => error.into(),
        }
    }
}

/// A result that loads in the background, for parameters `P`.
#[derive(Debug)]
pub struct Pending<T, P = ()> {
    /// Parameters of the request in flight, or of the result shown.
    params: Option<P>,
    /// The last result received (kept, and drawn, while a newer one loads).
    latest: Option<Result<T, JobError>>,
    /// A request is in flight.
    loading: bool,
}

impl<T, P> Default for Pending<T, P> {
    fn default() -> Self {
        Self {
            params: None,
            latest: None,
            loading: false,
        }
    }
}

impl<T, P: PartialEq> Pending<T, P> {
    /// Asks for the result for `params`. Returns `false` (nothing to do) when those are the
    /// parameters already in flight or shown; `true` when the caller should start the job.
    pub fn request(&mut self, params: P) -> bool {
        if self.params.as_ref() == Some(&params) && (self.loading || self.latest.is_some()) {
            return false;
        }
        self.params = Some(params);
        self.loading = true;
        true
    }

    /// Takes a job's result. A result for parameters other than the latest request is stale
    /// and dropped (returns `false`).
    pub fn finish(&mut self, params: &P, result: Result<T, JobError>) -> bool {
        if self.params.as_ref() != Some(params) {
            return false;
        }
        self.loading = false;
        self.latest = Some(result);
        true
    }

    /// The parameters of the request in flight or of the result shown.
    #[must_use]
    pub fn params(&self) -> Option<&P> {
        self.params.as_ref()
    }
}

impl<T, P> Pending<T, P> {
    /// Whether a request is in flight.
    #[must_use]
    pub fn is_loading(&self) -> bool {
        self.loading
    }

    /// The last value received, if it was a success (also while a newer one loads).
    #[must_use]
    pub fn value(&self) -> Option<&T> {
        self.latest.as_ref().and_then(|r| r.as_ref().ok())
    }

    /// The last result received, success or error.
    #[must_use]
    pub fn result(&self) -> Option<&Result<T, JobError>> {
        self.latest.as_ref()
    }

    /// Forgets everything (a new stream, a new store): the next request always runs.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Stops waiting (the job was cancelled); the previous value stays.
    pub fn cancel(&mut self) {
        self.loading = false;
        if self.latest.is_none() {
            self.params = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_previous_value_while_loading_and_drops_stale_results() {
        let mut p: Pending<&str, u32> = Pending::default();
        assert!(p.request(1));
        assert!(p.is_loading());
        assert!(p.finish(&1, Ok("one")));
        assert_eq!(p.value(), Some(&"one"));
        assert!(p.request(2));
        assert_eq!(p.value(), Some(&"one"), "previous value kept while loading");
        assert!(
            !p.finish(&1, Ok("stale")),
            "a result for old parameters is dropped"
        );
        assert!(p.is_loading());
        assert!(p.finish(&2, Err(JobError::Source("gone".into()))));
        assert_eq!(p.value(), None);
        assert_eq!(p.result(), Some(&Err(JobError::Source("gone".into()))));
    }

    #[test]
    fn identical_parameters_are_a_no_op() {
        let mut p: Pending<u8, &str> = Pending::default();
        assert!(p.request("a"));
        assert!(!p.request("a"), "in flight");
        p.finish(&"a", Ok(1));
        assert!(!p.request("a"), "shown");
        p.clear();
        assert!(p.request("a"), "after clear it runs again");
        p.cancel();
        assert!(
            p.request("a"),
            "after a cancel with nothing shown it runs again"
        );
    }

    #[test]
    fn job_errors_are_typed() {
        assert!(JobError::from(ReduceError::Cancelled).is_cancelled());
        assert!(JobError::from(SourceError::Cancelled).is_cancelled());
        assert_eq!(
            JobError::from(ReduceError::Source("disk".into())),
            JobError::Source("disk".into())
        );
        assert_eq!(JobError::Other("x".into()).to_string(), "x");
    }
}
