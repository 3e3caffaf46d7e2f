//! `eventscope demo`: writes the deterministic demo store (and keeps it live on request).

use std::sync::Arc;

use anyhow::{Context as _, Result};

use super::DemoArgs;

pub(super) fn run_demo(args: &DemoArgs, out: &mut dyn std::io::Write) -> Result<()> {
    let mut options = crate::demo::DemoOptions {
        events: args.events,
        seed: args.seed,
        ..Default::default()
    };
    if let Some(start) = args.start {
        options.start = start;
    }
    if !(args.live && args.out.exists()) {
        let started = std::time::Instant::now();
        let summary = crate::demo::write_demo(&args.out, &options, &mut |written| {
            eprintln!("demo: {written} events written");
        })
        .with_context(|| format!("writing the demo store {}", args.out.display()))?;
        writeln!(
            out,
            "wrote {} events in {} streams ({} snapshots, {} drifted) to {} in {:.1} s",
            summary.events,
            summary.streams,
            summary.snapshots,
            summary.drifted_snapshots,
            args.out.display(),
            started.elapsed().as_secs_f64()
        )?;
    }
    if args.live {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        writeln!(
            out,
            "live: appending to {} until stopped (Ctrl+C)",
            args.out.display()
        )?;
        out.flush().ok();
        let live = crate::demo::LiveOptions {
            seed: args.seed,
            ..Default::default()
        };
        crate::demo::run_live(&args.out, &live, &stop)?;
    }
    Ok(())
}
