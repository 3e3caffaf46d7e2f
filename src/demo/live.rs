//! Live mode: keeps appending events to an existing demo store with
//! wall-clock times and advances the projections' checkpoints at varying
//! rates, so the explorer has something to follow.
//!
//! Each tick is one short `BEGIN IMMEDIATE` transaction (events, snapshots,
//! checkpoints and a history row per projection); nothing is held open while
//! sleeping, and a busy timeout lets readers come and go.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{TimeDelta, Utc};
use fastrand::Rng;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::Value;

use super::domain::{
    GenConfig, Generator, Lookup, account_stream, customer_stream, demo_reduce, order_stream,
};
use super::store::{self, JsonBufs, PROJECTIONS};

/// Longest single sleep between checks of the stop flag.
const STOP_POLL: Duration = Duration::from_millis(25);

/// How [`run_live`] appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    /// Seed of the generator (live output also depends on the clock).
    pub seed: u64,
    /// Pause between ticks (default 250 ms).
    pub tick: Duration,
    /// Stop after this many ticks; `None` runs until the stop flag is set.
    pub max_ticks: Option<u64>,
}

impl Default for LiveOptions {
    /// Seed 42, a tick every 250 ms, until stopped.
    fn default() -> Self {
        Self {
            seed: 42,
            tick: Duration::from_millis(250),
            max_ticks: None,
        }
    }
}

/// Reads streams the generator has not seen yet from the store.
struct DbLookup<'a> {
    conn: &'a Connection,
}

impl Lookup for DbLookup<'_> {
    fn stream_state(&mut self, stream: &str) -> Result<(u32, Value)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT version, event_type, payload FROM events WHERE aggregate_id = ?1 ORDER BY version",
        )?;
        let mut rows = stmt.query([stream])?;
        let (mut version, mut state) = (0, Value::Null);
        while let Some(row) = rows.next()? {
            version = row.get(0)?;
            let event_type: String = row.get(1)?;
            let payload: String = row.get(2)?;
            let payload: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
            state = demo_reduce(state, &event_type, &payload);
        }
        Ok((version, state))
    }
}

/// The highest `n` for which stream `name(n)` exists, assuming streams are
/// numbered `1..=n` without holes (a few index probes, no scan).
fn last_numbered(conn: &Connection, name: impl Fn(u64) -> String) -> Result<u64> {
    let mut stmt = conn.prepare("SELECT EXISTS(SELECT 1 FROM events WHERE aggregate_id = ?1)")?;
    let mut exists = |n: u64| -> Result<bool> { Ok(stmt.query_row([name(n)], |r| r.get(0))?) };
    if !exists(1)? {
        return Ok(0);
    }
    let (mut lo, mut hi) = (1, 2);
    while exists(hi)? {
        lo = hi;
        hi *= 2;
    }
    // exists(lo) && !exists(hi)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if exists(mid)? { lo = mid } else { hi = mid }
    }
    Ok(lo)
}

/// Live projection model: how each checkpoint moves per tick.
struct LiveProjections {
    rng: Rng,
    positions: [u64; 4],
    stalled_until: Option<Instant>,
    next_stall: Instant,
}

impl LiveProjections {
    fn advance(&mut self, head: u64, appended: u64, now: Instant) {
        let rng = &mut self.rng;
        let [balances, history, shipping, email] = &mut self.positions;
        // account-balances: head − (0..3).
        *balances = head.saturating_sub(rng.u64(0..=3)).max(*balances);
        // order-history: slower than the append rate; now and then a catch-up chunk.
        *history += (appended as f64 * (0.3 + rng.f64() * 0.5)) as u64;
        if rng.f64() < 0.005 {
            let gap = head.saturating_sub(*history);
            *history += (gap as f64 * (0.2 + rng.f64() * 0.3)) as u64;
        }
        *history = (*history).min(head);
        // shipping-dashboard: follows the head, stalling for 10–40 s now and then.
        match self.stalled_until {
            Some(until) if now < until => {}
            Some(_) => {
                self.stalled_until = None;
                self.next_stall = now + Duration::from_secs(rng.u64(5..=30));
                *shipping = head.saturating_sub(rng.u64(0..=2)).max(*shipping);
            }
            None => {
                *shipping = head.saturating_sub(rng.u64(0..=2)).max(*shipping);
                if now >= self.next_stall {
                    self.stalled_until = Some(now + Duration::from_secs(rng.u64(10..=40)));
                }
            }
        }
        // email-notifier: slow and steady.
        *email = (*email + rng.u64(2..=6)).min(head);
    }
}

/// Appends events to an existing demo store with the current wall-clock
/// time, and advances checkpoints, until `stop` is set (or `max_ticks` is
/// reached). Returns the number of events appended.
///
/// Each tick appends 1–30 events (new order flows, customers and account
/// activity, plus account snapshots every 100 versions) and moves the
/// projections: `account-balances` stays 0–3 events behind the head,
/// `order-history` falls behind and occasionally catches up a chunk,
/// `shipping-dashboard` stalls for 10–40 s now and then and jumps, and
/// `email-notifier` advances slowly. Every tick records a history row per
/// projection; a checkpoint's `updated_at` changes only when it moves.
///
/// Flows that were still open in the bulk-written store are not continued;
/// new flows continue the numbering. Only one live writer may run per store.
pub fn run_live(path: &Path, opts: &LiveOptions, stop: &AtomicBool) -> Result<u64> {
    anyhow::ensure!(
        path.exists(),
        "demo store {} does not exist",
        path.display()
    );
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("cannot open demo store {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let _: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;

    let head: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))?;
    let mut last_at = match conn
        .query_row("SELECT created_at FROM events WHERE id = ?1", [head], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
    {
        Some(text) => store::parse_ts(&text)?,
        None => Utc::now(),
    };
    let head = u64::try_from(head)?;
    let accounts = last_numbered(&conn, |n| {
        account_stream(u32::try_from(n).unwrap_or(u32::MAX))
    })?;
    let accounts = u32::try_from(accounts)?;
    let customers = last_numbered(&conn, |n| {
        customer_stream(u32::try_from(n).unwrap_or(u32::MAX))
    })?;
    let cfg = GenConfig {
        account_pool: if accounts == 0 { 20 } else { accounts },
        accounts_opened: accounts,
        flows_started: last_numbered(&conn, order_stream)?,
        customers: u32::try_from(customers)?,
        drift: false,
    };
    let mut checkpoints: HashMap<String, u64> = HashMap::new();
    {
        let mut stmt = conn.prepare("SELECT name, position FROM projection_checkpoints")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (name, position) = row?;
            checkpoints.insert(name, u64::try_from(position).unwrap_or(0));
        }
    }
    let seed = opts.seed ^ head.rotate_left(29);
    let mut generator = Generator::new(seed, cfg);
    let mut rng = Rng::with_seed(seed.wrapping_add(0x11fe));
    let start = Instant::now();
    let mut projections = LiveProjections {
        rng: Rng::with_seed(seed.wrapping_add(0x9e37)),
        positions: PROJECTIONS.map(|name| checkpoints.get(name).copied().unwrap_or(0).min(head)),
        stalled_until: None,
        next_stall: start + Duration::from_secs(rng.u64(5..=30)),
    };
    let mut bufs = JsonBufs::default();
    let mut head = head;
    let mut appended = 0;
    let mut ticks = 0;
    tracing::debug!(head, path = %path.display(), "live demo started");
    loop {
        if stop.load(Ordering::Relaxed) || opts.max_ticks.is_some_and(|max| ticks >= max) {
            break;
        }
        let n = rng.u64(1..=30);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Spread the tick's events over the time since the previous tick.
        let tick_end = Utc::now().max(last_at);
        let window = (tick_end - last_at).min(TimeDelta::from_std(opts.tick)?);
        for i in 0..n {
            let now = tick_end - window + window * i32::try_from(i + 1)? / i32::try_from(n)?;
            let ev = generator.next_event(&mut DbLookup { conn: &tx }, now, 1.0)?;
            head += 1;
            last_at = now;
            store::insert_event(&tx, &mut bufs, head, &store::ts(now), &ev, None)?;
        }
        let old = projections.positions;
        projections.advance(head, n, Instant::now());
        let at = store::ts(last_at.max(Utc::now()));
        for (i, name) in PROJECTIONS.iter().enumerate() {
            let position = projections.positions[i];
            if position != old[i] || !checkpoints.contains_key(*name) {
                store::upsert_checkpoint(&tx, name, position, &at)?;
                checkpoints.insert((*name).to_owned(), position);
            }
            store::insert_history(&tx, name, position, &at)?;
        }
        tx.commit()?;
        appended += n;
        ticks += 1;
        if opts.max_ticks.is_some_and(|max| ticks >= max) {
            break;
        }
        let deadline = Instant::now() + opts.tick;
        while !stop.load(Ordering::Relaxed) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(STOP_POLL));
        }
    }
    tracing::debug!(appended, head, "live demo stopped");
    Ok(appended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::tests::u;
    use crate::demo::{DemoOptions, write_demo};

    fn demo(dir: &tempfile::TempDir, events: u64) -> std::path::PathBuf {
        let path = dir.path().join("demo.db");
        let opts = DemoOptions {
            events,
            ..DemoOptions::default()
        };
        write_demo(&path, &opts, &mut |_| {}).expect("write demo");
        path
    }

    fn checkpoints(conn: &Connection) -> HashMap<String, (u64, String)> {
        let mut stmt = conn
            .prepare("SELECT name, position, updated_at FROM projection_checkpoints")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, (u(r, 1)?, r.get(2)?))))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    #[test]
    fn live_appends_and_advances_checkpoints() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = demo(&dir, 3_000);
        let conn = Connection::open(&path).expect("open");
        let before = checkpoints(&conn);
        let history_before: u64 = conn
            .query_row(
                "SELECT COUNT(*) FROM projection_checkpoint_history",
                [],
                |r| u(r, 0),
            )
            .expect("count");

        let opts = LiveOptions {
            seed: 7,
            tick: Duration::from_millis(1),
            max_ticks: Some(8),
        };
        let stop = AtomicBool::new(false);
        let appended = run_live(&path, &opts, &stop).expect("run live");
        assert!(appended >= 8, "appended {appended}");

        let (count, max): (u64, u64) = conn
            .query_row("SELECT COUNT(*), MAX(id) FROM events", [], |r| {
                Ok((u(r, 0)?, u(r, 1)?))
            })
            .expect("count");
        assert_eq!(count, 3_000 + appended);
        assert_eq!(max, count, "positions stay gapless");
        // Live events are recorded in position order with non-decreasing times.
        let times: Vec<String> = conn
            .prepare("SELECT created_at FROM events WHERE id > 3000 ORDER BY id")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(
            times[0].as_str() > "2025-01-01",
            "live events use wall-clock time"
        );
        crate::demo::tests::assert_versions_contiguous(&conn);

        let after = checkpoints(&conn);
        let balances = &after["account-balances"];
        assert!(balances.0 > before["account-balances"].0);
        assert!(balances.0 + 3 >= count);
        assert!(balances.1.as_str() > "2025-01-01");
        for name in PROJECTIONS {
            assert!(after[name].0 >= before[name].0, "{name} never goes back");
            assert!(after[name].0 <= count);
        }
        let history_after: u64 = conn
            .query_row(
                "SELECT COUNT(*) FROM projection_checkpoint_history",
                [],
                |r| u(r, 0),
            )
            .expect("count");
        assert_eq!(history_after, history_before + 8 * 4);

        // A second run continues the numbering.
        let again = run_live(&path, &opts, &stop).expect("run live again");
        let max: u64 = conn
            .query_row("SELECT MAX(id) FROM events", [], |r| u(r, 0))
            .expect("max");
        assert_eq!(max, count + again);
        crate::demo::tests::assert_versions_contiguous(&conn);
        crate::demo::tests::assert_flows_correlated(&conn);
    }

    #[test]
    fn live_stops_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = demo(&dir, 500);
        let stop = AtomicBool::new(true);
        let appended = run_live(&path, &LiveOptions::default(), &stop).expect("run live");
        assert_eq!(appended, 0);
        assert!(
            run_live(
                &dir.path().join("missing.db"),
                &LiveOptions::default(),
                &stop
            )
            .is_err()
        );
    }
}
