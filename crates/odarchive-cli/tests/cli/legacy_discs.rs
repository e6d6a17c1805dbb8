//! Discs made by the real odarchive 0.1.0 (the Python prototype, installed from PyPI into a
//! virtual environment at test time) brought forward: `import-json`, `verify`, `restore` from
//! images and from extracted folders, with and without a local catalogue, then a changed tree
//! archived onto new discs and restored from old and new discs together.
//!
//! A failing install of the prototype is a test failure, never a skip.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::support::{Rng, Scratch, restore};

/// The zone 0.1 runs in and our commands are told: it has a daylight-saving change between
/// the two modification times of the tree.
const ZONE: &str = "Europe/London";
/// 2024-03-30 12:00:00.7 UTC: GMT (UTC+0).
const BEFORE_DST: (i64, u32) = (1_711_800_000, 700_000_000);
/// 2024-04-02 15:30:00.3 UTC: BST (UTC+1), after the change of 2024-03-31.
const AFTER_DST: (i64, u32) = (1_712_071_800, 300_000_000);

fn run_checked(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Python of a virtual environment holding odarchive 0.1.0 and what it imports, made
/// once under the cargo target folder and reused while it works. Needs python3 and
/// python3-venv, and the network (PyPI) the first time.
fn prototype_python() -> PathBuf {
    static VENV: Mutex<()> = Mutex::new(());
    let _one_at_a_time = VENV.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oda01-venv");
    let python = venv.join("bin/python");
    let ready = venv.join("odarchive-0.1.0-installed");
    if ready.exists() {
        return python;
    }
    let _ = fs::remove_dir_all(&venv);
    run_checked(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv (Debian package python3-venv)",
    );
    run_checked(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "odarchive==0.1.0",
            "click",
            "dill",
            "pycdlib",
            "scandir",
            "python-dateutil",
        ]),
        "pip install odarchive==0.1.0 click dill pycdlib scandir python-dateutil",
    );
    run_checked(
        Command::new(&python).args([
            "-c",
            "from odarchive import Archiver; from odarchive._version import __version__ as v; assert v == '0.1.0', v",
        ]),
        "importing odarchive 0.1.0",
    );
    fs::write(&ready, "").unwrap();
    python
}

/// Runs the prototype on `source` in `work`: one disc, or discs of `segment` bytes. Returns
/// the images, sorted.
fn prototype_discs(source: &Path, work: &Path, segment: Option<u64>) -> Vec<PathBuf> {
    let python = prototype_python();
    fs::create_dir_all(work).unwrap();
    let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli/oda01_make_discs.py");
    let mut cmd = Command::new(python);
    // A fixed hash seed fixes the order 0.1 walks the drive in (a Python set), and so the
    // names it stores duplicates under: with this one, not the first in the JSON's order.
    cmd.env("TZ", ZONE)
        .env("PYTHONHASHSEED", "0")
        .arg(driver)
        .arg(source)
        .arg(work);
    if let Some(size) = segment {
        cmd.arg(size.to_string());
    }
    run_checked(&mut cmd, "odarchive 0.1.0 making discs");
    let mut images: Vec<PathBuf> = fs::read_dir(work)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "iso"))
        .collect();
    images.sort();
    assert!(!images.is_empty(), "odarchive 0.1.0 wrote no disc");
    images
}

/// [`prototype_discs`] of the drive of `s`, in its folder `oda01`, and their catalogue
/// imported (in [`ZONE`]): the images and the catalogue.
fn imported_prototype_discs(s: &Scratch, segment: Option<u64>) -> (Vec<PathBuf>, PathBuf) {
    let work = s.dir("oda01");
    let images = prototype_discs(&s.drive, &work, segment);
    let json = work.join("catalogue.json");
    s.run(&["import-json", json.to_str().unwrap(), "--timezone", ZONE])
        .ok();
    (images, json)
}

fn set_mtime(path: &Path, (secs, nanos): (i64, u32)) {
    let t = filetime::FileTime::from_unix_time(secs, nanos);
    filetime::set_file_mtime(path, t).unwrap();
}

/// A drive with duplicates (whose sorted first name is not the walk's), unicode names, empty
/// files, deep folders, and mtimes on both sides of a daylight-saving change.
fn make_tree(s: &Scratch, seed: u64) {
    let mut rng = Rng(seed);
    let photo = rng.bytes(150_000);
    let files: Vec<(&str, Vec<u8>, (i64, u32))> = vec![
        ("Photos/2019/IMG_0001.jpg", photo.clone(), BEFORE_DST),
        ("Backup/Photos/IMG_0001.jpg", photo.clone(), BEFORE_DST),
        ("Zeta/copy of IMG_0001.jpg", photo, BEFORE_DST),
        ("Photos/2019/IMG_0002.jpg", rng.bytes(120_000), AFTER_DST),
        ("Music/track01.flac", rng.bytes(250_000), AFTER_DST),
        (
            "Documents/été ☀/résumé.txt",
            b"curriculum vitae\n".to_vec(),
            BEFORE_DST,
        ),
        ("日本/写真.txt", b"shashin\n".to_vec(), AFTER_DST),
        ("empty.txt", Vec::new(), BEFORE_DST),
        ("Documents/empty too", Vec::new(), BEFORE_DST),
        ("a/b/c/d/e/f/g/h/i/j/deep.bin", rng.bytes(70_000), AFTER_DST),
        ("a/b/notes.txt", b"notes\n".to_vec(), AFTER_DST),
        ("Mail/inbox.mbox", rng.bytes(90_000), BEFORE_DST),
        ("Mail/copy of notes.txt", b"notes\n".to_vec(), AFTER_DST),
    ];
    for (rel, data, mtime) in files {
        let path = s.write(rel, data);
        set_mtime(&path, mtime);
    }
    // 0.1 walks a Python set of paths under the (random) scratch folder, so which name of a
    // duplicate it stores is chance: twelve groups of three make "every stored name is the
    // sorted first" a one-in-half-a-million event, and the test always covers the case.
    for group in 0..12 {
        let data = format!("duplicate group {group}\n").into_bytes();
        for name in ["x", "y", "z"] {
            let path = s.write(format!("Dups/{group:02}/{name}.txt"), data.clone());
            set_mtime(&path, AFTER_DST);
        }
    }
}

/// Every file under `root`: its bytes and mtime in whole seconds (0.1 keeps no more).
fn files_of(root: &Path) -> BTreeMap<String, (Vec<u8>, i64)> {
    let mut out = BTreeMap::new();
    for (rel, path, meta) in testkit::walk(root) {
        if !meta.is_dir() {
            let rel = rel.to_string_lossy().into_owned();
            out.insert(rel, (fs::read(&path).unwrap(), meta.mtime()));
        }
    }
    out
}

fn assert_same_files(source: &Path, restored: &Path) {
    let want = files_of(source);
    let got = files_of(restored);
    let names = |m: &BTreeMap<String, (Vec<u8>, i64)>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "restored file names");
    for (path, (data, mtime)) in &want {
        let (got_data, got_mtime) = &got[path];
        assert!(got_data == data, "{path}: content differs");
        assert_eq!(
            got_mtime,
            mtime,
            "{path}: mtime (s), off by {}",
            got_mtime - mtime
        );
    }
}

/// Each image extracted with 7-Zip into a folder of its own, as a person would copy a disc.
fn extract(images: &[PathBuf], into: &Path) -> Vec<PathBuf> {
    images
        .iter()
        .map(|image| {
            let dir = into.join(image.file_stem().unwrap());
            let mut out = std::ffi::OsString::from("-o");
            out.push(&dir);
            run_checked(
                Command::new("7z").arg("x").arg("-y").arg(out).arg(image),
                "7z x (Debian package 7zip or p7zip-full)",
            );
            dir
        })
        .collect()
}

/// Contents of 0.1's catalogue that the discs (extracted to `folders`) hold under another
/// name than the first the JSON lists: the case a catalogue alone gets wrong.
fn stored_under_later_name(json: &Path, folders: &[PathBuf]) -> usize {
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(json).unwrap()).unwrap();
    let files = doc["files"].as_object().unwrap();
    files
        .values()
        .filter(|f| {
            let first = f["filenames"].as_object().unwrap().keys().next().unwrap();
            let rel = first.trim_start_matches('/');
            !folders.iter().any(|d| d.join(rel).exists())
        })
        .count()
}

/// The catalogue on a new disc (`image`, extracted into `into`) names every file of the 0.1
/// discs as that disc (extracted in `old_folders`, in disc order) holds it, in both views.
fn assert_new_disc_names_v01_files(image: &Path, into: &Path, old_folders: &[PathBuf]) {
    let dir = extract(&[image.to_path_buf()], into).remove(0);
    let doc: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("catalogue.json")).unwrap()).unwrap();
    let mut checked = 0;
    for file in doc["files"].as_object().unwrap().values() {
        for part in file["parts"].as_array().into_iter().flatten() {
            let disc = part["disc"].as_u64().unwrap() as usize;
            if disc > old_folders.len() {
                continue;
            }
            let path = part["path"].as_str().unwrap();
            assert!(
                old_folders[disc - 1].join(path).is_file(),
                "the new disc's catalogue names {path} on 0.1 disc {disc}, which has no such file"
            );
            let iso = part["iso_path"].as_str().unwrap();
            assert!(iso.starts_with("DATA/0"), "{path}: ISO 9660 path {iso:?}");
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "no file of the 0.1 discs in the new disc's catalogue"
    );
}

fn verify_all_ok(s: &Scratch, sources: &[PathBuf], extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json", "verify"];
    args.extend_from_slice(extra);
    let paths: Vec<&str> = sources.iter().map(|p| p.to_str().unwrap()).collect();
    args.extend(paths);
    let run = s.run(&args);
    let v: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("verify output: {e}: {}{}", run.stdout, run.stderr));
    assert_eq!(v["ok"], true, "{v:#}\n{}", run.stderr);
    assert_eq!(run.code, 0);
    let discs = v["discs"].as_array().unwrap();
    assert_eq!(discs.len(), sources.len());
    assert!(discs.iter().all(|d| d["disc"].is_u64()), "{v:#}");
    v
}

fn restore_ok(s: &Scratch, from: &[PathBuf], to: &Path, extra: &[&str]) -> serde_json::Value {
    let (run, report) = restore(s, from, to, extra);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    report
}

#[test]
fn segmented_v01_discs_verify_restore_and_continue() {
    let s = Scratch::new();
    make_tree(&s, 12);
    let (images, json) = imported_prototype_discs(&s, Some(770_000));
    assert!(images.len() >= 3, "0.1 made {} discs", images.len());

    // Every disc is identified and intact, through UDF and through the anonymous ISO 9660
    // names, and 0.1's own root files are not "unexpected".
    let v = verify_all_ok(&s, &images, &[]);
    let numbers: Vec<u64> = v["discs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["disc"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=images.len() as u64).collect::<Vec<_>>());
    verify_all_ok(&s, &images, &["--iso9660"]);

    // Restore from the images in any order, and from extracted folders.
    let mut reversed = images.clone();
    reversed.reverse();
    let out = s.dir("restored");
    let report = restore_ok(&s, &reversed, &out, &[]);
    assert!(
        report["problems"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    assert_same_files(&s.drive, &out);
    let folders = extract(&images, &s.dir("extracted"));
    assert!(
        stored_under_later_name(&json, &folders) > 0,
        "the test covers 0.1's walk order"
    );
    let out = s.dir("restored-from-folders");
    restore_ok(&s, &folders, &out, &[]);
    assert_same_files(&s.drive, &out);
    let out = s.dir("restored-iso9660");
    restore_ok(&s, &images, &out, &["--iso9660"]);
    assert_same_files(&s.drive, &out);

    // Without a local catalogue: the one on the discs, read in the zone given.
    let lost = Scratch::new();
    let out = s.dir("restored-no-catalogue");
    restore_ok(&lost, &folders, &out, &["--timezone", ZONE]);
    assert_same_files(&s.drive, &out);
    verify_all_ok(&lost, &images, &["--timezone", ZONE]);

    // `write` leaves the imported 0.1 discs alone, and refuses one asked for by number.
    let new_out = s.dir("new-discs");
    s.run(&["write", "--out", new_out.to_str().unwrap()]).ok();
    let refused = s.run(&["write", "1", "--out", new_out.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("odarchive 0.1"),
        "{}",
        refused.stderr
    );

    // The drive changes; new discs hold only the new contents.
    let added = s.write("Photos/2024/new.jpg", Rng(99).bytes(80_000));
    set_mtime(&added, AFTER_DST);
    let changed = s.write("a/b/notes.txt", b"notes, changed\n");
    set_mtime(&changed, BEFORE_DST);
    let run = s.run(&[
        "--json",
        "archive",
        s.drive.to_str().unwrap(),
        "--media",
        "cd",
        "--out",
        new_out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let summary = run.summary();
    let written = summary["written"].as_array().unwrap();
    assert_eq!(written.len(), 1, "{summary:#}");
    assert_eq!(summary["plan"]["contents"], 2, "{summary:#}");
    let new_images: Vec<PathBuf> = written
        .iter()
        .map(|w| PathBuf::from(w["path"].as_str().unwrap()))
        .collect();

    assert_new_disc_names_v01_files(&new_images[0], &s.dir("new-extracted"), &folders);

    // The new snapshot from old and new discs together, with and without a local catalogue
    // (the new disc's catalogue must name the files on the 0.1 discs as they really are).
    let all: Vec<PathBuf> = images.iter().chain(&new_images).cloned().collect();
    let out = s.dir("restored-new");
    restore_ok(&s, &all, &out, &[]);
    assert_same_files(&s.drive, &out);
    let out = s.dir("restored-new-no-catalogue");
    let lost = Scratch::new();
    restore_ok(&lost, &all, &out, &["--timezone", ZONE]);
    assert_same_files(&s.drive, &out);
}

#[test]
fn unsegmented_v01_archive_is_one_disc() {
    let s = Scratch::new();
    make_tree(&s, 34);
    let work = s.dir("oda01");
    let images = prototype_discs(&s.drive, &work, None);
    assert_eq!(images.len(), 1);
    let json = work.join("catalogue.json");
    s.run(&["import-json", json.to_str().unwrap(), "--timezone", ZONE])
        .ok();
    let discs: serde_json::Value =
        serde_json::from_str(&s.run(&["--json", "discs"]).stdout).unwrap();
    assert_eq!(discs.as_array().unwrap().len(), 1, "{discs:#}");
    // Nine unique contents in the named files, one more for each group of duplicates.
    assert_eq!(discs[0]["files"], 9 + 12, "{discs:#}");

    // The snapshot is 0.1's: its drive, and the time its catalogue was saved (UTC).
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    let snaps: serde_json::Value =
        serde_json::from_str(&s.run(&["--json", "snapshots"]).stdout).unwrap();
    let snap = &snaps.as_array().unwrap()[0];
    assert_eq!(snap["drive"], doc["source_path"], "{snaps:#}");
    let date: jiff::civil::DateTime = doc["date"].as_str().unwrap().parse().unwrap();
    let date_ns = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_nanosecond();
    assert_eq!(
        snap["started_ns"].as_i64().map(i128::from),
        Some(date_ns),
        "{snaps:#}"
    );

    verify_all_ok(&s, &images, &[]);
    let out = s.dir("restored");
    restore_ok(&s, &images, &out, &[]);
    assert_same_files(&s.drive, &out);
    let lost = Scratch::new();
    let out = s.dir("restored-no-catalogue");
    restore_ok(&lost, &images, &out, &["--timezone", ZONE]);
    assert_same_files(&s.drive, &out);
}

/// The issue's own case: hundreds of files over several discs (0.1's flat ISO 9660 folder
/// then spans many sectors), every one back, through either view.
#[test]
fn hundreds_of_files_on_several_v01_discs_all_come_back() {
    let s = Scratch::new();
    let mut rng = Rng(56);
    for i in 0..507u64 {
        let data = if i % 50 == 0 {
            b"the same in several folders\n".to_vec()
        } else {
            let len = rng.below(6000) as usize;
            rng.bytes(len)
        };
        let path = s.write(format!("d{}/sub{}/file {i:04}.bin", i % 13, i % 7), data);
        set_mtime(&path, if i % 2 == 0 { BEFORE_DST } else { AFTER_DST });
    }
    let work = s.dir("oda01");
    let images = prototype_discs(&s.drive, &work, Some(1_400_000));
    assert!(images.len() >= 4, "0.1 made {} discs", images.len());
    let json = work.join("catalogue.json");
    s.run(&["import-json", json.to_str().unwrap(), "--timezone", ZONE])
        .ok();
    let v = verify_all_ok(&s, &images, &["--iso9660"]);
    let files: u64 = v["discs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["files_ok"].as_u64().unwrap())
        .sum();
    let contents: std::collections::HashSet<Vec<u8>> = files_of(&s.drive)
        .into_values()
        .map(|(data, _)| data)
        .collect();
    assert_eq!(
        files,
        contents.len() as u64,
        "every content checked once: {v:#}"
    );
    let out = s.dir("restored-iso9660");
    restore_ok(&s, &images, &out, &["--iso9660"]);
    assert_same_files(&s.drive, &out);
    let out = s.dir("restored");
    restore_ok(&s, &images, &out, &[]);
    assert_same_files(&s.drive, &out);
}

/// One 0.1 disc of files all at the drive's root, imported: its image and the image
/// extracted to a folder. Its
/// duplicates are of one length (a name read wrong would give another group's bytes), in
/// groups enough that 0.1's walk stores some under a later name (see `make_tree`).
fn flat_v01_disc(s: &Scratch) -> (PathBuf, PathBuf) {
    let mut rng = Rng(78);
    for (i, len) in [150_000usize, 9_000, 17].into_iter().enumerate() {
        set_mtime(
            &s.write(format!("unique {i}.bin"), rng.bytes(len)),
            BEFORE_DST,
        );
    }
    set_mtime(&s.write("empty.txt", Vec::new()), BEFORE_DST);
    for group in 0..12 {
        let data = format!("duplicate group {group:02}\n").into_bytes();
        for name in ["x", "y", "z"] {
            set_mtime(
                &s.write(format!("{group:02} {name}.txt"), data.clone()),
                AFTER_DST,
            );
        }
    }
    let (mut images, json) = imported_prototype_discs(s, None);
    assert_eq!(images.len(), 1);
    let folder = extract(&images, &s.dir("extracted")).remove(0);
    assert!(
        stored_under_later_name(&json, std::slice::from_ref(&folder)) > 0,
        "the test covers 0.1's walk order"
    );
    (images.remove(0), folder)
}

/// Each file of `want` read through the mount `m` from its start alone (a read that ends
/// before the file does is not checked against the hash: the name it is read by must be
/// right), then whole.
fn assert_reads(m: &crate::mount::Mounted, want: &BTreeMap<String, (Vec<u8>, i64)>) {
    for (path, (data, _)) in want {
        let mut head = vec![0u8; data.len().min(4096)];
        let mut f = fs::File::open(m.path(&format!("latest/{path}"))).unwrap();
        std::io::Read::read_exact(&mut f, &mut head)
            .unwrap_or_else(|e| panic!("{path}: {e}: {}", m.log_text()));
        assert!(head == data[..head.len()], "{path}: its first bytes differ");
        let whole = fs::read(m.path(&format!("latest/{path}")))
            .unwrap_or_else(|e| panic!("{path}: {e}: {}", m.log_text()));
        assert!(whole == *data, "{path}: its bytes differ");
    }
}

/// `odarchive mount` of a 0.1 disc, before anything has looked at it (no verify, no restore):
/// the contents 0.1 stored under another name than the catalogue's first guess read
/// byte-identical through the mount, and so does every other file, with their mtimes.
#[test]
fn a_mounted_v01_disc_gives_the_files_stored_under_a_later_name() {
    let s = Scratch::new();
    let (image, _) = flat_v01_disc(&s);
    let m = crate::mount::Mounted::start(&s, "mnt", &["--from", image.to_str().unwrap()]);
    assert_reads(&m, &files_of(&s.drive));
    assert_same_files(&s.drive, &m.path("latest"));
    assert!(
        !m.log_text().contains("latest/"),
        "no problem: {}",
        m.log_text()
    );
}

/// A mounted 0.1 disc (a copied folder) missing the one file a group of duplicates is stored
/// as: each of their names fails with EIO, a problem naming it and the disc is logged, and
/// every other file reads right, the ones stored under a later name too.
#[test]
fn a_content_missing_from_a_mounted_v01_disc_fails_with_eio_and_the_rest_read() {
    let s = Scratch::new();
    let (_, folder) = flat_v01_disc(&s);
    let stored: Vec<PathBuf> = ["x", "y", "z"]
        .iter()
        .map(|n| folder.join(format!("DATA/05 {n}.txt")))
        .filter(|p| p.exists())
        .collect();
    assert_eq!(
        stored.len(),
        1,
        "one name of the group is stored: {stored:?}"
    );
    fs::remove_file(&stored[0]).unwrap();
    let m = crate::mount::Mounted::start(&s, "mnt", &["--from", folder.to_str().unwrap()]);
    let mut want = files_of(&s.drive);
    for n in ["x", "y", "z"] {
        let name = format!("05 {n}.txt");
        want.remove(&name).unwrap();
        let err = fs::read(m.path(&format!("latest/{name}"))).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(5), "{name}: EIO: {err}");
    }
    assert_reads(&m, &want);
    let log = m.log_text();
    assert!(
        log.contains("latest/05 x.txt: disc 1: ") && log.contains(folder.to_str().unwrap()),
        "the problem names the file and the disc: {log}"
    );
}

/// A mounted 0.1 image whose UDF anchors are all gone is read through its anonymous ISO 9660
/// names (`DATA/00000003`, found by size and hash), every file byte-identical.
#[test]
fn a_mounted_v01_image_without_udf_is_read_through_its_iso9660_names() {
    let s = Scratch::new();
    let (image, _) = flat_v01_disc(&s);
    let mut bytes = fs::read(&image).unwrap();
    let sectors = bytes.len() / 2048;
    for sector in [256, sectors - 257, sectors - 1] {
        bytes[sector * 2048..(sector + 1) * 2048].fill(0);
    }
    fs::write(&image, &bytes).unwrap();
    let m = crate::mount::Mounted::start(&s, "mnt", &["--from", image.to_str().unwrap()]);
    assert_reads(&m, &files_of(&s.drive));
    assert!(
        !m.log_text().contains("latest/"),
        "no problem: {}",
        m.log_text()
    );
    drop(m);
    // The view read was ISO 9660's (verify, after the mount, says which it reads).
    let run = s.run(&["--json", "verify", image.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["discs"][0]["view"], "iso9660", "{v:#}");
}

/// A 0.1 catalogue records no folders; imported, the folders above its files are there, and
/// the mounted disc is the drive: every file in its folder, byte-identical, with its mtime.
#[test]
fn a_mounted_v01_disc_shows_the_drive_in_its_folders() {
    let s = Scratch::new();
    make_tree(&s, 90);
    let (images, _) = imported_prototype_discs(&s, Some(770_000));
    assert!(images.len() >= 3, "0.1 made {} discs", images.len());
    let mut args = vec!["--from"];
    args.extend(images.iter().map(|p| p.to_str().unwrap()));
    let m = crate::mount::Mounted::start(&s, "mnt", &args);
    let mut names = names_under(&m.path("latest"));
    names.sort();
    assert!(
        names.contains(&"a/b/c/d/e/f/g/h/i/j/".to_owned()),
        "{names:?}"
    );
    assert_same_files(&s.drive, &m.path("latest"));
    assert!(
        !m.log_text().contains("latest/"),
        "no problem: {}",
        m.log_text()
    );
}

/// Every path under `root`, folders ending in `/`.
fn names_under(root: &Path) -> Vec<String> {
    testkit::walk(root)
        .into_iter()
        .map(|(rel, _, meta)| {
            let rel = rel.to_string_lossy().into_owned();
            if meta.is_dir() {
                format!("{rel}/")
            } else {
                rel
            }
        })
        .collect()
}
