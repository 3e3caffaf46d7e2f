//! `eventscope generate-assets DIR`: the man pages and the bash, zsh and fish completions,
//! generated from the clap definition by the very binary being packaged
//! (`scripts/package.sh`), so they always match it and packaging needs no second build.
//!
//! The command is not part of [`Cli`]: `main` parses with [`with_generator`], which adds
//! it hidden, so `--help`, the man pages and the completions (generated from [`Cli`] alone)
//! never mention it. Headless layer: names no GUI toolkit.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, CommandFactory as _, FromArgMatches as _};
use clap_complete::Shell;

use super::Cli;

/// The name of the hidden command.
pub const GENERATE_ASSETS: &str = "generate-assets";

/// The DESCRIPTION of `man eventscope`: what `--help` leaves to the README.
const MAN_DESCRIPTION: &str = "eventscope opens an event store read-only and answers the \
questions people ask of one: what happened to an aggregate, in what order, with what payloads; \
its state at a version; whether stored snapshots match a full replay; everything that happened \
for one correlation id; which projection is behind; which events mention a text; how the store \
fares against the event-sourcing checklist.

With no command it opens the desktop app on STORE, or with no STORE on a live demo store kept \
in eventscope's cache directory. Every command has its own page (eventscope-info(1), \
eventscope-audit(1), ...) and prints JSON Lines with --json.

STORE is a SQLite file (file.db, or file.db#App for one application of a multi-application \
file), a PostgreSQL URL (postgres://, postgresql://) or libpq keyword string, a KurrentDB URL \
(kurrentdb://, kurrent://, kdb://, esdb://, each also +discover), an UmaDB URL (umadb://) or \
a Kafka URL (kafka://).

eventscope never writes to a store. Its own files: ~/.cache/eventscope (the demo store, \
correlation indexes, store summaries), ~/.local/share/eventscope (lag history, the window's \
settings) and ~/.config/eventscope (project configs).";

/// `generate-assets` arguments.
#[derive(Debug, Args)]
pub struct GenerateAssetsArgs {
    /// Directory to write into (created if missing): `man/eventscope.1` and one page per
    /// command (`man/eventscope-info.1` …), `completions/eventscope.bash`,
    /// `completions/_eventscope` (zsh) and `completions/eventscope.fish`.
    pub dir: PathBuf,
}

/// `command` (the [`Cli`] definition) plus the hidden `generate-assets` command.
#[must_use]
pub fn with_generator(command: clap::Command) -> clap::Command {
    command.subcommand(GenerateAssetsArgs::augment_args(
        clap::Command::new(GENERATE_ASSETS)
            .hide(true)
            .about("Write the man pages and shell completions (for packaging)"),
    ))
}

/// Runs `generate-assets` when `matches` (from [`with_generator`]) asked for it; `None`
/// when they name another command or none.
pub fn run_if_asked(
    matches: &clap::ArgMatches,
    out: &mut dyn std::io::Write,
) -> Option<Result<()>> {
    let (GENERATE_ASSETS, sub_matches) = matches.subcommand()? else {
        return None;
    };
    Some(
        GenerateAssetsArgs::from_arg_matches(sub_matches)
            .map_err(anyhow::Error::from)
            .and_then(|args| run_generate_assets(&args, out)),
    )
}

/// Writes the man pages and completions under `args.dir` and lists what it wrote on `out`.
///
/// # Errors
/// When a directory or file cannot be written.
pub fn run_generate_assets(args: &GenerateAssetsArgs, out: &mut dyn std::io::Write) -> Result<()> {
    let man_dir = args.dir.join("man");
    let completions_dir = args.dir.join("completions");
    for dir in [&man_dir, &completions_dir] {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
    }
    // One page for `eventscope` and one per command (`eventscope-audit.1` …).
    clap_mangen::generate_to(Cli::command().long_about(MAN_DESCRIPTION), &man_dir)
        .with_context(|| format!("could not write the man pages into {}", man_dir.display()))?;
    let mut written = man_pages(&man_dir)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut command = Cli::command();
        let path = clap_complete::generate_to(shell, &mut command, "eventscope", &completions_dir)
            .with_context(|| {
                format!(
                    "could not write the {shell} completions into {}",
                    completions_dir.display()
                )
            })?;
        written.push(path);
    }
    for path in written {
        writeln!(out, "{}", path.display())?;
    }
    Ok(())
}

fn man_pages(man_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(man_dir)
        .with_context(|| format!("could not list {}", man_dir.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "1") {
            pages.push(path);
        }
    }
    pages.sort();
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pages_for_visible_commands_and_three_completions() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        run_generate_assets(
            &GenerateAssetsArgs {
                dir: dir.path().to_owned(),
            },
            &mut out,
        )
        .unwrap();
        let main_page = std::fs::read_to_string(dir.path().join("man/eventscope.1")).unwrap();
        assert!(main_page.contains(".TH eventscope 1"), "{main_page}");
        assert!(main_page.contains(env!("EVENTSCOPE_VERSION")));
        assert!(main_page.contains("check\\-snapshots"));
        assert!(main_page.contains("never writes to a store"), "{main_page}");
        assert!(!main_page.contains("generate\\-assets"), "generator listed");
        let audit = std::fs::read_to_string(dir.path().join("man/eventscope-audit.1")).unwrap();
        assert!(audit.contains("\\-\\-fail\\-on"), "{audit}");
        assert!(dir.path().join("man/eventscope-mapping-suggest.1").exists());
        assert!(!dir.path().join("man/eventscope-generate-assets.1").exists());
        let bash = std::fs::read_to_string(dir.path().join("completions/eventscope.bash")).unwrap();
        assert!(bash.contains("check-snapshots"));
        assert!(!bash.contains("generate-assets"), "generator completed");
        for file in ["completions/_eventscope", "completions/eventscope.fish"] {
            let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
            assert!(text.contains("verify-evidence"), "{file}");
        }
        let listed = String::from_utf8(out).unwrap();
        assert!(listed.contains("eventscope-audit.1"), "{listed}");
        assert_eq!(
            listed.lines().count(),
            std::fs::read_dir(dir.path().join("man")).unwrap().count() + 3
        );
    }

    #[test]
    fn the_generator_is_parsed_beside_every_other_command() {
        let command = with_generator(Cli::command());
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("assets");
        let matches = command
            .clone()
            .try_get_matches_from(["eventscope", GENERATE_ASSETS, target.to_str().unwrap()])
            .unwrap();
        let mut out = Vec::new();
        run_if_asked(&matches, &mut out).unwrap().unwrap();
        assert!(target.join("completions/eventscope.fish").exists());

        let matches = command
            .try_get_matches_from(["eventscope", "info", "x.db", "--json"])
            .unwrap();
        assert!(run_if_asked(&matches, &mut out).is_none());
        let cli = Cli::from_arg_matches(&matches).unwrap();
        assert!(matches!(cli.command, Some(super::super::Command::Info(_))));
    }
}
