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
    // The items of each group (the `first` folders in the order given, then the rest), each
    // in path order as the entries come. An item whose content turns up later under a name of
    // an earlier group moves there and leaves a `None`.
    let mut groups: Vec<Vec<Option<Item>>> = (0..=first.len()).map(|_| Vec::new()).collect();
    // Where each content's item is, for that move; without `--first` nothing moves, and a
    // bit a content says whether it has its item.
    let mut at: HashMap<i64, (usize, usize)> = HashMap::new();
    let mut seen = Bits::default();
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
        let item = || {
            let stem = names.part_stem(&disc_path);
            let split_stem = (stem != disc_path).then(|| stem.into_boxed_str());
            let entry_path = (e.path != disc_path.as_bytes()).then(|| e.path.into_boxed_slice());
            Item {
                content_id,
                hash,
                size: e.size,
                path: disc_path,
                split_stem,
                entry_path,
                mtime_ns: e.mtime_ns,
                written: written.map_or(0, |w| w.end),
                parts_written: written.map_or(0, |w| w.parts),
            }
        };
        if first.is_empty() {
            if seen.insert(content_id) {
                groups[0].push(Some(item()));
            }
            return Ok(());
        }
        match at.get(&content_id) {
            Some(&(g, _)) if g <= group => {}
            Some(&(g, i)) => {
                groups[g][i] = None;
                at.insert(content_id, (group, groups[group].len()));
                groups[group].push(Some(item()));
            }
            None => {
                at.insert(content_id, (group, groups[group].len()));
                groups[group].push(Some(item()));
            }
        }
        Ok(())
    })?;
    drop(at);
    let mut items: Vec<Item> = Vec::new();
    for (g, group) in groups.into_iter().enumerate() {
        // Collected in place where it is the first group with items (always, without
        // `--first`): the items are never held twice.
        let group = group.into_iter().flatten();
        if items.is_empty() {
            items = group.collect();
        } else {
            items.extend(group);
        }
        if g + 1 == first.len() {
            out.first_count = items.len();
        }
    }
    out.items = items;
    Ok(out)
}

/// A set of content ids, a bit each.
#[derive(Default)]
struct Bits(Vec<u64>);

impl Bits {
    /// Adds `id`; whether it was new.
    fn insert(&mut self, id: i64) -> bool {
        let id = id.max(0) as usize;
        let (word, bit) = (id / 64, 1u64 << (id % 64));
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let new = self.0[word] & bit == 0;
        self.0[word] |= bit;
        new
    }
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
    fn bits_say_whether_an_id_is_new() {
        let mut bits = Bits::default();
        assert!(bits.insert(5));
        assert!(!bits.insert(5));
        assert!(bits.insert(64));
        assert!(bits.insert(1_000_000));
        assert!(!bits.insert(64));
        assert!(bits.insert(63));
    }

    #[test]
    fn under_is_by_component() {
        assert!(under(b"Photos/a", b"Photos"));
        assert!(under(b"Photos", b"Photos"));
        assert!(!under(b"Photos2/a", b"Photos"));
    }
}
