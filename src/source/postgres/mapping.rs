//! Mapping files for PostgreSQL tables no layout knows: the same TOML as for SQLite
//! (`source::sqlite::mapping`), with schema-qualified tables (`ledger.entries`; without a
//! schema, the `schema=` of the URL, else `public`) and JSON paths (`$.a.b`) read by the
//! server from `json`/`jsonb` columns. Every table and column is checked against the
//! catalog, and what PostgreSQL cannot do safely is refused with the reason.

use super::layout::{
    Catalog, EventsSql, Layout, SnapshotsSql, StreamKey, is_integer_type, json_text, text_of,
    timestamptz,
};
use super::sql::{UUID_PATTERN, literal, quote_ident, table};
use crate::core::event::PayloadFormat;
use crate::core::metadata::IdPaths;
use crate::core::source::{SourceError, SourceResult};
use crate::source::sqlite::mapping::parse_file;

/// A mapped table: its quoted name and the catalog key.
struct Table<'a> {
    catalog: &'a Catalog,
    schema: String,
    name: String,
}

impl<'a> Table<'a> {
    fn find(catalog: &'a Catalog, spec: &str, default_schema: &str) -> SourceResult<Self> {
        let (schema, name) = spec.split_once('.').unwrap_or((default_schema, spec));
        if catalog.columns_of(schema, name).is_none() {
            return Err(SourceError::Mapping(format!(
                "table {schema}.{name} does not exist (or eventscope's user cannot read it)"
            )));
        }
        Ok(Self {
            catalog,
            schema: schema.to_owned(),
            name: name.to_owned(),
        })
    }

    fn sql(&self) -> String {
        table(&self.schema, &self.name)
    }

    /// The column's data type, or an error naming the columns there are.
    fn type_of(&self, column: &str) -> SourceResult<&str> {
        let columns = self
            .catalog
            .columns_of(&self.schema, &self.name)
            .unwrap_or(&[]);
        columns
            .iter()
            .find(|(n, _)| n == column)
            .map(|(_, t)| t.as_str())
            .ok_or_else(|| {
                let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
                SourceError::Mapping(format!(
                    "table {}.{} has no column {column:?} (it has: {})",
                    self.schema,
                    self.name,
                    names.join(", ")
                ))
            })
    }

    /// The column as text.
    fn text(&self, column: &str) -> SourceResult<String> {
        self.type_of(column)?;
        Ok(text_of(self.catalog, &self.schema, &self.name, column))
    }

    /// An integer column: as read (`::bigint`) and as compared (uncast, so indexes serve).
    fn integer(&self, column: &str, what: &str) -> SourceResult<(String, String)> {
        let data_type = self.type_of(column)?;
        if !is_integer_type(data_type) {
            return Err(SourceError::Mapping(format!(
                "{what} column {column:?} is {data_type}: PostgreSQL mappings need an integer \
                 column (a cast of other values could fail a whole page)"
            )));
        }
        let q = quote_ident(column);
        Ok((format!("{q}::bigint"), q))
    }

    /// An integer schema version column, as read.
    fn schema_version(&self, column: &str) -> SourceResult<String> {
        Ok(format!(
            "{}::int",
            self.integer(column, "schema_version")?.0
        ))
    }

    /// A time column as `timestamptz` (naive times are read as UTC).
    fn time(&self, column: &str) -> SourceResult<String> {
        let data_type = self.type_of(column)?;
        if !data_type.starts_with("timestamp") {
            return Err(SourceError::Mapping(format!(
                "time column {column:?} is {data_type}: expected a timestamp column"
            )));
        }
        Ok(timestamptz(self.catalog, &self.schema, &self.name, column))
    }

    /// A JSON (or text) column as text for the payload decoder.
    fn json(&self, column: &str) -> SourceResult<String> {
        Ok(match self.type_of(column)? {
            "jsonb" | "json" | "bytea" => json_text(self.catalog, &self.schema, &self.name, column),
            _ => self.text(column)?,
        })
    }
}

/// Refuses an option the PostgreSQL source does not support, naming it.
fn unsupported(option: &str, given: bool, why: &str) -> SourceResult<()> {
    if given {
        return Err(SourceError::Mapping(format!(
            "{option} is not supported for PostgreSQL mappings: {why}"
        )));
    }
    Ok(())
}

/// Builds the layout a mapping file describes, checked against the catalog.
///
/// # Errors
/// [`SourceError::Mapping`] with the TOML error, the missing table or column, or the
/// option PostgreSQL mappings do not support.
pub fn layout(text: &str, catalog: &Catalog, default_schema: &str) -> SourceResult<Layout> {
    let file = parse_file(text)?;
    let e = &file.events;
    unsupported(
        "events.where",
        e.filter.is_some(),
        "create a view with the condition and map the view",
    )?;
    unsupported(
        "events.recorded_at_path / recorded_at_format",
        e.recorded_at_path.is_some() || e.recorded_at_format.is_some(),
        "map a timestamp column (recorded_at)",
    )?;
    unsupported(
        "events.schema_version_path",
        e.schema_version_path.is_some(),
        "map an integer column (schema_version)",
    )?;
    let t = Table::find(catalog, &e.table, default_schema)?;
    let Some(version) = &e.version else {
        return Err(SourceError::Mapping(
            "events.version is required for PostgreSQL mappings (versions are not numbered \
             by position here)"
                .to_owned(),
        ));
    };
    let (version, version_key) = t.integer(version, "version")?;
    let (position, position_key) = t.integer(&e.position, "position")?;
    let stream = t.text(&e.stream_id)?;
    let stream_key = match (e.stream_id_encoding.as_deref(), t.type_of(&e.stream_id)?) {
        (None | Some("text"), "uuid") => StreamKey::Uuid,
        (None | Some("text"), _) => StreamKey::Text,
        (Some(other), _) => {
            return Err(SourceError::Mapping(format!(
                "stream_id_encoding {other:?}: PostgreSQL mappings read the column as it is \
                 (text or uuid)"
            )));
        }
    };
    let format = match e.payload_encoding.as_deref() {
        None | Some("json") => PayloadFormat::Json,
        Some("eventsourcing") => PayloadFormat::EventsourcingJson,
        Some("bytes") => PayloadFormat::Bytes,
        Some(other) => {
            return Err(SourceError::Mapping(format!(
                "payload_encoding {other:?}: expected json, eventsourcing or bytes"
            )));
        }
    };
    let separator = e.category_separator.as_deref().unwrap_or("-");
    let metadata = e.metadata.as_deref().map(|m| t.json(m)).transpose()?;
    let schema_version = e
        .schema_version
        .as_deref()
        .map(|c| t.schema_version(c))
        .transpose()?;
    let events = EventsSql {
        from: t.sql(),
        position,
        position_key,
        stream_column: quote_ident(&e.stream_id),
        stream_key,
        // As the layouts do: a UUID stream id has no category.
        category: format!(
            "min(CASE WHEN {stream} ~ {UUID_PATTERN} THEN '' ELSE split_part({stream}, {}, 1) END)",
            literal(separator)
        ),
        stream,
        version,
        version_key,
        event_type: t.text(&e.event_type)?,
        stored_type: None,
        event_id: e.event_id.as_deref().map(|c| t.text(c)).transpose()?,
        payload: t.json(&e.payload)?,
        metadata,
        recorded_at: e.recorded_at.as_deref().map(|c| t.time(c)).transpose()?,
        schema_version,
        correlation: None,
        causation: None,
        format,
        eventsourcing: false,
        text_search: false,
        ids: IdPaths {
            correlation: e.correlation_path.clone(),
            causation: e.causation_path.clone(),
        },
        row_category: None,
    };
    let snapshots = file
        .snapshots
        .as_ref()
        .map(|s| -> SourceResult<SnapshotsSql> {
            unsupported(
                "snapshots.state_path",
                s.state_path.is_some(),
                "map the state column",
            )?;
            let st = Table::find(catalog, &s.table, default_schema)?;
            Ok(SnapshotsSql {
                from: st.sql(),
                stream: st.text(&s.stream_id)?,
                stream_column: quote_ident(&s.stream_id),
                stream_key: if st.type_of(&s.stream_id)? == "uuid" {
                    StreamKey::Uuid
                } else {
                    StreamKey::Text
                },
                version: st.integer(&s.version, "snapshot version")?.0,
                state: st.json(&s.state)?,
                schema_version: s
                    .schema_version
                    .as_deref()
                    .map(|c| st.schema_version(c))
                    .transpose()?,
                taken_at: s.taken_at.as_deref().map(|c| st.time(c)).transpose()?,
                eventsourcing: false,
            })
        })
        .transpose()?;
    unsupported(
        "checkpoint_history",
        file.checkpoint_history.is_some(),
        "lag history is kept by eventscope itself",
    )?;
    let checkpoints = file
        .checkpoints
        .iter()
        .map(|c| -> SourceResult<String> {
            let ct = Table::find(catalog, &c.table, default_schema)?;
            let updated = match &c.updated_at {
                Some(u) => ct.time(u)?,
                None => "NULL::timestamptz".to_owned(),
            };
            Ok(format!(
                "SELECT {}, {}, {updated}, NULL::text, NULL::text FROM {} ORDER BY 1",
                ct.text(&c.name)?,
                ct.integer(&c.position, "checkpoint position")?.0,
                ct.sql()
            ))
        })
        .collect::<SourceResult<Vec<_>>>()?;
    let correlation_index_expr = match (&e.metadata, &e.correlation_path) {
        (Some(m), Some(path)) if matches!(t.type_of(m)?, "jsonb" | "json") => {
            json_path_sql(&quote_ident(m), path)
        }
        _ => None,
    };
    Ok(Layout {
        name: "mapping",
        key: format!("{}.{}", t.schema, t.name),
        detail: format!("mapping file: events {}.{}", t.schema, t.name),
        events,
        snapshots,
        checkpoints,
        correlation_index_expr,
    })
}

/// `$.a.b` on a JSON column as the server's text extraction (`(col->'a'->>'b')`), for the
/// correlation lookup; `None` for paths with indexes or wildcards.
fn json_path_sql(column: &str, path: &str) -> Option<String> {
    let keys: Vec<&str> = path.strip_prefix("$.")?.split('.').collect();
    if keys
        .iter()
        .any(|k| k.is_empty() || k.contains(['[', ']', '*', '\'']))
    {
        return None;
    }
    let (last, init) = keys.split_last()?;
    let mut sql = format!("({column}");
    for key in init {
        sql.push_str(&format!("->{}", literal(key)));
    }
    sql.push_str(&format!("->>{})", literal(last)));
    Some(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths() {
        assert_eq!(
            json_path_sql("\"meta\"", "$.correlation_id").as_deref(),
            Some("(\"meta\"->>'correlation_id')")
        );
        assert_eq!(
            json_path_sql("\"m\"", "$.trace.id").as_deref(),
            Some("(\"m\"->'trace'->>'id')")
        );
        assert_eq!(json_path_sql("\"m\"", "$.a[0]"), None);
        assert_eq!(json_path_sql("\"m\"", "a"), None);
    }
}
