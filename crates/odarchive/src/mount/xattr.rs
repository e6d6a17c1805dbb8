//! Extended attributes that say where a file lives: `user.odarchive.disc` (the disc numbers
//! holding it, in part order, comma-separated), `user.odarchive.label` (their labels),
//! `user.odarchive.hash` (its content hash, lower-case hex). From the catalogue alone.

use super::nodes::Node;
use super::{ArchiveFs, FsError};
use crate::catalogue::EntryKind;

/// The extended attributes a file has.
pub const NAMES: [&str; 3] = [
    "user.odarchive.disc",
    "user.odarchive.label",
    "user.odarchive.hash",
];

impl ArchiveFs {
    /// The names of node `number`'s extended attributes (none for folders and symlinks).
    pub fn xattr_names(&self, number: u64) -> Result<Vec<&'static str>, FsError> {
        Ok(match self.file_xattrs(number)? {
            Some(_) => NAMES.to_vec(),
            None => Vec::new(),
        })
    }

    /// The value of extended attribute `name` of node `number`, `None` if it has none.
    pub fn xattr(&self, number: u64, name: &[u8]) -> Result<Option<Vec<u8>>, FsError> {
        let Some(values) = self.file_xattrs(number)? else {
            return Ok(None);
        };
        Ok(NAMES
            .iter()
            .position(|n| n.as_bytes() == name)
            .map(|i| values[i].clone().into_bytes()))
    }

    /// The three values of a file, `None` for any other node.
    fn file_xattrs(&self, number: u64) -> Result<Option<[String; 3]>, FsError> {
        let Node::Entry { view, id } = self.node(number)? else {
            return Ok(None);
        };
        let state = self.lock();
        let Some(entry) = self.entry(&state.catalogue, view, id)? else {
            return Ok(None);
        };
        if entry.kind != EntryKind::File {
            return Ok(None);
        }
        let placements = match entry.content_id {
            Some(c) => state.catalogue.placements_of(c)?,
            None => Vec::new(),
        };
        let label = |n: u32| {
            state
                .discs
                .iter()
                .find(|d| d.number == n)
                .map(|d| d.label.clone())
                .unwrap_or_default()
        };
        let discs: Vec<String> = placements.iter().map(|p| p.disc.to_string()).collect();
        let labels: Vec<String> = placements.iter().map(|p| label(p.disc)).collect();
        let hash = entry
            .hash
            .map(|h| crate::hex(h.as_bytes()))
            .unwrap_or_default();
        Ok(Some([discs.join(","), labels.join(","), hash]))
    }
}
