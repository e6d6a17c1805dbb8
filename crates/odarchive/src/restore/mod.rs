//! Restoring files from discs: `odarchive restore --from IMAGE_OR_DIR... --to DEST [PATH|GLOB...]`.
//!
//! The plan comes first ([`prepare`], which writes nothing at the destination): which
//! entries of the snapshot are asked for, which contents they need, which of those are
//! already in place, which discs hold the rest and which disc each one given is; the
//! selection is kept in TEMP tables of the catalogue rather than in memory
//! ([`crate::catalogue::RestoreSet`]). Then [`execute`] reads each disc given once, in disc
//! order, and every file it holds for the restore is written to a short
//! temporary name beside its destination (sparsely), hashed on the way, and renamed only when
//! the hash matches; what is wrong on one copy of a disc is read again from the other copies
//! given, and where no copy gives a file right from an image or a drive, its sectors are
//! rebuilt from the disc's own parity (`/Parity/PARITY.ODP`) and checked again. Split contents are assembled part by part in `DEST/.odarchive-restore/` and moved
//! into place when complete and whole. Last come the other names of each content (copies or
//! hard links), symlinks, and the owners, modes and mtimes of directories, deepest first.
//! Existing files are never overwritten without `overwrite`; a file already in place with the
//! right content counts as done, so a second run finishes an interrupted one without reading
//! those files from disc again. A problem with one path is reported and the rest goes on;
//! only a full destination stops the restore. Discs still needed are listed.

mod attributes;
mod execute;
mod files;
mod pipeline;
mod plan;
pub mod select;
mod sparse;

use std::path::PathBuf;

use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::error::Result;
use crate::problem::Problem;
use crate::progress::{NoProgress, Progress};

pub use execute::{execute, execute_cancellable};
pub use plan::{PlannedDisc, RestorePlan, prepare, prepare_selected};
pub use select::{Selected, Selection};

/// How to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Images or mounted discs to read, in any order.
    pub from: Vec<PathBuf>,
    /// The folder to restore into (created if missing).
    pub to: PathBuf,
    /// Paths or globs to restore; empty for everything.
    pub patterns: Vec<String>,
    /// The snapshot to restore; `None` for the latest complete one.
    pub snapshot: Option<i64>,
    /// Replace existing files that differ.
    pub overwrite: bool,
    /// Restore the other names of a content as hard links instead of copies.
    pub hardlink: bool,
    /// Read images through their ISO 9660 view only.
    pub iso9660_only: bool,
    /// Leave owners and groups alone even as root (as a user, they are always left alone).
    pub no_owner: bool,
}

/// A disc the restore needs but was not given.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NeededDisc {
    /// Disc number.
    pub number: u32,
    /// Its label.
    pub label: String,
    /// Discs in the set.
    pub of: u32,
    /// Files of this restore on it.
    pub files: u64,
}

/// A file the disc did not give right and the disc's own parity rebuilt: its bytes were
/// checked against the catalogue's hash before it was put in place.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RebuiltFromParity {
    /// The file restored, at the destination.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub path: PathBuf,
    /// The disc it was read from.
    pub disc: u32,
    /// Sectors of the file (of this part, for a content split across discs).
    pub sectors: u64,
    /// Those of them the parity gave instead of the disc.
    pub sectors_rebuilt: u64,
}

/// What a restore did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreReport {
    /// The snapshot restored.
    pub snapshot: i64,
    /// Entries selected.
    pub selected: u64,
    /// Discs the selection needs, by number.
    pub discs_needed: Vec<u32>,
    /// Discs read in this run.
    pub discs_read: Vec<u32>,
    /// Files written (with their content checked).
    pub files_restored: u64,
    /// Their bytes.
    pub bytes_restored: u64,
    /// Files already in place with the right content (a previous run's).
    pub files_already_done: u64,
    /// Other names of contents, copied or linked.
    pub duplicates: u64,
    /// Directories created or present.
    pub directories: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Files restored from sectors rebuilt from their disc's parity (they are also counted in
    /// `files_restored` once whole).
    pub rebuilt_from_parity: Vec<RebuiltFromParity>,
    /// Problems, each naming the path at the destination (or in the snapshot, for a file
    /// nothing was written for) or the disc given.
    pub problems: Vec<Problem>,
    /// Discs still needed for what is not restored yet.
    pub missing_discs: Vec<NeededDisc>,
    /// Whether the restore was cancelled ([`execute_cancellable`]) before it ended: the files
    /// counted are in place, whole and checked; the file being written was removed; a run
    /// again resumes (shown only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

impl RestoreReport {
    /// Whether everything asked for is restored.
    pub fn complete(&self) -> bool {
        self.problems.is_empty() && self.missing_discs.is_empty()
    }
}

/// Restores the selection of `options` from the discs given: [`prepare`], then
/// [`execute`]. Returns the report even when some files could not be restored; errors are
/// for what stops the whole restore (the catalogue, a full destination).
///
/// Nothing here grows with the number of files: the selection and the state of each content
/// live in the catalogue's TEMP tables ([`crate::catalogue::RestoreSet`]), and each step is
/// one streaming query. One disc is open at a time while files are read.
pub fn restore(catalogue: &Catalogue, options: &RestoreOptions) -> Result<RestoreReport> {
    restore_with(catalogue, options, &NoProgress)
}

/// [`restore`], telling `progress` as each disc is read.
pub fn restore_with(
    catalogue: &Catalogue,
    options: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestoreReport> {
    execute(prepare(catalogue, options)?, progress)
}
