//! `--cache DIR`: files read whole once are kept, so that a disc (a jukebox's, a slow drive's)
//! is not asked for them twice, within a mount or in a later one.
//!
//! - An entry is a file named by its content's hash (lower-case hex: 64 digits for SHA-256,
//!   128 for SHA-512), holding exactly that content: duplicates share it, and a folder may
//!   serve several catalogues.
//! - It is written while the file is read from its disc, in file order, under a temporary
//!   name (`HASH.N.partial`), and renamed to its hash's name only once the whole file has been
//!   read and its hash is the catalogue's (synced first): a crash leaves a `.partial`, never
//!   a short or wrong entry. Leftover `.partial` files are removed when a mount opens the
//!   folder.
//! - An entry is checked before it serves anything: its size every time it is opened, its
//!   whole hash the first time it is used in a mount (the read of a whole file is checked
//!   against the hash again, as from a disc). A damaged entry is removed, logged, and the file
//!   read from its disc: never wrong bytes.
//! - The folder holds at most the bound's bytes of entries (`--cache-size`): the least
//!   recently used go first. An entry's mtime is when it was last used, so the order lasts
//!   across mounts. A file larger than the bound is not kept.
//!
//! One mount at a time should use a cache folder (two would each keep their own count).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::atomic::AtomicFile;
use crate::hash::{ContentHash, HashAlgorithm};
use crate::problem::{Problem, ProblemKind};

/// A cache folder and what it holds.
#[derive(Debug)]
pub(super) struct Cache {
    dir: PathBuf,
    bound: u64,
    used: u64,
    /// Each entry's size and last use, by name.
    entries: HashMap<String, Kept>,
    /// Names by last use, oldest first.
    by_use: BTreeMap<u64, String>,
    clock: u64,
    /// Entries whose whole hash was checked in this mount.
    checked: HashSet<String>,
    /// Numbers the temporary names of fills, so two fills of one content never share one.
    fills: u64,
}

#[derive(Debug, Clone, Copy)]
struct Kept {
    size: u64,
    used: u64,
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

/// Whether `name` is an entry's: the lower-case hex of a SHA-256 or SHA-512 hash.
fn is_entry_name(name: &str) -> bool {
    (name.len() == 64 || name.len() == 128)
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Cache {
    /// The cache in `dir` (made if it is not there), holding at most `bound` bytes: leftover
    /// temporary files are removed, and the least recently used entries past the bound.
    pub(super) fn open(dir: &Path, bound: u64) -> io::Result<Cache> {
        std::fs::create_dir_all(dir)?;
        let mut found = Vec::new();
        for item in std::fs::read_dir(dir)? {
            let item = item?;
            let name = item.file_name().to_string_lossy().into_owned();
            if name.ends_with(".partial") {
                let _ = std::fs::remove_file(item.path());
                continue;
            }
            let meta = item.metadata()?;
            if is_entry_name(&name) && meta.is_file() {
                let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((mtime, name, meta.len()));
            }
        }
        found.sort();
        let mut cache = Cache {
            dir: dir.to_owned(),
            bound,
            used: 0,
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
            clock: 0,
            checked: HashSet::new(),
            fills: 0,
        };
        for (_, name, size) in found {
            cache.insert(name, size);
        }
        cache.evict();
        Ok(cache)
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Records entry `name` as the most recently used.
    fn insert(&mut self, name: String, size: u64) {
        self.clock += 1;
        if let Some(old) = self.entries.insert(
            name.clone(),
            Kept {
                size,
                used: self.clock,
            },
        ) {
            self.by_use.remove(&old.used);
            self.used -= old.size;
        }
        self.by_use.insert(self.clock, name);
        self.used += size;
    }

    /// Removes entry `name` (its file too).
    fn remove(&mut self, name: &str) {
        if let Some(kept) = self.entries.remove(name) {
            self.by_use.remove(&kept.used);
            self.used -= kept.size;
        }
        self.checked.remove(name);
        let _ = std::fs::remove_file(self.path_of(name));
    }

    /// Removes the least recently used entries until the rest fit the bound.
    fn evict(&mut self) {
        while self.used > self.bound {
            let Some((_, name)) = self.by_use.pop_first() else {
                break;
            };
            self.remove(&name);
        }
    }

    /// The entry holding content `hash` of `size` bytes, opened, if the cache has it and it
    /// is right (its size; its whole hash the first time in this mount). A damaged entry is
    /// removed and reported in `problems`.
    pub(super) fn get(
        &mut self,
        hash: &ContentHash,
        size: u64,
        algorithm: HashAlgorithm,
        problems: &mut Vec<Problem>,
    ) -> Option<File> {
        let name = crate::hex(hash.as_bytes());
        self.entries.get(&name)?;
        let path = self.path_of(&name);
        let damaged = |why: String| Problem::new(&path, ProblemKind::Corrupt, why);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                problems.push(Problem::new(&path, ProblemKind::of_io(&e), e.to_string()));
                self.remove(&name);
                return None;
            }
        };
        let on_disk = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        if on_disk != size {
            problems.push(damaged(format!(
                "the cache entry holds {on_disk} bytes, the file {size}; read from its disc"
            )));
            self.remove(&name);
            return None;
        }
        if !self.checked.contains(&name) {
            match hash_of(&file, algorithm) {
                Ok(h) if h == *hash => {
                    self.checked.insert(name.clone());
                }
                Ok(_) => {
                    problems.push(damaged(
                        "the cache entry does not match its hash; read from its disc".into(),
                    ));
                    self.remove(&name);
                    return None;
                }
                Err(e) => {
                    problems.push(Problem::new(&path, ProblemKind::Unreadable, e.to_string()));
                    self.remove(&name);
                    return None;
                }
            }
        }
        self.insert(name, size);
        let _ = file.set_modified(SystemTime::now());
        Some(file)
    }

    /// A new entry for content `hash` of `size` bytes, to write as the file is read; `None`
    /// if the cache has it, or the file is empty or larger than the bound.
    pub(super) fn fill(&mut self, hash: &ContentHash, size: u64) -> io::Result<Option<Fill>> {
        let name = crate::hex(hash.as_bytes());
        if size == 0 || size > self.bound || self.entries.contains_key(&name) {
            return Ok(None);
        }
        self.fills += 1;
        let file = AtomicFile::create(self.path_of(&name), &format!(".{}.partial", self.fills))?;
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
        fill.file.commit()?;
        // Its last use, to the clock's precision (a write's mtime may be coarser).
        if let Ok(f) = File::open(self.path_of(&name)) {
            let _ = f.set_modified(SystemTime::now());
        }
        self.insert(name.clone(), size);
        self.checked.insert(name);
        self.evict();
        Ok(())
    }

    /// Forgets entry `hash` (its bytes were found wrong when read whole).
    pub(super) fn discard(&mut self, hash: &ContentHash) {
        self.remove(&crate::hex(hash.as_bytes()));
    }
}

/// The hash of the whole of `file`.
fn hash_of(mut file: &File, algorithm: HashAlgorithm) -> io::Result<ContentHash> {
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
        assert!(cache.get(&a, 100, alg, &mut Vec::new()).is_some(), "a used");
        let c = fill(&mut cache, &[3; 100]);
        let hex = |h: &ContentHash| crate::hex(h.as_bytes());
        let mut want = vec![hex(&a), hex(&c)];
        want.sort();
        assert_eq!(names(dir.path()), want, "b, least recently used, went");
        assert!(cache.get(&b, 100, alg, &mut Vec::new()).is_none());
        // Too large for the bound: not kept.
        assert!(cache.fill(&alg.digest(&[4; 300]), 300).unwrap().is_none());
        drop(cache);
        // A later mount with a smaller bound keeps the most recently used (c).
        std::fs::write(dir.path().join("x.1.partial"), b"left by a crash").unwrap();
        let mut cache = Cache::open(dir.path(), 150).unwrap();
        assert_eq!(names(dir.path()), vec![hex(&c)]);
        assert!(cache.get(&c, 100, alg, &mut Vec::new()).is_some());
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
            assert!(cache.get(&h, 100, alg, &mut problems).is_none());
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
}
