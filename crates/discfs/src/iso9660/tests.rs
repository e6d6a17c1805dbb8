//! Tests of the whole view: planning, the bytes of directories and path tables, and a
//! writer → reader round trip over images built here (a miniature layout: descriptors at
//! 16 and 17, path tables, directories, then file data).

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::sync::Arc;

use super::dirrec::{DirRecord, FLAG_MULTI_EXTENT};
use super::*;
use crate::error::ReadError;
use crate::time::Timestamp;
use crate::tree::{FileSource, NodeId, Tree, TreeBuilder};
use crate::volume::VolumeInfo;

const T: Timestamp = Timestamp::EPOCH;

fn at(secs: i64) -> Timestamp {
    Timestamp::new(secs, 0)
}

fn bytes(data: &[u8]) -> FileSource {
    FileSource::Bytes(Arc::from(data))
}

/// A source that is never read: for sizes the tests only lay out.
fn sparse() -> FileSource {
    FileSource::Path {
        path: "/nonexistent".into(),
        offset: 0,
    }
}

/// An image held as written chunks over zeros, so files of several GiB cost nothing.
#[derive(Debug, Default)]
struct SparseImage {
    len: u64,
    chunks: BTreeMap<u64, Vec<u8>>,
    pos: u64,
}

impl SparseImage {
    fn write(&mut self, offset: u64, data: &[u8]) {
        self.len = self.len.max(offset + data.len() as u64);
        self.chunks.insert(offset, data.to_vec());
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.len as usize];
        for (&off, data) in &self.chunks {
            out[off as usize..off as usize + data.len()].copy_from_slice(data);
        }
        out
    }
}

impl Read for SparseImage {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.len.saturating_sub(self.pos) as usize).min(buf.len());
        let (start, end) = (self.pos, self.pos + n as u64);
        buf[..n].fill(0);
        for (&off, data) in self.chunks.range(..end) {
            let (lo, hi) = (off.max(start), (off + data.len() as u64).min(end));
            if lo < hi {
                buf[(lo - start) as usize..(hi - start) as usize]
                    .copy_from_slice(&data[(lo - off) as usize..(hi - off) as usize]);
            }
        }
        self.pos = end;
        Ok(n)
    }
}

impl Seek for SparseImage {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

/// Where the miniature layout put things.
#[derive(Debug)]
struct Built {
    image: SparseImage,
    plan: IsoPlan,
    dir_extents: Vec<u32>,
    file_extents: Vec<u32>,
    path_tables: (u32, u32),
}

/// Lays out and writes the ISO 9660 view of `tree`. File data: `Bytes` sources are written;
/// other sources leave zeros, with a marker byte at the start and at the end of each file.
fn build(tree: &Tree, volume: &VolumeInfo) -> Built {
    let plan = IsoPlan::new(tree)
        .unwrap()
        .with_volume_sequence(volume.sequence_number);
    let pt_sectors = plan.path_table_bytes().div_ceil(2048);
    let (l, m) = (18, 18 + pt_sectors);
    let mut next = m + pt_sectors;
    let mut dir_extents = Vec::new();
    for d in 0..plan.dir_count() {
        dir_extents.push(next);
        next += plan.dir_sectors(d);
    }
    let mut file_extents = vec![0u32; tree.len()];
    for f in tree.files_depth_first() {
        file_extents[f.index()] = next;
        next += tree.size(f).div_ceil(2048) as u32;
    }
    let mut image = SparseImage::default();
    image.write(
        16 * 2048,
        &plan.primary_volume_descriptor(tree, volume, next, l, m, &dir_extents),
    );
    image.write(17 * 2048, &IsoPlan::terminator());
    for (sector, big) in [(l, false), (m, true)] {
        let mut table = Vec::new();
        plan.write_path_table(&dir_extents, big, &mut table);
        assert_eq!(table.len(), plan.path_table_bytes() as usize);
        image.write(u64::from(sector) * 2048, &table);
    }
    for d in 0..plan.dir_count() {
        let mut out = vec![0xAA; 3]; // appending must not touch what is there
        plan.write_dir(tree, d, &dir_extents, &file_extents, &mut out);
        assert_eq!(&out[..3], &[0xAA; 3]);
        assert_eq!(out.len() - 3, plan.dir_sectors(d) as usize * 2048);
        image.write(u64::from(dir_extents[d]) * 2048, &out[3..]);
    }
    for f in tree.files_depth_first() {
        let offset = u64::from(file_extents[f.index()]) * 2048;
        match tree.source(f) {
            Some(FileSource::Bytes(b)) => image.write(offset, b),
            _ if tree.size(f) > 0 => {
                image.write(offset, &[0x5A]);
                image.write(offset + tree.size(f) - 1, &[0xA5]);
            }
            _ => {}
        }
    }
    image.len = image.len.max(u64::from(next) * 2048);
    Built {
        image,
        plan,
        dir_extents,
        file_extents,
        path_tables: (l, m),
    }
}

fn sample_tree() -> Tree {
    let mut b = TreeBuilder::new(at(1_700_000_000));
    let docs = b.dir(NodeId::ROOT, "Docs", at(1_600_000_000)).unwrap();
    b.file(docs, "notes.txt", at(1_500_000_000), 5, bytes(b"hello"))
        .unwrap();
    b.file(docs, "Notes.TXT", T, 3, bytes(b"abc")).unwrap();
    b.file(docs, "a", T, 1, bytes(b"x")).unwrap();
    b.file(docs, "a.1", T, 2, bytes(b"yz")).unwrap();
    b.dir(docs, "empty dir", T).unwrap();
    b.file(
        NodeId::ROOT,
        "café.md",
        at(-5_000_000_000),
        2049,
        bytes(&[7u8; 2049]),
    )
    .unwrap();
    b.file(
        NodeId::ROOT,
        "cafe\u{301}.md",
        at(9_000_000_000),
        0,
        bytes(b""),
    )
    .unwrap();
    b.file(NodeId::ROOT, "日本語.txt", T, 2048, bytes(&[1u8; 2048]))
        .unwrap();
    b.build().unwrap()
}

fn volume() -> VolumeInfo {
    VolumeInfo {
        volume_id: "Archive 2026-03".into(),
        volume_set_id: "my photos".into(),
        publisher_id: "me@example".into(),
        application_id: "odarchive 0.1".into(),
        set_size: 7,
        sequence_number: 3,
        created: at(1_764_115_200),
    }
}

fn paths(plan: &IsoPlan, tree: &Tree) -> Vec<(String, String)> {
    plan.paths(tree).map(|(p, n)| (p, tree.path(n))).collect()
}

#[test]
fn plan_maps_names_and_orders_directories() {
    let tree = sample_tree();
    let plan = IsoPlan::new(&tree).unwrap();
    assert_eq!(plan.dir_count(), 3); // root, DOCS, DOCS/EMPTY_DIR
    assert_eq!(plan.dir_node(0), Some(NodeId::ROOT));
    let map = paths(&plan, &tree);
    let expect = [
        // Tree order is UTF-8 byte order: the decomposed name comes first and keeps the base.
        ("CAFE.MD", "cafe\u{301}.md"),
        ("CAFE_1.MD", "café.md"),
        ("DOCS", "Docs"),
        ("___.TXT", "日本語.txt"),
        ("DOCS/A", "Docs/a"),
        ("DOCS/A.1", "Docs/a.1"),
        ("DOCS/EMPTY_DIR", "Docs/empty dir"),
        ("DOCS/NOTES.TXT", "Docs/Notes.TXT"),
        ("DOCS/NOTES_1.TXT", "Docs/notes.txt"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(map, expect);
    // Root: 34 + 34 + CAFE.MD;1 (44) + CAFE_1.MD;1 (44) + DOCS (38) + ___.TXT;1 (42): 1 sector.
    assert_eq!(plan.dir_sectors(0), 1);
    // Path table: root 10, DOCS 12, EMPTY_DIR 18.
    assert_eq!(plan.path_table_bytes(), 10 + 12 + 18);
}

#[test]
fn directory_records_sort_by_name_then_extension() {
    let tree = sample_tree();
    let built = build(&tree, &volume());
    let docs = 1;
    let mut out = Vec::new();
    built.plan.write_dir(
        &tree,
        docs,
        &built.dir_extents,
        &built.file_extents,
        &mut out,
    );
    let mut ids = Vec::new();
    let mut pos = 0;
    while let Some(rec) = DirRecord::parse(&out[pos..]).unwrap() {
        pos += rec.encoded_len();
        assert_eq!(rec.volume_sequence, 3);
        ids.push(rec.identifier);
    }
    let ids: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
    // 9.3: "A.;1" before "A.1;1" (empty extension sorts first even though ';' > '1').
    let expect: [&[u8]; 7] = [
        &[0],
        &[1],
        b"A.;1",
        b"A.1;1",
        b"EMPTY_DIR",
        b"NOTES.TXT;1",
        b"NOTES_1.TXT;1",
    ];
    assert_eq!(ids, expect);
    // "." points at DOCS itself, ".." at the root.
    let dot = DirRecord::parse(&out).unwrap().unwrap();
    assert_eq!(dot.extent, built.dir_extents[docs]);
    assert_eq!(dot.data_length, 2048);
    assert_eq!(dot.mtime(), Some(at(1_600_000_000)));
    let dotdot = DirRecord::parse(&out[34..]).unwrap().unwrap();
    assert_eq!(dotdot.extent, built.dir_extents[0]);
    assert_eq!(dotdot.mtime(), Some(at(1_700_000_000)));
}

#[test]
fn root_dotdot_is_root_and_path_tables_match_the_standard() {
    let tree = sample_tree();
    let built = build(&tree, &volume());
    let mut root = Vec::new();
    built
        .plan
        .write_dir(&tree, 0, &built.dir_extents, &built.file_extents, &mut root);
    let dot = DirRecord::parse(&root).unwrap().unwrap();
    let dotdot = DirRecord::parse(&root[34..]).unwrap().unwrap();
    assert_eq!(
        (dot.extent, dotdot.extent),
        (built.dir_extents[0], built.dir_extents[0])
    );
    assert_eq!(dotdot.identifier, [1]);

    let [r, d, e] = [0, 1, 2].map(|i| built.dir_extents[i].to_le_bytes());
    let mut l = Vec::new();
    built
        .plan
        .write_path_table(&built.dir_extents, false, &mut l);
    let mut expect = vec![1, 0, r[0], r[1], r[2], r[3], 1, 0, 0, 0];
    expect.extend([4, 0, d[0], d[1], d[2], d[3], 1, 0]);
    expect.extend(b"DOCS");
    expect.extend([9, 0, e[0], e[1], e[2], e[3], 2, 0]);
    expect.extend(b"EMPTY_DIR\0");
    assert_eq!(l, expect);
    let mut m = Vec::new();
    built
        .plan
        .write_path_table(&built.dir_extents, true, &mut m);
    assert_eq!(&m[..10], &[1, 0, r[3], r[2], r[1], r[0], 0, 1, 0, 0]);
    assert_eq!(
        &m[28..30],
        &[0, 2],
        "EMPTY_DIR's parent is directory 2, big-endian"
    );
}

#[test]
fn writer_to_reader_round_trip() {
    let tree = sample_tree();
    let vol = volume();
    let built = build(&tree, &vol);
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    let v = iso.volume().clone();
    assert_eq!(v.volume_id, "ARCHIVE_2026_03");
    assert_eq!(v.volume_set_id, "MY_PHOTOS");
    assert_eq!(v.publisher_id, "ME_EXAMPLE");
    assert_eq!(v.application_id, "ODARCHIVE 0.1");
    assert_eq!((v.volume_set_size, v.volume_sequence_number), (7, 3));
    assert_eq!(v.logical_block_size, 2048);
    assert_eq!(v.volume_space_size as u64 * 2048, built.image.len);
    assert_eq!(v.created, Some(vol.created));
    assert_eq!(v.file_structure_version, 1);
    assert_eq!((v.path_table_l, v.path_table_m), built.path_tables);

    let walked = iso.walk().unwrap();
    let listed: Vec<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
    let planned: Vec<(String, NodeId)> = built.plan.paths(&tree).collect();
    let mut planned_paths: Vec<&str> = planned.iter().map(|(p, _)| p.as_str()).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    planned_paths.sort();
    assert_eq!(sorted, planned_paths);
    for (path, node) in &planned {
        let entry = iso.lookup(path).unwrap();
        assert_eq!(entry.is_dir, tree.is_dir(*node), "{path}");
        let mtime = tree.mtime(*node);
        let expect_mtime = if mtime.secs() < -2_208_988_800 {
            at(-2_208_988_800) // clamped to 1900
        } else if mtime.secs() > 5_869_583_999 {
            at(5_869_583_999) // clamped to 2155
        } else {
            mtime
        };
        assert_eq!(entry.mtime, expect_mtime, "{path}");
        if !entry.is_dir {
            assert_eq!(entry.size, tree.size(*node));
            let mut data = Vec::new();
            assert_eq!(iso.copy_to(&entry, &mut data).unwrap(), tree.size(*node));
            let Some(FileSource::Bytes(b)) = tree.source(*node) else {
                panic!("sample has byte sources")
            };
            assert_eq!(&data[..], &b[..], "{path}");
        }
    }
    assert_eq!(
        iso.lookup("docs/notes.txt").unwrap().identifier,
        "NOTES.TXT;1"
    );
    assert_eq!(iso.lookup("DOCS/A.;1").unwrap().name, "A");
    assert!(matches!(
        iso.lookup("DOCS/NOPE"),
        Err(ReadError::NoSuchPath(_))
    ));
    assert!(matches!(
        iso.lookup("CAFE.MD/X"),
        Err(ReadError::NoSuchPath(_))
    ));

    // The path tables agree with the directory hierarchy.
    for big in [false, true] {
        let table = iso.path_table(big).unwrap();
        let got: Vec<(u32, u16)> = table.iter().map(|r| (r.extent, r.parent)).collect();
        assert_eq!(
            got,
            [
                (built.dir_extents[0], 1),
                (built.dir_extents[1], 1),
                (built.dir_extents[2], 2)
            ]
        );
    }
}

#[test]
fn file_sizes_around_sector_and_extent_limits() {
    const GIB: u64 = 1 << 30;
    let sizes = [
        0,
        1,
        2047,
        2048,
        2049,
        GIB - 2048,
        GIB,
        4 * GIB - 2048,
        4 * GIB - 2047,
        4 * GIB - 1,
        4 * GIB,
        4 * GIB + 1,
        9 * GIB,
    ];
    let mut b = TreeBuilder::new(T);
    for (i, &size) in sizes.iter().enumerate() {
        b.file(NodeId::ROOT, &format!("f{i:02}"), T, size, sparse())
            .unwrap();
    }
    let tree = b.build().unwrap();
    let built = build(&tree, &VolumeInfo::default());

    // Raw records: one per 0xFFFFF800 bytes, all but the last flagged multi-extent.
    let mut root = Vec::new();
    built
        .plan
        .write_dir(&tree, 0, &built.dir_extents, &built.file_extents, &mut root);
    let mut records: BTreeMap<Vec<u8>, Vec<DirRecord>> = BTreeMap::new();
    let mut pos = 68;
    while pos < root.len() {
        match DirRecord::parse(&root[pos..]).unwrap() {
            Some(rec) => {
                pos += rec.encoded_len();
                records.entry(rec.identifier.clone()).or_default().push(rec);
            }
            None => pos = (pos / 2048 + 1) * 2048,
        }
    }
    let mut iso = IsoImage::open(built.image).unwrap();
    let entries = iso.read_dir(&iso.root()).unwrap();
    assert_eq!(entries.len(), sizes.len());
    for ((i, &size), entry) in sizes.iter().enumerate().zip(&entries) {
        let recs = &records[format!("F{i:02}.;1").as_bytes()];
        let count = extent_count(size);
        assert_eq!(recs.len() as u64, count, "size {size}");
        let start = built.file_extents[tree.children(NodeId::ROOT).nth(i).unwrap().index()];
        for (k, rec) in recs.iter().enumerate() {
            let last = k + 1 == recs.len();
            assert_eq!(
                rec.flags & FLAG_MULTI_EXTENT != 0,
                !last,
                "size {size} part {k}"
            );
            assert_eq!(
                rec.extent,
                start + k as u32 * 0x1F_FFFF,
                "size {size} part {k}"
            );
            let expect = if last {
                size - k as u64 * MAX_EXTENT_BYTES
            } else {
                MAX_EXTENT_BYTES
            };
            assert_eq!(u64::from(rec.data_length), expect, "size {size} part {k}");
        }
        // The reader merges them back into one entry of the right size.
        assert_eq!(entry.name, format!("F{i:02}"));
        assert_eq!(entry.size, size);
        assert_eq!(entry.extents.len() as u64, count);
        assert_eq!(entry.extents[0].0, start);
    }
    // First and last byte of the 4 GiB + 1 file come back through its two extents.
    let big = &entries[11];
    let mut file = iso.open_file(big).unwrap();
    let mut first = [0u8; 1];
    file.read_exact(&mut first).unwrap();
    assert_eq!(first, [0x5A]);
    let last_extent = *big.extents.last().unwrap();
    assert_eq!(last_extent.1, 2049, "4 GiB + 1 = 0xFFFFF800 + 2049");
    let mut tail = [0u8; 1];
    let mut reader = iso.into_inner();
    reader
        .read_at(u64::from(last_extent.0) * 2048 + 2048, &mut tail)
        .unwrap();
    assert_eq!(tail, [0xA5]);
}

/// A chain of `depth` directories named by `name(level)`, a file in the deepest.
fn chain(depth: usize, name: impl Fn(usize) -> String) -> Tree {
    let mut b = TreeBuilder::new(T);
    let mut at_dir = NodeId::ROOT;
    for level in 0..depth {
        at_dir = b.dir(at_dir, &name(level), T).unwrap();
        b.file(at_dir, "file.txt", T, 1, bytes(b"!")).unwrap();
    }
    b.build().unwrap()
}

/// Checks the limits every plan must keep and that `paths` is a bijection onto the nodes.
fn check_limits(plan: &IsoPlan, tree: &Tree) {
    let mut seen = HashSet::new();
    let mut nodes = HashSet::new();
    for (path, node) in plan.paths(tree) {
        let parts: Vec<&str> = path.split('/').collect();
        let dirs = parts.len() - usize::from(!tree.is_dir(node));
        assert!(dirs < MAX_LEVELS, "{path}: too deep (the root is level 1)");
        assert!(path.len() + 2 <= 255, "{path}: too long");
        let leaf = parts.last().unwrap();
        if tree.is_dir(node) {
            assert!(leaf.len() <= 31, "{path}");
            assert!(leaf.bytes().all(encode::is_d_char), "{path}");
        } else {
            let (name, ext) = leaf.split_once('.').unwrap_or((leaf, ""));
            assert!(name.len() + ext.len() <= 30, "{path}");
            assert!(
                name.bytes().chain(ext.bytes()).all(encode::is_d_char),
                "{path}"
            );
        }
        assert!(seen.insert(path.clone()), "{path} twice");
        assert!(nodes.insert(node), "node of {path} twice");
    }
    assert_eq!(
        nodes.len(),
        tree.len() - 1,
        "every node but the root has a path"
    );
}

#[test]
fn deep_directories_are_relocated() {
    let tree = chain(20, |l| format!("level{}", l + 1));
    let plan = IsoPlan::new(&tree).unwrap();
    check_limits(&plan, &tree);
    let map: BTreeMap<String, String> = plan.paths(&tree).map(|(p, n)| (tree.path(n), p)).collect();
    assert_eq!(
        map["level1/level2/level3/level4/level5/level6/level7"],
        "LEVEL1/LEVEL2/LEVEL3/LEVEL4/LEVEL5/LEVEL6/LEVEL7"
    );
    // Level 9 (tree depth 8) moves under _DEEP, and its subtree follows it there.
    let deep8 = (1..=8)
        .map(|l| format!("level{l}"))
        .collect::<Vec<_>>()
        .join("/");
    assert_eq!(map[&deep8], "_DEEP/LEVEL8");
    assert_eq!(map[&format!("{deep8}/file.txt")], "_DEEP/LEVEL8/FILE.TXT");
    let deep20 = (1..=20)
        .map(|l| format!("level{l}"))
        .collect::<Vec<_>>()
        .join("/");
    assert_eq!(map[&deep20], "_DEEP/LEVEL20");
    assert_eq!(map[&format!("{deep20}/file.txt")], "_DEEP/LEVEL20/FILE.TXT");
    // Relocation directory is one of the ISO directories but shows no tree node.
    assert!((0..plan.dir_count()).any(|d| plan.dir_node(d).is_none()));

    // The reader sees the same hierarchy.
    let built = build(&tree, &VolumeInfo::default());
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    let walked: HashSet<String> = iso.walk().unwrap().into_iter().map(|(p, _)| p).collect();
    assert!(walked.iter().all(|p| p.split('/').count() <= 9));
    for path in map.values() {
        assert!(walked.contains(path), "{path}");
    }
    let path_table = iso.path_table(false).unwrap();
    assert_eq!(path_table.len(), plan.dir_count());
}

#[test]
fn relocated_names_are_unique_under_deep() {
    // Two deep chains whose level-9 directories (tree depth 8: "same8") have the same name.
    let mut b = TreeBuilder::new(T);
    for top in ["a", "b"] {
        let mut at_dir = b.dir(NodeId::ROOT, top, T).unwrap();
        for level in 2..=10 {
            at_dir = b.dir(at_dir, &format!("same{}", level.min(9)), T).unwrap();
        }
    }
    let tree = b.build().unwrap();
    let plan = IsoPlan::new(&tree).unwrap();
    check_limits(&plan, &tree);
    let shown: Vec<String> = plan
        .paths(&tree)
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("_DEEP/"))
        .collect();
    assert_eq!(
        shown,
        [
            "_DEEP/SAME8",
            "_DEEP/SAME8_1",
            "_DEEP/SAME8/SAME9",
            "_DEEP/SAME8_1/SAME9",
            "_DEEP/SAME8/SAME9/SAME9",
            "_DEEP/SAME8_1/SAME9/SAME9",
        ]
    );
}

#[test]
fn long_paths_are_relocated_before_255_bytes() {
    let tree = chain(8, |l| format!("{l}{}", "x".repeat(40)));
    let plan = IsoPlan::new(&tree).unwrap();
    check_limits(&plan, &tree);
    // 31-byte identifiers: 7 levels would make a 223-byte path, over MAX_DIR_PATH (219).
    let relocated: Vec<String> = plan
        .paths(&tree)
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("_DEEP/"))
        .collect();
    assert_eq!(
        relocated.len(),
        2 * 2,
        "levels 7 and 8 and their files moved"
    );
}

#[test]
fn a_real_top_level_deep_name_never_meets_the_relocation_dir() {
    let mut b = TreeBuilder::new(T);
    b.dir(NodeId::ROOT, "_deep", T).unwrap();
    let tree = b.build().unwrap();
    let plan = IsoPlan::new(&tree).unwrap();
    assert_eq!(
        paths(&plan, &tree),
        [("_DEEP_1".to_owned(), "_deep".to_owned())]
    );
    assert_eq!(
        plan.dir_count(),
        2,
        "no relocation directory when nothing is deep"
    );
}

#[test]
fn empty_volume() {
    let tree = TreeBuilder::new(T).build().unwrap();
    let built = build(&tree, &VolumeInfo::default());
    assert_eq!(built.plan.dir_count(), 1);
    assert_eq!(built.plan.dir_sectors(0), 1);
    assert_eq!(built.plan.path_table_bytes(), 10);
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    assert!(iso.walk().unwrap().is_empty());
    assert_eq!(iso.volume().volume_id, "CDROM");
}

#[test]
fn many_files_fill_many_sectors_without_straddling() {
    let mut b = TreeBuilder::new(T);
    for i in 0..10_000 {
        b.file(
            NodeId::ROOT,
            &format!("file number {i}.dat"),
            T,
            0,
            bytes(b""),
        )
        .unwrap();
    }
    let tree = b.build().unwrap();
    let built = build(&tree, &VolumeInfo::default());
    // FILE_NUMBER_1234.DAT;1 is 22 bytes: records of 56 bytes, 36 to a sector.
    let sectors = built.plan.dir_sectors(0);
    assert!(sectors >= 10_002 / 36, "{sectors}");
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    let entries = iso.read_dir(&iso.root()).unwrap();
    assert_eq!(entries.len(), 10_000);
    let names: HashSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names.len(), 10_000);
}

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

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Names drawn from pieces that collide a lot once mapped.
    fn name() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "a",
            "A",
            "é",
            "e\u{301}",
            "ß",
            "SS",
            "日本",
            "😀",
            ".",
            "..x",
            "txt",
            " ",
            "_",
            "1",
            "long-name-part-",
            "Ω",
            "ﬁ",
            "\u{200D}",
        ]);
        prop::collection::vec(piece, 1..12)
            .prop_map(|p| p.concat())
            .prop_filter("valid tree name", |n| n != "." && n != "..")
    }

    /// A random tree: each entry names its parent among the directories made so far.
    fn tree() -> impl Strategy<Value = Tree> {
        prop::collection::vec((name(), any::<bool>(), any::<prop::sample::Index>()), 0..60)
            .prop_map(|entries| {
                let mut b = TreeBuilder::new(T);
                let mut dirs = vec![NodeId::ROOT];
                for (name, is_dir, parent) in entries {
                    let parent = dirs[parent.index(dirs.len())];
                    if is_dir {
                        if let Ok(d) = b.dir(parent, &name, T) {
                            dirs.push(d);
                        }
                    } else if b.child_dir(parent, &name).is_none() {
                        let _ = b.file(parent, &name, T, name.len() as u64, sparse());
                    }
                }
                b.build()
                    .unwrap_or_else(|_| TreeBuilder::new(T).build().unwrap())
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn plans_keep_limits_and_never_collide(tree in tree()) {
            let plan = IsoPlan::new(&tree).unwrap();
            check_limits(&plan, &tree);
            // Deterministic: the same tree plans the same.
            let again: Vec<(String, NodeId)> = IsoPlan::new(&tree).unwrap().paths(&tree).collect();
            prop_assert_eq!(plan.paths(&tree).collect::<Vec<_>>(), again);
        }

        #[test]
        fn reader_never_panics_on_damaged_images(
            flips in prop::collection::vec((0usize..40 * 2048, any::<u8>()), 1..40)
        ) {
            let tree = sample_tree();
            let mut image = build(&tree, &volume()).image.to_vec();
            let span = image.len() - 16 * 2048;
            for (at, value) in flips {
                if let Some(b) = image.get_mut(16 * 2048 + at % span) {
                    *b = value;
                }
            }
            if let Ok(mut iso) = IsoImage::open(Cursor::new(image)) {
                let _ = iso.path_table(false);
                let _ = iso.path_table(true);
                if let Ok(all) = iso.walk() {
                    for (_, entry) in all.iter().filter(|(_, e)| !e.is_dir).take(20) {
                        let _ = iso.copy_to(entry, &mut io::sink());
                    }
                }
            }
        }
    }
}
