//! What a snapshot holds, counted from its rows ([`crate::info::Info`]), and closing a scanned
//! snapshot with those counts.

use rusqlite::{Connection, OptionalExtension};

use super::{Catalogue, EntryKind, InCatalogue, JobState, SnapshotState, job};
use crate::error::Result;
use crate::info::{Info, LargestFile};

impl Catalogue {
    /// The summary of `snapshot` (any state): the counters stored with it when it was
    /// completed (schema 9), else counted from its rows, in one pass over its entries plus one
    /// over the contents they use. Leaves `drive_path` empty.
    pub(crate) fn snapshot_info(&self, snapshot: i64) -> Result<Info> {
        match stored_info(&self.conn, snapshot).in_catalogue(&self.path)? {
            Some(info) => Ok(info),
            None => count_snapshot(&self.conn, snapshot).in_catalogue(&self.path),
        }
    }

    /// Marks `snapshot` complete with its summary counters and closes the scan's `job`, in one
    /// transaction. Returns the summary (with `drive_path` empty).
    pub(crate) fn complete_snapshot(&mut self, snapshot: i64, job: i64) -> Result<Info> {
        let path = self.path.clone();
        let tx = self.conn.transaction().in_catalogue(&path)?;
        let info = count_snapshot(&tx, snapshot).in_catalogue(&path)?;
        store_info(&tx, &info).in_catalogue(&path)?;
        tx.execute(
            "UPDATE snapshot SET state = ?2, finished_ns = ?3 WHERE id = ?1",
            rusqlite::params![snapshot, SnapshotState::Complete, crate::time::now_ns()],
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

/// Counts and stores the summary of each complete snapshot of `among` that has none stored
/// (schema 9's counters missing): snapshots brought in by an import or merge from a document or
/// catalogue that did not carry them. A snapshot already here is left as it is (counting one
/// is a pass over its entries; `info` counts it when asked).
pub(super) fn count_uncounted(conn: &Connection, among: &[i64]) -> rusqlite::Result<()> {
    let mut uncounted = conn.prepare(
        "SELECT EXISTS (SELECT 1 FROM snapshot WHERE id = ?1 AND state = 'complete' \
         AND (unhashed_files IS NULL OR files IS NULL))",
    )?;
    for &id in among {
        if uncounted.query_row([id], |r| r.get(0))? {
            store_info(conn, &count_snapshot(conn, id)?)?;
        }
    }
    Ok(())
}

/// Stores `info`'s counters with its snapshot.
fn store_info(conn: &Connection, info: &Info) -> rusqlite::Result<()> {
    let (largest_path, largest_size) = match &info.largest_file {
        Some(f) => (Some(f.path_bytes.as_slice()), Some(f.size as i64)),
        None => (None, None),
    };
    conn.execute(
        "UPDATE snapshot SET files = ?2, directories = ?3, symlinks = ?4, total_bytes = ?5,
             unique_contents = ?6, unique_bytes = ?7, errors = ?8, unhashed_files = ?9,
             largest_path = ?10, largest_size = ?11
         WHERE id = ?1",
        rusqlite::params![
            info.snapshot,
            info.files as i64,
            info.directories as i64,
            info.symlinks as i64,
            info.total_bytes as i64,
            info.unique_contents as i64,
            info.unique_bytes as i64,
            info.errors as i64,
            info.unhashed_files as i64,
            largest_path,
            largest_size,
        ],
    )?;
    Ok(())
}

/// The summary stored with `snapshot`, if it was completed with all of schema 9's counters.
fn stored_info(conn: &Connection, snapshot: i64) -> rusqlite::Result<Option<Info>> {
    conn.query_row(
        "SELECT files, directories, symlinks, total_bytes, unique_contents, unique_bytes,
                errors, unhashed_files, largest_path, largest_size
         FROM snapshot
         WHERE id = ?1 AND state = 'complete' AND files IS NOT NULL
               AND unhashed_files IS NOT NULL",
        [snapshot],
        |r| {
            let count = |i: usize| r.get::<_, i64>(i).map(|n| n as u64);
            let largest_path: Option<Vec<u8>> = r.get(8)?;
            let largest_size: Option<i64> = r.get(9)?;
            let total_bytes = count(3)?;
            let unique_bytes = count(5)?;
            Ok(Info {
                snapshot,
                drive_path: String::new(),
                files: count(0)?,
                directories: count(1)?,
                symlinks: count(2)?,
                unique_contents: count(4)?,
                total_bytes,
                unique_bytes,
                bytes_saved: total_bytes.saturating_sub(unique_bytes),
                unhashed_files: count(7)?,
                largest_file: largest_path
                    .zip(largest_size)
                    .map(|(path, size)| LargestFile::new(path, size as u64)),
                errors: count(6)?,
            })
        },
    )
    .optional()
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
            Ok(LargestFile::new(path, size as u64))
        },
    )
    .optional()
}
