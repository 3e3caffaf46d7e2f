//! Tests of the lag math (deterministic: fixed times, no clock).

use super::*;
use chrono::TimeZone as _;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + chrono::TimeDelta::seconds(seconds)
}

fn sample(seconds: i64, position: u64, head: u64) -> LagSample {
    // The oldest unprocessed event was recorded just now, as was the head: 0 seconds
    // behind, in either sense.
    LagSample::compute_with_head(
        at(seconds),
        position,
        head,
        Some(at(seconds)),
        Some(at(seconds)),
    )
}

/// One sample per second for `count` seconds: position and head from closures.
fn series(count: i64, position: impl Fn(i64) -> u64, head: impl Fn(i64) -> u64) -> Vec<LagSample> {
    (0..count)
        .map(|s| sample(s, position(s), head(s)))
        .collect()
}

// ---- behind_head ----

#[test]
fn behind_head_is_event_time_not_wall_clock() {
    // A store whose newest event is two years old: the live age is huge, the time
    // behind the head is what separates the first unprocessed event from the head.
    let now = at(2 * 365 * 86_400);
    let sample = LagSample::compute_with_head(now, 90, 100, Some(at(-12)), Some(at(0)));
    assert_eq!(sample.lag_events, 10);
    assert!((sample.behind_head_seconds - 12.0).abs() < 1e-9);
    assert!(sample.lag_seconds > 63_000_000.0);
    // Caught up: 0 whatever the times.
    assert_eq!(behind_head(100, 100, Some(at(-5)), Some(at(0))), 0.0);
    assert_eq!(behind_head(101, 100, None, None), 0.0);
    // Unknown times: unknown.
    assert!(behind_head(90, 100, None, Some(at(0))).is_nan());
    assert!(behind_head(90, 100, Some(at(0)), None).is_nan());
    assert!(
        LagSample::compute(now, 90, 100, Some(at(0)))
            .behind_head_seconds
            .is_nan()
    );
    // Clocks out of order never give negative seconds; milliseconds kept.
    assert_eq!(behind_head(90, 100, Some(at(5)), Some(at(0))), 0.0);
    let first = at(0) - chrono::TimeDelta::milliseconds(1_234);
    assert!((behind_head(1, 2, Some(first), Some(at(0))) - 1.234).abs() < 1e-12);
}

#[test]
fn summary_carries_behind_head_next_to_lag_seconds() {
    let samples = [LagSample::compute_with_head(
        at(100),
        90,
        100,
        Some(at(-12)),
        Some(at(0)),
    )];
    let summary = LagSummary::from_samples("p", &samples, &LagParams::default()).unwrap();
    assert!((summary.behind_head_seconds - 12.0).abs() < 1e-9);
    let json = serde_json::to_string(&summary).unwrap();
    assert!(
        json.contains(r#""lag_seconds":112.0,"behind_head_seconds":12.0,"status""#),
        "{json}"
    );
    let unknown = [LagSample::compute(at(0), 90, 100, None)];
    let json = serde_json::to_string(
        &LagSummary::from_samples("p", &unknown, &LagParams::default()).unwrap(),
    )
    .unwrap();
    assert!(
        json.contains(r#""lag_seconds":null,"behind_head_seconds":null"#),
        "{json}"
    );
}

// ---- lag_now ----

#[test]
fn lag_now_events_and_seconds() {
    let (events, seconds) = lag_now(90, 100, Some(at(-12)), at(0));
    assert_eq!(events, 10);
    assert!((seconds - 12.0).abs() < 1e-9);
}

#[test]
fn lag_now_millisecond_precision() {
    let recorded = at(0) - chrono::TimeDelta::milliseconds(1_234);
    let (_, seconds) = lag_now(1, 2, Some(recorded), at(0));
    assert!((seconds - 1.234).abs() < 1e-12);
}

#[test]
fn lag_now_caught_up_is_zero_seconds_even_with_old_event() {
    assert_eq!(lag_now(100, 100, Some(at(-3600)), at(0)), (0, 0.0));
}

#[test]
fn lag_now_checkpoint_ahead_of_head_saturates() {
    assert_eq!(lag_now(105, 100, Some(at(-5)), at(0)), (0, 0.0));
}

#[test]
fn lag_now_without_a_recorded_time_is_unknown_seconds() {
    // The store records no times (UmaDB): events behind are known, seconds are not.
    let (events, seconds) = lag_now(99, 100, None, at(0));
    assert_eq!(events, 1);
    assert!(seconds.is_nan());
    // Caught up is zero either way.
    assert_eq!(lag_now(100, 100, None, at(0)), (0, 0.0));
}

#[test]
fn lag_now_clock_skew_clamps_to_zero() {
    // The writer's clock is ahead of ours: the event looks recorded in the future.
    assert_eq!(lag_now(10, 20, Some(at(30)), at(0)), (10, 0.0));
}

#[test]
fn lag_now_empty_store() {
    assert_eq!(lag_now(0, 0, None, at(0)), (0, 0.0));
}

#[test]
fn sample_compute_uses_lag_now() {
    let s = LagSample::compute(at(0), 5, 8, Some(at(-2)));
    assert_eq!((s.lag_events, s.lag_seconds), (3, 2.0));
}

// ---- rates ----

#[test]
fn rates_need_two_samples_and_time() {
    assert_eq!(rate(&[]), None);
    assert_eq!(rate(&[sample(0, 1, 2)]), None);
    assert_eq!(rate(&[sample(0, 1, 2), sample(0, 5, 9)]), None);
    assert_eq!(head_rate(&[sample(0, 1, 2)]), None);
}

#[test]
fn rates_from_first_and_last() {
    let samples = series(11, |s| 1000 + 50 * s as u64, |s| 2000 + 20 * s as u64);
    assert!((rate(&samples).unwrap() - 50.0).abs() < 1e-9);
    assert!((head_rate(&samples).unwrap() - 20.0).abs() < 1e-9);
}

#[test]
fn rate_after_checkpoint_reset_is_zero() {
    let samples = [sample(0, 500, 600), sample(10, 0, 600)];
    assert_eq!(rate(&samples), Some(0.0));
}

// ---- trend ----

#[test]
fn steady_catch_up() {
    // Head +10/s, projection +60/s from 3000 behind.
    let samples = series(60, |s| 1000 + 60 * s as u64, |s| 4000 + 10 * s as u64);
    assert_eq!(trend(&samples), Trend::CatchingUp);
    let slope = lag_slope(&samples).unwrap();
    assert!((slope + 50.0).abs() < 1e-9, "{slope}");
}

#[test]
fn falling_behind() {
    // Head +100/s, projection +80/s.
    let samples = series(60, |s| 1000 + 80 * s as u64, |s| 1000 + 100 * s as u64);
    assert_eq!(trend(&samples), Trend::FallingBehind);
    let summary = LagSummary::from_samples("p", &samples, &LagParams::default()).unwrap();
    assert_eq!(summary.status, LagStatus::FallingBehind);
    assert_eq!(summary.eta, None);
}

#[test]
fn stable_constant_lag() {
    let samples = series(60, |s| 1000 + 100 * s as u64, |s| 1500 + 100 * s as u64);
    assert_eq!(trend(&samples), Trend::Stable);
    let summary = LagSummary::from_samples("p", &samples, &LagParams::default()).unwrap();
    assert_eq!(summary.status, LagStatus::Stable);
    assert_eq!(summary.eta, None);
}

#[test]
fn stable_within_relative_tolerance() {
    // Head 1000/s, projection 970/s: slope 30/s < 5 % of 1000/s.
    let samples = series(60, |s| 970 * s as u64, |s| 5000 + 1000 * s as u64);
    assert_eq!(trend(&samples), Trend::Stable);
    // 930/s: slope 70/s > 50/s.
    let samples = series(60, |s| 930 * s as u64, |s| 5000 + 1000 * s as u64);
    assert_eq!(trend(&samples), Trend::FallingBehind);
}

#[test]
fn idle_store_small_wiggle_is_stable() {
    // No appends; lag moves 1 event over a minute: below TREND_MIN_CHANGE.
    let samples = series(60, |s| if s < 30 { 10 } else { 11 }, |_| 20);
    assert_eq!(trend(&samples), Trend::Stable);
}

#[test]
fn batching_sawtooth_is_stable() {
    // Head +100/s; the projection catches up fully every 10 s (lag 0..900 sawtooth).
    let samples = series(60, |s| (100 * (s - s % 10)) as u64, |s| 100 * s as u64);
    assert_eq!(trend(&samples), Trend::Stable);
}

#[test]
fn trend_with_too_few_samples_is_stable() {
    assert_eq!(trend(&[]), Trend::Stable);
    assert_eq!(trend(&[sample(0, 0, 100)]), Trend::Stable);
    assert_eq!(
        trend(&[sample(0, 0, 100), sample(0, 50, 100)]),
        Trend::Stable
    );
}

#[test]
fn trend_with_irregular_spacing_uses_time() {
    // Lag drops 20/s, samples at uneven times.
    let times = [0_i64, 1, 5, 6, 20, 21, 40];
    let samples: Vec<_> = times
        .iter()
        .map(|&s| sample(s, 20 * s as u64, 1000))
        .collect();
    assert!((lag_slope(&samples).unwrap() + 20.0).abs() < 1e-9);
    assert_eq!(trend(&samples), Trend::CatchingUp);
}

// ---- stall ----

#[test]
fn stall_detected_after_threshold() {
    // Progress until t=10, then stuck at 500 while the head moves on.
    let samples = series(41, |s| 50 * s.min(10) as u64, |s| 600 + 10 * s as u64);
    assert_eq!(stalled_for(&samples), Duration::from_secs(30));
    assert!(stalled(&samples, Duration::from_secs(30)));
    assert!(!stalled(&samples, Duration::from_secs(31)));
    let summary = LagSummary::from_samples("p", &samples, &LagParams::default()).unwrap();
    assert_eq!(summary.status, LagStatus::Stalled);
    assert!(summary.stalled);
    assert_eq!(summary.eta, None);
}

#[test]
fn caught_up_and_not_moving_is_not_stalled() {
    let samples = series(120, |_| 100, |_| 100);
    assert!(!stalled(&samples, Duration::from_secs(30)));
    assert_eq!(stalled_for(&samples), Duration::ZERO);
    let summary = LagSummary::from_samples("p", &samples, &LagParams::default()).unwrap();
    assert_eq!(summary.status, LagStatus::CaughtUp);
}

#[test]
fn idle_then_new_work_is_not_stalled_yet() {
    // Caught up at 100 for 100 s, then one event arrives; the projection has had 5 s.
    let samples = series(106, |_| 100, |s| if s < 100 { 100 } else { 101 });
    assert_eq!(stalled_for(&samples), Duration::from_secs(5));
    assert!(!stalled(&samples, Duration::from_secs(30)));
}

#[test]
fn stall_run_starts_within_window() {
    // Stuck (and behind) for the whole 20 s window: at least 19 s known.
    let samples = series(20, |_| 10, |_| 50);
    assert_eq!(stalled_for(&samples), Duration::from_secs(19));
    assert!(!stalled(&samples, Duration::from_secs(30)));
    assert!(stalled(&samples, Duration::from_secs(19)));
}

#[test]
fn progress_in_last_sample_clears_stall() {
    let mut samples = series(60, |_| 10, |_| 50);
    samples.push(sample(60, 11, 50));
    assert_eq!(stalled_for(&samples), Duration::ZERO);
    assert!(!stalled(&samples, Duration::from_secs(1)));
}

#[test]
fn stall_on_empty_window() {
    assert!(!stalled(&[], Duration::ZERO));
    assert_eq!(stalled_for(&[]), Duration::ZERO);
}

// ---- ETA ----

#[test]
fn eta_math() {
    // Lag at the end: 3000 − 59·50 = 50 events; net rate 60 − 10 = 50/s → 1 s.
    let samples = series(60, |s| 1000 + 60 * s as u64, |s| 4000 + 10 * s as u64);
    let last = samples.last().unwrap();
    assert_eq!(last.lag_events, 50);
    let eta = eta(&samples).unwrap();
    assert!((eta.as_secs_f64() - 1.0).abs() < 1e-9, "{eta:?}");
}

#[test]
fn eta_long_catch_up() {
    // 100 000 behind, net 100/s → 1000 s minus the progress within the window.
    let samples = series(11, |s| 200 * s as u64, |s| 100_000 + 100 * s as u64);
    let last = samples.last().unwrap();
    assert_eq!(last.lag_events, 99_000);
    assert_eq!(eta(&samples), Some(Duration::from_secs(990)));
}

#[test]
fn eta_none_when_caught_up_stable_or_falling_behind() {
    let caught_up = series(60, |s| 10 * s as u64, |s| 10 * s as u64);
    assert_eq!(eta(&caught_up), None);
    let stable = series(60, |s| 10 * s as u64, |s| 100 + 10 * s as u64);
    assert_eq!(eta(&stable), None);
    let behind = series(60, |s| 10 * s as u64, |s| 20 * s as u64);
    assert_eq!(eta(&behind), None);
    assert_eq!(eta(&[]), None);
    assert_eq!(eta(&[sample(0, 0, 10)]), None);
}

// ---- summary ----

#[test]
fn summary_catching_up_uses_trend_window() {
    // 10 minutes falling behind, then the last minute catching up fast.
    let mut samples = series(600, |s| 5 * s as u64, |s| 10 * s as u64);
    let base_position = 5 * 599;
    samples.extend(
        (600..660).map(|s| sample(s, base_position + 50 * (s - 599) as u64, 10 * s as u64)),
    );
    let summary = LagSummary::from_samples("orders", &samples, &LagParams::default()).unwrap();
    assert_eq!(summary.trend, Trend::CatchingUp);
    assert_eq!(summary.status, LagStatus::CatchingUp);
    assert!(summary.eta.is_some());
    assert!((summary.rate.unwrap() - 50.0).abs() < 1e-9);
    assert!((summary.head_rate.unwrap() - 10.0).abs() < 1e-9);
}

#[test]
fn summary_single_sample() {
    let summary = LagSummary::from_samples(
        "p",
        &[LagSample::compute(at(0), 5, 9, Some(at(-3)))],
        &LagParams::default(),
    )
    .unwrap();
    assert_eq!(summary.status, LagStatus::Stable);
    assert_eq!(summary.rate, None);
    assert_eq!((summary.lag_events, summary.lag_seconds), (4, 3.0));
    assert!(LagSummary::from_samples("p", &[], &LagParams::default()).is_none());
}

#[test]
fn summary_json_shape() {
    let samples = series(60, |s| 1000 + 60 * s as u64, |s| 4000 + 10 * s as u64);
    let summary = LagSummary::from_samples("orders", &samples, &LagParams::default()).unwrap();
    let json = serde_json::to_value(&summary).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "category",
            "position",
            "head",
            "lag_events",
            "lag_seconds",
            "behind_head_seconds",
            "status",
            "rate",
            "head_rate",
            "trend",
            "stalled",
            "eta_seconds"
        ]
    );
    assert_eq!(json["name"], "orders");
    assert_eq!(json["status"], "catching up");
    assert_eq!(json["trend"], "catching up");
    assert_eq!(json["lag_events"], 50);
    assert!(json["eta_seconds"].is_f64());
    let single = LagSummary::from_samples("p", &[sample(0, 3, 3)], &LagParams::default());
    let json = serde_json::to_value(single.unwrap()).unwrap();
    assert_eq!(json["status"], "caught up");
    assert!(json["eta_seconds"].is_null() && json["rate"].is_null());
}

#[test]
fn status_strings() {
    let all = [
        (LagStatus::CaughtUp, "caught up"),
        (LagStatus::CatchingUp, "catching up"),
        (LagStatus::FallingBehind, "falling behind"),
        (LagStatus::Stable, "stable"),
        (LagStatus::Stalled, "stalled"),
    ];
    for (status, text) in all {
        assert_eq!(status.to_string(), text);
        assert_eq!(serde_json::to_value(status).unwrap(), text);
    }
    assert_eq!(
        LagStatus::decide(0, true, Trend::FallingBehind),
        LagStatus::CaughtUp
    );
    assert_eq!(
        LagStatus::decide(3, true, Trend::CatchingUp),
        LagStatus::Stalled
    );
}

#[test]
fn recent_window() {
    let samples = series(100, |s| s as u64, |_| 200);
    let window = recent(&samples, Duration::from_secs(10));
    assert_eq!(window.len(), 11);
    assert_eq!(window[0].at, at(89));
    assert_eq!(recent(&[], Duration::from_secs(10)).len(), 0);
    assert_eq!(recent(&samples, Duration::MAX).len(), 100);
}

#[test]
fn deterministic() {
    let samples = series(60, |s| 1000 + 60 * s as u64, |s| 4000 + 10 * s as u64);
    let a = LagSummary::from_samples("p", &samples, &LagParams::default());
    let b = LagSummary::from_samples("p", &samples, &LagParams::default());
    assert_eq!(a, b);
}

// ---- checkpoints of one category ----

#[test]
fn a_category_checkpoint_counts_only_its_category() {
    // Position 58 of a log whose head is 132; its category's head is 102 and 18 of the
    // category's events come after 58: 18 behind, not 44 (102 − 58) nor 74 (132 − 58).
    let sample = LagSample::compute_scoped(at(100), 58, 102, 18, Some(at(40)), Some(at(90)));
    assert_eq!(
        (sample.position, sample.head, sample.lag_events),
        (58, 102, 18)
    );
    assert!((sample.lag_seconds - 60.0).abs() < 1e-9);
    assert!((sample.behind_head_seconds - 50.0).abs() < 1e-9);
    // Caught up with its category although the log moved on: no lag at all.
    let caught_up = LagSample::compute_scoped(at(100), 102, 102, 0, None, Some(at(90)));
    assert_eq!(caught_up.lag_events, 0);
    assert!(caught_up.lag_seconds.abs() < 1e-9 && caught_up.behind_head_seconds.abs() < 1e-9);
    let summary = LagSummary::from_samples("c", &[caught_up], &LagParams::default()).unwrap();
    assert_eq!(summary.status, LagStatus::CaughtUp);
}
