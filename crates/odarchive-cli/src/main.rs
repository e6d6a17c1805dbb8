//! The `odarchive` command: parses arguments, calls the library, prints, and decides the exit
//! code — in one place, [`exit_code`].

mod commands;
mod fuse;
mod hint;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `--version`: this odarchive's own version and the catalogue formats it reads.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (reads catalogue JSON v2 (odarchive 0.1), v3, v4)"
);

/// Archive a file system onto optical discs and bring it back decades later.
#[derive(Debug, Parser)]
#[command(name = "odarchive", version = VERSION, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
struct Global {
    /// The catalogue file.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "ODARCHIVE_CATALOGUE",
        default_value = "odarchive.db"
    )]
    catalogue: PathBuf,

    /// Machine-readable output: JSON on stdout (progress as one event per line, then a summary
    /// object).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan a drive into the catalogue: record every entry and hash every file. A rescan
    /// re-reads only what changed; an interrupted scan resumes.
    #[command(visible_aliases = ["init", "create_db"])]
    Scan(commands::scan::Args),
    /// Summarise the latest complete snapshot: counts, sizes, dedupe savings, errors.
    #[command(visible_alias = "get_info")]
    Info,
    /// Say what the current or last job is doing, how far it got, and whether it is alive.
    Status,
    /// Plan discs: assign every file of the latest snapshot to discs of a medium, with exact
    /// image sizes, and store the plan.
    #[command(visible_aliases = ["plan_iso", "segment"])]
    Plan(commands::plan::Args),
    /// List the planned discs: state, image file and its SHA-256.
    Discs,
    /// Print the number of planned discs.
    #[command(name = "num-discs", visible_alias = "num_isos")]
    NumDiscs,
    /// Write planned discs as ISO images (UDF + ISO 9660), re-hashing every file.
    #[command(visible_aliases = ["create_iso", "write_iso"])]
    Write(commands::write::Args),
    /// Scan a drive, plan discs and write their images: the whole job in one command.
    Archive(commands::archive::Args),
    /// Burn a written disc image with xorriso (no defect management), read it back and
    /// compare its sectors with the image's SHA-256.
    Burn(commands::burn::Args),
    /// Check images or mounted discs against the catalogue: every file re-hashed.
    Verify(commands::verify::Args),
    /// Rebuild a damaged disc's exact image from its parity (an image, with an optional
    /// ddrescue map, or a drive read with retries); name the files lost beyond the parity.
    Repair(commands::repair::Args),
    /// Say which disc (and part) holds each matching path.
    Locate(commands::locate::Args),
    /// Restore files, folders or everything from images or mounted discs.
    Restore(commands::restore::Args),
    /// List the snapshots: time, drive, files, bytes, bytes first seen in each.
    Snapshots,
    /// What changed between two snapshots: added, removed, modified, moved.
    Diff(commands::history::DiffArgs),
    /// Write the whole catalogue as JSON (the original odarchive's shape, extended).
    #[command(name = "export-json")]
    ExportJson(commands::json::ExportArgs),
    /// Read a catalogue JSON (exported, from a disc, or odarchive 0.1's) into a new catalogue.
    #[command(name = "import-json")]
    ImportJson(commands::json::ImportArgs),
    /// Bring another catalogue, and the discs it describes, into this one.
    Merge(commands::merge::Args),
    /// Mount the whole archive as one read-only file system (FUSE): `latest/` and
    /// `snapshots/<id>/`, each file read from the disc that holds it.
    Mount(commands::mount::Args),
    /// Serve a local web page and JSON API: job status (live), snapshots folder by folder,
    /// search, versions, the disc map, restores of a basket of paths.
    Serve(commands::serve::Args),
}

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Everything went well.
    Success,
    /// The job finished, but some files had problems (reported and recorded).
    CompletedWithErrors,
    /// A restore did what the discs given allow; more discs are needed.
    NeedsDiscs,
}

/// Exit codes: 0 success, 1 error, 2 usage error, 3 completed with errors (verify found
/// problems, some files not restored), 4 a source file changed since it was scanned or cannot
/// be read (that disc is not written), 5 more discs are needed, 130 interrupted.
fn exit_code(result: &anyhow::Result<Outcome>) -> u8 {
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::CompletedWithErrors) => 3,
        Ok(Outcome::NeedsDiscs) => 5,
        Err(e) => match e.downcast_ref() {
            Some(odarchive::Error::Interrupted) => 130,
            Some(
                odarchive::Error::BadMedia { .. }
                | odarchive::Error::FirstNotFound { .. }
                | odarchive::Error::BadTimezone(_),
            ) => 2,
            Some(
                odarchive::Error::SourceChanged { .. }
                | odarchive::Error::SourceUnreadable { .. }
                | odarchive::Error::DiscsNotWritten { .. },
            ) => 4,
            _ => 1,
        },
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap: 0 for --help/--version, 2 for usage errors.
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let result = match &cli.command {
        Command::Scan(args) => commands::scan::run(args, &cli.global),
        Command::Info => commands::info::run(&cli.global),
        Command::Status => commands::status::run(&cli.global),
        Command::Plan(args) => commands::plan::run(args, &cli.global),
        Command::Discs => commands::discs::run(&cli.global),
        Command::NumDiscs => commands::discs::run_count(&cli.global),
        Command::Write(args) => commands::write::run(args, &cli.global),
        Command::Archive(args) => commands::archive::run(args, &cli.global),
        Command::Burn(args) => commands::burn::run(args, &cli.global),
        Command::Verify(args) => commands::verify::run(args, &cli.global),
        Command::Repair(args) => commands::repair::run(args, &cli.global),
        Command::Locate(args) => commands::locate::run(args, &cli.global),
        Command::Restore(args) => commands::restore::run(args, &cli.global),
        Command::Snapshots => commands::history::run_snapshots(&cli.global),
        Command::Diff(args) => commands::history::run_diff(args, &cli.global),
        Command::ExportJson(args) => commands::json::run_export(args, &cli.global),
        Command::ImportJson(args) => commands::json::run_import(args, &cli.global),
        Command::Merge(args) => commands::merge::run(args, &cli.global),
        Command::Mount(args) => commands::mount::run(args, &cli.global),
        Command::Serve(args) => commands::serve::run(args, &cli.global),
    };
    if let Err(e) = &result {
        eprintln!("odarchive: {}", hint::error_text(e));
    }
    ExitCode::from(exit_code(&result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct() {
        assert_eq!(exit_code(&Ok(Outcome::Success)), 0);
        assert_eq!(exit_code(&Ok(Outcome::CompletedWithErrors)), 3);
        assert_eq!(exit_code(&Err(anyhow::anyhow!("x"))), 1);
        assert_eq!(exit_code(&Err(odarchive::Error::Interrupted.into())), 130);
        let bad = odarchive::Media::parse("floppy").unwrap_err();
        assert_eq!(exit_code(&Err(bad.into())), 2);
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
