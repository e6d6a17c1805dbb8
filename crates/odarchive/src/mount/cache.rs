//! `--cache DIR`: files read once are kept, so that a disc (a jukebox's, a slow drive's) is
//! not asked for them twice, within a mount or in a later one.
//!
//! - An entry is a file named by its content's hash (lower-case hex: 64 digits for SHA-256,
//!   128 for SHA-512), holding exactly that content: duplicates share it, and a folder may
//!   serve several catalogues.
//! - It is written by the check of the content ([`super::verified`]: the first read of any
//!   byte of a content the cache can hold reads the whole content from its discs, in order)
//!   under a temporary name (`HASH.PID.N.partial`: no two writers, in one mount or two, share
//!   one), and renamed to its hash's name only once the whole content has been read and its
//!   hash is the catalogue's (synced first): a crash leaves a `.partial`, never a short or
//!   wrong entry. A mount opening the folder removes the `.partial` files of processes no
//!   longer running.
//! - An entry is checked before it serves anything: its size and its whole hash each time a
//!   mount takes it up (then the mount serves the file from the entry it checked, held open,
//!   until it drops it). A damaged entry is removed, logged, and the file read from
//!   its disc: never wrong bytes.
//! - The folder holds at most the bound's bytes of entries (`--cache-size`): the least
//!   recently used go first. An entry's mtime is when it was last used (opened), so the order
//!   lasts across mounts. A file larger than the bound is not kept.
//! - The folder is the index: nothing is kept in memory per entry, only a count of the
//!   bytes held, made by listing the folder
//!   when a mount opens it and again whenever the count passes the bound (which also takes
//!   in what another mount sharing the folder added or removed).
//! - A folder that cannot be made, listed or written (read-only, full) costs the cache, not
//!   the reads: each failure is a logged problem and the file is checked and kept by the
//!   mount alone.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::atomic::AtomicFile;
use crate::hash::{ContentHash, HashAlgorithm};
use crate::problem::{Problem, ProblemKind};

/// A cache folder.
#[derive(Debug)]
pub(super) struct Cache {
    dir: PathBuf,
    bound: u64,
    /// The bytes its entries hold, as last counted and added to since.
    used: u64,
    /// Numbers the temporary names of this process's fills.
    fills: u64,
}

/// A cache entry being written while its file is read in order; kept by [`Cache::keep`]
/// once the whole file's hash is right, removed if dropped before.
#[derive(Debug)]
pub(super) struct Fill {
    file: AtomicFile,
    name: String,
    written: u64,
}

impl Fill {
    /// Appends the next bytes of the file.
    pub(super) fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Where it is written, for messages.
    pub(super) fn path(&self) -> &Path {
        self.file.path()
    }
}

/// An entry found for a content, opened; its whole hash is to be checked ([`Cache::verdict`])
/// before it serves (then [`Cache::verdict`] with what the hash was).
#[derive(Debug)]
pub(super) struct Found {
    pub(super) file: File,
    name: String,
}

/// Whether `name` is an entry's: the lower-case hex of a SHA-256 or SHA-512 hash.
fn is_entry_name(name: &str) -> bool {
    (name.len() == 64 || name.len() == 128)
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The process that writes temporary file `name` (`HASH.PID.N.partial`), if it says.
fn partial_writer(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(".partial")?;
    let mut parts = stem.split('.');
    let (_hash, pid, _n) = (parts.next()?, parts.next()?, parts.next()?);
    pid.parse().ok()
}

/// Whether process `pid` is running (on Linux: `/proc/PID` exists).
fn running(pid: u32) -> bool {
    pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
}

/// An entry of the folder as listed: last use, name, size.
type Listed = (SystemTime, String, u64);

impl Cache {
    /// The cache in `dir` (made if it is not there), holding at most `bound` bytes: the
    /// temporary files of writers no longer running are removed, and the least recently
    /// used entries past the bound.
    pub(super) fn open(dir: &Path, bound: u64) -> io::Result<Cache> {
        std::fs::create_dir_all(dir)?;
        let mut cache = Cache {
            dir: dir.to_owned(),
            bound,
            used: 0,
            fills: 0,
        };
        let listed = cache.list(true)?;
        cache.evict(listed);
        Ok(cache)
    }

    /// The folder's entries, oldest use first (and its count of bytes made again from
    /// them); `tidy`: leftover temporary files are removed on the way.
    fn list(&mut self, tidy: bool) -> io::Result<Vec<Listed>> {
        let mut found = Vec::new();
        for item in std::fs::read_dir(&self.dir)? {
            let item = item?;
            let name = item.file_name().to_string_lossy().into_owned();
            if tidy
                && partial_writer(&name).is_none_or(|pid| !running(pid))
                && name.ends_with(".partial")
            {
                let _ = std::fs::remove_file(item.path());
                continue;
            }
            if !is_entry_name(&name) {
                continue;
            }
            // An entry removed meanwhile (by another mount) is not counted.
            let Ok(meta) = item.metadata() else { continue };
            if meta.is_file() {
                let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((mtime, name, meta.len()));
            }
        }
        found.sort();
        self.used = found.iter().map(|(_, _, size)| size).sum();
        Ok(found)
    }

    /// The folder.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The most bytes it holds.
    pub(super) fn bound(&self) -> u64 {
        self.bound
    }

    /// The entry of content `hash`, opened (after [`Cache::keep`]).
    pub(super) fn open_entry(&self, hash: &ContentHash) -> io::Result<File> {
        File::open(self.path_of(&crate::hex(hash.as_bytes())))
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Removes entry `name` (its file too).
    fn remove(&mut self, name: &str, size: u64) {
        if std::fs::remove_file(self.path_of(name)).is_ok() {
            self.used = self.used.saturating_sub(size);
        }
    }

    /// Removes the least recently used of `listed` (oldest first) until the rest fit the
    /// bound.
    fn evict(&mut self, listed: Vec<Listed>) {
        for (_, name, size) in listed {
            if self.used <= self.bound {
                break;
            }
            self.remove(&name, size);
        }
    }

    /// The entry holding content `hash` of `size` bytes, opened, if the cache has one of the
    /// right size; a damaged one is removed and reported in `problems`. Its whole hash is
    /// still to be checked ([`Cache::verdict`]).
    pub(super) fn find(
        &mut self,
        hash: &ContentHash,
        size: u64,
        problems: &mut Vec<Problem>,
    ) -> Option<Found> {
        let name = crate::hex(hash.as_bytes());
        let path = self.path_of(&name);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                problems.push(Problem::new(&path, ProblemKind::of_io(&e), e.to_string()));
                return None;
            }
        };
        let on_disk = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        if on_disk != size {
            problems.push(Problem::new(
                &path,
                ProblemKind::Corrupt,
                format!(
                    "the cache entry holds {on_disk} bytes, the file {size}; read from its disc"
                ),
            ));
            self.remove(&name, on_disk);
            return None;
        }
        Some(Found { file, name })
    }

    /// Takes what the check of `found`'s whole hash gave (`hashed`, against `want`): the
    /// entry, to serve from, if right; else it is removed and reported in `problems`.
    pub(super) fn verdict(
        &mut self,
        found: Found,
        hashed: io::Result<ContentHash>,
        want: &ContentHash,
        problems: &mut Vec<Problem>,
    ) -> Option<File> {
        let path = self.path_of(&found.name);
        let size = found.file.metadata().map_or(0, |m| m.len());
        match hashed {
            Ok(h) if h == *want => Some(found.file),
            Ok(_) => {
                problems.push(Problem::new(
                    &path,
                    ProblemKind::Corrupt,
                    "the cache entry does not match its hash; read from its disc",
                ));
                self.remove(&found.name, size);
                None
            }
            Err(e) => {
                problems.push(Problem::new(&path, ProblemKind::Unreadable, e.to_string()));
                self.remove(&found.name, size);
                None
            }
        }
    }

    /// Marks `found` as just used (its mtime: the order of eviction).
    pub(super) fn used(&self, found: &File) {
        let _ = found.set_modified(SystemTime::now());
    }

    /// A new entry for content `hash` of `size` bytes, to write as the file is read; `None`
    /// if the file is empty or larger than the bound.
    pub(super) fn fill(&mut self, hash: &ContentHash, size: u64) -> io::Result<Option<Fill>> {
        let name = crate::hex(hash.as_bytes());
        if size == 0 || size > self.bound {
            return Ok(None);
        }
        self.fills += 1;
        let suffix = format!(".{}.{}.partial", std::process::id(), self.fills);
        let file = AtomicFile::create(self.path_of(&name), &suffix)?;
        Ok(Some(Fill {
            file,
            name,
            written: 0,
        }))
    }

    /// Keeps the entry `fill` wrote (the caller has checked its whole hash), evicting the
    /// least recently used past the bound.
    pub(super) fn keep(&mut self, fill: Fill) -> io::Result<()> {
        let (name, size) = (fill.name.clone(), fill.written);
        let path = self.path_of(&name);
        // Another fill of the same content kept first: that one is counted already.
        let was = std::fs::metadata(&path).map_or(0, |m| m.len());
        fill.file.commit()?;
        // Its last use, to the clock's precision (a write's mtime may be coarser).
        if let Ok(f) = File::open(&path) {
            let _ = f.set_modified(SystemTime::now());
        }
        self.used = self.used - was.min(self.used) + size;
        if self.used > self.bound {
            // Counted again from the folder, which another mount may share.
            let listed = self.list(false)?;
            self.evict(listed);
        }
        Ok(())
    }

    /// Forgets entry `hash` (its bytes were found wrong when read whole).
    pub(super) fn discard(&mut self, hash: &ContentHash) {
        let name = crate::hex(hash.as_bytes());
        let size = std::fs::metadata(self.path_of(&name)).map_or(0, |m| m.len());
        self.remove(&name, size);
    }
}

/// The hash of the whole of `file`.
pub(super) fn hash_of(mut file: &File, algorithm: HashAlgorithm) -> io::Result<ContentHash> {
    let mut hasher = algorithm.hasher();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(cache: &mut Cache, bytes: &[u8]) -> ContentHash {
        let hash = HashAlgorithm::Sha256.digest(bytes);
        let mut f = cache.fill(&hash, bytes.len() as u64).unwrap().unwrap();
        f.write(bytes).unwrap();
        cache.keep(f).unwrap();
        hash
    }

    /// The entry of `hash` as a read takes it: found, its hash checked.
    fn get(
        cache: &mut Cache,
        hash: &ContentHash,
        size: u64,
        problems: &mut Vec<Problem>,
    ) -> Option<File> {
        let found = cache.find(hash, size, problems)?;
        let hashed = hash_of(&found.file, HashAlgorithm::Sha256);
        let file = cache.verdict(found, hashed, hash, problems)?;
        cache.used(&file);
        Some(file)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn the_least_recently_used_entries_go_past_the_bound_and_the_order_lasts_across_mounts() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path(), 250).unwrap();
        let alg = HashAlgorithm::Sha256;
        let (a, b) = (fill(&mut cache, &[1; 100]), fill(&mut cache, &[2; 100]));
        assert!(
            get(&mut cache, &a, 100, &mut Vec::new()).is_some(),
            "a used"
        );
        let c = fill(&mut cache, &[3; 100]);
        let hex = |h: &ContentHash| crate::hex(h.as_bytes());
        let mut want = vec![hex(&a), hex(&c)];
        want.sort();
        assert_eq!(names(dir.path()), want, "b, least recently used, went");
        assert!(get(&mut cache, &b, 100, &mut Vec::new()).is_none());
        // Too large for the bound: not kept.
        assert!(cache.fill(&alg.digest(&[4; 300]), 300).unwrap().is_none());
        drop(cache);
        // A later mount with a smaller bound keeps the most recently used (c).
        std::fs::write(dir.path().join("x.1.partial"), b"left by a crash").unwrap();
        let mut cache = Cache::open(dir.path(), 150).unwrap();
        assert_eq!(names(dir.path()), vec![hex(&c)]);
        assert!(get(&mut cache, &c, 100, &mut Vec::new()).is_some());
    }

    #[test]
    fn a_damaged_entry_is_removed_and_reported_never_served() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path(), 1000).unwrap();
        let alg = HashAlgorithm::Sha256;
        let (a, b) = (fill(&mut cache, &[1; 100]), fill(&mut cache, &[2; 100]));
        drop(cache);
        let path = |h: &ContentHash| dir.path().join(crate::hex(h.as_bytes()));
        let mut bytes = vec![1u8; 100];
        bytes[50] = 0;
        std::fs::write(path(&a), &bytes).unwrap(); // same size, wrong bytes
        std::fs::write(path(&b), [2u8; 99]).unwrap(); // short
        let mut cache = Cache::open(dir.path(), 1000).unwrap();
        for h in [a, b] {
            let mut problems = Vec::new();
            assert!(get(&mut cache, &h, 100, &mut problems).is_none());
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].kind, ProblemKind::Corrupt);
            assert!(!path(&h).exists(), "removed");
        }
        // A fill dropped before it is kept leaves nothing.
        let h = alg.digest(&[5; 10]);
        let mut f = cache.fill(&h, 10).unwrap().unwrap();
        f.write(&[5; 10]).unwrap();
        drop(f);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn temporary_files_of_running_writers_stay_and_the_count_takes_in_another_mounts_entries() {
        let dir = tempfile::tempdir().unwrap();
        let hash = crate::hex(HashAlgorithm::Sha256.digest(b"x").as_bytes());
        let ours = format!("{hash}.{}.1.partial", std::process::id());
        // No process has a pid this large (Linux's pid_max is at most 2^22).
        let dead = format!("{hash}.999999999.1.partial");
        for n in [&ours, &dead] {
            std::fs::write(dir.path().join(n), b"half").unwrap();
        }
        let mut one = Cache::open(dir.path(), 250).unwrap();
        assert_eq!(
            names(dir.path()),
            vec![ours.clone()],
            "a running writer's stays"
        );
        std::fs::remove_file(dir.path().join(&ours)).unwrap();
        // Two mounts on one folder: the second's count, made when it opens, holds the first's
        // entries, and it evicts the least recently used of them.
        let a = fill(&mut one, &[1; 100]);
        let b = fill(&mut one, &[2; 100]);
        let mut two = Cache::open(dir.path(), 250).unwrap();
        let c = fill(&mut two, &[3; 100]);
        let hex = |h: &ContentHash| crate::hex(h.as_bytes());
        let mut want = vec![hex(&b), hex(&c)];
        want.sort();
        assert_eq!(names(dir.path()), want, "a, used first, went");
        assert!(get(&mut one, &a, 100, &mut Vec::new()).is_none());
        assert!(get(&mut one, &b, 100, &mut Vec::new()).is_some());
    }
}
