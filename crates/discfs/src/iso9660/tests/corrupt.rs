//! Damaged images: errors, never panics.

use super::*;

#[test]
fn truncated_and_corrupt_images_give_errors() {
    let tree = sample_tree();
    let image = build(&tree, &volume()).image.to_vec();
    // Nothing at all, or cut inside the descriptors.
    for cut in [0, 100, 16 * 2048, 16 * 2048 + 100] {
        assert!(
            IsoImage::open(Cursor::new(image[..cut].to_vec())).is_err(),
            "cut {cut}"
        );
    }
    // Cut after the descriptors: opens, but the walk reports truncation.
    let mut iso = IsoImage::open(Cursor::new(image[..18 * 2048].to_vec())).unwrap();
    assert!(matches!(iso.walk(), Err(ReadError::Truncated { .. })));

    // A subdirectory whose record points back at the root: a loop.
    let root_sector =
        u32::from_le_bytes(image[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap());
    let mut looped = image.clone();
    let root_at = root_sector as usize * 2048;
    let mut pos = root_at + 68;
    loop {
        let rec = DirRecord::parse(&looped[pos..]).unwrap().unwrap();
        if rec.is_dir() {
            looped[pos + 2..pos + 10].copy_from_slice(&encode::both_u32(root_sector));
            break;
        }
        pos += rec.encoded_len();
    }
    let mut iso = IsoImage::open(Cursor::new(looped)).unwrap();
    assert!(matches!(iso.walk(), Err(ReadError::Corrupt { .. })));

    // A malformed record length.
    let mut bad = image.clone();
    bad[root_at + 68] = 7;
    let mut iso = IsoImage::open(Cursor::new(bad)).unwrap();
    assert!(matches!(iso.walk(), Err(ReadError::Corrupt { .. })));

    // A file whose extent lies past the end.
    let mut iso = IsoImage::open(Cursor::new(image.clone())).unwrap();
    let mut entry = iso.lookup("CAFE.MD").unwrap();
    entry.extents[0].0 = u32::MAX;
    assert!(matches!(
        iso.open_file(&entry),
        Err(ReadError::Truncated { .. })
    ));

    // Another block size.
    let mut odd = image;
    odd[16 * 2048 + 128..16 * 2048 + 132].copy_from_slice(&encode::both_u16(512));
    assert!(IsoImage::open(Cursor::new(odd)).is_err());
}

#[test]
fn a_primary_descriptor_with_one_damaged_identifier_byte_is_still_read() {
    let tree = sample_tree();
    let image = build(&tree, &volume()).image.to_vec();
    let intact = IsoImage::open(Cursor::new(image.clone())).unwrap();
    assert!(intact.damage().is_empty());
    let mut walked = IsoImage::open(Cursor::new(image.clone())).unwrap();
    let want = walked.walk().unwrap();

    let mut damaged = image.clone();
    damaged[16 * 2048 + 3] ^= 0x5A; // "CD001" -> "CDj01"
    let mut iso = IsoImage::open(Cursor::new(damaged)).unwrap();
    assert_eq!(iso.damage().len(), 1, "{:?}", iso.damage());
    assert!(iso.damage()[0].contains("sector 16"), "{:?}", iso.damage());
    assert_eq!(iso.walk().unwrap(), want);

    // Two bytes damaged, or the type byte: not taken for a primary descriptor.
    let mut two = image.clone();
    two[16 * 2048 + 2] ^= 0x5A;
    two[16 * 2048 + 3] ^= 0x5A;
    assert!(matches!(
        IsoImage::open(Cursor::new(two)),
        Err(ReadError::NotFound(_))
    ));
    let mut typed = image;
    typed[16 * 2048] = 7;
    typed[16 * 2048 + 3] ^= 0x5A;
    assert!(IsoImage::open(Cursor::new(typed)).is_err());
}
