//! Jobs the server runs itself (a restore), one at a time: each on a thread of its own
//! through the same library calls as the CLI, its state kept here for `/api/status` and
//! `/api/events`. Jobs of other processes (a scan started by the CLI) are seen in the
//! catalogue's job table instead.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use odarchive::restore::{RestoreOptions, RestoreReport};
use odarchive::{Catalogue, Event, Progress};
use serde::Serialize;

use crate::wire::ApiError;

/// Where a server job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerJobState {
    /// It runs.
    Running,
    /// It did everything asked.
    Completed,
    /// It ended; some files had problems (listed in its report).
    CompletedWithErrors,
    /// It restored what the discs given hold; more discs are needed (listed in its report).
    NeedsDiscs,
    /// An error stopped it (its `error`).
    Failed,
}

/// A job run by this server.
#[derive(Debug, Clone, Serialize)]
pub struct ServerJob {
    /// Its number, counted from 1 in this server's life.
    pub id: u64,
    /// What it does: `restore`.
    pub kind: &'static str,
    /// Where it is.
    pub state: ServerJobState,
    /// When it started, ns since the epoch.
    pub started_ns: i64,
    /// When it last moved on.
    pub updated_ns: i64,
    /// When it ended.
    pub finished_ns: Option<i64>,
    /// What it does now, in words (`reading disc 2 (ODA_…_002): 14 files`).
    pub phase: String,
    /// The snapshot it restores.
    pub snapshot: i64,
    /// The folder it restores into.
    pub to: String,
    /// The paths asked for.
    pub paths: Vec<String>,
    /// Discs read so far.
    pub discs_read: Vec<u32>,
    /// The restore's report, once it ended (the shape of `restore --json`).
    pub report: Option<RestoreReport>,
    /// The error that stopped it.
    pub error: Option<String>,
}

/// The server's job slot.
#[derive(Debug, Default)]
pub struct Jobs {
    current: Mutex<Option<ServerJob>>,
}

impl Jobs {
    fn slot(&self) -> MutexGuard<'_, Option<ServerJob>> {
        // A thread that panicked while holding the lock left a job record, still usable.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current or last job.
    pub fn current(&self) -> Option<ServerJob> {
        self.slot().clone()
    }

    /// Starts a restore of `options` from the catalogue at `catalogue`, unless a job runs
    /// (409). Returns the new job.
    pub fn start_restore(
        self: &Arc<Self>,
        catalogue: PathBuf,
        options: RestoreOptions,
        paths: Vec<String>,
        snapshot: i64,
    ) -> Result<ServerJob, ApiError> {
        let job = {
            let mut slot = self.slot();
            if let Some(job) = slot.as_ref().filter(|j| j.state == ServerJobState::Running) {
                return Err(ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    format!(
                        "job {} ({}) is running; one job at a time (see /api/status)",
                        job.id, job.kind
                    ),
                ));
            }
            let now = odarchive::time::now_ns();
            let job = ServerJob {
                id: slot.as_ref().map_or(1, |j| j.id + 1),
                kind: "restore",
                state: ServerJobState::Running,
                started_ns: now,
                updated_ns: now,
                finished_ns: None,
                phase: "planning".into(),
                snapshot,
                to: options.to.to_string_lossy().into_owned(),
                paths,
                discs_read: Vec::new(),
                report: None,
                error: None,
            };
            *slot = Some(job.clone());
            job
        };
        let jobs = Arc::clone(self);
        std::thread::Builder::new()
            .name("odarchive-restore".into())
            .spawn(move || {
                let result = run_restore(&jobs, &catalogue, &options);
                jobs.finish(result);
            })
            .map_err(|e| {
                self.finish(Err(format!("cannot start a thread: {e}")));
                ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    format!("cannot start the restore: {e}"),
                )
            })?;
        Ok(job)
    }

    fn finish(&self, result: Result<RestoreReport, String>) {
        let mut slot = self.slot();
        let Some(job) = slot.as_mut() else { return };
        let now = odarchive::time::now_ns();
        job.updated_ns = now;
        job.finished_ns = Some(now);
        job.phase = "done".into();
        match result {
            Ok(report) => {
                job.state = if !report.missing_discs.is_empty() {
                    ServerJobState::NeedsDiscs
                } else if !report.problems.is_empty() {
                    ServerJobState::CompletedWithErrors
                } else {
                    ServerJobState::Completed
                };
                job.discs_read = report.discs_read.clone();
                job.report = Some(report);
            }
            Err(e) => {
                job.state = ServerJobState::Failed;
                job.error = Some(e);
            }
        }
    }
}

fn run_restore(
    jobs: &Arc<Jobs>,
    catalogue: &std::path::Path,
    options: &RestoreOptions,
) -> Result<RestoreReport, String> {
    // Writable, as the CLI's: restoring from discs of odarchive 0.1 records their names.
    let catalogue = Catalogue::open(catalogue).map_err(|e| e.to_string())?;
    let plan = odarchive::restore::prepare(&catalogue, options).map_err(|e| e.to_string())?;
    let progress = JobProgress(Arc::clone(jobs));
    odarchive::restore::execute(plan, &progress).map_err(|e| e.to_string())
}

/// Turns a restore's events into its job's phase.
struct JobProgress(Arc<Jobs>);

impl Progress for JobProgress {
    fn event(&self, event: &Event) {
        if let Event::RestoreDiscStarted {
            disc, label, files, ..
        } = event
        {
            let mut slot = self.0.slot();
            if let Some(job) = slot.as_mut() {
                job.updated_ns = odarchive::time::now_ns();
                job.phase = format!("reading disc {disc} ({label}): {files} files");
                job.discs_read.push(*disc);
            }
        }
    }
}
