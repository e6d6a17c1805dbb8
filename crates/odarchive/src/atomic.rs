//! Files that appear whole or not at all.
//!
//! Everything odarchive leaves behind for a person to keep (a disc image, an exported
//! catalogue, a catalogue made from an imported one) is made under a temporary name beside its
//! final one and renamed into place when complete. The policy, in one place:
//!
//! - the temporary name is the final name with a suffix (`ODA_1.iso.partial`), in the same
//!   folder, so the rename is atomic and a person who finds a leftover knows what it was;
//! - before the rename the file's data is synced, and after it the folder, so that after a
//!   power cut the final name holds either the old file, or all of the new one;
//! - if the work fails, or the value is dropped before [`AtomicFile::commit`] (an error path,
//!   a panic), the temporary file is removed, with its companions (`-wal`, `-shm` of SQLite).
//!
//! [`TempPath`] is the name alone, for files another library writes (SQLite);
//! [`AtomicFile`] is that name opened for writing. [`DropBehind`] writes a large file that
//! nothing reads back soon (a disc image) without filling the page cache with it.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// A temporary name beside a final one, removed (with its companions) when dropped unless it
/// was [`persist`](TempPath::persist)ed.
#[derive(Debug)]
pub struct TempPath {
    temp: PathBuf,
    target: PathBuf,
    companions: &'static [&'static str],
    persisted: bool,
}

/// The SQLite side files of a catalogue file.
pub const SQLITE_COMPANIONS: &[&str] = &["-wal", "-shm", "-journal"];

impl TempPath {
    /// The name `target` + `suffix`, with files `temp` + each of `companions` that go with it.
    /// Nothing is created; a leftover of an earlier run under that name is not removed (see
    /// [`TempPath::clear`]).
    pub fn beside(
        target: impl Into<PathBuf>,
        suffix: &str,
        companions: &'static [&'static str],
    ) -> TempPath {
        let target = target.into();
        let temp = with_suffix(&target, suffix);
        TempPath {
            temp,
            target,
            companions,
            persisted: false,
        }
    }

    /// An explicit temporary name `temp` for `target` (in the same folder), without
    /// companions: for a name that must stay short whatever the final name's length (a
    /// restored file's, see `restore`), where a suffix could pass the 255-byte limit.
    pub fn named(temp: impl Into<PathBuf>, target: impl Into<PathBuf>) -> TempPath {
        TempPath {
            temp: temp.into(),
            target: target.into(),
            companions: &[],
            persisted: false,
        }
    }

    /// The temporary name.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// The final name.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Removes the temporary file and its companions, if there are any.
    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.temp);
        for suffix in self.companions {
            let _ = std::fs::remove_file(with_suffix(&self.temp, suffix));
        }
    }

    /// Renames the temporary file to the final name and syncs the folder. The companions are
    /// removed (a closed SQLite database has none left that matter).
    pub fn persist(mut self) -> io::Result<()> {
        std::fs::rename(&self.temp, &self.target)?;
        self.persisted = true;
        for suffix in self.companions {
            let _ = std::fs::remove_file(with_suffix(&self.temp, suffix));
        }
        sync_folder(&self.target);
        Ok(())
    }
}

impl TempPath {
    /// Renames the temporary file to the final name without syncing anything: for the many
    /// files of a restore, where a sync per file costs milliseconds each (hours for a million
    /// photos) and a later run's hash check finds any file a power cut left short.
    pub fn persist_unsynced(mut self) -> io::Result<()> {
        std::fs::rename(&self.temp, &self.target)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.persisted {
            self.clear();
        }
    }
}

/// A file written under a temporary name and renamed to its final one by
/// [`commit`](AtomicFile::commit); removed if dropped before.
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    path: TempPath,
}

impl AtomicFile {
    /// Creates (or truncates) `target` + `suffix` for writing.
    pub fn create(target: impl Into<PathBuf>, suffix: &str) -> io::Result<AtomicFile> {
        let path = TempPath::beside(target, suffix, &[]);
        let file = File::create(path.path())?;
        Ok(AtomicFile { file, path })
    }

    /// The temporary name.
    pub fn path(&self) -> &Path {
        self.path.path()
    }

    /// The final name.
    pub fn target(&self) -> &Path {
        self.path.target()
    }

    /// The open file, to write to.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Syncs the data, renames the file to its final name and syncs the folder.
    pub fn commit(self) -> io::Result<()> {
        self.file.sync_all()?;
        drop(self.file);
        self.path.persist()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Bytes written between two of [`DropBehind`]'s hints.
pub const DROP_STEP: u64 = 64 << 20;

/// A large file written once and not read back soon (a disc image `write` makes, hashed as it
/// is written): every `step` bytes written, the kernel is told that it may drop the file's
/// cached pages (`POSIX_FADV_DONTNEED`). That starts writing the dirty ones out without
/// waiting for them, and drops those already written, so the file's pages in memory stay
/// about two steps whatever its size: a 25 GB image does not push everything else out of the
/// page cache, and the sync at its end has little left to do. On a virtual machine that
/// gives freed memory back to its host, where a page touched for the first time costs a fault
/// in the host, it is also much faster (BENCHMARKS.md, issue 14). Not for a file read back
/// at once (a repaired image, hashed after it is written): that read would go to the disk.
/// The hint is only a hint: a file system that ignores it loses nothing, and what was
/// written is the same.
#[derive(Debug)]
pub struct DropBehind<F> {
    file: F,
    step: u64,
    since: u64,
}

impl<F: AsFd> DropBehind<F> {
    /// Writes to `file`, hinting every [`DROP_STEP`] bytes.
    pub fn new(file: F) -> DropBehind<F> {
        DropBehind::with_step(file, DROP_STEP)
    }

    /// Writes to `file`, hinting every `step` bytes.
    pub fn with_step(file: F, step: u64) -> DropBehind<F> {
        DropBehind {
            file,
            step: step.max(1),
            since: 0,
        }
    }

    /// The file written to.
    pub fn into_inner(self) -> F {
        self.file
    }

    fn wrote(&mut self, n: usize) {
        self.since += n as u64;
        if self.since >= self.step {
            self.since = 0;
            let _ = rustix::fs::fadvise(&self.file, 0, None, rustix::fs::Advice::DontNeed);
        }
    }
}

impl<F: Write + AsFd> Write for DropBehind<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.wrote(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl<F: Seek> Seek for DropBehind<F> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

/// `path` with `suffix` after its whole name: `a.iso` + `.partial` is `a.iso.partial`, the
/// temporary name of [`AtomicFile::create`]`(path, suffix)` (for an error before it exists).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Syncs the folder holding `path`, so that a rename in it is durable. Best effort: some file
/// systems cannot sync a folder, and the rename has happened either way.
/// Syncs the folder that holds `path` (after a rename into it), as far as it can.
pub fn sync_folder(path: &Path) {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(folder) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_file_appears_whole_under_its_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.iso");
        let mut file = AtomicFile::create(&target, ".partial").unwrap();
        assert_eq!(file.path(), dir.path().join("a.iso.partial"));
        file.write_all(b"image").unwrap();
        assert!(!target.exists(), "not there before the commit");
        file.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"image");
        assert!(!dir.path().join("a.iso.partial").exists());
    }

    #[test]
    fn a_file_dropped_before_its_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("c.json");
        std::fs::write(&target, b"old").unwrap();
        let mut file = AtomicFile::create(&target, ".partial").unwrap();
        file.write_all(b"half").unwrap();
        drop(file);
        assert_eq!(
            std::fs::read(&target).unwrap(),
            b"old",
            "the old file stays"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }

    #[test]
    fn a_named_temporary_path_is_removed_unless_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("photo.jpg");
        let temp = TempPath::named(dir.path().join(".oda-1.tmp"), &target);
        std::fs::write(temp.path(), b"half").unwrap();
        drop(temp);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let temp = TempPath::named(dir.path().join(".oda-1.tmp"), &target);
        std::fs::write(temp.path(), b"whole").unwrap();
        temp.persist_unsynced().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_temporary_path_takes_its_companions_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("cat.db");
        let temp = TempPath::beside(&target, ".importing", SQLITE_COMPANIONS);
        for name in [
            "cat.db.importing",
            "cat.db.importing-wal",
            "cat.db.importing-shm",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        drop(temp);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let temp = TempPath::beside(&target, ".importing", SQLITE_COMPANIONS);
        std::fs::write(temp.path(), b"db").unwrap();
        std::fs::write(dir.path().join("cat.db.importing-shm"), b"x").unwrap();
        temp.persist().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"db");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
