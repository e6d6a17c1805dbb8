//! Test-only helpers shared by the workspace's tests (a dev-dependency of each crate) and by
//! the fuzz samples: reproducible pseudo-random bytes and numbers (xorshift64), so that a
//! test's files are the same on every run and a part read from a wrong offset differs.
//!
//! Not for anything that ships: it is not a cryptographic or even a good generator, only a
//! small reproducible one.

use std::path::{Path, PathBuf};

/// The odd constant seeds are multiplied by, so that nearby seeds give unrelated streams.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

/// Reproducible pseudo-random numbers (xorshift64). `Rng(state)` starts from that state as
/// it is (it must not be 0); [`Rng::seeded`] spreads a small seed first.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// A generator whose stream depends on every bit of `seed` (0 included).
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(SPREAD) | 1)
    }

    /// The next number.
    #[allow(clippy::should_implement_trait)] // not an iterator: it never ends
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// `len` bytes, the low byte of each number.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// `len` pseudo-random bytes for `seed`, the same on every run: contents that occur nowhere
/// else on a disc, and do not repeat, so that a part hashed from a wrong offset is caught.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::seeded(seed);
    (0..len).map(|_| (rng.next() >> 24) as u8).collect()
}

/// Every path under `root` (not `root` itself), each with its path relative to `root`, its
/// full path and its own metadata (a symlink's, not its target's), in no set order. Panics on
/// any error: it is for tests, on trees they made.
pub fn walk(root: &Path) -> Vec<(PathBuf, PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                folders.push(path.clone());
            }
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            out.push((rel, path, meta));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_the_same_for_a_seed_and_differs_between_seeds() {
        assert_eq!(noise(7, 4096), noise(7, 4096));
        assert_ne!(noise(0, 64), noise(1, 64), "0 and 1 are different seeds");
        let a = noise(3, 4096);
        assert_eq!(a.len(), 4096);
        // No run of the same byte longer than a few: it does not repeat.
        assert!(a.windows(8).all(|w| w.iter().any(|&b| b != w[0])));
        assert_ne!(&a[..2048], &a[2048..], "no period of a sector");
    }

    #[test]
    fn below_stays_below_and_covers_the_range() {
        let mut rng = Rng::seeded(5);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let n = rng.below(10);
            assert!(n < 10);
            seen[n as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn walk_finds_everything_below_and_not_the_root() {
        let root = std::env::temp_dir().join(format!("testkit-walk-{}", std::process::id()));
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), b"x").unwrap();
        std::os::unix::fs::symlink("a", root.join("link")).unwrap();
        let mut found: Vec<(PathBuf, bool)> = walk(&root)
            .into_iter()
            .map(|(rel, _, meta)| (rel, meta.is_symlink()))
            .collect();
        found.sort();
        std::fs::remove_dir_all(&root).unwrap();
        let want = [
            ("a", false),
            ("a/b", false),
            ("a/b/f", false),
            ("link", true),
        ];
        let want: Vec<(PathBuf, bool)> = want.iter().map(|&(p, l)| (p.into(), l)).collect();
        assert_eq!(found, want);
    }
}
