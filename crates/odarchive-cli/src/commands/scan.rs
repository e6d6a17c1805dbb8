//! `odarchive scan DRIVE_PATH`: record a snapshot of a drive.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::HumanBytes;
use odarchive::{Catalogue, ScanOptions, ScanSummary};

use crate::render::{Reporter, counted};
use crate::{Global, Outcome};

/// Test-only: milliseconds to pause in each hash worker after opening each file, so tests can
/// interrupt or disturb a scan at a known point. Read by debug builds only (the tests run
/// them): a release build does not look at it.
#[cfg(debug_assertions)]
const TEST_HASH_DELAY_ENV: &str = "ODARCHIVE_TEST_HASH_DELAY_MS";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to scan (the root of the drive).
    drive_path: PathBuf,

    #[command(flatten)]
    scan: ScanArgs,
}

/// The options of a scan, shared by `scan` and `archive`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Leave out paths matching GLOB (relative to the drive root, e.g. `**/node_modules`,
    /// `*.tmp`); repeatable. An excluded directory is left out with its contents.
    #[arg(long = "exclude", value_name = "GLOB")]
    excludes: Vec<String>,

    /// Number of hashing threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

impl ScanArgs {
    /// The scan's options, stopped when `cancel` is set.
    pub fn options(&self, cancel: Arc<AtomicBool>) -> ScanOptions {
        ScanOptions {
            excludes: self.excludes.clone(),
            threads: self.threads,
            cancel: Some(cancel),
            ..ScanOptions::default()
        }
    }
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let cancel = Arc::new(AtomicBool::new(false));
    install_interrupt_handler(Arc::clone(&cancel))?;
    let options = ScanOptions {
        hash_delay: test_hash_delay()?,
        ..args.scan.options(cancel)
    };
    let mut catalogue = Catalogue::create_or_open(&global.catalogue)?;
    let reporter = Reporter::new(global.json);
    let result = odarchive::scan(&mut catalogue, &args.drive_path, &options, &reporter);
    reporter.finish();
    let summary = result?;
    if global.json {
        crate::render::print_json_summary(&summary)?;
    } else {
        crate::render::out(&human(&summary))?;
    }
    Ok(if summary.info.errors > 0 {
        Outcome::CompletedWithErrors
    } else {
        Outcome::Success
    })
}

/// The pause [`TEST_HASH_DELAY_ENV`] asks for, in a debug build.
#[cfg(debug_assertions)]
fn test_hash_delay() -> Result<Option<Duration>> {
    match std::env::var(TEST_HASH_DELAY_ENV) {
        Ok(ms) => Ok(Some(Duration::from_millis(
            ms.parse()
                .with_context(|| format!("{TEST_HASH_DELAY_ENV}={ms:?}"))?,
        ))),
        Err(_) => Ok(None),
    }
}

/// A release build never pauses: the variable is for tests only.
#[cfg(not(debug_assertions))]
fn test_hash_delay() -> Result<Option<Duration>> {
    Ok(None)
}

/// First Ctrl-C (or SIGTERM): stop gracefully, committing what is done. Second: exit now; the
/// catalogue stays consistent either way.
pub(crate) fn install_interrupt_handler(cancel: Arc<AtomicBool>) -> Result<()> {
    ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            eprintln!("odarchive: interrupted again, stopping now");
            std::process::exit(130);
        }
        eprintln!("odarchive: stopping after saving what is done (Ctrl-C again to stop at once)");
    })
    .context("cannot install the Ctrl-C handler")
}

fn human(s: &ScanSummary) -> String {
    let i = &s.info;
    let mut out = format!(
        "{} snapshot {} of {} in {:.1} s\n",
        if s.resumed {
            "Resumed and completed"
        } else {
            "Completed"
        },
        i.snapshot,
        i.drive_path,
        s.elapsed_seconds
    );
    out.push_str(&format!(
        "  {} ({}), {}, {}; {} ({})\n",
        counted(i.files, "file"),
        HumanBytes(i.total_bytes),
        counted(i.directories, "directory"),
        counted(i.symlinks, "symlink"),
        counted(i.unique_contents, "unique content"),
        HumanBytes(i.unique_bytes),
    ));
    out.push_str(&format!(
        "  read and hashed {} ({}); {} unchanged or already recorded, not read again\n",
        counted(s.hashed_files, "file"),
        HumanBytes(s.hashed_bytes),
        counted(s.reused_files, "file"),
    ));
    if s.skipped > 0 {
        out.push_str(&format!(
            "  skipped {}\n",
            counted(s.skipped, "special file")
        ));
    }
    if i.errors > 0 {
        out.push_str(&format!(
            "  {} (reported above and recorded; the next scan retries those files)\n",
            counted(i.errors, "error")
        ));
    }
    out
}
