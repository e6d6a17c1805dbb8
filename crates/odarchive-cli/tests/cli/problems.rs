//! Files that cannot be read, change while read, or are not files: reported with path and
//! cause, recorded, and the scan goes on and ends with exit code 3.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::support::{Run, Scratch, is_root, many_files, wait_for};

#[test]
fn an_unreadable_file_is_reported_recorded_and_retried() {
    let s = Scratch::new();
    many_files(&s, "ok", 3);
    let secret = s.write("secret.txt", "top secret");
    s.settle();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();

    // Root reads any file whatever its mode, so as root the scan runs without the capabilities
    // that allow it (setpriv is part of util-linux).
    let mut cmd = if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--bounding-set", "-dac_override,-dac_read_search"]);
        cmd.arg(assert_cmd::cargo::cargo_bin("odarchive"));
        cmd
    } else {
        Command::new(assert_cmd::cargo::cargo_bin("odarchive"))
    };
    cmd.arg("--catalogue")
        .arg(&s.catalogue)
        .args(["scan", "--json"])
        .arg(&s.drive);
    let run = Run::from(cmd.output().unwrap());

    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    assert!(run.stderr.contains("secret.txt"), "{}", run.stderr);
    assert!(run.stderr.contains("ermission denied"), "{}", run.stderr);
    let summary = run.summary();
    assert_eq!(summary["errors"], 1);
    assert_eq!(
        summary["hashed_files"], 3,
        "the other files are still hashed"
    );
    // Recorded as an error, and as an entry without content.
    let errors = s.scan_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, b"secret.txt");
    let row = &s.entries()[b"secret.txt".as_slice()];
    assert_eq!(row.hash, None);
    assert_eq!(s.info()["errors"], 1);

    // Once readable, the next scan reads it (and only it) and the errors are gone.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = s.scan();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.summary()["hashed_files"], 1);
    assert_eq!(s.info()["errors"], 0);
    assert!(s.entries()[b"secret.txt".as_slice()].hash.is_some());
}

#[test]
fn a_file_modified_while_being_read_is_an_error() {
    let s = Scratch::new();
    let growing = s.write("growing.log", "line 1\n");
    // The test-only delay holds the worker between opening and reading the file; append once
    // the scan has it open.
    let child = s.spawn_slow_scan(3000, 1);
    wait_for(Duration::from_secs(30), || {
        has_open(child.id(), &growing).then_some(())
    });
    std::fs::OpenOptions::new()
        .append(true)
        .open(&growing)
        .unwrap()
        .write_all(b"line 2\n")
        .unwrap();
    let run = Run::from(child.wait_with_output().unwrap());

    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    assert!(run.stderr.contains("growing.log"), "{}", run.stderr);
    assert!(
        run.stderr.contains("changed while being read"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("size 7 -> 14"), "{}", run.stderr);
    let errors = s.scan_errors();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].1.contains("changed while being read"));
    assert_eq!(s.entries()[b"growing.log".as_slice()].hash, None);

    let status = s.run(&["status"]);
    assert!(
        status.stdout.contains("completed with errors"),
        "{}",
        status.stdout
    );
}

#[test]
fn special_files_are_skipped_with_a_warning() {
    let s = Scratch::new();
    s.write("regular", "r");
    let fifo = s.drive.join("a-fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let run = s.scan();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("skipping fifo"), "{}", run.stderr);
    assert!(run.stderr.contains("a-fifo"), "{}", run.stderr);
    assert_eq!(run.summary()["skipped"], 1);
    let paths: Vec<Vec<u8>> = s.entries().into_keys().collect();
    assert_eq!(paths, vec![b"regular".to_vec()]);
}

/// Whether process `pid` has `path` open (Linux: a link in /proc/PID/fd).
fn has_open(pid: u32, path: &std::path::Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}
