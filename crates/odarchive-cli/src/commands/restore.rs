//! `odarchive restore --from IMAGE_OR_DIR... --to DEST [PATH|GLOB...]`.

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::Result;
use odarchive::restore::{RestoreOptions, restore};

use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Disc images (.iso) or mounted discs (directories) to read, in any order.
    #[arg(long, required = true, num_args = 1.., value_name = "IMAGE_OR_DIR")]
    from: Vec<PathBuf>,
    /// Folder to restore into (created if missing).
    #[arg(long, value_name = "DEST")]
    to: PathBuf,
    /// Paths (a folder selects everything in it) or globs to restore; default everything.
    #[arg(value_name = "PATH|GLOB")]
    patterns: Vec<String>,
    /// The snapshot to restore: its id, `latest` (the default), or a UTC date and time
    /// (`2024-06-01`, `2024-06-01T18:30`): the last snapshot completed by then.
    #[arg(long, value_name = "ID|latest|DATE")]
    snapshot: Option<String>,
    /// Replace existing files whose content differs.
    #[arg(long)]
    overwrite: bool,
    /// Restore other names of the same content as hard links instead of copies.
    #[arg(long)]
    hardlink: bool,
    /// Read images through their ISO 9660 view only.
    #[arg(long)]
    iso9660: bool,
    /// Time zone of odarchive 0.1's modification times, when the catalogue is read from 0.1
    /// discs (no local catalogue): an IANA name such as Europe/London or an offset such as
    /// +01:00. Default: this machine's.
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
    /// Do not restore owners and groups (run as root, a restore gives every entry its
    /// recorded owner and group; run as a user, it always leaves them alone).
    #[arg(long)]
    no_owner: bool,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let mut text = String::new();
    // Writable: restoring from discs of odarchive 0.1 records the names they hold files under.
    let (catalogue, from_disc) =
        super::catalogue_or_discs(global, &args.from, true, args.timezone.as_deref())?;
    let snapshot_id = super::snapshot_arg(&catalogue, args.snapshot.as_deref())?;
    let options = RestoreOptions {
        from: args.from.clone(),
        to: args.to.clone(),
        patterns: args.patterns.clone(),
        snapshot: snapshot_id,
        overwrite: args.overwrite,
        hardlink: args.hardlink,
        iso9660_only: args.iso9660,
        no_owner: args.no_owner,
    };
    let report = restore(&catalogue, &options);
    drop(catalogue);
    if let Some(temp) = from_disc {
        temp.remove();
    }
    let report = report?;
    if global.json {
        let _ = writeln!(text, "{}", serde_json::to_string(&report)?);
    } else {
        let needed: Vec<String> = report.discs_needed.iter().map(u32::to_string).collect();
        let _ = writeln!(
            text,
            "needs discs: {}",
            if needed.is_empty() {
                "none".into()
            } else {
                needed.join(", ")
            }
        );
        let _ = writeln!(
            text,
            "restored {} files ({} bytes), {} already in place, {} other names, {} directories, {} symlinks into {}",
            report.files_restored,
            report.bytes_restored,
            report.files_already_done,
            report.duplicates,
            report.directories,
            report.symlinks,
            args.to.display()
        );
        for p in &report.problems {
            eprintln!("problem: {p}");
        }
        for d in &report.missing_discs {
            let _ = writeln!(
                text,
                "insert disc {} of {}, label {} ({} files), and run again",
                d.number, d.of, d.label, d.files
            );
        }
    }
    crate::render::out(&text)?;
    Ok(if !report.missing_discs.is_empty() {
        Outcome::NeedsDiscs
    } else if !report.problems.is_empty() {
        Outcome::CompletedWithErrors
    } else {
        Outcome::Success
    })
}
