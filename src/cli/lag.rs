//! `eventscope lag`: the lag of every projection, once or watched, as a table or JSON Lines.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use chrono::Utc;

use super::{LagArgs, open, write_table};

/// A number of seconds for the lag table; `-` when unknown.
fn seconds_cell(seconds: f64) -> String {
    if seconds.is_nan() {
        "-".to_owned()
    } else {
        format!("{seconds:.1}")
    }
}

pub(super) fn run_lag(
    args: &LagArgs,
    mapping: Option<&PathBuf>,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    use crate::core::lag::{LagParams, LagSample, LagSummary};
    let source = open(&args.store, mapping)?;
    let attached = args
        .attach
        .iter()
        .map(|location| open(location, None).with_context(|| format!("attaching {location}")))
        .collect::<Result<Vec<_>>>()?;
    let interval = match args.watch {
        Some(seconds) if seconds.is_finite() && seconds > 0.0 => {
            Some(std::time::Duration::from_secs_f64(seconds))
        }
        Some(_) => bail!("--watch needs a positive number of seconds"),
        None => None,
    };
    let params = LagParams::default();
    let mut series: std::collections::BTreeMap<String, Vec<LagSample>> =
        std::collections::BTreeMap::new();
    let mut categories: std::collections::HashMap<String, String> =
        std::collections::HashMap::new();
    let mut partitions: std::collections::HashMap<String, Vec<crate::core::PartitionLag>> =
        std::collections::HashMap::new();
    loop {
        let samples =
            crate::source::lag::sample_lag_scoped(source.as_ref(), &attached, Utc::now())?;
        for sampled in samples {
            if let Some(category) = sampled.category {
                categories.insert(sampled.name.clone(), category);
            }
            partitions.insert(sampled.name.clone(), sampled.partitions);
            let kept = series.entry(sampled.name).or_default();
            kept.push(sampled.sample);
            // Bounded: only the trend window's worth matters.
            if kept.len() > 3_600 {
                kept.remove(0);
            }
        }
        let summaries: Vec<LagSummary> = series
            .iter()
            .filter_map(|(name, samples)| {
                let mut summary = LagSummary::from_samples(name, samples, &params)?;
                summary.category = categories.get(name).cloned();
                summary.partitions = partitions.get(name).cloned().unwrap_or_default();
                Some(summary)
            })
            .collect();
        if args.json {
            for summary in &summaries {
                writeln!(out, "{}", serde_json::to_string(summary)?)?;
            }
        } else {
            let rows: Vec<Vec<String>> = summaries
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        s.position.to_string(),
                        s.head.to_string(),
                        s.lag_events.to_string(),
                        seconds_cell(s.lag_seconds),
                        seconds_cell(s.behind_head_seconds),
                        s.rate.map(|r| format!("{r:.1}")).unwrap_or_default(),
                        s.status.to_string(),
                    ]
                })
                .collect();
            write_table(
                out,
                &[
                    "projection",
                    "position",
                    "head",
                    "behind",
                    "age (s)",
                    "behind head (s)",
                    "events/s",
                    "status",
                ],
                &rows,
            )?;
        }
        if summaries.is_empty() && !args.json {
            writeln!(out, "this store records no projection checkpoints")?;
        }
        out.flush()?;
        match interval {
            Some(interval) => std::thread::sleep(interval),
            None => return Ok(()),
        }
    }
}
