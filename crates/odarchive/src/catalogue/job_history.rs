//! Jobs run through the library by another program over it (the restores and verifies of
//! `odarchive serve`), recorded in the same `job` table as the CLI's scans and writes, and
//! the table read back as a history, newest first, a page at a time.
//!
//! A job recorded here is exclusive like any other: [`Catalogue::begin_job`] refuses while a
//! live process runs a job on the catalogue ([`crate::Error::Busy`]), so the CLI and a server
//! never run two jobs on one catalogue at once.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::OptionalExtension;

use super::job::{JOB_COLUMNS, JobCounters, finish_job, job_from_row, update_job};
use super::{Catalogue, InCatalogue, Job, JobState};
use crate::error::Result;

/// How far a job recorded with [`Catalogue::begin_job`] got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobProgress {
    /// Files done so far.
    pub files_done: u64,
    /// Bytes done so far.
    pub bytes_done: u64,
    /// Files to do in all (as far as known).
    pub files_total: u64,
    /// Bytes to do in all.
    pub bytes_total: u64,
}

impl Catalogue {
    /// Records the start of a job of `kind` (`restore`, `verify`) and returns its id; refuses
    /// while a live process runs a job on this catalogue (a row of a dead one is marked
    /// interrupted).
    ///
    /// Until it is closed with [`Catalogue::end_job`], jobs that the library starts in this
    /// process on this catalogue (a scan, a write) run inside it: they are neither refused
    /// nor take it for the row of a dead process.
    pub fn begin_job(&mut self, kind: &str) -> Result<i64> {
        let id = self.start_job(kind)?;
        held().push((file_key(&self.path), id));
        Ok(id)
    }

    /// Records what job `job` does now and how far it got.
    pub fn note_job(&self, job: i64, phase: &str, progress: JobProgress) -> Result<()> {
        let counters = JobCounters {
            files_done: progress.files_done,
            bytes_done: progress.bytes_done,
            files_total: progress.files_total,
            bytes_total: progress.bytes_total,
        };
        update_job(&self.conn, job, phase, counters).in_catalogue(&self.path)
    }

    /// Closes job `job` with its final state and a message (what it did, its problems).
    pub fn end_job(&self, job: i64, state: JobState, message: Option<&str>) -> Result<()> {
        let key = file_key(&self.path);
        held().retain(|(path, id)| !(*id == job && *path == key));
        finish_job(&self.conn, job, state, message).in_catalogue(&self.path)
    }

    /// Job `id`, if there is one.
    pub fn job(&self, id: i64) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE id = ?1");
        self.conn
            .query_row(&sql, [id], job_from_row)
            .optional()
            .in_catalogue(&self.path)
    }

    /// Up to `limit` jobs, newest first, of those with an id below `before` (all when
    /// `None`): give the last id of a page as `before` for the next.
    pub fn jobs(&self, before: Option<i64>, limit: usize) -> Result<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE id < ?1 ORDER BY id DESC LIMIT ?2");
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let rows = stmt
            .query_map(
                (
                    before.unwrap_or(i64::MAX),
                    limit.min(i64::MAX as usize) as i64,
                ),
                job_from_row,
            )
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }
}

/// The jobs this process began with [`Catalogue::begin_job`] and has not ended: (catalogue
/// file, as [`file_key`] names it, job id).
static HELD: Mutex<Vec<(PathBuf, i64)>> = Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<(PathBuf, i64)>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

/// The catalogue file at `path` however it is spelt (`cat.db`, `./cat.db`, through a
/// symbolic link): its canonical path, or `path` itself if that cannot be had.
fn file_key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether this process holds job `id` of the catalogue at `path` open.
pub(super) fn held_here(path: &Path, id: i64) -> bool {
    let key = file_key(path);
    held().iter().any(|(p, j)| *j == id && *p == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_begun_here_holds_the_library_jobs_run_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut outer = Catalogue::create_or_open(&path).unwrap();
        let archive = outer.begin_job("archive").unwrap();
        let mut inner = Catalogue::open(&path).unwrap();
        let scan = inner.start_job("scan").unwrap();
        inner.finish_job(scan, JobState::Completed, None).unwrap();
        let row = outer.job(archive).unwrap().unwrap();
        assert_eq!(row.state, JobState::Running, "{row:?}");
        outer.end_job(archive, JobState::Completed, None).unwrap();
        // Once ended it holds nothing: a row left running by this process is taken for a
        // dead one's, as before.
        let left = inner.start_job("scan").unwrap();
        let next = inner.start_job("write").unwrap();
        assert_eq!(
            inner.job(left).unwrap().unwrap().state,
            JobState::Interrupted
        );
        inner.finish_job(next, JobState::Completed, None).unwrap();
        assert_eq!(
            outer.job(archive).unwrap().unwrap().state,
            JobState::Completed
        );
    }

    #[test]
    fn a_job_begun_here_holds_jobs_on_the_same_file_under_another_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut outer = Catalogue::create_or_open(&path).unwrap();
        let archive = outer.begin_job("archive").unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("link")).unwrap();
        let spelt = dir.path().join("link").join(".").join("c.db");
        let mut inner = Catalogue::open(&spelt).unwrap();
        let scan = inner.start_job("scan").unwrap();
        inner.finish_job(scan, JobState::Completed, None).unwrap();
        let row = outer.job(archive).unwrap().unwrap();
        assert_eq!(row.state, JobState::Running, "{row:?}");
        outer.end_job(archive, JobState::Completed, None).unwrap();
        assert!(!held_here(&spelt, archive));
    }

    #[test]
    fn jobs_begun_here_are_kept_and_listed_newest_first_a_page_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let first = c.begin_job("restore").unwrap();
        c.note_job(
            first,
            "reading disc 1",
            JobProgress {
                files_done: 3,
                files_total: 9,
                ..JobProgress::default()
            },
        )
        .unwrap();
        let running = c.job(first).unwrap().unwrap();
        assert_eq!(running.state, JobState::Running);
        assert_eq!((running.files_done, running.files_total), (3, 9));
        assert_eq!(running.phase, "reading disc 1");
        c.end_job(
            first,
            JobState::Interrupted,
            Some("cancelled after 3 files"),
        )
        .unwrap();
        let second = c.begin_job("verify").unwrap();
        c.end_job(
            second,
            JobState::CompletedWithErrors,
            Some("disc 2: 1 corrupt"),
        )
        .unwrap();
        let third = c.begin_job("verify").unwrap();
        c.end_job(third, JobState::Completed, None).unwrap();

        let all = c.jobs(None, 10).unwrap();
        let ids: Vec<i64> = all.iter().map(|j| j.id).collect();
        assert_eq!(ids, [third, second, first]);
        assert_eq!(all[2].kind, "restore");
        assert_eq!(all[2].state, JobState::Interrupted);
        assert_eq!(all[2].message.as_deref(), Some("cancelled after 3 files"));
        assert!(all[2].finished_ns.is_some());
        let page = c.jobs(None, 2).unwrap();
        assert_eq!(page.len(), 2);
        let rest = c.jobs(Some(page[1].id), 2).unwrap();
        assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), [first]);
        assert!(c.job(third + 1).unwrap().is_none());
    }
}
