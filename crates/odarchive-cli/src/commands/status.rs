//! `odarchive status`: the current or last job, how far it got, whether it is alive.

use std::time::Duration;

use anyhow::Result;
use indicatif::{HumanBytes, HumanDuration};
use odarchive::{Catalogue, JobState, Liveness, Status};

use crate::render::{count, out};
use crate::{Global, Outcome};

pub fn run(global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only(&global.catalogue)?;
    let status = odarchive::status(&catalogue)?;
    if global.json {
        out(&format!("{}\n", serde_json::to_string_pretty(&status)?))?;
    } else {
        out(&human(&status))?;
        out(&mount_waits(&status))?;
    }
    Ok(Outcome::Success)
}

fn ago(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.0} s ago")
    } else {
        format!("{} ago", HumanDuration(Duration::from_secs_f64(seconds)))
    }
}

/// The discs a running mount waits for, one line each.
fn mount_waits(status: &Status) -> String {
    let Some(mount) = &status.mount else {
        return String::new();
    };
    let mut out = String::new();
    for w in &mount.wanted {
        out.push_str(&format!(
            "Mount at {} (pid {}): {w}\n",
            mount.mountpoint.display(),
            mount.pid
        ));
    }
    out
}

fn human(status: &Status) -> String {
    let Some(job) = &status.job else {
        return "No job has run on this catalogue yet.\n".to_string();
    };
    let now_ns = odarchive::time::now_ns();
    let since = |ns: i64| ago((now_ns - ns).max(0) as f64 / 1e9);
    let target = job
        .snapshot
        .map(|s| format!(" of snapshot {s}"))
        .unwrap_or_default();
    let mut out = String::new();
    let headline = match (job.state, status.liveness) {
        (JobState::Running, Liveness::Alive) => format!(
            "Job {}: {}{target} is running (pid {} on {}), {}.",
            job.id, job.kind, job.pid, job.hostname, job.phase
        ),
        (JobState::Running, Liveness::Dead) => format!(
            "Job {}: {}{target} died: it is recorded as running, but process {} no longer exists \
             on {} (killed, crashed or the machine restarted). Interrupted; run the same `odarchive \
             {}` again to resume it.",
            job.id, job.kind, job.pid, job.hostname, job.kind
        ),
        (JobState::Running, _) => format!(
            "Job {}: {}{target} is recorded as running as pid {} on {}; this machine cannot tell \
             whether it is alive.",
            job.id, job.kind, job.pid, job.hostname
        ),
        (state, _) => format!(
            "Last job {}: {}{target}, {}.",
            job.id,
            job.kind,
            describe(state)
        ),
    };
    out.push_str(&headline);
    out.push('\n');
    out.push_str(&format!(
        "  progress       {} of {} files, {} of {}\n",
        count(job.files_done),
        count(job.files_total),
        HumanBytes(job.bytes_done),
        HumanBytes(job.bytes_total),
    ));
    out.push_str(&format!("  started        {}\n", since(job.started_ns)));
    match job.finished_ns {
        Some(finished) => out.push_str(&format!("  finished       {}\n", since(finished))),
        None => out.push_str(&format!("  last progress  {}\n", since(job.updated_ns))),
    }
    if let Some(message) = &job.message {
        out.push_str(&format!("  message        {message}\n"));
    }
    if let Some(snapshot) = status.latest_complete_snapshot {
        out.push_str(&format!("  latest complete snapshot: {snapshot}\n"));
    }
    out
}

fn describe(state: JobState) -> &'static str {
    match state {
        JobState::Running => "running",
        JobState::Completed => "completed",
        JobState::CompletedWithErrors => "completed with errors (see `odarchive info`)",
        JobState::Failed => "failed",
        JobState::Interrupted => "interrupted (run it again to resume)",
    }
}
