//! The demo event store: a deterministic, realistic SQLite store in the
//! design layout (see `DESIGN.md`, "Demo store" and "Sources", layout 1).
//!
//! [`write_demo`] writes a new store for a seed: bank accounts (one of them
//! hot), customers whose `CustomerTierChanged` events come in three schema
//! versions, and interleaved order → payment → shipment flows whose events
//! share a correlation id and chain their causation ids across streams —
//! including a few flows with a missing parent and a few with a child
//! recorded before its parent. `OrderPlaced` is stored as schema v1 for the
//! first 40 % of the timeline and v2 afterwards. Account streams get a
//! snapshot every 100 versions (folded with [`demo_reduce`]); about one in 25
//! is deliberately drifted. Four projections lag in different ways, with a
//! checkpoint history row per projection every 1000 events.
//!
//! [`run_live`] keeps appending to such a store with wall-clock times and
//! advances the projections' checkpoints at varying rates.
//!
//! The same seed and event count always produce the same file.

mod domain;
mod live;
mod store;

use std::fs::OpenOptions;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, TimeDelta, Utc};
use fastrand::Rng;
use rusqlite::Connection;

pub use domain::demo_reduce;
pub use live::{LiveOptions, run_live};

use domain::{Fresh, GenConfig, Generator};
use store::{JsonBufs, PROJECTIONS};

/// Events written per transaction during the bulk load.
const BATCH: u64 = 50_000;
/// A checkpoint history row per projection is recorded every this many events.
const HISTORY_EVERY: u64 = 1_000;
/// `progress` is called every this many events.
const PROGRESS_EVERY: u64 = 100_000;

/// What [`write_demo`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Number of events (the store's head position).
    pub events: u64,
    /// Seed of the generator: the same seed and `events` give the same file.
    pub seed: u64,
    /// Time of the first event; later events follow 50 ms – 3 s apart.
    pub start: DateTime<Utc>,
}

impl Default for DemoOptions {
    /// 20 000 events, seed 42, starting 2024-01-01T00:00:00Z.
    fn default() -> Self {
        Self {
            events: 20_000,
            seed: 42,
            start: DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default(),
        }
    }
}

/// What [`write_demo`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// Events written.
    pub events: u64,
    /// Distinct streams (aggregates).
    pub streams: u64,
    /// Snapshots written.
    pub snapshots: u64,
    /// Snapshots that deliberately differ from a replay with [`demo_reduce`].
    pub drifted_snapshots: u64,
    /// Global position of the last event (equals `events`).
    pub head: u64,
    /// `created_at` of the last event (`start` if there are none).
    pub last_recorded_at: DateTime<Utc>,
}

/// Writes a new demo store at `path` (an error if the file exists).
///
/// `progress(events_written)` is called every 100 000 events and once at the
/// end. The store is left in WAL journal mode, ready for [`run_live`] and
/// concurrent readers. On error the partly written file is removed.
pub fn write_demo(
    path: &Path,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<DemoSummary> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create demo store {}", path.display()))?;
    let result = write_new(path, opts, progress);
    if result.is_err() {
        // Best effort: the file is ours and incomplete.
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Positions of the demo projections during the bulk load (a lag model
/// sampled every [`HISTORY_EVERY`] events).
struct BulkProjections {
    rng: Rng,
    positions: [u64; 4],
    changed_at: [String; 4],
    history_lag: f64,
    stall_left: u32,
    run_left: u32,
    email_rate: f64,
    last_head: u64,
}

impl BulkProjections {
    fn new(seed: u64, start: &str) -> Self {
        let mut rng = Rng::with_seed(seed ^ 0x005e_ed0f_c4ec_4901);
        let run_left = rng.u32(5..=40);
        Self {
            rng,
            positions: [0; 4],
            changed_at: std::array::from_fn(|_| start.to_owned()),
            history_lag: 0.10,
            stall_left: 0,
            run_left,
            email_rate: 0.55,
            last_head: 0,
        }
    }

    /// Advances the model to `head` at time `at` and records history rows.
    fn sample(&mut self, conn: &Connection, head: u64, at: &str) -> Result<()> {
        let rng = &mut self.rng;
        let step = head - self.last_head;
        self.last_head = head;
        let old = self.positions;
        let [balances, history, shipping, email] = &mut self.positions;
        // account-balances keeps up, a few events behind.
        *balances = head.saturating_sub(rng.u64(0..=5)).max(*balances);
        // order-history falls behind by 5–15 % of the head (a slow random walk).
        self.history_lag = (self.history_lag + rng.f64() * 0.02 - 0.01).clamp(0.05, 0.15);
        let target = head - (head as f64 * self.history_lag) as u64;
        *history = target.max(*history);
        // shipping-dashboard runs close to the head, then stalls for a while.
        if self.stall_left > 0 {
            self.stall_left -= 1;
        } else {
            *shipping = head.saturating_sub(rng.u64(0..=20)).max(*shipping);
            if self.run_left == 0 {
                self.stall_left = rng.u32(3..=15);
                self.run_left = rng.u32(5..=40);
            } else {
                self.run_left -= 1;
            }
        }
        // email-notifier: slow and steady, far behind.
        self.email_rate = (self.email_rate + rng.f64() * 0.04 - 0.02).clamp(0.45, 0.65);
        *email = (*email + (step as f64 * self.email_rate) as u64).min(head);
        for (i, name) in PROJECTIONS.iter().enumerate() {
            if self.positions[i] != old[i] {
                self.changed_at[i] = at.to_owned();
            }
            store::insert_history(conn, name, self.positions[i], at)?;
        }
        Ok(())
    }
}

fn write_new(
    path: &Path,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<DemoSummary> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "OFF")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -65_536)?; // 64 MiB
    conn.execute_batch(store::SCHEMA)?;

    let total = opts.events;
    let mut generator = Generator::new(opts.seed, GenConfig::bulk(total));
    let mut clock = Rng::with_seed(opts.seed.rotate_left(17) ^ 0x7135_c10c);
    let mut bufs = JsonBufs::default();
    let mut projections = BulkProjections::new(opts.seed, &store::ts(opts.start));
    let mut summary = DemoSummary {
        events: total,
        streams: 0,
        snapshots: 0,
        drifted_snapshots: 0,
        head: total,
        last_recorded_at: opts.start,
    };
    let mut now = opts.start;
    let mut at = String::new();
    let mut position = 0;
    while position < total {
        let tx = conn.transaction()?;
        let batch_end = (position + BATCH).min(total);
        while position < batch_end {
            position += 1;
            if position > 1 {
                now += TimeDelta::milliseconds(clock.i64(50..=3_000));
            }
            let timeline = (position - 1) as f64 / total as f64;
            let ev = generator.next_event(&mut Fresh, now, timeline)?;
            at = store::ts(now);
            let snapshot_at = ev.snapshot.as_ref().map(|snap| {
                summary.snapshots += 1;
                summary.drifted_snapshots += u64::from(snap.drifted);
                store::ts(now + TimeDelta::milliseconds(clock.i64(5..=400)))
            });
            store::insert_event(&tx, &mut bufs, position, &at, &ev, snapshot_at.as_deref())?;
            summary.streams += u64::from(ev.version == 1);
            if position % HISTORY_EVERY == 0 {
                projections.sample(&tx, position, &at)?;
            }
            if position % PROGRESS_EVERY == 0 {
                progress(position);
            }
        }
        tx.commit()?;
    }
    summary.last_recorded_at = now;

    let tx = conn.transaction()?;
    if total > 0 && !total.is_multiple_of(HISTORY_EVERY) {
        projections.sample(&tx, total, &at)?;
    }
    for (i, name) in PROJECTIONS.iter().enumerate() {
        store::upsert_checkpoint(
            &tx,
            name,
            projections.positions[i],
            &projections.changed_at[i],
        )?;
    }
    tx.commit()?;
    conn.execute_batch(store::STREAM_INDEX)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    anyhow::ensure!(
        mode.eq_ignore_ascii_case("wal"),
        "could not switch the demo store to WAL (got {mode})"
    );
    conn.close().map_err(|(_, e)| e)?;
    progress(total);
    tracing::debug!(?summary, path = %path.display(), "demo store written");
    Ok(summary)
}

#[cfg(test)]
mod tests;
