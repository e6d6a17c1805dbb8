//! The harness against images written by other tools: a correct image passes every reader,
//! and each kind of damage is reported by the readers that must see it.

mod common;

use common::{BASE_MTIME, crc_itu_t, find_descriptor, genisoimage_control, patch, retag};
use oracles::{CheckOptions, Reader, check_all, isoinfo_list};

#[test]
fn genisoimage_control_passes_every_reader() {
    let (_dir, image, expected) = genisoimage_control();
    assert_eq!(expected.count(oracles::Kind::File), 11);
    let opts = CheckOptions::default()
        .volume_ids("CONTROL", "CONTROL")
        .volume_set(1, 1);
    let report = check_all(&image, &expected, &opts);
    report.assert_ok();
    assert_eq!(report.outcomes.len(), Reader::ALL.len());
}

#[test]
fn a_wrong_expectation_is_reported_by_every_reader_that_sees_it() {
    let (_dir, image, mut expected) = genisoimage_control();
    // One file expected under another content, one expected file absent, one mtime off.
    expected.insert_file("one.bin", b"not what the image holds", None);
    expected.insert_file("a/ghost.txt", b"ghost", None);
    expected.insert(
        "README.txt",
        oracles::Entry {
            mtime: Some(BASE_MTIME + 7),
            ..*expected.get("README.txt").unwrap()
        },
    );
    let report = check_all(&image, &expected, &CheckOptions::default());
    let failed = report.failed_readers();
    for reader in Reader::ALL {
        assert!(
            failed.contains(&reader),
            "{reader} missed the differences:\n{report}"
        );
    }
    for reader in [Reader::SevenZipUdf, Reader::Pycdlib, Reader::Udfclient] {
        let failures = report.failures_of(reader);
        assert!(
            failures.contains(&"missing file `a/ghost.txt`".to_string()),
            "{report}"
        );
        assert!(
            failures
                .iter()
                .any(|f| f.starts_with("`one.bin` has 1 bytes, expected 24")),
            "{report}"
        );
        assert!(
            failures.contains(
                &"`README.txt` has mtime 1600000000, expected 1600000007 (-7 s)".to_string()
            ),
            "{report}"
        );
    }
    assert!(
        report
            .failures_of(Reader::Udfinfo)
            .contains(&"numfiles Some(11), expected 12".to_string())
    );
    assert!(
        report
            .failures_of(Reader::SevenZipTest)
            .contains(&"7-Zip counts 11 files, expected 12".to_string())
    );
    // The ISO 9660 view is compared by content: the unexpected and the missing content.
    let osirrox = report.failures_of(Reader::Osirrox).join("\n");
    assert!(
        osirrox.contains("1 expected file(s) of 5 bytes"),
        "{report}"
    );
    assert!(
        osirrox.contains("1 unexpected file(s) of 1 bytes"),
        "{report}"
    );
    // The report names every failing reader.
    let text = report.to_string();
    for reader in Reader::ALL {
        assert!(text.contains(&format!("FAIL {reader} ")), "{text}");
    }
}

#[test]
fn a_missing_anchor_at_sector_256_is_reported() {
    let (_dir, image, expected) = genisoimage_control();
    patch(&image, 256 * 2048, &[0u8; 2048]);
    let report = check_all(&image, &expected, &CheckOptions::default());
    let seven = report.failures_of(Reader::SevenZipTest).join("\n");
    assert!(
        seven.contains("opened by 7-Zip's `Iso` handler, not `Udf`"),
        "{report}"
    );
    let udfinfo = report.failures_of(Reader::Udfinfo).join("\n");
    assert!(
        udfinfo.contains("udfinfo complained: udfinfo: Warning: First and second Anchor"),
        "{report}"
    );
    assert!(
        report
            .failures_of(Reader::SevenZipUdf)
            .join("\n")
            .contains("7z x -tudf: exit status"),
        "{report}"
    );
    assert!(!report.is_ok());
}

#[test]
fn a_flipped_byte_in_file_data_is_reported_by_every_content_reader() {
    let (_dir, image, expected) = genisoimage_control();
    let records = isoinfo_list(&image).unwrap();
    let deep = records
        .iter()
        .find(|r| r.name == "DEEP.BIN;1")
        .expect("DEEP.BIN in the listing");
    assert_eq!(deep.size, 100_000);
    patch(&image, deep.extent * 2048 + 5000, &[0x55 ^ 0xFF]);
    let report = check_all(&image, &expected, &CheckOptions::default());
    assert_eq!(
        report.failed_readers(),
        [
            Reader::Pycdlib,
            Reader::PycdlibIso,
            Reader::SevenZipUdf,
            Reader::Osirrox,
            Reader::Bsdtar,
            Reader::Udfclient
        ],
        "{report}"
    );
    for reader in [Reader::Pycdlib, Reader::SevenZipUdf, Reader::Udfclient] {
        let failures = report.failures_of(reader).join("\n");
        assert!(
            failures.contains("`a/b/c/deep.bin` has other content: sha256"),
            "{reader}: {report}"
        );
    }
    for reader in [Reader::Osirrox, Reader::Bsdtar, Reader::PycdlibIso] {
        let failures = report.failures_of(reader).join("\n");
        assert!(
            failures.contains("1 expected file(s) of 100000 bytes"),
            "{reader}: {report}"
        );
    }
}

#[test]
fn a_truncated_image_is_reported() {
    let (_dir, image, expected) = genisoimage_control();
    let len = image.metadata().unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(len - 10 * 2048)
        .unwrap();
    let report = check_all(&image, &expected, &CheckOptions::default());
    let isoinfo = report.failures_of(Reader::Isoinfo).join("\n");
    assert!(
        isoinfo.contains("differs from the image length"),
        "{report}"
    );
    let osirrox = report.failures_of(Reader::Osirrox).join("\n");
    assert!(
        osirrox.contains("ISO image size 503s larger than readable size 493s"),
        "{report}"
    );
    let pycdlib = report.failures_of(Reader::Pycdlib).join("\n");
    assert!(pycdlib.contains("pycdlib failed"), "{report}");
    // 7-Zip does not notice: it needs only the anchor at sector 256 (a quirk worth knowing).
    assert!(
        report.failures_of(Reader::SevenZipTest).is_empty(),
        "{report}"
    );
}

#[test]
fn a_missing_anchor_at_the_last_sector_is_reported() {
    let (_dir, image, expected) = genisoimage_control();
    let last = image.metadata().unwrap().len() / 2048 - 1;
    patch(&image, last * 2048, &[0u8; 2048]);
    let report = check_all(&image, &expected, &CheckOptions::default());
    let udfinfo = report.failures_of(Reader::Udfinfo).join("\n");
    assert!(
        udfinfo.contains("Second and third Anchor Volume Descriptor Pointer not found"),
        "{report}"
    );
    let pycdlib = report.failures_of(Reader::Pycdlib).join("\n");
    assert!(
        pycdlib.contains(&format!("no anchor at sector {last}")),
        "{report}"
    );
}

#[test]
fn a_bad_file_identifier_crc_is_reported() {
    let (_dir, image, expected) = genisoimage_control();
    // The first File Identifier Descriptor (tag 257) after the partition start; change a
    // byte of its name area without fixing its CRC.
    let fid = find_descriptor(&image, 257, 257 * 2048);
    let name_byte = fid + 38 + 1;
    let old = std::fs::read(&image).unwrap()[name_byte as usize];
    patch(&image, name_byte, &[old ^ 0x20]);
    let report = check_all(
        &image,
        &expected,
        &CheckOptions::default().only(&[Reader::Pycdlib]),
    );
    let pycdlib = report.failures_of(Reader::Pycdlib).join("\n");
    assert!(pycdlib.contains("Tag CRC does not match!"), "{report}");
}

#[test]
fn a_file_identifier_crc_that_skips_the_padding_is_reported() {
    let (_dir, image, expected) = genisoimage_control();
    // Find a FID whose length needs padding, and give it a CRC (correct in itself) that
    // covers the descriptor without its padding: the trap DESIGN.md names.
    let data = std::fs::read(&image).unwrap();
    let mut at = 257 * 2048;
    let (fid, unpadded) = loop {
        let fid = find_descriptor(&image, 257, at);
        let d = &data[fid as usize..];
        let unpadded = 38 + usize::from(u16::from_le_bytes([d[36], d[37]])) + usize::from(d[19]);
        if unpadded % 4 != 0 {
            break (fid, unpadded);
        }
        at = fid + 4;
    };
    retag(&image, fid, (unpadded - 16) as u16);
    let report = check_all(
        &image,
        &expected,
        &CheckOptions::default().only(&[Reader::Pycdlib]),
    );
    let pycdlib = report.failures_of(Reader::Pycdlib).join("\n");
    assert!(
        pycdlib.contains("does not cover the padded descriptor"),
        "{report}"
    );
}

#[test]
fn crc_itu_t_matches_the_standard_check_value() {
    // CRC-16/XMODEM (same polynomial and initial value) of "123456789" is 0x31C3.
    assert_eq!(crc_itu_t(b"123456789"), 0x31C3);
}

#[test]
fn an_image_cut_before_its_file_data_fails_every_reader() {
    let (_dir, image, expected) = genisoimage_control();
    // Keep the volume descriptors and the anchor at 256, lose the rest.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(260 * 2048)
        .unwrap();
    let report = check_all(&image, &expected, &CheckOptions::default());
    println!("{report}");
    assert_eq!(report.failed_readers(), Reader::ALL, "{report}");
}
