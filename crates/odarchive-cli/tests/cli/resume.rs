//! Interrupted scans (kill -9, Ctrl-C) leave a consistent catalogue and resume without
//! re-reading finished files; `status` tells a running job from a dead one.

use std::time::Duration;

use crate::support::{Run, Scratch, expected_entries, many_files, signal, wait_for};

/// Waits until the running scan has committed at least `files` files; returns the count.
fn committed_files(s: &Scratch, files: u64) -> u64 {
    wait_for(Duration::from_secs(30), || {
        if !s.catalogue.exists() {
            return None;
        }
        let status = s.run(&["status", "--json"]);
        let value: serde_json::Value = serde_json::from_str(&status.stdout).ok()?;
        let done = value["job"]["files_done"].as_u64()?;
        (done >= files).then_some(done)
    })
}

#[test]
fn a_killed_scan_resumes_without_rereading_finished_files() {
    let s = Scratch::new();
    many_files(&s, "a", 80);
    let mut child = s.spawn_slow_scan(100, 2);
    let done_before_kill = committed_files(&s, 8);
    signal(&child, "-KILL");
    child.wait().unwrap();

    let status = s.run(&["status"]);
    assert!(status.stdout.contains("died"), "{}", status.stdout);
    assert!(status.stdout.contains("resume"), "{}", status.stdout);
    assert_eq!(s.status_json()["liveness"], "dead");
    let info = s.run(&["info"]);
    assert_eq!(info.code, 1, "no snapshot is complete yet");

    let run = s.scan();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = run.summary();
    assert_eq!(summary["resumed"], true);
    assert_eq!(summary["snapshot"], 1);
    let hashed = summary["hashed_files"].as_u64().unwrap();
    let reused = summary["reused_files"].as_u64().unwrap();
    assert_eq!(hashed + reused, 80);
    assert!(
        reused >= done_before_kill,
        "reused {reused} < committed {done_before_kill}"
    );
    assert!(hashed > 0 && hashed < 80);
    assert_eq!(s.entries(), expected_entries(&s.drive));
    assert!(s.run(&["status"]).stdout.contains("completed"));
}

#[test]
fn ctrl_c_stops_gracefully_and_the_next_scan_resumes() {
    let s = Scratch::new();
    many_files(&s, "a", 60);
    let child = s.spawn_slow_scan(100, 2);
    committed_files(&s, 4);
    signal(&child, "-INT");
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
    let status = s.status_json();
    assert_eq!(status["job"]["state"], "interrupted");
    let done = status["job"]["files_done"].as_u64().unwrap();
    assert!(done >= 4);

    let run = s.scan();
    let summary = run.summary();
    assert_eq!(summary["resumed"], true);
    assert_eq!(summary["reused_files"].as_u64().unwrap(), done);
    assert_eq!(s.entries(), expected_entries(&s.drive));
}

#[test]
fn status_reports_a_running_scan_and_then_its_end() {
    let s = Scratch::new();
    let none = s.run(&["status"]);
    assert_eq!(none.code, 1, "no catalogue yet");
    assert!(none.stderr.contains("does not exist"), "{}", none.stderr);

    many_files(&s, "a", 60);
    let child = s.spawn_slow_scan(150, 2);
    let pid = child.id().to_string();
    committed_files(&s, 1);
    let running = s.run(&["status"]);
    assert_eq!(running.code, 0);
    assert!(running.stdout.contains("is running"), "{}", running.stdout);
    assert!(running.stdout.contains(&pid), "{}", running.stdout);
    assert!(
        running.stdout.contains("last progress"),
        "{}",
        running.stdout
    );
    assert_eq!(s.status_json()["liveness"], "alive");

    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = s.run(&["status"]);
    assert!(after.stdout.contains("completed"), "{}", after.stdout);
    assert!(after.stdout.contains("60 of 60 files"), "{}", after.stdout);
    assert_eq!(s.status_json()["liveness"], "not_running");
}
