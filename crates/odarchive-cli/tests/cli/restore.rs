//! `verify`, `locate` and `restore` end to end: archive a generated tree, then get it back —
//! through the UDF view and through the ISO 9660 view alone — and check it equals the source in
//! names, bytes, kinds and mtimes; damaged, truncated, missing and foreign discs.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::support::*;

/// Everything under `root` as the user sees it: kind, content or link target, mtime (ns)
/// for files and symlinks and directories.
fn snapshot_of(root: &Path) -> BTreeMap<Vec<u8>, (char, Vec<u8>, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
            let item = if meta.file_type().is_symlink() {
                (
                    'l',
                    fs::read_link(&path)
                        .unwrap()
                        .as_os_str()
                        .as_bytes()
                        .to_vec(),
                    mtime,
                )
            } else if meta.is_dir() {
                stack.push(path.clone());
                ('d', Vec::new(), mtime)
            } else {
                ('f', fs::read(&path).unwrap(), mtime)
            };
            out.insert(rel, item);
        }
    }
    out
}

pub(crate) fn assert_same_tree(source: &Path, restored: &Path) {
    let a = snapshot_of(source);
    let b = snapshot_of(restored);
    let missing: Vec<_> = a
        .keys()
        .filter(|k| !b.contains_key(*k))
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    let extra: Vec<_> = b
        .keys()
        .filter(|k| !a.contains_key(*k))
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (path, want) in &a {
        let got = &b[path];
        let shown = String::from_utf8_lossy(path);
        assert_eq!(got.0, want.0, "{shown}: kind");
        assert!(got.1 == want.1, "{shown}: content or target differs");
        assert_eq!(got.2, want.2, "{shown}: mtime");
    }
}

/// Reproducible pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A random tree: unicode and non-UTF-8 names, depth, empty files and folders, duplicates,
/// symlinks, sizes around 2048, and one file larger than the medium, so it splits.
pub(crate) fn random_tree(s: &Scratch, seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let names: [&[u8]; 10] = [
        b"photo",
        "été".as_bytes(),
        "日本".as_bytes(),
        b"bad\xff\xfe",
        "emoji😀".as_bytes(),
        b"with space",
        "e\u{301}".as_bytes(),
        b"UPPER",
        b"x.tar.gz",
        b"dot.file",
    ];
    let mut dirs: Vec<Vec<u8>> = vec![Vec::new()];
    for i in 0..12 {
        let parent = dirs[rng.below(dirs.len() as u64) as usize].clone();
        let mut d = parent.clone();
        if !d.is_empty() {
            d.push(b'/');
        }
        d.extend_from_slice(names[rng.below(10) as usize]);
        d.extend_from_slice(format!(" d{i}").as_bytes());
        fs::create_dir_all(s.drive.join(OsStr::from_bytes(&d))).unwrap();
        dirs.push(d);
    }
    let deep: Vec<String> = (0..12).map(|i| format!("level{i}")).collect();
    fs::create_dir_all(s.drive.join(deep.join("/"))).unwrap();
    s.write(format!("{}/bottom.txt", deep.join("/")), b"deep down");
    let mut previous: Vec<Vec<u8>> = Vec::new();
    for i in 0..30 {
        let dir = &dirs[rng.below(dirs.len() as u64) as usize];
        let mut path = dir.clone();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(names[rng.below(10) as usize]);
        path.extend_from_slice(format!(" f{i}").as_bytes());
        let content = match rng.below(6) {
            0 => Vec::new(),
            1 if !previous.is_empty() => {
                previous[rng.below(previous.len() as u64) as usize].clone()
            }
            2 => {
                let n = 2047 + rng.below(3) as usize;
                rng.bytes(n)
            }
            _ => {
                let n = rng.below(60_000) as usize;
                rng.bytes(n)
            }
        };
        previous.push(content.clone());
        s.write(OsStr::from_bytes(&path), &content);
    }
    s.write("big/larger than a disc.bin", rng.bytes(2_500_000));
    fs::create_dir_all(s.drive.join("empty folder/inside")).unwrap();
    std::os::unix::fs::symlink("../big", s.drive.join("empty folder/link to big")).unwrap();
    std::os::unix::fs::symlink("nowhere", s.drive.join("dangling")).unwrap();
}

pub(crate) fn archive(s: &Scratch, out: &Path, media: &str) -> Vec<PathBuf> {
    let run = s.run(&[
        "archive",
        s.drive.to_str().unwrap(),
        "--media",
        media,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "archive failed: {}{}", run.stdout, run.stderr);
    let mut images: Vec<PathBuf> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    images.sort();
    assert!(images.len() >= 2, "expected several discs, got {images:?}");
    images
}

pub(crate) fn restore(
    s: &Scratch,
    from: &[PathBuf],
    to: &Path,
    extra: &[&str],
) -> (Run, serde_json::Value) {
    let mut args: Vec<String> = vec![
        "restore".into(),
        "--json".into(),
        "--to".into(),
        to.to_str().unwrap().into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args.push("--from".into());
    args.extend(from.iter().map(|p| p.to_str().unwrap().to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = s.run(&args);
    let report = serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::Null);
    (run, report)
}

pub(crate) fn scratch_dir(s: &Scratch, name: &str) -> PathBuf {
    s.catalogue.parent().unwrap().join(name)
}

#[test]
fn random_trees_come_back_identical_through_udf_and_through_iso9660_alone() {
    for seed in [1u64, 2, 3] {
        let s = Scratch::new();
        random_tree(&s, seed);
        let images = archive(&s, &scratch_dir(&s, "out"), "2M");
        let verify = s.run(&{
            let mut a = vec!["verify"];
            a.extend(images.iter().map(|p| p.to_str().unwrap()));
            a
        });
        assert_eq!(verify.code, 0, "verify: {}{}", verify.stdout, verify.stderr);

        let udf = scratch_dir(&s, "restored-udf");
        let (run, report) = restore(&s, &images, &udf, &[]);
        assert_eq!(run.code, 0, "seed {seed}: {}{}", run.stdout, run.stderr);
        assert!(report["problems"].as_array().unwrap().is_empty());
        assert_same_tree(&s.drive, &udf);

        let iso = scratch_dir(&s, "restored-iso");
        let (run, _) = restore(&s, &images, &iso, &["--iso9660"]);
        assert_eq!(
            run.code, 0,
            "seed {seed} via ISO 9660: {}{}",
            run.stdout, run.stderr
        );
        assert_same_tree(&s.drive, &iso);
    }
}

#[test]
fn missing_discs_are_listed_and_a_second_run_finishes_without_redoing() {
    let s = Scratch::new();
    random_tree(&s, 7);
    let images = archive(&s, &scratch_dir(&s, "out"), "2M");
    let dest = scratch_dir(&s, "restored");
    let (run, report) = restore(&s, &images[..1], &dest, &[]);
    assert_eq!(
        run.code, 5,
        "more discs needed: {}{}",
        run.stdout, run.stderr
    );
    let missing: Vec<u64> = report["missing_discs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["number"].as_u64().unwrap())
        .collect();
    assert!(!missing.is_empty() && !missing.contains(&1), "{missing:?}");
    let first_pass = report["files_restored"].as_u64().unwrap();
    assert!(first_pass > 0, "disc 1 gives what it holds");

    let (run, report) = restore(&s, &images, &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        report["files_already_done"].as_u64().unwrap() >= first_pass,
        "{report}"
    );
    assert!(report["missing_discs"].as_array().unwrap().is_empty());
    assert_same_tree(&s.drive, &dest);
}

#[test]
fn one_folder_is_restored_from_the_one_disc_that_holds_it() {
    let s = Scratch::new();
    random_tree(&s, 11);
    let images = archive(&s, &scratch_dir(&s, "out"), "2M");
    let run = s.run(&["locate", "--json", "level0/level1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let located: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let discs: std::collections::BTreeSet<u64> = located
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["locations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["disc"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(discs.len(), 1, "one disc holds the folder: {located}");
    let disc = *discs.iter().next().unwrap();

    let dest = scratch_dir(&s, "restored");
    let (run, report) = restore(&s, &images, &dest, &["level0/level1"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let read: Vec<u64> = report["discs_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect();
    assert_eq!(read, vec![disc], "only the disc holding the folder is read");
    let bottom = dest
        .join(
            (0..12)
                .map(|i| format!("level{i}"))
                .collect::<Vec<_>>()
                .join("/"),
        )
        .join("bottom.txt");
    assert_eq!(fs::read(bottom).unwrap(), b"deep down");
    assert!(!dest.join("big").exists(), "nothing outside the selection");
}

/// Flips one byte in the image inside the data of the file stored at `disc_path` (found by
/// its contents, which the test knows).
fn flip_byte_of(image: &Path, content: &[u8]) {
    let mut bytes = fs::read(image).unwrap();
    let at = bytes
        .windows(content.len().min(64))
        .position(|w| w == &content[..content.len().min(64)])
        .expect("file data in the image");
    bytes[at + 10] ^= 0xFF;
    fs::write(image, bytes).unwrap();
}

#[test]
fn a_flipped_byte_is_named_by_verify_and_that_file_alone_is_not_restored() {
    let s = Scratch::new();
    s.write("keep/a.bin", vec![b'a'; 5000]);
    s.write("keep/b.bin", vec![b'b'; 5000]);
    let victim: Vec<u8> = (0..9000u32).map(|i| (i * 7 % 251) as u8).collect();
    s.write("hurt/victim.bin", &victim);
    s.write("filler.bin", Rng(5).bytes(1_500_000));
    let images = archive(&s, &scratch_dir(&s, "out"), "2M");
    let holder = images
        .iter()
        .find(|i| fs::read(i).unwrap().windows(64).any(|w| w == &victim[..64]))
        .unwrap()
        .clone();
    flip_byte_of(&holder, &victim);

    let run = s.run(&["verify", "--json", holder.to_str().unwrap()]);
    assert_eq!(run.code, 3, "verify must fail: {}", run.stdout);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let corrupt = v["discs"][0]["corrupt"].as_array().unwrap();
    assert_eq!(corrupt.len(), 1, "{v}");
    assert!(
        corrupt[0].as_str().unwrap().contains("hurt/victim.bin"),
        "{v}"
    );
    assert_eq!(v["discs"][0]["image_sha256_ok"], false);

    let dest = scratch_dir(&s, "restored");
    let (run, report) = restore(&s, &images, &dest, &[]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert!(problems[0].as_str().unwrap().contains("victim.bin"));
    assert!(
        !dest.join("hurt/victim.bin").exists(),
        "a corrupt file never gets its final name"
    );
    let leftovers: Vec<_> = fs::read_dir(dest.join("hurt")).unwrap().collect();
    assert!(leftovers.is_empty(), "no temporary file left behind");
    assert_eq!(fs::read(dest.join("keep/a.bin")).unwrap(), vec![b'a'; 5000]);
    assert_eq!(fs::read(dest.join("keep/b.bin")).unwrap(), vec![b'b'; 5000]);
}

#[test]
fn a_truncated_image_is_named_and_the_other_discs_still_restore() {
    let s = Scratch::new();
    random_tree(&s, 13);
    let images = archive(&s, &scratch_dir(&s, "out"), "2M");
    let last = images.last().unwrap();
    let len = fs::metadata(last).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(len / 3)
        .unwrap();

    let run = s.run(&["verify", last.to_str().unwrap()]);
    assert_ne!(run.code, 0);
    assert!(
        run.stdout
            .contains(last.file_name().unwrap().to_str().unwrap()),
        "{}",
        run.stdout
    );

    let dest = scratch_dir(&s, "restored");
    let (run, report) = restore(&s, &images, &dest, &[]);
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let restored = report["files_restored"].as_u64().unwrap();
    assert!(restored > 0, "the intact discs are restored: {report}");
    let problems = report["problems"].to_string();
    assert!(
        problems.contains(last.file_name().unwrap().to_str().unwrap()),
        "{problems}"
    );
}

#[test]
fn foreign_and_bogus_discs_are_refused_with_clear_messages() {
    let ours = Scratch::new();
    random_tree(&ours, 17);
    let images = archive(&ours, &scratch_dir(&ours, "out"), "2M");
    let other = Scratch::new();
    other.write("x.txt", b"another archive");
    let run = other.run(&[
        "archive",
        other.drive.to_str().unwrap(),
        "--media",
        "cd",
        "--out",
        scratch_dir(&other, "out").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let foreign = fs::read_dir(scratch_dir(&other, "out"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();

    let bogus = scratch_dir(&ours, "not-an-image.iso");
    fs::write(&bogus, vec![0x42u8; 1 << 20]).unwrap();
    let dest = scratch_dir(&ours, "restored");
    let (run, report) = restore(
        &ours,
        &[foreign.clone(), bogus.clone(), images[0].clone()],
        &dest,
        &[],
    );
    assert_ne!(run.code, 0);
    let problems = report["problems"].to_string();
    assert!(problems.contains("another archive set"), "{problems}");
    assert!(problems.contains("not a readable disc image"), "{problems}");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    let run = ours.run(&["verify", bogus.to_str().unwrap(), foreign.to_str().unwrap()]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("not a readable disc image")
            && run.stdout.contains("another archive set"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_full_destination_is_a_clear_error_and_leaves_nothing_under_a_final_name() {
    let s = Scratch::new();
    s.write("small.txt", b"small");
    s.write("large.bin", Rng(3).bytes(1_500_000));
    let images = archive(&s, &scratch_dir(&s, "out"), "2M");
    let dest = scratch_dir(&s, "restored");
    // A file size limit makes writes past 200 KiB fail as a full disk would (SIGXFSZ ignored,
    // so write returns EFBIG).
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 200; exec \"$@\"")
        .arg("sh")
        .arg(assert_cmd::cargo::cargo_bin("odarchive"))
        .arg("--catalogue")
        .arg(&s.catalogue)
        .args(["restore", "--to"])
        .arg(&dest)
        .arg("--from")
        .args(&images);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("large.bin") || stderr.contains(dest.to_str().unwrap()),
        "{stderr}"
    );
    assert!(
        !dest.join("large.bin").exists(),
        "no half-written file under its final name"
    );
}

#[test]
fn without_the_local_catalogue_the_catalogue_on_the_discs_is_enough() {
    let s = Scratch::new();
    random_tree(&s, 19);
    let images = archive(&s, &scratch_dir(&s, "out"), "2M");
    fs::remove_file(&s.catalogue).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", s.catalogue.display()));
    }

    let mut args = vec!["verify"];
    args.extend(images.iter().map(|p| p.to_str().unwrap()));
    let run = s.run(&args);
    assert_eq!(
        run.code, 0,
        "verify with the discs' catalogue: {}{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains("catalogue stored on the discs"),
        "{}",
        run.stderr
    );

    let dest = scratch_dir(&s, "restored");
    let mut shuffled = images.clone();
    shuffled.reverse();
    let (run, report) = restore(&s, &shuffled, &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        report["problems"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert_same_tree(&s.drive, &dest);
    assert!(
        !s.catalogue.exists(),
        "no catalogue is left behind where none was"
    );
}
