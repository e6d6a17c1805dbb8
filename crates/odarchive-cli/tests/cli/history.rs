//! `snapshots` and `diff`: a drive scanned, changed in every way, scanned again.

use std::fs;
use std::path::Path;

use crate::support::*;

fn json(run: Run) -> serde_json::Value {
    run.ok();
    serde_json::from_str(&run.stdout).unwrap()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn diff_names_added_removed_modified_and_moved_entries() {
    let s = Scratch::new();
    s.write("keep.txt", b"unchanged");
    s.write("edit.txt", b"before");
    s.write("gone.txt", b"deleted later");
    s.write("old name.jpg", b"a photo that will be renamed");
    assert_eq!(s.scan().code, 0);

    s.write("edit.txt", b"after, and longer");
    fs::remove_file(s.drive.join("gone.txt")).unwrap();
    fs::rename(s.drive.join("old name.jpg"), s.drive.join("new name.jpg")).unwrap();
    s.write("added.txt", b"new file");
    s.write("copy of keep.txt", b"unchanged");
    assert_eq!(s.scan().code, 0);

    let d = json(s.run(&["diff", "--json"]));
    assert_eq!((d["from"].as_i64(), d["to"].as_i64()), (Some(1), Some(2)));
    assert_eq!(strings(&d["added"]), ["added.txt", "copy of keep.txt"]);
    assert_eq!(strings(&d["removed"]), ["gone.txt"]);
    let moved = &d["moved"][0];
    assert_eq!(
        (moved["from"].as_str(), moved["to"].as_str()),
        (Some("old name.jpg"), Some("new name.jpg"))
    );
    let modified: Vec<(String, Vec<String>)> = d["modified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["path"].as_str().unwrap().to_owned(),
                strings(&m["changed"]),
            )
        })
        .collect();
    let edit = modified
        .iter()
        .find(|(p, _)| p == "edit.txt")
        .expect("edit.txt modified");
    assert!(edit.1.contains(&"content".to_owned()), "{modified:?}");
    assert!(
        modified.iter().all(|(p, _)| p != "keep.txt"),
        "unchanged files are not listed"
    );

    // The reverse direction swaps added and removed.
    let back = json(s.run(&["diff", "--json", "2", "1"]));
    assert_eq!(strings(&back["removed"]), ["added.txt", "copy of keep.txt"]);
    assert_eq!(strings(&back["added"]), ["gone.txt"]);

    let list = json(s.run(&["snapshots", "--json"]));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["files"], 4);
    assert_eq!(list[1]["files"], 5);
    let new_second = list[1]["new_bytes"].as_u64().unwrap();
    assert_eq!(
        new_second,
        (b"after, and longer".len() + b"new file".len()) as u64,
        "only contents first seen there"
    );
}

#[test]
fn an_incremental_archive_writes_only_new_content_and_every_snapshot_restores() {
    let s = Scratch::new();
    let work = s.catalogue.parent().unwrap().to_path_buf();
    for i in 0..6u8 {
        s.write(format!("photos/{i}.jpg"), vec![i; 300_000]);
    }
    s.write("docs/a.txt", b"version one");
    let out = work.join("out");
    s.archive(&out, "2M");
    let first = tree_of(&s.drive);
    let discs_before: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();

    s.write("docs/a.txt", b"version two");
    s.write("photos/new.jpg", vec![9u8; 200_000]);
    s.write("photos/copy of 1.jpg", vec![1u8; 300_000]);
    fs::remove_file(s.drive.join("photos/0.jpg")).unwrap();
    fs::rename(
        s.drive.join("photos/2.jpg"),
        s.drive.join("photos/renamed.jpg"),
    )
    .unwrap();
    s.archive(&out, "2M");
    let second = tree_of(&s.drive);

    let images = images(&out);
    for before in &discs_before {
        assert!(images.contains(before), "written discs stay as they were");
    }
    let new_discs: Vec<_> = images
        .iter()
        .filter(|i| !discs_before.contains(i))
        .collect();
    assert_eq!(
        new_discs.len(),
        1,
        "the change fits one new disc: {images:?}"
    );
    let run = s.run(&[
        "locate",
        "--json",
        "photos/new.jpg",
        "docs/a.txt",
        "photos/copy of 1.jpg",
    ]);
    let located: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let new_number = discs_before.len() as u64 + 1;
    for e in located.as_array().unwrap() {
        let disc = e["locations"][0]["disc"].as_u64().unwrap();
        match e["path"].as_str().unwrap() {
            "photos/copy of 1.jpg" => assert!(
                disc < new_number,
                "a duplicate of archived content is not written again"
            ),
            _ => assert_eq!(disc, new_number, "{e}"),
        }
    }

    // `restore --snapshot SNAPSHOT --to DEST --from` every image, run with `scratch`'s catalogue.
    let restore_from = |scratch: &Scratch, snapshot: &str, dest: &Path| {
        let mut args = vec![
            "restore",
            "--snapshot",
            snapshot,
            "--to",
            dest.to_str().unwrap(),
            "--from",
        ];
        args.extend(images.iter().map(|p| p.to_str().unwrap()));
        scratch.run(&args)
    };
    for (snapshot, expected) in [
        ("1", &first),
        ("2", &second),
        ("latest", &second),
        ("2999-01-01", &second),
    ] {
        let dest = work.join(format!("restored-{snapshot}"));
        let run = restore_from(&s, snapshot, &dest);
        assert_eq!(
            run.code, 0,
            "snapshot {snapshot}: {}{}",
            run.stdout, run.stderr
        );
        assert_eq!(
            &tree_of(&dest),
            expected,
            "snapshot {snapshot} restores as the drive was"
        );
    }

    // verify --snapshot: the first discs hold all of snapshot 1, not all of snapshot 2.
    let verify = |snapshot: &str, discs: &[std::path::PathBuf]| {
        let mut args = vec!["verify", "--json", "--snapshot", snapshot];
        args.extend(discs.iter().map(|p| p.to_str().unwrap()));
        let run = s.run(&args);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        (run.code, v)
    };
    let (code, v) = verify("1", &discs_before);
    assert_eq!(
        (code, v["needs_discs"].clone()),
        (0, serde_json::json!([])),
        "{v}"
    );
    let (code, v) = verify("2", &discs_before);
    assert_eq!(code, 5, "{v}");
    assert_eq!(v["needs_discs"], serde_json::json!([new_number]));
    assert!(v["ok"].as_bool().unwrap(), "what was given is intact: {v}");
    let (code, _) = verify("latest", &images);
    assert_eq!(code, 0);

    // With the local catalogue lost, the discs alone restore every snapshot: each new disc
    // carries the catalogue of all snapshots so far.
    let lost = Scratch::new();
    for (snapshot, expected) in [("1", &first), ("2", &second)] {
        let dest = work.join(format!("from-discs-{snapshot}"));
        let run = restore_from(&lost, snapshot, &dest);
        run.ok();
        assert!(
            run.stderr
                .contains("using the catalogue stored on the discs")
        );
        assert_eq!(
            &tree_of(&dest),
            expected,
            "snapshot {snapshot} from the discs alone"
        );
    }

    let run = s.run(&["locate", "--snapshot", "1970-01-01", "docs"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("no snapshot was complete by then"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_disc_written_again_after_the_set_grew_is_the_same_disc() {
    let s = Scratch::new();
    let work = s.catalogue.parent().unwrap().to_path_buf();
    for i in 0..3u8 {
        s.write(format!("a/f{i}"), vec![i; 700_000]);
    }
    let out = work.join("out");
    s.archive(&out, "2M");
    s.write("new.txt", b"added later");
    s.archive(&out, "2M");
    let discs = std::fs::read_dir(&out).unwrap().count();
    assert!(discs >= 3, "the second plan added a disc");
    // Its catalogue and "disc k of n" are as of its own plan, so the bytes do not change.
    let again = work.join("again");
    let run = s.run(&["write", "1", "--out", again.to_str().unwrap()]);
    run.ok();
    for entry in fs::read_dir(&again).unwrap() {
        let rewritten = entry.unwrap().path();
        let original = out.join(rewritten.file_name().unwrap());
        assert!(
            fs::read(&original).unwrap() == fs::read(&rewritten).unwrap(),
            "{} differs when written again",
            original.display()
        );
    }
}
