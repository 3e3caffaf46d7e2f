//! The `eventscope` binary: parses arguments, sets up logging, then runs a headless
//! command or opens the desktop app.

use clap::{CommandFactory as _, FromArgMatches as _};
use eventscope::cli::{Cli, assets};

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(
            "info,wgpu=warn,wgpu_core=warn,wgpu_hal=warn,naga=warn,eframe=warn,rskafka=warn",
        )
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// `Cli::parse()`, plus the hidden `generate-assets` command (run here, before logging).
fn parse() -> Result<Cli, std::process::ExitCode> {
    let mut command = assets::with_generator(Cli::command());
    let matches = command.get_matches_mut();
    let stdout = std::io::stdout();
    if let Some(result) = assets::run_if_asked(&matches, &mut stdout.lock()) {
        return Err(report(result));
    }
    Ok(Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.format(&mut command).exit()))
}

fn main() -> std::process::ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_tracing();
    let result = match &cli.command {
        Some(command) => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let result = eventscope::cli::run(command, cli.mapping.as_ref(), &mut out);
            std::io::Write::flush(&mut out).ok();
            result
        }
        None => run_gui(&cli),
    };
    report(result)
}

fn report(result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // A closed pipe (e.g. `| head`) is not an error worth reporting.
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return std::process::ExitCode::SUCCESS;
            }
            if let Some(findings) = error.downcast_ref::<eventscope::cli::replay::Findings>() {
                eprintln!("eventscope: {findings}");
            } else {
                eprintln!("error: {error:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "gui")]
fn run_gui(cli: &Cli) -> anyhow::Result<()> {
    use eventscope::app::{EventscopeApp, Startup};
    let startup = match &cli.store {
        // From a file manager or a clicked link, a file may come as a `file://` URL.
        Some(store) => Startup::Store(eventscope::cli::desktop::store_location(store)),
        None => Startup::Demo,
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("eventscope")
        .with_app_id("eventscope")
        .with_inner_size([1400.0, 860.0])
        .with_min_inner_size([720.0, 420.0])
        .with_drag_and_drop(true);
    match eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon.png")) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(error) => tracing::warn!("window icon: {error}"),
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    let mapping = cli.mapping.clone();
    eframe::run_native(
        "eventscope",
        options,
        Box::new(move |cc| Ok(Box::new(EventscopeApp::new(cc, startup, mapping)))),
    )
    .map_err(|e| anyhow::anyhow!("could not start the desktop app: {e}"))
}

#[cfg(not(feature = "gui"))]
fn run_gui(_cli: &Cli) -> anyhow::Result<()> {
    anyhow::bail!(
        "this build has no desktop app (built without the `gui` feature); use a command, see --help"
    )
}
