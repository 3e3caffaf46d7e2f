//! The connect screen: recent stores, a typed path, the native file dialog, drag and drop,
//! and a server URL field (`KurrentDB`, `UmaDB`, `PostgreSQL`) with a password field that asks
//! when the server wants one. Passwords live in memory only, for the next connect.

use egui::{RichText, Ui};

use crate::context::messages::AppCommand;
use crate::ui::Commands;
use crate::ui::theme::palette;

/// State of the connect screen.
#[derive(Debug, Default)]
pub struct ConnectState {
    /// Typed path.
    pub path: String,
    /// Typed server URL (gRPC or `PostgreSQL`) or libpq keyword string.
    pub url: String,
    /// Typed password, added to the URL in memory when connecting; never saved.
    pub password: String,
    /// The last attempt was refused for its password: the password field is asked for.
    pub wants_password: bool,
    /// The last connection error, with what was tried.
    pub error: Option<String>,
    /// What is being opened right now.
    pub opening: Option<String>,
    /// Shown as a window over an open store.
    pub open: bool,
    /// A mapping drafted for a file of no known layout, being edited.
    pub draft: Option<MappingDraft>,
}

/// A mapping drafted from the schema of a file eventscope could not recognise, offered in an
/// editor on the connect screen; applying it saves it in eventscope's settings (never beside
/// the store) and opens the store with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingDraft {
    /// The store it maps.
    pub location: String,
    /// The TOML being edited.
    pub text: String,
}

/// The draft editor: the marked blanks left, Apply and open, Discard.
fn draft_ui(ui: &mut Ui, state: &mut ConnectState, commands: &mut Commands) {
    let colours = palette(ui);
    let Some(draft) = &mut state.draft else {
        return;
    };
    let mut discard = false;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.strong("Describe this store's tables with a mapping");
        ui.label(
            "A mapping drafted from the file's schema. Fill in what is marked FILL_IN (see the \
             comments), then apply: eventscope keeps it in its own settings, never beside the \
             store, and uses it whenever this file is opened.",
        );
        let blanks = draft
            .text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter(|l| l.contains(crate::source::sqlite::mapping::BLANK))
            .count();
        if blanks > 0 {
            ui.label(
                RichText::new(format!(
                    "{} still to fill in",
                    crate::ui::count_of(blanks as u64, "blank", "blanks")
                ))
                .color(colours.warning),
            );
        }
        egui::ScrollArea::vertical()
            .max_height(320.0)
            .id_salt("mapping-draft")
            .show(ui, |ui| {
                let label = ui.label("Mapping");
                ui.add(
                    egui::TextEdit::multiline(&mut draft.text)
                        .code_editor()
                        .desired_rows(14)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
            });
        ui.horizontal(|ui| {
            if ui.button("Apply and open").clicked() {
                commands.push(AppCommand::ApplyMapping {
                    location: draft.location.clone(),
                    text: draft.text.clone(),
                });
            }
            if ui.button("Discard").clicked() {
                discard = true;
            }
        });
    });
    if discard {
        state.draft = None;
    }
    ui.add_space(8.0);
}

/// Draws the connect screen.
pub fn connect_ui(
    ui: &mut Ui,
    state: &mut ConnectState,
    recent: &[String],
    commands: &mut Commands,
) {
    let colours = palette(ui);
    ui.heading("Open an event store");
    ui.label("eventscope opens stores read-only: nothing is ever written to them.");
    ui.add_space(8.0);
    if let Some(opening) = &state.opening {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("Opening {opening}…"));
        });
    }
    if let Some(error) = &state.error {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(
                RichText::new("Could not open the store")
                    .color(colours.error)
                    .strong(),
            );
            ui.add(egui::Label::new(RichText::new(error).color(colours.error)).wrap());
        });
        ui.add_space(8.0);
    }
    draft_ui(ui, state, commands);
    ui.strong("SQLite file");
    ui.horizontal(|ui| {
        let label = ui.label("Path");
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut state.path)
                    .hint_text("/path/to/store.db")
                    .desired_width(360.0),
            )
            .labelled_by(label.id);
        let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Open").clicked() || enter) && !state.path.trim().is_empty() {
            commands.push(AppCommand::Open(state.path.trim().to_owned()));
        }
        if ui.button("Browse…").clicked() {
            commands.push(AppCommand::BrowseFile);
        }
    });
    ui.label(RichText::new("Or drop a file onto this window").color(colours.muted));
    ui.add_space(8.0);
    ui.strong("Event store server");
    let mut connect = false;
    egui::Grid::new("connect-server")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            let label = ui.label("URL");
            let response = ui
                .add(
                    egui::TextEdit::singleline(&mut state.url)
                        .hint_text(
                            "postgres://user@host/db, kurrentdb://host:2113, umadb://host:50051",
                        )
                        .desired_width(480.0),
                )
                .labelled_by(label.id);
            connect |= response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.end_row();
            let label = ui.label("Password");
            ui.horizontal(|ui| {
                let response = ui
                    .add(
                        egui::TextEdit::singleline(&mut state.password)
                            .password(true)
                            .hint_text(if state.wants_password {
                                "the server asks for a password"
                            } else {
                                "only if the server wants one"
                            })
                            .desired_width(260.0),
                    )
                    .labelled_by(label.id);
                if state.wants_password && state.password.is_empty() && !response.has_focus() {
                    response.request_focus();
                }
                connect |= response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                connect |= ui.button("Connect").clicked();
            });
            ui.end_row();
        });
    if connect && !state.url.trim().is_empty() {
        let url = state.url.trim();
        if state.password.is_empty() {
            commands.push(AppCommand::Open(url.to_owned()));
        } else {
            match crate::source::with_password(url, &state.password) {
                Ok(location) => commands.push(AppCommand::Open(location)),
                Err(message) => state.error = Some(message),
            }
        }
    }
    if state.wants_password {
        ui.label(
            RichText::new("The server refused the connection for its password: type it above")
                .color(colours.warning),
        );
    }
    ui.add(
        egui::Label::new(
            RichText::new(
                "PostgreSQL: postgres:// URLs or libpq keyword strings (host=… dbname=…), PG* \
                 variables and ~/.pgpass apply, #App picks an application. KurrentDB: esdb:// \
                 or kurrentdb:// connection strings (+discover, tls=false …). UmaDB: \
                 umadb://host:port. Passwords are never saved",
            )
            .color(colours.muted),
        )
        .wrap(),
    );
    ui.add_space(8.0);
    ui.strong("Recent");
    if recent.is_empty() {
        ui.label(RichText::new("Nothing opened yet").color(colours.muted));
    }
    for location in recent {
        if ui.link(RichText::new(location).monospace()).clicked() {
            if crate::source::grpc::is_grpc_url(location) && location.contains('@') {
                // Saved without its password: let the user type it again. (PostgreSQL
                // connects first: PGPASSWORD or ~/.pgpass may have it.)
                state.url.clone_from(location);
                state.wants_password = true;
            } else {
                commands.push(AppCommand::Open(location.clone()));
            }
        }
    }
}
