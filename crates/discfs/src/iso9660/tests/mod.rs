//! Tests of the whole view: planning, the bytes of directories and path tables, and a
//! writer → reader round trip over images built here (a miniature layout: descriptors at
//! 16 and 17, path tables, directories, then file data), checked by our reader and by
//! independent ones.

mod corrupt;
mod independent;
mod layout;
mod properties;
mod round_trip;

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
