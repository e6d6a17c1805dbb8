//! [`IsoPlan`]: the ISO 9660 level 3 view of a [`Tree`] — identifiers, hierarchy, sizes.
//! Its writers (directories, path tables, volume descriptor) are in `write.rs`.
//!
//! The plan holds, per tree node, one identifier slot (8 bytes plus the identifier text), a
//! directory index (4 bytes) and one 4-byte entry in its directory's listing: about 50 bytes
//! a node ([`IsoPlan::memory_bytes`]). Sector numbers are not part of the plan: the layout
//! decides them and passes them in, so planning stays independent of where things go.

use super::dirrec;
use super::names::{self, BaseName, Namespace};
use super::pathtable;
use super::{MAX_DIR_PATH, MAX_EXTENT_BYTES, MAX_LEVELS, RELOCATION_DIR};
use crate::SECTOR;
use crate::error::LayoutError;
use crate::tree::{NodeId, Tree};

/// Marks "no directory" in `dir_of`, and the relocation directory in entry lists.
pub(super) const NONE: u32 = u32::MAX;

/// Where a node's identifier lies in the plan's text arena.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    start: u32,
    name_len: u8,
    ext_len: u8,
}

/// One ISO 9660 directory, in path table order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dir {
    /// The tree directory it shows, or [`NONE`] for the relocation directory.
    pub(super) node: u32,
    /// Index of the parent directory (the root is its own parent).
    pub(super) parent: u32,
    /// Its records after "." and "..": `entries[start..start + len]`.
    start: u32,
    len: u32,
    /// Length of its extent in sectors.
    pub(super) sectors: u32,
}

/// The ISO 9660 level 3 view of a tree. See the [module docs](super) for the scheme.
#[derive(Debug)]
pub struct IsoPlan {
    text: String,
    slots: Vec<Slot>,
    pub(super) dir_of: Vec<u32>,
    pub(super) dirs: Vec<Dir>,
    entries: Vec<u32>,
    pub(super) path_table_bytes: u32,
    pub(super) volume_sequence: u16,
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
    /// number in its set, [`VolumeInfo::sequence_number`](crate::VolumeInfo::sequence_number)).
    pub fn with_volume_sequence(mut self, sequence: u16) -> IsoPlan {
        self.volume_sequence = sequence;
        self
    }

    fn store(&mut self, node: usize, id: &BaseName) -> Result<(), LayoutError> {
        let start = u32::try_from(self.text.len()).map_err(|_| too_many("identifiers"))?;
        self.text.push_str(id.name());
        self.text.push_str(id.ext());
        self.slots[node] = Slot {
            start,
            name_len: id.name().len() as u8,
            ext_len: id.ext().len() as u8,
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
                let base = BaseName::new(self.identifier(dir.index()).0, "");
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
                    path_len: deep.path_len + 1 + id.name().len() as u16,
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
            for &entry in self.entries_of(d) {
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
                let path = match dir.node {
                    NONE => RELOCATION_DIR.to_owned(),
                    node => tree.path(NodeId(node)),
                };
                return Err(LayoutError::DirectoryTooLarge { path });
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

    /// The entries of directory `d` (after "." and ".."), in record order.
    pub(super) fn entries_of(&self, d: usize) -> &[u32] {
        let dir = self.dirs[d];
        &self.entries[dir.start as usize..(dir.start + dir.len) as usize]
    }

    /// Name and extension of an entry (`NONE` = the relocation directory).
    pub(super) fn identifier(&self, entry: usize) -> (&str, &str) {
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
    pub(super) fn identifier_len(&self, tree: &Tree, entry: u32) -> usize {
        let (name, ext) = self.identifier(entry as usize);
        let is_file = entry != NONE && !tree.is_dir(NodeId(entry));
        name.len() + if is_file { ext.len() + 3 } else { 0 }
    }

    /// Appends the recorded identifier of `entry` to `out`.
    pub(super) fn write_identifier(&self, tree: &Tree, entry: u32, out: &mut Vec<u8>) {
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
    pub(super) fn shown_name(&self, entry: u32) -> String {
        let (name, ext) = self.identifier(entry as usize);
        if ext.is_empty() {
            name.to_owned()
        } else {
            format!("{name}.{ext}")
        }
    }

    /// The path of directory `d` as readers show it (empty for the root).
    pub(super) fn dir_path(&self, d: usize) -> String {
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

    /// Heap bytes the plan holds (for the layout's memory budget).
    pub fn memory_bytes(&self) -> usize {
        self.text.capacity()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.dir_of.capacity() * 4
            + self.dirs.capacity() * std::mem::size_of::<Dir>()
            + self.entries.capacity() * 4
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
