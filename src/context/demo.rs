//! The handle that keeps the live demo store open (carried by [`super::messages::AppMsg`]).

/// A read-write connection to the demo store kept open while the app runs (see
/// `start_demo`).
pub struct DemoAnchor {
    _connection: std::sync::Mutex<rusqlite::Connection>,
}

impl DemoAnchor {
    /// Keeps `connection` open for as long as the anchor lives.
    pub(crate) fn new(connection: rusqlite::Connection) -> Self {
        Self {
            _connection: std::sync::Mutex::new(connection),
        }
    }
}

impl std::fmt::Debug for DemoAnchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoAnchor")
    }
}
