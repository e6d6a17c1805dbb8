//! Shared by the image tests: trees on disk turned into images, and what each view should
//! then hold.

#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use discfs::{FileSource, Layout, NodeId, Timestamp, Tree, TreeBuilder, VolumeInfo};
use oracles::{Entry, Manifest};

/// Builds the tree of everything under `root` (directories and regular files; sources are
/// the files themselves), with mtimes from the file system.
pub fn tree_of_dir(root: &Path) -> Tree {
    let meta = fs::metadata(root).unwrap();
    let mut b = TreeBuilder::new(mtime_of(&meta));
    add_dir(&mut b, NodeId::ROOT, root);
    b.build().unwrap()
}

fn add_dir(b: &mut TreeBuilder, parent: NodeId, dir: &Path) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let meta = fs::symlink_metadata(e.path()).unwrap();
        let name = e
            .file_name()
            .into_string()
            .expect("test trees have UTF-8 names");
        if meta.is_dir() {
            let id = b.dir(parent, &name, mtime_of(&meta)).unwrap();
            add_dir(b, id, &e.path());
        } else if meta.is_file() {
            let source = FileSource::Path {
                path: e.path(),
                offset: 0,
            };
            b.file(parent, &name, mtime_of(&meta), meta.len(), source)
                .unwrap();
        }
    }
}

fn mtime_of(meta: &fs::Metadata) -> Timestamp {
    Timestamp::new(meta.mtime(), meta.mtime_nsec() as u32)
}

/// Volume fields for disc `seq` of `size`.
pub fn volume(seq: u16, size: u16) -> VolumeInfo {
    VolumeInfo {
        volume_id: "TEST_DISC".into(),
        volume_set_id: "odarchive test set".into(),
        publisher_id: "discfs tests".into(),
        application_id: "discfs".into(),
        set_size: size,
        sequence_number: seq,
        created: Timestamp::new(1_767_225_600, 0),
    }
}

/// A file that writes runs of zeros as holes, so multi-GiB test images cost little disk.
pub struct SparseFile {
    file: File,
    len: u64,
}

impl SparseFile {
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(SparseFile {
            file: File::create(path)?,
            len: 0,
        })
    }

    pub fn finish(self) -> io::Result<()> {
        self.file.set_len(self.len)?;
        self.file.sync_all()
    }
}

impl Write for SparseFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.iter().all(|&b| b == 0) {
            self.file.seek(SeekFrom::Current(buf.len() as i64))?;
        } else {
            self.file.write_all(buf)?;
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Lays out and writes the image of `tree` to `image` (sparse); returns the layout.
pub fn write_image(tree: &Tree, volume: &VolumeInfo, image: &Path) -> Layout {
    let layout = discfs::layout(tree, volume).unwrap();
    let mut out = SparseFile::create(image).unwrap();
    let written = discfs::write_image(tree, &layout, &mut out, &mut ()).unwrap();
    out.finish().unwrap();
    assert_eq!(written, layout.image_size());
    assert_eq!(
        fs::metadata(image).unwrap().len(),
        layout.image_size(),
        "layout size is exact"
    );
    layout
}

/// What the UDF view must hold: the source tree, with the names that UDF had to shorten
/// replaced by their short forms.
pub fn expected_udf(source: &Manifest, tree: &Tree, layout: &Layout) -> Manifest {
    let renamed = layout.udf_renamed();
    if renamed.is_empty() {
        return source.clone();
    }
    let mut out = Manifest::new();
    for (path, entry) in &source.entries {
        out.insert(udf_path(tree, layout, path), *entry);
    }
    out
}

fn udf_path(tree: &Tree, layout: &Layout, path: &[u8]) -> Vec<u8> {
    let path = std::str::from_utf8(path).unwrap();
    let mut at = NodeId::ROOT;
    let mut parts = Vec::new();
    for part in path.split('/') {
        at = tree.children(at).find(|&c| tree.name(c) == part).unwrap();
        parts.push(layout.udf_name(tree, at).to_owned());
    }
    parts.join("/").into_bytes()
}

/// What our own reader finds in the UDF view, as a manifest.
pub fn own_udf_manifest(image: &Path) -> Manifest {
    let mut vol = discfs::udf::read::UdfVolume::open(File::open(image).unwrap()).unwrap();
    let mut out = Manifest::new();
    for (path, entry) in vol.walk().unwrap() {
        let mtime = entry.mtime.map(|t| t.secs());
        if entry.is_dir {
            out.insert_dir(path.as_bytes(), mtime);
        } else {
            let mut hasher = HashingSink::default();
            let n = vol.copy_to(&entry, &mut hasher).unwrap();
            assert_eq!(n, entry.size);
            out.insert(
                path.as_bytes(),
                Entry {
                    kind: oracles::Kind::File,
                    size: n,
                    sha256: hasher.finish(),
                    mtime,
                },
            );
        }
    }
    out
}

/// A `Write` that hashes what it gets.
#[derive(Default)]
pub struct HashingSink(sha2::Sha256);

impl HashingSink {
    pub fn finish(self) -> [u8; 32] {
        use sha2::Digest;
        self.0.finalize().into()
    }
}

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use sha2::Digest;
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Makes a sparse file of `size` zero bytes but for a marker at its start and end.
pub fn sparse_file(path: &Path, size: u64) {
    let mut f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    if size > 0 {
        f.write_all(&[0xA5]).unwrap();
        f.seek(SeekFrom::Start(size - 1)).unwrap();
        f.write_all(&[0x5A]).unwrap();
    }
}

/// A scratch directory on the same disk as the target dir (not /tmp, which may be small).
pub fn scratch() -> tempfile::TempDir {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}
