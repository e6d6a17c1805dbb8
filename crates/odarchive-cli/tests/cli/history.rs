//! `snapshots` and `diff`: a drive scanned, changed in every way, scanned again.

use std::fs;

use crate::support::*;

fn json(run: Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
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
