//! Correlations: learning the metadata key a store writes, finding its expression index,
//! and filtering on the server when there is none.

use super::{Params, PostgresSource, to_i64};
use crate::core::source::{CorrelatedEvents, EventSource, SourceError, SourceResult};
use crate::source::postgres::client::Session;
use crate::source::postgres::layout::Layout;

/// Positions one statement of a correlation scan covers (about 2.5 s of server time per
/// chunk on the 10M-event benchmark store).
const SCAN_CHUNK: u64 = 4_000_000;

impl PostgresSource {
    /// A correlation's events without an index on it: the server filters the log, in
    /// ranges of [`SCAN_CHUNK`] positions (each statement well inside the statement
    /// timeout, the job cancellable between them), and sends only the matching events.
    pub(super) fn scan_correlation(
        &self,
        expr: &str,
        correlation_id: &str,
        after: u64,
    ) -> SourceResult<CorrelatedEvents> {
        let e = &self.layout.events;
        let sql = format!(
            "SELECT {} FROM {} WHERE {pos} > $2::bigint AND {pos} <= $3::bigint AND {expr} = $1 \
             ORDER BY {pos}",
            self.select(),
            e.from,
            pos = e.position_key
        );
        let head = self.head()?;
        let mut events = Vec::new();
        let mut after = after;
        while after < head {
            if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                return Err(SourceError::Cancelled);
            }
            let through = after.saturating_add(SCAN_CHUNK).min(head);
            let mut params = Params::default();
            params.push(correlation_id.to_owned());
            params.push(to_i64(after));
            params.push(to_i64(through));
            events.extend(self.events(&sql, &params)?);
            after = through;
        }
        Ok(CorrelatedEvents {
            origin: format!("a scan on the server of {} (no index on {expr})", e.from),
            events,
        })
    }
}

/// A layout that guessed `->>'correlationId'` for its metadata column (the DIY family)
/// learns which of the usual keys the store writes, from a sample of its newest rows, so
/// that the index it looks for (and the one it suggests) is on the key really used.
pub(super) fn correlation_key_in_use(session: &Session, layout: &mut Layout) -> SourceResult<()> {
    const GUESS: &str = "->>'correlationId')";
    let Some(expr) = &layout.correlation_index_expr else {
        return Ok(());
    };
    let Some(column) = expr
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(GUESS))
    else {
        return Ok(());
    };
    let e = &layout.events;
    let sql = format!(
        "SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS keys(k, n) \
         WHERE EXISTS (SELECT 1 FROM (SELECT {column}::jsonb AS m FROM {} \
         WHERE {column} IS NOT NULL ORDER BY {} DESC LIMIT 100) sample \
         WHERE jsonb_exists(sample.m, keys.k)) ORDER BY n LIMIT 1",
        e.from, e.position_key
    );
    let keys: Vec<String> = crate::core::metadata::CORRELATION_KEYS
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    let rows = session.query(&sql, &[&keys])?;
    if let Some(row) = rows.first() {
        let key: String = row.get(0);
        layout.correlation_index_expr = Some(format!("({column}->>'{key}')"));
    }
    Ok(())
}

pub(super) fn find_correlation_index(
    session: &Session,
    layout: &Layout,
) -> SourceResult<Option<String>> {
    let Some(expr) = &layout.correlation_index_expr else {
        return Ok(None);
    };
    let table = layout.events.from.split(' ').next().unwrap_or_default();
    let rows = session.query(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index \
         WHERE indrelid = $1::text::regclass",
        &[&table.to_owned()],
    )?;
    let squash = |s: &str| {
        s.to_lowercase()
            .replace("::text", "")
            .replace(['(', ')', ' ', '"'], "")
    };
    let wanted = squash(expr);
    Ok(rows.iter().find_map(|row| {
        let name: String = row.get(0);
        let def: String = row.get(1);
        squash(&def)
            .ends_with(&format!("btree{wanted}"))
            .then_some(name)
    }))
}
