//! Findings of the disc fuzzers (fuzz/, scripts/fuzz) kept as tests: damaged images that
//! made odarchive misbehave. Each must give an error naming the file and the cause, in
//! bounded time and memory.

mod common;

use common::scan_plan_write;
use testkit::noise;

use std::io::Cursor;
use std::path::Path;

use discfs::udf::crc::{crc_itu, tag_checksum};
use discfs::udf::fields::{put_u16, put_u32, put_u64, u16_at, u32_at};
use discfs::udf::read::UdfVolume;
use odarchive::Catalogue;
use odarchive::disc::contents::{disc_contents, plan_files};
use odarchive::reader::disc_catalogue_json;
use odarchive::reader::{DiscError, DiscSource};
use odarchive::verify::{VerifyOptions, verify};

const SECTOR: usize = 2048;
/// Longest extent a UDF allocation descriptor can give (the top two bits hold its type).
const MAX_EXTENT: u32 = (1 << 30) - 2048;
/// Extent type 1: allocated but not recorded, read as zeros (ECMA-167 4/14.14.1.1).
const NOT_RECORDED: u32 = 1 << 30;

/// Writes a one-disc archive of a small drive into `work`; its catalogue and its image.
fn one_disc(work: &Path) -> (Catalogue, std::path::PathBuf) {
    let drive = work.join("drive");
    std::fs::create_dir_all(drive.join("Photos")).unwrap();
    std::fs::write(drive.join("Photos/a.jpg"), noise(1, 5000)).unwrap();
    let mut catalogue = Catalogue::create_or_open(work.join("odarchive.db")).unwrap();
    let images = scan_plan_write(&mut catalogue, &drive, &work.join("images"));
    assert_eq!(images.len(), 1);
    (catalogue, images[0].clone())
}

/// First sector of the UDF partition of the disc `catalogue` wrote.
fn partition_start(catalogue: &Catalogue) -> u64 {
    let disc = &catalogue.discs().unwrap()[0];
    let plan = catalogue.plan_record(disc.plan_id).unwrap().unwrap();
    let snapshot = &catalogue.snapshots().unwrap()[0];
    let bytes = plan_files(catalogue, &plan, &std::env::temp_dir()).unwrap();
    let contents = disc_contents(catalogue, disc, &plan, snapshot, &bytes).unwrap();
    u64::from(contents.layout.partition_start())
}

/// Rewrites the UDF File Entry of `path` in `image` so that the file claims `extents`
/// extents of zeros that take no sectors (about 1 GiB each), and reseals its tag: a valid
/// UDF file far larger than the image.
fn make_sparse_giant(image: &mut [u8], partition_start: u64, path: &str, extents: u32) {
    let icb = UdfVolume::open(Cursor::new(&*image))
        .unwrap()
        .lookup(path)
        .unwrap()
        .icb;
    let at = (partition_start + u64::from(icb)) as usize * SECTOR;
    let fe = &mut image[at..at + SECTOR];
    assert_eq!(u16_at(fe, 0), 261, "a File Entry");
    let l_ea = u32_at(fe, 168) as usize;
    put_u16(fe, 34, u16_at(fe, 34) & !7); // short allocation descriptors
    put_u32(fe, 172, extents * 8);
    for k in 0..extents as usize {
        put_u32(fe, 176 + l_ea + 8 * k, MAX_EXTENT | NOT_RECORDED);
        put_u32(fe, 176 + l_ea + 8 * k + 4, 0);
    }
    put_u64(fe, 56, u64::from(extents) * u64::from(MAX_EXTENT));
    let end = 176 + l_ea + 8 * extents as usize;
    put_u16(fe, 10, (end - 16) as u16);
    let crc = crc_itu(&fe[16..end]);
    put_u16(fe, 8, crc);
    fe[4] = tag_checksum(&fe[..16]);
}

/// Found by the `identify` fuzz target (fuzz/regressions/identify/sparse-catalogue): the
/// catalogue file at a disc's root is read whole into memory however long the disc says it
/// is, so an image of under 1 MB whose catalogue.json claims 2 GiB of unrecorded extents makes
/// identify (and so verify and restore) allocate 2 GiB — or all memory, with more extents.
#[test]
fn a_catalogue_file_larger_than_its_image_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let (catalogue, image_path) = one_disc(work.path());
    let mut image = std::fs::read(&image_path).unwrap();
    make_sparse_giant(&mut image, partition_start(&catalogue), "catalogue.json", 2);
    let hostile = work.path().join("hostile.iso");
    std::fs::write(&hostile, &image).unwrap();

    let mut source = DiscSource::open(&hostile).unwrap();
    match disc_catalogue_json(&mut source) {
        Err(DiscError::Read { file, reason, .. }) => {
            assert_eq!(file, "catalogue.json");
            assert!(!reason.is_empty());
        }
        Ok(json) => panic!(
            "catalogue.json of {} bytes read from an image of {} bytes",
            json.map_or(0, |j| j.len()),
            image.len()
        ),
        Err(other) => panic!("not a read error naming catalogue.json: {other}"),
    }
}

/// Found by the `identify` fuzz target (a timeout; fuzz/regressions/identify/sparse-photo):
/// verify copied a file's bytes as long as the disc said it was and compared the length only
/// afterwards, so a photo whose UDF File Entry claims 200 GiB of unrecorded extents was hashed
/// for many minutes (and restore would write 200 GiB of zeros before finding it corrupt). The
/// catalogue knows each file's length: a UDF entry of another length is damage, passed over
/// at once for the file's ISO 9660 record, which still gives the photo back.
#[test]
fn verify_of_a_disc_claiming_a_giant_file_ends_quickly() {
    let work = tempfile::tempdir().unwrap();
    let (mut catalogue, image_path) = one_disc(work.path());
    let mut image = std::fs::read(&image_path).unwrap();
    let photo = "Data/Photos/a.jpg";
    make_sparse_giant(&mut image, partition_start(&catalogue), photo, 200);
    let hostile = work.path().join("hostile.iso");
    std::fs::write(&hostile, &image).unwrap();

    let (done, verdicts) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let options = VerifyOptions::default();
        let _ = done.send(verify(&mut catalogue, &[hostile], &options).unwrap());
    });
    let verdicts = verdicts
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("verify still running after 60 s on a disc of under 1 MB");
    let verdict = &verdicts[0];
    assert!(!verdict.ok(), "{verdict:?}");
    assert!(verdict.corrupt.is_empty(), "{:?}", verdict.corrupt);
    assert!(verdict.missing.is_empty(), "{:?}", verdict.missing);
    assert!(
        verdict
            .damage
            .iter()
            .any(|d| d.detail.starts_with(&format!("{photo}: UDF file entry"))),
        "{:?}",
        verdict.damage
    );
    // The photo's 5,000 bytes came back, through ISO 9660.
    assert!(
        verdict.files_ok >= 1 && verdict.bytes_ok >= 5000,
        "{verdict:?}"
    );
}

/// A disc's root files (its catalogue, README) are found in its root directory alone: with
/// the directory under `Data/` unreadable in both views, reading the catalogue's head notes no
/// damage (nothing below the root was read), and listing the disc's files then does.
#[test]
fn a_root_file_is_read_without_walking_the_disc() {
    let work = tempfile::tempdir().unwrap();
    let (catalogue, image) = one_disc(work.path());
    let mut bytes = std::fs::read(&image).unwrap();
    let icb = UdfVolume::open(Cursor::new(&bytes))
        .unwrap()
        .lookup("Data/Photos")
        .unwrap()
        .icb;
    let udf_at = (partition_start(&catalogue) + u64::from(icb)) as usize * SECTOR;
    let iso_dir = discfs::iso9660::IsoImage::open(Cursor::new(&bytes))
        .unwrap()
        .lookup("DATA/PHOTOS")
        .unwrap();
    let iso_at = iso_dir.extents[0].0 as usize * SECTOR;
    for at in [udf_at, iso_at] {
        bytes[at..at + SECTOR].fill(0xA5);
    }
    std::fs::write(&image, &bytes).unwrap();

    let mut source = DiscSource::open(&image).unwrap();
    let head = odarchive::reader::disc_catalogue_head(&mut source)
        .unwrap()
        .expect("the catalogue file is at the root");
    assert_eq!(head.discs, 1);
    assert_eq!(source.damage(), [], "nothing below the root was read");
    source.files().unwrap();
    let damage: Vec<String> = source.damage().iter().map(|p| p.to_string()).collect();
    assert!(
        damage.iter().any(|d| d.contains("UDF")) && damage.iter().any(|d| d.contains("ISO 9660")),
        "walking the disc finds both damaged directories: {damage:?}"
    );
}
