//! A first scan records every entry exactly, and `info` counts it right.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::support::{DIR, FILE, SYMLINK, Scratch, expected_entries};

/// A tree with the awkward cases: Unicode (composed, decomposed, CJK, emoji), a name that is
/// not UTF-8, spaces, empty files and directories, duplicates, symlinks (also dangling), and a
/// 40-level deep path.
fn awkward_tree(s: &Scratch) {
    s.write("plain.txt", "hello\n");
    s.write("caf\u{e9}/cr\u{e8}me br\u{fb}l\u{e9}e.txt", "dessert");
    s.write("cafe\u{301}/decomposed", "e + combining acute");
    s.write("\u{65e5}\u{672c}\u{8a9e}/\u{6587}\u{66f8}.md", "# CJK");
    s.write("emoji \u{1f600}/\u{1f4e6} box", "emoji");
    s.write(
        OsStr::from_bytes(b"latin1-\xe9t\xe9/na\xefve-\xff.bin"),
        [0u8, 1, 2, 255],
    );
    s.write("empty-file", "");
    s.write("dir/another-empty", "");
    std::fs::create_dir_all(s.drive.join("empty-dir/nested-empty")).unwrap();
    s.write("dups/one", "same content");
    s.write("dups/two", "same content");
    s.write("dups/deeper/three", "same content");
    std::os::unix::fs::symlink("plain.txt", s.drive.join("link-to-plain")).unwrap();
    std::os::unix::fs::symlink("../nowhere/at all", s.drive.join("dir/dangling")).unwrap();
    std::os::unix::fs::symlink("dups", s.drive.join("link-to-dir")).unwrap();
    let deep: Vec<String> = (0..40).map(|i| format!("d{i}")).collect();
    s.write(format!("{}/bottom.txt", deep.join("/")), "deep down");
}

#[test]
fn scan_records_every_entry_with_independently_checked_hashes() {
    let s = Scratch::new();
    awkward_tree(&s);
    let run = s.scan();
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);

    let expected = expected_entries(&s.drive);
    let recorded = s.entries();
    assert_eq!(recorded.len(), expected.len());
    for (path, want) in &expected {
        let got = recorded
            .get(path)
            .unwrap_or_else(|| panic!("{:?} missing", String::from_utf8_lossy(path)));
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(path));
    }
    // The non-UTF-8 name is stored byte for byte, and the deep file with its full path.
    assert!(recorded.contains_key(b"latin1-\xe9t\xe9/na\xefve-\xff.bin".as_slice()));
    let deep = recorded
        .keys()
        .find(|p| p.ends_with(b"/bottom.txt"))
        .unwrap();
    assert_eq!(deep.iter().filter(|&&b| b == b'/').count(), 40);
    assert_eq!(recorded[b"link-to-dir".as_slice()].kind, SYMLINK);
    assert_eq!(recorded[b"empty-dir/nested-empty".as_slice()].kind, DIR);
    assert_eq!(recorded[b"empty-file".as_slice()].kind, FILE);
    assert_eq!(
        recorded[b"dir/dangling".as_slice()].link_target.as_deref(),
        Some(b"../nowhere/at all".as_slice())
    );
}

#[test]
fn info_counts_entries_and_dedupe() {
    let s = Scratch::new();
    awkward_tree(&s);
    assert_eq!(s.scan().code, 0);
    let expected = expected_entries(&s.drive);
    let files: Vec<_> = expected.values().filter(|r| r.kind == FILE).collect();
    let mut unique: Vec<_> = files.iter().map(|r| (r.hash.clone(), r.size)).collect();
    unique.sort();
    unique.dedup();
    let total: i64 = files.iter().map(|r| r.size).sum();
    let unique_bytes: i64 = unique.iter().map(|(_, size)| size).sum();

    let info = s.info();
    assert_eq!(info["files"], files.len());
    assert_eq!(
        info["directories"],
        expected.values().filter(|r| r.kind == DIR).count()
    );
    assert_eq!(info["symlinks"], 3);
    // "same content" thrice and two empty files: 4 names fewer than files.
    assert_eq!(info["unique_contents"], unique.len());
    assert_eq!(info["unique_contents"], files.len() - 3);
    assert_eq!(info["total_bytes"], total);
    assert_eq!(info["unique_bytes"], unique_bytes);
    assert_eq!(info["bytes_saved"], 2 * "same content".len());
    assert_eq!(info["errors"], 0);
    assert_eq!(info["largest_file"]["path"], "cafe\u{301}/decomposed");
    assert_eq!(info["largest_file"]["size"], "e + combining acute".len());

    let human = s.run(&["get_info"]);
    assert_eq!(human.code, 0);
    assert!(human.stdout.contains("saved by dedupe"), "{}", human.stdout);
}

#[test]
fn json_progress_is_one_event_per_line_then_a_summary() {
    let s = Scratch::new();
    crate::support::many_files(&s, "a", 20);
    let run = s.scan();
    assert_eq!(run.code, 0);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "scan_started");
    assert_eq!(lines[0]["resumed"], false);
    assert!(lines.iter().any(|l| l["event"] == "scan_progress"));
    let summary = run.summary();
    assert_eq!(summary["hashed_files"], 20);
    assert_eq!(summary["files"], 20);
    assert_eq!(summary["directories"], 1);
}

#[test]
fn excluded_paths_are_left_out() {
    let s = Scratch::new();
    s.write("keep/a.txt", "a");
    s.write("keep/b.tmp", "b");
    s.write("cache/big", "c");
    s.write("deep/er/x.tmp", "d");
    let mut cmd = s.command(&["scan", "--exclude", "*.tmp", "--exclude", "cache"]);
    cmd.arg(&s.drive);
    assert!(cmd.output().unwrap().status.success());
    let paths: Vec<Vec<u8>> = s.entries().into_keys().collect();
    let want: Vec<&[u8]> = vec![b"deep", b"deep/er", b"keep", b"keep/a.txt"];
    assert_eq!(paths, want);
}

#[test]
fn the_catalogue_never_catalogues_itself() {
    let mut s = Scratch::new();
    s.catalogue = s.drive.join("odarchive.db");
    s.write("data", "x");
    assert_eq!(s.scan().code, 0);
    // While a scan walks the drive, the catalogue and its -wal and -shm files are in it.
    let run = s.scan();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let paths: Vec<Vec<u8>> = s.entries().into_keys().collect();
    assert_eq!(paths, vec![b"data".to_vec()]);
}
