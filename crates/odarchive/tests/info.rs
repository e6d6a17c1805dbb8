//! `info` reads the counters stored with a snapshot (schema 9) instead of counting millions of
//! rows, falls back to counting a snapshot that has none stored, and every way a snapshot
//! enters a catalogue (scan, import, merge) stores them.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use odarchive::catalogue::import::ImportOptions;
use odarchive::{Catalogue, FileOpener, Info, NoProgress, ScanOptions, StdOpener};

/// Fails to open files whose name ends with `.locked`: they are recorded without a content.
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

/// A drive with duplicates, an unreadable file, a symlink, an empty folder and one largest
/// file (`size` bytes at `big`).
fn drive(big: &str, size: usize) -> tempfile::TempDir {
    let drive = tempfile::tempdir().unwrap();
    let root = drive.path();
    std::fs::create_dir_all(root.join("docs/empty")).unwrap();
    std::fs::write(root.join("docs/a.txt"), "same").unwrap();
    std::fs::write(root.join("docs/b.txt"), "same").unwrap();
    std::fs::write(root.join("secret.locked"), vec![7u8; 10]).unwrap();
    std::fs::write(root.join(big), vec![1u8; size]).unwrap();
    std::os::unix::fs::symlink("docs/a.txt", root.join("link")).unwrap();
    drive
}

/// A catalogue at `dir/name` with one scan of `drive`, the `.locked` file unreadable.
fn scanned(dir: &Path, name: &str, drive: &Path) -> Catalogue {
    let mut catalogue = Catalogue::create_or_open(dir.join(name)).unwrap();
    let options = ScanOptions {
        opener: Some(Arc::new(LockedOpener)),
        ..Default::default()
    };
    odarchive::scan(&mut catalogue, drive, &options, &NoProgress).unwrap();
    catalogue
}

/// The catalogue file's own connection, for reading and changing stored counters.
fn sql(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

/// Forgets schema 9's counters of every snapshot, as a catalogue scanned before it has them.
fn forget_counters(path: &Path) {
    sql(path)
        .execute(
            "UPDATE snapshot SET unhashed_files = NULL, largest_path = NULL, largest_size = NULL",
            [],
        )
        .unwrap();
}

/// The stored (unhashed files, largest path, largest size) of `snapshot`.
fn stored(path: &Path, snapshot: i64) -> (Option<i64>, Option<Vec<u8>>, Option<i64>) {
    sql(path)
        .query_row(
            "SELECT unhashed_files, largest_path, largest_size FROM snapshot WHERE id = ?1",
            [snapshot],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

fn expect_counts(info: &Info, big: &str, size: u64) {
    assert_eq!(info.files, 4, "{info:?}");
    assert_eq!(info.directories, 2, "{info:?}");
    assert_eq!(info.symlinks, 1, "{info:?}");
    assert_eq!(info.unhashed_files, 1, "{info:?}");
    assert_eq!(info.unique_contents, 2, "{info:?}");
    let largest = info.largest_file.as_ref().expect("a largest file");
    assert_eq!((largest.path.as_str(), largest.size), (big, size));
}

#[test]
fn a_scan_stores_every_counter_and_info_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let drive = drive("video.bin", 5000);
    let catalogue = scanned(dir.path(), "cat.db", drive.path());
    let counted = odarchive::info(&catalogue).unwrap();
    expect_counts(&counted, "video.bin", 5000);
    let db = dir.path().join("cat.db");
    assert_eq!(
        stored(&db, counted.snapshot),
        (Some(1), Some(b"video.bin".to_vec()), Some(5000))
    );

    // What `info` shows is the stored row: change it and `info` follows.
    sql(&db)
        .execute(
            "UPDATE snapshot SET files = 123456, unhashed_files = 42",
            [],
        )
        .unwrap();
    let read = odarchive::info(&catalogue).unwrap();
    assert_eq!((read.files, read.unhashed_files), (123456, 42));
}

#[test]
fn a_snapshot_without_stored_counters_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let drive = drive("video.bin", 5000);
    let catalogue = scanned(dir.path(), "cat.db", drive.path());
    let before = odarchive::info(&catalogue).unwrap();
    let db = dir.path().join("cat.db");
    forget_counters(&db);
    sql(&db)
        .execute("UPDATE snapshot SET files = 123456", [])
        .unwrap();
    let counted = odarchive::info(&catalogue).unwrap();
    assert_eq!(counted, before, "counted from the rows, not the stale row");
}

#[test]
fn import_and_merge_store_the_counters_of_what_they_bring() {
    let dir = tempfile::tempdir().unwrap();
    let ours_drive = drive("ours.bin", 3000);
    let theirs_drive = drive("theirs.bin", 9000);
    let ours = dir.path().join("ours.db");
    let theirs = dir.path().join("theirs.db");
    let mut catalogue = scanned(dir.path(), "ours.db", ours_drive.path());
    let other = scanned(dir.path(), "theirs.db", theirs_drive.path());
    let theirs_info = odarchive::info(&other).unwrap();
    drop(other);

    // An export carries only version 1's counters; the import counts the rest.
    let json = dir.path().join("theirs.json");
    let other = Catalogue::open(&theirs).unwrap();
    other.export_json_file(&json).unwrap();
    drop(other);
    let imported_db = dir.path().join("imported.db");
    let mut imported = Catalogue::create_or_open(&imported_db).unwrap();
    imported
        .import_json(File::open(&json).unwrap(), &json, &ImportOptions::default())
        .unwrap();
    let snapshot = imported.latest_complete_snapshot().unwrap().unwrap().id;
    assert_eq!(
        stored(&imported_db, snapshot),
        (Some(1), Some(b"theirs.bin".to_vec()), Some(9000))
    );
    let mut imported_info = odarchive::info(&imported).unwrap();
    imported_info.drive_path = theirs_info.drive_path.clone();
    assert_eq!(
        imported_info,
        Info {
            snapshot,
            ..theirs_info.clone()
        }
    );

    // A merged catalogue scanned before schema 9: its snapshot is counted as it comes in.
    forget_counters(&theirs);
    let other = Catalogue::open_read_only_upgraded(&theirs).unwrap();
    catalogue.merge(&other).unwrap();
    let merged = catalogue.latest_complete_snapshot().unwrap().unwrap().id;
    assert_eq!(
        stored(&ours, merged),
        (Some(1), Some(b"theirs.bin".to_vec()), Some(9000))
    );
    expect_counts(&odarchive::info(&catalogue).unwrap(), "theirs.bin", 9000);
}
