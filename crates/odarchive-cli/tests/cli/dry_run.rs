//! `restore --dry-run`: the plan (discs needed with their labels and what each gives, files
//! and bytes to restore, what is already in place, discs missing) and nothing written.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// Every name under `root` with its kind, size, mode and mtime (ns): what a restore that
/// writes anything would change.
fn listing(root: &Path) -> BTreeMap<PathBuf, (bool, u64, u32, i64)> {
    let mut out = BTreeMap::new();
    for (rel, _, meta) in testkit::walk(root) {
        let mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
        out.insert(rel, (meta.is_dir(), meta.len(), meta.mode(), mtime));
    }
    out
}

fn dry_run_json(s: &Scratch, from: &[PathBuf], to: &Path, extra: &[&str]) -> (Run, Value) {
    let mut extra = extra.to_vec();
    extra.push("--dry-run");
    restore(s, from, to, &extra)
}

#[test]
fn a_dry_run_shows_each_disc_with_its_label_and_what_it_gives_and_writes_nothing() {
    let s = Scratch::new();
    random_tree(&s, 5);
    let images = s.archive_to_several_discs();
    let dest = s.dir("restored");

    // One disc of several: the others are named missing, with their labels.
    let mut args = vec![
        "restore",
        "--dry-run",
        "--to",
        dest.to_str().unwrap(),
        "--from",
    ];
    args.push(images[0].to_str().unwrap());
    let run = s.run(&args);
    assert_eq!(run.code, 5, "discs missing: {}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with("dry run: nothing is written\n"),
        "{}",
        run.stdout
    );
    let discs: Value = serde_json::from_str(&s.run(&["discs", "--json"]).stdout).unwrap();
    let discs = discs.as_array().unwrap();
    assert_eq!(discs.len(), images.len());
    let n = images.len();
    for (i, disc) in discs.iter().enumerate() {
        let label = disc["label"].as_str().unwrap();
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("disc {} of {n}, label {label}: ", i + 1)))
            .unwrap_or_else(|| panic!("disc {} listed: {}", i + 1, run.stdout));
        if i == 0 {
            assert!(
                line.ends_with(&format!("from {}", images[0].display())),
                "{line}"
            );
        } else {
            assert!(line.ends_with("NOT GIVEN"), "{line}");
            let missing = format!("missing disc {} of {n}, label {label} (", i + 1);
            assert!(run.stdout.contains(&missing), "{}", run.stdout);
        }
    }
    assert!(!dest.exists(), "a dry run makes no destination");

    // Every disc: nothing missing; the plan's counts are what the restore then does.
    let (run, plan) = dry_run_json(&s, &images, &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!dest.exists(), "a dry run makes no destination");
    assert_eq!(plan["missing_discs"], serde_json::json!([]), "{plan}");
    assert_eq!(plan["files_already_done"], 0, "{plan}");
    let planned = plan["discs"].as_array().unwrap();
    assert_eq!(planned.len(), n, "{plan}");
    for (disc, image) in planned.iter().zip(&images) {
        assert_eq!(
            disc["sources"],
            serde_json::json!([image.to_str().unwrap()])
        );
        assert!(
            disc["label"].as_str().unwrap().starts_with("ODA_"),
            "{disc}"
        );
        assert!(disc["files"].as_u64().unwrap() > 0, "{disc}");
        assert!(disc["bytes"].as_u64().unwrap() > 0, "{disc}");
    }
    let (run, report) = restore(&s, &images, &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        plan["files_to_restore"], report["files_restored"],
        "{plan}\n{report}"
    );
    assert_eq!(
        plan["bytes_to_restore"], report["bytes_restored"],
        "{plan}\n{report}"
    );
    assert_eq!(plan["selected"], report["selected"]);
    assert_same_tree(&s.drive, &dest);

    // Done already: the plan says so, as the second restore then finds.
    let (run, again) = dry_run_json(&s, &images, &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let (_, second) = restore(&s, &images, &dest, &[]);
    assert!(again["files_already_done"].as_u64().unwrap() > 0, "{again}");
    assert_eq!(again["files_already_done"], second["files_already_done"]);
    assert_eq!(again["files_to_restore"], second["files_restored"]);
    assert!(
        again["discs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["files"] == 0),
        "{again}"
    );
}

#[test]
fn a_dry_run_leaves_a_destination_untouched_and_names_what_is_in_the_way() {
    let s = Scratch::new();
    random_tree(&s, 11);
    s.write("mine/unique.bin", b"a content no other file has");
    let images = s.archive_to_several_discs();
    let dest = s.dir("restored");
    let (run, _) = restore(&s, &images[..1], &dest, &[]);
    assert_eq!(run.code, 5, "{}{}", run.stdout, run.stderr);
    // A file with other bytes where one is to be restored: in the way of the next run.
    let changed = dest.join("mine/unique.bin");
    fs::create_dir_all(changed.parent().unwrap()).unwrap();
    fs::write(&changed, b"not what was archived").unwrap();
    let before = listing(&dest);

    for json in [false, true] {
        let mut args = vec!["restore", "--dry-run", "--to", dest.to_str().unwrap()];
        if json {
            args.insert(0, "--json");
        }
        args.push("--from");
        args.extend(images.iter().map(|p| p.to_str().unwrap()));
        let run = s.run(&args);
        assert_eq!(
            run.code, 3,
            "a problem is known: {}{}",
            run.stdout, run.stderr
        );
        assert_eq!(listing(&dest), before, "nothing written, moved or touched");
        if json {
            let plan: Value = serde_json::from_str(&run.stdout).unwrap();
            let problems = plan["problems"].as_array().unwrap();
            assert_eq!(problems.len(), 1, "{plan}");
            assert_eq!(problems[0]["path"], changed.to_str().unwrap(), "{plan}");
            assert_eq!(problems[0]["kind"], "unwritable", "{plan}");
            assert!(plan["files_already_done"].as_u64().unwrap() > 0, "{plan}");
        } else {
            let line = format!(
                "problem: {}: exists and differs; not overwritten (use --overwrite)",
                changed.display()
            );
            assert!(run.stderr.contains(&line), "{}", run.stderr);
        }
    }
}
