//! Facts about this machine that jobs record: host name and whether the process that started a
//! job still runs.

use std::path::Path;

/// This machine's host name, or `unknown`.
pub fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Whether the process `pid` that started a job at `job_started_ns` still runs on this machine;
/// `None` where that cannot be told (no `/proc`).
///
/// A process with that id that started *after* the job is another process that was given the
/// same id: the job's process is gone.
pub fn job_process_alive(pid: i64, job_started_ns: i64) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    if pid <= 0 || !Path::new("/proc").join(pid.to_string()).exists() {
        return Some(false);
    }
    // One second of slack: the clock and the kernel's tick count are not read together.
    Some(match process_started_ns(pid) {
        Some(started) => started <= job_started_ns + 1_000_000_000,
        None => true,
    })
}

/// When process `pid` started, in ns since the Unix epoch, from `/proc/PID/stat` (field 22,
/// clock ticks since boot) and the boot time in `/proc/stat`.
fn process_started_ns(pid: i64) -> Option<i64> {
    /// `USER_HZ`: the unit of /proc's tick counts, 100 on every Linux architecture.
    const TICKS_PER_SECOND: i64 = 100;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields restart after the last
    // ')'. Field 22 is then the 20th.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let ticks: i64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let boot_seconds: i64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(boot_seconds * 1_000_000_000 + ticks * (1_000_000_000 / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::now_ns;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        let me = i64::from(std::process::id());
        assert_eq!(job_process_alive(me, now_ns()), Some(true));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i64::from(child.id());
        child.wait().unwrap();
        assert_eq!(job_process_alive(pid, now_ns()), Some(false));
    }

    #[test]
    fn a_process_younger_than_the_job_is_not_the_job_s_process() {
        let me = i64::from(std::process::id());
        let started = process_started_ns(me).unwrap();
        let now = now_ns();
        assert!(started <= now + 1_000_000_000, "{started} > {now}");
        assert!(
            started > now - 3_600_000_000_000,
            "this test process started within the hour"
        );
        // A job recorded long before this process started cannot be this process's.
        assert_eq!(job_process_alive(me, started - 60_000_000_000), Some(false));
    }

    #[test]
    fn hostname_is_not_empty() {
        assert!(!hostname().is_empty());
    }
}
