//! Restore under faults and at the edges, through the binary, one case per test: names as long
//! as a folder takes, a destination that refuses one path, stale temporary files, exact modes
//! and owners, two copies of a disc with one damaged, sparse files, and the holdout names.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::support::*;

/// Every path under `root` (raw bytes) with its mode bits (`& 0o7777`), uid and gid; symlinks
/// get mode 0 (their own mode means nothing).
fn attributes_of(root: &Path) -> BTreeMap<Vec<u8>, (u32, u32, u32)> {
    let mut out = BTreeMap::new();
    for (rel, _, meta) in testkit::walk(root) {
        let mode = if meta.is_symlink() {
            0
        } else {
            meta.mode() & 0o7777
        };
        let rel = std::os::unix::ffi::OsStringExt::into_vec(rel.into_os_string());
        out.insert(rel, (mode, meta.uid(), meta.gid()));
    }
    out
}

/// Asserts `restored` has the same tree as `source` (names as raw bytes, kinds, contents,
/// targets, mtimes) and the same mode of every entry.
fn assert_same_tree_and_modes(source: &Path, restored: &Path) {
    assert_same_tree(source, restored);
    let want = attributes_of(source);
    let got = attributes_of(restored);
    for (path, (mode, _, _)) in &want {
        assert_eq!(
            got[path].0,
            *mode,
            "{}: mode {:o}, want {mode:o}",
            String::from_utf8_lossy(path),
            got[path].0
        );
    }
}

/// `archive` on CD media (one disc) and the image.
fn archive_one_disc(s: &Scratch) -> PathBuf {
    let images = s.archive(&s.dir("out"), "cd");
    assert_eq!(images.len(), 1, "{images:?}");
    images[0].clone()
}

/// Each problem of a report as it prints (`path: detail`), each checked to have a kind.
fn problems(report: &serde_json::Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no report: {report}"))
        .iter()
        .map(|p| {
            assert!(p["kind"].is_string(), "a problem has a kind: {p}");
            format!(
                "{}: {}",
                p["path"].as_str().unwrap(),
                p["detail"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_name_of_85_cjk_characters_restores_and_everything_after_it_too() {
    let s = Scratch::new();
    let long = "日".repeat(85);
    assert_eq!(long.len(), 255);
    s.write(format!("a/{long}"), b"long name");
    s.write("b/after.txt", b"after the long name");
    std::os::unix::fs::symlink("../b/after.txt", s.drive.join("c-link")).unwrap();
    fs::create_dir_all(s.drive.join("z/empty")).unwrap();
    let image = archive_one_disc(&s);
    let dest = s.dir("restored");
    let (run, report) = restore(&s, &[image], &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(problems(&report).is_empty(), "{report}");
    assert_same_tree_and_modes(&s.drive, &dest);
}

#[test]
fn a_file_where_a_folder_belongs_is_named_and_the_rest_is_restored() {
    let s = Scratch::new();
    s.write("a/one.txt", b"one");
    s.write("b/two.txt", b"two");
    s.write("c/three.txt", b"three");
    std::os::unix::fs::symlink("../c/three.txt", s.drive.join("c/link")).unwrap();
    let image = archive_one_disc(&s);
    let dest = s.dir("restored");
    fs::create_dir_all(&dest).unwrap();
    fs::write(dest.join("b"), b"in the way").unwrap();
    let (run, report) = restore(&s, &[image], &dest, &[]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let problems = problems(&report);
    assert!(!problems.is_empty(), "{report}");
    assert!(
        problems
            .iter()
            .all(|p| p.contains(&format!("{}/b", dest.display()))),
        "every problem names the path under the file in the way: {problems:?}"
    );
    assert_eq!(fs::read(dest.join("a/one.txt")).unwrap(), b"one");
    assert_eq!(fs::read(dest.join("c/three.txt")).unwrap(), b"three");
    assert_eq!(
        fs::read_link(dest.join("c/link")).unwrap(),
        Path::new("../c/three.txt")
    );
    assert_eq!(fs::read(dest.join("b")).unwrap(), b"in the way");
}

/// The temporary name restore uses beside `final_name`: `.oda-` + the first 16 hex digits of
/// the SHA-256 of the name + `.tmp` (documented in the restore's files module).
fn temp_name_of(final_name: &str) -> String {
    let digest = hex(Sha256::digest(final_name.as_bytes()).to_vec());
    format!(".oda-{}.tmp", &digest[..16])
}

#[test]
fn a_stale_temporary_file_of_a_killed_run_is_replaced_and_gone() {
    let s = Scratch::new();
    s.write("docs/a.txt", b"the real content");
    s.write("docs/b.txt", b"another");
    let image = archive_one_disc(&s);
    let dest = s.dir("restored");
    fs::create_dir_all(dest.join("docs")).unwrap();
    let stale = dest.join("docs").join(temp_name_of("a.txt"));
    fs::write(&stale, vec![b'x'; 100_000]).unwrap();
    let (run, report) = restore(&s, &[image], &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(problems(&report).is_empty(), "{report}");
    assert!(!stale.exists(), "the killed run's temporary file is gone");
    assert_same_tree(&s.drive, &dest);
}

#[test]
fn modes_come_back_exactly_locked_files_read_only_folders_setgid_and_sticky() {
    let s = Scratch::new();
    let set = |rel: &str, mode: u32| {
        fs::set_permissions(s.drive.join(rel), fs::Permissions::from_mode(mode)).unwrap()
    };
    s.write("locked/owner-read-only", b"0400");
    s.write("locked/nobody", b"0000");
    s.write("locked/setuid-tool", b"04755");
    s.write("read-only folder/inside.txt", b"in a 0555 folder");
    s.write("read-only folder/sub/deeper.txt", b"deeper");
    s.write("shared/setgid.txt", b"in a setgid folder");
    fs::create_dir_all(s.drive.join("tmp-like")).unwrap();
    set("locked/owner-read-only", 0o400);
    // A user cannot scan a file nobody may read; root can.
    set("locked/nobody", if is_root() { 0 } else { 0o444 });
    set("locked/setuid-tool", 0o4755);
    set("read-only folder/sub", 0o555);
    set("read-only folder", 0o555);
    set("shared", 0o2775);
    set("tmp-like", 0o1777);
    let image = archive_one_disc(&s);
    let dest = s.dir("restored");
    let (run, report) = restore(&s, std::slice::from_ref(&image), &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(problems(&report).is_empty(), "{report}");
    assert_same_tree_and_modes(&s.drive, &dest);
    // A second run over the finished tree (read-only folders, unreadable files) finds it all
    // in place and changes nothing.
    let (run, report) = restore(&s, &[image], &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["files_restored"], 0, "{report}");
    assert_same_tree_and_modes(&s.drive, &dest);
}

#[test]
fn owners_come_back_as_root_and_are_left_alone_with_no_owner() {
    let s = Scratch::new();
    s.write("theirs/file.txt", b"owned by 1234");
    s.write("mine.txt", b"owned by whoever scans");
    std::os::unix::fs::symlink("file.txt", s.drive.join("theirs/link")).unwrap();
    let me = (
        fs::metadata(&s.drive).unwrap().uid(),
        fs::metadata(&s.drive).unwrap().gid(),
    );
    let root = is_root();
    if root {
        for rel in ["theirs", "theirs/file.txt", "theirs/link"] {
            std::os::unix::fs::lchown(s.drive.join(rel), Some(1234), Some(5678)).unwrap();
        }
    }
    let image = archive_one_disc(&s);
    let json = s.run(&["export-json", "-"]);
    json.ok();
    let exported: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let version = &exported["directories"]["theirs"];
    let want_uid = if root { 1234 } else { me.0 };
    assert_eq!(version["uid"], want_uid, "{version}");

    let dest = s.dir("restored");
    let (run, _) = restore(&s, std::slice::from_ref(&image), &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let got = attributes_of(&dest);
    let want = if root { (1234, 5678) } else { me };
    for rel in ["theirs", "theirs/file.txt", "theirs/link"] {
        let (_, uid, gid) = got[rel.as_bytes()];
        assert_eq!((uid, gid), want, "{rel}");
    }
    assert_eq!((got[&b"mine.txt"[..]].1, got[&b"mine.txt"[..]].2), me);

    let plain = s.dir("restored-no-owner");
    let (run, _) = restore(&s, &[image], &plain, &["--no-owner"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let got = attributes_of(&plain);
    for rel in ["theirs", "theirs/file.txt", "theirs/link"] {
        let (_, uid, gid) = got[rel.as_bytes()];
        assert_eq!(
            (uid, gid),
            me,
            "{rel}: --no-owner leaves the restorer's own"
        );
    }
}

/// `(uid, user_name)` of the newest version of `rel`, read with plain SQL.
fn recorded_owner(s: &Scratch, rel: &str) -> (Option<i64>, Option<String>) {
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    conn.query_row(
        "SELECT uid, user_name FROM entry WHERE path = ?1 ORDER BY last_snapshot DESC LIMIT 1",
        [rel.as_bytes()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn a_rescan_records_owners_as_a_new_version_without_reading_files_again() {
    let s = Scratch::new();
    s.write("a.txt", b"a");
    s.write("d/b.txt", b"b");
    s.settle();
    s.scan().ok();
    let me = i64::from(fs::metadata(s.drive.join("a.txt")).unwrap().uid());
    assert_eq!(recorded_owner(&s, "a.txt").0, Some(me));
    // A catalogue from before owners were recorded: the next scan fills them in.
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    conn.execute(
        "UPDATE entry SET uid = NULL, gid = NULL, user_name = NULL, group_name = NULL",
        [],
    )
    .unwrap();
    drop(conn);
    let run = s.scan();
    run.ok();
    assert_eq!(run.summary()["hashed_files"], 0, "{}", run.stdout);
    assert_eq!(recorded_owner(&s, "a.txt").0, Some(me));
    assert_eq!(recorded_owner(&s, "d").0, Some(me));
    if is_root() {
        std::os::unix::fs::chown(s.drive.join("d/b.txt"), Some(1234), Some(5678)).unwrap();
        let run = s.scan();
        run.ok();
        assert_eq!(run.summary()["hashed_files"], 0, "{}", run.stdout);
        assert_eq!(recorded_owner(&s, "d/b.txt"), (Some(1234), None));
        let diff = s.run(&["diff", "--json"]);
        diff.ok();
        let diff: serde_json::Value = serde_json::from_str(&diff.stdout).unwrap();
        let modified = diff["modified"].as_array().unwrap();
        assert!(
            modified
                .iter()
                .any(|m| m["path"] == "d/b.txt" && m["changed"] == serde_json::json!(["owner"])),
            "{diff}"
        );
    }
}

/// Flips one byte inside the data of the file whose content is `content`, in `image`.
fn damage_file_in(image: &Path, content: &[u8]) {
    let mut bytes = fs::read(image).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &content[..64])
        .expect("file data in the image");
    bytes[at + 100] ^= 0xFF;
    fs::write(image, bytes).unwrap();
}

#[test]
fn a_damaged_first_copy_of_a_disc_is_made_good_by_the_other_in_either_order() {
    let s = Scratch::new();
    let victim = Rng(41).bytes(50_000);
    s.write("photos/victim.jpg", &victim);
    s.write("photos/fine.jpg", Rng(42).bytes(30_000));
    s.write("notes.txt", b"notes");
    let good = archive_one_disc(&s);
    let damaged = s.dir("damaged copy.iso");
    fs::copy(&good, &damaged).unwrap();
    damage_file_in(&damaged, &victim);
    // The copy's own parity would rebuild the file (restore_parity.rs): here it cannot.
    destroy_parity(&damaged);
    restores_exactly_in_either_order(&s, ("damaged-first", &damaged), ("good-first", &good));
    // With the damaged copy alone, the file is named and not restored.
    let dest = s.dir("damaged-alone");
    let (run, report) = restore(&s, &[damaged], &dest, &[]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let problems = problems(&report);
    assert!(
        problems.len() == 1 && problems[0].contains("victim.jpg"),
        "{problems:?}"
    );
    assert!(!dest.join("photos/victim.jpg").exists());
}

/// Restores from copies `a` and `b` of one disc, `a` first and then `b` first (each into a
/// folder named as given): both give the drive exactly, with no problem.
fn restores_exactly_in_either_order(s: &Scratch, a: (&str, &Path), b: (&str, &Path)) {
    for (name, order) in [(a.0, [a.1, b.1]), (b.0, [b.1, a.1])] {
        let dest = s.dir(name);
        let order: Vec<PathBuf> = order.iter().map(|p| p.to_path_buf()).collect();
        let (run, report) = restore(s, &order, &dest, &[]);
        assert_eq!(run.code, 0, "{name}: {}{}", run.stdout, run.stderr);
        assert!(problems(&report).is_empty(), "{name}: {report}");
        assert_same_tree_and_modes(&s.drive, &dest);
    }
}

/// The UDF view of `image` extracted into `dir` with 7-Zip: the disc as a mounted folder.
fn extract_with_7z(image: &Path, dir: &Path) {
    let out = std::process::Command::new("7z")
        .args(["x", "-tudf", "-y"])
        .arg(format!("-o{}", dir.display()))
        .arg(image)
        .output()
        .unwrap_or_else(|e| {
            panic!("required tool `7z` is missing ({e}): install Debian package 7zip")
        });
    assert!(
        out.status.success(),
        "7z: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_damaged_image_is_made_good_by_the_same_disc_mounted_in_either_order() {
    let s = Scratch::new();
    let victim = Rng(43).bytes(40_000);
    s.write("photos/victim.jpg", &victim);
    s.write("photos/other.jpg", Rng(44).bytes(20_000));
    let good = archive_one_disc(&s);
    let mounted = s.dir("mounted");
    extract_with_7z(&good, &mounted);
    let damaged = s.dir("damaged.iso");
    fs::copy(&good, &damaged).unwrap();
    damage_file_in(&damaged, &victim);
    // The copy's own parity would rebuild the file (restore_parity.rs): here it cannot.
    destroy_parity(&damaged);
    restores_exactly_in_either_order(&s, ("image-first", &damaged), ("folder-first", &mounted));
}

#[test]
fn a_catalogue_without_owners_restores_as_before() {
    let s = Scratch::new();
    s.write("theirs.txt", b"scanned before owners were recorded");
    if is_root() {
        std::os::unix::fs::chown(s.drive.join("theirs.txt"), Some(1234), Some(5678)).unwrap();
    }
    let image = archive_one_disc(&s);
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    conn.execute(
        "UPDATE entry SET uid = NULL, gid = NULL, user_name = NULL, group_name = NULL",
        [],
    )
    .unwrap();
    drop(conn);
    let dest = s.dir("restored");
    let (run, report) = restore(&s, &[image], &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(problems(&report).is_empty(), "{report}");
    let meta = fs::metadata(dest.join("theirs.txt")).unwrap();
    let me = fs::metadata(&dest).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (me.uid(), me.gid()),
        "left to the restorer"
    );
    assert_same_tree_and_modes(&s.drive, &dest);
}

#[test]
fn a_sparse_file_of_zeros_comes_back_sparse_and_identical() {
    let s = Scratch::new();
    let size = 64 << 20;
    let mut data = vec![0u8; size];
    for at in [0, 1 << 20, 33 << 20, size - 1] {
        data[at] = 0x5A;
    }
    s.write("vm/disk.img", &data);
    let image = archive_one_disc(&s);
    let dest = s.dir("restored");
    let (run, _) = restore(&s, &[image], &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let restored = dest.join("vm/disk.img");
    let meta = fs::metadata(&restored).unwrap();
    assert_eq!(meta.len(), size as u64);
    let allocated = meta.blocks() * 512;
    assert!(
        allocated < size as u64 / 16,
        "{allocated} bytes allocated for a {size}-byte file of zeros"
    );
    assert!(fs::read(&restored).unwrap() == data, "same bytes");
}

#[test]
fn the_holdout_names_restore_exactly() {
    let s = Scratch::new();
    let names: Vec<Vec<u8>> = vec![
        vec![b'a'; 255],
        "日".repeat(85).into_bytes(),
        "caf\u{e9}".as_bytes().to_vec(),
        "cafe\u{301}".as_bytes().to_vec(),
        b"with\ttab".to_vec(),
        b"trailing dot.".to_vec(),
        b"trailing dots..".to_vec(),
    ];
    for (i, name) in names.iter().enumerate() {
        let path = s.drive.join("names").join(OsStr::from_bytes(name));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("file {i}")).unwrap();
        let folder = s.drive.join("folders").join(OsStr::from_bytes(name));
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("inside"), format!("inside {i}")).unwrap();
    }
    let deep: PathBuf = (0..20).map(|i| format!("depth{i}")).collect();
    s.write(deep.join("bottom.txt"), b"twenty folders down");
    fs::set_permissions(
        s.drive.join("names").join("with\ttab"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let image = archive_one_disc(&s);
    let dest = s.dir("restored");
    let (run, report) = restore(&s, std::slice::from_ref(&image), &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(problems(&report).is_empty(), "{report}");
    assert_same_tree_and_modes(&s.drive, &dest);
    let iso = s.dir("restored-iso");
    let (run, _) = restore(&s, &[image], &iso, &["--iso9660"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_same_tree_and_modes(&s.drive, &iso);
}
