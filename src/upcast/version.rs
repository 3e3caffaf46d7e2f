//! Schema version of each event, for upcasting (core layer, no GUI).
//!
//! Where a version comes from, first match wins:
//! 1. a path configured for the store (`schema_version_path = "payload:$.v"` or
//!    `"metadata:$.schemaVersion"` in the project config);
//! 2. an event-type suffix: `OrderPlaced.v2`, `OrderPlaced_v2`, `OrderPlaced-v2`,
//!    `OrderPlacedV2` (can be switched off with `type_suffix_versions = false`);
//! 3. what the layout stored: the design layout's `event_version` column, the Python
//!    `eventsourcing` `class_version` in the state, a mapping file's column or path;
//! 4. otherwise version 1.
//!
//! The suffix is also stripped from the type: upcasters and histograms group
//! `OrderPlaced.v1` and `OrderPlaced.v2` under `OrderPlaced`.

use serde::Serialize;
use serde_json::Value;

use crate::core::event::Event;

/// How versions are detected for one store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRules {
    /// A configured path: `payload:$.a.b` or `metadata:$.a.b` (`$.a.b` alone means payload).
    pub path: Option<VersionPath>,
    /// Read versions from event-type suffixes.
    pub type_suffix: bool,
}

impl Default for VersionRules {
    fn default() -> Self {
        Self {
            path: None,
            type_suffix: true,
        }
    }
}

/// A configured JSON path to the version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionPath {
    /// True for metadata, false for the payload.
    pub in_metadata: bool,
    /// Keys from the root.
    pub keys: Vec<String>,
}

impl VersionPath {
    /// Parses `payload:$.a.b`, `metadata:$.a.b` or `$.a.b`.
    ///
    /// # Errors
    /// When the text is not such a path.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (in_metadata, path) = if let Some(rest) = text.strip_prefix("metadata:") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("payload:") {
            (false, rest)
        } else {
            (false, text)
        };
        let rest = path.trim().strip_prefix('$').ok_or_else(|| {
            format!("schema_version_path {text:?}: expected payload:$.path or metadata:$.path")
        })?;
        let keys: Vec<String> = rest
            .split('.')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        if keys.is_empty() {
            return Err(format!(
                "schema_version_path {text:?}: the path names no field (e.g. payload:$.schemaVersion)"
            ));
        }
        Ok(Self { in_metadata, keys })
    }

    fn read(&self, event: &Event) -> Option<u32> {
        let root = if self.in_metadata {
            event.metadata.as_json()?
        } else {
            event.payload.as_json()?
        };
        let mut value = root;
        for key in &self.keys {
            value = value.get(key)?;
        }
        version_of_value(value)
    }
}

/// A version number from a JSON value: `2`, `"2"`, `"v2"`.
#[must_use]
pub fn version_of_value(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|v| u32::try_from(v).ok()),
        Value::String(s) => s.trim().trim_start_matches(['v', 'V']).parse::<u32>().ok(),
        _ => None,
    }
}

/// Where an event's version came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    /// The configured payload/metadata path.
    Path,
    /// The event type's suffix.
    TypeSuffix,
    /// What the layout stored (column, `class_version`, mapping).
    Stored,
    /// Nothing: version 1.
    Default,
}

/// An event's logical type and schema version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    /// The type without a version suffix.
    pub base_type: String,
    /// The schema version (1 when unknown).
    pub version: u32,
    /// Where it came from.
    pub source: VersionSource,
}

/// Splits a version suffix off a type: `OrderPlaced.v2`, `OrderPlaced_V2`, `OrderPlaced-v2`,
/// `OrderPlacedV2` → (`OrderPlaced`, 2). Types without one are returned whole.
#[must_use]
pub fn split_type_suffix(event_type: &str) -> (&str, Option<u32>) {
    let digits_start = event_type
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit())
        .last()
        .map(|(i, _)| i);
    let Some(digits_start) = digits_start else {
        return (event_type, None);
    };
    let Ok(version) = event_type[digits_start..].parse::<u32>() else {
        return (event_type, None);
    };
    let head = &event_type[..digits_start];
    let Some(marker) = head.chars().last() else {
        return (event_type, None);
    };
    if marker != 'v' && marker != 'V' {
        return (event_type, None);
    }
    let before_marker = &head[..head.len() - 1];
    let Some(prev) = before_marker.chars().last() else {
        return (event_type, None);
    };
    if matches!(prev, '.' | '_' | '-' | ':') {
        let base = &before_marker[..before_marker.len() - 1];
        if base.is_empty() {
            return (event_type, None);
        }
        return (base, Some(version));
    }
    // Glued form (`OrderPlacedV2`): only an upper-case V after a lower-case letter or digit.
    if marker == 'V' && (prev.is_ascii_lowercase() || prev.is_ascii_digit()) {
        return (before_marker, Some(version));
    }
    (event_type, None)
}

/// The base type alone (suffix stripped when the rules read suffixes).
#[must_use]
pub fn base_type<'a>(event_type: &'a str, rules: &VersionRules) -> &'a str {
    if rules.type_suffix {
        split_type_suffix(event_type).0
    } else {
        event_type
    }
}

/// Detects an event's logical type and version (see the module docs for the order).
#[must_use]
pub fn detect(event: &Event, rules: &VersionRules) -> Versioned {
    let (base, suffix) = if rules.type_suffix {
        split_type_suffix(&event.event_type)
    } else {
        (event.event_type.as_str(), None)
    };
    let base_type = base.to_owned();
    if let Some(version) = rules.path.as_ref().and_then(|p| p.read(event)) {
        return Versioned {
            base_type,
            version,
            source: VersionSource::Path,
        };
    }
    if let Some(version) = suffix {
        return Versioned {
            base_type,
            version,
            source: VersionSource::TypeSuffix,
        };
    }
    match event.schema_version {
        Some(version) => Versioned {
            base_type,
            version,
            source: VersionSource::Stored,
        },
        None => Versioned {
            base_type,
            version: 1,
            source: VersionSource::Default,
        },
    }
}
