//! The walker: lists the drive depth-first in byte order of names, decides for each entry
//! whether it must be read, and feeds the hash workers and the writer.
//!
//! Memory: the pending directories (relative paths) and one directory's listing at a time; no
//! collection grows with the number of files in the tree.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, DirEntry, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::outbox::Outbox;
use super::writer::Replaced;
use super::{Content, Found, Record, Shared, Stat};
use crate::catalogue::{Catalogue, EntryKind, RecordedVersion};
use crate::error::{Error, FileProblem, FileProblemCause, Result};
use crate::progress::{Event, Progress};

/// Builds the matcher for `--exclude` patterns.
pub(crate) fn exclude_set(patterns: &[String]) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|source| Error::ExcludePattern {
            pattern: pattern.clone(),
            source,
        })?;
        builder.add(glob);
    }
    builder.build().map_err(|source| Error::ExcludePattern {
        pattern: patterns.join(" "),
        source,
    })
}

/// The previous version of a path, as far as deciding about re-reading goes.
type Previous = RecordedVersion;

impl Previous {
    /// Same object, same version: kind, size, mtime, inode, mode and link target are equal,
    /// and a file has a content (one recorded without, after a problem, is read again). The
    /// device number is not compared: removable drives get a new one at each mount.
    fn is_current(&self, found: &Found) -> bool {
        self.kind == found.stat.kind
            && self.size == found.stat.size
            && self.mtime_ns == found.stat.mtime_ns
            && self.inode == found.stat.inode
            && self.mode == found.stat.mode
            && self.link_target == found.link_target
            && (found.stat.kind != EntryKind::File || self.content_id.is_some())
    }

    /// Same owner and group. A change is a new version of the entry, like a mode change,
    /// but its content is known: the file is not read again.
    fn same_owner(&self, found: &Found) -> bool {
        self.owner == Some((found.stat.uid, found.stat.gid))
    }
}

/// The walking half of a scan; runs on its own thread with its own read-only connection.
#[derive(Debug)]
pub(crate) struct Walker {
    root: PathBuf,
    reader: Catalogue,
    snapshot: i64,
    excludes: GlobSet,
    /// Device and inode of the catalogue file, and the absolute paths of the catalogue and its
    /// SQLite side files: never catalogued.
    catalogue_id: (u64, u64),
    catalogue_files: Vec<PathBuf>,
    /// The catalogue has no entries at all: no previous versions to look up.
    first_scan: bool,
    /// Each snapshot's start (ns): the clock a recorded hash is judged by (`reuse.rs`).
    scan_clocks: HashMap<i64, i64>,
}

impl Walker {
    pub(crate) fn new(
        root: &Path,
        catalogue: &Catalogue,
        snapshot: i64,
        excludes: GlobSet,
    ) -> Result<Walker> {
        let reader = catalogue.reader()?;
        let own = catalogue.path();
        let file_error = |source| Error::CatalogueFile {
            path: own.to_path_buf(),
            source,
        };
        let canonical = own.canonicalize().map_err(file_error)?;
        let meta = fs::metadata(&canonical).map_err(file_error)?;
        let catalogue_files = ["", "-wal", "-shm", "-journal"]
            .iter()
            .map(|suffix| {
                let mut name = canonical.as_os_str().to_os_string();
                name.push(suffix);
                PathBuf::from(name)
            })
            .collect();
        let first_scan = reader.has_no_entries()?;
        let scan_clocks = reader
            .snapshots()?
            .iter()
            .map(|s| (s.id, s.started_ns))
            .collect();
        Ok(Walker {
            root: root.to_path_buf(),
            reader,
            snapshot,
            excludes,
            catalogue_id: (meta.dev(), meta.ino()),
            catalogue_files,
            first_scan,
            scan_clocks,
        })
    }

    /// Walks the whole tree, sending files to hash and everything else to the writer through
    /// `outbox`. Returns early, without error, when the scan is stopped or the writer has gone
    /// away (the writer reports its own error).
    pub(crate) fn run(
        &self,
        outbox: &mut Outbox<'_>,
        shared: &Shared,
        cancel: &AtomicBool,
        progress: &dyn Progress,
    ) -> Result<()> {
        let mut pending: Vec<Vec<u8>> = vec![Vec::new()];
        while let Some(dir) = pending.pop() {
            if cancel.load(Ordering::Relaxed) || shared.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let dir_abs = self.absolute(&dir);
            let children = match list(&dir_abs) {
                Ok(children) => children,
                Err(e) => {
                    let cause = FileProblemCause::ListDirectory(e);
                    let problem = FileProblem {
                        path: dir_abs,
                        cause,
                    };
                    if !outbox.record(Record::Problem { rel: dir, problem }) {
                        return Ok(());
                    }
                    continue;
                }
            };
            let mut subdirs = Vec::new();
            for child in children {
                let rel = join(&dir, child.file_name().as_bytes());
                if self.excludes.is_match(Path::new(OsStr::from_bytes(&rel))) {
                    continue;
                }
                let sent = match self.inspect(child, rel, shared, progress) {
                    Inspected::Found(found) => {
                        if found.stat.kind == EntryKind::Directory {
                            subdirs.push(found.rel.clone());
                        }
                        self.dispatch(found, outbox)?
                    }
                    Inspected::Problem { rel, problem } => {
                        outbox.record(Record::Problem { rel, problem })
                    }
                    Inspected::Nothing => true,
                };
                if !sent {
                    return Ok(());
                }
            }
            pending.extend(subdirs.into_iter().rev());
        }
        outbox.flush();
        Ok(())
    }

    /// Reads an entry's metadata. Special files, the catalogue itself and entries that vanished
    /// are not catalogued; entries that cannot be read are problems.
    fn inspect(
        &self,
        child: DirEntry,
        rel: Vec<u8>,
        shared: &Shared,
        progress: &dyn Progress,
    ) -> Inspected {
        let abs = child.path();
        let meta: Metadata = match child.metadata() {
            Ok(meta) => meta,
            // Gone between listing and stat: it is simply not part of this snapshot.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Inspected::Nothing,
            Err(e) => return Inspected::problem(rel, abs, FileProblemCause::Stat(e)),
        };
        let file_type = meta.file_type();
        let kind = if file_type.is_file() {
            EntryKind::File
        } else if file_type.is_dir() {
            EntryKind::Directory
        } else if file_type.is_symlink() {
            EntryKind::Symlink
        } else {
            shared.skipped.fetch_add(1, Ordering::Relaxed);
            progress.event(&Event::Skipped {
                path: abs,
                kind: special_kind(&meta),
            });
            return Inspected::Nothing;
        };
        if kind == EntryKind::File && self.is_catalogue(&abs, &meta) {
            return Inspected::Nothing;
        }
        let link_target = if kind == EntryKind::Symlink {
            match fs::read_link(&abs) {
                Ok(target) => Some(target.into_os_string().into_encoded_bytes()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Inspected::Nothing,
                Err(e) => return Inspected::problem(rel, abs, FileProblemCause::Stat(e)),
            }
        } else {
            None
        };
        let size = if kind == EntryKind::Directory {
            0
        } else {
            meta.size()
        };
        if kind == EntryKind::File {
            shared.files_found.fetch_add(1, Ordering::Relaxed);
            shared.bytes_found.fetch_add(size, Ordering::Relaxed);
        }
        Inspected::Found(Found {
            rel,
            abs,
            stat: Stat::of(kind, size, &meta),
            link_target,
            replaces: None,
        })
    }

    /// Decides what happens to `found` and queues it. Returns `false` when the pipeline has
    /// shut down.
    fn dispatch(&self, mut found: Found, outbox: &mut Outbox<'_>) -> Result<bool> {
        let previous = if self.first_scan {
            None
        } else {
            self.previous(&found.rel)?
        };
        let kind = found.stat.kind;
        let size = found.stat.size;
        let record = match previous {
            Some(p) if p.last_snapshot == self.snapshot => {
                if p.is_current(&found) && p.same_owner(&found) {
                    Record::AlreadyRecorded { kind, size }
                } else {
                    // Recorded by an interrupted run, but changed or failed since: redo it.
                    found.replaces = Some(Replaced {
                        id: p.id,
                        first_snapshot: p.first_snapshot,
                    });
                    return Ok(send_new(found, outbox));
                }
            }
            Some(p) if p.is_current(&found) && self.hash_is_settled(&p, &found) => {
                if p.last_snapshot == self.snapshot - 1 && p.same_owner(&found) {
                    Record::Unchanged {
                        entry_id: p.id,
                        kind,
                        size,
                    }
                } else {
                    // Same version, but absent from the snapshots in between, or with another
                    // owner: a new row that reuses the content.
                    let content = p.content_id.map_or(Content::None, Content::Known);
                    Record::New {
                        found,
                        content,
                        problem: None,
                    }
                }
            }
            _ => return Ok(send_new(found, outbox)),
        };
        Ok(outbox.record(record))
    }

    /// The newest recorded version of `rel` up to the snapshot being scanned (a resumed scan
    /// ignores later snapshots of other drives).
    fn previous(&self, rel: &[u8]) -> Result<Option<Previous>> {
        self.reader.recorded_version(rel, self.snapshot)
    }

    /// Whether `p`'s hash may be reused for `found`: not a file rewritten within the timestamp
    /// tick of the scan that hashed it. The entry was recorded, and its content hashed or
    /// found settled, by its first snapshot's scan.
    fn hash_is_settled(&self, p: &Previous, found: &Found) -> bool {
        let clock = self.scan_clocks.get(&p.first_snapshot).copied();
        super::reuse::hash_is_settled(found.stat.kind, p.mtime_ns, clock)
    }

    fn is_catalogue(&self, abs: &Path, meta: &Metadata) -> bool {
        (meta.dev(), meta.ino()) == self.catalogue_id
            || self.catalogue_files.iter().any(|f| f == abs)
    }

    fn absolute(&self, rel: &[u8]) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(OsStr::from_bytes(rel))
        }
    }
}

/// A new or changed entry: files go to the hash workers, the rest straight to the writer.
fn send_new(found: Found, outbox: &mut Outbox<'_>) -> bool {
    if found.stat.kind == EntryKind::File {
        outbox.hash(found)
    } else {
        outbox.record(Record::New {
            found,
            content: Content::None,
            problem: None,
        })
    }
}

/// What the walk makes of one directory entry.
enum Inspected {
    Found(Found),
    Problem { rel: Vec<u8>, problem: FileProblem },
    Nothing,
}

impl Inspected {
    fn problem(rel: Vec<u8>, path: PathBuf, cause: FileProblemCause) -> Inspected {
        Inspected::Problem {
            rel,
            problem: FileProblem { path, cause },
        }
    }
}

/// One directory's entries, sorted by name bytes (deterministic order on every file system).
fn list(dir: &Path) -> std::io::Result<Vec<DirEntry>> {
    let mut children = fs::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    children.sort_by_cached_key(|c| c.file_name());
    Ok(children)
}

/// `dir/name` in the catalogue's relative form.
fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut rel = Vec::with_capacity(dir.len() + 1 + name.len());
    if !dir.is_empty() {
        rel.extend_from_slice(dir);
        rel.push(b'/');
    }
    rel.extend_from_slice(name);
    rel
}

fn special_kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_builds_relative_paths() {
        assert_eq!(join(b"", b"a"), b"a");
        assert_eq!(join(b"a/b", b"\xff"), b"a/b/\xff");
    }

    #[test]
    fn excludes_match_relative_paths_at_any_depth() {
        let set = exclude_set(&["*.tmp".into(), "cache".into()]).unwrap();
        assert!(set.is_match("x/y/z.tmp"));
        assert!(set.is_match("cache"));
        assert!(!set.is_match("x/cache"));
        assert!(exclude_set(&["a[".into()]).is_err());
    }
}
