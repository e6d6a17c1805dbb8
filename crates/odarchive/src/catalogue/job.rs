//! The `job` table: long-running operations and how far they got.
//!
//! A job row is created when an operation starts, updated in the same transaction as each batch
//! of its work, and closed with its final state. A row left `running` by a process that no
//! longer exists is how a dead job is recognised (see [`crate::status`]).

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};

use super::{Catalogue, InCatalogue};
use crate::error::{Error, Result};
use crate::host;
use crate::time::now_ns;

/// The state of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Running, or died without saying so (see [`crate::status::Liveness`]).
    Running,
    /// Finished without problems.
    Completed,
    /// Finished; some files had problems that were recorded.
    CompletedWithErrors,
    /// Stopped by an error.
    Failed,
    /// Stopped by the user or killed; the next run resumes.
    Interrupted,
}

impl JobState {
    /// The text stored in `job.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::CompletedWithErrors => "completed_with_errors",
            JobState::Failed => "failed",
            JobState::Interrupted => "interrupted",
        }
    }

    /// The state stored as `s`; `None` for a text this build does not know.
    pub(super) fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "running" => JobState::Running,
            "completed" => JobState::Completed,
            "completed_with_errors" => JobState::CompletedWithErrors,
            "failed" => JobState::Failed,
            "interrupted" => JobState::Interrupted,
            _ => return None,
        })
    }
}

/// A row of the `job` table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Job {
    /// Job number.
    pub id: i64,
    /// What it does, e.g. `scan`.
    pub kind: String,
    /// Its recorded state.
    pub state: JobState,
    /// Process id of the process that ran it.
    pub pid: i64,
    /// Host name of the machine that ran it.
    pub hostname: String,
    /// The snapshot it works on, if any.
    pub snapshot: Option<i64>,
    /// Start time, ns since the epoch.
    pub started_ns: i64,
    /// Time of the last recorded progress, ns since the epoch.
    pub updated_ns: i64,
    /// End time, if it ended.
    pub finished_ns: Option<i64>,
    /// What it is doing, e.g. `walking and hashing`, `hashing`, `finishing`.
    pub phase: String,
    /// Files done so far.
    pub files_done: u64,
    /// Bytes done so far.
    pub bytes_done: u64,
    /// Files known so far (grows while the walk goes on).
    pub files_total: u64,
    /// Bytes known so far.
    pub bytes_total: u64,
    /// A closing message, e.g. the error that stopped it.
    pub message: Option<String>,
}

/// Progress counters written to a job row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct JobCounters {
    pub files_done: u64,
    pub bytes_done: u64,
    pub files_total: u64,
    pub bytes_total: u64,
}

pub(super) fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: row.get(0)?,
        kind: row.get(1)?,
        state: row.get(2)?,
        pid: row.get(3)?,
        hostname: row.get(4)?,
        snapshot: row.get(5)?,
        started_ns: row.get(6)?,
        updated_ns: row.get(7)?,
        finished_ns: row.get(8)?,
        phase: row.get(9)?,
        files_done: row.get::<_, i64>(10)? as u64,
        bytes_done: row.get::<_, i64>(11)? as u64,
        files_total: row.get::<_, i64>(12)? as u64,
        bytes_total: row.get::<_, i64>(13)? as u64,
        message: row.get(14)?,
    })
}

pub(super) const JOB_COLUMNS: &str = "id, kind, state, pid, hostname, snapshot, started_ns, updated_ns, \
     finished_ns, phase, files_done, bytes_done, files_total, bytes_total, message";

impl Catalogue {
    /// The most recently started job.
    pub fn latest_job(&self) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM job ORDER BY id DESC LIMIT 1");
        self.conn
            .query_row(&sql, [], job_from_row)
            .optional()
            .in_catalogue(&self.path)
    }

    /// Records the start of a job. Refuses when another live process runs a job on this
    /// catalogue; marks jobs of dead processes on this host `interrupted`.
    pub(crate) fn start_job(&mut self, kind: &str) -> Result<i64> {
        let path = self.path.clone();
        let me = host::hostname();
        // Take the write lock before looking, so two processes cannot both see no running job.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .in_catalogue(&path)?;
        let running: Vec<Job> = {
            let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE state = 'running'");
            let mut stmt = tx.prepare(&sql).in_catalogue(&path)?;
            let rows = stmt.query_map([], job_from_row).in_catalogue(&path)?;
            rows.collect::<rusqlite::Result<_>>().in_catalogue(&path)?
        };
        for job in running {
            // A job this process holds open ([`Catalogue::begin_job`]) may run others inside
            // it (a server's archive job runs a scan, then a write).
            if job.pid == i64::from(std::process::id())
                && super::job_history::held_here(&path, job.id)
            {
                continue;
            }
            let alive = job.hostname != me
                || host::job_process_alive(job.pid, job.started_ns).unwrap_or(true);
            if alive && job.pid != i64::from(std::process::id()) {
                return Err(Error::Busy {
                    path,
                    job: job.id,
                    kind: job.kind,
                    pid: job.pid,
                    hostname: job.hostname,
                });
            }
            tx.execute(
                "UPDATE job SET state = 'interrupted', finished_ns = updated_ns,
                     message = 'the process died; the next run resumes it' WHERE id = ?1",
                [job.id],
            )
            .in_catalogue(&path)?;
        }
        let now = now_ns();
        tx.execute(
            "INSERT INTO job (kind, state, pid, hostname, started_ns, updated_ns, phase)
             VALUES (?1, 'running', ?2, ?3, ?4, ?4, 'starting')",
            (kind, i64::from(std::process::id()), &me, now),
        )
        .in_catalogue(&path)?;
        let id = tx.last_insert_rowid();
        tx.commit().in_catalogue(&path)?;
        Ok(id)
    }
}

impl Catalogue {
    /// Writes a job's progress.
    pub(crate) fn update_job(&self, job: i64, phase: &str, counters: JobCounters) -> Result<()> {
        update_job(&self.conn, job, phase, counters).in_catalogue(&self.path)
    }

    /// Closes a job with its final state and message.
    pub(crate) fn finish_job(
        &self,
        job: i64,
        state: JobState,
        message: Option<&str>,
    ) -> Result<()> {
        finish_job(&self.conn, job, state, message).in_catalogue(&self.path)
    }
}

/// Writes a job's progress; called inside the transaction that commits the work it counts.
pub(super) fn update_job(
    conn: &Connection,
    job: i64,
    phase: &str,
    counters: JobCounters,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE job SET updated_ns = ?2, phase = ?3, files_done = ?4, bytes_done = ?5,
             files_total = ?6, bytes_total = ?7 WHERE id = ?1",
    )?;
    stmt.execute((
        job,
        now_ns(),
        phase,
        counters.files_done as i64,
        counters.bytes_done as i64,
        counters.files_total as i64,
        counters.bytes_total as i64,
    ))?;
    Ok(())
}

/// Closes a job with its final state and message.
pub(super) fn finish_job(
    conn: &Connection,
    job: i64,
    state: JobState,
    message: Option<&str>,
) -> rusqlite::Result<()> {
    let now = now_ns();
    conn.execute(
        "UPDATE job SET state = ?2, updated_ns = ?3, finished_ns = ?3, phase = 'done',
             message = ?4 WHERE id = ?1",
        (job, state, now, message),
    )?;
    Ok(())
}
