//! Path search for the web page (`odarchive serve`): the entries of a snapshot whose path
//! contains a fragment, a page at a time, within a budget.
//!
//! No index of its own: the search walks the existing path index (`entry_by_path`, which
//! holds `path` and `last_snapshot`, so the walk never reads the table) in path order from a
//! cursor, matches in Rust (ASCII case-insensitively), and reads the whole row only of the
//! paths that match. A request examines at most [`SearchBudget::rows`] index rows or runs for
//! at most [`SearchBudget::time`], whichever comes first, and says where it stopped, so a
//! search of any catalogue is a series of bounded requests that a caller can stop at any page
//! (nothing runs on between requests). No schema step, and scans and imports pay nothing.

use std::time::{Duration, Instant};

use rusqlite::named_params;

use super::entries::Entry;
use super::{Catalogue, InCatalogue};
use crate::error::Result;

/// How much one [`Catalogue::search_paths`] call may examine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchBudget {
    /// Index rows (path versions) examined at most.
    pub rows: u64,
    /// Time spent at most (checked every 1024 rows).
    pub time: Duration,
}

impl Default for SearchBudget {
    /// Four million rows or 400 ms.
    fn default() -> Self {
        SearchBudget {
            rows: 4_000_000,
            time: Duration::from_millis(400),
        }
    }
}

/// One page of a path search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMatches {
    /// Matching entries of the snapshot, in path byte order.
    pub entries: Vec<Entry>,
    /// Where the next page starts (after this path); `None` when the whole catalogue has
    /// been searched.
    pub resume_after: Option<Vec<u8>>,
    /// Index rows examined by this call.
    pub examined: u64,
}

impl Catalogue {
    /// Up to `limit` entries of `snapshot` whose path (relative, raw bytes) contains
    /// `fragment` (ASCII letters in either case), in path byte order, among the paths after
    /// `after` (`None`: from the first), within `budget`.
    pub fn search_paths(
        &self,
        snapshot: i64,
        fragment: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        budget: SearchBudget,
    ) -> Result<PathMatches> {
        let needle = fragment.to_ascii_lowercase();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path FROM entry INDEXED BY entry_by_path \
                 WHERE path > :after AND last_snapshot >= :snapshot ORDER BY path",
            )
            .in_catalogue(&self.path)?;
        let after: &[u8] = after.unwrap_or(b"");
        let mut rows = stmt
            .query(named_params! {":after": after, ":snapshot": snapshot})
            .in_catalogue(&self.path)?;
        let started = Instant::now();
        let mut out = PathMatches {
            entries: Vec::new(),
            resume_after: None,
            examined: 0,
        };
        let mut last: Vec<u8> = Vec::new();
        while let Some(row) = rows.next().in_catalogue(&self.path)? {
            out.examined += 1;
            let path = row.get_ref(0).in_catalogue(&self.path)?;
            let path = path.as_bytes().map_err(|e| self.corrupt(e.to_string()))?;
            // Versions of one path follow each other: the first that matches is looked up.
            if path != last.as_slice() {
                last.clear();
                last.extend_from_slice(path);
                if contains_ignoring_ascii_case(path, &needle) {
                    if let Some(e) = self.entry_at(snapshot, path)? {
                        out.entries.push(e);
                        if out.entries.len() >= limit {
                            out.resume_after = Some(last);
                            return Ok(out);
                        }
                    }
                }
            }
            if out.examined >= budget.rows
                || (out.examined % 1024 == 0 && started.elapsed() >= budget.time)
            {
                out.resume_after = Some(last);
                return Ok(out);
            }
        }
        Ok(out)
    }
}

/// Whether `haystack` contains `needle` (already lower case), ASCII letters in either case.
fn contains_ignoring_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    let first = needle[0];
    haystack
        .windows(needle.len())
        .any(|w| w[0].to_ascii_lowercase() == first && w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NoProgress, ScanOptions};

    fn catalogue(names: &[&str]) -> (tempfile::TempDir, Catalogue, i64) {
        let dir = tempfile::tempdir().unwrap();
        let drive = dir.path().join("drive");
        for name in names {
            let path = drive.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, name.as_bytes()).unwrap();
        }
        let mut catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let summary =
            crate::scan(&mut catalogue, &drive, &ScanOptions::default(), &NoProgress).unwrap();
        (dir, catalogue, summary.info.snapshot)
    }

    fn paths(m: &PathMatches) -> Vec<String> {
        m.entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .collect()
    }

    #[test]
    fn finds_fragments_in_either_case_in_path_order_and_pages_on() {
        let (_dir, c, s) = catalogue(&[
            "Photos/2019/IMG_1.jpg",
            "Photos/2020/img_2.JPG",
            "docs/notes.txt",
            "docs/jpg-list.md",
        ]);
        let all = c
            .search_paths(s, b"JPG", None, 10, SearchBudget::default())
            .unwrap();
        assert_eq!(
            paths(&all),
            [
                "Photos/2019/IMG_1.jpg",
                "Photos/2020/img_2.JPG",
                "docs/jpg-list.md"
            ]
        );
        assert_eq!(all.resume_after, None);
        // Two at a time: the second page starts after the first's last match.
        let first = c
            .search_paths(s, b"jpg", None, 2, SearchBudget::default())
            .unwrap();
        assert_eq!(paths(&first).len(), 2);
        let next = c
            .search_paths(
                s,
                b"jpg",
                first.resume_after.as_deref(),
                2,
                SearchBudget::default(),
            )
            .unwrap();
        assert_eq!(paths(&next), ["docs/jpg-list.md"]);
        // A folder's name matches the folder itself.
        let folders = c
            .search_paths(s, b"2019", None, 10, SearchBudget::default())
            .unwrap();
        assert_eq!(paths(&folders), ["Photos/2019", "Photos/2019/IMG_1.jpg"]);
    }

    #[test]
    fn a_small_budget_stops_early_and_says_where_to_go_on() {
        let (_dir, c, s) = catalogue(&["a1", "a2", "a3", "b-needle", "c1"]);
        let budget = SearchBudget {
            rows: 2,
            time: Duration::from_secs(60),
        };
        let mut after: Option<Vec<u8>> = None;
        let mut found = Vec::new();
        let mut calls = 0;
        loop {
            let page = c
                .search_paths(s, b"needle", after.as_deref(), 10, budget)
                .unwrap();
            assert!(page.examined <= 2, "{}", page.examined);
            found.extend(paths(&page));
            calls += 1;
            match page.resume_after {
                Some(a) => after = Some(a),
                None => break,
            }
        }
        assert_eq!(found, ["b-needle"]);
        assert!(calls >= 3, "{calls}");
    }

    #[test]
    fn only_the_snapshots_versions_match() {
        let dir = tempfile::tempdir().unwrap();
        let drive = dir.path().join("drive");
        std::fs::create_dir_all(&drive).unwrap();
        std::fs::write(drive.join("old-needle"), "1").unwrap();
        let mut c = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let first = crate::scan(&mut c, &drive, &ScanOptions::default(), &NoProgress)
            .unwrap()
            .info
            .snapshot;
        std::fs::remove_file(drive.join("old-needle")).unwrap();
        std::fs::write(drive.join("new-needle"), "2").unwrap();
        let second = crate::scan(&mut c, &drive, &ScanOptions::default(), &NoProgress)
            .unwrap()
            .info
            .snapshot;
        let b = SearchBudget::default();
        let in_first = c.search_paths(first, b"needle", None, 10, b).unwrap();
        let in_second = c.search_paths(second, b"needle", None, 10, b).unwrap();
        assert_eq!(paths(&in_first), ["old-needle"]);
        assert_eq!(paths(&in_second), ["new-needle"]);
    }

    #[test]
    fn case_folding_is_ascii_only() {
        assert!(contains_ignoring_ascii_case(b"A/Bc", b"bc"));
        assert!(!contains_ignoring_ascii_case(b"A/Bc", b"cb"));
        assert!(contains_ignoring_ascii_case(b"x\xffY", b"\xffy"));
        assert!(contains_ignoring_ascii_case(b"", b""));
        assert!(!contains_ignoring_ascii_case(b"", b"a"));
    }
}
