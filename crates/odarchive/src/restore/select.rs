//! Which entries a restore or locate is about: a snapshot's entries matching the user's paths
//! or globs, and where each content among them is stored. Restore streams its selection
//! through [`crate::catalogue::RestoreSet`]; [`Selected`] holds one in memory, for `locate`,
//! whose answer lists every match anyway.

use std::collections::{BTreeMap, HashMap, HashSet};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::catalogue::{Catalogue, Entry, Placement};
use crate::error::{Error, Result};

/// Paths or globs, relative to the drive root. A plain path selects itself and, when it is a
/// directory, everything below it; a glob (`*.jpg`, `Photos/**/IMG_*`) selects what it
/// matches. No patterns select everything.
#[derive(Debug)]
pub struct Selection {
    prefixes: Vec<Vec<u8>>,
    globs: GlobSet,
    everything: bool,
}

impl Selection {
    /// Builds a selection; a malformed glob is an error naming it.
    pub fn new(patterns: &[String]) -> Result<Selection> {
        let mut builder = GlobSetBuilder::new();
        let mut prefixes = Vec::new();
        for p in patterns {
            let p = p.trim_start_matches("./").trim_end_matches('/');
            if p.contains(['*', '?', '[', '{']) {
                let glob = Glob::new(p).map_err(|e| Error::Pattern {
                    pattern: p.to_owned(),
                    source: e,
                })?;
                builder.add(glob);
            } else {
                prefixes.push(p.as_bytes().to_vec());
            }
        }
        let globs = builder.build().map_err(|e| Error::Pattern {
            pattern: patterns.join(" "),
            source: e,
        })?;
        Ok(Selection {
            prefixes,
            globs,
            everything: patterns.is_empty(),
        })
    }

    /// This selection and the paths `raw` (raw bytes, which need not be UTF-8 and are taken
    /// as they are, never as globs), each with everything below it. No paths: unchanged.
    pub fn with_paths(mut self, raw: impl IntoIterator<Item = Vec<u8>>) -> Selection {
        let before = self.prefixes.len();
        self.prefixes.extend(raw);
        if self.prefixes.len() > before && self.everything {
            // Patterns were none: the paths alone are selected.
            self.everything = false;
        }
        self
    }

    /// The plain paths selected, when the selection is nothing but plain paths below the
    /// drive root (no glob, not everything): each can then be read from the path index.
    fn plain_paths(&self) -> Option<&[Vec<u8>]> {
        let plain = !self.everything
            && self.globs.is_empty()
            && self.prefixes.iter().all(|p| !p.is_empty());
        plain.then_some(&self.prefixes[..])
    }

    /// Whether `path` (relative, raw bytes) is selected.
    pub fn matches(&self, path: &[u8]) -> bool {
        if self.everything {
            return true;
        }
        let under = |prefix: &Vec<u8>| {
            prefix.is_empty()
                || path == prefix.as_slice()
                || (path.len() > prefix.len()
                    && path.starts_with(prefix)
                    && path[prefix.len()] == b'/')
        };
        self.prefixes.iter().any(under)
            || self
                .globs
                .is_match(std::ffi::OsStr::new(&*String::from_utf8_lossy(path)))
    }
}

/// The snapshot asked for, or the latest complete one.
pub fn resolve_snapshot(catalogue: &Catalogue, snapshot: Option<i64>) -> Result<i64> {
    match snapshot {
        Some(s) => Ok(s),
        None => Ok(catalogue
            .latest_complete_snapshot()?
            .ok_or_else(|| Error::NoSnapshot {
                path: catalogue.path().to_owned(),
            })?
            .id),
    }
}

/// A snapshot as a user names it: its id, `latest`, or a UTC date and time
/// (`2024-06-01`, `2024-06-01T18:30`, `2024-06-01 18:30:00`, or with `.` for `:` as a
/// mount's snapshot alias has it: `2024-06-01T18.30.00`), which means the last snapshot
/// completed at or before then.
pub fn snapshot_named(catalogue: &Catalogue, spec: &str) -> Result<i64> {
    let fail = |reason: &str| Error::NoSuchSnapshot {
        path: catalogue.path().to_owned(),
        spec: spec.to_owned(),
        reason: reason.to_owned(),
    };
    let complete: Vec<(i64, i64)> = catalogue
        .snapshots()?
        .into_iter()
        .filter_map(|s| s.finished_ns.map(|f| (s.id, f)))
        .collect();
    if spec == "latest" {
        return complete
            .last()
            .map(|s| s.0)
            .ok_or_else(|| fail("no complete snapshot"));
    }
    if let Ok(id) = spec.parse::<i64>() {
        return if complete.iter().any(|s| s.0 == id) {
            Ok(id)
        } else {
            Err(fail(
                "no complete snapshot has this id (see `odarchive snapshots`)",
            ))
        };
    }
    let until = parse_utc(spec)
        .ok_or_else(|| fail("expected an id, `latest`, or YYYY-MM-DD[THH:MM[:SS]] (UTC)"))?;
    complete
        .iter()
        .filter(|s| s.1 <= until)
        .map(|s| s.0)
        .next_back()
        .ok_or_else(|| fail("no snapshot was complete by then"))
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS]]` in UTC as ns since the epoch; a date alone means its end.
fn parse_utc(text: &str) -> Option<i64> {
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (hour, minute, second) = match time {
        None => (23, 59, 59),
        Some(t) => {
            let mut p = t.split([':', '.']).map(|p| p.parse::<u8>().ok());
            let h = p.next()??;
            let m = p.next()??;
            let s = p.next().unwrap_or(Some(0))?;
            if h > 23 || m > 59 || s > 59 {
                return None;
            }
            (h, m, s)
        }
    };
    let civil = discfs::Civil {
        year,
        month: month as u8,
        day: day as u8,
        hour,
        minute,
        second,
        nanos: 999_999_999,
    };
    Some(discfs::Timestamp::from_civil(civil).unix_nanos())
}

/// Up to this many selected contents, [`Selected::load`] looks each one's placements up in
/// the index; above, one pass over all placements is cheaper than the seeks.
const CONTENTS_LOOKED_UP: usize = 100_000;

/// The selected entries of a snapshot, and the placements of their contents, in memory (for
/// `locate`; a restore uses [`crate::catalogue::RestoreSet`], which does not grow with them).
#[derive(Debug, Default)]
pub struct Selected {
    /// Entries in path order.
    pub entries: Vec<Entry>,
    /// Placements of each selected content, parts in order.
    pub placements: HashMap<i64, Vec<Placement>>,
}

impl Selected {
    /// Reads the selection from the catalogue. Plain paths are read from the path index and
    /// their contents' placements one content at a time, so that locating one file or folder
    /// costs a few index seeks; globs walk the whole snapshot.
    pub fn load(catalogue: &Catalogue, snapshot: i64, selection: &Selection) -> Result<Selected> {
        let mut out = Selected::default();
        let mut keep = |e: Entry| {
            out.entries.push(e);
            Ok(())
        };
        match selection.plain_paths() {
            Some(paths) => {
                for path in paths {
                    catalogue.for_each_entry_under(snapshot, path, &mut keep)?;
                }
                // Several paths (one possibly below another): one entry each, in path order,
                // as the walk gives them.
                out.entries.sort_by(|a, b| a.path.cmp(&b.path));
                out.entries.dedup_by(|a, b| a.path == b.path);
            }
            None => catalogue.for_each_entry(snapshot, |e| {
                if selection.matches(&e.path) {
                    keep(e)?;
                }
                Ok(())
            })?,
        }
        let wanted: HashSet<i64> = out.entries.iter().filter_map(|e| e.content_id).collect();
        if wanted.len() <= CONTENTS_LOOKED_UP {
            for &c in &wanted {
                let placements = catalogue.placements_in_stored_order(c)?;
                if !placements.is_empty() {
                    out.placements.insert(c, placements);
                }
            }
        } else {
            catalogue.for_each_placement(|p| {
                if wanted.contains(&p.content_id) {
                    out.placements.entry(p.content_id).or_default().push(p);
                }
                Ok(())
            })?;
            // for_each_placement yields each content's parts in order.
        }
        Ok(out)
    }

    /// The discs holding the selected contents, by number, with how many files each has.
    pub fn discs_needed(&self) -> BTreeMap<u32, u64> {
        let mut out = BTreeMap::new();
        for p in self.placements.values().flatten() {
            *out.entry(p.disc).or_insert(0) += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_paths_select_themselves_and_what_is_below_them_only() {
        let raw = b"odd/bad\xffname".to_vec();
        let only = Selection::new(&[]).unwrap().with_paths([raw.clone()]);
        assert!(only.matches(&raw));
        assert!(only.matches(b"odd/bad\xffname/inside"));
        assert!(!only.matches(b"odd/bad\xffnames"));
        assert!(!only.matches(b"odd/other"), "no longer everything");
        let both = Selection::new(&["docs".to_owned()])
            .unwrap()
            .with_paths([raw.clone()]);
        assert!(both.matches(b"docs/notes.txt") && both.matches(&raw));
        let unchanged = Selection::new(&[]).unwrap().with_paths([]);
        assert!(unchanged.matches(b"anything"));
    }

    #[test]
    fn dates_parse_as_utc_and_a_date_means_its_end() {
        assert_eq!(parse_utc("1970-01-01T00:00:01"), Some(1_999_999_999));
        assert_eq!(parse_utc("1970-01-01"), Some(86_399_999_999_999));
        assert_eq!(parse_utc("2000-02-29 12:34"), Some(951_827_640_999_999_999));
        // The name of a snapshot's alias in a mount (`snapshots/2000-02-29T12.34.56`).
        assert_eq!(
            parse_utc("2000-02-29T12.34.56"),
            Some(951_827_696_999_999_999)
        );
        for bad in [
            "",
            "2024",
            "2024-13-01",
            "2024-01-01T25:00",
            "yesterday",
            "2024-01-01-01",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
