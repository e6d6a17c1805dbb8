//! Rescans: only new or changed files are read again; each scan is a new snapshot.

use std::time::{Duration, SystemTime};

use crate::support::{Scratch, expected_entries, many_files};

#[test]
fn a_second_scan_rehashes_nothing_unchanged() {
    let s = Scratch::new();
    many_files(&s, "docs", 25);
    std::os::unix::fs::symlink("docs", s.drive.join("link")).unwrap();
    s.settle();
    let first = s.scan();
    assert_eq!(first.code, 0);
    assert_eq!(first.summary()["hashed_files"], 25);
    assert_eq!(first.summary()["snapshot"], 1);

    let second = s.scan();
    assert_eq!(second.code, 0);
    let summary = second.summary();
    assert_eq!(summary["snapshot"], 2);
    assert_eq!(summary["hashed_files"], 0);
    assert_eq!(summary["hashed_bytes"], 0);
    assert_eq!(summary["reused_files"], 25);
    assert_eq!(summary["files"], 25);
    assert_eq!(summary["symlinks"], 1);
    // Unchanged entries are one row each, valid over both snapshots.
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM entry", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 25 + 2);
}

#[test]
fn a_rescan_reads_only_new_and_changed_files_and_forgets_deleted_ones() {
    let s = Scratch::new();
    many_files(&s, "docs", 10);
    s.settle();
    assert_eq!(s.scan().code, 0);

    // Same size, different content and mtime.
    let changed = s.write("docs/name-003", "CONTENT 3\n".repeat(4));
    let later = SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&changed)
        .unwrap()
        .set_modified(later)
        .unwrap();
    s.write("docs/new-file", "brand new");
    std::fs::remove_file(s.drive.join("docs/name-007")).unwrap();

    let run = s.scan();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = run.summary();
    assert_eq!(summary["hashed_files"], 2);
    assert_eq!(summary["reused_files"], 8);
    assert_eq!(summary["files"], 10);
    assert_eq!(s.entries(), expected_entries(&s.drive));
    assert_eq!(s.info()["files"], 10);
}

#[test]
fn a_file_replaced_with_the_same_size_and_mtime_is_read_again() {
    // A new inode is a new file, even if size and mtime match (e.g. restored from a backup).
    let s = Scratch::new();
    let path = s.write("f", "aaaa");
    assert_eq!(s.scan().code, 0);
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let replacement = s.write("g", "bbbb");
    std::fs::File::options()
        .write(true)
        .open(&replacement)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    std::fs::rename(&replacement, &path).unwrap();
    let run = s.scan();
    assert_eq!(run.summary()["hashed_files"], 1);
    assert_eq!(s.entries(), expected_entries(&s.drive));
}
