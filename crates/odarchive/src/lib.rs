//! odarchive: archive a file system onto optical discs and bring it back decades later.
//!
//! This crate holds all behaviour; the `odarchive` command is a thin layer over it.
//!
//! - [`Catalogue`]: the SQLite catalogue of snapshots, entries and unique contents.
//! - [`scan()`]: walks a drive and records a snapshot, hashing files on all cores with bounded
//!   memory, re-reading only what changed, resuming an interrupted scan.
//! - [`info()`]: what a snapshot holds; [`status()`]: what the current or last job is doing.
//! - [`plan()`]: assigns every unique content to discs of a [`Media`], with exact image sizes;
//!   [`write()`]: writes planned discs as images, re-hashing every file on the way;
//!   [`archive()`]: scan, plan and write in one call. [`disc`] describes what a disc holds.
//! - [`reader`]: everything that reads a disc given back (images through both views, mounted
//!   discs, which disc it is, the catalogue it carries); [`verify`] and [`restore`] plan first
//!   (`prepare`: which disc is which, what comes from where, what is missing) and then
//!   execute, reporting each file they could not handle as a [`Problem`].
//! - [`HashAlgorithm`], [`ContentHash`]: each catalogue hashes contents with its own algorithm
//!   (SHA-256, or SHA-512 for catalogues of the original odarchive); see [`hash`].
//! - [`Catalogue::merge`]: brings another catalogue and its discs (another set) into one.
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

pub mod accounts;
pub mod atomic;
pub mod burn;
pub mod catalogue;
pub mod diff;
pub mod disc;
pub mod error;
#[cfg(test)]
mod fixtures;
pub mod hash;
mod host;
pub mod info;
pub mod legacy;
pub mod locate;
pub mod media;
pub mod mount;
pub mod plan;
pub mod problem;
pub mod progress;
pub mod reader;
pub mod repair;
pub mod restore;
pub mod scan;
pub mod set_parity;
pub mod status;
pub mod time;
pub mod verify;
pub mod write;

pub use catalogue::{
    Catalogue, DiscRecord, DiscState, Entry, EntryKind, Job, JobState, MergeReport, Placement,
    PlanRecord, Snapshot, SnapshotState,
};
pub use error::{Error, FileProblem, FileProblemCause, Result};
pub use hash::{ContentHash, ContentHasher, HashAlgorithm};
pub use info::{Info, info};
pub use media::Media;
pub use plan::{DEFAULT_PARITY, DiscSummary, PlanOptions, PlanSummary, SetParityOptions, plan};
pub use problem::{Problem, ProblemKind};
pub use progress::{Event, NoProgress, Progress, ScanProgress};
pub use scan::{FileOpener, ScanOptions, ScanSummary, StdOpener, scan};
pub use status::{Liveness, Status, status};
pub use write::{ArchiveOptions, ArchiveSummary, WriteOptions, WrittenDisc, archive, write};

/// The catalogue JSON formats this odarchive reads, as `--version` and the JSON's
/// `generator` say it.
pub const FORMATS_READ: &str = "reads catalogue JSON v2 (odarchive 0.1), v3, v4";

/// This odarchive and what it reads: `odarchive 0.2.0 (reads catalogue JSON v2 …)`. Its own
/// version is not the original odarchive's 0.1.0, whose discs it brings forward.
pub fn generator() -> String {
    format!("odarchive {} ({FORMATS_READ})", env!("CARGO_PKG_VERSION"))
}

/// Lower-case hex of `bytes`: the one hex encoder (hashes, set ids, image checksums).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    let _ = hex_to(&mut s, bytes);
    s
}

/// Writes the lower-case hex of `bytes` to `out` (a [`std::fmt::Display`] implementation's
/// formatter, a string), without a string of its own.
pub fn hex_to(out: &mut dyn std::fmt::Write, bytes: &[u8]) -> std::fmt::Result {
    for b in bytes {
        write!(out, "{b:02x}")?;
    }
    Ok(())
}

/// Bytes of a hex string (either case); `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The file on the drive of an entry path (raw bytes, relative to the drive root) of
/// `snapshot`.
pub fn snapshot_path(snapshot: &Snapshot, raw: &[u8]) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    snapshot.drive_path.join(std::ffi::OsStr::from_bytes(raw))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_two_digits_a_byte_and_unhex_reverses_it() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let mut s = String::from("id ");
        super::hex_to(&mut s, &[1, 2]).unwrap();
        assert_eq!(s, "id 0102");
        assert_eq!(super::unhex("000FA5ff"), Some(vec![0x00, 0x0f, 0xa5, 0xff]));
        assert_eq!(super::unhex("0g"), None);
    }
}
