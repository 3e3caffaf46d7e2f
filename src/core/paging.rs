//! Reading more than one page: the stream list, a stream and the log, page after page
//! ([`MAX_PAGE`] at most per call) until a limit or the end, handing each page on as it
//! arrives. What the CLI uses so that `--limit` above the page size (or `--limit all`)
//! returns every event, and so that it can say when a limit cut the output short. Core
//! layer: blocking calls on an [`EventSource`], from a worker or the CLI.

use crate::core::event::{Event, StreamInfo};
use crate::core::query::{Direction, LogQuery, MAX_PAGE, StreamQuery};
use crate::core::source::{EventSource, SourceError};

/// How many rows to read: a count, or everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// At most this many.
    Count(u64),
    /// Until the end.
    All,
}

impl Limit {
    /// Parses `all` or a whole number.
    ///
    /// # Errors
    /// When the text is neither.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") {
            return Ok(Self::All);
        }
        text.parse::<u64>()
            .map(Self::Count)
            .map_err(|_| format!("`{text}` is not a number of rows or `all`"))
    }

    fn remaining(self, delivered: u64) -> Option<u64> {
        match self {
            Self::Count(count) => Some(count.saturating_sub(delivered)),
            Self::All => None,
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Count(count) => write!(f, "{count}"),
            Self::All => f.write_str("all"),
        }
    }
}

/// How a paged read ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Paged {
    /// Rows handed on.
    pub delivered: u64,
    /// Pages read.
    pub pages: u64,
    /// True when the limit stopped the read and more rows follow (the output is cut short).
    pub more: bool,
}

/// The size of the next page: what is left of the limit, at most [`MAX_PAGE`].
fn next_size(limit: Limit, delivered: u64) -> Option<u64> {
    match limit.remaining(delivered) {
        Some(0) => None,
        Some(left) => Some(left.min(MAX_PAGE)),
        None => Some(MAX_PAGE),
    }
}

/// Reads stream summaries page after page (from `query.offset`; `query.limit` is ignored)
/// and hands each page to `each`.
///
/// # Errors
/// The first error of the source or of `each`.
pub fn page_streams<E: From<SourceError>>(
    source: &dyn EventSource,
    query: &StreamQuery,
    limit: Limit,
    each: &mut dyn FnMut(Vec<StreamInfo>) -> Result<(), E>,
) -> Result<Paged, E> {
    let mut paged = Paged::default();
    let mut query = query.clone();
    while let Some(size) = next_size(limit, paged.delivered) {
        query.limit = size;
        let page = source.list_streams(&query)?;
        paged.pages += 1;
        let count = page.len() as u64;
        if count == 0 {
            return Ok(paged);
        }
        paged.delivered += count;
        query.offset += count;
        each(page)?;
        if count < size {
            return Ok(paged);
        }
    }
    query.limit = 1;
    paged.more = !source.list_streams(&query)?.is_empty();
    Ok(paged)
}

/// Reads a stream page after page from `from_version` in `direction` and hands each page
/// to `each`.
///
/// # Errors
/// The first error of the source or of `each`.
pub fn page_stream<E: From<SourceError>>(
    source: &dyn EventSource,
    stream_id: &str,
    from_version: Option<u64>,
    direction: Direction,
    limit: Limit,
    each: &mut dyn FnMut(Vec<Event>) -> Result<(), E>,
) -> Result<Paged, E> {
    let mut paged = Paged::default();
    let mut cursor = from_version;
    while let Some(size) = next_size(limit, paged.delivered) {
        let page = source.read_stream(stream_id, cursor, direction, size)?;
        paged.pages += 1;
        let Some(last) = page.last().map(|e| e.stream_version) else {
            return Ok(paged);
        };
        paged.delivered += page.len() as u64;
        each(page)?;
        cursor = match direction {
            Direction::Forwards => last.checked_add(1),
            Direction::Backwards => last.checked_sub(1),
        };
        if cursor.is_none() {
            return Ok(paged);
        }
    }
    paged.more = !source
        .read_stream(stream_id, cursor, direction, 1)?
        .is_empty();
    Ok(paged)
}

/// Reads the log page after page (the scope and start of `query`; its `limit` is ignored)
/// and hands each page to `each`, in the query's direction.
///
/// # Errors
/// The first error of the source or of `each`.
pub fn page_log<E: From<SourceError>>(
    source: &dyn EventSource,
    query: &LogQuery,
    limit: Limit,
    each: &mut dyn FnMut(Vec<Event>) -> Result<(), E>,
) -> Result<Paged, E> {
    let mut paged = Paged::default();
    let mut query = query.clone();
    while let Some(size) = next_size(limit, paged.delivered) {
        query.limit = size;
        let page = source.read_log(&query)?;
        paged.pages += 1;
        // Sources return pages in the query's direction; the cursor follows the extreme.
        let next = match query.direction {
            Direction::Forwards => page
                .iter()
                .map(|e| e.global_position)
                .max()
                .and_then(|p| p.checked_add(1)),
            Direction::Backwards => page
                .iter()
                .map(|e| e.global_position)
                .min()
                .and_then(|p| p.checked_sub(1)),
        };
        if page.is_empty() {
            return Ok(paged);
        }
        paged.delivered += page.len() as u64;
        each(page)?;
        let Some(next) = next else {
            return Ok(paged);
        };
        // A cursor that does not move on would read the same page for ever.
        let stuck = query
            .from_position
            .is_some_and(|from| match query.direction {
                Direction::Forwards => next <= from,
                Direction::Backwards => next >= from,
            });
        if stuck {
            return Ok(paged);
        }
        query.from_position = Some(next);
    }
    query.limit = 1;
    paged.more = !source.read_log(&query)?.is_empty();
    Ok(paged)
}

/// The stderr note for a read a limit cut short ("showing the first 100 events; more
/// follow: --limit N or --limit all"); `None` when nothing was left out.
#[must_use]
pub fn cut_short_note(paged: &Paged, what: &str) -> Option<String> {
    paged.more.then(|| {
        format!(
            "showing {} {what}; more follow (raise --limit, or --limit all for every one)",
            paged.delivered
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the bad-input corpus (`diy_wrong_types.db`): an event at position
    /// i64::MAX came back on every page of `log --limit all`, for ever. A source whose
    /// cursor does not move on ends the read.
    #[test]
    fn a_cursor_that_does_not_move_ends_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("max.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE events (global_position INTEGER, aggregate_id TEXT, version INTEGER, \
             event_type TEXT, payload);
             INSERT INTO events VALUES (1, 'a', 1, 'T', '{}');
             INSERT INTO events VALUES (9223372036854775807, 'a', 2, 'T', '{}');",
        )
        .unwrap();
        drop(conn);
        let source = crate::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
        for direction in [Direction::Forwards, Direction::Backwards] {
            let mut seen = Vec::new();
            let query = LogQuery {
                direction,
                ..LogQuery::default()
            };
            page_log::<SourceError>(source.as_ref(), &query, Limit::All, &mut |page| {
                seen.extend(page.iter().map(|e| e.global_position));
                assert!(seen.len() < 10, "{direction:?}: read for ever: {seen:?}");
                Ok(())
            })
            .unwrap();
            seen.sort_unstable();
            assert_eq!(seen, [1, 9_223_372_036_854_775_807], "{direction:?}");
        }
    }

    #[test]
    fn limits_parse_numbers_and_all() {
        assert_eq!(Limit::parse("25000"), Ok(Limit::Count(25_000)));
        assert_eq!(Limit::parse(" ALL "), Ok(Limit::All));
        assert_eq!(Limit::parse("0"), Ok(Limit::Count(0)));
        assert!(Limit::parse("-1").unwrap_err().contains("`-1`"));
        assert!(Limit::parse("lots").is_err());
        assert_eq!(Limit::All.to_string(), "all");
    }

    #[test]
    fn pages_are_at_most_max_page_and_stop_at_the_limit() {
        assert_eq!(next_size(Limit::Count(25_000), 0), Some(MAX_PAGE));
        assert_eq!(next_size(Limit::Count(25_000), 20_000), Some(5_000));
        assert_eq!(next_size(Limit::Count(25_000), 25_000), None);
        assert_eq!(next_size(Limit::All, 1 << 40), Some(MAX_PAGE));
        let cut = Paged {
            delivered: 100,
            pages: 1,
            more: true,
        };
        assert_eq!(
            cut_short_note(&cut, "events").as_deref(),
            Some("showing 100 events; more follow (raise --limit, or --limit all for every one)")
        );
        assert_eq!(cut_short_note(&Paged::default(), "events"), None);
    }
}
