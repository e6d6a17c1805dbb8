//! What a view of a disc holds: every path with its kind, size, content hash and mtime.
//!
//! Paths are raw bytes, relative, `/`-separated, without the root directory itself. A
//! manifest is built from a directory on disk ([`Manifest::of_dir`], e.g. the tree an image
//! was made from, or what a reader extracted), from a reader's listing, or by hand
//! ([`Manifest::insert_file`] and friends) when a test builds its tree in memory.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A directory. Its size is 0 and its hash that of no bytes.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link. Its size and hash are those of its target path's bytes. Images keep
    /// no symlinks in UDF, so callers usually [`without_symlinks`](Manifest::without_symlinks).
    Symlink,
    /// A device, socket or FIFO: nothing an image holds.
    Other,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Dir => "directory",
            Kind::File => "file",
            Kind::Symlink => "symlink",
            Kind::Other => "special file",
        })
    }
}

/// One path's kind, size, content and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// What it is.
    pub kind: Kind,
    /// Bytes of content (0 for directories).
    pub size: u64,
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
    /// Modification time in whole seconds since the Unix epoch, when the view has one.
    pub mtime: Option<i64>,
}

impl Entry {
    /// A directory.
    pub fn dir(mtime: Option<i64>) -> Self {
        Entry {
            kind: Kind::Dir,
            size: 0,
            sha256: sha256(b""),
            mtime,
        }
    }

    /// A regular file holding `content`.
    pub fn file(content: &[u8], mtime: Option<i64>) -> Self {
        Entry {
            kind: Kind::File,
            size: content.len() as u64,
            sha256: sha256(content),
            mtime,
        }
    }

    /// A regular file of `size` zero bytes (the content of a sparse test source), hashed
    /// without allocating it.
    pub fn zero_file(size: u64, mtime: Option<i64>) -> Self {
        let mut hasher = Sha256::new();
        let block = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            hasher.update(&block[..n]);
            left -= n as u64;
        }
        Entry {
            kind: Kind::File,
            size,
            sha256: hasher.finalize().into(),
            mtime,
        }
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Lower-case hex of a hash, for messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A path for messages: UTF-8 as it is, other bytes as `\xNN`, control characters escaped.
pub fn show_path(path: &[u8]) -> String {
    let mut out = String::new();
    for chunk in path.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// Every path of a view, in byte order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Relative `/`-separated raw-byte path → entry.
    pub entries: BTreeMap<Vec<u8>, Entry>,
}

impl Manifest {
    /// An empty manifest (the view of an empty volume).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces `path`.
    pub fn insert(&mut self, path: impl AsRef<[u8]>, entry: Entry) -> &mut Self {
        self.entries.insert(path.as_ref().to_vec(), entry);
        self
    }

    /// Adds a directory.
    pub fn insert_dir(&mut self, path: impl AsRef<[u8]>, mtime: Option<i64>) -> &mut Self {
        self.insert(path, Entry::dir(mtime))
    }

    /// Adds a regular file holding `content`.
    pub fn insert_file(
        &mut self,
        path: impl AsRef<[u8]>,
        content: &[u8],
        mtime: Option<i64>,
    ) -> &mut Self {
        self.insert(path, Entry::file(content, mtime))
    }

    /// The entry at `path`.
    pub fn get(&self, path: impl AsRef<[u8]>) -> Option<&Entry> {
        self.entries.get(path.as_ref())
    }

    /// Number of entries of `kind`.
    pub fn count(&self, kind: Kind) -> usize {
        self.entries.values().filter(|e| e.kind == kind).count()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The same manifest with symlinks and special files left out (what a UDF view holds).
    pub fn without_symlinks(&self) -> Manifest {
        self.filtered(|_, e| matches!(e.kind, Kind::Dir | Kind::File))
    }

    /// The same manifest with every mtime removed.
    pub fn without_mtimes(&self) -> Manifest {
        let mut out = self.clone();
        out.entries.values_mut().for_each(|e| e.mtime = None);
        out
    }

    /// The same entries under the paths `rename(path)` gives (e.g. ASCII lower case).
    pub fn renamed(&self, mut rename: impl FnMut(&[u8]) -> Vec<u8>) -> Manifest {
        let entries = self.entries.iter().map(|(p, e)| (rename(p), *e)).collect();
        Manifest { entries }
    }

    /// The entries for which `keep(path, entry)` holds.
    pub fn filtered(&self, mut keep: impl FnMut(&[u8], &Entry) -> bool) -> Manifest {
        let entries = self
            .entries
            .iter()
            .filter(|(p, e)| keep(p, e))
            .map(|(p, e)| (p.clone(), *e))
            .collect();
        Manifest { entries }
    }

    /// Walks `root` (not following symlinks) and hashes every regular file.
    pub fn of_dir(root: impl AsRef<Path>) -> io::Result<Manifest> {
        let root = root.as_ref();
        let mut manifest = Manifest::new();
        let mut stack = vec![Vec::new()];
        while let Some(dir) = stack.pop() {
            let full = if dir.is_empty() {
                root.to_path_buf()
            } else {
                root.join(std::ffi::OsStr::from_bytes(&dir))
            };
            for child in fs::read_dir(&full)? {
                let child = child?;
                let mut path = dir.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(child.file_name().as_bytes());
                let meta = fs::symlink_metadata(child.path())?;
                let mtime = Some(meta.mtime());
                let entry = if meta.is_dir() {
                    stack.push(path.clone());
                    Entry::dir(mtime)
                } else if meta.is_file() {
                    let (size, sha256) = hash_file(&child.path())?;
                    Entry {
                        kind: Kind::File,
                        size,
                        sha256,
                        mtime,
                    }
                } else if meta.file_type().is_symlink() {
                    let target = fs::read_link(child.path())?;
                    let target = target.as_os_str().as_bytes();
                    Entry {
                        kind: Kind::Symlink,
                        size: target.len() as u64,
                        sha256: sha256(target),
                        mtime,
                    }
                } else {
                    Entry {
                        kind: Kind::Other,
                        size: 0,
                        sha256: sha256(b""),
                        mtime,
                    }
                };
                manifest.entries.insert(path, entry);
            }
        }
        Ok(manifest)
    }
}

/// Size and SHA-256 of a file, read in large chunks.
pub fn hash_file(path: &Path) -> io::Result<(u64, [u8; 32])> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hasher.finalize().into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_a_tree_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::write(dir.path().join("a/b/f"), b"abc").unwrap();
        std::os::unix::fs::symlink("b", dir.path().join("a/link")).unwrap();
        let m = Manifest::of_dir(dir.path()).unwrap();
        let paths: Vec<_> = m.entries.keys().map(|p| show_path(p)).collect();
        assert_eq!(paths, ["a", "a/b", "a/b/f", "a/link"]);
        assert_eq!(m.get("a/b/f").unwrap().sha256, sha256(b"abc"));
        assert_eq!(m.get("a/b/f").unwrap().size, 3);
        assert_eq!(m.get("a/link").unwrap().kind, Kind::Symlink);
        assert_eq!(m.get("a/link").unwrap().sha256, sha256(b"b"));
        assert_eq!(m.without_symlinks().len(), 3);
    }

    #[test]
    fn zero_file_hash_matches_hashing_zeros() {
        let e = Entry::zero_file(3_000_000, None);
        assert_eq!(e.sha256, sha256(&vec![0u8; 3_000_000]));
        assert_eq!(e.size, 3_000_000);
    }

    #[test]
    fn shows_non_utf8_and_control_bytes() {
        assert_eq!(show_path(b"caf\xc3\xa9/x\xff\n"), "café/x\\xFF\\n");
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }
}
