//! Finding events by what is in them: a text anywhere in an event (its ids, the string and
//! number values of its payload and metadata), and structured filters over their fields
//! ([`filter`]).
//!
//! The exact check is always made here, in Rust, on the decoded event: sources may narrow
//! what they read with a cheap prefilter ([`Needle::prefilter`]), which never drops an event
//! that matches but may let through some that do not.
//!
//! Matching is case-insensitive (Unicode lowercase on both sides: `ærø` finds `Ærø`,
//! `STRASSE` finds `strasse` but not `Straße`, whose lowercase is `straße`).

pub mod filter;
pub mod index;
pub mod scan;

use serde::Serialize;
use serde_json::Value;

use crate::core::event::Event;

/// Longest stored string a match shows whole; longer ones are cut around the match.
const SHOWN_CHARS: usize = 160;

/// What the user pasted, ready to match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needle {
    text: String,
    folded: String,
}

/// One place in an event that holds the needle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Match {
    /// Where: `event_id`, `stream_id`, `correlation_id`, `causation_id`, or a path into the
    /// payload (`data.customer.email`, `data.items[2].sku`) or the metadata
    /// (`metadata.user_id`).
    pub path: String,
    /// The value there (cut around the match when long).
    pub value: String,
}

impl Needle {
    /// The needle for `text` (trimmed); `None` when nothing is left.
    #[must_use]
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self {
            text: text.to_owned(),
            folded: text.to_lowercase(),
        })
    }

    /// The text as given (trimmed).
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when `haystack` contains the needle, ignoring case.
    #[must_use]
    pub fn found_in(&self, haystack: &str) -> bool {
        if haystack.is_ascii() && self.folded.is_ascii() {
            return haystack
                .as_bytes()
                .windows(self.folded.len())
                .any(|w| w.eq_ignore_ascii_case(self.folded.as_bytes()));
        }
        haystack.to_lowercase().contains(&self.folded)
    }

    /// A piece of the needle that every stored form of a matching event contains, in any
    /// letter case, for a source's prefilter (`LIKE '%piece%'`, which ignores ASCII case):
    /// the longest run of ASCII letters, digits and `._:@+#$=,;!?*()[]{}~^|` spaces (what JSON
    /// writers never escape; hyphens are left out because typed values may store a UUID
    /// as plain hex). `None` when no run of three or more is left: then every event must be
    /// checked.
    #[must_use]
    pub fn prefilter(&self) -> Option<&str> {
        let safe = |c: char| c.is_ascii_alphanumeric() || " ._:@+#$=,;!?*()[]{}~^|".contains(c);
        let mut best: Option<&str> = None;
        for run in self.text.split(|c: char| !safe(c)) {
            let run = run.trim();
            if run.len() >= 3 && best.is_none_or(|b| run.len() > b.len()) {
                best = Some(run);
            }
        }
        best
    }

    /// The FTS5 query that finds, in the full-text index ([`index`]), every event this
    /// needle matches: trigrams of the needle covering it (each one FTS5 string, joined
    /// with `AND`). `None` when the index cannot answer and the store must be scanned: a
    /// needle shorter than three characters (no trigram), or one with a character whose
    /// case folding in SQLite's trigram tokenizer may differ from Rust's lowercase (final
    /// sigma, dotted and dotless i, sharp s).
    #[must_use]
    pub fn fts_query(&self) -> Option<String> {
        let chars: Vec<char> = self.text.chars().collect();
        if chars.len() < 3 || chars.iter().any(|c| UNSURE_FOLDING.contains(c)) {
            return None;
        }
        // Every third trigram, and the last: together they cover the needle.
        let mut starts: Vec<usize> = (0..=chars.len() - 3).step_by(3).collect();
        if starts.last() != Some(&(chars.len() - 3)) {
            starts.push(chars.len() - 3);
        }
        let mut terms: Vec<String> = starts
            .into_iter()
            .map(|at| {
                let gram: String = chars[at..at + 3].iter().collect();
                format!("\"{}\"", gram.replace('"', "\"\""))
            })
            .collect();
        terms.dedup();
        Some(terms.join(" AND "))
    }

    /// Every place in `event` that holds the needle: the ids first, then the payload
    /// (`data…`) and the metadata (`metadata…`). Empty when the event does not match.
    #[must_use]
    pub fn matches(&self, event: &Event) -> Vec<Match> {
        let mut found = Vec::new();
        let ids = [
            ("stream_id", Some(event.stream_id.as_str())),
            ("event_id", event.event_id.as_deref()),
            ("correlation_id", event.correlation_id.as_deref()),
            ("causation_id", event.causation_id.as_deref()),
        ];
        for (path, value) in ids {
            if let Some(value) = value.filter(|v| self.found_in(v)) {
                found.push(Match {
                    path: path.to_owned(),
                    value: self.shown(value),
                });
            }
        }
        for (root, payload) in [("data", &event.payload), ("metadata", &event.metadata)] {
            match payload.as_json() {
                Some(value) => {
                    let mut path = root.to_owned();
                    self.walk(value, &mut path, &mut found);
                }
                None => {
                    if let Some(text) = payload.raw_text().filter(|t| self.found_in(t)) {
                        found.push(Match {
                            path: root.to_owned(),
                            value: self.shown(text),
                        });
                    }
                }
            }
        }
        found
    }

    fn walk(&self, value: &Value, path: &mut String, found: &mut Vec<Match>) {
        match value {
            Value::String(text) => {
                if self.found_in(text) {
                    found.push(Match {
                        path: path.clone(),
                        value: self.shown(text),
                    });
                }
            }
            Value::Number(number) => {
                let text = number.to_string();
                if self.found_in(&text) {
                    found.push(Match {
                        path: path.clone(),
                        value: text,
                    });
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    self.walk(item, path, found);
                    path.truncate(len);
                }
            }
            Value::Object(entries) => {
                for (key, item) in entries {
                    let len = path.len();
                    push_key(path, key);
                    self.walk(item, path, found);
                    path.truncate(len);
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// `text` whole when short, else the part around the first match with `…` marks.
    fn shown(&self, text: &str) -> String {
        if text.chars().count() <= SHOWN_CHARS {
            return text.to_owned();
        }
        let folded = text.to_lowercase();
        // Find the match's char offset in the folded text; lowercase may change byte
        // lengths, so work in chars of the original where the counts agree.
        let at_char = folded
            .find(&self.folded)
            .map_or(0, |byte| folded[..byte].chars().count());
        let start = at_char.saturating_sub(SHOWN_CHARS / 3);
        let mut shown: String = text.chars().skip(start).take(SHOWN_CHARS).collect();
        if start > 0 {
            shown.insert(0, '…');
        }
        if start + SHOWN_CHARS < text.chars().count() {
            shown.push('…');
        }
        shown
    }
}

/// Characters whose case folding in SQLite's trigram tokenizer may not agree with Rust's
/// `to_lowercase` (context-dependent, or one-to-many): a needle with one is searched by
/// scanning, not through the full-text index.
const UNSURE_FOLDING: [char; 8] = ['Σ', 'σ', 'ς', 'İ', 'ı', 'ß', 'ẞ', 'ǅ'];

/// Appends to `out` every text of `event` that [`Needle::matches`] looks at, one per line:
/// the stream id, event id, correlation and causation ids, then the string and number
/// values of the payload and the metadata (a non-JSON payload as its text). What the
/// full-text index holds for the event.
pub fn indexed_text(event: &Event, out: &mut String) {
    fn walk(value: &Value, out: &mut String) {
        match value {
            Value::String(text) => {
                out.push_str(text);
                out.push('\n');
            }
            Value::Number(number) => {
                out.push_str(&number.to_string());
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, out)),
            Value::Object(entries) => entries.values().for_each(|item| walk(item, out)),
            Value::Bool(_) | Value::Null => {}
        }
    }
    let ids = [
        Some(event.stream_id.as_str()),
        event.event_id.as_deref(),
        event.correlation_id.as_deref(),
        event.causation_id.as_deref(),
    ];
    for id in ids.into_iter().flatten() {
        out.push_str(id);
        out.push('\n');
    }
    for payload in [&event.payload, &event.metadata] {
        match payload.as_json() {
            Some(value) => walk(value, out),
            None => {
                if let Some(text) = payload.raw_text() {
                    out.push_str(text);
                    out.push('\n');
                }
            }
        }
    }
}

/// `%text%` for SQL `LIKE … ESCAPE '\'` and PostgreSQL's `ILIKE` (whose default escape is
/// `\`): `%`, `_` and `\` in the text escaped.
#[must_use]
pub fn like_pattern(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// Appends `.key`, or `["key"]` when the key is not a plain name.
pub fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}

#[cfg(test)]
mod tests;
