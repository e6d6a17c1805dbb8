//! A folder of disc images given where discs are taken (`verify DIR`, `restore --from DIR`):
//! it stands for the images in it, each identified as if named; a folder that is neither a
//! mounted disc nor holds images is refused, naming it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::*;

/// The folder the images of [`Scratch::archive_to_several_discs`] are in, and them.
fn images_in_a_folder(s: &Scratch, seed: u64) -> (PathBuf, Vec<PathBuf>) {
    random_tree(s, seed);
    let images = s.archive_to_several_discs();
    let folder = images[0].parent().unwrap().to_owned();
    // Not an image: left alone.
    fs::write(folder.join("notes.txt"), b"burnt on 2026-12-01").unwrap();
    (folder, images)
}

fn remove_catalogue(s: &Scratch) {
    fs::remove_file(&s.catalogue).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", s.catalogue.display()));
    }
}

/// `verify --json FOLDER`: its run and the verdict of each disc.
fn verify_folder(s: &Scratch, folder: &Path) -> (Run, Vec<serde_json::Value>) {
    let run = s.run(&["verify", "--json", folder.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    (run, report["discs"].as_array().unwrap().clone())
}

/// `restore --from FOLDER` gives the whole drive back, with every disc found and no problem.
fn restores_the_drive_from(s: &Scratch, folder: &Path) {
    let dest = s.dir("restored");
    let (run, report) = restore(s, &[folder.to_owned()], &dest, &[]);
    run.ok();
    for list in ["missing_discs", "problems"] {
        assert!(report[list].as_array().unwrap().is_empty(), "{report}");
    }
    assert_same_tree(&s.drive, &dest);
}

#[test]
fn verify_of_a_folder_of_images_checks_each_image_in_it() {
    let s = Scratch::new();
    let (folder, images) = images_in_a_folder(&s, 23);
    let (run, discs) = verify_folder(&s, &folder);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let sources: Vec<PathBuf> = discs
        .iter()
        .map(|d| PathBuf::from(d["source"].as_str().unwrap()))
        .collect();
    assert_eq!(sources, images, "each image, sorted, and nothing else");
    let numbers: Vec<u64> = discs.iter().map(|d| d["disc"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=images.len() as u64).collect();
    assert_eq!(numbers, expected, "{discs:?}");
}

#[test]
fn restore_from_a_folder_of_images_gives_the_tree_back() {
    let s = Scratch::new();
    let (folder, _) = images_in_a_folder(&s, 29);
    restores_the_drive_from(&s, &folder);
}

#[test]
fn without_the_local_catalogue_a_folder_of_images_is_enough() {
    let s = Scratch::new();
    let (folder, _) = images_in_a_folder(&s, 31);
    remove_catalogue(&s);
    let (run, discs) = verify_folder(&s, &folder);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(discs.iter().all(|d| d["disc"].is_u64()), "{discs:?}");

    restores_the_drive_from(&s, &folder);
    assert!(!s.catalogue.exists(), "no catalogue left where none was");
}

#[test]
fn a_folder_that_is_neither_a_disc_nor_of_images_is_refused_by_name() {
    let s = Scratch::new();
    let (folder, images) = images_in_a_folder(&s, 37);
    let photos = s.dir("photos");
    fs::create_dir_all(&photos).unwrap();
    fs::write(photos.join("a.jpg"), b"not a disc").unwrap();
    let said = format!("{}: neither a mounted disc", photos.display());

    let run = s.run(&["verify", photos.to_str().unwrap(), folder.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(&said), "{}", run.stdout);
    assert!(run.stdout.contains("no *.iso file in it"), "{}", run.stdout);
    for image in &images {
        let line = format!("{}: disc ", image.display());
        assert!(
            run.stdout.contains(&line),
            "the images still verified: {}",
            run.stdout
        );
    }

    let dest = s.dir("restored");
    let (run, report) = restore(&s, &[photos.clone(), folder], &dest, &[]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["path"] == photos.to_str().unwrap()
                && p["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("neither a mounted disc")),
        "{report}"
    );
    assert_same_tree(&s.drive, &dest);
}
