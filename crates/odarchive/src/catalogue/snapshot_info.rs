//! What a snapshot holds, counted from its rows ([`crate::info::Info`]), and closing a scanned
//! snapshot with those counts.

use std::os::unix::ffi::OsStrExt;

use rusqlite::{Connection, OptionalExtension};

use super::{Catalogue, EntryKind, InCatalogue, JobState, SnapshotState, job};
use crate::error::Result;
use crate::info::{Info, LargestFile};

impl Catalogue {
    /// The summary of `snapshot` (any state), in one pass over its entries plus one over the
    /// contents they use. Leaves `drive_path` empty.
    pub(crate) fn snapshot_info(&self, snapshot: i64) -> Result<Info> {
        count_snapshot(&self.conn, snapshot).in_catalogue(&self.path)
    }

    /// Marks `snapshot` complete with its summary counters and closes the scan's `job`, in one
    /// transaction. Returns the summary (with `drive_path` empty).
    pub(crate) fn complete_snapshot(&mut self, snapshot: i64, job: i64) -> Result<Info> {
        let path = self.path.clone();
        let tx = self.conn.transaction().in_catalogue(&path)?;
        let info = count_snapshot(&tx, snapshot).in_catalogue(&path)?;
        tx.execute(
            "UPDATE snapshot SET state = ?10, finished_ns = ?2, files = ?3, directories = ?4,
                 symlinks = ?5, total_bytes = ?6, unique_contents = ?7, unique_bytes = ?8,
                 errors = ?9
             WHERE id = ?1",
            rusqlite::params![
                snapshot,
                crate::time::now_ns(),
                info.files as i64,
                info.directories as i64,
                info.symlinks as i64,
                info.total_bytes as i64,
                info.unique_contents as i64,
                info.unique_bytes as i64,
                info.errors as i64,
                SnapshotState::Complete,
            ],
        )
        .in_catalogue(&path)?;
        let state = if info.errors > 0 {
            JobState::CompletedWithErrors
        } else {
            JobState::Completed
        };
        job::finish_job(&tx, job, state, None).in_catalogue(&path)?;
        tx.commit().in_catalogue(&path)?;
        Ok(info)
    }
}

pub(super) fn count_snapshot(conn: &Connection, snapshot: i64) -> rusqlite::Result<Info> {
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
                EntryKind::File,
                EntryKind::Directory,
                EntryKind::Symlink,
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
        largest_file: largest_file(conn, snapshot)?,
        errors: errors as u64,
    })
}

fn largest_file(conn: &Connection, snapshot: i64) -> rusqlite::Result<Option<LargestFile>> {
    conn.query_row(
        "SELECT path, size FROM entry
         WHERE first_snapshot <= ?1 AND last_snapshot >= ?1 AND kind = ?2
         ORDER BY size DESC, path LIMIT 1",
        (snapshot, EntryKind::File),
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
    .optional()
}
