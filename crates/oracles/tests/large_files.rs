//! A file over 4 GiB through the UDF readers and, multi-extent, through the ISO 9660 readers. No tool here writes a correct bridge image with
//! such a file (genisoimage refuses it, pycdlib writes it as two UDF entries of one name,
//! xorriso writes no UDF), so the control is a UDF-only volume made by `mkudffs` and filled
//! by udfclient in write mode. Slow (writes and extracts 4 GiB twice): run with
//! `cargo test -p oracles -- --ignored`.

mod common;

use std::path::Path;
use std::process::Command;

use oracles::{CheckOptions, Entry, Manifest, Reader, Tool, check_all, pycdlib_udf_manifest};

const MKUDFFS: Tool = Tool {
    names: &["mkudffs"],
    package: "udftools",
};
const HUGE: u64 = (4 << 30) + 1;

/// A 5 GiB UDF 1.02 volume holding `d/huge.bin` (4 GiB + 1 zero bytes but a marker byte
/// near the end) and `small.txt`, and the manifest of that tree (mtimes are those of the
/// write, not of the source: udfclient's `put` does not keep them).
fn udf_volume_with_a_huge_file(dir: &Path) -> (std::path::PathBuf, Manifest) {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    let huge = std::fs::File::create(src.join("d/huge.bin")).unwrap();
    huge.set_len(HUGE).unwrap();
    common::patch(&src.join("d/huge.bin"), HUGE - 297, b"x");
    std::fs::write(src.join("small.txt"), b"hi\n").unwrap();
    let expected = Manifest::of_dir(&src).unwrap().without_mtimes();

    let image = dir.join("udf.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    let status = Command::new(MKUDFFS.require())
        .args(["-r", "1.02", "-b", "2048", "-l", "BIGUDF"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(status.status.success(), "mkudffs failed: {status:?}");
    let listing = Tool::UDFCLIENT
        .run(
            "udfclient",
            ["-b".as_ref(), "2048".as_ref(), image.as_os_str()],
            Some(b"ls\nquit\n"),
        )
        .unwrap();
    let volume = oracles::udfclient::root_volume_name(&listing.stdout).expect("a volume");
    let script = format!(
        "cd \"{volume}\"\nmkdir d\ncd d\nlcd {}\nput huge.bin\ncd ..\nlcd {}\nput small.txt\nquit\n",
        src.join("d").display(),
        src.display()
    );
    let args = [
        "-W".as_ref(),
        "-b".as_ref(),
        "2048".as_ref(),
        image.as_os_str(),
    ];
    let put = Tool::UDFCLIENT
        .run("udfclient", args, Some(script.as_bytes()))
        .unwrap();
    assert!(
        put.status.success() && !put.all_output().contains("UDF: "),
        "udfclient put failed:\n{}",
        put.all_output()
    );
    (image, expected)
}

#[test]
#[ignore = "slow: writes a 4 GiB file into a UDF volume and extracts it twice"]
fn a_file_over_4_gib_reads_back_through_every_udf_reader() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (image, expected) = udf_volume_with_a_huge_file(dir.path());
    assert_eq!(expected.get("d/huge.bin").unwrap().size, HUGE);
    assert_ne!(
        expected.get("d/huge.bin").unwrap().sha256,
        Entry::zero_file(HUGE, None).sha256
    );
    let opts = CheckOptions::default().mtime_tolerance(None).only(&[
        Reader::Udfinfo,
        Reader::SevenZipTest,
        Reader::SevenZipUdf,
        Reader::Udfclient,
    ]);
    let report = check_all(&image, &expected, &opts);
    println!("{report}");
    report.assert_ok();
    // pycdlib needs an ISO 9660 primary volume descriptor, which a UDF-only volume lacks.
    let error = pycdlib_udf_manifest(&image).unwrap_err();
    assert!(error.problem.contains("at least one PVD"), "{error}");
}

#[test]
#[ignore = "slow: writes a 4 GiB file into an ISO 9660 image and extracts it twice"]
fn a_multi_extent_file_reads_back_through_the_iso_9660_readers() {
    const XORRISO: Tool = Tool {
        names: &["xorriso"],
        package: "xorriso",
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::File::create(src.join("d/huge.bin"))
        .unwrap()
        .set_len(HUGE)
        .unwrap();
    common::patch(&src.join("d/huge.bin"), HUGE - 297, b"x");
    std::fs::write(src.join("small.txt"), b"hi\n").unwrap();
    let expected = Manifest::of_dir(&src).unwrap();
    let image = dir.path().join("iso.img");
    let args = [
        "-as".as_ref(),
        "mkisofs".as_ref(),
        "-quiet".as_ref(),
        "-iso-level".as_ref(),
        "3".as_ref(),
        "-o".as_ref(),
        image.as_os_str(),
        src.as_os_str(),
    ];
    let run = XORRISO.run("xorriso", args, None).unwrap();
    assert!(
        run.status.success(),
        "xorriso failed:\n{}",
        run.all_output()
    );

    let records = oracles::isoinfo_list(&image).unwrap();
    let huge = records
        .iter()
        .find(|r| r.name == "HUGE.BIN;1")
        .expect("HUGE.BIN listed");
    assert_eq!((huge.size, huge.extents), (HUGE, 2), "{records:#?}");
    let opts = CheckOptions::default().only(&[
        Reader::Isoinfo,
        Reader::Osirrox,
        Reader::Bsdtar,
        Reader::PycdlibIso,
    ]);
    let report = check_all(&image, &expected, &opts);
    println!("{report}");
    report.assert_ok();
}
