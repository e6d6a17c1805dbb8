//! Differences between the manifest a view should have and the one a reader gave.

use std::collections::BTreeMap;
use std::fmt;

use crate::manifest::{Kind, Manifest, hex, show_path};

/// One way in which what a reader read differs from what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// An expected path the reader did not show.
    Missing { path: Vec<u8>, kind: Kind },
    /// A path the reader showed that was not expected.
    Extra { path: Vec<u8>, kind: Kind },
    /// The path is there but is another kind of thing.
    KindDiffers {
        path: Vec<u8>,
        expected: Kind,
        got: Kind,
    },
    /// The file is there with another size.
    SizeDiffers {
        path: Vec<u8>,
        expected: u64,
        got: u64,
    },
    /// The file has the expected size but other bytes.
    ContentDiffers {
        path: Vec<u8>,
        expected: [u8; 32],
        got: [u8; 32],
    },
    /// The modification time is off by more than the tolerance.
    MtimeDiffers {
        path: Vec<u8>,
        expected: i64,
        got: i64,
    },
    /// Expected file contents (size, hash) that the reader did not show `count` times.
    ContentMissing {
        size: u64,
        sha256: [u8; 32],
        count: usize,
    },
    /// File contents the reader showed `count` times more than expected.
    ContentExtra {
        size: u64,
        sha256: [u8; 32],
        count: usize,
    },
    /// The view holds another number of entries of `kind`.
    CountDiffers {
        kind: Kind,
        expected: usize,
        got: usize,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing { path, kind } => {
                write!(f, "missing {kind} `{}`", show_path(path))
            }
            Difference::Extra { path, kind } => {
                write!(f, "unexpected {kind} `{}`", show_path(path))
            }
            Difference::KindDiffers {
                path,
                expected,
                got,
            } => {
                write!(f, "`{}` is a {got}, expected a {expected}", show_path(path))
            }
            Difference::SizeDiffers {
                path,
                expected,
                got,
            } => {
                write!(
                    f,
                    "`{}` has {got} bytes, expected {expected}",
                    show_path(path)
                )
            }
            Difference::ContentDiffers {
                path,
                expected,
                got,
            } => write!(
                f,
                "`{}` has other content: sha256 {}, expected {}",
                show_path(path),
                hex(got),
                hex(expected)
            ),
            Difference::MtimeDiffers {
                path,
                expected,
                got,
            } => write!(
                f,
                "`{}` has mtime {got}, expected {expected} ({:+} s)",
                show_path(path),
                got - expected
            ),
            Difference::ContentMissing {
                size,
                sha256,
                count,
            } => write!(
                f,
                "{count} expected file(s) of {size} bytes with sha256 {} not found",
                hex(sha256)
            ),
            Difference::ContentExtra {
                size,
                sha256,
                count,
            } => write!(
                f,
                "{count} unexpected file(s) of {size} bytes with sha256 {}",
                hex(sha256)
            ),
            Difference::CountDiffers {
                kind,
                expected,
                got,
            } => {
                write!(f, "{got} entries of kind {kind}, expected {expected}")
            }
        }
    }
}

/// Compares two manifests path by path: kinds, sizes, content hashes, and — when
/// `mtime_tolerance` is `Some(seconds)` and both sides have an mtime — modification times.
///
/// Returns every difference, in path order; empty when they agree.
pub fn compare(
    expected: &Manifest,
    got: &Manifest,
    mtime_tolerance: Option<u64>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (path, want) in &expected.entries {
        let Some(have) = got.entries.get(path) else {
            out.push(Difference::Missing {
                path: path.clone(),
                kind: want.kind,
            });
            continue;
        };
        let path = path.clone();
        if want.kind != have.kind {
            out.push(Difference::KindDiffers {
                path,
                expected: want.kind,
                got: have.kind,
            });
            continue;
        }
        if want.size != have.size {
            out.push(Difference::SizeDiffers {
                path: path.clone(),
                expected: want.size,
                got: have.size,
            });
        } else if want.sha256 != have.sha256 {
            out.push(Difference::ContentDiffers {
                path: path.clone(),
                expected: want.sha256,
                got: have.sha256,
            });
        }
        if let (Some(tolerance), Some(w), Some(h)) = (mtime_tolerance, want.mtime, have.mtime) {
            if w.abs_diff(h) > tolerance {
                out.push(Difference::MtimeDiffers {
                    path,
                    expected: w,
                    got: h,
                });
            }
        }
    }
    for (path, have) in &got.entries {
        if !expected.entries.contains_key(path) {
            out.push(Difference::Extra {
                path: path.clone(),
                kind: have.kind,
            });
        }
    }
    out
}

/// Compares the multisets of regular-file contents (size, SHA-256), ignoring names: for views
/// whose names are mapped (ISO 9660 d-characters) or mangled (udfclient).
pub fn compare_content(expected: &Manifest, got: &Manifest) -> Vec<Difference> {
    let mut counts: BTreeMap<(u64, [u8; 32]), i64> = BTreeMap::new();
    for e in expected.entries.values().filter(|e| e.kind == Kind::File) {
        *counts.entry((e.size, e.sha256)).or_default() += 1;
    }
    for e in got.entries.values().filter(|e| e.kind == Kind::File) {
        *counts.entry((e.size, e.sha256)).or_default() -= 1;
    }
    counts
        .into_iter()
        .filter(|&(_, n)| n != 0)
        .map(|((size, sha256), n)| {
            let count = n.unsigned_abs() as usize;
            if n > 0 {
                Difference::ContentMissing {
                    size,
                    sha256,
                    count,
                }
            } else {
                Difference::ContentExtra {
                    size,
                    sha256,
                    count,
                }
            }
        })
        .collect()
}

/// Compares the number of entries of `kind`.
pub fn compare_count(expected: &Manifest, got: &Manifest, kind: Kind) -> Option<Difference> {
    let (e, g) = (expected.count(kind), got.count(kind));
    (e != g).then_some(Difference::CountDiffers {
        kind,
        expected: e,
        got: g,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Entry, sha256};

    fn sample() -> Manifest {
        let mut m = Manifest::new();
        m.insert_dir("d", Some(100))
            .insert_file("d/f", b"one", Some(200));
        m.insert_file("g", b"two", Some(300));
        m
    }

    #[test]
    fn equal_manifests_have_no_differences() {
        assert_eq!(compare(&sample(), &sample(), Some(0)), []);
        assert_eq!(compare_content(&sample(), &sample()), []);
    }

    #[test]
    fn reports_each_kind_of_difference() {
        let mut got = sample();
        got.entries.remove(b"g".as_slice());
        got.insert_file("d/f", b"ONE", Some(205));
        got.insert_file("d", b"", Some(100));
        got.insert_file("h", b"x", None);
        let diffs = compare(&sample(), &got, Some(2));
        let text: Vec<String> = diffs.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            [
                "`d` is a file, expected a directory".to_string(),
                format!(
                    "`d/f` has other content: sha256 {}, expected {}",
                    hex(&sha256(b"ONE")),
                    hex(&sha256(b"one"))
                ),
                "`d/f` has mtime 205, expected 200 (+5 s)".to_string(),
                "missing file `g`".to_string(),
                "unexpected file `h`".to_string(),
            ]
        );
    }

    #[test]
    fn mtime_within_tolerance_or_unchecked_passes() {
        let mut got = sample();
        got.insert_file("d/f", b"one", Some(201));
        assert_eq!(compare(&sample(), &got, Some(1)), []);
        assert_eq!(compare(&sample(), &got, None), []);
        assert_eq!(compare(&sample(), &got, Some(0)).len(), 1);
    }

    #[test]
    fn size_difference_is_reported_once() {
        let mut got = sample();
        got.insert_file("g", b"two!", Some(300));
        assert_eq!(
            compare(&sample(), &got, None),
            [Difference::SizeDiffers {
                path: b"g".to_vec(),
                expected: 3,
                got: 4
            }]
        );
    }

    #[test]
    fn content_multiset_ignores_names_but_counts_duplicates() {
        let mut got = Manifest::new();
        got.insert_file("X", b"one", None)
            .insert_file("Y", b"two", None);
        assert_eq!(compare_content(&sample(), &got), []);
        got.insert_file("Z", b"two", None);
        got.insert("W", Entry::dir(None));
        assert_eq!(
            compare_content(&sample(), &got),
            [Difference::ContentExtra {
                size: 3,
                sha256: sha256(b"two"),
                count: 1
            }]
        );
        got.entries.remove(b"X".as_slice());
        assert_eq!(compare_content(&sample(), &got).len(), 2);
    }
}
