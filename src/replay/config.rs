//! The project config: which reducer replays which stream category.
//!
//! ```toml
//! # eventscope.toml — beside the store, or edited from the app (kept in eventscope's settings)
//! [reducers.BankAccount]          # a stream category; "*" matches every other category
//! script = "reducers/bank.js"      # JavaScript, relative to this file
//! schema_version = 2               # snapshot schema version the states correspond to
//!
//! [reducers.Order]
//! command = "python3 replay.py --module domain"   # JSON Lines child process
//! timeout_secs = 10
//!
//! [reducers."*"]
//! generic = true                   # JSON merge of payloads
//! ```
//!
//! Where it is found, first match wins: the file given on the command line; eventscope's own
//! copy for this store (`<config dir>/projects/<store identity>.toml`, written when the user
//! edits reducers in the app); `eventscope.toml` beside the store; the built-in demo reducers
//! for the demo store. A command named in a config found beside a store is not started until
//! the user approves it once for that store ([`TrustStore`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::command::{CommandReducer, CommandSpec};
use super::generic::GenericReducer;
use super::script::{ScriptOptions, ScriptReducer};
use super::{ReduceError, ReduceResult, Reducer};

/// File name looked for beside a store.
pub const BESIDE_STORE_NAME: &str = "eventscope.toml";

/// The demo's reducers (also in `assets/demo/`).
pub const DEMO_CONFIG: &str = include_str!("../../assets/demo/eventscope.toml");
/// The demo's reducer script.
pub const DEMO_SCRIPT: &str = include_str!("../../assets/demo/reducers.js");
/// Name of the demo script as the demo config refers to it.
pub const DEMO_SCRIPT_NAME: &str = "reducers.js";

/// One category's reducer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReducerEntry {
    /// JavaScript file (relative to the config file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Command line of a JSON Lines child process (run in the config file's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// JSON merge of payloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic: Option<bool>,
    /// Snapshot schema version the reducer's states correspond to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u32>,
    /// Time budget per event for scripts, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_ms: Option<u64>,
    /// Time allowed per answer for commands, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// The parsed file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Upcaster files (JavaScript), relative to this file, loaded in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upcasters: Vec<String>,
    /// Where event schema versions are read when the layout's own place is not right:
    /// `payload:$.path` or `metadata:$.path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version_path: Option<String>,
    /// Whether event-type suffixes (`OrderPlaced.v2`, `OrderPlacedV2`) give versions
    /// (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_suffix_versions: Option<bool>,
    /// Reducers by category.
    #[serde(default)]
    pub reducers: BTreeMap<String, ReducerEntry>,
}

/// Where a config came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// Named explicitly (command line): trusted.
    Explicit(PathBuf),
    /// eventscope's own copy for this store (edited in the app): trusted.
    Settings(PathBuf),
    /// Found beside the store: commands need approval.
    BesideStore(PathBuf),
    /// The built-in demo reducers.
    Demo,
    /// No file: generic for everything.
    None,
}

impl ConfigOrigin {
    /// Label for the UI.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Explicit(p) => format!("{} (given)", p.display()),
            Self::Settings(p) => format!("{} (eventscope settings)", p.display()),
            Self::BesideStore(p) => format!("{} (beside the store)", p.display()),
            Self::Demo => "built-in demo reducers".to_owned(),
            Self::None => "no project config: generic reducer".to_owned(),
        }
    }
}

/// A loaded project config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectConfig {
    /// The entries.
    pub file: ConfigFile,
    /// Where it came from.
    pub origin: ConfigOrigin,
    /// Directory relative paths resolve against.
    pub base_dir: Option<PathBuf>,
    /// The file's text (for the editor).
    pub text: String,
}

/// What the config says for a category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReducerChoice {
    /// Generic merge.
    Generic,
    /// A script with its source.
    Script {
        /// Label (file path).
        label: String,
        /// Source text.
        source: String,
        /// Options.
        schema_version: Option<u32>,
        /// Budget per event.
        budget: Duration,
    },
    /// A command.
    Command {
        /// Parsed argv.
        argv: Vec<String>,
        /// Working directory.
        cwd: Option<PathBuf>,
        /// Answer time-out.
        timeout: Duration,
        /// Snapshot schema version.
        schema_version: Option<u32>,
        /// Whether it needs approval before it may run.
        needs_trust: bool,
        /// Key recorded in the trust store when approved.
        trust_key: String,
    },
}

impl ProjectConfig {
    /// Parses a config's text.
    ///
    /// # Errors
    /// On TOML errors or an entry that names no or several reducers.
    pub fn parse(
        text: &str,
        origin: ConfigOrigin,
        base_dir: Option<PathBuf>,
    ) -> Result<Self, String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for (category, entry) in &file.reducers {
            let count = usize::from(entry.script.is_some())
                + usize::from(entry.command.is_some())
                + usize::from(entry.generic == Some(true));
            if count != 1 {
                return Err(format!(
                    "[reducers.{category}] must set exactly one of script = \"file.js\", \
                     command = \"…\" or generic = true"
                ));
            }
            if let Some(command) = &entry.command {
                CommandSpec::parse(command).map_err(|e| format!("[reducers.{category}]: {e}"))?;
            }
        }
        Ok(Self {
            file,
            origin,
            base_dir,
            text: text.to_owned(),
        })
    }

    /// Reads a config file.
    ///
    /// # Errors
    /// When it cannot be read or parsed.
    pub fn load(path: &Path, origin: ConfigOrigin) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text, origin, path.parent().map(Path::to_path_buf))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The built-in demo config.
    #[must_use]
    pub fn demo() -> Self {
        Self::parse(DEMO_CONFIG, ConfigOrigin::Demo, None).unwrap_or_else(|_| Self::none())
    }

    /// No config: generic for everything.
    #[must_use]
    pub fn none() -> Self {
        Self {
            file: ConfigFile::default(),
            origin: ConfigOrigin::None,
            base_dir: None,
            text: String::new(),
        }
    }

    /// Finds the config for a store (see the module docs for the order).
    ///
    /// # Errors
    /// When a config exists but is invalid (a broken file is reported, not ignored).
    pub fn discover(
        store_location: &str,
        explicit: Option<&Path>,
        settings_dir: Option<&Path>,
    ) -> Result<Self, String> {
        if let Some(path) = explicit {
            return Self::load(path, ConfigOrigin::Explicit(path.to_path_buf()));
        }
        if let Some(dir) = settings_dir {
            let path = settings_path(dir, store_location);
            if path.is_file() {
                return Self::load(&path, ConfigOrigin::Settings(path.clone()));
            }
        }
        let store_path = Path::new(store_location);
        if let Some(dir) = store_path.parent().filter(|_| store_path.is_file()) {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            let beside = dir.join(BESIDE_STORE_NAME);
            if beside.is_file() {
                return Self::load(&beside, ConfigOrigin::BesideStore(beside.clone()));
            }
        }
        if is_demo_store(store_path) {
            return Ok(Self::demo());
        }
        Ok(Self::none())
    }

    /// The reducer entry for a category (`"*"` as fallback).
    #[must_use]
    pub fn entry_for(&self, category: &str) -> Option<(&str, &ReducerEntry)> {
        self.file
            .reducers
            .get_key_value(category)
            .or_else(|| self.file.reducers.get_key_value("*"))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Resolves what to run for a category.
    ///
    /// # Errors
    /// When a script file cannot be read.
    pub fn choice_for(&self, category: &str) -> Result<ReducerChoice, String> {
        let Some((key, entry)) = self.entry_for(category) else {
            return Ok(ReducerChoice::Generic);
        };
        if let Some(script) = &entry.script {
            let (label, source) = if self.origin == ConfigOrigin::Demo && script == DEMO_SCRIPT_NAME
            {
                (format!("demo/{DEMO_SCRIPT_NAME}"), DEMO_SCRIPT.to_owned())
            } else {
                let path = self.resolve(script);
                let source = std::fs::read_to_string(&path)
                    .map_err(|e| format!("[reducers.{key}] cannot read {}: {e}", path.display()))?;
                (path.display().to_string(), source)
            };
            return Ok(ReducerChoice::Script {
                label,
                source,
                schema_version: entry.schema_version,
                budget: Duration::from_millis(entry.budget_ms.unwrap_or(250).max(1)),
            });
        }
        if let Some(command) = &entry.command {
            let argv = CommandSpec::parse(command)?;
            let cwd = self.base_dir.clone();
            let needs_trust = matches!(self.origin, ConfigOrigin::BesideStore(_));
            let trust_key = format!(
                "{}|{}|{}",
                match &self.origin {
                    ConfigOrigin::BesideStore(p) => p.display().to_string(),
                    other => other.describe(),
                },
                command,
                cwd.as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            return Ok(ReducerChoice::Command {
                argv,
                cwd,
                timeout: Duration::from_secs(entry.timeout_secs.unwrap_or(10).max(1)),
                schema_version: entry.schema_version,
                needs_trust,
                trust_key: super::sha256_hex(trust_key.as_bytes()),
            });
        }
        Ok(ReducerChoice::Generic)
    }

    fn resolve(&self, file: &str) -> PathBuf {
        let path = Path::new(file);
        match &self.base_dir {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_path_buf(),
        }
    }
}

impl ReducerChoice {
    /// Builds the reducer. A command that needs approval is refused unless `trusted`.
    ///
    /// # Errors
    /// When a script does not compile, or a command is not approved.
    pub fn build(&self, trusted: bool) -> ReduceResult<Box<dyn Reducer>> {
        match self {
            Self::Generic => Ok(Box::new(GenericReducer::new())),
            Self::Script {
                label,
                source,
                schema_version,
                budget,
            } => {
                let mut options = ScriptOptions {
                    schema_version: *schema_version,
                    ..ScriptOptions::default()
                };
                options.limits.call_budget = *budget;
                Ok(Box::new(ScriptReducer::new(label, source, &options)?))
            }
            Self::Command {
                argv,
                cwd,
                timeout,
                schema_version,
                needs_trust,
                ..
            } => {
                if *needs_trust && !trusted {
                    return Err(ReduceError::reducer(
                        &argv.join(" "),
                        "this command comes from a config file beside the store and has not \
                         been approved for this store yet",
                    ));
                }
                Ok(Box::new(CommandReducer::new(CommandSpec {
                    argv: argv.clone(),
                    cwd: cwd.clone(),
                    timeout: *timeout,
                    schema_version: *schema_version,
                })))
            }
        }
    }

    /// Short description for the UI.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Generic => "generic (JSON merge of payloads)".to_owned(),
            Self::Script { label, .. } => format!("script {label}"),
            Self::Command { argv, .. } => format!("command `{}`", argv.join(" ")),
        }
    }
}

/// eventscope's own config file for a store.
#[must_use]
pub fn settings_path(settings_dir: &Path, store_location: &str) -> PathBuf {
    settings_dir.join("projects").join(format!(
        "{}.toml",
        crate::history::store_identity(store_location)
    ))
}

/// eventscope's settings directory (`None` when the OS gives no home).
#[must_use]
pub fn default_settings_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "eventscope", "eventscope")
        .map(|d| d.config_dir().to_path_buf())
}

/// SQLite `application_id` the demo writer sets (`EVSC`).
pub const DEMO_APPLICATION_ID: u32 = 0x4556_5343;

/// Whether a file is a demo store: reads the SQLite header's application id (bytes 68..72);
/// never opens it as a database.
#[must_use]
pub fn is_demo_store(path: &Path) -> bool {
    use std::io::Read as _;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut header = [0u8; 72];
    if file.read_exact(&mut header).is_err() || &header[..16] != b"SQLite format 3\0" {
        return false;
    }
    u32::from_be_bytes([header[68], header[69], header[70], header[71]]) == DEMO_APPLICATION_ID
}

/// Commands the user approved, per config file (kept in eventscope's data directory).
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    path: Option<PathBuf>,
    keys: std::collections::BTreeSet<String>,
}

impl TrustStore {
    /// Loads the trust file from a directory (missing file = nothing approved).
    #[must_use]
    pub fn load(dir: Option<&Path>) -> Self {
        let path = dir.map(|d| d.join("trusted-commands.txt"));
        let keys = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| {
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Self { path, keys }
    }

    /// Whether a choice may run.
    #[must_use]
    pub fn allows(&self, choice: &ReducerChoice) -> bool {
        match choice {
            ReducerChoice::Command {
                needs_trust: true,
                trust_key,
                ..
            } => self.keys.contains(trust_key),
            _ => true,
        }
    }

    /// Records an approval.
    ///
    /// # Errors
    /// When the trust file cannot be written.
    pub fn approve(&mut self, choice: &ReducerChoice) -> Result<(), String> {
        let ReducerChoice::Command { trust_key, .. } = choice else {
            return Ok(());
        };
        self.keys.insert(trust_key.clone());
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let mut text = String::from(
            "# Command reducers approved to run (one hash of config path + command + directory per line)\n",
        );
        for key in &self.keys {
            text.push_str(key);
            text.push('\n');
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}
