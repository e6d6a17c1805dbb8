//! Scratch directories for extractions, next to the image and removable even when a reader
//! extracted read-only directories.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A temporary directory that is made writable and removed when dropped.
///
/// osirrox and udfclient give extracted directories the image's read-only modes, so a plain
/// `remove_dir_all` fails for a non-root user; this restores owner write permission first.
#[derive(Debug)]
pub struct ScratchDir {
    dir: Option<tempfile::TempDir>,
}

impl ScratchDir {
    /// A new empty directory inside `parent` (keep it on the image's disk: extractions of
    /// multi-GiB files are large).
    pub fn new_in(parent: &Path, prefix: &str) -> io::Result<Self> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(parent)?;
        Ok(ScratchDir { dir: Some(dir) })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("present until drop").path()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = make_writable(dir.path());
            let _ = dir.close();
        }
    }
}

/// Gives the owner write and search permission on every directory under `root` (inclusive),
/// so the tree can be deleted. Symlinks are not followed.
pub fn make_writable(root: &Path) -> io::Result<()> {
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let meta = fs::symlink_metadata(&dir)?;
        if !meta.is_dir() {
            continue;
        }
        let mode = meta.permissions().mode();
        if mode & 0o700 != 0o700 {
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode | 0o700))?;
        }
        for child in fs::read_dir(&dir)? {
            let child = child?;
            if child.file_type()?.is_dir() {
                stack.push(child.path());
            }
        }
    }
    Ok(())
}

/// The directory to put scratch directories in for `image`: the image's own directory.
pub fn default_parent(image: &Path) -> PathBuf {
    match image.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_read_only_trees() {
        let base = tempfile::tempdir().unwrap();
        let kept;
        {
            let scratch = ScratchDir::new_in(base.path(), "t").unwrap();
            kept = scratch.path().to_path_buf();
            let inner = scratch.path().join("a/b");
            fs::create_dir_all(&inner).unwrap();
            fs::write(inner.join("f"), b"x").unwrap();
            fs::set_permissions(&inner, fs::Permissions::from_mode(0o555)).unwrap();
            fs::set_permissions(scratch.path().join("a"), fs::Permissions::from_mode(0o555))
                .unwrap();
        }
        assert!(!kept.exists());
    }

    #[test]
    fn default_parent_of_a_bare_name_is_the_current_dir() {
        assert_eq!(default_parent(Path::new("x.iso")), PathBuf::from("."));
        assert_eq!(default_parent(Path::new("/a/x.iso")), PathBuf::from("/a"));
    }
}
