//! What the network sources (gRPC, PostgreSQL) share: the small tokio runtime each source
//! drives its connection on, and waiting for the current job's cancel flag inside it.

use std::time::Duration;

use crate::core::cancel::CancelToken;
use crate::core::source::{SourceError, SourceResult};

/// How often a running call looks at the job's cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// A current-thread-free runtime for one source: one worker thread drives the connection
/// while callers block on it from their own worker threads.
///
/// # Errors
/// When the runtime cannot be created.
pub(crate) fn runtime(name: &str) -> SourceResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(format!("eventscope-{name}"))
        .enable_all()
        .build()
        .map_err(|err| SourceError::Open(format!("cannot start the {name} client runtime: {err}")))
}

/// Completes when `cancel` is cancelled (never without a token): race it against a call
/// with `tokio::select!`.
pub(crate) async fn cancelled(cancel: Option<CancelToken>) {
    loop {
        if cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return;
        }
        tokio::time::sleep(CANCEL_POLL).await;
    }
}
