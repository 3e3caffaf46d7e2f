//! `eventscope mapping suggest`: a commented mapping file drafted from a store's schema.
//!
//! Every role is filled with the column whose name fits it best; a role no column fits is
//! left as the marked blank [`BLANK`] with a comment naming the table's columns, so the
//! user (or a test) fills it in and passes the file with `--mapping`.

use std::fmt::Write as _;
use std::path::Path;

use super::layout::Schema;
use crate::core::source::{SourceError, SourceResult};

/// The marked blank of a required role nobody could guess.
pub const BLANK: &str = "FILL_IN";

/// Name fragments that suggest a role, best first (compared case-insensitively; exact
/// names beat fragments).
struct Role {
    key: &'static str,
    exact: &'static [&'static str],
    contains: &'static [&'static str],
    what: &'static str,
}

const POSITION: Role = Role {
    key: "position",
    exact: &[
        "global_position",
        "position",
        "id",
        "sequence",
        "seq",
        "offset",
    ],
    contains: &["position"],
    what: "the store-wide order of events (an increasing integer; \"rowid\" works for any table)",
};
const STREAM: Role = Role {
    key: "stream_id",
    exact: &[
        "aggregate_id",
        "stream_id",
        "stream_name",
        "stream",
        "entity_id",
    ],
    contains: &["stream", "aggregate", "entity", "subject"],
    what: "the stream (aggregate) an event belongs to",
};
const VERSION: Role = Role {
    key: "version",
    exact: &[
        "version",
        "stream_version",
        "aggregate_version",
        "sequence_number",
        "revision",
        "stream_position",
    ],
    contains: &["version", "revision"],
    what: "the event's number in its stream (leave out: the 1-based ordinal by position)",
};
const TYPE: Role = Role {
    key: "event_type",
    exact: &["event_type", "type", "event_name", "name", "kind", "topic"],
    contains: &["type", "kind", "topic"],
    what: "the event type name",
};
const PAYLOAD: Role = Role {
    key: "payload",
    exact: &["payload", "data", "body", "event_data", "state", "json"],
    contains: &["payload", "data", "body", "json", "content"],
    what: "the event's payload (JSON text or bytes)",
};
const TIME: Role = Role {
    key: "recorded_at",
    exact: &[
        "created_at",
        "timestamp",
        "occurred_at",
        "recorded_at",
        "time",
        "ts",
    ],
    contains: &["_at", "time", "date", "ts"],
    what: "when the event was recorded (text or epoch number; naive times are read as UTC)",
};
const METADATA: Role = Role {
    key: "metadata",
    exact: &["metadata", "meta", "headers"],
    contains: &["meta", "header"],
    what: "the event's metadata (correlation/causation ids are found under the usual keys)",
};
const EVENT_ID: Role = Role {
    key: "event_id",
    exact: &["event_id", "message_id", "uuid", "guid"],
    contains: &["event_id", "uuid", "guid"],
    what: "the event's own id",
};
const SCHEMA_VERSION: Role = Role {
    key: "schema_version",
    exact: &["schema_version", "event_version"],
    contains: &["schema"],
    what: "the event's schema version (or schema_version_path = \"payload:$.version\")",
};

/// The column of `columns` that fits `role` best and is not `taken`.
fn pick<'a>(role: &Role, columns: &'a [String], taken: &[String]) -> Option<&'a String> {
    let free = |c: &&String| !taken.iter().any(|t| t.eq_ignore_ascii_case(c));
    role.exact
        .iter()
        .find_map(|want| {
            columns
                .iter()
                .filter(free)
                .find(|c| c.eq_ignore_ascii_case(want))
        })
        .or_else(|| {
            role.contains.iter().find_map(|fragment| {
                columns
                    .iter()
                    .filter(free)
                    .find(|c| c.to_lowercase().contains(fragment))
            })
        })
}

/// How well a table looks like an events table: roles its columns fit, then a name
/// that says "event".
fn score(name: &str, columns: &[String]) -> (usize, bool, usize) {
    let fits = [&STREAM, &TYPE, &PAYLOAD, &VERSION, &TIME, &POSITION]
        .iter()
        .filter(|role| pick(role, columns, &[]).is_some())
        .count();
    (
        fits,
        name.to_lowercase().contains("event"),
        usize::MAX - columns.len(),
    )
}

/// A TOML basic string: backslash, quote and every control character escaped (TOML
/// allows none of them raw; table and column names may hold any of them).
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text for a comment line: control characters (which TOML comments may not hold) shown
/// escaped.
fn comment(text: &str) -> String {
    if text.chars().any(char::is_control) {
        text.chars().flat_map(char::escape_default).collect()
    } else {
        text.to_owned()
    }
}

/// Names for a comment, comma-separated.
fn comment_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| comment(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A commented mapping file for the store at `path`, drafted from its schema (see the
/// module documentation). The store is opened read-only.
///
/// # Errors
/// When the file is not a readable SQLite database or has no tables.
pub fn suggest(path: &Path) -> SourceResult<String> {
    super::conn::precheck(path)?;
    let conn = super::conn::open_connection(path, super::conn::choose_mode(path))?;
    let schema = Schema::read(&conn).map_err(|e| {
        SourceError::Open(format!(
            "cannot read the SQLite schema ({e}): {}",
            path.display()
        ))
    })?;
    suggest_for(&schema, &path.display().to_string())
}

/// [`suggest`] for a schema already read.
///
/// # Errors
/// When the schema has no tables.
pub fn suggest_for(schema: &Schema, shown_path: &str) -> SourceResult<String> {
    let tables = &schema.tables;
    let Some((table, columns)) = tables
        .iter()
        .max_by_key(|(name, columns)| score(name, columns))
    else {
        return Err(SourceError::UnknownLayout(format!(
            "the store has no tables to map: {shown_path}"
        )));
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# eventscope mapping drafted from the schema of {}\n\
         # Fill in every `{BLANK}`, check the guesses, then: eventscope --mapping THIS_FILE …\n\
         # Tables: {}\n",
        comment(shown_path),
        tables
            .iter()
            .map(|(n, c)| format!("{}({})", comment(n), comment_list(c)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(
        out,
        "[events]\n# the table holding one row per event (columns: {})\ntable = {}",
        comment_list(columns),
        toml_string(table)
    );
    // Roles are guessed in an order that keeps look-alikes apart (`metadata` is not the
    // payload, `schema_version` not the version), then written in the usual order.
    let order: [(&Role, bool); 9] = [
        (&SCHEMA_VERSION, false),
        (&METADATA, false),
        (&EVENT_ID, false),
        (&POSITION, true),
        (&STREAM, true),
        (&TYPE, true),
        (&PAYLOAD, true),
        (&VERSION, false),
        (&TIME, false),
    ];
    let mut taken: Vec<String> = Vec::new();
    let mut picked: Vec<(&str, Option<String>)> = Vec::new();
    for (role, _) in order {
        let column = pick(role, columns, &taken).cloned();
        if let Some(c) = &column {
            taken.push(c.clone());
        }
        picked.push((role.key, column));
    }
    let written = [
        &POSITION,
        &STREAM,
        &VERSION,
        &TYPE,
        &EVENT_ID,
        &PAYLOAD,
        &METADATA,
        &TIME,
        &SCHEMA_VERSION,
    ];
    for role in written {
        let required = order.iter().any(|(r, req)| r.key == role.key && *req);
        let column = picked
            .iter()
            .find(|(key, _)| *key == role.key)
            .and_then(|(_, c)| c.clone())
            .or_else(|| (role.key == POSITION.key).then(|| "rowid".to_owned()));
        let _ = match (column, required) {
            (Some(c), true) => writeln!(out, "{} = {}  # {}", role.key, toml_string(&c), role.what),
            (Some(c), false) => writeln!(
                out,
                "{} = {}  # optional: {}",
                role.key,
                toml_string(&c),
                role.what
            ),
            (None, true) => writeln!(
                out,
                "{} = \"{BLANK}\"  # FILL IN: {} (one of: {})",
                role.key,
                role.what,
                comment_list(columns)
            ),
            (None, false) => writeln!(out, "# {} = \"\"  # optional: {}", role.key, role.what),
        };
    }
    let snapshot_table = tables
        .iter()
        .find(|(name, _)| name != table && name.to_lowercase().contains("snapshot"));
    if let Some((name, snapshot_columns)) = snapshot_table {
        let guess = |role: &Role| {
            pick(role, snapshot_columns, &[])
                .map_or_else(|| format!("\"{BLANK}\""), |c| toml_string(c))
        };
        let state = Role {
            key: "state",
            exact: &["state", "snapshot", "data", "payload", "body"],
            contains: &["state", "data", "json"],
            what: "",
        };
        let _ = writeln!(
            out,
            "\n# snapshots (remove this section if {} is not one; columns: {})\n\
             [snapshots]\ntable = {}\nstream_id = {}\nversion = {}\nstate = {}",
            comment(name),
            comment_list(snapshot_columns),
            toml_string(name),
            guess(&STREAM),
            guess(&VERSION),
            guess(&state),
        );
        if let Some(c) = pick(&SCHEMA_VERSION, snapshot_columns, &[]) {
            let _ = writeln!(out, "schema_version = {}", toml_string(c));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `mapping` fuzz target: a column name holding a control character went
    /// raw into the draft's comments, and the draft was not TOML.
    #[test]
    fn drafts_are_toml_whatever_the_names() {
        let names = [
            "meta\u{1b}",
            "line\nbreak",
            "tab\there",
            "quote\"s",
            "back\\slash",
            "del\u{7f}",
        ];
        let schema = Schema {
            tables: vec![
                (
                    "led\u{0}ger".to_owned(),
                    names
                        .iter()
                        .map(|n| (*n).to_owned())
                        .chain(["seq".to_owned()])
                        .collect(),
                ),
                ("snapshots\r".to_owned(), vec!["state\u{2028}".to_owned()]),
            ],
        };
        let draft = suggest_for(&schema, "store\n.db").unwrap();
        let parsed: toml::Table = toml::from_str(&draft).unwrap_or_else(|e| panic!("{e}\n{draft}"));
        // The names in strings come back exactly.
        assert_eq!(parsed["events"]["table"].as_str(), Some("led\u{0}ger"));
        assert_eq!(parsed["snapshots"]["table"].as_str(), Some("snapshots\r"));
        assert!(draft.contains("meta\\u{1b}"), "{draft}");
    }
}
