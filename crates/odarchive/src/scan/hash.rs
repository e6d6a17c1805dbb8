//! Hash workers: read each file once with a reused buffer, hash it with the catalogue's
//! algorithm, and make sure it did not change meanwhile.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::{Content, Found, Record, Shared};
use crate::error::{FileProblem, FileProblemCause};
use crate::hash::{ContentHash, HashAlgorithm, hash_reader_with};
use crate::time::mtime_ns;

/// Read buffer per worker. Large enough that big files go in few system calls, small enough
/// that memory stays a few MiB whatever the number of workers.
const BUFFER_SIZE: usize = 1 << 20;

/// Opens files for reading. The scan uses [`StdOpener`]; tests use implementations that fail.
pub trait FileOpener: Send + Sync + fmt::Debug {
    /// Opens `path` for reading.
    fn open(&self, path: &Path) -> io::Result<File>;
}

/// Opens files with [`File::open`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StdOpener;

impl FileOpener for StdOpener {
    fn open(&self, path: &Path) -> io::Result<File> {
        File::open(path)
    }
}

/// A hash worker and what it works with.
pub(crate) struct Worker<'a> {
    /// The catalogue's hash algorithm.
    pub algorithm: HashAlgorithm,
    pub opener: &'a dyn FileOpener,
    /// A pause after opening each file (tests of interruption).
    pub delay: Option<Duration>,
    pub shared: &'a Shared,
    pub cancel: &'a AtomicBool,
}

impl Worker<'_> {
    /// Takes batches of files from `jobs` until it is closed, sends a batch of records for
    /// each.
    pub(crate) fn work(&self, jobs: &Receiver<Vec<Found>>, records: &Sender<Vec<Record>>) {
        let mut buffer = vec![0u8; BUFFER_SIZE];
        for batch in jobs {
            let mut done = Vec::with_capacity(batch.len());
            for found in batch {
                if self.cancel.load(Ordering::Relaxed) || self.shared.stop.load(Ordering::Relaxed) {
                    // Drain without work so the walker is not blocked; nothing more is
                    // recorded.
                    break;
                }
                done.push(self.record(found, &mut buffer));
            }
            if !done.is_empty() && records.send(done).is_err() {
                return;
            }
        }
    }

    fn record(&self, found: Found, buffer: &mut [u8]) -> Record {
        match hash_file(&found, self.algorithm, self.opener, buffer, self.delay) {
            Ok((hash, size)) => Record::New {
                found,
                content: Content::Hashed { hash, size },
                problem: None,
            },
            Err(cause) => {
                let problem = FileProblem {
                    path: found.abs.clone(),
                    cause,
                };
                Record::New {
                    found,
                    content: Content::None,
                    problem: Some(problem),
                }
            }
        }
    }
}

/// Reads and hashes one file. The walk's `lstat` is the "before" picture: after reading, an
/// `fstat` of the open file must show the same inode, size and mtime, and exactly `size` bytes
/// must have been read. Otherwise the file changed while being read (or was replaced after
/// being listed) and the hash would describe no version of it.
fn hash_file(
    found: &Found,
    algorithm: HashAlgorithm,
    opener: &dyn FileOpener,
    buffer: &mut [u8],
    delay: Option<Duration>,
) -> Result<(ContentHash, u64), FileProblemCause> {
    let mut file = opener.open(&found.abs).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => FileProblemCause::Vanished,
        _ => FileProblemCause::Open(e),
    })?;
    if let Some(delay) = delay {
        std::thread::sleep(delay);
    }
    let expected = found.stat.size;
    // Stop at the expected size: growth shows in fstat.
    let (hash, read) = hash_reader_with(algorithm, (&mut file).take(expected), buffer)
        .map_err(FileProblemCause::Read)?;
    let after = file.metadata().map_err(FileProblemCause::Read)?;
    let mut changes = Vec::new();
    if after.ino() != found.stat.inode {
        changes.push(format!(
            "replaced: inode {} -> {}",
            found.stat.inode,
            after.ino()
        ));
    }
    if after.size() != expected {
        changes.push(format!("size {} -> {}", expected, after.size()));
    } else if read != expected {
        changes.push(format!("read {read} of {expected} bytes"));
    }
    let mtime = mtime_ns(&after);
    if mtime != found.stat.mtime_ns {
        changes.push(format!("mtime {} -> {}", found.stat.mtime_ns, mtime));
    }
    if !changes.is_empty() {
        return Err(FileProblemCause::Changed {
            what: changes.join(", "),
        });
    }
    Ok((hash, read))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::EntryKind;
    use crate::scan::Stat;
    use sha2::Digest;

    /// Hashes `listed` as a scan worker does, with a small buffer.
    fn hash_listed(listed: &Found) -> Result<(ContentHash, u64), FileProblemCause> {
        let mut buffer = vec![0u8; 64];
        hash_file(listed, HashAlgorithm::Sha256, &StdOpener, &mut buffer, None)
    }

    fn found(path: &Path) -> Found {
        let meta = std::fs::symlink_metadata(path).unwrap();
        Found {
            rel: b"f".to_vec(),
            abs: path.to_path_buf(),
            stat: Stat::of(EntryKind::File, meta.size(), &meta),
            link_target: None,
            replaces: None,
        }
    }

    #[test]
    fn hashes_files_larger_than_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(3 * BUFFER_SIZE + 17))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let mut buffer = vec![0u8; BUFFER_SIZE];
        let sha256 = HashAlgorithm::Sha256;
        let (hash, size) = hash_file(&found(&path), sha256, &StdOpener, &mut buffer, None).unwrap();
        assert_eq!(size, data.len() as u64);
        let want: [u8; 32] = sha2::Sha256::digest(&data).into();
        assert_eq!(hash.as_bytes(), want);
        let sha512 = HashAlgorithm::Sha512;
        let (hash, _) = hash_file(&found(&path), sha512, &StdOpener, &mut buffer, None).unwrap();
        let want: [u8; 64] = sha2::Sha512::digest(&data).into();
        assert_eq!(hash.as_bytes(), want);
    }

    #[test]
    fn a_file_that_grew_since_listing_is_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        let listed = found(&path);
        std::fs::write(&path, b"hello, world").unwrap();
        let err = hash_listed(&listed).unwrap_err();
        assert!(
            matches!(&err, FileProblemCause::Changed { what } if what.contains("size 5 -> 12")),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_vanished_is_reported_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let listed = found(&path);
        std::fs::remove_file(&path).unwrap();
        let err = hash_listed(&listed).unwrap_err();
        assert!(matches!(err, FileProblemCause::Vanished), "{err}");
    }
}
