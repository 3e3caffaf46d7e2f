//! What survives a restart: recent connections, theme, last view. Never data or caches.

use serde::{Deserialize, Serialize};

/// Maximum recent connections remembered.
const MAX_RECENT: usize = 10;

/// The main views.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum View {
    /// Streams, a stream's events and the inspector.
    #[default]
    Streams,
    /// The global log.
    Log,
    /// Projection lag.
    Projections,
    /// Snapshot drift report.
    Drift,
    /// Correlation trace.
    Trace,
    /// Upcasters side by side and the bulk check.
    Upcasters,
    /// Every event that mentions a text.
    Search,
    /// Store health: the event-sourcing checklist.
    Health,
}

/// Theme choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThemeChoice {
    /// Follow the system.
    #[default]
    System,
    /// Always dark.
    Dark,
    /// Always light.
    Light,
}

impl ThemeChoice {
    /// The egui preference.
    #[must_use]
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            Self::System => egui::ThemePreference::System,
            Self::Dark => egui::ThemePreference::Dark,
            Self::Light => egui::ThemePreference::Light,
        }
    }
}

/// Persisted application state (eframe storage under `eframe::APP_KEY`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    /// Recently opened stores, most recent first.
    pub recent: Vec<String>,
    /// Theme.
    pub theme: ThemeChoice,
    /// Last view.
    pub view: View,
}

impl AppState {
    /// Records a successfully opened store. Credentials in a URL are never kept (the
    /// password is asked for again).
    pub fn remember(&mut self, location: &str) {
        let location = crate::source::redact(location);
        let location = location.as_str();
        self.recent.retain(|r| r != location);
        self.recent.insert(0, location.to_owned());
        self.recent.truncate(MAX_RECENT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_urls_keep_no_password() {
        let mut state = AppState::default();
        state.remember("esdb://admin:changeit@localhost:2113?tls=false");
        state.remember("umadb://secret-key@127.0.0.1:50051");
        assert_eq!(
            state.recent,
            [
                "umadb://127.0.0.1:50051",
                "esdb://admin@localhost:2113?tls=false"
            ]
        );
    }

    #[test]
    fn recent_is_deduplicated_and_bounded() {
        let mut state = AppState::default();
        for i in 0..15 {
            state.remember(&format!("/s{i}.db"));
        }
        state.remember("/s3.db");
        assert_eq!(state.recent.len(), MAX_RECENT);
        assert_eq!(state.recent[0], "/s3.db");
        assert_eq!(state.recent.iter().filter(|r| *r == "/s3.db").count(), 1);
    }

    #[test]
    fn unknown_fields_and_missing_fields_deserialize() {
        let state: AppState =
            serde_json::from_str(r#"{"recent": ["/a.db"], "future": 1}"#).unwrap();
        assert_eq!(state.recent, vec!["/a.db".to_owned()]);
        assert_eq!(state.theme, ThemeChoice::System);
    }
}
