//! Parity on the discs `archive` writes: a disc damaged within its parity budget is rebuilt
//! byte for byte from its own `/Parity/PARITY.ODP` (through discfs's repair: the `repair`
//! command is not built yet), and a disc planned with `--parity 0` has none.

use std::io::Cursor;
use std::path::Path;

use discfs::parity::{BadSectors, ParityError, repair};

use crate::support::*;

fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(bytes)).into()
}

/// A drive with one 1 MB photo and a small note, archived on a 5 MB medium with `parity`.
fn archived(s: &Scratch, parity: &str) -> (Vec<u8>, std::path::PathBuf) {
    let photo = noise(7, 1_000_000);
    s.write("Photos/big.jpg", &photo);
    s.write("notes.txt", b"a note");
    let images = s.archive_with(&s.dir("out"), "5M", &["--parity", parity]);
    assert_eq!(images.len(), 1, "{images:?}");
    (photo, images[0].clone())
}

fn verify(s: &Scratch, image: &Path) -> (i32, serde_json::Value) {
    let run = s.run(&["verify", "--json", image.to_str().unwrap()]);
    (run.code, serde_json::from_str(&run.stdout).unwrap())
}

#[test]
fn a_scratched_protected_disc_is_rebuilt_byte_for_byte_from_its_parity() {
    let s = Scratch::new();
    let (photo, image) = archived(&s, "10");
    let original = std::fs::read(&image).unwrap();
    assert_eq!(verify(&s, &image).0, 0);

    // A scratch: 40 consecutive sectors inside the photo's data zeroed.
    let at = sector_of(&original, &photo) + 100;
    let mut damaged = original.clone();
    damaged[at * SECTOR..(at + 40) * SECTOR].fill(0);
    let damaged_path = s.dir("damaged.iso");
    std::fs::write(&damaged_path, &damaged).unwrap();
    let (code, summary) = verify(&s, &damaged_path);
    assert_eq!(code, 3, "{summary}");
    let corrupt = summary["discs"][0]["corrupt"].to_string();
    assert!(corrupt.contains("Photos/big.jpg"), "{summary}");

    // The scratch is a CRC mismatch, not an unreadable range: repair finds it by itself.
    let mut fixed = Cursor::new(Vec::new());
    let report = repair(Cursor::new(&damaged), &BadSectors::new(), &mut fixed).unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.rebuilt, 40, "{report:?}");
    let fixed = fixed.into_inner();
    assert_eq!(
        sha256(&fixed),
        sha256(&original),
        "the repaired image is the written one"
    );
    let fixed_path = s.dir("fixed.iso");
    std::fs::write(&fixed_path, &fixed).unwrap();
    let (code, summary) = verify(&s, &fixed_path);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["discs"][0]["image_sha256_ok"], true, "{summary}");
}

#[test]
fn damage_beyond_the_parity_budget_is_named_as_ranges_that_stay_lost() {
    let s = Scratch::new();
    let (photo, image) = archived(&s, "5");
    let original = std::fs::read(&image).unwrap();
    let at = sector_of(&original, &photo);
    let lost = 300; // of about 500 sectors of the photo: far more than 5 %
    let mut bad = BadSectors::new();
    bad.insert(at as u64..(at + lost) as u64);
    let mut fixed = Cursor::new(Vec::new());
    let report = repair(Cursor::new(&original), &bad, &mut fixed).unwrap();
    assert!(!report.is_complete(), "{report:?}");
    for r in &report.unrecoverable {
        assert!(
            r.start >= at as u64 && r.end <= (at + lost) as u64,
            "{r:?} lies in the lost range"
        );
    }
}

#[test]
fn a_disc_planned_with_parity_0_has_no_parity_file() {
    let s = Scratch::new();
    let (_, image) = archived(&s, "0");
    let bytes = std::fs::read(&image).unwrap();
    assert!(
        !bytes.windows(16).any(|w| w == b"ODARCHIVE PARITY"),
        "no parity header anywhere"
    );
    let err = repair(
        Cursor::new(&bytes),
        &BadSectors::new(),
        Cursor::new(Vec::new()),
    )
    .unwrap_err();
    assert!(matches!(err, ParityError::NoHeader), "{err}");
    assert_eq!(verify(&s, &image).0, 0);
}
