//! `verify`, `locate` and `restore` end to end: archive a generated tree, then get it back —
//! through the UDF view and through the ISO 9660 view alone — and check it equals the source in
//! names, bytes, kinds and mtimes; damaged, truncated, missing and foreign discs.

use std::fs;
use std::path::Path;

use crate::support::*;

#[test]
fn random_trees_come_back_identical_through_udf_and_through_iso9660_alone() {
    for seed in [1u64, 2, 3] {
        let s = Scratch::new();
        random_tree(&s, seed);
        let images = s.archive_to_several_discs();
        let verify = s.run(&{
            let mut a = vec!["verify"];
            a.extend(images.iter().map(|p| p.to_str().unwrap()));
            a
        });
        assert_eq!(verify.code, 0, "verify: {}{}", verify.stdout, verify.stderr);

        let udf = s.dir("restored-udf");
        let (run, report) = restore(&s, &images, &udf, &[]);
        assert_eq!(run.code, 0, "seed {seed}: {}{}", run.stdout, run.stderr);
        assert!(report["problems"].as_array().unwrap().is_empty());
        assert_same_tree(&s.drive, &udf);

        let iso = s.dir("restored-iso");
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
    let images = s.archive_to_several_discs();
    let dest = s.dir("restored");
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
    run.ok();
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
    let images = s.archive_to_several_discs();
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

    let dest = s.dir("restored");
    let (run, report) = restore(&s, &images, &dest, &["level0/level1"]);
    run.ok();
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
    let images = s.archive_to_several_discs();
    let holder = images
        .iter()
        .find(|i| fs::read(i).unwrap().windows(64).any(|w| w == &victim[..64]))
        .unwrap()
        .clone();
    flip_byte_of(&holder, &victim);
    // The disc's parity would rebuild the byte (restore_parity.rs): here it cannot.
    destroy_parity(&holder);

    let run = s.run(&["verify", "--json", holder.to_str().unwrap()]);
    assert_eq!(run.code, 3, "verify must fail: {}", run.stdout);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let corrupt = v["discs"][0]["corrupt"].as_array().unwrap();
    assert_eq!(corrupt.len(), 1, "{v}");
    assert_eq!(corrupt[0]["path"], "Data/hurt/victim.bin", "{v}");
    assert_eq!(corrupt[0]["kind"], "corrupt", "{v}");
    assert!(
        corrupt[0]["detail"]
            .as_str()
            .unwrap()
            .contains("content does not match"),
        "{v}"
    );
    assert_eq!(v["discs"][0]["image_sha256_ok"], false);

    let dest = s.dir("restored");
    let (run, report) = restore(&s, &images, &dest, &[]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(
        problems[0]["path"],
        dest.join("hurt/victim.bin").to_str().unwrap(),
        "{report}"
    );
    assert_eq!(problems[0]["kind"], "corrupt", "{report}");
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
    let images = s.archive_to_several_discs();
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

    let dest = s.dir("restored");
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
    let images = ours.archive_to_several_discs();
    let other = Scratch::new();
    other.write("x.txt", b"another archive");
    let foreign = other.archive(&other.dir("out"), "cd").remove(0);

    let bogus = ours.dir("not-an-image.iso");
    fs::write(&bogus, vec![0x42u8; 1 << 20]).unwrap();
    let dest = ours.dir("restored");
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
    let images = s.archive_to_several_discs();
    let dest = s.dir("restored");
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
    let images = s.archive_to_several_discs();
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

    let dest = s.dir("restored");
    let mut shuffled = images.clone();
    shuffled.reverse();
    let (run, report) = restore(&s, &shuffled, &dest, &[]);
    run.ok();
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
