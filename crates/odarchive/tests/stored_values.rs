//! A value in the catalogue file that this build does not know (a state, a kind, a schema
//! version) is an error naming the catalogue and the value: never read as some default.
//! Each test writes the bad value with a connection of its own, then reads through the
//! library.

use std::path::{Path, PathBuf};

use odarchive::{Catalogue, Error};

/// A catalogue with one complete snapshot holding one file, one plan and one written disc.
fn catalogue() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    drop(Catalogue::create_or_open(&path).unwrap());
    raw(&path)
        .execute_batch(
            "INSERT INTO snapshot (id, drive_path, started_ns, finished_ns, state)
                 VALUES (1, x'2f', 1, 2, 'complete');
             INSERT INTO content (id, hash, size) VALUES (1, zeroblob(32), 3);
             INSERT INTO entry (path, kind, content_id, size, mtime_ns, mode, dev, inode,
                                first_snapshot, last_snapshot)
                 VALUES (x'61', 1, 1, 3, 0, 420, 0, 0, 1, 1);
             INSERT INTO plan (id, created_ns, snapshot, media, capacity, margin, first_paths,
                               folders_split, catalogue_size, catalogue_gzip)
                 VALUES (1, 0, 1, 'cd', 0, 0, '[]', 0, 0, 0);
             INSERT INTO disc (id, number, plan_id, snapshot, capacity, margin, media, label,
                               state, image_size, files, bytes)
                 VALUES (1, 1, 1, 1, 0, 0, 'cd', 'L1', 'written', 0, 1, 3);",
        )
        .unwrap();
    (dir, path)
}

/// A connection of the test's own, which may write what the schema's checks refuse.
fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    conn
}

/// `result` is `Error::Corrupt` naming the catalogue at `path` and `value`.
fn assert_corrupt<T: std::fmt::Debug>(result: odarchive::Result<T>, path: &Path, value: &str) {
    match result {
        Err(e @ Error::Corrupt { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(value), "{text}");
        }
        other => panic!("expected Corrupt naming {value}, got {other:?}"),
    }
}

#[test]
fn an_unknown_disc_state_is_corruption_not_planned() {
    let (_dir, path) = catalogue();
    raw(&path)
        .execute("UPDATE disc SET state = 'burnt'", [])
        .unwrap();
    let catalogue = Catalogue::open(&path).unwrap();
    assert_corrupt(catalogue.discs(), &path, "\"burnt\"");
}

#[test]
fn an_unknown_entry_kind_is_corruption() {
    let (_dir, path) = catalogue();
    // A second snapshot in which the file became something this build does not know.
    raw(&path)
        .execute_batch(
            "INSERT INTO snapshot (id, drive_path, started_ns, finished_ns, state)
                 VALUES (2, x'2f', 3, 4, 'complete');
             INSERT INTO entry (path, kind, size, mtime_ns, mode, dev, inode, first_snapshot,
                                last_snapshot)
                 VALUES (x'61', 9, 3, 0, 420, 0, 0, 2, 2);",
        )
        .unwrap();
    let catalogue = Catalogue::open(&path).unwrap();
    assert_corrupt(
        catalogue.for_each_entry(2, |_| Ok(())),
        &path,
        "entry kind \"9\"",
    );
    // The diff used to read it as a file.
    assert_corrupt(
        odarchive::diff::diff(&catalogue, Some(1), Some(2)),
        &path,
        "entry kind \"9\"",
    );
}

#[test]
fn an_unknown_snapshot_state_is_corruption() {
    let (_dir, path) = catalogue();
    raw(&path)
        .execute("UPDATE snapshot SET state = 'paused'", [])
        .unwrap();
    let catalogue = Catalogue::open(&path).unwrap();
    assert_corrupt(catalogue.snapshots(), &path, "snapshot state \"paused\"");
}

#[test]
fn an_unknown_job_state_is_corruption_not_failed() {
    let (_dir, path) = catalogue();
    raw(&path)
        .execute(
            "INSERT INTO job (kind, state, pid, hostname, started_ns, updated_ns, phase)
             VALUES ('scan', 'sleeping', 1, 'h', 0, 0, 'x')",
            [],
        )
        .unwrap();
    let catalogue = Catalogue::open(&path).unwrap();
    assert_corrupt(catalogue.latest_job(), &path, "job state \"sleeping\"");
}

#[test]
fn a_plan_whose_first_paths_are_not_a_list_is_corruption_not_empty() {
    let (_dir, path) = catalogue();
    raw(&path)
        .execute("UPDATE plan SET first_paths = 'Photos'", [])
        .unwrap();
    let catalogue = Catalogue::open(&path).unwrap();
    assert_corrupt(catalogue.plan_record(1), &path, "\"Photos\"");
}

#[test]
fn a_negative_or_absurd_schema_version_is_corruption() {
    for version in [-1i64, -5, 1_000_000] {
        let (_dir, path) = catalogue();
        raw(&path)
            .pragma_update(None, "user_version", version)
            .unwrap();
        let shown = version.to_string();
        assert_corrupt(Catalogue::open(&path), &path, &shown);
        assert_corrupt(Catalogue::open_read_only(&path), &path, &shown);
    }
}

#[test]
fn the_archive_row_carries_the_algorithm_as_its_type() {
    let (_dir, path) = catalogue();
    let catalogue = Catalogue::open(&path).unwrap();
    assert_eq!(
        catalogue.archive().unwrap().hash_algorithm,
        odarchive::HashAlgorithm::Sha256
    );
}

#[test]
fn an_image_hash_of_the_wrong_length_is_corruption_not_missing() {
    let (_dir, path) = catalogue();
    raw(&path)
        .execute("UPDATE disc SET image_sha256 = x'abcd'", [])
        .unwrap();
    let catalogue = Catalogue::open(&path).unwrap();
    assert_corrupt(catalogue.discs(), &path, "x'abcd'");
}
