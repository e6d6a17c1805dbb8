//! The Linux kernel's drivers as readers (boots a virtual machine: several seconds each).

mod common;

use common::{d_character_tree, genisoimage, genisoimage_control, patch};
use oracles::{CheckOptions, Reader, check_all, isoinfo_list};

#[test]
fn genisoimage_control_passes_the_kernel_drivers() {
    let (_dir, image, expected) = genisoimage_control();
    let report = check_all(
        &image,
        &expected,
        &CheckOptions::default().only(&[Reader::Kernel]),
    );
    println!("{report}");
    report.assert_ok();
}

#[test]
fn the_kernel_sees_a_flipped_byte_in_both_views() {
    let (_dir, image, expected) = genisoimage_control();
    let records = isoinfo_list(&image).unwrap();
    let readme = records
        .iter()
        .find(|r| r.name == "README.TXT;1")
        .expect("README.TXT");
    patch(&image, readme.extent * 2048, b"C");
    let report = check_all(
        &image,
        &expected,
        &CheckOptions::default().only(&[Reader::Kernel]),
    );
    let failures = report.failures_of(Reader::Kernel).join("\n");
    assert!(
        failures.contains("udf view: `README.txt` has other content"),
        "{report}"
    );
    assert!(
        failures.contains("iso9660 view: 1 expected file(s) of 35 bytes"),
        "{report}"
    );
}

#[test]
fn the_kernel_iso9660_view_matches_path_by_path_in_lower_case() {
    let dir = tempfile::tempdir().unwrap();
    let expected = d_character_tree(&dir.path().join("src"));
    let image = dir.path().join("iso.iso");
    genisoimage(&dir.path().join("src"), &image);
    let opts = CheckOptions::default()
        .only(&[Reader::Kernel])
        .iso_view(expected.clone());
    check_all(&image, &expected, &opts).assert_ok();
    let mut wrong = expected.clone();
    let readme = *wrong.get("README.TXT").unwrap();
    wrong.insert("README_1.TXT", readme);
    let report = check_all(&image, &expected, &opts.iso_view(wrong));
    let failures = report.failures_of(Reader::Kernel).join("\n");
    assert!(
        failures.contains("iso9660 view: missing file `readme_1.txt`"),
        "{report}"
    );
}
