//! [`IsoPlan`]: the ISO 9660 level 3 view of a [`Tree`] — identifiers, hierarchy, sizes —
//! and the writers of its directories, path tables and volume descriptor.
//!
//! The plan holds, per tree node, one identifier slot (8 bytes plus the identifier text)
//! and a directory index (4 bytes), plus one 4-byte entry per directory record listing: about
//! 30 bytes a file. Sector numbers are not part of the plan: the layout decides them and
//! passes them in, so planning stays independent of where things go.

use super::descriptor::{self, DESCRIPTOR_LEN, PrimaryVolumeDescriptor};
use super::dirrec::{self, DirRecord, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, ID_PARENT, ID_SELF};
use super::encode::{short_date, to_charset};
use super::names::{self, BaseName, Namespace};
use super::pathtable;
use super::{MAX_DIR_PATH, MAX_EXTENT_BYTES, MAX_LEVELS, RELOCATION_DIR};
use crate::SECTOR;
use crate::error::LayoutError;
use crate::tree::{NodeId, Tree};
use crate::volume::VolumeInfo;

/// Marks "no directory" in `dir_of`, and the relocation directory in entry lists.
const NONE: u32 = u32::MAX;

/// Where a node's identifier lies in the plan's text arena.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    start: u32,
    name_len: u8,
    ext_len: u8,
}

/// One ISO 9660 directory, in path table order.
#[derive(Debug, Clone, Copy)]
struct Dir {
    /// The tree directory it shows, or [`NONE`] for the relocation directory.
    node: u32,
    /// Index of the parent directory (the root is its own parent).
    parent: u32,
    /// Its records after "." and "..": `entries[start..start + len]`.
    start: u32,
    len: u32,
    /// Length of its extent in sectors.
    sectors: u32,
}

/// The ISO 9660 level 3 view of a tree. See the [module docs](super) for the scheme.
#[derive(Debug)]
pub struct IsoPlan {
    text: String,
    slots: Vec<Slot>,
    dir_of: Vec<u32>,
    dirs: Vec<Dir>,
    entries: Vec<u32>,
    path_table_bytes: u32,
    volume_sequence: u16,
}

/// Where a tree directory sits in the ISO hierarchy (temporary, while planning).
#[derive(Debug, Clone, Copy)]
struct Place {
    /// The tree node of its ISO parent, or [`NONE`] when relocated under the relocation dir.
    parent: u32,
    level: u8,
    path_len: u16,
}

fn too_many(what: &str) -> LayoutError {
    LayoutError::Iso9660(format!("too many {what} for the ISO 9660 tables"))
}

/// Number of directory records (extents) of a file of `size` bytes: one per
/// [`MAX_EXTENT_BYTES`], at least one.
pub fn extent_count(size: u64) -> u64 {
    size.div_ceil(MAX_EXTENT_BYTES).max(1)
}

impl IsoPlan {
    /// Maps the tree to ISO 9660 level 3: identifiers, hierarchy (directories deeper than
    /// 8 levels, or whose path would pass 255 bytes, relocated under `_DEEP`), sizes.
    /// Directory records carry volume sequence number 1; see
    /// [`with_volume_sequence`](Self::with_volume_sequence).
    pub fn new(tree: &Tree) -> Result<IsoPlan, LayoutError> {
        let n = tree.len();
        let mut plan = IsoPlan {
            text: String::new(),
            slots: vec![Slot::default(); n],
            dir_of: vec![NONE; n],
            dirs: Vec::new(),
            entries: Vec::with_capacity(n),
            path_table_bytes: 0,
            volume_sequence: 1,
        };
        plan.assign_identifiers(tree)?;
        let (places, relocated) = plan.place_directories(tree)?;
        plan.order_directories(tree, &places, &relocated)?;
        plan.size_directories(tree)?;
        Ok(plan)
    }

    /// Sets the volume sequence number written in every directory record (this disc's
    /// number in its set, [`VolumeInfo::sequence_number`]).
    pub fn with_volume_sequence(mut self, sequence: u16) -> IsoPlan {
        self.volume_sequence = sequence;
        self
    }

    fn store(&mut self, node: usize, id: &BaseName) -> Result<(), LayoutError> {
        let start = u32::try_from(self.text.len()).map_err(|_| too_many("identifiers"))?;
        self.text.push_str(&id.name);
        self.text.push_str(&id.ext);
        self.slots[node] = Slot {
            start,
            name_len: id.name.len() as u8,
            ext_len: id.ext.len() as u8,
        };
        Ok(())
    }

    /// Step 1: every node gets an identifier unique among its tree siblings.
    fn assign_identifiers(&mut self, tree: &Tree) -> Result<(), LayoutError> {
        for dir in tree.ids().filter(|&d| tree.is_dir(d)) {
            let children: Vec<NodeId> = tree.children(dir).collect();
            let bases = children
                .iter()
                .map(|&c| {
                    let name = tree.name(c);
                    if tree.is_dir(c) {
                        (names::dir_base(name), true)
                    } else {
                        (names::file_base(name), false)
                    }
                })
                .collect();
            let reserved: &[&str] = if dir == NodeId::ROOT {
                &[RELOCATION_DIR]
            } else {
                &[]
            };
            for (child, id) in children.iter().zip(names::resolve(bases, reserved)) {
                self.store(child.index(), &id)?;
            }
        }
        Ok(())
    }

    /// Step 2: each tree directory stays under its parent or, at level 9 or when its path
    /// would leave too little room for file identifiers, moves under the relocation
    /// directory with an identifier unique there. Returns the places and the relocated
    /// directories in tree order.
    fn place_directories(&mut self, tree: &Tree) -> Result<(Vec<Place>, Vec<u32>), LayoutError> {
        let root = Place {
            parent: 0,
            level: 1,
            path_len: 0,
        };
        let deep = Place {
            parent: 0,
            level: 2,
            path_len: RELOCATION_DIR.len() as u16,
        };
        let mut places = vec![root; tree.len()];
        let mut relocated = Vec::new();
        let mut deep_names = Namespace::new();
        for dir in tree.ids().skip(1).filter(|&d| tree.is_dir(d)) {
            let parent = tree.parent(dir).index();
            let up = places[parent];
            let id_len = usize::from(self.slots[dir.index()].name_len);
            let sep = usize::from(up.level > 1);
            let path_len = usize::from(up.path_len) + sep + id_len;
            places[dir.index()] = if usize::from(up.level) < MAX_LEVELS && path_len <= MAX_DIR_PATH
            {
                Place {
                    parent: parent as u32,
                    level: up.level + 1,
                    path_len: path_len as u16,
                }
            } else {
                let (name, _) = self.identifier(dir.index());
                let base = BaseName {
                    name: name.to_owned(),
                    ext: String::new(),
                };
                let id = if deep_names.claim(&base) {
                    base
                } else {
                    deep_names.claim_with_suffix(&base, names::DIR_ID_MAX)
                };
                self.store(dir.index(), &id)?;
                relocated.push(dir.0);
                Place {
                    parent: NONE,
                    level: deep.level + 1,
                    path_len: deep.path_len + 1 + id.name.len() as u16,
                }
            };
        }
        Ok((places, relocated))
    }

    /// Step 3: directories in path table order (breadth-first over the ISO hierarchy,
    /// siblings by identifier), each with its sorted record list.
    fn order_directories(
        &mut self,
        tree: &Tree,
        places: &[Place],
        relocated: &[u32],
    ) -> Result<(), LayoutError> {
        self.dirs.push(Dir {
            node: 0,
            parent: 0,
            start: 0,
            len: 0,
            sectors: 0,
        });
        self.dir_of[0] = 0;
        let mut next = 0;
        let mut list: Vec<u32> = Vec::new();
        while next < self.dirs.len() {
            let index = next as u32;
            let node = self.dirs[next].node;
            next += 1;
            list.clear();
            if node == NONE {
                list.extend_from_slice(relocated);
            } else {
                for child in tree.children(NodeId(node)) {
                    let stays = !tree.is_dir(child) || places[child.index()].parent == node;
                    if stays {
                        list.push(child.0);
                    }
                }
                if node == 0 && !relocated.is_empty() {
                    list.push(NONE);
                }
            }
            // 9.3: by file name, then extension, each compared as if padded with spaces;
            // d-characters all sort above space, so this is plain byte order of the parts.
            list.sort_unstable_by(|&a, &b| self.sort_key(a).cmp(&self.sort_key(b)));
            let start = u32::try_from(self.entries.len()).map_err(|_| too_many("entries"))?;
            self.dirs[index as usize].start = start;
            self.dirs[index as usize].len = list.len() as u32;
            self.entries.extend_from_slice(&list);
            for &entry in &list {
                if entry == NONE || tree.is_dir(NodeId(entry)) {
                    let d = u32::try_from(self.dirs.len()).map_err(|_| too_many("directories"))?;
                    if entry != NONE {
                        self.dir_of[entry as usize] = d;
                    }
                    self.dirs.push(Dir {
                        node: entry,
                        parent: index,
                        start: 0,
                        len: 0,
                        sectors: 0,
                    });
                }
            }
        }
        Ok(())
    }

    /// Step 4: extent lengths of the directories and the path table size.
    fn size_directories(&mut self, tree: &Tree) -> Result<(), LayoutError> {
        let mut table = 0u64;
        for d in 0..self.dirs.len() {
            let dir = self.dirs[d];
            let mut packer = Packer::default();
            packer.add(dirrec::record_len(1), 2);
            for &entry in &self.entries[dir.start as usize..(dir.start + dir.len) as usize] {
                let (len, count) = if entry == NONE {
                    (dirrec::record_len(RELOCATION_DIR.len()), 1)
                } else {
                    let node = NodeId(entry);
                    let count = if tree.is_dir(node) {
                        1
                    } else {
                        extent_count(tree.size(node))
                    };
                    (dirrec::record_len(self.identifier_len(tree, entry)), count)
                };
                packer.add(len, count);
            }
            let sectors = packer.sectors();
            if sectors * SECTOR > u64::from(u32::MAX) {
                return Err(LayoutError::DirectoryTooLarge {
                    path: self.dir_path(d),
                });
            }
            self.dirs[d].sectors = sectors as u32;
            let id_len = if d == 0 {
                1
            } else {
                self.identifier_len(tree, dir.node)
            };
            table += pathtable::record_len(id_len) as u64;
        }
        self.path_table_bytes = u32::try_from(table).map_err(|_| too_many("directories"))?;
        Ok(())
    }

    /// Name and extension of an entry (`NONE` = the relocation directory).
    fn identifier(&self, entry: usize) -> (&str, &str) {
        if entry == NONE as usize {
            return (RELOCATION_DIR, "");
        }
        let s = self.slots[entry];
        let start = s.start as usize;
        let mid = start + usize::from(s.name_len);
        (
            &self.text[start..mid],
            &self.text[mid..mid + usize::from(s.ext_len)],
        )
    }

    fn sort_key(&self, entry: u32) -> (&[u8], &[u8]) {
        let (name, ext) = self.identifier(entry as usize);
        (name.as_bytes(), ext.as_bytes())
    }

    /// Length of the recorded identifier: `NAME` for directories, `NAME.EXT;1` for files.
    fn identifier_len(&self, tree: &Tree, entry: u32) -> usize {
        let (name, ext) = self.identifier(entry as usize);
        let is_file = entry != NONE && !tree.is_dir(NodeId(entry));
        name.len() + if is_file { ext.len() + 3 } else { 0 }
    }

    /// Appends the recorded identifier of `entry` to `out`.
    fn write_identifier(&self, tree: &Tree, entry: u32, out: &mut Vec<u8>) {
        let (name, ext) = self.identifier(entry as usize);
        out.extend_from_slice(name.as_bytes());
        if entry != NONE && !tree.is_dir(NodeId(entry)) {
            out.push(b'.');
            out.extend_from_slice(ext.as_bytes());
            out.extend_from_slice(b";1");
        }
    }

    /// What readers show for `entry`: `NAME.EXT`, or `NAME` for directories and files
    /// without an extension.
    fn shown_name(&self, entry: u32) -> String {
        let (name, ext) = self.identifier(entry as usize);
        if ext.is_empty() {
            name.to_owned()
        } else {
            format!("{name}.{ext}")
        }
    }

    /// The path of directory `d` as readers show it (empty for the root).
    fn dir_path(&self, d: usize) -> String {
        let mut parts = Vec::new();
        let mut at = d;
        while at != 0 && parts.len() <= self.dirs.len() {
            parts.push(self.shown_name(self.dirs[at].node));
            at = self.dirs[at].parent as usize;
        }
        parts.reverse();
        parts.join("/")
    }

    /// ISO directories in path-table order (index 0 = root); includes the relocation
    /// directory if there is one.
    pub fn dir_count(&self) -> usize {
        self.dirs.len()
    }

    /// The tree directory that ISO directory `dir` shows; `None` for the relocation
    /// directory.
    pub fn dir_node(&self, dir: usize) -> Option<NodeId> {
        let node = self.dirs[dir].node;
        (node != NONE).then_some(NodeId(node))
    }

    /// Length in sectors of directory `dir`'s extent (records never straddle a sector
    /// boundary; multi-extent files have several records).
    pub fn dir_sectors(&self, dir: usize) -> u32 {
        self.dirs[dir].sectors
    }

    /// Size in bytes of one path table (the layout reserves ceil(/2048) sectors for each
    /// of L and M).
    pub fn path_table_bytes(&self) -> u32 {
        self.path_table_bytes
    }

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

        let d = self.dirs[dir];
        let mut id = Vec::with_capacity(40);
        for &entry in &self.entries[d.start as usize..(d.start + d.len) as usize] {
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
            let dir = self.dirs[d];
            let prefix = self.dir_path(d);
            self.entries[dir.start as usize..(dir.start + dir.len) as usize]
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

/// Counts the sectors that records of given lengths take when none may cross a sector
/// boundary (6.8.1.1).
#[derive(Debug, Default)]
struct Packer {
    full_sectors: u64,
    used: usize,
}

impl Packer {
    fn add(&mut self, len: usize, count: u64) {
        for _ in 0..count {
            if self.used + len > SECTOR as usize {
                self.full_sectors += 1;
                self.used = 0;
            }
            self.used += len;
        }
    }

    fn sectors(&self) -> u64 {
        self.full_sectors + u64::from(self.used > 0)
    }
}
