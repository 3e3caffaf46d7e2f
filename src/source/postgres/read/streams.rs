//! The stream list: walking the index on the stream column when there is one, grouping
//! the events table otherwise, and the summary row both give.

use tokio_postgres::Row;

use super::{Params, PostgresSource, recorded, to_i64};
use crate::core::event::StreamInfo;
use crate::core::query::{MAX_PAGE, StreamQuery, StreamSort};
use crate::core::source::SourceResult;
use crate::source::postgres::client::Session;
use crate::source::postgres::layout::{EventsSql, Layout};

impl PostgresSource {
    /// The indexed stream column, when `query` lists every stream in id order (what the
    /// index walk answers).
    pub(super) fn walkable(&self, query: &StreamQuery) -> Option<&str> {
        let plain = query.sort == StreamSort::Id
            && query.filter.as_deref().is_none_or(str::is_empty)
            && query.category.is_none();
        self.stream_index.as_deref().filter(|_| plain)
    }

    /// Counts every stream: distinct ids, from the index on the stream column when there
    /// is one (without reading the events).
    pub(super) fn count_all_streams_sql(&self) -> String {
        let e = &self.layout.events;
        format!(
            "SELECT count(*) FROM (SELECT DISTINCT {} FROM {}) AS s",
            self.stream_index.as_deref().unwrap_or(&e.stream),
            e.from
        )
    }

    /// A page of streams in id order by walking the index on the stream column: one index
    /// probe per stream up to the page's end (a recursive "loose index scan", inside a
    /// `SELECT` like every statement eventscope sends), then each stream's summary from its
    /// own index range.
    pub(super) fn walk_streams(
        &self,
        column: &str,
        query: &StreamQuery,
    ) -> SourceResult<Vec<StreamInfo>> {
        let e = &self.layout.events;
        let table = e.from.split(' ').next().unwrap_or_default();
        let mut params = Params::default();
        let limit = params.push(to_i64(query.limit.min(MAX_PAGE)));
        let offset = params.push(to_i64(query.offset));
        let first = |what: &str, order: &str| {
            format!(
                "SELECT {what} FROM {} WHERE {column} = s.key ORDER BY {} {order} LIMIT 1",
                e.from, e.version_key
            )
        };
        // Times and last position from the first and last events (as the SQLite sources
        // do), the count from the index: no stream's rows are read beyond those two.
        let sql = format!(
            "SELECT f.stream, c.n, c.v, f.first_at, l.last_at, l.last_pos, \
               (SELECT {} FROM ({}) AS one) \
             FROM (WITH RECURSIVE walk(key) AS ( \
               (SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1) \
               UNION ALL \
               SELECT (SELECT {column} FROM {table} WHERE {column} > walk.key ORDER BY {column} LIMIT 1) \
               FROM walk WHERE walk.key IS NOT NULL) \
               SELECT key FROM walk WHERE key IS NOT NULL LIMIT {limit} OFFSET {offset}) AS s \
             CROSS JOIN LATERAL (SELECT count(*) AS n, max({})::bigint AS v FROM {} \
               WHERE {column} = s.key) AS c \
             CROSS JOIN LATERAL ({}) AS f \
             CROSS JOIN LATERAL ({}) AS l \
             ORDER BY s.key",
            e.category,
            first("*", "ASC"),
            e.version_key,
            e.from,
            first(
                &format!("{} AS stream, {} AS first_at", e.stream, recorded(e)),
                "ASC"
            ),
            first(
                &format!("{} AS last_at, {} AS last_pos", recorded(e), e.position),
                "DESC"
            ),
        );
        let rows = self.session.query(&sql, &params.refs())?;
        Ok(rows.iter().map(stream_info).collect())
    }

    pub(super) fn stream_group_sql(&self, query: &StreamQuery, params: &mut Params) -> String {
        let e = &self.layout.events;
        let mut sql = format!(
            "SELECT {} AS stream, {} FROM {}",
            e.stream,
            summary_columns(e),
            e.from
        );
        if let Some(filter) = query.filter.as_deref().filter(|f| !f.is_empty()) {
            sql.push_str(&format!(
                " WHERE strpos(lower({}), lower({})) > 0",
                e.stream,
                params.push(filter.to_owned())
            ));
        }
        sql.push_str(" GROUP BY 1");
        if let Some(category) = &query.category {
            sql.push_str(&format!(
                " HAVING {} = {}",
                e.category,
                params.push(category.clone())
            ));
        }
        sql
    }
}

/// The stream column, when a b-tree index of the events table leads with it: then the
/// stream list walks that index (the first page at once, whatever the store's size)
/// instead of grouping the whole table before it can show a row.
pub(super) fn find_stream_index(
    session: &Session,
    layout: &Layout,
) -> SourceResult<Option<String>> {
    let e = &layout.events;
    let Some(name) = e
        .stream_column
        .strip_prefix('"')
        .and_then(|c| c.strip_suffix('"'))
        .filter(|c| !c.contains('"'))
    else {
        return Ok(None);
    };
    let table = e.from.split(' ').next().unwrap_or_default();
    let rows = session.query(
        "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_am am ON am.oid = c.relam \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
         WHERE i.indrelid = $1::text::regclass AND a.attname = $2 AND am.amname = 'btree' \
         AND i.indpred IS NULL AND i.indcollation[0] = a.attcollation LIMIT 1",
        &[&table.to_owned(), &name.to_owned()],
    )?;
    Ok((!rows.is_empty()).then(|| e.stream_column.clone()))
}

/// A stream's summary as aggregates over its events, in [`stream_info`]'s order after the
/// stream id: count, last version, first and last time, last position, category.
pub(super) fn summary_columns(e: &EventsSql) -> String {
    format!(
        "count(*), max({}), min({}), max({}), max({}), {} AS category",
        e.version,
        recorded(e),
        recorded(e),
        e.position,
        e.category
    )
}

pub(super) fn stream_info(row: &Row) -> StreamInfo {
    let stream: Option<String> = row.get(0);
    let u = |i: usize| {
        row.try_get::<_, Option<i64>>(i)
            .ok()
            .flatten()
            .map_or(0, |v| u64::try_from(v).unwrap_or(0))
    };
    StreamInfo {
        stream_id: crate::core::ids::display_stream_id(&stream.unwrap_or_default()),
        category: row
            .try_get::<_, Option<String>>(6)
            .ok()
            .flatten()
            .unwrap_or_default(),
        event_count: u(1),
        last_version: u(2),
        first_recorded_at: row.try_get(3).ok().flatten(),
        last_recorded_at: row.try_get(4).ok().flatten(),
        last_position: u(5),
    }
}
