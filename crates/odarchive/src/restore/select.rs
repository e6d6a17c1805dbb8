//! Which entries a restore or locate is about: a snapshot's entries matching the user's paths
//! or globs, and where each content among them is stored.

use std::collections::{BTreeMap, HashMap};

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

/// The selected entries of a snapshot, and the placements of their contents.
#[derive(Debug, Default)]
pub struct Selected {
    /// Entries in path order.
    pub entries: Vec<Entry>,
    /// Placements of each selected content, parts in order.
    pub placements: HashMap<i64, Vec<Placement>>,
}

impl Selected {
    /// Reads the selection from the catalogue.
    pub fn load(catalogue: &Catalogue, snapshot: i64, selection: &Selection) -> Result<Selected> {
        let mut out = Selected::default();
        let mut wanted: HashMap<i64, ()> = HashMap::new();
        catalogue.for_each_entry(snapshot, |e| {
            if selection.matches(&e.path) {
                if let Some(c) = e.content_id {
                    wanted.insert(c, ());
                }
                out.entries.push(e);
            }
            Ok(())
        })?;
        catalogue.for_each_placement(|p| {
            if wanted.contains_key(&p.content_id) {
                out.placements.entry(p.content_id).or_default().push(p);
            }
            Ok(())
        })?;
        for parts in out.placements.values_mut() {
            parts.sort_by_key(|p| p.part);
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
