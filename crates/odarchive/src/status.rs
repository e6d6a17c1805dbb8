//! What the current or last job is doing, read from the catalogue (also while another process
//! writes it), and whether a job recorded as running is really alive.

use serde::Serialize;

use crate::catalogue::{Catalogue, Job, JobState};
use crate::error::Result;
use crate::host;
use crate::time::now_ns;

/// The catalogue's latest job and what can be said about it.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The latest job, if any job ever ran.
    pub job: Option<Job>,
    /// Whether it is alive, for a job recorded as running.
    pub liveness: Liveness,
    /// Seconds since the job last recorded progress.
    pub seconds_since_progress: Option<f64>,
    /// Number of the newest complete snapshot, if any.
    pub latest_complete_snapshot: Option<i64>,
    /// What a running `odarchive mount` of this catalogue waits for (the discs its reads
    /// wanted and were not given), if one recorded it.
    pub mount: Option<crate::mount::MountState>,
}

/// Whether a job recorded as `running` still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// No job runs (none recorded, or the latest has ended).
    NotRunning,
    /// Its process exists on this host.
    Alive,
    /// It is recorded as running but its process no longer exists on this host: it died
    /// (killed, crashed, machine restarted). The next run of the same command resumes it.
    Dead,
    /// It runs on another host, or this host cannot tell.
    Unknown,
}

/// Reads the status of `catalogue`'s latest job.
pub fn status(catalogue: &Catalogue) -> Result<Status> {
    let job = catalogue.latest_job()?;
    let liveness = match &job {
        Some(job) if job.state == JobState::Running => {
            if job.hostname != host::hostname() {
                Liveness::Unknown
            } else {
                match host::job_process_alive(job.pid, job.started_ns) {
                    Some(true) => Liveness::Alive,
                    Some(false) => Liveness::Dead,
                    None => Liveness::Unknown,
                }
            }
        }
        _ => Liveness::NotRunning,
    };
    let seconds_since_progress = job
        .as_ref()
        .map(|j| (now_ns() - j.updated_ns).max(0) as f64 / 1e9);
    let latest_complete_snapshot = catalogue.latest_complete_snapshot()?.map(|s| s.id);
    Ok(Status {
        job,
        liveness,
        seconds_since_progress,
        latest_complete_snapshot,
        mount: crate::mount::mount_state(catalogue.path()),
    })
}
