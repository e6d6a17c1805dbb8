//! Library-level scan tests that need to reach inside the pipeline: an injected file opener
//! that fails (root can open any file, so the CLI tests cannot always make one unreadable) and
//! cancellation at a known point.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sha2::Digest;

use odarchive::{Catalogue, Error, FileOpener, NoProgress, ScanOptions, StdOpener};

/// Fails to open files whose name ends with `.locked`.
#[derive(Debug)]
struct LockedOpener;

impl FileOpener for LockedOpener {
    fn open(&self, path: &Path) -> io::Result<File> {
        if path.to_string_lossy().ends_with(".locked") {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        StdOpener.open(path)
    }
}

/// Sets `cancel` after `after` files have been opened.
#[derive(Debug)]
struct CancellingOpener {
    opened: AtomicUsize,
    after: usize,
    cancel: Arc<AtomicBool>,
}

impl FileOpener for CancellingOpener {
    fn open(&self, path: &Path) -> io::Result<File> {
        if self.opened.fetch_add(1, Ordering::SeqCst) + 1 >= self.after {
            self.cancel.store(true, Ordering::SeqCst);
        }
        StdOpener.open(path)
    }
}

/// Scans `drive` with the default options.
fn scan(catalogue: &mut Catalogue, drive: &Path) -> odarchive::ScanSummary {
    odarchive::scan(catalogue, drive, &ScanOptions::default(), &NoProgress).unwrap()
}

/// A drive holding `files` (path, content).
fn drive_of(files: &[(String, String)]) -> tempfile::TempDir {
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    drive_with(&refs)
}

/// Scan options on `threads` threads whose opener cancels the scan after `after` files.
fn cancelled_after(after: usize, threads: usize) -> ScanOptions {
    let cancel = Arc::new(AtomicBool::new(false));
    let opener = CancellingOpener {
        opened: AtomicUsize::new(0),
        after,
        cancel: cancel.clone(),
    };
    ScanOptions {
        cancel: Some(cancel),
        opener: Some(Arc::new(opener)),
        threads: Some(threads),
        ..Default::default()
    }
}

fn drive_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let drive = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = drive.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        settle(&path);
    }
    drive
}

/// Moves `path`'s mtime an hour back: old enough that a rescan trusts its recorded hash.
fn settle(path: &Path) {
    let file = File::options().write(true).open(path).unwrap();
    let mtime = file.metadata().unwrap().modified().unwrap();
    file.set_modified(mtime - Duration::from_secs(3600))
        .unwrap();
}

/// The recorded hash of `path` in the newest snapshot, hex.
fn hash_of(catalogue: &Catalogue, path: &[u8]) -> String {
    let entry = catalogue.latest_version(path).unwrap().unwrap();
    odarchive::hex(entry.hash.expect("hashed").as_bytes())
}

#[test]
fn a_file_rewritten_within_its_scans_timestamp_tick_is_read_again() {
    // What a coarse timestamp hides, made by hand: the same size, inode and mtime, other bytes.
    let drive = tempfile::tempdir().unwrap();
    let path = drive.path().join("photo.jpg");
    std::fs::write(&path, "first version").unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let inode = std::fs::metadata(&path).unwrap().ino();
    let work = tempfile::tempdir().unwrap();
    let mut catalogue = Catalogue::create_or_open(work.path().join("c.db")).unwrap();
    let scan = |catalogue: &mut Catalogue| {
        odarchive::scan(
            catalogue,
            drive.path(),
            &ScanOptions::default(),
            &NoProgress,
        )
        .unwrap()
    };
    scan(&mut catalogue);
    let first = hash_of(&catalogue, b"photo.jpg");

    std::fs::write(&path, "other version").unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode);
    let summary = scan(&mut catalogue);
    assert_eq!(summary.hashed_files, 1, "the racy file is read again");
    let second = hash_of(&catalogue, b"photo.jpg");
    assert_ne!(second, first);
    assert_eq!(
        second,
        odarchive::hex(&sha2::Sha256::digest(b"other version"))
    );

    // Once its mtime is safely older than the scan that hashed it, the hash is trusted.
    settle(&path);
    scan(&mut catalogue);
    let summary = scan(&mut catalogue);
    assert_eq!((summary.hashed_files, summary.reused_files), (0, 1));
}

#[test]
fn a_file_that_cannot_be_opened_is_recorded_without_content_and_retried() {
    let drive = drive_with(&[("a.txt", "a"), ("b.locked", "b"), ("c.txt", "c")]);
    let work = tempfile::tempdir().unwrap();
    let mut catalogue = Catalogue::create_or_open(work.path().join("c.db")).unwrap();
    let options = ScanOptions {
        opener: Some(Arc::new(LockedOpener)),
        ..Default::default()
    };

    let summary = odarchive::scan(&mut catalogue, drive.path(), &options, &NoProgress).unwrap();
    assert_eq!(summary.info.errors, 1);
    assert_eq!(summary.info.unhashed_files, 1);
    assert_eq!(summary.hashed_files, 2);
    let mut errors = Vec::new();
    catalogue
        .for_each_scan_error(summary.info.snapshot, |path, cause| {
            errors.push((path.to_vec(), cause.to_string()))
        })
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, b"b.locked");
    assert!(errors[0].1.contains("cannot open"), "{}", errors[0].1);
    assert!(errors[0].1.contains("ermission denied"), "{}", errors[0].1);

    // With a working opener the next scan reads that file, and only it.
    let summary = scan(&mut catalogue, drive.path());
    assert_eq!(summary.hashed_files, 1);
    assert_eq!(summary.reused_files, 2);
    assert_eq!(summary.info.errors, 0);
    let entry = catalogue.latest_version(b"b.locked").unwrap().unwrap();
    assert!(entry.hash.is_some());
}

#[test]
fn a_cancelled_scan_commits_its_work_and_the_next_one_resumes() {
    let files: Vec<(String, String)> = (0..200)
        .map(|i| (format!("d{}/f{i:03}", i % 7), format!("content {i}")))
        .collect();
    let drive = drive_of(&files);
    let work = tempfile::tempdir().unwrap();
    let mut catalogue = Catalogue::create_or_open(work.path().join("c.db")).unwrap();
    let options = cancelled_after(50, 2);

    let result = odarchive::scan(&mut catalogue, drive.path(), &options, &NoProgress);
    assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
    assert!(catalogue.latest_complete_snapshot().unwrap().is_none());
    let job = catalogue.latest_job().unwrap().unwrap();
    assert_eq!(job.state, odarchive::JobState::Interrupted);
    assert!(
        job.files_done >= 40,
        "work done before the cancel is committed: {job:?}"
    );

    let summary = scan(&mut catalogue, drive.path());
    assert!(summary.resumed);
    assert_eq!(summary.info.snapshot, 1);
    assert_eq!(summary.reused_files, job.files_done);
    assert_eq!(summary.hashed_files + summary.reused_files, 200);
    assert_eq!(summary.info.files, 200);
    assert_eq!(catalogue.snapshots().unwrap().len(), 1);
}

#[test]
fn entries_stream_in_path_order_with_their_hashes() {
    let drive = drive_with(&[("b", "2"), ("a/x", "1"), ("a/y", "1")]);
    let work = tempfile::tempdir().unwrap();
    let mut catalogue = Catalogue::create_or_open(work.path().join("c.db")).unwrap();
    let summary = scan(&mut catalogue, drive.path());
    let mut seen = Vec::new();
    catalogue
        .for_each_entry(summary.info.snapshot, |e| {
            seen.push((e.path.clone(), e.kind, e.hash.map(|h| h.as_bytes()[0])));
            Ok(())
        })
        .unwrap();
    use odarchive::EntryKind::{Directory, File as F};
    // sha256("1") starts with 0x6b, sha256("2") with 0xd4.
    assert_eq!(
        seen,
        vec![
            (b"a".to_vec(), Directory, None),
            (b"a/x".to_vec(), F, Some(0x6b)),
            (b"a/y".to_vec(), F, Some(0x6b)),
            (b"b".to_vec(), F, Some(0xd4)),
        ]
    );
}

#[test]
fn a_resumed_scan_redoes_files_that_changed_since_the_interruption() {
    use sha2::Digest;
    let files: Vec<(String, String)> = (0..100)
        .map(|i| (format!("f{i:03}"), format!("content {i}")))
        .collect();
    let drive = drive_of(&files);
    let work = tempfile::tempdir().unwrap();
    let mut catalogue = Catalogue::create_or_open(work.path().join("c.db")).unwrap();
    let options = cancelled_after(40, 1);
    let result = odarchive::scan(&mut catalogue, drive.path(), &options, &NoProgress);
    assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");

    // Change a file the interrupted run recorded.
    let recorded = files
        .iter()
        .map(|(name, _)| name)
        .find(|name| catalogue.latest_version(name.as_bytes()).unwrap().is_some())
        .expect("the interrupted run recorded some files")
        .clone();
    std::fs::write(
        drive.path().join(&recorded),
        "changed after the interruption, longer",
    )
    .unwrap();

    let summary = scan(&mut catalogue, drive.path());
    assert!(summary.resumed);
    assert_eq!(summary.info.files, 100);
    let mut paths = Vec::new();
    catalogue
        .for_each_entry(summary.info.snapshot, |e| {
            if e.path == recorded.as_bytes() {
                let want = sha2::Sha256::digest(b"changed after the interruption, longer");
                assert_eq!(e.hash.unwrap().as_bytes(), want.as_slice());
            }
            paths.push(e.path);
            Ok(())
        })
        .unwrap();
    paths.dedup();
    assert_eq!(paths.len(), 100, "one version of each path in the snapshot");
    let rows: i64 = rusqlite::Connection::open(catalogue.path())
        .unwrap()
        .query_row("SELECT count(*) FROM entry", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 100, "the stale version was replaced, not kept");
}
