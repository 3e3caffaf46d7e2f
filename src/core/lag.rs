//! Projection lag math: lag in events and seconds, processing rate, trend, stall and ETA.
//!
//! Pure and deterministic: nothing here reads a clock or touches a store. The caller samples
//! a projection (its checkpoint position, the store's head, and the `recorded_at` of the
//! first event after the checkpoint, read with `read_log(from_position = position + 1,
//! limit = 1)`) together with the current time, and keeps a window of recent
//! [`LagSample`]s, oldest first. Everything else is derived from that window.
//!
//! # Definitions
//!
//! - **Lag in events**: `head − position` (saturating: a checkpoint ahead of the head,
//!   e.g. read a moment before the head, is 0).
//! - **Lag in seconds**: the age of the oldest unprocessed event, `now − recorded_at` of
//!   the first event after the checkpoint, clamped to ≥ 0 (clock skew between the writer
//!   and this machine must not produce negative lag); 0 when caught up or when that event
//!   has no timestamp. Millisecond precision. This is the live definition: on a store
//!   nobody writes to any more it grows with the wall clock.
//! - **Behind the head in event time** ([`behind_head`]): `recorded_at` of the head event
//!   minus `recorded_at` of the first unprocessed event, clamped to ≥ 0; 0 when caught up;
//!   unknown (NaN) when either time is missing. It does not grow with the wall clock, so it
//!   is what to read on a store that is not live (a file whose newest event is two years
//!   old).
//! - **Rate** ([`rate`]): events per second the projection advanced over the window,
//!   `Δposition / Δt` between the first and last sample. **Head rate** ([`head_rate`]): the
//!   same for the head (events appended per second).
//! - **Trend** ([`trend`]): the least-squares slope of `lag_events` over the window (in
//!   events per second) compared to a tolerance of
//!   `max(TREND_RELATIVE_TOLERANCE × head rate, TREND_MIN_CHANGE / window span)`, i.e. the
//!   lag must change by more than 5 % of the append rate *and* the fitted line must move by
//!   more than 5 events over the window. Above `+tolerance` is
//!   [`Trend::FallingBehind`], below `−tolerance` [`Trend::CatchingUp`], otherwise
//!   [`Trend::Stable`] (also with fewer than two samples or a window of zero length).
//!   Least squares rather than end points keeps batch-processing sawtooth lag from flipping
//!   the trend; the window should span several processing cycles of the projection.
//! - **Stall** ([`stalled`]): the latest lag is > 0 and the position has not moved, while
//!   there was work to do (lag > 0 in every sample of that run), for at least
//!   `stall_after`. A caught-up projection that is not moving is not stalled, and an idle
//!   projection whose work arrived only a moment ago is not stalled yet. The run is
//!   measured from the first sample of it that is in the window, so the window must span at
//!   least `stall_after` to detect a stall.
//! - **ETA** ([`eta`]): when the trend is catching up and the projection is not stalled,
//!   `lag_events / (rate − head_rate)`; `None` otherwise (caught up, stable, falling
//!   behind, or no net progress).
//! - **Status** ([`LagStatus`]): `caught up` (lag 0) › `stalled` › the trend (`catching
//!   up`, `falling behind`, `stable`), first match wins.
//!
//! Windows must not span a gap in sampling (the app was closed): pass the samples since the
//! last gap (see `crate::history::segments`), or a stall could be measured across time
//! nobody watched.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Default window of recent samples the trend and rates are computed over.
pub const DEFAULT_TREND_WINDOW: Duration = Duration::from_secs(60);

/// Default time without progress (while behind) after which a projection is stalled.
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(30);

/// The lag slope must exceed this fraction of the head rate to count as a trend.
pub const TREND_RELATIVE_TOLERANCE: f64 = 0.05;

/// The fitted lag line must move by more than this many events over the window to count
/// as a trend (guards idle or low-volume stores, where the head rate is ~0).
pub const TREND_MIN_CHANGE: f64 = 5.0;

/// One observation of a projection's lag.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LagSample {
    /// When the sample was taken.
    #[serde(serialize_with = "serialize_time")]
    pub at: DateTime<Utc>,
    /// The projection's checkpoint (last processed global position).
    pub position: u64,
    /// The store's head (highest global position).
    pub head: u64,
    /// Events behind: `head − position`, saturating (for a checkpoint of one category,
    /// that category's events after the position: [`LagSample::compute_scoped`]).
    pub lag_events: u64,
    /// Seconds behind: age of the oldest unprocessed event (0 when caught up; NaN when the
    /// store records no times, so nobody can tell).
    pub lag_seconds: f64,
    /// Seconds behind the head in event time: the head event's `recorded_at` minus the
    /// first unprocessed event's (0 when caught up; NaN when either time is unknown).
    pub behind_head_seconds: f64,
}

impl LagSample {
    /// A sample with its lag computed by [`lag_now`]; the head's time unknown (so
    /// [`LagSample::behind_head_seconds`] is NaN unless caught up).
    #[must_use]
    pub fn compute(
        at: DateTime<Utc>,
        position: u64,
        head: u64,
        first_unprocessed_recorded_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self::compute_with_head(at, position, head, first_unprocessed_recorded_at, None)
    }

    /// A sample with both lags: [`lag_now`] and [`behind_head`] (`head_recorded_at` is the
    /// head event's time).
    #[must_use]
    pub fn compute_with_head(
        at: DateTime<Utc>,
        position: u64,
        head: u64,
        first_unprocessed_recorded_at: Option<DateTime<Utc>>,
        head_recorded_at: Option<DateTime<Utc>>,
    ) -> Self {
        let (lag_events, lag_seconds) = lag_now(position, head, first_unprocessed_recorded_at, at);
        Self {
            at,
            position,
            head,
            lag_events,
            lag_seconds,
            behind_head_seconds: behind_head(
                position,
                head,
                first_unprocessed_recorded_at,
                head_recorded_at,
            ),
        }
    }

    /// A sample of a checkpoint that follows one category: `head` is that category's head
    /// and `lag_events` the number of its events after `position` (given, not `head −
    /// position`: the category's events are spread through the log). Seconds as in
    /// [`LagSample::compute_with_head`], 0 when nothing of the category is waiting.
    #[must_use]
    pub fn compute_scoped(
        at: DateTime<Utc>,
        position: u64,
        head: u64,
        lag_events: u64,
        first_unprocessed_recorded_at: Option<DateTime<Utc>>,
        head_recorded_at: Option<DateTime<Utc>>,
    ) -> Self {
        // Seconds as for a checkpoint one event behind (0 when nothing is waiting).
        let one_behind = (0, u64::from(lag_events > 0));
        Self {
            at,
            position,
            head,
            lag_events,
            lag_seconds: lag_now(
                one_behind.0,
                one_behind.1,
                first_unprocessed_recorded_at,
                at,
            )
            .1,
            behind_head_seconds: behind_head(
                one_behind.0,
                one_behind.1,
                first_unprocessed_recorded_at,
                head_recorded_at,
            ),
        }
    }
}

/// Seconds behind the head in event time: `head_recorded_at − first_unprocessed_recorded_at`
/// (see the module docs), never negative (events recorded out of clock order), rounded to
/// milliseconds; 0 when caught up; NaN when either time is unknown.
#[must_use]
pub fn behind_head(
    position: u64,
    head: u64,
    first_unprocessed_recorded_at: Option<DateTime<Utc>>,
    head_recorded_at: Option<DateTime<Utc>>,
) -> f64 {
    if head <= position {
        return 0.0;
    }
    match (first_unprocessed_recorded_at, head_recorded_at) {
        (Some(first), Some(head_at)) => {
            #[allow(clippy::cast_precision_loss)] // Milliseconds fit f64 exactly for ~285k years.
            let millis = (head_at - first).num_milliseconds().max(0) as f64;
            millis / 1000.0
        }
        _ => f64::NAN,
    }
}

fn serialize_time<S: serde::Serializer>(
    time: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::core::time::format_rfc3339(*time))
}

/// Lag right now: `(events behind, seconds behind)`.
///
/// `first_unprocessed_recorded_at` is the `recorded_at` of the first event after the
/// checkpoint (`read_log` from `position + 1`, limit 1); `None` when there is no such event
/// or it has no timestamp. Seconds are 0 when caught up, never negative (clock skew), and
/// rounded to milliseconds.
#[must_use]
pub fn lag_now(
    position: u64,
    head: u64,
    first_unprocessed_recorded_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (u64, f64) {
    let events = head.saturating_sub(position);
    if events == 0 {
        return (0, 0.0);
    }
    // A store that records no times (UmaDB) cannot tell: NaN, shown as "—" and written as
    // `null` in JSON.
    let seconds = first_unprocessed_recorded_at.map_or(f64::NAN, |recorded_at| {
        #[allow(clippy::cast_precision_loss)] // Milliseconds fit f64 exactly for ~285k years.
        let millis = (now - recorded_at).num_milliseconds().max(0) as f64;
        millis / 1000.0
    });
    (events, seconds)
}

/// `Display` writes the type's `as_str` (the display text the CLI and the window share).
macro_rules! display_as_str {
    ($($name:ty),*) => {$(
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

display_as_str!(Trend, LagStatus);

/// Where a projection's lag is heading over a window of samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Trend {
    /// Lag is shrinking faster than the tolerance.
    #[serde(rename = "catching up")]
    CatchingUp,
    /// Lag is growing faster than the tolerance.
    #[serde(rename = "falling behind")]
    FallingBehind,
    /// Lag is roughly constant (or there is not enough data to tell).
    #[serde(rename = "stable")]
    Stable,
}

impl Trend {
    /// The display text: `catching up`, `falling behind` or `stable`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CatchingUp => "catching up",
            Self::FallingBehind => "falling behind",
            Self::Stable => "stable",
        }
    }
}

/// A projection's overall state, as shown in the lag table and printed by `eventscope lag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum LagStatus {
    /// No lag.
    #[serde(rename = "caught up")]
    CaughtUp,
    /// Behind, and the lag is shrinking.
    #[serde(rename = "catching up")]
    CatchingUp,
    /// Behind, and the lag is growing.
    #[serde(rename = "falling behind")]
    FallingBehind,
    /// Behind by a roughly constant amount.
    #[serde(rename = "stable")]
    Stable,
    /// Behind and not making progress.
    #[serde(rename = "stalled")]
    Stalled,
}

impl LagStatus {
    /// Decides the status: caught up (lag 0) first, then stalled, then the trend.
    #[must_use]
    pub const fn decide(lag_events: u64, stalled: bool, trend: Trend) -> Self {
        if lag_events == 0 {
            Self::CaughtUp
        } else if stalled {
            Self::Stalled
        } else {
            match trend {
                Trend::CatchingUp => Self::CatchingUp,
                Trend::FallingBehind => Self::FallingBehind,
                Trend::Stable => Self::Stable,
            }
        }
    }

    /// The display text: `caught up`, `catching up`, `falling behind`, `stable` or `stalled`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CaughtUp => "caught up",
            Self::CatchingUp => "catching up",
            Self::FallingBehind => "falling behind",
            Self::Stable => "stable",
            Self::Stalled => "stalled",
        }
    }
}

/// The samples of the last `span` before the newest sample (oldest first). `samples` must
/// be ordered by time.
#[must_use]
pub fn recent(samples: &[LagSample], span: Duration) -> &[LagSample] {
    let Some(last) = samples.last() else {
        return samples;
    };
    let Ok(span) = chrono::TimeDelta::from_std(span) else {
        return samples;
    };
    let Some(start) = last.at.checked_sub_signed(span) else {
        return samples;
    };
    let first = samples.partition_point(|sample| sample.at < start);
    &samples[first..]
}

/// Seconds between two times (may be negative).
fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    #[allow(clippy::cast_precision_loss)] // Microsecond deltas fit f64 for centuries.
    let micros = (to - from).num_microseconds().unwrap_or(i64::MAX) as f64;
    micros / 1e6
}

/// Span of the window in seconds, when it has two samples and a positive length.
fn span_seconds(samples: &[LagSample]) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    let span = seconds_between(first.at, last.at);
    (samples.len() >= 2 && span > 0.0).then_some(span)
}

/// Events per second a counter advanced between the first and last sample (0 when it went
/// backwards, e.g. a checkpoint reset).
fn counter_rate(samples: &[LagSample], value: impl Fn(&LagSample) -> u64) -> Option<f64> {
    let span = span_seconds(samples)?;
    let (first, last) = (samples.first()?, samples.last()?);
    #[allow(clippy::cast_precision_loss)] // Rates are approximate by nature.
    let delta = value(last).saturating_sub(value(first)) as f64;
    Some(delta / span)
}

/// Processing rate: events per second the projection's position advanced over the window
/// (first to last sample). `None` with fewer than two samples or a zero-length window.
#[must_use]
pub fn rate(samples: &[LagSample]) -> Option<f64> {
    counter_rate(samples, |sample| sample.position)
}

/// Head rate: events per second appended to the store over the window. `None` with fewer
/// than two samples or a zero-length window.
#[must_use]
pub fn head_rate(samples: &[LagSample]) -> Option<f64> {
    counter_rate(samples, |sample| sample.head)
}

/// Least-squares slope of `lag_events` over time, in events per second (positive = lag
/// growing). `None` with fewer than two samples or a zero-length window.
#[must_use]
pub fn lag_slope(samples: &[LagSample]) -> Option<f64> {
    span_seconds(samples)?;
    let origin = samples.first()?.at;
    #[allow(clippy::cast_precision_loss)]
    let count = samples.len() as f64;
    let times = || {
        samples
            .iter()
            .map(|sample| seconds_between(origin, sample.at))
    };
    #[allow(clippy::cast_precision_loss)]
    let lags = || samples.iter().map(|sample| sample.lag_events as f64);
    let mean_t = times().sum::<f64>() / count;
    let mean_lag = lags().sum::<f64>() / count;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (t, lag) in times().zip(lags()) {
        covariance += (t - mean_t) * (lag - mean_lag);
        variance += (t - mean_t) * (t - mean_t);
    }
    (variance > 0.0).then(|| covariance / variance)
}

/// The tolerance (events per second) the lag slope must exceed to count as a trend:
/// `max(TREND_RELATIVE_TOLERANCE × head rate, TREND_MIN_CHANGE / window span)`. `None`
/// with fewer than two samples or a zero-length window.
#[must_use]
pub fn trend_tolerance(samples: &[LagSample]) -> Option<f64> {
    let span = span_seconds(samples)?;
    let head = head_rate(samples)?;
    Some((TREND_RELATIVE_TOLERANCE * head).max(TREND_MIN_CHANGE / span))
}

/// The lag trend over the window (see the module docs for the tolerance).
#[must_use]
pub fn trend(samples: &[LagSample]) -> Trend {
    match (lag_slope(samples), trend_tolerance(samples)) {
        (Some(slope), Some(tolerance)) if slope > tolerance => Trend::FallingBehind,
        (Some(slope), Some(tolerance)) if slope < -tolerance => Trend::CatchingUp,
        _ => Trend::Stable,
    }
}

/// How long the projection has been behind without its position moving, measured back from
/// the newest sample over the run of samples with the same position and lag > 0.
/// `Duration::ZERO` when caught up or when the newest sample shows progress.
#[must_use]
pub fn stalled_for(samples: &[LagSample]) -> Duration {
    let Some(last) = samples.last() else {
        return Duration::ZERO;
    };
    if last.lag_events == 0 {
        return Duration::ZERO;
    }
    let run_start = samples
        .iter()
        .rev()
        .take_while(|sample| sample.position == last.position && sample.lag_events > 0)
        .last()
        .map_or(last.at, |sample| sample.at);
    (last.at - run_start).to_std().unwrap_or(Duration::ZERO)
}

/// Whether the projection is stalled: behind, with no position progress (while there was
/// work to do) for at least `stall_after`. A caught-up projection is never stalled.
#[must_use]
pub fn stalled(samples: &[LagSample], stall_after: Duration) -> bool {
    samples.last().is_some_and(|last| last.lag_events > 0) && stalled_for(samples) >= stall_after
}

/// Time to catch up, when catching up: `lag_events / (rate − head_rate)` over the window.
/// `None` when caught up, not catching up (trend), stalled for the default time, or when
/// there is no net progress.
#[must_use]
pub fn eta(samples: &[LagSample]) -> Option<Duration> {
    eta_with(samples, trend(samples), false)
}

fn eta_with(samples: &[LagSample], trend: Trend, stalled: bool) -> Option<Duration> {
    let last = samples.last()?;
    if last.lag_events == 0 || stalled || trend != Trend::CatchingUp {
        return None;
    }
    let net = rate(samples)? - head_rate(samples)?;
    if net <= 0.0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let seconds = last.lag_events as f64 / net;
    Duration::try_from_secs_f64(seconds).ok()
}

/// Parameters of [`LagSummary::from_samples`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LagParams {
    /// The window (back from the newest sample) rates, trend and ETA are computed over.
    pub trend_window: Duration,
    /// Time without progress, while behind, after which a projection is stalled.
    pub stall_after: Duration,
}

impl Default for LagParams {
    fn default() -> Self {
        Self {
            trend_window: DEFAULT_TREND_WINDOW,
            stall_after: DEFAULT_STALL_AFTER,
        }
    }
}

/// Everything the lag table and `eventscope lag --json` show about one projection.
///
/// Serialises as `{name, category, position, head, lag_events, lag_seconds,
/// behind_head_seconds, status, rate, head_rate, trend, stalled, eta_seconds}` (in that
/// order; `category` is `null` for a checkpoint of the whole log, and then `head` is the
/// store's head, else that category's; `lag_seconds` and `behind_head_seconds` are `null`
/// when unknown; `rate`, `head_rate` and `eta_seconds` may be `null`; a Kafka consumer
/// group adds `partitions: [{partition, committed, high_watermark, lag_events}]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LagSummary {
    /// Projection name.
    pub name: String,
    /// The category it follows, when it follows one (see `core::Checkpoint::category`).
    pub category: Option<String>,
    /// Checkpoint position of the newest sample.
    pub position: u64,
    /// Head of the newest sample.
    pub head: u64,
    /// Events behind.
    pub lag_events: u64,
    /// Seconds behind: the age of the oldest unprocessed event (NaN when unknown).
    pub lag_seconds: f64,
    /// Seconds behind the head in event time (NaN when unknown).
    pub behind_head_seconds: f64,
    /// Overall status.
    pub status: LagStatus,
    /// Processing rate in events per second over the trend window.
    pub rate: Option<f64>,
    /// Append rate in events per second over the trend window.
    pub head_rate: Option<f64>,
    /// Lag trend over the trend window.
    pub trend: Trend,
    /// Whether the projection is stalled.
    pub stalled: bool,
    /// Time to catch up, when catching up.
    #[serde(rename = "eta_seconds", serialize_with = "serialize_opt_duration")]
    pub eta: Option<Duration>,
    /// Per partition, for a Kafka consumer group (omitted when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<crate::core::event::PartitionLag>,
}

fn serialize_opt_duration<S: serde::Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_f64(duration.as_secs_f64()),
        None => serializer.serialize_none(),
    }
}

impl LagSummary {
    /// Summarises a projection from its samples (oldest first, no sampling gap inside):
    /// numbers from the newest sample, rates / trend / ETA over `params.trend_window`,
    /// stall over all given samples. `None` when there are no samples.
    ///
    /// With a single sample (e.g. a one-shot `eventscope lag`), rates are `None` and the
    /// trend is `stable`.
    #[must_use]
    pub fn from_samples(name: &str, samples: &[LagSample], params: &LagParams) -> Option<Self> {
        let last = samples.last()?;
        let window = recent(samples, params.trend_window);
        let trend = trend(window);
        let stalled = stalled(samples, params.stall_after);
        Some(Self {
            name: name.to_owned(),
            category: None,
            position: last.position,
            head: last.head,
            lag_events: last.lag_events,
            lag_seconds: last.lag_seconds,
            behind_head_seconds: last.behind_head_seconds,
            status: LagStatus::decide(last.lag_events, stalled, trend),
            rate: rate(window),
            head_rate: head_rate(window),
            trend,
            stalled,
            eta: eta_with(window, trend, stalled),
            partitions: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests;
