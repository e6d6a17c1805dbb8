//! odarchive: archive a file system onto optical discs and bring it back decades later.
//!
//! This crate holds all behaviour; the `odarchive` command is a thin layer over it.
//!
//! - [`Catalogue`]: the SQLite catalogue of snapshots, entries and unique contents.
//! - [`scan()`]: walks a drive and records a snapshot, hashing files on all cores with bounded
//!   memory, re-reading only what changed, resuming an interrupted scan.
//! - [`info()`]: what a snapshot holds; [`status()`]: what the current or last job is doing.
//! - [`Progress`]: how long operations report events.
//! - [`Error`]: what stops an operation; problems with single files are recorded, not fatal.
//!
//! ```
//! use odarchive::{Catalogue, NoProgress, ScanOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let drive = tempfile::tempdir()?;
//! std::fs::write(drive.path().join("a.txt"), "same")?;
//! std::fs::write(drive.path().join("b.txt"), "same")?;
//! let work = tempfile::tempdir()?;
//! let mut catalogue = Catalogue::create_or_open(work.path().join("odarchive.db"))?;
//!
//! let summary = odarchive::scan(&mut catalogue, drive.path(), &ScanOptions::default(), &NoProgress)?;
//! assert_eq!(summary.hashed_files, 2);
//!
//! let info = odarchive::info(&catalogue)?;
//! assert_eq!((info.files, info.unique_contents, info.bytes_saved), (2, 1, 4));
//! # Ok(())
//! # }
//! ```

pub mod catalogue;
pub mod error;
mod host;
pub mod info;
pub mod progress;
pub mod scan;
pub mod status;
pub mod time;

pub use catalogue::{Catalogue, Entry, EntryKind, Job, JobState, Snapshot, SnapshotState};
pub use error::{Error, FileProblem, FileProblemCause, Result};
pub use info::{Info, info};
pub use progress::{Event, NoProgress, Progress, ScanProgress};
pub use scan::{FileOpener, ScanOptions, ScanSummary, StdOpener, scan};
pub use status::{Liveness, Status, status};
