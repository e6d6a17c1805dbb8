//! What a snapshot holds: counts, sizes and how much deduplication saves.

use std::os::unix::ffi::OsStrExt;

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::catalogue::{Catalogue, EntryKind, InCatalogue};
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
    /// Size in bytes.
    pub size: u64,
}

/// Describes the newest complete snapshot of `catalogue`.
pub fn info(catalogue: &Catalogue) -> Result<Info> {
    let snapshot = catalogue
        .latest_complete_snapshot()?
        .ok_or_else(|| Error::NoSnapshot {
            path: catalogue.path().to_path_buf(),
        })?;
    let mut info =
        of_snapshot(catalogue.connection(), snapshot.id).in_catalogue(catalogue.path())?;
    info.drive_path = snapshot.drive_path.to_string_lossy().into_owned();
    Ok(info)
}

/// Computes the summary of `snapshot` (any state) in one pass over the entries plus one over
/// the contents they use. Leaves `drive_path` empty.
pub(crate) fn of_snapshot(conn: &Connection, snapshot: i64) -> rusqlite::Result<Info> {
    let (files, directories, symlinks, total_bytes, unhashed_files): (i64, i64, i64, i64, i64) =
        conn.query_row(
            "SELECT count(*) FILTER (WHERE kind = ?2),
                    count(*) FILTER (WHERE kind = ?3),
                    count(*) FILTER (WHERE kind = ?4),
                    coalesce(sum(size) FILTER (WHERE kind = ?2), 0),
                    count(*) FILTER (WHERE kind = ?2 AND content_id IS NULL)
             FROM entry WHERE first_snapshot <= ?1 AND last_snapshot >= ?1",
            (
                snapshot,
                EntryKind::File.code(),
                EntryKind::Directory.code(),
                EntryKind::Symlink.code(),
            ),
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    let (unique_contents, unique_bytes): (i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(size), 0) FROM content WHERE id IN
             (SELECT content_id FROM entry
              WHERE first_snapshot <= ?1 AND last_snapshot >= ?1 AND content_id IS NOT NULL)",
        [snapshot],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let largest_file = conn
        .query_row(
            "SELECT path, size FROM entry
             WHERE first_snapshot <= ?1 AND last_snapshot >= ?1 AND kind = ?2
             ORDER BY size DESC, path LIMIT 1",
            (snapshot, EntryKind::File.code()),
            |r| {
                let path: Vec<u8> = r.get(0)?;
                let size: i64 = r.get(1)?;
                Ok(LargestFile {
                    path: std::path::Path::new(std::ffi::OsStr::from_bytes(&path))
                        .to_string_lossy()
                        .into_owned(),
                    size: size as u64,
                })
            },
        )
        .optional()?;
    let errors: i64 = conn.query_row(
        "SELECT count(*) FROM scan_error WHERE snapshot = ?1",
        [snapshot],
        |r| r.get(0),
    )?;
    let total_bytes = total_bytes as u64;
    let unique_bytes = unique_bytes as u64;
    Ok(Info {
        snapshot,
        drive_path: String::new(),
        files: files as u64,
        directories: directories as u64,
        symlinks: symlinks as u64,
        unique_contents: unique_contents as u64,
        total_bytes,
        unique_bytes,
        bytes_saved: total_bytes.saturating_sub(unique_bytes),
        unhashed_files: unhashed_files as u64,
        largest_file,
        errors: errors as u64,
    })
}
