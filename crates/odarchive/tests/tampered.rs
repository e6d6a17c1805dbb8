//! Verify never passes a disc whose file bytes were changed: discs are written through the
//! library, bytes inside one file's data extent (found from the disc's layout) are flipped,
//! and verify — through the UDF view or the ISO 9660 view alone — must report that file, and
//! only that file, corrupt.

mod common;

use common::scan_plan_write;
use testkit::noise;

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use odarchive::disc::contents::{disc_contents, plan_files};
use odarchive::verify::{VerifyOptions, verify};
use odarchive::{Catalogue, Placement};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};

/// One file of a written disc: where it is on the disc and where its bytes are in the image.
#[derive(Debug, Clone)]
struct PlacedFile {
    image: PathBuf,
    placement: Placement,
    /// Byte offset of its data in the image.
    start: u64,
    length: u64,
}

/// Every non-empty file of every disc of `catalogue`, with its data extent from the layout
/// the disc was written with.
fn placed_files(catalogue: &Catalogue, images: &[PathBuf]) -> Vec<PlacedFile> {
    let snapshots = catalogue.snapshots().unwrap();
    let mut out = Vec::new();
    for disc in catalogue.discs().unwrap() {
        let plan = catalogue.plan_record(disc.plan_id).unwrap().unwrap();
        let snapshot = snapshots.iter().find(|s| s.id == plan.snapshot).unwrap();
        let bytes = plan_files(catalogue, &plan, &std::env::temp_dir()).unwrap();
        let contents = disc_contents(catalogue, &disc, &plan, snapshot, &bytes).unwrap();
        let image = images
            .iter()
            .find(|p| p.file_stem().is_some_and(|s| s == disc.label.as_str()))
            .unwrap()
            .clone();
        for placement in contents.placements {
            let node = contents
                .tree
                .ids()
                .find(|&id| contents.tree.path(id) == placement.name_path)
                .unwrap_or_else(|| panic!("{} is not in the disc's tree", placement.name_path));
            let (sector, length) = contents.layout.file_extent(&contents.tree, node);
            assert_eq!(length, placement.length, "{}", placement.disc_path);
            if length > 0 {
                out.push(PlacedFile {
                    image: image.clone(),
                    placement,
                    start: u64::from(sector) * discfs::SECTOR,
                    length,
                });
            }
        }
    }
    out
}

/// A drive of small and multi-sector files, a duplicate, an empty file, and a file larger
/// than a 5 MB disc (stored as parts on two discs).
fn make_drive(root: &Path) {
    std::fs::create_dir_all(root.join("Photos/2024")).unwrap();
    std::fs::create_dir_all(root.join("notes")).unwrap();
    std::fs::write(root.join("Photos/2024/IMG_0001.JPG"), noise(1, 20_000)).unwrap();
    std::fs::write(root.join("Photos/2024/IMG_0002.JPG"), noise(2, 2048)).unwrap();
    std::fs::write(root.join("Photos/copy.jpg"), noise(2, 2048)).unwrap();
    std::fs::write(root.join("notes/a.txt"), b"a").unwrap();
    std::fs::write(root.join("notes/empty.txt"), b"").unwrap();
    std::fs::write(root.join("film.mov"), noise(3, 6_000_000)).unwrap();
}

#[test]
fn verify_reports_every_file_whose_bytes_were_changed() {
    let work = tempfile::tempdir().unwrap();
    let drive = work.path().join("drive");
    make_drive(&drive);
    let mut catalogue = Catalogue::create_or_open(work.path().join("odarchive.db")).unwrap();
    let images = scan_plan_write(&mut catalogue, &drive, &work.path().join("images"));
    let files = placed_files(&catalogue, &images);
    assert!(files.len() >= 5, "files with data: {files:?}");
    assert!(files.iter().any(|f| f.placement.parts > 1), "no split file");
    let pristine: Vec<(PathBuf, Vec<u8>)> = images
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    let catalogue = RefCell::new(catalogue);

    let flips = prop::collection::vec((any::<Index>(), 1..=255u8), 1..4);
    let strategy = (any::<Index>(), flips, any::<bool>());
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |(which, flips, iso9660_only)| {
        let file = which.get(&files);
        let (_, original) = pristine.iter().find(|(p, _)| *p == file.image).unwrap();
        let mut image = original.clone();
        for (at, mask) in &flips {
            image[(file.start + at.index(file.length as usize) as u64) as usize] ^= mask;
        }
        let tampered = work.path().join("tampered.iso");
        std::fs::write(&tampered, &image).unwrap();
        let options = VerifyOptions {
            iso9660_only,
            snapshot: None,
        };
        let mut catalogue = catalogue.borrow_mut();
        let verdicts = verify(&mut catalogue, &[tampered], &options).unwrap();
        let verdict = &verdicts[0];
        let placements = catalogue.placements_on(file.placement.disc).unwrap();
        let shown = if iso9660_only {
            &file.placement.iso_path
        } else {
            &file.placement.disc_path
        };
        prop_assert!(
            !verdict.ok(),
            "verify passed a changed {shown}: {verdict:?}"
        );
        prop_assert_eq!(verdict.disc, Some(file.placement.disc));
        prop_assert_eq!(verdict.image_sha256_ok, Some(false));
        prop_assert_eq!(verdict.corrupt.len(), 1, "{:?}", verdict.corrupt);
        prop_assert!(
            verdict.corrupt[0]
                .to_string()
                .starts_with(&format!("{shown}: ")),
            "{shown} changed, but verify found {:?}",
            verdict.corrupt
        );
        prop_assert_eq!(verdict.files_ok as usize, placements.len() - 1);
        prop_assert!(verdict.missing.is_empty() && verdict.unexpected.is_empty());
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
