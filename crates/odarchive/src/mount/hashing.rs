//! The hash of a file read whole through the mount (and its cache entry, written from the
//! same bytes), fed in file order. For a large file it is computed on a thread of its own,
//! so that the reads are answered while the previous bytes are hashed (on another core):
//! hashing costs about as much as the rest of a read from an image in the page cache. The
//! read that ends the file still waits for the hash ([`FileHash::finish`]), so a mismatch
//! fails it as before.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::cache::Fill;
use crate::hash::{ContentHash, ContentHasher};
use crate::problem::{Problem, ProblemKind};

/// Files from this size on are hashed on a thread of their own (below, a thread costs more
/// than it saves).
const THREAD_FROM: u64 = 4 << 20;

/// Pieces handed to the hashing thread and not hashed yet, at most: a bound on the memory
/// (a few MiB) when the hash falls behind the reads, which then wait for it.
const QUEUED: usize = 16;

/// What the hash of a file read whole gives: the hash, its cache entry (if one was written
/// and could be), and why the entry could not be written.
pub(super) struct Hashed {
    pub(super) hash: ContentHash,
    pub(super) fill: Option<Fill>,
    pub(super) fill_failed: Option<Problem>,
}

/// The hash and cache entry being made, of the bytes handed in so far.
#[derive(Debug)]
pub(super) enum FileHash {
    /// Computed as the bytes come.
    Inline(Box<Hashing>),
    /// Computed on a thread, the bytes sent to it.
    Thread {
        to: SyncSender<(Arc<Vec<u8>>, usize)>,
        done: JoinHandle<Hashed>,
    },
}

/// The state that takes bytes in.
#[derive(Debug)]
pub(super) struct Hashing {
    hasher: ContentHasher,
    fill: Option<Fill>,
    fill_failed: Option<Problem>,
}

impl Hashing {
    fn take_in(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        if let Some(fill) = self.fill.as_mut() {
            if let Err(e) = fill.write(bytes) {
                self.fill_failed = Some(Problem::new(
                    fill.path(),
                    ProblemKind::Unwritable,
                    format!("writing the cache entry: {e}"),
                ));
                self.fill = None;
            }
        }
    }

    fn finish(self) -> Hashed {
        Hashed {
            hash: self.hasher.finish(),
            fill: self.fill,
            fill_failed: self.fill_failed,
        }
    }
}

fn hash_thread(mut hashing: Hashing, from: Receiver<(Arc<Vec<u8>>, usize)>) -> Hashed {
    while let Ok((bytes, start)) = from.recv() {
        hashing.take_in(&bytes[start..]);
    }
    hashing.finish()
}

impl FileHash {
    /// The hash of a file of `size` bytes, with `hasher`, writing `fill` from the same bytes.
    pub(super) fn new(hasher: ContentHasher, fill: Option<Fill>, size: u64) -> FileHash {
        let hashing = Hashing {
            hasher,
            fill,
            fill_failed: None,
        };
        if size < THREAD_FROM {
            return FileHash::Inline(Box::new(hashing));
        }
        let algorithm = hashing.hasher.algorithm();
        let (to, from) = sync_channel(QUEUED);
        let spawned = std::thread::Builder::new()
            .name("odarchive-hash".into())
            .spawn(move || hash_thread(hashing, from));
        match spawned {
            Ok(done) => FileHash::Thread { to, done },
            // No thread to be had: hashed inline, as a small file is (nothing was taken in
            // yet, so a new hasher is the same; the cache entry went with the thread's state).
            Err(_) => FileHash::Inline(Box::new(Hashing {
                hasher: algorithm.hasher(),
                fill: None,
                fill_failed: None,
            })),
        }
    }

    /// The next bytes of the file, in order: `bytes[start..]` (shared with the reply to
    /// the read, not copied, when a thread hashes them).
    pub(super) fn take_in(&mut self, bytes: &Arc<Vec<u8>>, start: usize) {
        match self {
            FileHash::Inline(hashing) => hashing.take_in(&bytes[start..]),
            FileHash::Thread { to, .. } => {
                // A thread that ended early (it cannot, but if) gives no hash: see finish.
                let _ = to.send((Arc::clone(bytes), start));
            }
        }
    }

    /// The hash of every byte taken in; `None` if the hashing thread failed.
    pub(super) fn finish(self) -> Option<Hashed> {
        match self {
            FileHash::Inline(hashing) => Some(hashing.finish()),
            FileHash::Thread { to, done } => {
                drop(to);
                done.join().ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::HashAlgorithm;

    #[test]
    fn a_large_file_hashed_on_its_thread_has_the_hash_of_its_bytes() {
        let bytes: Vec<u8> = (0..THREAD_FROM + 12345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let alg = HashAlgorithm::Sha256;
        for size in [100, bytes.len() as u64] {
            let whole = &bytes[..size as usize];
            let mut hash = FileHash::new(alg.hasher(), None, size);
            assert_eq!(
                matches!(hash, FileHash::Thread { .. }),
                size >= THREAD_FROM,
                "{size}"
            );
            for piece in whole.chunks(100_000) {
                hash.take_in(&Arc::new([&[0u8; 3][..], piece].concat()), 3);
            }
            assert_eq!(hash.finish().unwrap().hash, alg.digest(whole), "{size}");
        }
    }
}
