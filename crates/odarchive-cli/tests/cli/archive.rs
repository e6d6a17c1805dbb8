//! `archive`, `plan`, `discs`, `write` end to end: a generated tree archived to a small
//! custom medium, every image checked by independent readers, the union of the discs equal
//! to the source, every disc's SHA256SUMS checked by `sha256sum -c`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use oracles::{CheckOptions, Entry, Manifest, Reader};

use crate::support::*;

/// A tree with unicode and non-UTF-8 names, a backslash, nested and deep folders, duplicates,
/// empty files and folders, a symlink, and a file larger than the 5 MB medium.
fn awkward_tree(s: &Scratch) {
    let photo = noise(1, 300_000);
    s.write("Photos/2020/été ☀.jpg", &photo);
    s.write("Photos/2020/dup.jpg", &photo);
    s.write(OsStr::from_bytes(b"Docs/bad\xffname.txt"), b"not utf-8");
    s.write("Docs/back\\slash.txt", b"backslash");
    s.write("Docs/empty.txt", b"");
    s.write("Docs/also empty", b"");
    s.write("a/b/c/d/e/f/g/h/i/j/deep.txt", b"deep");
    s.write("Video/big.bin", noise(2, 12_000_000));
    for i in 0..40u64 {
        let len = (i * 37_911) % 420_000;
        s.write(
            format!("Misc/{}/file{i:02}.dat", i % 5),
            noise(100 + i, len as usize),
        );
    }
    std::fs::create_dir_all(s.drive.join("Empty dir/inner")).unwrap();
    std::os::unix::fs::symlink("2020", s.drive.join("Photos/link")).unwrap();
}

/// `discs --json`.
fn discs(s: &Scratch) -> Vec<serde_json::Value> {
    let run = s.run(&["discs", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

/// What the catalogue says is on disc `number`: disc path → (entry path, offset, length,
/// mtime in seconds), read with plain SQL.
fn placed_on(s: &Scratch, number: u64) -> Vec<(String, Vec<u8>, u64, u64, i64)> {
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT p.disc_path, p.entry_path, p.offset, p.length, \
             (SELECT e.mtime_ns FROM entry e WHERE e.path = p.entry_path \
              ORDER BY e.last_snapshot DESC LIMIT 1) \
             FROM placement p JOIN disc d ON d.id = p.disc_id WHERE d.number = ?1",
        )
        .unwrap();
    stmt.query_map([number as i64], |r| {
        let mtime: i64 = r.get(4)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get::<_, i64>(2)? as u64,
            r.get::<_, i64>(3)? as u64,
            mtime.div_euclid(1_000_000_000),
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Every file under `root`, relative path → bytes.
fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// The expected UDF view of a disc: its data from the source tree, its three root files as
/// 7-Zip extracted them (checked separately: sha256sum, JSON).
fn expected_view(s: &Scratch, number: u64, extracted: &Path) -> Manifest {
    let mut m = Manifest::new();
    for name in ["README.md", "SHA256SUMS", "catalogue.json", "INDEX.tsv.gz"] {
        let bytes = std::fs::read(extracted.join(name)).unwrap();
        m.insert(name, Entry::file(&bytes, None));
    }
    m.insert_dir("Data", None);
    // Planned with the default parity: every disc carries its parity file, which starts with
    // its header.
    let parity = std::fs::read(extracted.join("Parity/PARITY.ODP")).unwrap();
    assert!(parity.starts_with(b"ODARCHIVE PARITY"), "disc {number}");
    m.insert("Parity/PARITY.ODP", Entry::file(&parity, None));
    m.insert_dir("Parity", None);
    for (disc_path, entry_path, offset, length, mtime) in placed_on(s, number) {
        let data = std::fs::read(s.drive.join(OsStr::from_bytes(&entry_path))).unwrap();
        let part = &data[offset as usize..(offset + length) as usize];
        m.insert(&disc_path, Entry::file(part, Some(mtime)));
        let mut at = disc_path.as_str();
        while let Some(i) = at.rfind('/') {
            at = &at[..i];
            m.insert_dir(at, None);
        }
    }
    m
}

/// Joins `NAME.partNNN` files in number order; leaves other files as they are.
fn join_parts(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    let mut parts: BTreeMap<String, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (path, bytes) in files {
        match path.rsplit_once(".part") {
            Some((stem, n)) if n.len() >= 3 && n.bytes().all(|b| b.is_ascii_digit()) => {
                let n = n.parse().unwrap();
                assert!(
                    parts
                        .entry(stem.to_owned())
                        .or_default()
                        .insert(n, bytes)
                        .is_none(),
                    "part {n} of {stem} twice"
                );
            }
            _ => assert!(
                out.insert(path.clone(), bytes).is_none(),
                "{path} on two discs"
            ),
        }
    }
    for (stem, numbered) in parts {
        let numbers: Vec<u32> = numbered.keys().copied().collect();
        assert_eq!(
            numbers,
            (1..=numbers.len() as u32).collect::<Vec<_>>(),
            "{stem}"
        );
        out.insert(stem, numbered.into_values().flatten().collect());
    }
    out
}

#[test]
fn archive_to_a_small_medium_gives_discs_that_others_read_and_that_restore_the_tree() {
    let s = Scratch::new();
    awkward_tree(&s);
    let out = s.dir("out");
    let run = s.run(&[
        "archive",
        s.drive.to_str().unwrap(),
        "--media",
        "5M",
        "--out",
        out.to_str().unwrap(),
        "--first",
        "Photos",
    ]);
    assert_eq!(
        run.code, 0,
        "archive failed: {}\n{}",
        run.stderr, run.stdout
    );
    let discs = discs(&s);
    assert!(discs.len() >= 3, "the tree needs several discs: {discs:#?}");
    let n = discs.len() as u32;
    let run = s.run(&["num-discs"]);
    assert_eq!(run.stdout.trim(), n.to_string());

    let work = s.dir("extract");
    let mut union = BTreeMap::new();
    for d in &discs {
        assert_eq!(d["state"], "written");
        let number = d["number"].as_u64().unwrap();
        let label = d["label"].as_str().unwrap();
        let image = out.join(d["image_name"].as_str().unwrap());
        let bytes = std::fs::read(&image).unwrap();
        assert!(
            bytes.len() as u64 <= 5_000_000,
            "disc {number} over capacity"
        );
        assert_eq!(bytes.len() as u64, d["image_size"].as_u64().unwrap());
        assert_eq!(
            hex(
                sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes))
                    .to_vec()
            ),
            d["image_sha256"].as_str().unwrap()
        );

        let root = work.join(format!("disc{number}"));
        let seen = oracles::seven_zip_extract_udf(&image, &root).unwrap();
        assert!(seen.len() > 3);
        let status = Command::new("sha256sum")
            .args(["-c", "--quiet", "SHA256SUMS"])
            .current_dir(&root)
            .status()
            .unwrap();
        assert!(status.success(), "sha256sum -c fails on disc {number}");
        let catalogue: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("catalogue.json")).unwrap()).unwrap();
        assert_eq!(catalogue["version"], 4);
        assert_eq!(catalogue["discs"].as_array().unwrap().len(), n as usize);
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        assert!(
            readme.contains(&format!("disc {number} of {n}")),
            "{readme}"
        );

        let expected = expected_view(&s, number, &root);
        let opts = CheckOptions::default()
            .only(&[
                Reader::Udfinfo,
                Reader::Isoinfo,
                Reader::SevenZipTest,
                Reader::SevenZipUdf,
                Reader::Osirrox,
            ])
            .volume_ids(label, label)
            .volume_set(n, number as u32)
            .mtime_tolerance(Some(1))
            .scratch_in(&work);
        oracles::assert_all(&image, &expected, &opts);

        union.extend(
            files_under(&root.join("Data"))
                .into_iter()
                .map(|(p, b)| (format!("disc{number}:{p}"), b)),
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
    // Parts of one content sit on consecutive discs; strip the disc prefix and join them.
    let union = join_parts(
        union
            .into_iter()
            .map(|(k, v)| (k.split_once(':').unwrap().1.to_owned(), v))
            .collect(),
    );

    let source = Manifest::of_dir(&s.drive).unwrap();
    let source_contents: BTreeSet<[u8; 32]> = source
        .entries
        .values()
        .filter(|e| e.kind == oracles::Kind::File)
        .map(|e| e.sha256)
        .collect();
    let union_contents: BTreeSet<[u8; 32]> = union.values().map(|b| oracles::sha256(b)).collect();
    assert_eq!(union_contents, source_contents, "each content once");
    assert_eq!(union.len(), source_contents.len(), "no content twice");
    for (path, bytes) in &union {
        let original = match path.as_str() {
            "Docs/bad%FFname.txt" => b"Docs/bad\xffname.txt".to_vec(),
            "Docs/back%5Cslash.txt" => b"Docs/back\\slash.txt".to_vec(),
            p => p.as_bytes().to_vec(),
        };
        let e = source
            .get(&original)
            .unwrap_or_else(|| panic!("{path} is not in the source"));
        assert_eq!(e.sha256, oracles::sha256(bytes), "{path}");
    }
    assert_eq!(union["Video/big.bin"].len(), 12_000_000);
    // --first: the photos are on disc 1.
    assert!(
        placed_on(&s, 1)
            .iter()
            .any(|p| p.0.starts_with("Data/Photos/2020/"))
    );

    // The same catalogue gives byte-identical images.
    let again = s.dir("again");
    let run = s.run(&["write", "--out", again.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for d in &discs {
        let name = d["image_name"].as_str().unwrap();
        assert!(
            std::fs::read(out.join(name)).unwrap() == std::fs::read(again.join(name)).unwrap(),
            "{name} differs when written again"
        );
    }
    // Written and intact: a second run skips them.
    let run = s.run(&["write", "--json", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.summary()["written"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["skipped"] == true)
    );
}

#[test]
fn a_file_changed_after_the_scan_fails_its_disc_and_leaves_no_image() {
    let s = Scratch::new();
    s.write("keep/a.txt", noise(1, 10_000));
    let victim = s.write("keep/victim.txt", noise(2, 20_000));
    assert_eq!(s.scan().code, 0);
    let run = s.run(&["plan", "--media", "3M"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Same size, different bytes: only the hash can tell.
    std::fs::write(&victim, noise(3, 20_000)).unwrap();
    let out = s.dir("out");
    let run = s.run(&["write", "1", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr.contains("victim.txt") && run.stderr.contains("changed since it was scanned"),
        "{}",
        run.stderr
    );
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(left.is_empty(), "nothing left in {out:?}: {left:?}");
    assert_eq!(discs(&s)[0]["state"], "planned");
}

#[test]
fn bad_input_gives_clear_errors() {
    let s = Scratch::new();
    // No catalogue yet.
    let run = s.run(&["plan", "--media", "bd"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    // An empty drive: nothing to plan.
    assert_eq!(s.scan().code, 0);
    let run = s.run(&["plan", "--media", "bd"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("nothing to plan"), "{}", run.stderr);
    s.write("x/y.txt", b"y");
    assert_eq!(s.scan().code, 0);
    let run = s.run(&["plan", "--media", "floppy"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("floppy") && run.stderr.contains("bd-xl"),
        "{}",
        run.stderr
    );
    let run = s.run(&["plan", "--media", "bd", "--first", "no/such"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no/such"), "{}", run.stderr);
    let run = s.run(&["plan", "--media", "100K"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("too small"), "{}", run.stderr);
    let run = s.run(&["discs"]);
    assert!(
        run.stdout.contains("no discs planned"),
        "nothing was stored: {}",
        run.stdout
    );
    let run = s.run(&["write", "--out", "/proc/cannot-write-here"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("no discs are planned"),
        "{}",
        run.stderr
    );
    let run = s.run(&["plan", "--media", "bd", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = s.run(&["write", "--out", "/proc/cannot-write-here"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("/proc/cannot-write-here"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_full_output_disk_is_a_clear_error_and_leaves_nothing() {
    let s = Scratch::new();
    s.write("a.bin", noise(5, 100_000));
    assert_eq!(s.scan().code, 0);
    let run = s.run(&["plan", "--media", "3M"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let label = discs(&s)[0]["label"].as_str().unwrap().to_owned();
    // The partial image is a link to /dev/full: every write fails with ENOSPC.
    let out = s.dir("full");
    std::fs::create_dir(&out).unwrap();
    let partial = out.join(format!("{label}.iso.partial"));
    std::os::unix::fs::symlink("/dev/full", &partial).unwrap();
    let run = s.run(&["write", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(partial.to_str().unwrap())
            && run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(left.is_empty(), "the partial image is removed: {left:?}");
    assert_eq!(discs(&s)[0]["state"], "planned");
    // `status` keeps the whole error, cause included, as the failed job's message.
    let status = s.status_json();
    let message = status["job"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("No space left on device"), "{status}");
}

/// `/Data` is the drive root: it carries the root's mtime in both views (it had the disc's
/// creation time, so the kernel's view of a disc differed from the catalogue's).
#[test]
fn data_has_the_drive_roots_mtime_in_both_views() {
    use discfs::iso9660::IsoImage;
    use discfs::udf::read::UdfVolume;
    use std::io::BufReader;

    let s = Scratch::new();
    s.write("a/b.txt", b"x");
    let (secs, nanos) = (1_000_000_000, 123_456_789);
    filetime::set_file_mtime(&s.drive, filetime::FileTime::from_unix_time(secs, nanos)).unwrap();
    let images = s.archive(&s.dir("out"), "cd");
    let open = || BufReader::new(std::fs::File::open(&images[0]).unwrap());

    let data = UdfVolume::open(open()).unwrap().lookup("Data").unwrap();
    let udf_ns = data.mtime.expect("an mtime").unix_nanos();
    // UDF keeps microseconds.
    assert_eq!(
        udf_ns / 1000,
        (secs * 1_000_000_000 + i64::from(nanos)) / 1000
    );
    let data = IsoImage::open(open()).unwrap().lookup("DATA").unwrap();
    assert_eq!(data.mtime.secs(), secs, "ISO 9660 keeps seconds");
}

/// A reader that goes away (`odarchive discs | head -1`) ends the command quietly: output goes
/// through one writer that takes a closed pipe as the end (`println!` panicked, exit 101).
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let s = Scratch::new();
    s.write("a.txt", b"a");
    s.archive(&s.dir("out"), "cd");
    let out = s.dir("out");
    let out = out.to_str().unwrap();
    for args in [
        &["discs"][..],
        &["--json", "discs"],
        &["num-discs"],
        &["write", "--out", out],
        &["--json", "write", "--out", out],
    ] {
        let stderr = run_into_a_closed_pipe(&s, args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Runs `args` with stdout a pipe closed before the command can have written anything;
/// asserts exit code 0 and returns what it said on stderr.
fn run_into_a_closed_pipe(s: &Scratch, args: &[&str]) -> String {
    let mut child = s
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert_eq!(done.status.code(), Some(0), "{args:?}: {stderr}");
    stderr
}

/// Every command that prints, into a pipe closed before it starts: it ends quietly, exit 0,
/// with output far larger than one buffer (`export-json -` used to fail with "Broken pipe"
/// once its catalogue outgrew the buffer).
#[test]
fn every_printing_command_ends_quietly_on_a_closed_pipe() {
    let s = Scratch::new();
    many_files(&s, "many", 400);
    s.scan().ok();
    for args in [
        &["export-json", "-"][..],
        &["--json", "scan", s.drive.to_str().unwrap()],
        &["info"],
        &["--json", "status"],
        &["snapshots"],
        &["locate", "many"],
        &["--json", "locate", "many"],
    ] {
        let stderr = run_into_a_closed_pipe(&s, args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}
