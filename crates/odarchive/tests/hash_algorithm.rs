//! A catalogue keeps its hash algorithm: a SHA-512 catalogue (as imported from the original
//! odarchive) is scanned, planned, written, verified and restored with SHA-512 throughout,
//! and its discs carry `SHA512SUMS` that `sha512sum -c` accepts.

mod common;

use common::scan_plan_write;
use testkit::noise;

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use odarchive::reader::DiscSource;
use odarchive::reader::catalogue_from_discs;
use odarchive::restore::{RestoreOptions, restore};
use odarchive::verify::{VerifyOptions, verify};
use odarchive::{
    Catalogue, ContentHash, EntryKind, HashAlgorithm, Media, NoProgress, PlanOptions, ScanOptions,
};
use sha2::{Digest, Sha512};

fn sha512(bytes: &[u8]) -> ContentHash {
    ContentHash::from(<[u8; 64]>::from(Sha512::digest(bytes)))
}

/// A small drive: a file larger than a 5 MB disc (split), duplicates, an empty file, nesting.
fn make_drive(root: &Path) {
    std::fs::create_dir_all(root.join("Photos/2024")).unwrap();
    std::fs::create_dir_all(root.join("empty dir")).unwrap();
    std::fs::write(root.join("big.bin"), noise(7, 7_300_000)).unwrap();
    std::fs::write(root.join("Photos/2024/a.jpg"), noise(11, 1_200_000)).unwrap();
    std::fs::write(root.join("Photos/2024/b.jpg"), noise(13, 900_000)).unwrap();
    std::fs::write(root.join("Photos/notes.txt"), b"same bytes\n").unwrap();
    std::fs::write(root.join("copy of notes.txt"), b"same bytes\n").unwrap();
    std::fs::write(root.join("empty.txt"), b"").unwrap();
}

/// Every regular file under `root`, by path relative to it, with its bytes.
fn files_under(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    testkit::walk(root)
        .into_iter()
        .filter(|(_, _, meta)| meta.is_file())
        .map(|(rel, full, _)| (rel, std::fs::read(full).unwrap()))
        .collect()
}

/// Copies every file of an image (UDF view) into `to`, as a person would copy a disc.
fn copy_disc(image: &Path, to: &Path) {
    let mut source = DiscSource::open(image).unwrap();
    for (path, _) in source.files().unwrap() {
        let target = to.join(&path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let mut out = std::fs::File::create(&target).unwrap();
        source
            .copy_file(&path, None, None, &mut out, &mut [])
            .unwrap();
    }
}

#[test]
fn a_sha512_catalogue_scans_plans_writes_verifies_and_restores_with_sha512() {
    let work = tempfile::tempdir().unwrap();
    let drive = work.path().join("drive");
    make_drive(&drive);
    let db = work.path().join("odarchive.db");
    let mut catalogue = Catalogue::create_with_algorithm(&db, HashAlgorithm::Sha512).unwrap();
    assert_eq!(catalogue.hash_algorithm().unwrap(), HashAlgorithm::Sha512);

    // Scan: every content hash is the SHA-512 of the file.
    let summary =
        odarchive::scan(&mut catalogue, &drive, &ScanOptions::default(), &NoProgress).unwrap();
    assert_eq!(summary.info.files, 6);
    assert_eq!(summary.info.errors, 0);
    let mut hashed = 0;
    catalogue
        .for_each_entry(summary.info.snapshot, |e| {
            if e.kind == EntryKind::File {
                let bytes =
                    std::fs::read(drive.join(std::ffi::OsStr::from_bytes(&e.path))).unwrap();
                let hash = e.hash.expect("every file is hashed");
                assert_eq!(hash.len(), 64, "{:?}", e.relative_path());
                assert_eq!(hash, sha512(&bytes), "{:?}", e.relative_path());
                hashed += 1;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(hashed, 6);

    // Plan on 5 MB discs: the 7.3 MB file is split, and each part's hash is SHA-512 too.
    let options = PlanOptions {
        media: Media::parse("5M").unwrap(),
        margin: 0,
        first: vec![],
        replan: false,
        parity: 0,
        set_parity: Default::default(),
    };
    let plan = odarchive::plan(&mut catalogue, &options, &NoProgress).unwrap();
    assert_eq!(plan.split_contents, 1);
    assert!(plan.discs.len() >= 2);
    let big = std::fs::read(drive.join("big.bin")).unwrap();
    let mut parts = 0;
    let mut placed = 0;
    for d in catalogue.discs().unwrap() {
        for p in catalogue.placements_on(d.number).unwrap() {
            placed += 1;
            if p.part > 0 {
                let region = &big[p.offset as usize..(p.offset + p.length) as usize];
                assert_eq!(p.part_hash, Some(sha512(region)), "part {}", p.part);
                assert_eq!(p.stored_hash(), sha512(region));
                parts += 1;
            } else {
                assert_eq!(p.part_hash, None);
                assert_eq!(p.stored_hash().len(), 64);
            }
        }
    }
    assert!(parts >= 2, "big.bin is split into {parts} parts");
    // a.jpg, b.jpg, the notes (stored once) and the empty file whole, big.bin as parts.
    assert_eq!(placed, 4 + parts);

    // Write: every file is re-hashed with SHA-512 on its way in (a mismatch would stop it).
    let out = work.path().join("images");
    let written = common::write_all(&mut catalogue, &out);
    assert_eq!(written.len(), plan.discs.len());
    let images: Vec<PathBuf> = written.iter().map(|w| w.path.clone()).collect();

    // Each disc carries SHA512SUMS (and no SHA256SUMS) whose lines are the SHA-512 of every
    // other file on it, as sha512sum itself checks.
    for (i, image) in images.iter().enumerate() {
        let root = work.path().join(format!("disc{}", i + 1));
        copy_disc(image, &root);
        assert!(!root.join("SHA256SUMS").exists());
        let sums = std::fs::read_to_string(root.join("SHA512SUMS")).unwrap();
        let on_disc = files_under(&root);
        let mut listed = 0;
        for line in sums.lines() {
            let (hex, path) = line.split_once("  ").unwrap();
            assert_eq!(hex.len(), 128, "{line}");
            let bytes = &on_disc[Path::new(path)];
            assert_eq!(hex, sha512(bytes).to_string(), "{path}");
            listed += 1;
        }
        assert_eq!(
            listed,
            on_disc.len() - 1,
            "every file but SHA512SUMS is listed"
        );
        let status = Command::new("sha512sum")
            .args(["-c", "--quiet", "--strict", "SHA512SUMS"])
            .current_dir(&root)
            .status()
            .unwrap();
        assert!(status.success(), "sha512sum -c fails on disc {}", i + 1);
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        assert!(readme.contains("sha512sum -c SHA512SUMS"), "{readme}");
        assert!(!readme.contains("SHA256SUMS"), "{readme}");
    }

    // Verify re-hashes every file with SHA-512 and passes.
    let verdicts = verify(&mut catalogue, &images, &VerifyOptions::default()).unwrap();
    for v in &verdicts {
        assert!(v.ok(), "{v:?}");
        assert_eq!(
            v.image_sha256_ok,
            Some(true),
            "the image hash stays SHA-256"
        );
        assert!(v.unexpected.is_empty(), "{v:?}");
    }
    assert_eq!(
        verdicts.iter().map(|v| v.files_ok).sum::<u64>(),
        placed,
        "every data file checked"
    );
    // Through the ISO 9660 view too: SHA512SUMS is known there under its ISO name.
    let iso_only = VerifyOptions {
        iso9660_only: true,
        snapshot: None,
    };
    for v in verify(&mut catalogue, &images, &iso_only).unwrap() {
        assert!(
            v.ok() && v.view == Some(odarchive::reader::View::Iso9660),
            "{v:?}"
        );
    }

    // Restore gives back the drive exactly.
    let dest = work.path().join("restored");
    let restore_options = RestoreOptions {
        from: images.clone(),
        to: dest.clone(),
        ..Default::default()
    };
    let report = restore(&catalogue, &restore_options).unwrap();
    assert!(report.complete(), "{report:?}");
    assert_eq!(files_under(&dest), files_under(&drive));
    assert!(dest.join("empty dir").is_dir());

    // A restore run again finds every file in place, checked with SHA-512.
    let again = restore(&catalogue, &restore_options).unwrap();
    assert!(again.complete(), "{again:?}");
    assert_eq!(again.files_restored, 0, "{again:?}");
}

#[test]
fn a_catalogue_rebuilt_from_sha512_discs_keeps_sha512() {
    let work = tempfile::tempdir().unwrap();
    let drive = work.path().join("drive");
    std::fs::create_dir_all(&drive).unwrap();
    std::fs::write(drive.join("a.txt"), b"alpha").unwrap();
    std::fs::write(drive.join("b.bin"), noise(3, 300_000)).unwrap();
    let mut catalogue =
        Catalogue::create_with_algorithm(work.path().join("c.db"), HashAlgorithm::Sha512).unwrap();
    let images = scan_plan_write(&mut catalogue, &drive, &work.path().join("images"));

    let mut rebuilt = catalogue_from_discs(&images, &work.path().join("rebuilt.db")).unwrap();
    assert_eq!(rebuilt.hash_algorithm().unwrap(), HashAlgorithm::Sha512);
    let verdicts = verify(&mut rebuilt, &images, &VerifyOptions::default()).unwrap();
    assert!(verdicts.iter().all(|v| v.ok()), "{verdicts:?}");
    assert_eq!(verdicts.iter().map(|v| v.files_ok).sum::<u64>(), 2);
}
