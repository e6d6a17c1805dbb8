//! `locate` of plain paths reads them from the path index: it finds exactly what a walk of the
//! whole snapshot finds (the same entries, versions and discs), for a folder whose siblings
//! sort inside its index range (`a b`, `a-x.bin`, `a.txt`), a non-UTF-8 name, a split file,
//! several paths one below another, and an older snapshot.

#[allow(dead_code)]
mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::plan_5m;
use odarchive::locate::locate;
use odarchive::{Catalogue, NoProgress, ScanOptions};
use testkit::noise;

fn make_drive(root: &Path) {
    for d in ["a/sub", "a b", "ab"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("a/x.bin"), noise(1, 3000)).unwrap();
    fs::write(root.join("a/sub/y.bin"), noise(2, 4000)).unwrap();
    fs::write(
        root.join("a").join(OsStr::from_bytes(b"n\xffme.bin")),
        noise(3, 500),
    )
    .unwrap();
    // Larger than a 5 MB disc: split into parts on several discs.
    fs::write(root.join("a/big.bin"), noise(4, 7_000_000)).unwrap();
    fs::write(root.join("a b/z.bin"), noise(5, 100)).unwrap();
    fs::write(root.join("a-x.bin"), noise(6, 100)).unwrap();
    fs::write(root.join("a.txt"), noise(7, 100)).unwrap();
    fs::write(root.join("ab/w.bin"), noise(8, 100)).unwrap();
    // A second name of x.bin's content, outside the folder.
    fs::write(root.join("ab/x-again.bin"), noise(1, 3000)).unwrap();
}

/// `locate` of `patterns` as JSON, to compare answers whole.
fn located(catalogue: &Catalogue, patterns: &[&str], snapshot: Option<i64>) -> serde_json::Value {
    let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
    serde_json::to_value(locate(catalogue, &patterns, snapshot).unwrap()).unwrap()
}

fn paths(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn plain_paths_find_what_the_walk_finds() {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive");
    make_drive(&drive);
    let mut catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
    odarchive::scan(&mut catalogue, &drive, &ScanOptions::default(), &NoProgress).unwrap();
    plan_5m(&mut catalogue, 0);
    // A second snapshot: one file more in the folder, one changed, planned onto new discs.
    fs::write(drive.join("a/sub/new.bin"), noise(9, 2000)).unwrap();
    fs::write(drive.join("a/x.bin"), noise(10, 3100)).unwrap();
    odarchive::scan(&mut catalogue, &drive, &ScanOptions::default(), &NoProgress).unwrap();
    plan_5m(&mut catalogue, 0);

    let folder = located(&catalogue, &["a"], None);
    assert_eq!(
        paths(&folder),
        [
            "a",
            "a/big.bin",
            "a/n\u{fffd}me.bin",
            "a/sub",
            "a/sub/new.bin",
            "a/sub/y.bin",
            "a/x.bin"
        ]
    );
    // A glob beside the path makes locate walk the whole snapshot: the same answer.
    assert_eq!(folder, located(&catalogue, &["a", "a/**"], None));
    let big = &folder[1]["locations"];
    assert!(
        big.as_array().unwrap().len() >= 2,
        "split over discs: {big}"
    );
    assert!(
        folder[6]["locations"].as_array().unwrap().len() == 1,
        "the changed file is on a disc: {folder}"
    );

    // Paths one below another, and a trailing slash: each entry once, in path order.
    assert_eq!(
        folder,
        located(&catalogue, &["a/sub", "a/", "a/x.bin"], None)
    );

    // One file, and a path that is not there.
    let one = located(&catalogue, &["a/sub/y.bin"], None);
    assert_eq!(paths(&one), ["a/sub/y.bin"]);
    assert_eq!(one, located(&catalogue, &["a/sub/y.bi[n]"], None));
    assert_eq!(
        paths(&located(&catalogue, &["a/sub/nothing"], None)),
        Vec::<String>::new()
    );

    // The first snapshot: without the new file, with x.bin's first version.
    let first = located(&catalogue, &["a"], Some(1));
    assert!(!paths(&first).contains(&"a/sub/new.bin".to_owned()));
    assert_eq!(first, located(&catalogue, &["a", "a/**"], Some(1)));
    assert_ne!(first[6], folder[6], "two versions of a/x.bin");
}
