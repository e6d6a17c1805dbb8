//! Images checked by readers we did not write: cdrkit's `isoinfo` and xorriso's
//! `osirrox` (libisofs). Each must read what [`IsoPlan::paths`] promises.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use ::oracles::scratch::ScratchDir;
use ::oracles::{
    Entry, Kind, Manifest, compare, isoinfo_descriptor, isoinfo_list, osirrox_extract,
};

use super::*;

/// Writes the image to `path`, leaving holes where it holds zeros.
fn save(image: &SparseImage, path: &Path) {
    let mut file = File::create(path).unwrap();
    for (&offset, data) in &image.chunks {
        file.seek(SeekFrom::Start(offset)).unwrap();
        file.write_all(data).unwrap();
    }
    file.set_len(image.len).unwrap();
}

/// The sample tree plus a 12-level chain, many colliding names and an empty file.
fn rich_tree() -> Tree {
    let mut b = TreeBuilder::new(at(1_700_000_000));
    let docs = b.dir(NodeId::ROOT, "Docs", at(1_600_000_000)).unwrap();
    b.file(docs, "notes.txt", at(1_500_000_000), 5, bytes(b"hello"))
        .unwrap();
    b.file(docs, "Notes.TXT", at(1_500_000_100), 3, bytes(b"abc"))
        .unwrap();
    b.file(docs, "a", T, 1, bytes(b"x")).unwrap();
    b.file(docs, "a.1", T, 2, bytes(b"yz")).unwrap();
    b.dir(docs, "empty dir", T).unwrap();
    let names = [
        "日本語.txt",
        "中文.txt",
        "😀.txt",
        "é.txt",
        "e\u{301}.txt",
        "E.TXT",
    ];
    for (i, name) in names.iter().enumerate() {
        let content = format!("content {i}");
        b.file(
            NodeId::ROOT,
            name,
            at(1_000_000_000 + i as i64),
            content.len() as u64,
            bytes(content.as_bytes()),
        )
        .unwrap();
    }
    b.file(NodeId::ROOT, "empty", T, 0, bytes(b"")).unwrap();
    b.file(NodeId::ROOT, "2049", T, 2049, bytes(&[3u8; 2049]))
        .unwrap();
    let mut dir = NodeId::ROOT;
    for level in 1..=12 {
        dir = b
            .dir(dir, &format!("level {level}"), at(1_400_000_000 + level))
            .unwrap();
        let content = format!("at level {level}");
        b.file(
            dir,
            &format!("file{level}.bin"),
            at(1_300_000_000),
            content.len() as u64,
            bytes(content.as_bytes()),
        )
        .unwrap();
    }
    b.build().unwrap()
}

/// What a reader extracting the view must produce: every path of [`IsoPlan::paths`], and
/// the relocation directory (which shows no tree node) when there is one.
fn expected(plan: &IsoPlan, tree: &Tree) -> Manifest {
    let mut m = Manifest::new();
    for (path, node) in plan.paths(tree) {
        if path.starts_with("_DEEP/") {
            m.insert(RELOCATION_DIR, Entry::dir(None));
        }
        let mtime = Some(tree.mtime(node).secs());
        if tree.is_dir(node) {
            m.insert(&path, Entry::dir(mtime));
        } else if let Some(FileSource::Bytes(data)) = tree.source(node) {
            m.insert(&path, Entry::file(data, mtime));
        }
    }
    m
}

#[test]
fn isoinfo_and_osirrox_read_the_view() {
    let tree = rich_tree();
    let built = build(&tree, &volume());
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("view.iso");
    save(&built.image, &image);
    if let Some(keep) = std::env::var_os("DISCFS_KEEP_ISO") {
        std::fs::copy(&image, keep).unwrap(); // for looking at it by hand
    }

    let d = isoinfo_descriptor(&image).unwrap();
    assert_eq!(d.volume_id, "ARCHIVE_2026_03");
    assert_eq!(d.volume_set_id, "MY_PHOTOS");
    assert_eq!(d.application_id, "ODARCHIVE 0.1");
    assert_eq!((d.volume_set_size, d.volume_sequence_number), (7, 3));
    assert_eq!(d.logical_block_size, 2048);
    assert_eq!(d.volume_size * 2048, built.image.len);

    // isoinfo's listing agrees with our reader's walk, record for record.
    let listed = isoinfo_list(&image).unwrap();
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    let walked = iso.walk().unwrap();
    assert_eq!(listed.len(), walked.len());
    for (path, entry) in &walked {
        let parent = path
            .rsplit_once('/')
            .map_or("/".to_owned(), |(p, _)| format!("/{p}/"));
        let record = listed
            .iter()
            .find(|r| r.dir == parent && r.name == entry.identifier)
            .unwrap_or_else(|| panic!("isoinfo does not list {path}"));
        assert_eq!(record.is_dir, entry.is_dir, "{path}");
        assert_eq!(record.extent, u64::from(entry.extents[0].0), "{path}");
        if !entry.is_dir {
            assert_eq!(record.size, entry.size, "{path}");
        }
    }

    let want = expected(&built.plan, &tree);
    let scratch = ScratchDir::new_in(dir.path(), "osirrox").unwrap();
    let got = osirrox_extract(&image, &scratch.path().join("out")).unwrap();
    let diff = compare(&want.without_mtimes(), &got.without_mtimes(), None);
    assert!(diff.is_empty(), "osirrox: {diff:#?}");
    // File mtimes come from the directory records (1-second resolution).
    let files = want.filtered(|_, e| e.kind == Kind::File);
    let got_files = got.filtered(|_, e| e.kind == Kind::File);
    let diff = compare(&files, &got_files, Some(0));
    assert!(diff.is_empty(), "osirrox mtimes: {diff:#?}");
}

#[test]
fn isoinfo_joins_multi_extent_records() {
    const GIB: u64 = 1 << 30;
    let sizes = [4 * GIB - 2048, 4 * GIB - 1, 4 * GIB, 4 * GIB + 1];
    let mut b = TreeBuilder::new(T);
    for (i, &size) in sizes.iter().enumerate() {
        b.file(NodeId::ROOT, &format!("big{i}.bin"), T, size, sparse())
            .unwrap();
    }
    let tree = b.build().unwrap();
    let built = build(&tree, &VolumeInfo::default());
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("big.iso");
    save(&built.image, &image);
    let listed = isoinfo_list(&image).unwrap();
    let got: Vec<(String, u64, u32)> = listed
        .into_iter()
        .map(|r| (r.name, r.size, r.extents))
        .collect();
    let want: Vec<(String, u64, u32)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &s)| (format!("BIG{i}.BIN;1"), s, extent_count(s) as u32))
        .collect();
    assert_eq!(got, want);
}
