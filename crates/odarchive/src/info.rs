//! What a snapshot holds: counts, sizes and how much deduplication saves.

use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// Summary of one snapshot. Serializes with the keys of `odarchive info --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Info {
    /// The snapshot described.
    pub snapshot: i64,
    /// The drive root it was scanned from (lossy UTF-8).
    pub drive_path: String,
    /// Regular files.
    pub files: u64,
    /// Directories (the drive root itself not counted).
    pub directories: u64,
    /// Symbolic links.
    pub symlinks: u64,
    /// Distinct file contents.
    pub unique_contents: u64,
    /// Bytes of all files, duplicates counted each time.
    pub total_bytes: u64,
    /// Bytes of the distinct contents: what the discs must hold.
    pub unique_bytes: u64,
    /// `total_bytes - unique_bytes`, saved by storing identical contents once.
    pub bytes_saved: u64,
    /// Files recorded without a content because they could not be read.
    pub unhashed_files: u64,
    /// The largest file, if there is any file.
    pub largest_file: Option<LargestFile>,
    /// Problems recorded by the scan.
    pub errors: u64,
}

/// The largest file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LargestFile {
    /// Path relative to the drive root (lossy UTF-8).
    pub path: String,
    /// The same path, its raw bytes.
    #[serde(skip)]
    pub path_bytes: Vec<u8>,
    /// Size in bytes.
    pub size: u64,
}

impl LargestFile {
    /// The file at `path` (relative, raw bytes) of `size` bytes.
    pub fn new(path: Vec<u8>, size: u64) -> LargestFile {
        use std::os::unix::ffi::OsStrExt;
        LargestFile {
            path: std::path::Path::new(std::ffi::OsStr::from_bytes(&path))
                .to_string_lossy()
                .into_owned(),
            path_bytes: path,
            size,
        }
    }
}

/// Describes the newest complete snapshot of `catalogue`.
pub fn info(catalogue: &Catalogue) -> Result<Info> {
    let snapshot = catalogue
        .latest_complete_snapshot()?
        .ok_or_else(|| Error::NoSnapshot {
            path: catalogue.path().to_path_buf(),
        })?;
    let mut info = catalogue.snapshot_info(snapshot.id)?;
    info.drive_path = snapshot.drive_path.to_string_lossy().into_owned();
    Ok(info)
}
