//! The harness against images written by pycdlib, a second independent writer.

mod common;

use common::{control_tree, pycdlib_image};
use oracles::{CheckOptions, Reader, check_all};

#[test]
fn pycdlib_control_passes_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let expected = control_tree(&dir.path().join("src"));
    let image = dir.path().join("py.iso");
    pycdlib_image(&dir.path().join("src"), &image);
    // pycdlib writes wrong UDF timestamps: a positive control for everything but mtimes.
    // Its UDF logical volume is always labelled `CDROM`.
    let opts = CheckOptions::default()
        .mtime_tolerance(None)
        .volume_ids("PYCONTROL", "CDROM");
    check_all(&image, &expected, &opts).assert_ok();
}

#[test]
fn a_udf_symlink_makes_7zip_refuse_the_volume() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    control_tree(&src);
    std::os::unix::fs::symlink("README.txt", src.join("link")).unwrap();
    let expected = oracles::Manifest::of_dir(&src).unwrap().without_symlinks();
    let image = dir.path().join("py.iso");
    pycdlib_image(&src, &image);
    let opts = CheckOptions::default().mtime_tolerance(None).only(&[
        Reader::SevenZipTest,
        Reader::SevenZipUdf,
        Reader::Pycdlib,
    ]);
    let report = check_all(&image, &expected, &opts);
    let seven = report.failures_of(Reader::SevenZipTest).join("\n");
    assert!(
        seven.contains("opened by 7-Zip's `Iso` handler, not `Udf`"),
        "{report}"
    );
    let seven_x = report.failures_of(Reader::SevenZipUdf).join("\n");
    assert!(seven_x.contains("Unsupported feature"), "{report}");
    assert_eq!(
        report.failures_of(Reader::Pycdlib),
        ["unexpected symlink `link`"],
        "{report}"
    );
}
