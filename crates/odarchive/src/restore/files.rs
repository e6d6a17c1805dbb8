//! The destination side of a restore: temporary names, hash checks before the final name,
//! assembly of split contents, other names, symlinks, modes and mtimes.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use filetime::FileTime;

use crate::catalogue::{Entry, Placement};
use crate::disc_source::{DiscError, DiscSource, Expected};
use crate::error::Error;
use crate::hash::{ContentHasher, HashAlgorithm, hash_file};

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
    /// This file only (reported, the restore goes on).
    Problem(String),
    /// The destination itself failed (full disk, no permission): the restore stops.
    Fatal(Error),
}

/// The destination folder of a restore.
pub(super) struct Destination {
    root: PathBuf,
    overwrite: bool,
    /// The catalogue's hash algorithm: what every restored file is checked with.
    hash: HashAlgorithm,
}

impl Destination {
    pub(super) fn new(
        root: &Path,
        overwrite: bool,
        hash: HashAlgorithm,
    ) -> Result<Destination, Error> {
        fs::create_dir_all(root).map_err(|source| Error::Io {
            path: root.to_owned(),
            source,
        })?;
        Ok(Destination {
            root: root.to_owned(),
            overwrite,
            hash,
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

    pub(super) fn dir(&self, rel: &[u8]) -> io::Result<()> {
        fs::create_dir_all(self.path(rel))
    }

    fn parent_of(&self, path: &Path) -> Result<(), Failure> {
        let parent = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).map_err(|source| {
            Failure::Fatal(Error::Io {
                path: parent.to_owned(),
                source,
            })
        })
    }

    pub(super) fn write_empty(&self, rel: &[u8], entry: &Entry) -> io::Result<()> {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        if path.exists() && !self.overwrite && fs::metadata(&path)?.len() != 0 {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and differs; not overwritten (use --overwrite)",
            ));
        }
        File::create(&path)?;
        set_attributes(&path, entry)
    }

    /// Whether `rel` already holds the entry's content (a previous run's work). A file that
    /// exists with other content is a problem unless overwriting.
    pub(super) fn already_restored(&self, rel: &[u8], entry: &Entry) -> Result<bool, String> {
        let path = self.path(rel);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            return Ok(false);
        };
        if meta.is_file() && meta.len() == entry.size {
            if let (Ok(hash), Some(want)) = (hash_file(self.hash, &path), entry.hash) {
                if hash == want {
                    return Ok(true);
                }
            }
        }
        if self.overwrite {
            Ok(false)
        } else {
            Err(format!(
                "{}: exists and differs; not overwritten (use --overwrite)",
                path.display()
            ))
        }
    }

    /// Restores one placement read from `source`.
    pub(super) fn restore_placement(
        &self,
        source: &mut DiscSource,
        entry: &Entry,
        p: &Placement,
    ) -> Result<Outcome, Failure> {
        let final_path = self.path(&entry.path);
        self.parent_of(&final_path)?;
        if p.parts <= 1 {
            let temp = temp_name(&final_path);
            let got = self.copy_checked(source, p, &temp, 0, true)?;
            set_attributes(&temp, entry).map_err(|e| self.fatal(&temp, e))?;
            fs::rename(&temp, &final_path).map_err(|e| self.fatal(&final_path, e))?;
            return Ok(Outcome::Complete(got));
        }
        let staging = self.root.join(STAGING);
        fs::create_dir_all(&staging).map_err(|e| self.fatal(&staging, e))?;
        let hex = p.content_hash.to_string();
        let data = staging.join(format!("{hex}.data"));
        self.copy_checked(source, p, &data, p.offset, false)?;
        let marker = staging.join(format!("{hex}.part{}", p.part));
        File::create(&marker).map_err(|e| self.fatal(&marker, e))?;
        let all = (1..=p.parts).all(|k| staging.join(format!("{hex}.part{k}")).exists());
        if !all {
            return Ok(Outcome::PartStored);
        }
        let whole = hash_file(self.hash, &data).map_err(|e| self.fatal(&data, e))?;
        let size = fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
        for k in 1..=p.parts {
            let _ = fs::remove_file(staging.join(format!("{hex}.part{k}")));
        }
        if whole != p.content_hash || size != p.content_size {
            let _ = fs::remove_file(&data);
            return Err(Failure::Problem(format!(
                "{}: its {} parts joined do not give the archived content; not restored",
                final_path.display(),
                p.parts
            )));
        }
        set_attributes(&data, entry).map_err(|e| self.fatal(&data, e))?;
        fs::rename(&data, &final_path).map_err(|e| self.fatal(&final_path, e))?;
        Ok(Outcome::Complete(size))
    }

    fn fatal(&self, path: &Path, source: io::Error) -> Failure {
        Failure::Fatal(Error::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// Copies a placement's bytes into `target` at `offset`, hashing them; removes `target`
    /// (when `fresh`) or leaves the other parts alone when the bytes are wrong.
    fn copy_checked(
        &self,
        source: &mut DiscSource,
        p: &Placement,
        target: &Path,
        offset: u64,
        fresh: bool,
    ) -> Result<u64, Failure> {
        let file = if fresh {
            File::create(target)
        } else {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(target)
        }
        .map_err(|e| self.fatal(target, e))?;
        let mut file = file;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| self.fatal(target, e))?;
        let mut sink = HashingFile {
            out: BufWriter::with_capacity(1 << 20, file),
            hasher: self.hash.hasher(),
            len: 0,
        };
        let expected = Some(Expected::of(p, self.hash));
        let result = source.copy_file(&p.disc_path, Some(&p.iso_path), expected, &mut sink);
        let flushed = sink.out.flush();
        let cleanup = || {
            if fresh {
                let _ = fs::remove_file(target);
            }
        };
        match result {
            Err(DiscError::Output { source: e, .. }) => {
                cleanup();
                return Err(self.fatal(target, e));
            }
            Err(e) => {
                cleanup();
                return Err(Failure::Problem(format!("{}: {e}", self.shown(p))));
            }
            Ok(_) => {}
        }
        if let Err(e) = flushed {
            cleanup();
            return Err(self.fatal(target, e));
        }
        if sink.len != p.length || sink.hasher.finish() != p.stored_hash() {
            cleanup();
            return Err(Failure::Problem(format!(
                "{}: corrupt on disc {} ({} bytes read, {} does not match); not restored",
                self.shown(p),
                p.disc,
                sink.len,
                self.hash.display_name()
            )));
        }
        Ok(sink.len)
    }

    fn shown(&self, p: &Placement) -> String {
        self.path(&p.entry_path).display().to_string()
    }

    /// Another name of a content already restored at `first` (a catalogue path): a copy
    /// (temporary name, then rename) or a hard link.
    pub(super) fn duplicate(
        &self,
        first: &[u8],
        entry: &Entry,
        hardlink: bool,
    ) -> Result<(), String> {
        let from = self.path(first);
        let to = self.path(&entry.path);
        match self.already_restored(&entry.path, entry) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(problem) => return Err(problem),
        }
        let fail = |e: io::Error| format!("{}: {e}", to.display());
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(fail)?;
        }
        let temp = temp_name(&to);
        if hardlink {
            let _ = fs::remove_file(&temp);
            fs::hard_link(&from, &temp).map_err(fail)?;
        } else {
            fs::copy(&from, &temp).map_err(fail)?;
            set_attributes(&temp, entry).map_err(fail)?;
        }
        fs::rename(&temp, &to).map_err(fail)
    }

    pub(super) fn symlink(&self, entry: &Entry) -> Result<(), String> {
        let path = self.path(&entry.path);
        let target = Path::new(OsStr::from_bytes(
            entry.link_target.as_deref().unwrap_or_default(),
        ));
        let fail = |e: io::Error| format!("{}: {e}", path.display());
        if let Ok(existing) = fs::read_link(&path) {
            if existing == target {
                return Ok(());
            }
            if !self.overwrite {
                return Err(format!(
                    "{}: exists and differs; not overwritten (use --overwrite)",
                    path.display()
                ));
            }
            fs::remove_file(&path).map_err(fail)?;
        } else if path.exists() && !self.overwrite {
            return Err(format!(
                "{}: exists and is not a symlink; not overwritten",
                path.display()
            ));
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(fail)?;
        }
        std::os::unix::fs::symlink(target, &path).map_err(fail)?;
        let t = mtime(entry);
        filetime::set_symlink_file_times(&path, t, t).map_err(fail)
    }

    pub(super) fn finish_dir(&self, entry: &Entry) -> io::Result<()> {
        let path = self.path(&entry.path);
        fs::create_dir_all(&path)?;
        set_attributes(&path, entry)
    }

    pub(super) fn clean_up_if_empty(&self) {
        let _ = fs::remove_dir(self.root.join(STAGING));
    }
}

/// `.name.odarchive-tmp` beside `path`.
fn temp_name(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".odarchive-tmp");
    path.with_file_name(name)
}

fn mtime(entry: &Entry) -> FileTime {
    FileTime::from_unix_time(
        entry.mtime_ns.div_euclid(1_000_000_000),
        entry.mtime_ns.rem_euclid(1_000_000_000) as u32,
    )
}

/// Permission bits, then mtime (in this order: the mode change does not touch the mtime).
fn set_attributes(path: &Path, entry: &Entry) -> io::Result<()> {
    if entry.mode != 0 {
        // Keep the owner able to write, so that a later run can still finish or overwrite.
        fs::set_permissions(path, fs::Permissions::from_mode(entry.mode | 0o200))?;
    }
    let t = mtime(entry);
    filetime::set_file_times(path, t, t)
}

/// A file being written that hashes what goes in.
struct HashingFile {
    out: BufWriter<File>,
    hasher: ContentHasher,
    len: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
