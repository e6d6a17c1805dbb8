//! The writer: the one thread that writes the catalogue during a scan. It applies records in
//! batches, one transaction per batch, and updates the job row in the same transaction, so the
//! catalogue and the job's counters always agree, also after a kill -9.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rusqlite::Connection;

use super::{Content, Found, Record, Shared};
use crate::accounts::Accounts;
use crate::catalogue::{Catalogue, EntryKind, InCatalogue, JobCounters, update_job};
use crate::error::{FileProblem, Result};
use crate::hash::ContentHash;
use crate::problem::Problem;
use crate::progress::{Event, Progress, ScanProgress};
use crate::time::now_ns;

/// Commit at least this often while records arrive.
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);
/// Commit after this many records even if the interval has not passed.
const BATCH_ROWS: usize = 20_000;
/// Send a progress event at most this often.
const EVENT_INTERVAL: Duration = Duration::from_millis(250);

/// A row of the snapshot being scanned that a resumed scan must redo.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Replaced {
    pub id: i64,
    pub first_snapshot: i64,
}

/// What the writer counted.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    pub files_done: u64,
    pub bytes_done: u64,
    pub hashed_files: u64,
    pub hashed_bytes: u64,
    pub reused_files: u64,
    pub errors: u64,
}

/// Applies every record from `records` until the channel closes; returns the counts.
pub(crate) fn write(
    catalogue: &mut Catalogue,
    snapshot: i64,
    job: i64,
    records: &Receiver<Vec<Record>>,
    shared: &Shared,
    progress: &dyn Progress,
) -> Result<Tally> {
    let path = catalogue.path().to_path_buf();
    let mut writer = Writer {
        conn: catalogue.conn_mut(),
        snapshot,
        job,
        shared,
        progress,
        tally: Tally::default(),
        accounts: Accounts::of_this_machine(),
    };
    writer.run(records).in_catalogue(&path).inspect_err(|_| {
        // Leave no transaction open; the caller records the failure.
        let _ = writer.conn.execute_batch("ROLLBACK");
    })
}

struct Writer<'a> {
    conn: &'a mut Connection,
    snapshot: i64,
    job: i64,
    shared: &'a Shared,
    progress: &'a dyn Progress,
    tally: Tally,
    /// The names of owners and groups, recorded beside their ids.
    accounts: Accounts,
}

impl Writer<'_> {
    fn run(&mut self, records: &Receiver<Vec<Record>>) -> rusqlite::Result<Tally> {
        self.conn.execute_batch("BEGIN")?;
        let mut pending = 0usize;
        let mut last_commit = Instant::now();
        let mut last_event = Instant::now();
        loop {
            let timeout = COMMIT_INTERVAL.saturating_sub(last_commit.elapsed());
            match records.recv_timeout(timeout) {
                Ok(batch) => {
                    pending += batch.len();
                    for record in batch {
                        self.apply(record)?;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if pending > 0 && (pending >= BATCH_ROWS || last_commit.elapsed() >= COMMIT_INTERVAL) {
                self.commit()?;
                self.conn.execute_batch("BEGIN")?;
                pending = 0;
                last_commit = Instant::now();
            }
            if last_event.elapsed() >= EVENT_INTERVAL {
                self.progress.event(&Event::ScanProgress(self.counters()));
                last_event = Instant::now();
            }
        }
        self.commit()?;
        self.progress.event(&Event::ScanProgress(self.counters()));
        Ok(self.tally)
    }

    fn commit(&mut self) -> rusqlite::Result<()> {
        let c = self.counters();
        let phase = if c.walk_finished {
            "hashing"
        } else {
            "walking and hashing"
        };
        let counters = JobCounters {
            files_done: c.files_done,
            bytes_done: c.bytes_done,
            files_total: c.files_total,
            bytes_total: c.bytes_total,
        };
        update_job(self.conn, self.job, phase, counters)?;
        self.conn.execute_batch("COMMIT")
    }

    fn counters(&self) -> ScanProgress {
        let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let walk_finished = self.shared.walk_finished.load(Ordering::Relaxed);
        let files_found = load(&self.shared.files_found);
        let bytes_found = load(&self.shared.bytes_found);
        // The walk's counts are exact once it has finished; before, the counter's are ahead.
        let (files_total, bytes_total) = if walk_finished {
            (files_found, bytes_found)
        } else {
            (
                files_found.max(load(&self.shared.files_counted)),
                bytes_found.max(load(&self.shared.bytes_counted)),
            )
        };
        ScanProgress {
            files_done: self.tally.files_done,
            bytes_done: self.tally.bytes_done,
            files_found,
            bytes_found,
            files_total,
            bytes_total,
            totals_final: walk_finished || self.shared.count_finished.load(Ordering::Relaxed),
            walk_finished,
            hashed_files: self.tally.hashed_files,
            hashed_bytes: self.tally.hashed_bytes,
            reused_files: self.tally.reused_files,
            errors: self.tally.errors,
        }
    }

    fn count_file(&mut self, kind: EntryKind, size: u64) {
        if kind == EntryKind::File {
            self.tally.files_done += 1;
            self.tally.bytes_done += size;
        }
    }

    fn apply(&mut self, record: Record) -> rusqlite::Result<()> {
        match record {
            Record::New {
                found,
                content,
                problem,
            } => {
                self.count_file(found.stat.kind, found.stat.size);
                let content_id = match content {
                    Content::None => None,
                    Content::Known(id) => {
                        self.tally.reused_files += 1;
                        Some(id)
                    }
                    Content::Hashed { hash, size } => {
                        self.tally.hashed_files += 1;
                        self.tally.hashed_bytes += size;
                        Some(self.content_id(&hash, size)?)
                    }
                };
                self.insert_entry(&found, content_id)?;
                if let Some(problem) = problem {
                    self.record_problem(&found.rel, &problem)?;
                }
            }
            Record::Unchanged {
                entry_id,
                kind,
                size,
            } => {
                self.count_file(kind, size);
                if kind == EntryKind::File {
                    self.tally.reused_files += 1;
                }
                let mut stmt = self
                    .conn
                    .prepare_cached("UPDATE entry SET last_snapshot = ?2 WHERE id = ?1")?;
                stmt.execute((entry_id, self.snapshot))?;
            }
            Record::AlreadyRecorded { kind, size } => {
                self.count_file(kind, size);
                if kind == EntryKind::File {
                    self.tally.reused_files += 1;
                }
            }
            Record::Problem { rel, problem } => self.record_problem(&rel, &problem)?,
        }
        Ok(())
    }

    /// The id of the content with `hash`, inserted if new.
    fn content_id(&mut self, hash: &ContentHash, size: u64) -> rusqlite::Result<i64> {
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO content (hash, size) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING",
        )?;
        if insert.execute((hash, size as i64))? == 1 {
            return Ok(self.conn.last_insert_rowid());
        }
        let mut select = self
            .conn
            .prepare_cached("SELECT id FROM content WHERE hash = ?1")?;
        select.query_row([hash], |r| r.get(0))
    }

    fn insert_entry(&mut self, found: &Found, content_id: Option<i64>) -> rusqlite::Result<()> {
        if let Some(replaced) = found.replaces {
            // A resumed scan redoes this path: drop what the interrupted run recorded for it.
            if replaced.first_snapshot == self.snapshot {
                let mut stmt = self
                    .conn
                    .prepare_cached("DELETE FROM entry WHERE id = ?1")?;
                stmt.execute([replaced.id])?;
            } else {
                let mut stmt = self
                    .conn
                    .prepare_cached("UPDATE entry SET last_snapshot = ?2 WHERE id = ?1")?;
                stmt.execute((replaced.id, self.snapshot - 1))?;
            }
            let mut stmt = self
                .conn
                .prepare_cached("DELETE FROM scan_error WHERE snapshot = ?1 AND path = ?2")?;
            stmt.execute((self.snapshot, found.rel.as_slice()))?;
        }
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO entry (path, kind, content_id, size, mtime_ns, mode, link_target, dev,
                                inode, first_snapshot, last_snapshot, uid, gid, user_name,
                                group_name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13, ?14)",
        )?;
        let s = &found.stat;
        stmt.execute(rusqlite::params![
            found.rel.as_slice(),
            s.kind.code(),
            content_id,
            s.size as i64,
            s.mtime_ns,
            i64::from(s.mode),
            found.link_target.as_deref(),
            s.dev as i64,
            s.inode as i64,
            self.snapshot,
            i64::from(s.uid),
            i64::from(s.gid),
            self.accounts.user_name(s.uid),
            self.accounts.group_name(s.gid),
        ])?;
        Ok(())
    }

    fn record_problem(&mut self, rel: &[u8], problem: &FileProblem) -> rusqlite::Result<()> {
        self.tally.errors += 1;
        let cause = problem.cause.to_string();
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO scan_error (snapshot, path, cause, at_ns) VALUES (?1, ?2, ?3, ?4)",
        )?;
        stmt.execute((self.snapshot, rel, &cause, now_ns()))?;
        self.progress
            .event(&Event::FileProblem(Problem::from(problem)));
        Ok(())
    }
}
