//! The replay page's files: the evidence bundle export, the reducers window (the project
//! config in eventscope's settings directory) and approving command reducers.

use std::sync::Arc;

use super::ReplayPage;
use crate::context::jobs::Lane;
use crate::context::messages::AppMsg;
use crate::context::page::PageCtx;
use crate::context::replay::ReplayMsg;
use crate::replay::config::{ConfigOrigin, ProjectConfig};
use crate::replay::evidence;

impl ReplayPage {
    pub(super) fn export_evidence(&mut self, ctx: &mut PageCtx<'_>, path: String) {
        let Some(source) = ctx.source() else { return };
        let Some(stream) = self.view.time_travel.stream_id.clone() else {
            return;
        };
        let location = ctx.store.map(|s| s.location.clone()).unwrap_or_default();
        let version = self
            .view
            .time_travel
            .current
            .and_then(|i| self.view.time_travel.events.get(i))
            .map_or(0, |e| e.version);
        let choice = match self.choice(&Self::category(ctx)) {
            Ok(c) => c,
            Err(e) => {
                self.view.time_travel.evidence_status = Some(Err(e));
                return;
            }
        };
        ctx.jobs.spawn(
            Lane::Interactive,
            "Writing evidence bundle",
            true,
            move |job| {
                let result = (|| {
                    let mut reducer = choice.build(true).map_err(|e| e.to_string())?;
                    let bundle = evidence::build(
                        &source,
                        &location,
                        &stream,
                        evidence::Target::Version(version),
                        reducer.as_mut(),
                    )
                    .map_err(|e| e.to_string())?;
                    let text = serde_json::to_string_pretty(&bundle).map_err(|e| e.to_string())?;
                    write_new_file(&path, &text)?;
                    Ok(format!(
                        "wrote {path}: version {}, {} events",
                        bundle.answer.version,
                        bundle.events.len()
                    ))
                })();
                job.send(AppMsg::Replay(ReplayMsg::Exported {
                    evidence: true,
                    result,
                }));
            },
        );
    }

    pub(super) fn open_reducers(&mut self) {
        let window = &mut self.view.reducers;
        window.open = true;
        window.status = None;
        let config = self
            .config
            .clone()
            .unwrap_or_else(|| Arc::new(ProjectConfig::none()));
        window.origin = config.origin.describe();
        window.text = if config.text.is_empty() {
            "# No project config yet: every stream uses the generic reducer.\n\
             # Example:\n# [reducers.account]\n# script = \"/path/to/account.js\"\n\
             # schema_version = 1\n"
                .to_owned()
        } else {
            config.text.clone()
        };
        let trust = self.trust.lock().ok();
        window.choices = config
            .file
            .reducers
            .keys()
            .map(|category| {
                let described = config
                    .choice_for(category)
                    .map_or_else(|e| format!("error: {e}"), |c| c.describe());
                (category.clone(), described)
            })
            .collect();
        window.needs_approval = config
            .file
            .reducers
            .keys()
            .filter_map(|category| config.choice_for(category).ok())
            .filter(|choice| trust.as_ref().is_some_and(|t| !t.allows(choice)))
            .map(|choice| choice.describe())
            .collect();
    }

    pub(super) fn save_config(&mut self, ctx: &mut PageCtx<'_>, text: String) {
        let Some(store) = &ctx.store else { return };
        let Some(dir) = self.settings_dir.clone() else {
            self.view.reducers.status =
                Some(Err("no settings directory on this system".to_owned()));
            return;
        };
        let path = crate::replay::config::settings_path(&dir, &store.location);
        let parsed = ProjectConfig::parse(
            &text,
            ConfigOrigin::Settings(path.clone()),
            path.parent().map(std::path::Path::to_path_buf),
        );
        match parsed {
            Err(error) => self.view.reducers.status = Some(Err(error)),
            Ok(config) => {
                let from_demo = self
                    .config
                    .as_ref()
                    .is_some_and(|c| c.origin == ConfigOrigin::Demo);
                let written = path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::write(&path, &text))
                    .and_then(|()| {
                        // The demo config names its script relative to itself: keep a copy
                        // beside the saved config (in eventscope's settings) so it resolves.
                        match path.parent() {
                            Some(dir) if from_demo => {
                                let script = dir.join(crate::replay::config::DEMO_SCRIPT_NAME);
                                if script.exists() {
                                    Ok(())
                                } else {
                                    std::fs::write(script, crate::replay::config::DEMO_SCRIPT)
                                }
                            }
                            _ => Ok(()),
                        }
                    });
                match written {
                    Ok(()) => {
                        self.config = Some(Arc::new(config));
                        self.open_reducers();
                        self.view.reducers.status =
                            Some(Ok(format!("saved to {}", path.display())));
                        self.on_stream_selected(ctx);
                    }
                    Err(e) => {
                        self.view.reducers.status =
                            Some(Err(format!("cannot write {}: {e}", path.display())));
                    }
                }
            }
        }
    }

    pub(super) fn approve(&mut self, ctx: &mut PageCtx<'_>) {
        let Some(config) = self.config.clone() else {
            return;
        };
        let result = match self.trust.lock() {
            Ok(mut trust) => config
                .file
                .reducers
                .keys()
                .filter_map(|category| config.choice_for(category).ok())
                .try_for_each(|choice| trust.approve(&choice)),
            Err(_) => Err("trust store unavailable".to_owned()),
        };
        self.open_reducers();
        self.view.reducers.status = Some(result.map(|()| "approved for this store".to_owned()));
        self.on_stream_selected(ctx);
    }
}

pub(super) fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

/// Default place for exports: the user's documents (or home) directory.
pub(super) fn default_export_path(name: &str) -> String {
    let dir = directories::UserDirs::new()
        .and_then(|d| {
            d.document_dir()
                .map(std::path::Path::to_path_buf)
                .or_else(|| Some(d.home_dir().to_path_buf()))
        })
        .unwrap_or_else(std::env::temp_dir);
    dir.join(name).display().to_string()
}

/// Writes a file, refusing to overwrite a store-looking file (anything that starts like a
/// `SQLite` database).
pub(super) fn write_new_file(path: &str, text: &str) -> Result<(), String> {
    let path = std::path::Path::new(path);
    if path.as_os_str().is_empty() {
        return Err("give a file path".to_owned());
    }
    let mut header = [0u8; 16];
    let is_sqlite = std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut header))
        .is_ok()
        && &header == b"SQLite format 3\0";
    if is_sqlite {
        return Err(format!(
            "{} is a SQLite database: refusing to overwrite it",
            path.display()
        ));
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
