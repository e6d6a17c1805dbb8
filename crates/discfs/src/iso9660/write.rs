//! Writing the planned view: path tables, directories, the volume descriptors, and the map
//! of ISO 9660 paths to tree nodes. Sector numbers come from the caller's layout.

use super::MAX_EXTENT_BYTES;
use super::descriptor::{self, DESCRIPTOR_LEN, PrimaryVolumeDescriptor};
use super::dirrec::{DirRecord, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, ID_PARENT, ID_SELF};
use super::encode::{short_date, to_charset};
use super::names;
use super::pathtable;
use super::plan::{IsoPlan, NONE, extent_count};
use crate::SECTOR;
use crate::tree::{NodeId, Tree};
use crate::volume::VolumeInfo;

impl IsoPlan {
    /// Appends one path table (little-endian L or big-endian M), exactly
    /// [`path_table_bytes`](Self::path_table_bytes) bytes. `dir_extents[d]` = first sector of
    /// dir d. Parent numbers above 65,535 are recorded as 65,535 (see [`super::pathtable`]).
    ///
    /// # Panics
    /// If `dir_extents` has fewer than [`dir_count`](Self::dir_count) entries.
    pub fn write_path_table(&self, dir_extents: &[u32], big_endian: bool, out: &mut Vec<u8>) {
        let mut id = Vec::with_capacity(names::DIR_ID_MAX);
        for (d, dir) in self.dirs.iter().enumerate() {
            id.clear();
            if d == 0 {
                id.extend_from_slice(ID_SELF);
            } else {
                id.extend_from_slice(self.identifier(dir.node as usize).0.as_bytes());
            }
            let parent = u16::try_from(dir.parent + 1).unwrap_or(u16::MAX);
            pathtable::write_record(dir_extents[d], parent, &id, big_endian, out);
        }
    }

    /// The record of directory `d` itself (for ".", "..", its parent's listing and the PVD).
    fn dir_record(
        &self,
        tree: &Tree,
        d: usize,
        dir_extents: &[u32],
        identifier: &[u8],
    ) -> DirRecord {
        let node = self.dirs[d].node;
        let mtime = tree.mtime(NodeId(if node == NONE { 0 } else { node }));
        DirRecord {
            ext_attr_len: 0,
            extent: dir_extents[d],
            data_length: self.dirs[d].sectors.saturating_mul(SECTOR as u32),
            recorded: short_date(mtime),
            flags: FLAG_DIRECTORY,
            volume_sequence: self.volume_sequence,
            identifier: identifier.to_vec(),
        }
    }

    /// Appends exactly `dir_sectors(dir) * 2048` bytes: the directory's records ("." and
    /// ".." first, then the entries sorted per ECMA-119 9.3). `file_extents[node.index()]`
    /// = first sector of that file's data (for 0-byte files whatever the layout gives,
    /// written as is). A file of more than [`MAX_EXTENT_BYTES`] gets one record per
    /// 0xFFFFF800-byte part, consecutive parts of its one contiguous run, all but the last
    /// flagged multi-extent.
    ///
    /// # Panics
    /// If `dir` is out of range or the slices are shorter than the directory and node counts.
    pub fn write_dir(
        &self,
        tree: &Tree,
        dir: usize,
        dir_extents: &[u32],
        file_extents: &[u32],
        out: &mut Vec<u8>,
    ) {
        let base = out.len();
        let total = self.dirs[dir].sectors as usize * SECTOR as usize;
        out.reserve(total);
        let put = |out: &mut Vec<u8>, rec: &DirRecord| {
            let used = (out.len() - base) % SECTOR as usize;
            if used + rec.encoded_len() > SECTOR as usize {
                out.resize(out.len() + SECTOR as usize - used, 0);
            }
            rec.write_to(out);
        };
        put(out, &self.dir_record(tree, dir, dir_extents, ID_SELF));
        let parent = self.dirs[dir].parent as usize;
        put(out, &self.dir_record(tree, parent, dir_extents, ID_PARENT));

        let mut id = Vec::with_capacity(40);
        for &entry in self.entries_of(dir) {
            id.clear();
            self.write_identifier(tree, entry, &mut id);
            if entry == NONE || tree.is_dir(NodeId(entry)) {
                let child = if entry == NONE {
                    self.dirs.iter().position(|x| x.node == NONE).unwrap_or(0)
                } else {
                    self.dir_of[entry as usize] as usize
                };
                put(out, &self.dir_record(tree, child, dir_extents, &id));
                continue;
            }
            let node = NodeId(entry);
            let size = tree.size(node);
            let count = extent_count(size);
            let mut rec = DirRecord {
                ext_attr_len: 0,
                extent: 0,
                data_length: 0,
                recorded: short_date(tree.mtime(node)),
                flags: 0,
                volume_sequence: self.volume_sequence,
                identifier: std::mem::take(&mut id),
            };
            let start = file_extents[node.index()];
            for part in 0..count {
                let offset = part * MAX_EXTENT_BYTES;
                rec.extent = start.saturating_add((offset / SECTOR) as u32);
                rec.data_length = (size - offset).min(MAX_EXTENT_BYTES) as u32;
                rec.flags = if part + 1 < count {
                    FLAG_MULTI_EXTENT
                } else {
                    0
                };
                put(out, &rec);
            }
            id = rec.identifier;
        }
        debug_assert!(
            out.len() - base <= total,
            "directory grew past its planned size"
        );
        out.resize(base + total, 0);
    }

    /// The 2048-byte Primary Volume Descriptor. Identifiers are mapped to their character
    /// sets: volume id to 32 d-characters, volume set id to 128 d-characters, publisher and
    /// application ids to 128 a-characters. Creation and modification dates are
    /// `volume.created`; expiration and effective dates are not specified.
    pub fn primary_volume_descriptor(
        &self,
        tree: &Tree,
        volume: &VolumeInfo,
        volume_sectors: u32,
        path_table_l: u32,
        path_table_m: u32,
        dir_extents: &[u32],
    ) -> [u8; DESCRIPTOR_LEN] {
        PrimaryVolumeDescriptor {
            system_id: String::new(),
            volume_id: to_charset(&volume.volume_id, 32, false),
            volume_space_size: volume_sectors,
            volume_set_size: volume.set_size,
            volume_sequence_number: volume.sequence_number,
            logical_block_size: SECTOR as u16,
            path_table_size: self.path_table_bytes,
            path_table_l,
            path_table_m,
            root: self.dir_record(tree, 0, dir_extents, ID_SELF),
            volume_set_id: to_charset(&volume.volume_set_id, 128, false),
            publisher_id: to_charset(&volume.publisher_id, 128, true),
            data_preparer_id: String::new(),
            application_id: to_charset(&volume.application_id, 128, true),
            created: Some(volume.created),
            modified: Some(volume.created),
            file_structure_version: 1,
        }
        .to_bytes()
    }

    /// The Volume Descriptor Set Terminator.
    pub fn terminator() -> [u8; DESCRIPTOR_LEN] {
        descriptor::terminator()
    }

    /// Every ISO 9660 path with the tree node it shows, directories included, root
    /// excluded, in path table order of their directories. Paths are as readers show them:
    /// `/`-separated, no leading `/`, without the `;1` version and without the `.` of an
    /// empty extension (`DOCS/README`, `DOCS/NOTES.TXT`, `_DEEP/LEVEL9/FILE.BIN`).
    pub fn paths<'a>(&'a self, _tree: &'a Tree) -> impl Iterator<Item = (String, NodeId)> + 'a {
        (0..self.dirs.len()).flat_map(move |d| {
            let prefix = self.dir_path(d);
            self.entries_of(d)
                .iter()
                .filter(|&&e| e != NONE)
                .map(move |&e| {
                    let name = self.shown_name(e);
                    let path = if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix}/{name}")
                    };
                    (path, NodeId(e))
                })
        })
    }
}
