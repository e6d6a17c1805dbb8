//! Where each file lies: the sectors the catalogue records for a written disc are where its
//! bytes are in the image, read as `dd` would (no file system reader involved).

#[allow(dead_code)]
mod common;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use odarchive::{Catalogue, NoProgress, ScanOptions};
use testkit::noise;

/// `length` bytes at byte `at` of `path`.
fn read_at(path: &Path, at: u64, length: u64) -> Vec<u8> {
    let mut f = File::open(path).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    let mut out = vec![0; length as usize];
    f.read_exact(&mut out).unwrap();
    out
}

#[test]
fn every_written_file_is_at_its_recorded_sector() {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive");
    std::fs::create_dir_all(drive.join("Photos/2019")).unwrap();
    std::fs::create_dir_all(drive.join("empty")).unwrap();
    let write = |p: &str, bytes: &[u8]| std::fs::write(drive.join(p), bytes).unwrap();
    write("Photos/2019/a.jpg", &noise(1, 300_000));
    write("Photos/2019/copy of a.jpg", &noise(1, 300_000));
    write("Photos/b.raw", &noise(2, 2_000_001));
    write("big.bin", &noise(3, 7_500_000));
    write("empty/nothing", b"");
    write("empty/also nothing", b"");
    write("tiny", b"x");

    let mut catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
    odarchive::scan(&mut catalogue, &drive, &ScanOptions::default(), &NoProgress).unwrap();
    common::plan_5m(&mut catalogue, 10);
    let written = common::write_all(&mut catalogue, &dir.path().join("out"));
    assert!(written.len() >= 3, "big.bin is split: {written:?}");

    let (mut checked, mut parts, mut empty) = (0, 0, 0);
    for disc in &written {
        for p in catalogue.placements_on(disc.number).unwrap() {
            let extent = catalogue
                .extent_of(disc.number, &p.disc_path)
                .unwrap()
                .unwrap_or_else(|| panic!("no extent for {} on {}", p.disc_path, disc.number));
            assert_eq!(extent.length, p.length, "{}", p.disc_path);
            let source =
                std::fs::read(drive.join(Path::new(std::str::from_utf8(&p.entry_path).unwrap())))
                    .unwrap();
            let expected = &source[p.offset as usize..(p.offset + p.length) as usize];
            let got = read_at(&disc.path, u64::from(extent.sector) * 2048, extent.length);
            assert!(got == expected, "{} on disc {}", p.disc_path, disc.number);
            checked += 1;
            parts += usize::from(p.part > 0);
            empty += usize::from(p.length == 0);
        }
    }
    // The duplicate is stored once; the split file in parts; empty files have no data.
    assert_eq!(checked, 5 + parts - 1, "files checked");
    assert!(parts >= 2, "{parts} parts");
    assert!(empty >= 1, "{empty} empty files");
}
