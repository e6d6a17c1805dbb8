//! The tree from the catalogue alone: folders listed a page at a time, every child once and
//! in byte order, grandchildren never; lookups and attributes without a disc.

use std::collections::BTreeSet;

use super::*;
use crate::{NoProgress, ScanOptions};

struct Quiet;

impl MountLog for Quiet {
    fn problem(&self, _: &Problem) {}
    fn disc_wanted(&self, _: &WantedDisc) {}
}

/// A scanned drive (no disc written) and its tree.
fn tree(make: impl FnOnce(&std::path::Path)) -> (tempfile::TempDir, ArchiveFs) {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive");
    std::fs::create_dir(&drive).unwrap();
    make(&drive);
    let mut catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
    crate::scan(&mut catalogue, &drive, &ScanOptions::default(), &NoProgress).unwrap();
    let options = MountOptions {
        mountpoint: dir.path().join("mnt"),
        ..MountOptions::default()
    };
    let fs = ArchiveFs::new(catalogue, &options, Box::new(Quiet)).unwrap();
    (dir, fs)
}

/// Every name of folder `node`, listed `page` names at a time.
fn list(fs: &ArchiveFs, node: u64, page: usize) -> Vec<Vec<u8>> {
    let mut names = Vec::new();
    let mut cookie = 0;
    loop {
        let got = fs.read_dir(node, cookie, page).unwrap();
        assert!(got.len() <= page);
        let Some(last) = got.last() else {
            return names;
        };
        cookie = last.next;
        names.extend(got.into_iter().map(|d| d.name));
    }
}

#[test]
fn a_folder_is_listed_page_by_page_each_child_once_in_byte_order_without_grandchildren() {
    let (_dir, fs) = tree(|drive| {
        let d = drive.join("d");
        std::fs::create_dir(&d).unwrap();
        for i in 0..1500 {
            std::fs::write(d.join(format!("f{i:04}")), b"").unwrap();
        }
        // Names around '/' in byte order: "a-b" and "a.c" sort between "a" and "a/…",
        // "a0" right after every "a/…".
        for sub in ["a/x/y", "a/z", "a-b/q", "b/deep/er/still"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        for f in ["a.c", "a0", "a-b/inside"] {
            std::fs::write(d.join(f), b"1").unwrap();
        }
    });
    let d = fs.lookup(nodes::TOP, b"latest").unwrap().node;
    let d = fs.lookup(d, b"d").unwrap().node;
    let mut want: Vec<Vec<u8>> = (0..1500).map(|i| format!("f{i:04}").into_bytes()).collect();
    want.extend(["a", "a-b", "a.c", "a0", "b"].map(|n| n.as_bytes().to_vec()));
    want.sort();
    for page in [1, 7, 128, 5000] {
        let names = list(&fs, d, page);
        assert_eq!(names.len(), want.len(), "page {page}");
        assert!(names == want, "page {page}: names or order differ");
    }
    // The binding starts its folder's own names at FIRST_COOKIE (after `.` and `..`).
    let from_start = fs.read_dir(d, 0, 10).unwrap();
    assert_eq!(from_start.len(), 10);
    assert_eq!(fs.read_dir(d, FIRST_COOKIE, 10).unwrap(), from_start);
    // The folder's last name says it is the last (the page after it costs no query), also
    // when the last page is exactly full; every other name does not.
    for page in [want.len(), want.len() - 1, 7] {
        let mut cookie = 0;
        let mut ends = Vec::new();
        loop {
            let got = fs.read_dir(d, cookie, page).unwrap();
            let Some(last) = got.last() else { break };
            cookie = last.next;
            ends.extend(got.iter().map(|e| e.next == END_COOKIE));
        }
        assert_eq!(ends.len(), want.len(), "page {page}");
        assert_eq!(ends.iter().filter(|&&e| e).count(), 1, "page {page}");
        assert!(ends[ends.len() - 1], "page {page}");
    }
    let top = fs.read_dir(nodes::TOP, 0, 10).unwrap();
    assert_eq!(top.last().unwrap().next, END_COOKIE);
    assert!(fs.read_dir(nodes::TOP, END_COOKIE, 10).unwrap().is_empty());
    let unique: BTreeSet<_> = list(&fs, d, 3).into_iter().collect();
    assert_eq!(unique.len(), want.len());
    // Lookups and attributes, from the catalogue alone.
    let a = fs.lookup(d, b"a").unwrap();
    assert_eq!(a.kind, NodeKind::Directory);
    assert_eq!(list(&fs, a.node, 1), vec![b"x".to_vec(), b"z".to_vec()]);
    let c = fs.lookup(d, b"a.c").unwrap();
    assert_eq!((c.kind, c.size), (NodeKind::File, 1));
    assert_eq!(fs.attributes(c.node).unwrap(), c);
    assert!(matches!(fs.lookup(d, b"nope"), Err(FsError::NotFound)));
    assert!(matches!(
        fs.read_dir(c.node, 0, 5),
        Err(FsError::NotADirectory)
    ));
}
