//! `odarchive repair` through the binary: damage within the parity budget (one long scratch,
//! many short ones, random flipped sectors, a missing end, a ddrescue map) gives back the
//! byte-identical image; damage beyond it names the files lost and leaves an image the rest
//! restores from.

use std::path::Path;

use crate::support::*;

/// The longest scratch the disc's parity always rebuilds, by the header in its sector 15.
fn longest_run(image: &[u8]) -> usize {
    let header = parity_header(image);
    header.geometry.longest_run() as usize
}

/// `odarchive repair --json DAMAGED --out FIXED [extra]`: exit code and summary.
fn repair(s: &Scratch, damaged: &Path, fixed: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec![
        "repair",
        "--json",
        damaged.to_str().unwrap(),
        "--out",
        fixed.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = s.run(&args);
    let summary = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} / {}", run.stdout, run.stderr));
    (run.code, summary)
}

/// Damages a copy of the disc with `damage`, repairs it and checks the result is the image
/// written, proven by the catalogue's SHA-256; returns the summary.
fn repaired_byte_for_byte(damage: impl FnOnce(&mut Vec<u8>)) -> serde_json::Value {
    let s = Scratch::new();
    let (_, original) = archived_with_parity(&s);
    let mut bytes = original.clone();
    damage(&mut bytes);
    assert_ne!(bytes, original, "the damage changed the image");
    let damaged = s.dir("damaged.iso");
    std::fs::write(&damaged, &bytes).unwrap();
    let fixed = s.dir("fixed.iso");
    let (code, summary) = repair(&s, &damaged, &fixed, &[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["complete"], true, "{summary}");
    assert_eq!(summary["disc"], 1, "{summary}");
    assert_eq!(
        summary["proof"]["catalogue_sha256"]["matches"], true,
        "{summary}"
    );
    assert!(std::fs::read(&fixed).unwrap() == original, "byte-identical");
    assert!(!s.dir("fixed.iso.partial").exists());
    let run = s.run(&["verify", fixed.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    summary
}

#[test]
fn one_long_scratch_is_rebuilt_byte_for_byte() {
    let summary = repaired_byte_for_byte(|image| {
        let photo = noise(7, 1_000_000);
        let (at, run) = (sector_of(image, &photo) + 50, longest_run(image));
        image[at * SECTOR..(at + run) * SECTOR].fill(0);
    });
    assert!(summary["corrupt"].as_u64().unwrap() > 50, "{summary}");
}

#[test]
fn many_short_scratches_are_rebuilt_byte_for_byte() {
    repaired_byte_for_byte(|image| {
        let sectors = image.len() / SECTOR;
        for run in 0..12 {
            let at = 20 + run * (sectors - 40) / 12;
            image[at * SECTOR..(at + 4) * SECTOR].fill(0);
        }
    });
}

#[test]
fn random_flipped_sectors_are_rebuilt_byte_for_byte() {
    let summary = repaired_byte_for_byte(|image| {
        let sectors = image.len() / SECTOR;
        let picks = noise(99, 64);
        let mut hit = std::collections::BTreeSet::new();
        for pair in picks.chunks(2) {
            let at = (usize::from(pair[0]) << 8 | usize::from(pair[1])) % sectors;
            if at != 15 && hit.insert(at) {
                image[at * SECTOR + usize::from(pair[1]) % SECTOR] ^= 0x5a;
            }
        }
    });
    assert!(summary["corrupt"].as_u64().unwrap() >= 25, "{summary}");
}

#[test]
fn a_missing_end_is_rebuilt_byte_for_byte() {
    let summary = repaired_byte_for_byte(|image| image.truncate(image.len() - 100 * SECTOR));
    assert!(summary["unreadable"].as_u64().unwrap() >= 100, "{summary}");
}

#[test]
fn a_ddrescue_map_marks_sectors_lost_and_a_bad_map_is_refused() {
    let s = Scratch::new();
    let (image, original) = archived_with_parity(&s);
    // The drive gave up on 60 sectors; ddrescue wrote zeros there and noted them in its map.
    let (first, count) = (400usize, 60usize);
    let mut bytes = original.clone();
    bytes[first * SECTOR..(first + count) * SECTOR].fill(0);
    let damaged = s.dir("rescued.iso");
    std::fs::write(&damaged, &bytes).unwrap();
    let map = s.dir("rescued.map");
    let size = original.len();
    std::fs::write(
        &map,
        format!(
            "# Mapfile. Created by GNU ddrescue\n0x{size:08X} + 1\n\
             0x00000000 0x{:08X} +\n0x{:08X} 0x{:08X} -\n0x{:08X} 0x{:08X} +\n",
            first * SECTOR,
            first * SECTOR,
            count * SECTOR,
            (first + count) * SECTOR,
            size - (first + count) * SECTOR
        ),
    )
    .unwrap();
    let fixed = s.dir("fixed.iso");
    let (code, summary) = repair(&s, &damaged, &fixed, &["--map", map.to_str().unwrap()]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["unreadable"], count, "the map's sectors: {summary}");
    assert_eq!(summary["corrupt"], 0, "{summary}");
    assert!(std::fs::read(&fixed).unwrap() == original);

    std::fs::write(&map, "0 + 1\n0x10 zz -\n").unwrap();
    let run = s.run(&[
        "repair",
        image.to_str().unwrap(),
        "--out",
        s.dir("again.iso").to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(map.to_str().unwrap()), "{}", run.stderr);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    assert!(!s.dir("again.iso").exists() && !s.dir("again.iso.partial").exists());
}

#[test]
fn without_a_catalogue_the_parity_checksums_prove_the_image() {
    let s = Scratch::new();
    let (_, original) = archived_with_parity(&s);
    std::fs::rename(&s.catalogue, s.dir("elsewhere.db")).unwrap();
    let mut bytes = original.clone();
    bytes[300 * SECTOR..340 * SECTOR].fill(0xff);
    let damaged = s.dir("damaged.iso");
    std::fs::write(&damaged, &bytes).unwrap();
    let fixed = s.dir("fixed.iso");
    let (code, summary) = repair(&s, &damaged, &fixed, &[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["disc"], serde_json::Value::Null, "{summary}");
    assert_eq!(summary["proof"]["parity_crc"]["matches"], true, "{summary}");
    assert!(std::fs::read(&fixed).unwrap() == original);
}

/// The parity file's sectors but its two header copies: `parity_start + 1..parity_end - 1`.
fn parity_body(image: &[u8]) -> std::ops::Range<usize> {
    let header = parity_header(image);
    header.parity_start as usize + 1..header.parity_end() as usize - 1
}

#[test]
fn with_the_parity_file_lost_the_catalogue_proves_the_image_or_names_what_is_lost() {
    let s = Scratch::new();
    let (_, original) = archived_with_parity(&s);
    let (damaged, mut bytes) = zeroed(&s, &original, parity_body(&original));

    // The data is intact: kept as read, the parity computed again, the SHA-256 proves it.
    let fixed = s.dir("fixed.iso");
    let (code, summary) = repair(&s, &damaged, &fixed, &[]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["complete"], true, "{summary}");
    assert!(
        !summary["unverified"].as_array().unwrap().is_empty(),
        "{summary}"
    );
    assert_eq!(
        summary["proof"]["catalogue_sha256"]["matches"], true,
        "{summary}"
    );
    assert!(std::fs::read(&fixed).unwrap() == original, "byte-identical");

    // Without a catalogue nothing proves it: the image is kept aside and the doubt named.
    std::fs::rename(&s.catalogue, s.dir("elsewhere.db")).unwrap();
    let run = s.run(&[
        "repair",
        damaged.to_str().unwrap(),
        "--out",
        s.dir("unproven.iso").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("unverified (their checksums were lost too)"),
        "{}",
        run.stdout
    );
    assert!(!s.dir("unproven.iso").exists());
    assert!(std::fs::read(s.dir("unproven.iso.incomplete")).unwrap() == original);
    std::fs::rename(s.dir("elsewhere.db"), &s.catalogue).unwrap();

    // A zeroed sector of the photo as well: nothing rebuilds it, and never as intact.
    let photo = noise(7, 1_000_000);
    let at = sector_of(&original, &photo) + 10;
    bytes[at * SECTOR..(at + 1) * SECTOR].fill(0);
    std::fs::write(&damaged, &bytes).unwrap();
    let again = s.dir("again.iso");
    let (code, summary) = repair(&s, &damaged, &again, &[]);
    assert_eq!(code, 3, "{summary}");
    assert_eq!(
        summary["proof"]["catalogue_sha256"]["matches"], false,
        "{summary}"
    );
    let lost = summary["lost"].as_array().unwrap();
    assert_eq!(lost.len(), 1, "only the photo: {summary}");
    assert_eq!(lost[0]["disc_path"], "Data/Photos/big.jpg", "{summary}");
}

#[test]
fn damage_beyond_the_budget_names_the_lost_files_and_the_rest_restores() {
    let s = Scratch::new();
    let (_, original) = archived_with_parity(&s);
    let photo = noise(7, 1_000_000);
    let at = sector_of(&original, &photo);
    let (damaged, _) = zeroed(&s, &original, at..at + 400);
    let fixed = s.dir("fixed.iso");
    let (code, summary) = repair(&s, &damaged, &fixed, &[]);
    assert_eq!(code, 3, "{summary}");
    assert_eq!(summary["complete"], false, "{summary}");
    assert!(
        !fixed.exists(),
        "only a proven image gets the name asked for"
    );
    let best = s.dir("fixed.iso.incomplete");
    assert_eq!(summary["image"], best.to_str().unwrap(), "{summary}");
    let lost = summary["lost"].as_array().unwrap();
    assert_eq!(lost.len(), 1, "only the photo is lost: {summary}");
    assert_eq!(lost[0]["disc_path"], "Data/Photos/big.jpg", "{summary}");
    assert_eq!(lost[0]["catalogue_path"], "Photos/big.jpg", "{summary}");

    let text = s.run(&[
        "repair",
        damaged.to_str().unwrap(),
        "--out",
        s.dir("again.iso").to_str().unwrap(),
    ]);
    assert_eq!(text.code, 3);
    assert!(
        text.stdout
            .contains("lost: Data/Photos/big.jpg (Photos/big.jpg)"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("INCOMPLETE"), "{}", text.stdout);

    let dest = s.dir("restored");
    let run = s.run(&[
        "restore",
        "--to",
        dest.to_str().unwrap(),
        "--from",
        best.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{} {}", run.stdout, run.stderr);
    for i in 0..5 {
        let restored = std::fs::read(dest.join(format!("notes/{i}.txt"))).unwrap();
        assert_eq!(restored, noise(100 + i as u64, 20_000), "notes/{i}.txt");
    }
    assert!(!dest.join("Photos/big.jpg").exists());
}

#[test]
fn verify_reports_the_margin_and_says_repair_fixes_a_recoverable_image() {
    let s = Scratch::new();
    let (image, original) = archived_with_parity(&s);
    let run = s.run(&["verify", "--json", image.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let summary: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let parity = &summary["discs"][0]["parity"];
    assert_eq!(parity["parity_percent"], 10, "{summary}");
    assert_eq!(parity["corrupt"], 0, "{summary}");
    assert_eq!(parity["recoverable"], true, "{summary}");

    let photo = noise(7, 1_000_000);
    let at = sector_of(&original, &photo);
    for (count, recoverable) in [(30usize, true), (400, false)] {
        let mut bytes = original.clone();
        bytes[at * SECTOR..(at + count) * SECTOR].fill(0);
        let damaged = s.dir(&format!("damaged{count}.iso"));
        std::fs::write(&damaged, &bytes).unwrap();
        let run = s.run(&["verify", "--json", damaged.to_str().unwrap()]);
        assert_eq!(run.code, 3);
        let summary: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let parity = &summary["discs"][0]["parity"];
        assert_eq!(parity["corrupt"], count, "{summary}");
        assert_eq!(parity["recoverable"], recoverable, "{summary}");
        let percent = parity["damaged_percent"].as_f64().unwrap();
        let sectors = parity["sectors"].as_f64().unwrap();
        assert!(
            (percent - count as f64 * 100.0 / sectors).abs() < 1e-9,
            "{summary}"
        );

        let text = s.run(&["verify", damaged.to_str().unwrap()]).stdout;
        let want = format!(
            "{count} sectors unreadable/corrupt ({percent:.1} %), parity 10 %: {}",
            if recoverable {
                "recoverable"
            } else {
                "NOT recoverable"
            }
        );
        assert!(text.contains(&want), "{want:?} in {text}");
        let hint = format!(
            "`odarchive repair {} --out FIXED.iso` rebuilds",
            damaged.display()
        );
        assert!(text.contains(&hint), "{text}");
    }
}

/// A read-only loop device over an image file, detached when dropped (every exit path).
struct Loop(String);

impl Loop {
    fn over(image: &Path) -> Loop {
        assert!(
            is_root(),
            "loop devices need root (CI runs the tests as root)"
        );
        let out = std::process::Command::new("losetup")
            .args(["-f", "--show", "--read-only"])
            .arg(image)
            .output()
            .expect("losetup (util-linux) is needed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Loop(String::from_utf8(out.stdout).unwrap().trim().to_owned())
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.0])
            .status();
    }
}

#[test]
fn a_block_device_is_rescued_repaired_verified_and_restored_from() {
    let s = Scratch::new();
    let (image, original) = archived_with_parity(&s);
    let (damaged, _) = zeroed(&s, &original, 200..260);
    let drive = Loop::over(&damaged);
    let fixed = s.dir("fixed.iso");
    let (code, summary) = repair(&s, Path::new(&drive.0), &fixed, &[]);
    assert_eq!(code, 0, "{summary}");
    assert!(summary["corrupt"].as_u64().unwrap() > 0, "{summary}");
    assert!(std::fs::read(&fixed).unwrap() == original, "byte-identical");

    let disc = Loop::over(&image);
    let run = s.run(&["verify", "--json", &disc.0]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let dest = s.dir("restored");
    let run = s.run(&["restore", "--to", dest.to_str().unwrap(), "--from", &disc.0]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert_eq!(
        std::fs::read(dest.join("Photos/big.jpg")).unwrap(),
        noise(7, 1_000_000)
    );
}
