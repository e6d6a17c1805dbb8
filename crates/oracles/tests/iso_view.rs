//! The ISO 9660 view compared path by path, when the caller knows the names it holds.

mod common;

use common::{d_character_tree, genisoimage};
use oracles::{CheckOptions, Entry, Reader, check_all};

fn iso_readers() -> CheckOptions {
    CheckOptions::default().only(&[
        Reader::Isoinfo,
        Reader::Osirrox,
        Reader::Bsdtar,
        Reader::PycdlibIso,
    ])
}

#[test]
fn the_iso_view_matches_path_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let expected = d_character_tree(&dir.path().join("src"));
    let image = dir.path().join("iso.iso");
    genisoimage(&dir.path().join("src"), &image);
    let opts = iso_readers().iso_view(expected.clone());
    check_all(&image, &expected, &opts).assert_ok();
}

#[test]
fn a_wrong_iso_name_or_mtime_is_reported_by_every_iso_reader() {
    let dir = tempfile::tempdir().unwrap();
    let mut iso = d_character_tree(&dir.path().join("src"));
    let image = dir.path().join("iso.iso");
    genisoimage(&dir.path().join("src"), &image);
    let readme = *iso.get("README.TXT").unwrap();
    iso.entries.remove(b"README.TXT".as_slice());
    iso.insert("README_1.TXT", readme);
    let a = iso.get("DOCS/A.BIN").unwrap().mtime.unwrap();
    iso.insert(
        "DOCS/A.BIN",
        Entry {
            mtime: Some(a + 60),
            ..*iso.get("DOCS/A.BIN").unwrap()
        },
    );
    let report = check_all(&image, &iso, &iso_readers().iso_view(iso.clone()));
    for reader in [
        Reader::Isoinfo,
        Reader::Osirrox,
        Reader::Bsdtar,
        Reader::PycdlibIso,
    ] {
        let failures = report.failures_of(reader).join("\n");
        assert!(
            failures.contains("missing file `README_1.TXT`"),
            "{reader}: {report}"
        );
        assert!(
            failures.contains("unexpected file `README.TXT`"),
            "{reader}: {report}"
        );
    }
    for reader in [Reader::Osirrox, Reader::Bsdtar, Reader::PycdlibIso] {
        let failures = report.failures_of(reader).join("\n");
        assert!(
            failures.contains("`DOCS/A.BIN` has mtime"),
            "{reader}: {report}"
        );
    }
}
