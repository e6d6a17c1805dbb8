//! What the planner works on, read from the catalogue: the unique contents of a snapshot not
//! yet on a written disc, each under the path of its first name in plan order.

use std::collections::HashMap;

use super::Item;
use crate::catalogue::{Catalogue, EntryKind, WrittenExtent};
use crate::disc::names::NameMap;
use crate::error::{Error, Result};

/// The planner's input.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Items in plan order.
    pub items: Vec<Item>,
    /// How many of them come from `--first` folders (they lead).
    pub first_count: usize,
    /// Files of the snapshot that have no content (could not be read): not archived.
    pub unhashed: u64,
}

/// A `--first` path as a relative path in the catalogue: `./` and trailing `/` removed, an
/// absolute path under the drive root made relative.
pub(crate) fn normalise_first(path: &str, drive: &std::path::Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut p = path;
    let drive = drive.as_os_str().as_bytes();
    if p.as_bytes().starts_with(drive) && p.len() > drive.len() {
        if let Ok(rest) = std::str::from_utf8(&p.as_bytes()[drive.len()..]) {
            p = rest;
        }
    }
    let p = p.trim_start_matches("./").trim_start_matches('/');
    p.trim_end_matches('/').as_bytes().to_vec()
}

fn under(path: &[u8], prefix: &[u8]) -> bool {
    prefix.is_empty()
        || path == prefix
        || (path.len() > prefix.len() && path.starts_with(prefix) && path[prefix.len()] == b'/')
}

/// Reads the items of `snapshot`: every content not complete in `placed`, under its first name
/// in plan order (the `first` folders in the order given, then the rest; each in path order).
/// A content split across discs of which only the first parts are written continues after
/// them.
pub fn gather(
    catalogue: &Catalogue,
    snapshot: i64,
    first: &[Vec<u8>],
    placed: &HashMap<i64, WrittenExtent>,
) -> Result<Gathered> {
    let special = catalogue.paths_with_percent_or_part(snapshot)?;
    let mut names = NameMap::new(special);
    let mut out = Gathered::default();
    // content id → (group, index in `items`).
    let mut seen: HashMap<i64, (usize, usize)> = HashMap::new();
    let mut items: Vec<(usize, Item)> = Vec::new();
    catalogue.for_each_entry(snapshot, |e| {
        let is_dir = e.kind == EntryKind::Directory;
        if e.kind == EntryKind::Symlink {
            return Ok(());
        }
        let disc_path = names.map(&e.path, is_dir);
        if is_dir {
            return Ok(());
        }
        let (Some(content_id), Some(hash)) = (e.content_id, e.hash) else {
            out.unhashed += 1;
            return Ok(());
        };
        let written = placed.get(&content_id).copied();
        if written.is_some_and(|w| w.complete) {
            return Ok(());
        }
        let group = first
            .iter()
            .position(|f| under(&e.path, f))
            .unwrap_or(first.len());
        let stem = names.part_stem(&disc_path);
        let split_stem = (stem != disc_path).then(|| stem.into_boxed_str());
        let entry_path = (e.path != disc_path.as_bytes()).then(|| e.path.into_boxed_slice());
        let item = Item {
            content_id,
            hash,
            size: e.size,
            path: disc_path,
            split_stem,
            entry_path,
            mtime_ns: e.mtime_ns,
            written: written.map_or(0, |w| w.end),
            parts_written: written.map_or(0, |w| w.parts),
        };
        match seen.get(&content_id) {
            Some(&(g, _)) if g <= group => {}
            Some(&(_, i)) => {
                items[i] = (group, item);
                seen.insert(content_id, (group, i));
            }
            None => {
                seen.insert(content_id, (group, items.len()));
                items.push((group, item));
            }
        }
        Ok(())
    })?;
    // Stable: each group keeps path order.
    items.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.raw_path().cmp(b.1.raw_path()))
    });
    out.first_count = items.iter().filter(|(g, _)| *g < first.len()).count();
    out.items = items.into_iter().map(|(_, i)| i).collect();
    Ok(out)
}

/// Checks that every `--first` path is an entry of `snapshot`.
pub fn check_first(
    catalogue: &Catalogue,
    snapshot: i64,
    first: &[String],
    normalised: &[Vec<u8>],
) -> Result<()> {
    for (given, raw) in first.iter().zip(normalised) {
        if raw.is_empty() {
            continue;
        }
        let found = catalogue.has_entry(raw, snapshot)?;
        if !found {
            return Err(Error::FirstNotFound {
                path: given.clone(),
                snapshot,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_paths_are_relative() {
        let drive = std::path::Path::new("/mnt/drive");
        assert_eq!(normalise_first("Photos/", drive), b"Photos");
        assert_eq!(normalise_first("./Photos/2020", drive), b"Photos/2020");
        assert_eq!(normalise_first("/mnt/drive/Photos", drive), b"Photos");
    }

    #[test]
    fn under_is_by_component() {
        assert!(under(b"Photos/a", b"Photos"));
        assert!(under(b"Photos", b"Photos"));
        assert!(!under(b"Photos2/a", b"Photos"));
    }
}
