//! The inspector: the event opened from the streams, log or trace page, with its payload
//! and metadata pretty-printed on a worker. Shown beside the streams and log pages.

pub mod view;

use crate::context::jobs::Lane;
use crate::context::messages::AppMsg;
use crate::context::page::PageCtx;
use crate::core::Event;
use crate::ui::Commands;
use view::InspectorState;

/// The inspector panel.
#[derive(Debug, Default)]
pub struct InspectorPage {
    /// What the view draws.
    pub view: InspectorState,
}

impl InspectorPage {
    /// Shows `event` and formats it in the background (payloads can be megabytes).
    pub fn inspect(&mut self, ctx: &mut PageCtx<'_>, event: Event) {
        self.view.generation += 1;
        self.view.payload_lines = None;
        self.view.metadata_lines = None;
        self.view.raw_lines = None;
        self.view.show_all = false;
        self.view.event = Some(event.clone());
        let generation = self.view.generation;
        ctx.jobs
            .spawn(Lane::Interactive, "Formatting payload", false, move |job| {
                // Parses payload and metadata here, off the UI thread; the parsed values
                // are shared with the inspected event (clones share them).
                let payload = view::pretty_lines(&event.payload, false);
                let metadata = view::pretty_lines(&event.metadata, false);
                let raw = event
                    .payload
                    .is_decoded()
                    .then(|| view::pretty_lines(&event.payload, true));
                job.send(AppMsg::InspectorText {
                    generation,
                    payload,
                    metadata,
                    raw,
                });
            });
    }

    /// Closes the inspector; false when nothing was shown.
    pub fn close(&mut self) -> bool {
        self.view.event.take().is_some()
    }

    /// Whether an event is shown.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.view.event.is_some()
    }

    /// Starts over for a newly opened store.
    pub fn on_open(&mut self) {
        *self = Self::default();
    }

    /// Takes the formatted lines of the shown event.
    pub fn on_message(&mut self, msg: AppMsg) {
        if let AppMsg::InspectorText {
            generation,
            payload,
            metadata,
            raw,
        } = msg
            && generation == self.view.generation
        {
            self.view.payload_lines = Some(payload);
            self.view.metadata_lines = Some(metadata);
            self.view.raw_lines = raw;
        }
    }

    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut Commands) {
        view::inspector_ui(ui, &mut self.view, commands);
    }
}
