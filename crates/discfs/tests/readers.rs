//! Images checked by independent readers: 7-Zip, osirrox, isoinfo, udfinfo, pycdlib and
//! udfclient must each read back exactly what was written, and so must our own reader.
//! A missing reader fails the test (scripts/test installs them).

mod common;

use std::fs;
use std::path::Path;

use common::*;
use oracles::{CheckOptions, Manifest, Reader};

/// Writes the image of `src`, checks it with every reader in `opts`, and checks that our
/// own reader sees the same UDF view. Returns the image path.
fn check_tree(src: &Path, work: &Path, opts: &CheckOptions) -> std::path::PathBuf {
    let tree = tree_of_dir(src);
    let image = work.join("disc.iso");
    let layout = write_image(&tree, &volume(1, 1), &image);
    let source = Manifest::of_dir(src).unwrap().without_symlinks();
    let expected = expected_udf(&source, &tree, &layout);
    let opts = opts.clone().scratch_in(work);
    oracles::assert_all(&image, &expected, &opts);
    let ours = own_udf_manifest(&image);
    let diffs = oracles::compare(&expected, &ours, Some(0));
    assert!(diffs.is_empty(), "our reader disagrees: {diffs:#?}");
    image
}

fn all_readers() -> CheckOptions {
    CheckOptions::default()
}

#[test]
fn empty_volume() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    check_tree(&src, work.path(), &all_readers());
}

#[test]
fn one_file() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("hello.txt"), b"hello, disc\n").unwrap();
    check_tree(&src, work.path(), &all_readers());
}

#[test]
fn ten_thousand_files_in_one_directory() {
    let work = scratch();
    let src = work.path().join("src");
    let dir = src.join("many");
    fs::create_dir_all(&dir).unwrap();
    for i in 0..10_000 {
        fs::write(
            dir.join(format!("file number {i:05}.dat")),
            format!("content {i}\n"),
        )
        .unwrap();
    }
    check_tree(&src, work.path(), &all_readers());
}

#[test]
fn depth_twenty() {
    let work = scratch();
    let src = work.path().join("src");
    let mut dir = src.clone();
    for level in 1..=20 {
        dir = dir.join(format!("level{level}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("here.txt"), format!("level {level}\n")).unwrap();
    }
    check_tree(&src, work.path(), &all_readers());
}

#[test]
fn long_names() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    // 255 bytes: the longest Linux name; one more than a UDF 8-bit identifier holds.
    fs::write(src.join("a".repeat(255)), b"255 a").unwrap();
    fs::write(src.join("b".repeat(254)), b"254 b").unwrap();
    fs::write(src.join(format!("{}.txt", "c".repeat(250))), b"250 c").unwrap();
    // 85 CJK characters are 85 UTF-16 units but 255 UTF-8 bytes: more than the kernel's
    // udf driver shows, so shortened too; 84 of them (252 bytes) stay as they are.
    fs::write(src.join("日".repeat(85)), b"cjk").unwrap();
    fs::write(src.join("月".repeat(84)), b"cjk 84").unwrap();
    // Mixed: 150 ASCII + 30 CJK = 240 bytes of UTF-8, 180 UTF-16 units: must be shortened.
    fs::write(
        src.join(format!("{}{}", "m".repeat(150), "語".repeat(30))),
        b"mixed",
    )
    .unwrap();
    let long_dir = src.join("d".repeat(255));
    fs::create_dir(&long_dir).unwrap();
    fs::write(long_dir.join("inside"), b"inside a long directory").unwrap();
    let image = check_tree(&src, work.path(), &all_readers());
    let mut udf = discfs::udf::read::UdfVolume::open(fs::File::open(image).unwrap()).unwrap();
    let names: Vec<String> = udf
        .walk()
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.name)
        .collect();
    for name in &names {
        assert!(
            name.len() <= 254,
            "{name:?} is {} bytes of UTF-8",
            name.len()
        );
    }
    assert!(names.contains(&"月".repeat(84)), "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("日日日") && n.contains('~') && n != &"日".repeat(85)),
        "{names:?}"
    );
}

#[test]
fn unicode_names() {
    let work = scratch();
    let src = work.path().join("src");
    let dir = src.join("Fotos été 2024");
    fs::create_dir_all(&dir).unwrap();
    let names = [
        "café.txt",
        "Ærøskøbing.md",
        "日本語のファイル.txt",
        "한국어.txt",
        "emoji 😀🎉.txt",
        "combining e\u{301}.txt",
        "Ελληνικά.txt",
        "файл.txt",
        "with space and 'quote'.txt",
        "ÿ.txt",
    ];
    for (i, name) in names.iter().enumerate() {
        fs::write(dir.join(name), format!("file {i}: {name}\n")).unwrap();
    }
    // Names equal after Unicode normalisation: NFC é and NFD e + U+0301 side by side.
    fs::write(src.join("r\u{e9}sum\u{e9}.txt"), b"nfc").unwrap();
    fs::write(src.join("re\u{301}sume\u{301}.txt"), b"nfd").unwrap();
    // Names that differ only in case.
    fs::write(src.join("Readme"), b"upper").unwrap();
    fs::write(src.join("README"), b"all upper").unwrap();
    fs::write(src.join("readme"), b"lower").unwrap();
    // 7-Zip and udfclient have their own name quirks; the oracles handle them.
    check_tree(&src, work.path(), &all_readers());
}

#[test]
fn empty_files_and_directories() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir_all(src.join("empty dir")).unwrap();
    fs::create_dir_all(src.join("nested/empty/dirs")).unwrap();
    fs::write(src.join("empty file"), b"").unwrap();
    fs::write(src.join("nested/also empty"), b"").unwrap();
    fs::write(src.join("nested/not empty"), b"x").unwrap();
    check_tree(&src, work.path(), &all_readers());
}

#[test]
fn sizes_around_a_sector() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    for size in [0usize, 1, 2047, 2048, 2049, 4095, 4096, 65_537] {
        let content: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
        fs::write(src.join(format!("size {size}")), content).unwrap();
    }
    check_tree(&src, work.path(), &all_readers());
}

#[test]
fn sizes_around_the_udf_extent_limit() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    sparse_file(&src.join("1GiB minus 2KiB"), (1 << 30) - 2048);
    sparse_file(&src.join("1GiB"), 1 << 30);
    check_tree(&src, work.path(), &all_readers());
}

#[test]
fn a_file_over_four_gib() {
    // Multi-extent in ISO 9660, five extents in UDF: 4 GiB of extraction per reader.
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    sparse_file(&src.join("4GiB plus 1"), (4 << 30) + 1);
    check_tree(&src, work.path(), &all_readers());
}

/// All three sizes around 4 GiB in one image: 12 GiB through every reader (about ten
/// minutes). Run by hand: `cargo test -p discfs --test readers -- --ignored`.
#[test]
#[ignore = "12 GiB through every reader; run by hand"]
fn sizes_around_four_gib() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    for (name, size) in [
        ("4GiB minus 1", (4u64 << 30) - 1),
        ("4GiB", 4 << 30),
        ("4GiB plus 1", (4 << 30) + 1),
    ] {
        sparse_file(&src.join(name), size);
    }
    check_tree(&src, work.path(), &all_readers());
}

#[test]
fn volume_fields_reach_both_views() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("f"), b"f").unwrap();
    let tree = tree_of_dir(&src);
    let image = work.path().join("disc.iso");
    write_image(&tree, &volume(3, 7), &image);
    let d = oracles::isoinfo_descriptor(&image).unwrap();
    assert_eq!(d.volume_set_size, 7);
    assert_eq!(d.volume_sequence_number, 3);
    assert_eq!(d.volume_id, "TEST_DISC");
    assert_eq!(d.volume_size * 2048, fs::metadata(&image).unwrap().len());
    let u = oracles::udfinfo(&image).unwrap();
    assert_eq!(u.label(), Some("TEST_DISC"));
    let opts =
        CheckOptions::default().only(&[Reader::SevenZipTest, Reader::Udfinfo, Reader::Pycdlib]);
    let source = Manifest::of_dir(&src).unwrap();
    oracles::assert_all(&image, &source, &opts.scratch_in(work.path()));
}

#[test]
fn same_input_gives_the_same_image() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir_all(src.join("a/b")).unwrap();
    fs::write(src.join("a/b/c.txt"), b"c").unwrap();
    fs::write(src.join("x.bin"), vec![9u8; 5000]).unwrap();
    let one = work.path().join("one.iso");
    let two = work.path().join("two.iso");
    write_image(&tree_of_dir(&src), &volume(1, 1), &one);
    write_image(&tree_of_dir(&src), &volume(1, 1), &two);
    assert_eq!(fs::read(&one).unwrap(), fs::read(&two).unwrap());
}

#[test]
fn a_protected_image_passes_every_reader() {
    let work = scratch();
    let src = work.path().join("src");
    fs::create_dir_all(src.join("photos")).unwrap();
    for i in 0..20 {
        let body: Vec<u8> = (0..20_000 + i * 977).map(|b| (b * 7 + i) as u8).collect();
        fs::write(src.join("photos").join(format!("img{i:02}.jpg")), body).unwrap();
    }
    let mut tree = {
        let plain = tree_of_dir(&src);
        let mut b = discfs::TreeBuilder::new(plain.mtime(discfs::NodeId::ROOT));
        for f in plain.files_depth_first() {
            let dir = b
                .dir(discfs::NodeId::ROOT, "photos", plain.mtime(plain.parent(f)))
                .unwrap();
            let source = plain.source(f).unwrap().clone();
            b.file(dir, plain.name(f), plain.mtime(f), plain.size(f), source)
                .unwrap();
        }
        let root = plain.mtime(discfs::NodeId::ROOT);
        let parity = b.dir(discfs::NodeId::ROOT, "Parity", root).unwrap();
        b.parity_file(parity, "PARITY.ODP", root, 10).unwrap();
        b.build().unwrap()
    };
    let vol = volume(1, 1);
    let layout = discfs::layout_with_parity(&mut tree, &vol).unwrap();
    let image = work.path().join("disc.iso");
    let mut spill = tempfile::tempfile().unwrap();
    let mut out = fs::File::create(&image).unwrap();
    discfs::write_protected_image(&tree, &layout, &mut out, &mut spill, &mut ()).unwrap();
    drop(out);
    assert_eq!(fs::metadata(&image).unwrap().len(), layout.image_size());

    let bytes = fs::read(&image).unwrap();
    let header = layout.parity().unwrap();
    let start = header.parity_start as usize * 2048;
    let area = &bytes[start..start + header.parity_sectors() as usize * 2048];
    let mut expected = Manifest::of_dir(&src).unwrap().without_symlinks();
    // The parity directory and file carry the root's mtime.
    let root_mtime = Some(tree.mtime(discfs::NodeId::ROOT).secs());
    expected.insert_dir("Parity", root_mtime);
    expected.insert("Parity/PARITY.ODP", oracles::Entry::file(area, root_mtime));
    let opts = all_readers().scratch_in(work.path());
    oracles::assert_all(&image, &expected, &opts);
}
