//! The window's layout: header and page tabs, the page on screen, the status bar, the
//! connect and reducers windows, and the keyboard shortcuts.

use crate::app::EventscopeApp;
use crate::context::messages::AppCommand;
use crate::context::search::SearchCommand;
use crate::context::state::View;

impl EventscopeApp {
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) -> Vec<AppCommand> {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let mut commands = Vec::new();
        let ctrl = |key| KeyboardShortcut::new(Modifiers::COMMAND, key);
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl(Key::O))) {
            commands.push(AppCommand::ShowConnect);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl(Key::F))) {
            match self.state.view {
                View::Streams => self.streams.focus_filter(),
                View::Log => self.log.focus_filter(),
                View::Projections | View::Drift | View::Trace | View::Upcasters | View::Health => {}
                View::Search => self.search.focus_input(),
            }
        }
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl(Key::K))) && self.store.is_some() {
            commands.push(AppCommand::SetView(View::Search));
            self.search.focus_input();
        }
        if ctx.input_mut(|i| i.consume_shortcut(&ctrl(Key::G))) {
            match self.state.view {
                View::Streams => self.streams.focus_goto(),
                View::Log => self.log.focus_goto(),
                // The other pages have no go-to field.
                _ => {}
            }
        }
        let typing = ctx.memory(|m| m.focused().is_some()) && ctx.egui_wants_keyboard_input();
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
            if self.connect.open {
                self.connect.open = false;
            } else if typing {
                ctx.memory_mut(|m| {
                    if let Some(id) = m.focused() {
                        m.surrender_focus(id);
                    }
                });
            } else if self.inspector.close() {
                self.streams.clear_selection();
                self.log.clear_selection();
            } else if let Some((stream_id, version)) = self.streams.back() {
                commands.push(AppCommand::SelectStream { stream_id, version });
            }
        }
        if !typing {
            let step = ctx.input(|i| {
                let page = 20i64;
                if i.key_pressed(Key::ArrowDown) {
                    1
                } else if i.key_pressed(Key::ArrowUp) {
                    -1
                } else if i.key_pressed(Key::PageDown) {
                    page
                } else if i.key_pressed(Key::PageUp) {
                    -page
                } else {
                    0
                }
            });
            if step != 0 {
                self.move_selection(step);
            }
        }
        commands
    }

    pub(super) fn draw(&mut self, ui: &mut egui::Ui) -> Vec<AppCommand> {
        let ctx = ui.ctx().clone();
        let mut commands = self.shortcuts(&ctx);
        for file in ctx.input(|i| i.raw.dropped_files.clone()) {
            let path = file.path();
            if !path.as_os_str().is_empty() {
                commands.push(AppCommand::Open(path.display().to_string()));
            }
        }
        let ui_ctx_info = self.store.as_ref().and_then(|s| s.info.clone());
        let head = self.store.as_ref().map_or(0, |s| s.head);
        egui::Panel::top("top-bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong("eventscope");
                if let Some(store) = &self.store {
                    ui.separator();
                    ui.label(egui::RichText::new(&store.location).monospace())
                        .on_hover_text(&store.location);
                    if let Some(info) = &store.info {
                        ui.label(format!(
                            "· {} · {}",
                            crate::ui::count_of(info.stream_count, "stream", "streams"),
                            info.event_count.map_or_else(
                                || "events not counted".to_owned(),
                                |n| crate::ui::count_of(n, "event", "events")
                            )
                        ));
                        ui.label(format!("· {} layout", info.layout));
                        if !info.others.is_empty() {
                            ui.menu_button(format!("{} more here", info.others.len()), |ui| {
                                ui.label(
                                    egui::RichText::new("Also in this store:")
                                        .color(crate::ui::theme::palette(ui).muted),
                                );
                                for other in &info.others {
                                    if ui.button(other).clicked() {
                                        commands.push(AppCommand::Open(store.location_of(other)));
                                    }
                                }
                            })
                            .response
                            .on_hover_text("Other applications or schemas with a store here");
                        }
                    } else {
                        ui.label(
                            egui::RichText::new("· counting streams and events…")
                                .color(crate::ui::theme::palette(ui).muted),
                        );
                    }
                }
            });
            if let Some(store) = &self.store {
                // What was detected, from which columns (for the guide's stores: no version
                // column, naive times read as UTC), on a line of its own so nothing is cut.
                // The line is there from the first frame (the tabs below do not jump when
                // the summary arrives).
                let text = match &store.info {
                    Some(info) if !info.layout_detail.is_empty() => {
                        format!("Detected: {}", info.layout_detail)
                    }
                    Some(_) => String::new(),
                    None => "Reading the store's summary…".to_owned(),
                };
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(text)
                            .small()
                            .color(crate::ui::theme::palette(ui).muted),
                    )
                    .wrap(),
                );
            }
            ui.horizontal(|ui| {
                if self.store.is_some() {
                    let mut view = self.state.view;
                    ui.selectable_value(&mut view, View::Streams, "Streams");
                    ui.selectable_value(&mut view, View::Log, "Log");
                    ui.selectable_value(&mut view, View::Projections, "Projections");
                    ui.selectable_value(&mut view, View::Drift, "Drift")
                        .on_hover_text("Stored snapshots compared with full replays, store-wide");
                    ui.selectable_value(&mut view, View::Trace, "Trace");
                    ui.selectable_value(&mut view, View::Upcasters, "Upcasters");
                    ui.selectable_value(&mut view, View::Search, "Search")
                        .on_hover_text("Every event that mentions a text (Ctrl+K)");
                    ui.selectable_value(&mut view, View::Health, "Health")
                        .on_hover_text("The event-sourcing checklist, checked against the store");
                    if view != self.state.view {
                        commands.push(AppCommand::SetView(view));
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.menu_button("Theme", |ui| {
                        use crate::context::state::ThemeChoice;
                        for (choice, name) in [
                            (ThemeChoice::System, "Follow system"),
                            (ThemeChoice::Dark, "Dark"),
                            (ThemeChoice::Light, "Light"),
                        ] {
                            if ui
                                .selectable_label(self.state.theme == choice, name)
                                .clicked()
                            {
                                commands.push(AppCommand::SetTheme(choice));
                            }
                        }
                    });
                    if ui
                        .button("Open…")
                        .on_hover_text("Open another store (Ctrl+O)")
                        .clicked()
                    {
                        commands.push(AppCommand::ShowConnect);
                    }
                    if self.store.is_some() {
                        let field = ui
                            .add(
                                egui::TextEdit::singleline(&mut self.header_search)
                                    .hint_text("Search events… (Ctrl+K)")
                                    .desired_width(220.0),
                            )
                            .on_hover_text(
                                "Paste an order number, an email address, any id: Enter finds \
                                 every event that mentions it",
                            );
                        field.widget_info(|| {
                            egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Search events")
                        });
                        if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                            commands.push(AppCommand::Search(SearchCommand::Run(std::mem::take(
                                &mut self.header_search,
                            ))));
                        }
                    }
                });
            });
        });
        egui::Panel::bottom("status-bar").show(ui, |ui| {
            let ui_ctx = crate::ui::UiCtx {
                info: ui_ctx_info.as_ref(),
                head,
                open: self.store.is_some(),
            };
            let retry = self.store.as_ref().map(|store| {
                if store.is_server() {
                    "Reconnect"
                } else {
                    "Retry"
                }
            });
            crate::ui::status_bar::status_bar_ui(
                ui,
                &ui_ctx,
                &self.jobs.active,
                self.last_error.as_deref(),
                retry,
                &mut commands,
            );
        });
        if self.store.is_none() {
            egui::CentralPanel::default().show(ui, |ui| {
                if let Some(status) = &self.demo_status {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(status);
                    });
                    ui.add_space(12.0);
                }
                egui::ScrollArea::vertical().show(ui, |ui| {
                    crate::ui::connect::connect_ui(
                        ui,
                        &mut self.connect,
                        &self.state.recent,
                        &mut commands,
                    );
                });
            });
            return commands;
        }
        // The replay tabs need the width; the inspector shows there once an event is opened.
        let replay_tab = self.state.view == View::Streams
            && self.streams.view.stream_id.is_some()
            && self.replay.view.tab != crate::ui::replay::StreamTab::Events;
        if !matches!(
            self.state.view,
            View::Projections | View::Drift | View::Trace | View::Upcasters | View::Health
        ) && (!replay_tab || self.inspector.is_open())
        {
            egui::Panel::right("inspector")
                .resizable(true)
                .default_size(360.0)
                .min_size(260.0)
                .show(ui, |ui| {
                    self.inspector.ui(ui, &mut commands);
                });
        }
        match self.state.view {
            View::Streams => {
                egui::Panel::left("streams")
                    .resizable(true)
                    .default_size(440.0)
                    .min_size(240.0)
                    .show(ui, |ui| {
                        self.streams.list_ui(ui, &mut commands);
                    });
                egui::CentralPanel::default().show(ui, |ui| {
                    if self.streams.view.stream_id.is_some() {
                        crate::ui::replay::stream_tabs_ui(ui, &mut self.replay.view, &mut commands);
                    }
                    match self.replay.view.tab {
                        crate::ui::replay::StreamTab::TimeTravel
                            if self.streams.view.stream_id.is_some() =>
                        {
                            crate::ui::replay::time_travel_ui(
                                ui,
                                &mut self.replay.view.time_travel,
                                &mut commands,
                            );
                        }
                        crate::ui::replay::StreamTab::Snapshots
                            if self.streams.view.stream_id.is_some() =>
                        {
                            crate::ui::replay::snapshots_ui(
                                ui,
                                &mut self.replay.view.snapshots,
                                &mut commands,
                            );
                        }
                        _ => self.streams.table_ui(ui, &mut commands),
                    }
                });
            }
            View::Log => {
                egui::CentralPanel::default().show(ui, |ui| {
                    self.log.ui(ui, &mut commands);
                });
            }
            View::Projections => {
                egui::CentralPanel::default().show(ui, |ui| {
                    self.projections.ui(ui, &mut commands);
                });
            }
            View::Drift => {
                egui::CentralPanel::default().show(ui, |ui| {
                    crate::ui::replay::drift_ui(ui, &mut self.replay.view.drift, &mut commands);
                });
            }
            View::Trace => {
                egui::CentralPanel::default().show(ui, |ui| {
                    crate::ui::pages::trace::view::trace_ui(
                        ui,
                        &mut self.trace.view,
                        &mut commands,
                    );
                });
            }
            View::Upcasters => {
                self.upcast.ui(ui, &mut commands);
            }
            View::Search => {
                egui::CentralPanel::default().show(ui, |ui| {
                    crate::ui::pages::search::view::search_ui(
                        ui,
                        &mut self.search.view,
                        &mut commands,
                    );
                });
            }
            View::Health => {
                egui::CentralPanel::default().show(ui, |ui| {
                    crate::ui::pages::health::view::health_ui(
                        ui,
                        &mut self.health.view,
                        &mut commands,
                    );
                });
            }
        }
        crate::ui::replay::reducers_window_ui(&ctx, &mut self.replay.view.reducers, &mut commands);
        if self.connect.open {
            let mut open = true;
            egui::Window::new("Open a store")
                .open(&mut open)
                .collapsible(false)
                .default_width(520.0)
                .show(&ctx, |ui| {
                    crate::ui::connect::connect_ui(
                        ui,
                        &mut self.connect,
                        &self.state.recent,
                        &mut commands,
                    );
                });
            self.connect.open &= open;
        }
        commands
    }
}
