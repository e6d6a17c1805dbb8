//! The Linux kernel's drivers as readers (boots a virtual machine: several seconds each).

mod common;

use common::{genisoimage_control, patch};
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
