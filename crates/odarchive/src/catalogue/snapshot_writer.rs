//! The rows a scan writes while it runs: entries, contents and problems of the snapshot
//! being scanned, in batches of one transaction each, with the job's counters in the same
//! transaction (see `scan/writer.rs`, which decides what to write and when to commit).
//!
//! Every statement is prepared once per connection (SQLite's statement cache) and applied
//! row by row, so memory does not grow with the drive.

use std::path::PathBuf;

use rusqlite::Connection;

use super::{Catalogue, EntryKind, InCatalogue, JobCounters, job};
use crate::error::Result;
use crate::hash::ContentHash;
use crate::time::now_ns;

/// A new entry row, in the snapshot being scanned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewEntry<'a> {
    /// Path relative to the drive root, raw bytes.
    pub path: &'a [u8],
    pub kind: EntryKind,
    pub content_id: Option<i64>,
    pub size: u64,
    pub mtime_ns: i64,
    pub mode: u32,
    pub link_target: Option<&'a [u8]>,
    pub dev: u64,
    pub inode: u64,
    pub uid: u32,
    pub gid: u32,
    pub user_name: Option<&'a str>,
    pub group_name: Option<&'a str>,
}

/// Writes the rows of snapshot `snapshot` during its scan ([`Catalogue::snapshot_writer`]).
#[derive(Debug)]
pub(crate) struct SnapshotWriter<'c> {
    conn: &'c mut Connection,
    path: PathBuf,
    snapshot: i64,
}

impl Catalogue {
    /// The writer of `snapshot`'s rows during its scan.
    pub(crate) fn snapshot_writer(&mut self, snapshot: i64) -> SnapshotWriter<'_> {
        SnapshotWriter {
            path: self.path.clone(),
            conn: &mut self.conn,
            snapshot,
        }
    }
}

impl SnapshotWriter<'_> {
    /// Opens a batch: a transaction.
    pub fn begin(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN").in_catalogue(&self.path)
    }

    /// Closes the batch with the job's progress written in it.
    pub fn commit(&mut self, job: i64, phase: &str, counters: JobCounters) -> Result<()> {
        job::update_job(self.conn, job, phase, counters).in_catalogue(&self.path)?;
        self.conn.execute_batch("COMMIT").in_catalogue(&self.path)
    }

    /// Drops the open batch, if any (after a failure; best effort).
    pub fn roll_back(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    /// Extends row `entry_id` (unchanged since the previous snapshot) to this snapshot.
    pub fn extend_entry(&mut self, entry_id: i64) -> Result<()> {
        self.set_last_snapshot(entry_id, self.snapshot)
    }

    fn set_last_snapshot(&mut self, entry_id: i64, last: i64) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE entry SET last_snapshot = ?2 WHERE id = ?1")
            .in_catalogue(&self.path)?;
        stmt.execute((entry_id, last)).in_catalogue(&self.path)?;
        Ok(())
    }

    /// The id of the content with `hash`, inserted if new.
    pub fn content_id(&mut self, hash: &ContentHash, size: u64) -> Result<i64> {
        let mut insert = self
            .conn
            .prepare_cached(
                "INSERT INTO content (hash, size) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING",
            )
            .in_catalogue(&self.path)?;
        if insert
            .execute((hash, size as i64))
            .in_catalogue(&self.path)?
            == 1
        {
            return Ok(self.conn.last_insert_rowid());
        }
        let mut select = self
            .conn
            .prepare_cached("SELECT id FROM content WHERE hash = ?1")
            .in_catalogue(&self.path)?;
        select
            .query_row([hash], |r| r.get(0))
            .in_catalogue(&self.path)
    }

    /// Undoes what an interrupted run of this scan recorded for `path` (row `entry_id`, first
    /// in `first_snapshot`): a row of this snapshot goes, an older one ends before it; the
    /// path's recorded problems go too.
    pub fn redo_entry(&mut self, entry_id: i64, first_snapshot: i64, path: &[u8]) -> Result<()> {
        if first_snapshot == self.snapshot {
            let mut stmt = self
                .conn
                .prepare_cached("DELETE FROM entry WHERE id = ?1")
                .in_catalogue(&self.path)?;
            stmt.execute([entry_id]).in_catalogue(&self.path)?;
        } else {
            self.set_last_snapshot(entry_id, self.snapshot - 1)?;
        }
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM scan_error WHERE snapshot = ?1 AND path = ?2")
            .in_catalogue(&self.path)?;
        stmt.execute((self.snapshot, path))
            .in_catalogue(&self.path)?;
        Ok(())
    }

    /// Inserts a new entry row that starts and ends at this snapshot.
    pub fn insert_entry(&mut self, e: &NewEntry<'_>) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO entry (path, kind, content_id, size, mtime_ns, mode, link_target, \
                 dev, inode, first_snapshot, last_snapshot, uid, gid, user_name, group_name) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13, ?14)",
            )
            .in_catalogue(&self.path)?;
        stmt.execute(rusqlite::params![
            e.path,
            e.kind,
            e.content_id,
            e.size as i64,
            e.mtime_ns,
            i64::from(e.mode),
            e.link_target,
            e.dev as i64,
            e.inode as i64,
            self.snapshot,
            i64::from(e.uid),
            i64::from(e.gid),
            e.user_name,
            e.group_name,
        ])
        .in_catalogue(&self.path)?;
        Ok(())
    }

    /// Records a problem with `path` in this snapshot.
    pub fn record_problem(&mut self, path: &[u8], cause: &str) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO scan_error (snapshot, path, cause, at_ns) VALUES (?1, ?2, ?3, ?4)",
            )
            .in_catalogue(&self.path)?;
        stmt.execute((self.snapshot, path, cause, now_ns()))
            .in_catalogue(&self.path)?;
        Ok(())
    }
}
