//! The writer: the one thread that writes the catalogue during a scan. It applies records in
//! batches, one transaction per batch, and updates the job row in the same transaction, so the
//! catalogue and the job's counters always agree, also after a kill -9.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::{Content, Found, Record, Shared};
use crate::accounts::Accounts;
use crate::catalogue::{Catalogue, EntryKind, JobCounters, NewEntry, SnapshotWriter};
use crate::error::{FileProblem, Result};
use crate::problem::Problem;
use crate::progress::{Event, Progress, ScanProgress};

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
    let mut writer = Writer {
        rows: catalogue.snapshot_writer(snapshot),
        job,
        shared,
        progress,
        tally: Tally::default(),
        accounts: Accounts::of_this_machine(),
    };
    writer.run(records).inspect_err(|_| {
        // Leave no transaction open; the caller records the failure.
        writer.rows.roll_back();
    })
}

struct Writer<'a> {
    rows: SnapshotWriter<'a>,
    job: i64,
    shared: &'a Shared,
    progress: &'a dyn Progress,
    tally: Tally,
    /// The names of owners and groups, recorded beside their ids.
    accounts: Accounts,
}

impl Writer<'_> {
    fn run(&mut self, records: &Receiver<Vec<Record>>) -> Result<Tally> {
        self.rows.begin()?;
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
                self.rows.begin()?;
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

    fn commit(&mut self) -> Result<()> {
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
        self.rows.commit(self.job, phase, counters)
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

    fn apply(&mut self, record: Record) -> Result<()> {
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
                        Some(self.rows.content_id(&hash, size)?)
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
                self.rows.extend_entry(entry_id)?;
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

    fn insert_entry(&mut self, found: &Found, content_id: Option<i64>) -> Result<()> {
        if let Some(replaced) = found.replaces {
            // A resumed scan redoes this path: drop what the interrupted run recorded for it.
            self.rows
                .redo_entry(replaced.id, replaced.first_snapshot, &found.rel)?;
        }
        let s = &found.stat;
        self.rows.insert_entry(&NewEntry {
            path: &found.rel,
            kind: s.kind,
            content_id,
            size: s.size,
            mtime_ns: s.mtime_ns,
            mode: s.mode,
            link_target: found.link_target.as_deref(),
            dev: s.dev,
            inode: s.inode,
            uid: s.uid,
            gid: s.gid,
            user_name: self.accounts.user_name(s.uid),
            group_name: self.accounts.group_name(s.gid),
        })
    }

    fn record_problem(&mut self, rel: &[u8], problem: &FileProblem) -> Result<()> {
        self.tally.errors += 1;
        let cause = problem.cause.to_string();
        self.rows.record_problem(rel, &cause)?;
        self.progress
            .event(&Event::FileProblem(Problem::from(problem)));
        Ok(())
    }
}
