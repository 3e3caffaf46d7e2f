//! Upcasters: schema versions of stored events, JavaScript upcaster chains, the
//! side-by-side preview and the bulk check with its shape comparison. Core layer: never
//! names a GUI toolkit; the app runs all of this on background jobs.
//!
//! - [`version`]: where an event's schema version comes from (configurable per store).
//! - [`engine`]: upcaster files (`upcast(type, from, to, fn)`) and their chains, run in the
//!   same sandbox as reducers.
//! - [`shape`]: paths and JSON types of many payloads; upcasted vs native comparison.
//! - [`check`]: the bulk check over a type or the whole store.
//! - [`preview`]: one event side by side (stored, each step, final), pages, next failure.

pub mod check;
pub mod engine;
pub mod preview;
pub mod shape;
pub mod version;

use std::path::{Path, PathBuf};

pub use engine::{UpcasterSource, Upcasters};
pub use version::VersionRules;

use crate::replay::config::{ConfigOrigin, ProjectConfig};

/// The demo's upcasters (also in `assets/demo/`).
pub const DEMO_UPCASTERS: &str = include_str!("../../assets/demo/upcasters.js");
/// Name of the demo upcaster file as the demo config refers to it.
pub const DEMO_UPCASTERS_NAME: &str = "upcasters.js";

/// An upcaster file: where it is (for reloading on save) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpcasterFile {
    /// Label in messages (the path, or `demo/upcasters.js`).
    pub label: String,
    /// The file on disk (`None` for the built-in demo file).
    pub path: Option<PathBuf>,
    /// Its text.
    pub text: String,
}

impl UpcasterFile {
    /// The engine's view of it.
    #[must_use]
    pub fn source(&self) -> UpcasterSource {
        UpcasterSource {
            label: self.label.clone(),
            text: self.text.clone(),
        }
    }
}

/// Reads upcaster files.
///
/// # Errors
/// When a file cannot be read (the message names it).
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<UpcasterFile>, String> {
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read upcaster file {}: {e}", path.display()))?;
            Ok(UpcasterFile {
                label: path.display().to_string(),
                path: Some(path.clone()),
                text,
            })
        })
        .collect()
}

/// The upcaster files a project config names (`upcasters = ["file.js", …]`, relative to
/// the config file); the demo config's file is built in.
///
/// # Errors
/// When a file cannot be read.
pub fn files_from_config(config: &ProjectConfig) -> Result<Vec<UpcasterFile>, String> {
    config
        .file
        .upcasters
        .iter()
        .map(|name| {
            if config.origin == ConfigOrigin::Demo && name == DEMO_UPCASTERS_NAME {
                return Ok(UpcasterFile {
                    label: format!("demo/{DEMO_UPCASTERS_NAME}"),
                    path: None,
                    text: DEMO_UPCASTERS.to_owned(),
                });
            }
            let path = match &config.base_dir {
                Some(base) if Path::new(name).is_relative() => base.join(name),
                _ => PathBuf::from(name),
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "upcasters: cannot read {} (named in {}): {e}",
                    path.display(),
                    config.origin.describe()
                )
            })?;
            Ok(UpcasterFile {
                label: path.display().to_string(),
                path: Some(path),
                text,
            })
        })
        .collect()
}

/// The version rules a project config sets (`schema_version_path`, `type_suffix_versions`).
///
/// # Errors
/// When `schema_version_path` is not a valid path.
pub fn rules_from_config(config: &ProjectConfig) -> Result<VersionRules, String> {
    let path = config
        .file
        .schema_version_path
        .as_deref()
        .map(version::VersionPath::parse)
        .transpose()?;
    Ok(VersionRules {
        path,
        type_suffix: config.file.type_suffix_versions.unwrap_or(true),
    })
}

/// Modification times of files (for reloading on save); `None` for files that cannot be
/// read (or the built-in demo file).
#[must_use]
pub fn modified_times(files: &[UpcasterFile]) -> Vec<Option<std::time::SystemTime>> {
    files
        .iter()
        .map(|f| {
            f.path
                .as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .and_then(|m| m.modified().ok())
        })
        .collect()
}

#[cfg(test)]
mod tests;
