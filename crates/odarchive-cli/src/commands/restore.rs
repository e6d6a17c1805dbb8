//! `odarchive restore --from IMAGE_OR_DIR... --to DEST [PATH|GLOB...]`.

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::Result;
use odarchive::NoProgress;
use odarchive::restore::{RestoreOptions, RestorePlan, RestoreReport, execute, prepare};

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
    /// Show the plan (discs needed and what each gives, files to restore, what is already in
    /// place, discs missing) and write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    // Writable: restoring from discs of odarchive 0.1 records the names they hold files under.
    let (catalogue, from_disc) =
        super::catalogue_or_discs(global, &args.from, true, args.timezone.as_deref())?;
    let done = (|| {
        let options = RestoreOptions {
            from: args.from.clone(),
            to: args.to.clone(),
            patterns: args.patterns.clone(),
            snapshot: super::snapshot_arg(&catalogue, args.snapshot.as_deref())?,
            overwrite: args.overwrite,
            hardlink: args.hardlink,
            iso9660_only: args.iso9660,
            no_owner: args.no_owner,
        };
        let plan = prepare(&catalogue, &options)?;
        if args.dry_run {
            return show_plan(&plan, global);
        }
        let report = execute(plan, &NoProgress)?;
        show_report(&report, args, global)
    })();
    drop(catalogue);
    if let Some(temp) = from_disc {
        temp.remove();
    }
    let (text, outcome) = done?;
    crate::render::out(&text)?;
    Ok(outcome)
}

/// What a restore did, as text or JSON, and the outcome it means.
fn show_report(report: &RestoreReport, args: &Args, global: &Global) -> Result<(String, Outcome)> {
    let mut text = String::new();
    if global.json {
        let _ = writeln!(text, "{}", serde_json::to_string(&report)?);
    } else {
        let _ = writeln!(text, "needs discs: {}", disc_list(&report.discs_needed));
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
        for r in &report.rebuilt_from_parity {
            let _ = writeln!(
                text,
                "rebuilt from the parity of disc {}: {} ({} of its {} sectors), hash checked",
                r.disc,
                r.path.display(),
                r.sectors_rebuilt,
                r.sectors
            );
        }
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
    let outcome = if !report.missing_discs.is_empty() {
        Outcome::NeedsDiscs
    } else if !report.problems.is_empty() {
        Outcome::CompletedWithErrors
    } else {
        Outcome::Success
    };
    Ok((text, outcome))
}

/// The plan of `--dry-run`, as text or JSON, and the outcome a restore would have.
fn show_plan(plan: &RestorePlan<'_>, global: &Global) -> Result<(String, Outcome)> {
    let mut text = String::new();
    if global.json {
        let _ = writeln!(text, "{}", serde_json::to_string(plan)?);
    } else {
        let _ = writeln!(text, "dry run: nothing is written");
        let _ = writeln!(text, "needs discs: {}", disc_list(&plan.discs_needed()));
        for d in &plan.discs {
            let from = match d.sources.first() {
                Some(source) => format!("from {}", source.display()),
                None if d.files == 0 => "not given, not needed".to_owned(),
                None => "NOT GIVEN".to_owned(),
            };
            let _ = writeln!(
                text,
                "disc {} of {}, label {}: {} files ({} bytes) to read, {from}",
                d.number, d.of, d.label, d.files, d.bytes
            );
        }
        let _ = writeln!(
            text,
            "would restore {} files ({} bytes), {} already in place, of {} entries selected, into {}",
            plan.files_to_restore,
            plan.bytes_to_restore,
            plan.files_already_done,
            plan.selected,
            plan.to.display()
        );
        for p in &plan.problems {
            eprintln!("problem: {p}");
        }
        for d in &plan.missing_discs {
            let _ = writeln!(
                text,
                "missing disc {} of {}, label {} ({} files)",
                d.number, d.of, d.label, d.files
            );
        }
    }
    let outcome = if !plan.missing_discs.is_empty() {
        Outcome::NeedsDiscs
    } else if !plan.problems.is_empty() {
        Outcome::CompletedWithErrors
    } else {
        Outcome::Success
    };
    Ok((text, outcome))
}

/// `1, 2, 3`, or `none`.
fn disc_list(numbers: &[u32]) -> String {
    if numbers.is_empty() {
        return "none".into();
    }
    let numbers: Vec<String> = numbers.iter().map(u32::to_string).collect();
    numbers.join(", ")
}
