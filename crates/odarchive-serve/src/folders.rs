//! The folders the server may write to or read discs from: only those given on the command
//! line (`--restore-to DIR`, `--images DIR`), and folders below them.
//!
//! A folder asked for in a request is resolved before it is used: a relative one is taken
//! under the first folder given; `..` is refused outright; the deepest part of it that exists
//! is canonicalised (symlinks followed), and the rest, which does not exist yet and so holds
//! no symlink, is appended. The result must lie under one of the canonicalised folders given.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::wire::ApiError;

/// Folders given on the command line, canonicalised.
#[derive(Debug, Clone)]
pub struct Folders {
    roots: Vec<PathBuf>,
    option: &'static str,
}

impl Folders {
    /// The folders `dirs` (which must exist) given with `option` (for messages).
    pub fn new(dirs: &[PathBuf], option: &'static str) -> std::io::Result<Folders> {
        let roots = dirs
            .iter()
            .map(|d| {
                let canonical = d.canonicalize().map_err(|e| {
                    std::io::Error::new(e.kind(), format!("{option} {}: {e}", d.display()))
                })?;
                if !canonical.is_dir() {
                    return Err(std::io::Error::other(format!(
                        "{option} {}: not a folder",
                        d.display()
                    )));
                }
                Ok(canonical)
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Folders { roots, option })
    }

    /// The folders, canonicalised.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The folders as a page or an answer shows them.
    pub fn shown(&self) -> Vec<String> {
        self.roots.iter().map(|r| r.display().to_string()).collect()
    }

    /// The folder `requested` (raw bytes; relative to the first folder, or absolute),
    /// resolved, if it lies under one of the folders; else 403 (or 400 for what is no path).
    pub fn resolve(&self, requested: &[u8]) -> Result<PathBuf, ApiError> {
        let Some(first) = self.roots.first() else {
            return Err(ApiError::forbidden(format!(
                "`odarchive serve` was started without {}: no folder may be used for this",
                self.option
            )));
        };
        if requested.contains(&0) {
            return Err(ApiError::bad_request("the folder's name holds a NUL byte"));
        }
        let asked = Path::new(OsStr::from_bytes(requested));
        let shown = asked.display();
        if asked.components().any(|c| c == Component::ParentDir) {
            return Err(ApiError::forbidden(format!(
                "folder {shown}: `..` is not taken; name a folder under {}",
                self.listed()
            )));
        }
        let joined = if asked.is_absolute() {
            asked.to_path_buf()
        } else {
            first.join(asked)
        };
        let (existing, rest) = deepest_existing(&joined);
        let canonical = existing.canonicalize().map_err(|e| {
            ApiError::forbidden(format!(
                "folder {shown}: cannot resolve {}: {e}",
                existing.display()
            ))
        })?;
        let resolved = canonical.join(rest);
        if self.roots.iter().any(|r| resolved.starts_with(r)) {
            Ok(resolved)
        } else {
            Err(ApiError::forbidden(format!(
                "folder {shown} is {}, which is not under {}",
                resolved.display(),
                self.listed()
            )))
        }
    }

    fn listed(&self) -> String {
        let names: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
        format!("the {} folders ({})", self.option, names.join(", "))
    }
}

/// The longest ancestor of `path` that exists (as itself, a symlink included), and the part
/// of `path` after it.
fn deepest_existing(path: &Path) -> (&Path, PathBuf) {
    for ancestor in path.ancestors() {
        if ancestor.as_os_str().is_empty() || ancestor.symlink_metadata().is_ok() {
            let rest = path
                .strip_prefix(ancestor)
                .unwrap_or(Path::new(""))
                .to_path_buf();
            return (ancestor, rest);
        }
    }
    (Path::new("/"), path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_folders_below_the_roots_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("restore");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
        let folders = Folders::new(std::slice::from_ref(&root), "--restore-to").unwrap();
        let root = root.canonicalize().unwrap();

        assert_eq!(folders.resolve(b"sub/new").unwrap(), root.join("sub/new"));
        assert_eq!(folders.resolve(b"").unwrap(), root);
        assert_eq!(
            folders
                .resolve(root.join("x").as_os_str().as_bytes())
                .unwrap(),
            root.join("x")
        );
        for bad in [
            &b"../outside"[..],
            b"sub/../../outside",
            b"escape",
            b"escape/new/deeper",
            b"/etc",
            b"/",
            b"a\0b",
        ] {
            let e = folders.resolve(bad).unwrap_err();
            assert!(e.status.is_client_error(), "{bad:?}: {e:?}");
        }
        let none = Folders::new(&[], "--restore-to").unwrap();
        assert_eq!(none.resolve(b"x").unwrap_err().status, 403);
    }
}
