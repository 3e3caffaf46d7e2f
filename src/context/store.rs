//! The open store, shared by every page: its location, the source and what is known of it.

use std::sync::Arc;

use crate::core::{EventSource, StoreInfo};

/// The open store.
pub struct OpenStore {
    /// Where it is.
    pub location: String,
    /// The source.
    pub source: Arc<dyn EventSource>,
    /// Its summary, once loaded.
    pub info: Option<StoreInfo>,
    /// Last known head.
    pub head: u64,
}

impl OpenStore {
    /// A server store (a URL), as opposed to a file.
    #[must_use]
    pub fn is_server(&self) -> bool {
        crate::source::is_server_location(&self.location)
    }
}
