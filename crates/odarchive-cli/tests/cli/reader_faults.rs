//! Damaged discs give back everything they can (issue 11, reader side): one damaged UDF file
//! entry or directory costs nothing that the ISO 9660 view still holds, a damaged volume
//! recognition sequence or anchor does not hide an intact volume, and a mounted disc with a
//! file missing is still known. Every file read through a fallback is hash-checked: changed
//! bytes are never "ok". Structures are found with discfs's own reader, not fixed offsets.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use discfs::udf::read::{UdfEntry, UdfVolume};
use discfs::udf::tag::{self, TagId};
use serde_json::Value;

use crate::support::*;

const SECTOR: usize = 2048;

/// A drive of a few folders archived onto one CD image: (scratch, image, data files on it).
fn one_disc() -> (Scratch, PathBuf, u64) {
    let s = Scratch::new();
    s.write("photos/a.jpg", Rng(1).bytes(9000));
    s.write("photos/b.jpg", Rng(2).bytes(5000));
    s.write("photos/c.jpg", Rng(3).bytes(3000));
    s.write("notes/today.txt", b"remember the milk\n");
    s.write("notes/deep/x.bin", Rng(4).bytes(70_000));
    s.write("empty.txt", b"");
    let images = s.archive(&s.dir("out"), "cd");
    assert_eq!(images.len(), 1, "{images:?}");
    let run = s.run(&["discs", "--json"]);
    run.ok();
    let discs: Value = serde_json::from_str(&run.stdout).unwrap();
    let files = discs[0]["files"].as_u64().unwrap();
    assert_eq!(files, 6, "{discs}");
    (s, images[0].clone(), files)
}

/// The UDF entry at `path` in the image, with the sector of its File Entry and the first
/// sector of the partition.
fn udf_entry(image: &Path, path: &str) -> (UdfEntry, u64, u64) {
    let mut udf = UdfVolume::open(Cursor::new(fs::read(image).unwrap())).unwrap();
    let entry = udf.lookup(path).unwrap();
    let sector = udf.entry_sector(&entry);
    (entry, sector, udf.partition_start())
}

/// The first sector of an entry's data (a file's bytes, a directory's identifiers).
fn data_sector(image: &Path, path: &str) -> u64 {
    let mut udf = UdfVolume::open(Cursor::new(fs::read(image).unwrap())).unwrap();
    let entry = udf.lookup(path).unwrap();
    udf.data_runs(&entry).unwrap()[0].0
}

/// Changes the File Entry of `path` with `change`; `reseal` recomputes its tag (checksum and
/// CRC), so the damage is one a reader cannot see from the tag alone.
fn change_file_entry(image: &Path, path: &str, reseal: bool, change: impl FnOnce(&mut [u8])) {
    let (_, sector, partition) = udf_entry(image, path);
    let mut bytes = fs::read(image).unwrap();
    let at = sector as usize * SECTOR;
    let fe = &mut bytes[at..at + SECTOR];
    let len = 16 + u16::from_le_bytes([fe[10], fe[11]]) as usize;
    change(&mut fe[..len]);
    if reseal {
        tag::seal(
            &mut fe[..len],
            TagId::FileEntry,
            (sector - partition) as u32,
        );
    }
    fs::write(image, bytes).unwrap();
}

fn flip(image: &Path, offset: usize) {
    let mut bytes = fs::read(image).unwrap();
    bytes[offset] ^= 0x5A;
    fs::write(image, bytes).unwrap();
}

fn verify_json(s: &Scratch, source: &Path) -> (Run, Value) {
    let run = s.run(&["verify", "--json", source.to_str().unwrap()]);
    let v = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run, v)
}

/// Verify names the damage (containing `named`) and finds every file intact; restore gives
/// back the whole drive.
fn everything_comes_back(s: &Scratch, image: &Path, files: u64, named: &str) {
    let (run, v) = verify_json(s, image);
    let disc = &v["discs"][0];
    assert_eq!(
        run.code, 3,
        "a damaged disc does not pass: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(disc["problem"], Value::Null, "{v}");
    assert_eq!(disc["files_ok"], files, "every file read intact: {v}");
    for list in ["missing", "corrupt", "unexpected"] {
        assert_eq!(disc[list], serde_json::json!([]), "{list}: {v}");
    }
    let damage = disc["damage"].to_string();
    assert!(damage.contains(named), "damage named ({named}): {damage}");

    let dest = s.dir("restored");
    let (run, report) = restore(s, &[image.to_owned()], &dest, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert_same_tree(&s.drive, &dest);
}

#[test]
fn a_file_entry_with_a_bad_tag_is_read_through_iso9660() {
    let (s, image, files) = one_disc();
    change_file_entry(&image, "Data/photos/b.jpg", false, |fe| fe[0] = 0x77);
    everything_comes_back(&s, &image, files, "Data/photos/b.jpg");
}

#[test]
fn a_file_entry_with_a_bad_checksum_is_read_through_iso9660() {
    let (s, image, files) = one_disc();
    change_file_entry(&image, "Data/notes/deep/x.bin", false, |fe| fe[100] ^= 0xFF);
    everything_comes_back(&s, &image, files, "Data/notes/deep/x.bin");
}

#[test]
fn a_file_entry_recording_the_wrong_size_is_read_through_iso9660() {
    let (s, image, files) = one_disc();
    change_file_entry(&image, "Data/photos/a.jpg", true, |fe| {
        fe[56..64].copy_from_slice(&4000u64.to_le_bytes());
    });
    everything_comes_back(&s, &image, files, "records 4000 bytes");
}

#[test]
fn a_file_entry_pointing_at_other_data_is_read_through_iso9660() {
    let (s, image, files) = one_disc();
    // a.jpg's extent moved onto b.jpg's data (inside the partition, a valid extent).
    let (b, _, partition) = udf_entry(&image, "Data/photos/b.jpg");
    let b_block = (data_sector(&image, "Data/photos/b.jpg") - partition) as u32;
    assert!(b.size > 0);
    change_file_entry(&image, "Data/photos/a.jpg", true, |fe| {
        let ad = fe.len() - 8; // the one short allocation descriptor
        fe[ad + 4..ad + 8].copy_from_slice(&b_block.to_le_bytes());
    });
    everything_comes_back(&s, &image, files, "point at different data");
}

#[test]
fn a_directory_with_a_damaged_identifier_loses_nothing() {
    let (s, image, files) = one_disc();
    // The identifiers of Data/photos: the parent's (40 bytes) first, then a.jpg's; one byte
    // of a.jpg's ICB changed breaks its CRC.
    let at = data_sector(&image, "Data/photos") as usize * SECTOR;
    flip(&image, at + 40 + 24);
    everything_comes_back(&s, &image, files, "UDF directory Data/photos");
}

#[test]
fn a_whole_damaged_directory_is_read_through_iso9660() {
    let (s, image, files) = one_disc();
    change_file_entry(&image, "Data/notes", false, |fe| fe[60] ^= 0xFF);
    everything_comes_back(&s, &image, files, "Data/notes");
}

#[test]
fn changed_bytes_read_through_the_fallback_are_still_corrupt() {
    let (s, image, files) = one_disc();
    let data = data_sector(&image, "Data/photos/c.jpg") as usize * SECTOR;
    change_file_entry(&image, "Data/photos/c.jpg", false, |fe| fe[0] = 0x77);
    flip(&image, data + 100);
    // The disc's parity would rebuild the byte (restore_parity.rs): here it cannot.
    destroy_parity(&image);
    let (run, v) = verify_json(&s, &image);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let disc = &v["discs"][0];
    assert_eq!(disc["files_ok"], files - 1, "{v}");
    let corrupt = disc["corrupt"].as_array().unwrap();
    assert_eq!(corrupt.len(), 1, "{v}");
    assert!(
        corrupt[0]["path"].as_str().unwrap().ends_with("c.jpg"),
        "{v}"
    );
    assert_eq!(corrupt[0]["kind"], "corrupt", "{v}");
    assert!(
        !corrupt[0]["detail"].as_str().unwrap().contains("c.jpg"),
        "{v}"
    );

    let dest = s.dir("restored");
    let (run, report) = restore(&s, std::slice::from_ref(&image), &dest, &[]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert!(
        problems[0]["path"].as_str().unwrap().ends_with("c.jpg"),
        "{report}"
    );
    assert_eq!(problems[0]["kind"], "corrupt", "{report}");
    assert!(
        !dest.join("photos/c.jpg").exists(),
        "never under its final name"
    );
    assert_eq!(
        fs::read(dest.join("photos/a.jpg")).unwrap(),
        fs::read(s.drive.join("photos/a.jpg")).unwrap()
    );
}

#[test]
fn a_flipped_byte_in_sector_16_does_not_make_the_disc_unreadable() {
    let (s, image, files) = one_disc();
    flip(&image, 16 * SECTOR + 3); // "CD001" of the primary volume descriptor
    everything_comes_back(&s, &image, files, "sector 16");
    // The ISO 9660 view is still read, its primary descriptor recognised despite the byte.
    let (_, v) = verify_json(&s, &image);
    let damage = v["discs"][0]["damage"].to_string();
    assert!(damage.contains("ISO 9660: sector 16"), "{damage}");
    assert!(!damage.contains("unreadable"), "{damage}");
    let dest = s.dir("restored-iso");
    let (run, _) = restore(&s, std::slice::from_ref(&image), &dest, &["--iso9660"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_same_tree(&s.drive, &dest);
}

#[test]
fn a_damaged_anchor_at_256_is_named_and_the_last_one_used() {
    let (s, image, files) = one_disc();
    flip(&image, 256 * SECTOR + 20);
    everything_comes_back(&s, &image, files, "anchor at sector 256");
}

/// The UDF view of `image` copied into a folder, as a mounted disc shows it.
fn extract(image: &Path, to: &Path) {
    let mut udf = UdfVolume::open(Cursor::new(fs::read(image).unwrap())).unwrap();
    for (path, entry) in udf.walk().unwrap() {
        let target = to.join(&path);
        if entry.is_dir {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            let mut data = Vec::new();
            udf.copy_to(&entry, &mut data).unwrap();
            fs::write(&target, data).unwrap();
        }
    }
}

#[test]
fn a_mounted_disc_with_a_file_missing_is_known_and_the_file_named() {
    let (s, image, files) = one_disc();
    let mounted = s.dir("mounted");
    extract(&image, &mounted);
    fs::remove_file(mounted.join("Data/photos/b.jpg")).unwrap();

    let (run, v) = verify_json(&s, &mounted);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let disc = &v["discs"][0];
    assert_eq!(disc["disc"], 1, "identified: {v}");
    assert_eq!(
        disc["missing"],
        serde_json::json!([{
            "path": "Data/photos/b.jpg",
            "kind": "missing",
            "detail": "not on the disc",
        }]),
        "{v}"
    );
    assert_eq!(disc["files_ok"], files - 1, "{v}");

    let dest = s.dir("restored");
    let (run, report) = restore(&s, std::slice::from_ref(&mounted), &dest, &[]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert!(
        problems[0]["path"].as_str().unwrap().ends_with("b.jpg"),
        "{report}"
    );
    assert_eq!(problems[0]["kind"], "missing", "{report}");
    for kept in [
        "photos/a.jpg",
        "photos/c.jpg",
        "notes/deep/x.bin",
        "notes/today.txt",
    ] {
        assert_eq!(
            fs::read(dest.join(kept)).unwrap(),
            fs::read(s.drive.join(kept)).unwrap(),
            "{kept}"
        );
    }
}

fn set_id(s: &Scratch) -> String {
    let run = s.run(&["discs", "--json"]);
    run.ok();
    let discs: Value = serde_json::from_str(&run.stdout).unwrap();
    discs[0]["set_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_disc_of_another_set_is_refused_naming_both_set_ids() {
    let (ours, _, _) = one_disc();
    let other = Scratch::new();
    other.write("x.txt", b"another archive");
    let foreign = other.archive(&other.dir("out"), "cd").remove(0);
    let mounted = other.dir("mounted");
    extract(&foreign, &mounted);
    let (our_set, their_set) = (set_id(&ours), set_id(&other));
    assert_ne!(our_set, their_set);

    for disc in [&foreign, &mounted] {
        let (run, v) = verify_json(&ours, disc);
        assert_eq!(run.code, 3, "{}", run.stdout);
        let problem = &v["discs"][0]["problem"];
        assert_eq!(problem["path"], disc.to_str().unwrap(), "{v}");
        assert_eq!(problem["kind"], "unexpected", "{v}");
        let problem = problem["detail"].as_str().unwrap_or_default().to_owned();
        assert!(
            problem.contains(&our_set) && problem.contains(&their_set),
            "verify names both sets: {problem}"
        );
        let dest = ours.dir("restored");
        let (run, report) = restore(&ours, std::slice::from_ref(disc), &dest, &[]);
        assert_ne!(run.code, 0);
        let problems = report["problems"].to_string();
        assert!(
            problems.contains(&our_set) && problems.contains(&their_set),
            "restore names both sets: {problems}"
        );
    }
}

/// The text of verify, now that its problems are typed, is what it was: missing and
/// unexpected files by path, corrupt ones with why, damage as the reader said it.
#[test]
fn verify_prints_each_problem_as_it_did() {
    let (s, image, _) = one_disc();
    let mounted = s.dir("mounted");
    extract(&image, &mounted);
    fs::remove_file(mounted.join("Data/photos/b.jpg")).unwrap();
    fs::write(mounted.join("Data/stray.txt"), b"not archived").unwrap();
    let c = mounted.join("Data/photos/c.jpg");
    let mut bytes = fs::read(&c).unwrap();
    bytes[10] ^= 0xff;
    fs::write(&c, &bytes).unwrap();

    let run = s.run(&["verify", mounted.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    for line in [
        "  missing: Data/photos/b.jpg".to_owned(),
        "  unexpected: Data/stray.txt".to_owned(),
        format!(
            "  corrupt: Data/photos/c.jpg: {} bytes, content does not match its SHA-256",
            bytes.len()
        ),
    ] {
        assert!(
            run.stdout.lines().any(|l| l == line),
            "{line}\n{}",
            run.stdout
        );
    }

    change_file_entry(&image, "Data/photos/c.jpg", false, |fe| fe[0] = 0x77);
    let run = s.run(&["verify", image.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let damaged: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  damaged: "))
        .collect();
    assert!(!damaged.is_empty(), "{}", run.stdout);
    // As the reader words it, not prefixed with the image (the problem's path in JSON).
    assert!(
        damaged
            .iter()
            .any(|d| d.starts_with("UDF file entry of Data/photos/c.jpg: ")),
        "{damaged:?}"
    );
    let image_path = image.to_str().unwrap();
    assert!(
        damaged.iter().all(|d| !d.contains(image_path)),
        "{damaged:?}"
    );
}
