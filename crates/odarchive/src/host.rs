//! Facts about this machine that jobs record: host name and whether a process still lives.

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

/// Whether process `pid` exists on this machine; `None` where that cannot be told (no
/// `/proc`).
pub fn process_alive(pid: i64) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    if pid <= 0 {
        return Some(false);
    }
    Some(Path::new("/proc").join(pid.to_string()).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert_eq!(process_alive(i64::from(std::process::id())), Some(true));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i64::from(child.id());
        child.wait().unwrap();
        assert_eq!(process_alive(pid), Some(false));
    }

    #[test]
    fn hostname_is_not_empty() {
        assert!(!hostname().is_empty());
    }
}
