//! `export-json` and `import-json`: the catalogue as JSON, back again, and the original
//! odarchive 0.1's catalogues brought in.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use sha2::Digest;

use crate::support::*;

#[test]
fn export_then_import_gives_an_equal_catalogue() {
    let s = Scratch::new();
    let work = s.catalogue.parent().unwrap().to_path_buf();
    let out = work.join("out");
    for i in 0..4u8 {
        s.write(format!("photos/{i}.jpg"), vec![i; 400_000]);
    }
    s.write("photos/copy of 1.jpg", vec![1u8; 400_000]);
    s.write("docs/a.txt", b"version one");
    s.write(
        std::ffi::OsStr::from_bytes(b"docs/latin1 \xe9t\xe9.txt"),
        b"not UTF-8",
    );
    s.write("big.bin", vec![7u8; 2_500_000]);
    std::os::unix::fs::symlink("docs/a.txt", s.drive.join("link")).unwrap();
    fs::create_dir_all(s.drive.join("empty/folder")).unwrap();
    s.archive(&out, "2M");
    let first = tree_of(&s.drive);
    s.write("docs/a.txt", b"version two");
    s.write("photos/new.jpg", vec![9u8; 100_000]);
    fs::remove_file(s.drive.join("photos/0.jpg")).unwrap();
    // Same content, new mtime: a new version of the path with the same content.
    filetime::set_file_mtime(
        s.drive.join("photos/3.jpg"),
        filetime::FileTime::from_unix_time(1_500_000_000, 0),
    )
    .unwrap();
    s.archive(&out, "2M");

    let one = work.join("one.json");
    s.run(&["export-json", one.to_str().unwrap()]).ok();
    let exported = fs::read(&one).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&exported).unwrap();
    assert_eq!(doc["version"], 4);
    assert_eq!(doc["snapshots"].as_array().unwrap().len(), 2);
    assert_eq!(doc["plans"].as_array().unwrap().len(), 2);
    let versions = &doc["files"].as_object().unwrap().values().find_map(|f| {
        f["filenames"]
            .get("photos/3.jpg")
            .filter(|v| v.is_array())
            .cloned()
    });
    assert_eq!(
        versions.as_ref().map(|v| v.as_array().unwrap().len()),
        Some(2),
        "a path whose mtime changed lists two versions"
    );

    let other = Scratch::new();
    let run = other.run(&["import-json", one.to_str().unwrap()]);
    run.ok();
    assert!(run.stdout.contains("version 4"), "{}", run.stdout);
    let two = work.join("two.json");
    other.run(&["export-json", two.to_str().unwrap()]).ok();
    assert!(
        fs::read(&two).unwrap() == exported,
        "export → import → export gives the same bytes"
    );
    for args in [
        &["snapshots", "--json"][..],
        &["discs", "--json"],
        &["info", "--json"],
        &["diff", "--json"],
        &["locate", "--json", "**"],
        &["locate", "--json", "--snapshot", "1", "**"],
    ] {
        let (a, b) = (s.run(args), other.run(args));
        a.ok();
        assert_eq!(a.stdout, b.stdout, "{args:?} answers the same");
    }

    // Gzipped and through standard output: the same document.
    let gz = work.join("one.json.gz");
    s.run(&["export-json", gz.to_str().unwrap()]).ok();
    let third = Scratch::new();
    third.run(&["import-json", gz.to_str().unwrap()]).ok();
    let three = work.join("three.json");
    third.run(&["export-json", three.to_str().unwrap()]).ok();
    assert!(fs::read(&three).unwrap() == exported);
    let piped = s.run(&["export-json", "-"]);
    piped.ok();
    assert!(piped.stdout.as_bytes() == exported.as_slice());

    // The imported catalogue restores the first snapshot from the images.
    let dest = work.join("restored-1");
    let mut args = vec!["restore", "--snapshot", "1", "--to", dest.to_str().unwrap()];
    args.push("--from");
    let imgs = images(&out);
    args.extend(imgs.iter().map(|p| p.to_str().unwrap()));
    other.run(&args).ok();
    assert_eq!(tree_of(&dest), first);
}

#[test]
fn import_refuses_bad_documents_and_leaves_nothing_behind() {
    let s = Scratch::new();
    s.write("a.txt", b"hello");
    s.scan().ok();
    let work = s.catalogue.parent().unwrap().to_path_buf();
    let good = work.join("good.json");
    s.run(&["export-json", good.to_str().unwrap()]).ok();
    let text = fs::read(&good).unwrap();

    // Into a catalogue that already holds snapshots the import is merged: its own export
    // conflicts with it (the same set, the same snapshot), so nothing changes.
    let before = s.info();
    let run = s.run(&["import-json", good.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("nothing was merged"), "{}", run.stderr);
    assert!(run.stderr.contains("good.json"), "{}", run.stderr);
    assert_eq!(s.info(), before);
    assert!(!work.join("cat.db.importing").exists());

    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("truncated.json", text[..text.len() / 2].to_vec(), "catalogue JSON"),
        (
            "newer.json",
            String::from_utf8(text.clone())
                .unwrap()
                .replacen("\"version\":4", "\"version\":99", 1)
                .into_bytes(),
            "newer than this odarchive reads",
        ),
        (
            "badhash.json",
            br#"{"version":4,"files":{"xyz":{"size":1,"filenames":{"a":{"mtime":0,"mode":420}}}}}"#
                .to_vec(),
            "bad content hash",
        ),
        (
            "unknown-disc.json",
            format!(
                r#"{{"version":4,"files":{{"{}":{{"size":1,"filenames":{{"a":{{"mtime":0,"mode":420}}}},"parts":[{{"part":0,"disc":7,"offset":0,"length":1,"path":"Data/a","iso_path":"DATA/A;1"}}]}}}}}}"#,
                "ab".repeat(32)
            )
            .into_bytes(),
            "discs the catalogue does not list",
        ),
    ];
    for (name, bytes, why) in cases {
        let file = work.join(name);
        fs::write(&file, bytes).unwrap();
        let fresh = Scratch::new();
        let run = fresh.run(&["import-json", file.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{name}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(why) && run.stderr.contains(name),
            "{name}: {}",
            run.stderr
        );
        assert!(
            !fresh.catalogue.exists(),
            "{name}: no catalogue left behind"
        );
        let leftovers: Vec<_> = fs::read_dir(fresh.catalogue.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains("cat.db"))
            .collect();
        assert!(leftovers.is_empty(), "{name}: {leftovers:?}");
    }
}

/// A file of an odarchive 0.1 disc: its path under `/DATA/`, bytes, and disc number.
struct OldFile {
    names: &'static [&'static str],
    data: Vec<u8>,
    disc_num: u32,
    mtime: &'static str,
}

#[test]
fn an_odarchive_0_1_catalogue_brings_its_discs_in() {
    let s = Scratch::new();
    let work = s.catalogue.parent().unwrap().to_path_buf();
    let files = [
        OldFile {
            names: &[
                "/DATA/Photos/2019/beach.jpg",
                "/DATA/Photos/2019/copy of beach.jpg",
            ],
            data: vec![3u8; 70_000],
            disc_num: 0,
            mtime: "2019-05-04T13:02:11",
        },
        OldFile {
            names: &["/DATA/Docs/naïve café.txt"],
            data: b"unicode names survive".to_vec(),
            disc_num: 0,
            mtime: "2019-05-04T13:02:11",
        },
        OldFile {
            names: &["/DATA/Docs/letter.txt"],
            data: b"Dear reader".to_vec(),
            disc_num: 1,
            mtime: "2020-02-01T00:00:00",
        },
    ];
    // The discs as a mounted disc shows them: each file once, under its first name.
    let mut catalogue = serde_json::Map::new();
    for f in &files {
        let disc = work.join(format!("disc{}", f.disc_num));
        let path = disc.join(f.names[0].trim_start_matches('/'));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &f.data).unwrap();
        let hash = hex(sha2::Sha512::digest(&f.data).to_vec());
        let names: serde_json::Map<String, serde_json::Value> = f
            .names
            .iter()
            .map(|n| (n.to_string(), serde_json::Value::Null))
            .collect();
        catalogue.insert(
            hash,
            serde_json::json!({
                "filenames": names,
                "size": f.data.len(),
                "mtime": f.mtime,
                "disc_num": f.disc_num,
            }),
        );
    }
    let json = serde_json::json!({ "version": 2, "files": catalogue });
    let old = work.join("catalogue.json");
    fs::write(&old, serde_json::to_vec_pretty(&json).unwrap()).unwrap();

    let run = s.run(&["import-json", old.to_str().unwrap(), "--timezone", "+02:00"]);
    run.ok();
    assert!(run.stdout.contains("odarchive 0.1"), "{}", run.stdout);
    assert!(run.stdout.contains("sha512"), "{}", run.stdout);

    let info = s.info();
    assert_eq!(info["files"], 4);
    assert_eq!(info["unique_contents"], 3);
    let run = s.run(&["discs", "--json"]);
    run.ok();
    let discs: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let numbers: Vec<u64> = discs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2], "disc_num 0 and 1 are discs 1 and 2");

    let run = s.run(&["locate", "--json", "**"]);
    run.ok();
    let located: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    // 0.1 records no folders: the ones above its files are made.
    let mut folders: Vec<&str> = located
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "directory")
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    folders.sort();
    assert_eq!(folders, ["Docs", "Photos", "Photos/2019"]);
    let at: BTreeMap<String, u64> = located
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "file")
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["locations"][0]["disc"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, u64> = [
        ("Photos/2019/beach.jpg", 1),
        ("Photos/2019/copy of beach.jpg", 1),
        ("Docs/naïve café.txt", 1),
        ("Docs/letter.txt", 2),
    ]
    .into_iter()
    .map(|(p, d)| (p.to_owned(), d))
    .collect();
    assert_eq!(at, expected);

    // Restore from the two discs: SHA-512 checked, names and zone-less times as they were.
    let dest = work.join("restored");
    let run = s.run(&[
        "restore",
        "--to",
        dest.to_str().unwrap(),
        "--from",
        work.join("disc0").to_str().unwrap(),
        work.join("disc1").to_str().unwrap(),
    ]);
    run.ok();
    for f in &files {
        for name in f.names {
            let rel = name.trim_start_matches("/DATA/");
            let restored = dest.join(rel);
            assert_eq!(fs::read(&restored).unwrap(), f.data, "{rel}");
            let expected = match f.mtime {
                "2019-05-04T13:02:11" => 1_556_967_731, // 11:02:11 UTC
                _ => 1_580_508_000,                     // 2020-01-31 22:00 UTC
            };
            assert_eq!(fs::metadata(&restored).unwrap().mtime(), expected, "{rel}");
        }
    }
    // And a disc whose file was damaged is named by verify.
    fs::write(work.join("disc1/DATA/Docs/letter.txt"), b"Dear reader!").unwrap();
    let run = s.run(&["verify", work.join("disc1").to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Docs/letter.txt"), "{}", run.stdout);
}

#[test]
fn importing_another_archive_into_a_catalogue_merges_it() {
    let a = Scratch::new();
    a.write("a/one.txt", b"tree A");
    let b = Scratch::new();
    b.write("b/two.txt", b"tree B");
    b.write("b/same.txt", b"tree A");
    let mut all_images = Vec::new();
    for s in [&a, &b] {
        let out = s.catalogue.parent().unwrap().join("out");
        all_images.extend(s.archive(&out, "cd"));
    }
    let exported = b.catalogue.parent().unwrap().join("b.json.gz");
    b.run(&["export-json", exported.to_str().unwrap()]).ok();
    let run = a.run(&["import-json", "--json", exported.to_str().unwrap()]);
    run.ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["merged"]["snapshots"][0]["id"], 2, "{v}");
    assert_eq!(v["merged"]["contents_shared"], 1, "{v}");
    let run = a.run(&["discs", "--json"]);
    run.ok();
    let discs: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(discs.as_array().unwrap().len(), 2);
    // B's tree restores from the images of both sets (its shared content is on A's disc
    // too, but B's own disc holds it as well).
    let dest = a.catalogue.parent().unwrap().join("restored");
    let mut args = vec![
        "restore",
        "--snapshot",
        "2",
        "--to",
        dest.to_str().unwrap(),
        "--from",
    ];
    args.extend(all_images.iter().map(|p| p.to_str().unwrap()));
    a.run(&args).ok();
    assert_eq!(tree_of(&dest), tree_of(&b.drive));
}

#[test]
fn a_plans_parity_percent_survives_export_and_import() {
    let s = Scratch::new();
    s.write("a.bin", noise(3, 50_000));
    s.archive_with(&s.dir("out"), "2M", &["--parity", "7"]);
    let file = s.dir("cat.json");
    s.run(&["export-json", file.to_str().unwrap()]).ok();
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["plans"][0]["parity_percent"], 7, "{}", doc["plans"]);
    let other = Scratch::new();
    other.run(&["import-json", file.to_str().unwrap()]).ok();
    let conn = rusqlite::Connection::open(&other.catalogue).unwrap();
    let percent: i64 = conn
        .query_row("SELECT parity_percent FROM plan", [], |r| r.get(0))
        .unwrap();
    assert_eq!(percent, 7);
}
