//! The UDF side of a layout: each entry's identifier, each directory's size, and the bytes
//! of file entries and directories once the layout has placed them.

use std::collections::HashMap;

use super::entry::{self, FILE_TYPE_DIRECTORY, FILE_TYPE_FILE, FileEntry};
use super::{cs0, fid, names};
use crate::SECTOR;
use crate::error::LayoutError;
use crate::tree::{NodeId, Tree};

/// Names UDF could not hold and what was recorded instead, and each directory's size.
#[derive(Debug, Default)]
pub struct UdfPlan {
    renamed: HashMap<NodeId, String>,
    /// Bytes of file identifier descriptors in each directory, by node index (0 for files).
    dir_bytes: Vec<u32>,
}

impl UdfPlan {
    /// Names and directory sizes for `tree`; files too large for one file entry are refused.
    pub fn new(tree: &Tree) -> Result<UdfPlan, LayoutError> {
        let mut plan = UdfPlan {
            renamed: HashMap::new(),
            dir_bytes: vec![0; tree.len()],
        };
        for id in tree.ids() {
            if !tree.is_dir(id) {
                let size = tree.size(id);
                if size > entry::MAX_FILE_SIZE {
                    return Err(LayoutError::FileTooLarge {
                        path: tree.path(id),
                        size,
                        max: entry::MAX_FILE_SIZE,
                    });
                }
                continue;
            }
            let children = tree.children(id);
            let short = names::shorten_siblings(children.clone().map(|c| tree.name(c)));
            let mut bytes = fid::len(0) as u64;
            for (child, short) in children.zip(short) {
                let name_len = match &short {
                    Some(s) => cs0::encoded_len(s),
                    None => cs0::encoded_len(tree.name(child)),
                };
                bytes += fid::len(name_len) as u64;
                if let Some(s) = short {
                    plan.renamed.insert(child, s);
                }
            }
            plan.dir_bytes[id.index()] =
                u32::try_from(bytes).map_err(|_| LayoutError::DirectoryTooLarge {
                    path: tree.path(id),
                })?;
        }
        Ok(plan)
    }

    /// The name UDF records for `id`.
    pub fn name<'t>(&'t self, tree: &'t Tree, id: NodeId) -> &'t str {
        self.renamed
            .get(&id)
            .map_or_else(|| tree.name(id), String::as_str)
    }

    /// Every node whose UDF name differs from its tree name, with the UDF name, by node id.
    pub fn renamed(&self) -> Vec<(NodeId, &str)> {
        let mut out: Vec<(NodeId, &str)> =
            self.renamed.iter().map(|(&k, v)| (k, v.as_str())).collect();
        out.sort_unstable_by_key(|&(id, _)| id);
        out
    }

    /// Bytes of a directory's file identifiers.
    pub fn dir_bytes(&self, id: NodeId) -> u64 {
        u64::from(self.dir_bytes[id.index()])
    }

    /// Blocks of a node's own metadata: its file entry, and for a directory its identifiers.
    pub fn metadata_blocks(&self, tree: &Tree, id: NodeId) -> u64 {
        1 + if tree.is_dir(id) {
            self.dir_bytes(id).div_ceil(SECTOR)
        } else {
            0
        }
    }
}

/// UDF unique id of a node: 0 for the root, 16 and up for the rest (UDF 3.2.1.1 reserves
/// 1–15).
pub fn unique_id(id: NodeId) -> u64 {
    if id == NodeId::ROOT {
        0
    } else {
        15 + id.index() as u64
    }
}

/// The File Entry of `id` recorded at logical block `block`, its data at `data_block`.
pub fn file_entry(tree: &Tree, plan: &UdfPlan, id: NodeId, block: u32, data_block: u32) -> Vec<u8> {
    let is_dir = tree.is_dir(id);
    let subdirs = if is_dir {
        tree.children(id).filter(|&c| tree.is_dir(c)).count()
    } else {
        0
    };
    FileEntry {
        file_type: if is_dir {
            FILE_TYPE_DIRECTORY
        } else {
            FILE_TYPE_FILE
        },
        unique_id: unique_id(id),
        // A directory is named by its parent's identifier and by each subdirectory's parent
        // entry; a file by its one identifier.
        link_count: (1 + subdirs).min(usize::from(u16::MAX)) as u16,
        length: if is_dir {
            plan.dir_bytes(id)
        } else {
            tree.size(id)
        },
        data_block,
        mtime: tree.mtime(id),
    }
    .to_bytes(block)
}

/// The file identifier descriptors of directory `dir`, whose data starts at logical block
/// `first_block`; `fe_block` gives each node's file entry block. Padded to whole blocks.
pub fn directory(
    tree: &Tree,
    plan: &UdfPlan,
    dir: NodeId,
    first_block: u32,
    fe_block: impl Fn(NodeId) -> u32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(plan.dir_bytes(dir).next_multiple_of(SECTOR) as usize);
    let parent = tree.parent(dir);
    let block_of = |len: usize| first_block + (len as u64 / SECTOR) as u32;
    fid::append(
        &mut out,
        fid::PARENT | fid::DIRECTORY,
        &[],
        fe_block(parent),
        unique_id(parent),
        first_block,
    );
    let mut name = Vec::new();
    for child in tree.children(dir) {
        name.clear();
        cs0::encode_into(plan.name(tree, child), &mut name);
        let characteristics = if tree.is_dir(child) {
            fid::DIRECTORY
        } else {
            0
        };
        let at = block_of(out.len());
        fid::append(
            &mut out,
            characteristics,
            &name,
            fe_block(child),
            unique_id(child),
            at,
        );
    }
    debug_assert_eq!(out.len() as u64, plan.dir_bytes(dir));
    out.resize(out.len().next_multiple_of(SECTOR as usize), 0);
    out
}
