//! The destination side of a restore: temporary names, hash checks before the final name,
//! assembly of split contents, other names, symlinks; owners, modes and mtimes through
//! [`Attributes`].
//!
//! A file's bytes go to a short temporary name in its folder (`.oda-<16 hex>.tmp`, from a hash
//! of the final name, so it is never longer than a name the folder takes, and a run after a
//! crash reuses, and so replaces, the one a killed run left), written sparsely, and renamed
//! only when their hash matches. A problem with one file (a name the destination refuses, no
//! permission) is reported by path and the restore goes on; only a full destination stops it.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use super::attributes::{Attributes, open_for_reading};
use super::sparse::SparseFile;
use crate::catalogue::{Entry, Placement};
use crate::error::Error;
use crate::hash::{HashAlgorithm, HashingWriter, hash_reader};
use crate::problem::{Problem, ProblemKind};

/// Folder under the destination where split contents are assembled.
pub(crate) const STAGING: &str = ".odarchive-restore";

/// What restoring one placement achieved.
pub(super) enum Outcome {
    /// The content is in place under its final name; bytes written.
    Complete(u64),
    /// One part is stored; others are still to come.
    PartStored,
}

/// Why a placement could not be restored.
pub(super) enum Failure {
    /// The bytes read from this disc are wrong or unreadable: another copy of the disc may
    /// have them right.
    Disc(Problem),
    /// This file only cannot be written (reported, the restore goes on).
    Problem(Problem),
    /// The destination is full: the restore stops.
    Fatal(Error),
}

/// The failure for an I/O error on `path` at the destination: fatal when the destination is
/// full (nothing later would fit either), else this file's problem.
pub(super) fn failure(path: &Path, source: io::Error) -> Failure {
    if destination_full(&source) {
        Failure::Fatal(Error::Io {
            path: path.to_owned(),
            source,
        })
    } else {
        Failure::Problem(unwritable(path, &source))
    }
}

/// The problem an I/O error on `path` at the destination is.
pub(super) fn unwritable(path: &Path, e: &io::Error) -> Problem {
    Problem::new(path, ProblemKind::Unwritable, e.to_string())
}

/// A file that is in the way and is not overwritten.
fn in_the_way(path: &Path, what: &str) -> Problem {
    Problem::new(path, ProblemKind::Unwritable, what)
}

const DIFFERS: &str = "exists and differs; not overwritten (use --overwrite)";

/// No space, quota exhausted, or the file size limit reached.
fn destination_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge
    )
}

/// The destination folder of a restore.
#[derive(Debug)]
pub(super) struct Destination {
    root: PathBuf,
    overwrite: bool,
    /// The catalogue's hash algorithm: what every restored file is checked with.
    hash: HashAlgorithm,
    attributes: Attributes,
    /// Folders known to exist (made by this restore): not made again for every file in them.
    /// (Behind a lock: the writer thread of a disc's files makes them too.)
    made: Mutex<HashSet<PathBuf>>,
}

impl Destination {
    pub(super) fn new(
        root: &Path,
        overwrite: bool,
        hash: HashAlgorithm,
        restore_owners: bool,
    ) -> Destination {
        Destination {
            root: root.to_owned(),
            overwrite,
            hash,
            attributes: Attributes::new(restore_owners),
            made: Mutex::default(),
        }
    }

    /// Makes the destination folder (a plan only looks at it).
    pub(super) fn create(&self) -> Result<(), Error> {
        fs::create_dir_all(&self.root).map_err(|source| Error::Io {
            path: self.root.clone(),
            source,
        })
    }

    /// The destination path of a catalogue path. Components that could climb out of the
    /// destination (`..`, absolute paths) are dropped: a hostile catalogue cannot write
    /// elsewhere.
    pub(super) fn path(&self, rel: &[u8]) -> PathBuf {
        let mut out = self.root.clone();
        for c in Path::new(OsStr::from_bytes(rel)).components() {
            if let Component::Normal(name) = c {
                out.push(name);
            }
        }
        out
    }

    /// Makes the directory `rel`, and lets its owner write and enter it until its own mode is
    /// set at the end (a read-only folder left by an earlier run can be filled again).
    pub(super) fn dir(&self, rel: &[u8]) -> io::Result<()> {
        let path = self.path(rel);
        fs::create_dir_all(&path)?;
        let mode = fs::metadata(&path)?.mode() & 0o7777;
        if mode & 0o700 != 0o700 {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode | 0o700))?;
        }
        self.made().insert(path);
        Ok(())
    }

    /// Makes the folder `path` is in, unless this restore has made it already.
    pub(super) fn parent_of(&self, path: &Path) -> Result<(), Failure> {
        let parent = path.parent().unwrap_or(&self.root);
        if self.made().contains(parent) {
            return Ok(());
        }
        fs::create_dir_all(parent).map_err(|e| failure(parent, e))?;
        self.made().insert(parent.to_owned());
        Ok(())
    }

    fn made(&self) -> std::sync::MutexGuard<'_, HashSet<PathBuf>> {
        // A panic elsewhere cannot leave the set half-changed: use it as it is.
        self.made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn write_empty(&self, rel: &[u8], entry: &Entry) -> Result<(), Failure> {
        let path = self.path(rel);
        self.parent_of(&path)?;
        if let Ok(meta) = fs::symlink_metadata(&path) {
            if meta.is_file() && meta.len() == 0 {
                return self
                    .attributes
                    .apply(&path, entry)
                    .map_err(|e| failure(&path, e));
            }
            if !self.overwrite {
                return Err(Failure::Problem(in_the_way(&path, DIFFERS)));
            }
        }
        let temp = temp_name(&path);
        let made = File::create(&temp)
            .and_then(|_| self.attributes.apply(&temp, entry))
            .and_then(|()| fs::rename(&temp, &path));
        made.map_err(|e| {
            let _ = fs::remove_file(&temp);
            failure(&path, e)
        })
    }

    /// Whether `rel` already holds the entry's content (a previous run's work). A file that
    /// exists with other content is a problem unless overwriting.
    pub(super) fn already_restored(&self, rel: &[u8], entry: &Entry) -> Result<bool, Problem> {
        let path = self.path(rel);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            return Ok(false);
        };
        if meta.is_file() && meta.len() == entry.size {
            let hash = open_for_reading(&path).and_then(|f| hash_reader(self.hash, f));
            if let (Ok((hash, _)), Some(want)) = (hash, entry.hash) {
                if hash == want {
                    return Ok(true);
                }
            }
        }
        if self.overwrite {
            Ok(false)
        } else {
            Err(in_the_way(&path, DIFFERS))
        }
    }

    /// The catalogue's hash algorithm, what every restored file is checked with.
    pub(super) fn hash(&self) -> HashAlgorithm {
        self.hash
    }

    /// How owners, modes and mtimes are set.
    pub(super) fn attributes(&self) -> &Attributes {
        &self.attributes
    }

    /// Notes that part `p` of a split content is in its staging file `data`; when all parts
    /// are there and together give the content, moves it to `final_path`.
    pub(super) fn part_stored(
        &self,
        entry: &Entry,
        p: &Placement,
        data: &Path,
        final_path: &Path,
    ) -> Result<Outcome, Failure> {
        let staging = self.root.join(STAGING);
        let hex = p.content_hash.to_string();
        let marker = staging.join(format!("{hex}.part{}", p.part));
        File::create(&marker).map_err(|e| failure(&marker, e))?;
        let all = (1..=p.parts).all(|k| staging.join(format!("{hex}.part{k}")).exists());
        if !all {
            return Ok(Outcome::PartStored);
        }
        let whole = File::open(data).and_then(|f| hash_reader(self.hash, f));
        let (whole, size) = whole.map_err(|e| failure(data, e))?;
        for k in 1..=p.parts {
            let _ = fs::remove_file(staging.join(format!("{hex}.part{k}")));
        }
        if whole != p.content_hash || size != p.content_size {
            let _ = fs::remove_file(data);
            return Err(Failure::Problem(Problem::new(
                final_path,
                ProblemKind::Corrupt,
                format!(
                    "its {} parts joined do not give the archived content; not restored",
                    p.parts
                ),
            )));
        }
        let placed = self
            .attributes
            .apply(data, entry)
            .and_then(|()| fs::rename(data, final_path));
        placed.map_err(|e| failure(final_path, e))?;
        Ok(Outcome::Complete(size))
    }

    /// Another name of a content already restored at `first` (a catalogue path): a copy
    /// (temporary name, checked against the content's hash, then renamed) or a hard link.
    pub(super) fn duplicate(
        &self,
        first: &[u8],
        entry: &Entry,
        hardlink: bool,
    ) -> Result<(), Problem> {
        let from = self.path(first);
        let to = self.path(&entry.path);
        if self.already_restored(&entry.path, entry)? {
            return Ok(());
        }
        let fail = |e: io::Error| unwritable(&to, &e);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(fail)?;
        }
        let temp = temp_name(&to);
        let _ = fs::remove_file(&temp);
        let made = if hardlink {
            fs::hard_link(&from, &temp)
        } else {
            self.copy_local(&from, &temp, entry)
                .and_then(|()| self.attributes.apply(&temp, entry))
        };
        made.and_then(|()| fs::rename(&temp, &to)).map_err(|e| {
            let _ = fs::remove_file(&temp);
            fail(e)
        })
    }

    /// Copies the restored file `from` to `to`, sparsely, checking the bytes against the
    /// entry's hash on the way.
    fn copy_local(&self, from: &Path, to: &Path, entry: &Entry) -> io::Result<()> {
        let mut reader = open_for_reading(from)?;
        let sparse = SparseFile::created(File::create(to)?, entry.size);
        let mut sink = HashingWriter::new(sparse, self.hash);
        io::copy(&mut reader, &mut sink)?;
        let (hash, sparse) = sink.finish();
        sparse.finish()?;
        if Some(hash) != entry.hash {
            return Err(io::Error::other(format!(
                "the copy from {} does not match the archived content",
                from.display()
            )));
        }
        Ok(())
    }

    pub(super) fn symlink(&self, entry: &Entry) -> Result<(), Problem> {
        let path = self.path(&entry.path);
        let target = Path::new(OsStr::from_bytes(
            entry.link_target.as_deref().unwrap_or_default(),
        ));
        let fail = |e: io::Error| unwritable(&path, &e);
        if let Ok(existing) = fs::read_link(&path) {
            if existing == target {
                return self.attributes.apply_to_symlink(&path, entry).map_err(fail);
            }
            if !self.overwrite {
                return Err(in_the_way(&path, DIFFERS));
            }
            fs::remove_file(&path).map_err(fail)?;
        } else if fs::symlink_metadata(&path).is_ok() && !self.overwrite {
            return Err(in_the_way(
                &path,
                "exists and is not a symlink; not overwritten",
            ));
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(fail)?;
        }
        std::os::unix::fs::symlink(target, &path).map_err(fail)?;
        self.attributes.apply_to_symlink(&path, entry).map_err(fail)
    }

    /// A directory's owner, exact mode and mtime, once everything below it is in place.
    pub(super) fn finish_dir(&self, entry: &Entry) -> io::Result<()> {
        let path = self.path(&entry.path);
        fs::create_dir_all(&path)?;
        self.attributes.apply(&path, entry)
    }

    pub(super) fn clean_up_if_empty(&self) {
        let _ = fs::remove_dir(self.root.join(STAGING));
    }
}

/// The temporary name beside `path`: `.oda-<16 hex>.tmp`, 25 bytes whatever the final name's
/// length, the same for the same final name (a later run replaces what a killed one left).
pub(super) fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().as_bytes();
    let digest = HashAlgorithm::Sha256.digest(name);
    path.with_file_name(format!(".oda-{}.tmp", crate::hex(&digest.as_bytes()[..8])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_short_fixed_and_stable() {
        let long = "\u{65e5}".repeat(85);
        assert_eq!(long.len(), 255);
        let a = temp_name(&Path::new("/d").join(&long));
        let name = a.file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), 25, "{name}");
        assert!(
            name.starts_with(".oda-") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_eq!(a.parent(), Some(Path::new("/d")));
        assert_eq!(a, temp_name(&Path::new("/d").join(&long)));
        assert_ne!(a, temp_name(Path::new("/d/other")));
    }
}
