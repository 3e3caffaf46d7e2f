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
    /// The location as it was opened, password included: in memory only, to open another
    /// application of the same store without asking again. Never shown or kept.
    pub reopen: String,
}

impl OpenStore {
    /// The location that opens `other`, an application or schema of the same store
    /// ([`crate::core::StoreInfo::others`]): this one's `#App` replaced.
    #[must_use]
    pub fn location_of(&self, other: &str) -> String {
        let base = match self.reopen.rsplit_once('#') {
            Some((base, app)) if !app.is_empty() && !app.contains(['/', '=', ' ', '?', '@']) => {
                base
            }
            _ => self.reopen.as_str(),
        };
        format!("{base}#{other}")
    }

    /// A server store (a URL), as opposed to a file.
    #[must_use]
    pub fn is_server(&self) -> bool {
        crate::source::is_server_location(&self.location)
    }
}
