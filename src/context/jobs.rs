//! What pages see of background jobs: the running-job entry shown in the status bar.

use std::time::Instant;

use crate::core::cancel::CancelToken;

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
