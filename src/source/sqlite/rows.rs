//! Rows to events and stream summaries; the parameters of stream queries.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::SqliteSource;
use super::decode::{
    self, bytes_of, lenient_unsigned, lossy_text, problem, schema_version_of, stored_payload,
    text_of, time_column, time_of, unsigned_or_problem, version_at_path,
};
use super::layout::{CategoryRule, FieldSource, IdEncoding, PayloadEncoding};
use crate::core::event::{Event, Payload, StreamInfo};
use crate::core::ids;
use crate::core::query::StreamQuery;

impl SqliteSource {
    /// The parameters that match a stream id in any accepted form.
    pub(super) fn stream_params(&self, stream_id: &str) -> Vec<rusqlite::types::Value> {
        use rusqlite::types::Value;
        match self.layout.events.stream_id_encoding {
            IdEncoding::UuidBlob => {
                let blob = ids::parse_uuid(stream_id).map_or_else(
                    || Value::Blob(stream_id.as_bytes().to_vec()),
                    |bytes| Value::Blob(bytes.to_vec()),
                );
                vec![blob; 4]
            }
            IdEncoding::Text => match ids::parse_uuid(stream_id) {
                Some(bytes) => {
                    let hyphenated = ids::format_uuid(&bytes);
                    let hex = hyphenated.replace('-', "");
                    vec![
                        Value::Text(hyphenated.to_uppercase()),
                        Value::Text(hex.to_uppercase()),
                        Value::Text(hyphenated),
                        Value::Text(hex),
                    ]
                }
                None => vec![Value::Text(stream_id.to_owned()); 4],
            },
        }
    }

    pub(super) fn display_stream(&self, value: ValueRef<'_>) -> String {
        match value {
            ValueRef::Text(text) => ids::display_stream_id(&lossy_text(text)),
            ValueRef::Blob(blob) => match <[u8; 16]>::try_from(blob) {
                Ok(bytes) if self.layout.events.stream_id_encoding == IdEncoding::UuidBlob => {
                    ids::format_uuid(&bytes)
                }
                _ => String::from_utf8_lossy(blob).into_owned(),
            },
            ValueRef::Integer(i) => i.to_string(),
            ValueRef::Real(r) => r.to_string(),
            ValueRef::Null => String::new(),
        }
    }

    pub(super) fn category(&self, stream_id: &str, event_type: Option<&str>) -> String {
        match &self.layout.events.category {
            CategoryRule::Prefix(separator) => ids::category_of(stream_id, *separator),
            CategoryRule::EventTypeQualifier => event_type
                .and_then(|t| {
                    t.rsplit_once('.')
                        .map(|(qualifier, _)| qualifier.to_owned())
                })
                .unwrap_or_default(),
        }
    }

    /// An event from an `event_columns` row. Every field is decoded on its own: one that
    /// cannot be read is left at its default and described in `Event::problems`.
    pub(super) fn row_to_event(&self, row: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
        let events = &self.layout.events;
        let mut problems = Vec::new();
        let global_position =
            unsigned_or_problem(row.get_ref(0)?, "global_position", &mut problems);
        let stream_value = row.get_ref(1)?;
        if matches!(stream_value, ValueRef::Null) {
            problems.push(problem("stream_id", "NULL", stream_value));
        }
        let stream_id = self.display_stream(stream_value);
        let stream_version = unsigned_or_problem(row.get_ref(2)?, "stream_version", &mut problems);
        let type_value = row.get_ref(3)?;
        if matches!(type_value, ValueRef::Null) {
            problems.push(problem("event_type", "NULL", type_value));
        }
        let event_type = text_of(type_value).unwrap_or_default();
        let stored_type = text_of(row.get_ref(9)?).filter(|stored| *stored != event_type);
        let event_id = text_of(row.get_ref(4)?);
        // Payload and metadata stay as stored and are parsed on first access; only a field
        // the layout keeps inside them (eventsourcing's time, a mapping's paths) parses
        // them here.
        let payload_value = row.get_ref(5)?;
        let payload = match payload_value {
            ValueRef::Null => {
                problems.push(problem("payload", "NULL", payload_value));
                Payload::empty()
            }
            ValueRef::Integer(_) | ValueRef::Real(_) => {
                problems.push(problem(
                    "payload",
                    "a number, not a document",
                    payload_value,
                ));
                Payload::empty()
            }
            other => stored_payload(bytes_of(other), events.payload_encoding),
        };
        let metadata_value = row.get_ref(6)?;
        let metadata = match metadata_value {
            ValueRef::Integer(_) | ValueRef::Real(_) => {
                problems.push(problem(
                    "metadata",
                    "a number, not a document",
                    metadata_value,
                ));
                Payload::empty()
            }
            other => stored_payload(bytes_of(other), PayloadEncoding::Json),
        };
        let recorded_at = match &events.recorded_at {
            FieldSource::Column(_) => {
                let value = row.get_ref(7)?;
                match time_column(value, events.recorded_at_format) {
                    Ok(Some(at)) => Some(at),
                    Ok(None) => {
                        problems.push(problem("recorded_at", "NULL", value));
                        None
                    }
                    Err(what) => {
                        problems.push(problem("recorded_at", what, value));
                        None
                    }
                }
            }
            FieldSource::PayloadPath(path) => {
                decode::time_in_document(payload.stored_json(), path, &mut problems)
            }
            FieldSource::MetadataPath(path) => {
                decode::time_in_document(metadata.as_json(), path, &mut problems)
            }
            FieldSource::None => None,
        };
        let schema_version = match &events.schema_version {
            FieldSource::Column(_) => {
                let value = row.get_ref(8)?;
                schema_version_of(value).unwrap_or_else(|what| {
                    problems.push(problem("schema_version", what, value));
                    None
                })
            }
            FieldSource::PayloadPath(path) => {
                payload.stored_json().and_then(|j| version_at_path(j, path))
            }
            FieldSource::MetadataPath(path) => {
                metadata.as_json().and_then(|j| version_at_path(j, path))
            }
            FieldSource::None => None,
        }
        .or(events.default_schema_version);
        let (correlation_id, causation_id) = events.id_paths.extract_from_payload(&metadata);
        Ok(Event {
            global_position,
            stream_id,
            stream_version,
            event_id,
            event_type,
            schema_version,
            recorded_at,
            payload,
            metadata,
            correlation_id,
            causation_id,
            stored_type,
            problems,
        })
    }

    /// A stream summary from a `stream_summary` row, completed with the times of the
    /// stream's first and last events (two point lookups).
    pub(super) fn row_to_stream(
        &self,
        conn: &Connection,
        row: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<StreamInfo> {
        // As stored (bound back below), even text that is not UTF-8.
        let stored = decode::StoredValue::of(row.get_ref(0)?);
        let stream_id = self.display_stream(row.get_ref(0)?);
        let format = self.layout.events.recorded_at_format;
        let end = |sql: &str| -> rusqlite::Result<(Option<DateTime<Utc>>, Option<String>)> {
            use rusqlite::OptionalExtension as _;
            let found = conn
                .prepare_cached(sql)?
                .query_row([&stored], |r| {
                    Ok((time_of(r.get_ref(0)?, format), text_of(r.get_ref(1)?)))
                })
                .optional()?;
            Ok(found.unwrap_or((None, None)))
        };
        let event_count = lenient_unsigned(row.get_ref(1)?);
        let ((first_recorded_at, first_type), (last_recorded_at, _)) = if event_count > 0 {
            (end(&self.sql.stream_first)?, end(&self.sql.stream_last)?)
        } else {
            ((None, None), (None, None))
        };
        Ok(StreamInfo {
            category: self.category(&stream_id, first_type.as_deref()),
            event_count,
            last_version: lenient_unsigned(row.get_ref(2)?),
            first_recorded_at,
            last_recorded_at,
            last_position: lenient_unsigned(row.get_ref(3)?),
            stream_id,
        })
    }

    pub(super) fn stream_query_params(
        &self,
        query: &StreamQuery,
    ) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        if let Some(filter) = query.filter.as_deref().filter(|f| !f.is_empty()) {
            let lower = filter.to_lowercase();
            params.push(Value::Text(lower.clone()));
            params.push(Value::Text(lower.replace('-', "")));
            conditions.push(self.sql.stream_filter.clone());
        }
        let mut having = String::new();
        if let Some(category) = &query.category {
            match &self.layout.events.category {
                CategoryRule::Prefix(separator) => {
                    if category.is_empty() {
                        conditions.push(self.sql.uuid_condition.clone());
                    } else {
                        params.push(Value::Text(category.clone()));
                        params.push(Value::Text(format!("{category}{separator}")));
                        let n = params.len();
                        conditions.push(format!(
                            "({sid} = ?{a} OR substr({sid}, 1, length(?{n})) = ?{n})",
                            sid = self.layout.events.stream_id,
                            a = n - 1,
                        ));
                    }
                }
                CategoryRule::EventTypeQualifier => {
                    params.push(Value::Text(format!("{category}.")));
                    let n = params.len();
                    having = format!(
                        " HAVING substr(MIN({t}), 1, length(?{n})) = ?{n}",
                        t = self.layout.events.event_type
                    );
                }
            }
        }
        let mut where_clause = format!(
            "FROM {} WHERE {}",
            self.layout.events.table, self.sql.base_where
        );
        for condition in conditions {
            where_clause.push_str(" AND ");
            where_clause.push_str(&condition);
        }
        (
            format!(
                "{where_clause} GROUP BY {}{having}",
                self.layout.events.stream_id
            ),
            params,
        )
    }
}
