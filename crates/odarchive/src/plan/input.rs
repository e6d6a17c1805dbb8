//! What the planner works on, read from the catalogue: the unique contents of a snapshot not
//! yet on a written disc, each under the path of its first name in plan order.

use std::collections::HashMap;

use super::Item;
use crate::catalogue::{Catalogue, EntryKind, PlanEntry, WrittenExtent};
use crate::disc::names::NameMap;
use crate::error::{Error, Result};
use crate::hash::ContentHash;

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

/// Entries read from the catalogue a page at a time.
const PAGE: usize = 4096;

/// The entries of a snapshot in path order, read a page at a time.
struct Pages<'c> {
    catalogue: &'c Catalogue,
    snapshot: i64,
    page: std::vec::IntoIter<PlanEntry>,
    after: Option<Vec<u8>>,
    end: bool,
}

impl Iterator for Pages<'_> {
    type Item = Result<PlanEntry>;
    fn next(&mut self) -> Option<Result<PlanEntry>> {
        if let Some(e) = self.page.next() {
            return Some(Ok(e));
        }
        if self.end {
            return None;
        }
        let page =
            match self
                .catalogue
                .plan_entries_after(self.snapshot, self.after.as_deref(), PAGE)
            {
                Ok(page) => page,
                Err(e) => {
                    self.end = true;
                    return Some(Err(e));
                }
            };
        self.end = page.len() < PAGE;
        self.after = page.last().map(|e| e.path.clone());
        self.page = page.into_iter();
        self.page.next().map(Ok)
    }
}

/// The regular files of a snapshot in path order whose content is not complete on written
/// discs, each with its path under `/Data`, counting those that have no content.
struct Files<'c> {
    entries: Pages<'c>,
    names: NameMap,
    placed: &'c HashMap<i64, WrittenExtent>,
    unhashed: u64,
}

/// A file [`Files`] gives.
struct File {
    entry: PlanEntry,
    disc_path: String,
    content_id: i64,
    hash: ContentHash,
    written: Option<WrittenExtent>,
}

impl<'c> Files<'c> {
    fn new(
        catalogue: &'c Catalogue,
        snapshot: i64,
        placed: &'c HashMap<i64, WrittenExtent>,
    ) -> Result<Files<'c>> {
        let special = catalogue.paths_with_percent_or_part(snapshot)?;
        Ok(Files {
            entries: Pages {
                catalogue,
                snapshot,
                page: Vec::new().into_iter(),
                after: None,
                end: false,
            },
            names: NameMap::new(special),
            placed,
            unhashed: 0,
        })
    }

    fn item(&self, f: File) -> Item {
        let stem = self.names.part_stem(&f.disc_path);
        let split_stem = (stem != f.disc_path).then(|| stem.into_boxed_str());
        let entry_path =
            (f.entry.path != f.disc_path.as_bytes()).then(|| f.entry.path.into_boxed_slice());
        Item {
            content_id: f.content_id,
            hash: f.hash,
            size: f.entry.size,
            path: f.disc_path,
            split_stem,
            entry_path,
            mtime_ns: f.entry.mtime_ns,
            written: f.written.map_or(0, |w| w.end),
            parts_written: f.written.map_or(0, |w| w.parts),
        }
    }
}

impl Iterator for Files<'_> {
    type Item = Result<File>;
    fn next(&mut self) -> Option<Result<File>> {
        loop {
            let e = match self.entries.next()? {
                Ok(e) => e,
                Err(err) => return Some(Err(err)),
            };
            let is_dir = e.kind == EntryKind::Directory;
            if e.kind == EntryKind::Symlink {
                continue;
            }
            let disc_path = self.names.map(&e.path, is_dir);
            if is_dir {
                continue;
            }
            let (Some(content_id), Some(hash)) = (e.content_id, e.hash) else {
                self.unhashed += 1;
                continue;
            };
            let written = self.placed.get(&content_id).copied();
            if written.is_some_and(|w| w.complete) {
                continue;
            }
            return Some(Ok(File {
                entry: e,
                disc_path,
                content_id,
                hash,
                written,
            }));
        }
    }
}

/// The items of a snapshot planned without `--first`, in plan order (path order, each
/// content under its first name), read from the catalogue as they are taken: nothing is
/// held but a page of entries and a bit a content.
pub struct Items<'c> {
    files: Files<'c>,
    seen: Bits,
}

impl std::fmt::Debug for Items<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items")
            .field("after", &self.files.entries.after)
            .field("unhashed", &self.files.unhashed)
            .finish()
    }
}

impl<'c> Items<'c> {
    /// The items of `snapshot` not complete in `placed`.
    pub fn new(
        catalogue: &'c Catalogue,
        snapshot: i64,
        placed: &'c HashMap<i64, WrittenExtent>,
    ) -> Result<Items<'c>> {
        Ok(Items {
            files: Files::new(catalogue, snapshot, placed)?,
            seen: Bits::default(),
        })
    }

    /// Files read so far that have no content (could not be read): not archived.
    pub fn unhashed(&self) -> u64 {
        self.files.unhashed
    }
}

impl Iterator for Items<'_> {
    type Item = Result<Item>;
    fn next(&mut self) -> Option<Result<Item>> {
        loop {
            let f = match self.files.next()? {
                Ok(f) => f,
                Err(e) => return Some(Err(e)),
            };
            if self.seen.insert(f.content_id) {
                return Some(Ok(self.files.item(f)));
            }
        }
    }
}

/// Reads the items of `snapshot`: every content not complete in `placed`, under its first name
/// in plan order (the `first` folders in the order given, then the rest; each in path order).
/// A content split across discs of which only the first parts are written continues after
/// them. All are held: without `first`, [`Items`] gives the same items one at a time.
pub fn gather(
    catalogue: &Catalogue,
    snapshot: i64,
    first: &[Vec<u8>],
    placed: &HashMap<i64, WrittenExtent>,
) -> Result<Gathered> {
    let mut out = Gathered::default();
    if first.is_empty() {
        let mut items = Items::new(catalogue, snapshot, placed)?;
        out.items = items.by_ref().collect::<Result<_>>()?;
        out.unhashed = items.unhashed();
        return Ok(out);
    }
    // The items of each group (the `first` folders in the order given, then the rest), each
    // in path order as the entries come. An item whose content turns up later under a name of
    // an earlier group moves there and leaves a `None`.
    let mut groups: Vec<Vec<Option<Item>>> = (0..=first.len()).map(|_| Vec::new()).collect();
    // Where each content's item is, for that move.
    let mut at: HashMap<i64, (usize, usize)> = HashMap::new();
    let mut files = Files::new(catalogue, snapshot, placed)?;
    while let Some(f) = files.next() {
        let f = f?;
        let content_id = f.content_id;
        let group = first
            .iter()
            .position(|p| under(&f.entry.path, p))
            .unwrap_or(first.len());
        match at.get(&content_id) {
            Some(&(g, _)) if g <= group => {}
            Some(&(g, i)) => {
                groups[g][i] = None;
                at.insert(content_id, (group, groups[group].len()));
                groups[group].push(Some(files.item(f)));
            }
            None => {
                at.insert(content_id, (group, groups[group].len()));
                groups[group].push(Some(files.item(f)));
            }
        }
    }
    out.unhashed = files.unhashed;
    drop(at);
    let mut items: Vec<Item> = Vec::new();
    for (g, group) in groups.into_iter().enumerate() {
        items.extend(group.into_iter().flatten());
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
