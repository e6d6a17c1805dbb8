//! `merge`: two trees archived with two catalogues onto two disc sets, one catalogue merged into
//! the other; then both trees restore from the images of both sets, the other set's images
//! verify, and a later scan of a drive holding both trees plans only what is new.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use crate::support::*;

fn paths(images: &[PathBuf]) -> Vec<&str> {
    images.iter().map(|p| p.to_str().unwrap()).collect()
}

/// `cp -a`: names, symlinks, modes and mtimes as they are.
fn copy_tree(from: &Path, to: &Path) {
    let status = StdCommand::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn two_archives_merged_restore_from_both_sets_and_plan_only_new_files() {
    let a = Scratch::new();
    random_tree(&a, 31);
    let images_a = a.archive_to_several_discs();
    let b = Scratch::new();
    random_tree(&b, 32);
    b.write("only in b/notes.txt", b"a file only tree B has");
    let images_b = b.archive_to_several_discs();

    let run = a.run(&["merge", "--json", b.catalogue.to_str().unwrap()]);
    assert_eq!(run.code, 0, "merge: {}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["snapshots"][0]["from"], 1);
    assert_eq!(report["snapshots"][0]["id"], 2);
    let merged = report["discs"].as_array().unwrap();
    assert_eq!(merged.len(), images_b.len(), "{report}");
    for (i, d) in merged.iter().enumerate() {
        assert_eq!(d["from"].as_u64(), Some(i as u64 + 1));
        assert_eq!(
            d["number"].as_u64(),
            Some((images_a.len() + i + 1) as u64),
            "B's discs are numbered after A's"
        );
    }
    let discs: serde_json::Value =
        serde_json::from_str(&a.run(&["discs", "--json"]).stdout).unwrap();
    assert_eq!(
        discs.as_array().unwrap().len(),
        images_a.len() + images_b.len()
    );

    // Merging it again is refused, saying why, and changes nothing.
    let again = a.run(&["merge", b.catalogue.to_str().unwrap()]);
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    assert!(
        again.stderr.contains("merged into it before")
            && again.stderr.contains("nothing was merged"),
        "{}",
        again.stderr
    );

    // Each tree from the images of both sets, given in any order.
    let mut all: Vec<PathBuf> = images_b.iter().chain(&images_a).cloned().collect();
    all.reverse();
    for (snapshot, source, name) in [("1", &a.drive, "restored-a"), ("2", &b.drive, "restored-b")] {
        let dest = a.dir(name);
        let (run, report) = restore(&a, &all, &dest, &["--snapshot", snapshot]);
        assert_eq!(
            run.code, 0,
            "snapshot {snapshot}: {}{}",
            run.stdout, run.stderr
        );
        assert!(
            report["problems"].as_array().unwrap().is_empty(),
            "{report}"
        );
        assert_same_tree(source, &dest);
    }

    // B's images verify against the merged catalogue.
    let mut verify = vec!["verify"];
    verify.extend(paths(&images_b));
    let run = a.run(&verify);
    assert_eq!(run.code, 0, "verify: {}{}", run.stdout, run.stderr);
    // So does one as a mounted disc (a folder, extracted by 7-Zip): no label, so it is known
    // by the set its catalogue names and the files it holds.
    let mounted = a.dir("mounted");
    oracles::seven_zip_extract_udf(&images_b[0], &mounted).unwrap();
    let run = a.run(&["verify", "--json", mounted.to_str().unwrap()]);
    assert_eq!(run.code, 0, "verify folder: {}{}", run.stdout, run.stderr);
    let verdict: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        verdict["discs"][0]["disc"].as_u64(),
        Some(images_a.len() as u64 + 1),
        "{verdict}"
    );

    // A drive holding both trees and one new file: only the new file is planned and written.
    let both = a.dir("both");
    std::fs::create_dir(&both).unwrap();
    copy_tree(&a.drive, &both.join("a"));
    copy_tree(&b.drive, &both.join("b"));
    std::fs::write(both.join("new.txt"), b"written after the merge").unwrap();
    let run = a.run(&["scan", both.to_str().unwrap()]);
    assert_eq!(run.code, 0, "scan: {}{}", run.stdout, run.stderr);
    let run = a.run(&["plan", "--json", "--media", "2M"]);
    assert_eq!(run.code, 0, "plan: {}{}", run.stdout, run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(plan["contents"], 1, "{plan}");
    let new_number = (images_a.len() + images_b.len() + 1) as u64;
    assert_eq!(plan["discs"][0]["number"].as_u64(), Some(new_number));
    let out = a.dir("out");
    let run = a.run(&["write", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "write: {}{}", run.stdout, run.stderr);
    let conn = rusqlite::Connection::open(&a.catalogue).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT p.entry_path FROM placement p JOIN disc d ON d.id = p.disc_id \
             WHERE d.number = ?1",
        )
        .unwrap();
    let on_new: Vec<Vec<u8>> = stmt
        .query_map([new_number], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(on_new, vec![b"new.txt".to_vec()]);
    let images: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert_eq!(
        images.len(),
        images_a.len() + 1,
        "A's images, and the new one; B's set is never rewritten here"
    );

    // And the whole new snapshot restores from all three groups of images.
    let mut every: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    every.extend(images_b.iter().cloned());
    let dest = a.dir("restored-both");
    let (run, report) = restore(&a, &every, &dest, &[]);
    run.ok();
    assert!(
        report["problems"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert_same_tree(&both, &dest);
}

#[test]
fn merging_a_catalogue_into_itself_is_an_error() {
    let s = Scratch::new();
    s.write("a.txt", b"x");
    assert_eq!(s.scan().code, 0);
    let run = s.run(&["merge", s.catalogue.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("into itself"), "{}", run.stderr);
}

#[test]
fn a_catalogue_of_an_older_odarchive_is_brought_up_to_date_and_merged() {
    let a = Scratch::new();
    a.write("a.txt", b"tree A");
    let b = Scratch::new();
    b.write("b.txt", b"tree B");
    for s in [&a, &b] {
        s.archive(&s.dir("out"), "cd");
    }
    // B as schema version 2 left it: no owners, no disc.set_id, parts' hashes under their
    // old name.
    let conn = rusqlite::Connection::open(&b.catalogue).unwrap();
    conn.execute_batch(
        "ALTER TABLE entry DROP COLUMN uid; ALTER TABLE entry DROP COLUMN gid; \
         ALTER TABLE entry DROP COLUMN user_name; ALTER TABLE entry DROP COLUMN group_name; \
         ALTER TABLE disc DROP COLUMN set_id; ALTER TABLE snapshot DROP COLUMN root_mtime_ns; \
         ALTER TABLE plan DROP COLUMN parity_percent; \
         ALTER TABLE plan DROP COLUMN index_size; ALTER TABLE placement DROP COLUMN sector; \
         ALTER TABLE placement RENAME COLUMN part_hash TO part_sha256; \
         ALTER TABLE snapshot DROP COLUMN unhashed_files; \
         ALTER TABLE snapshot DROP COLUMN largest_path; \
         ALTER TABLE snapshot DROP COLUMN largest_size; \
         ALTER TABLE plan DROP COLUMN set_parity; ALTER TABLE plan DROP COLUMN set_group; \
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);
    let run = a.run(&["merge", b.catalogue.to_str().unwrap()]);
    run.ok();
    assert!(run.stdout.contains("is disc 2 here"), "{}", run.stdout);
    let conn = rusqlite::Connection::open(&b.catalogue).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version,
        odarchive::catalogue::schema::SCHEMA_VERSION,
        "brought up to the newest schema"
    );
}
