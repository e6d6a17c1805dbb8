//! Turning packed discs into catalogue rows: labels, each file's UDF and ISO 9660 path from
//! the real layout, and the hash of every split part (read from the drive, in the catalogue's
//! algorithm). Each disc's rows are made as it is packed and stored as they come, never all
//! held at once.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use discfs::NodeId;

use super::layout::{PackParams, piece_path, sizing_layout, udf_path};
use super::pack::{PackedDisc, Window};
use super::sizing::Reserve;
use super::{Item, PlanOptions};
use crate::Snapshot;
use crate::catalogue::{DiscRecord, DiscState, Placement, PlanRecord};
use crate::disc::{self, DATA_DIR};
use crate::error::{Error, Result};
use crate::hash::{ContentHash, HashAlgorithm, hash_reader};
use crate::problem::ProblemKind;
use crate::snapshot_path;

/// What a plan is made with, besides its discs.
pub(super) struct PlanFacts<'a> {
    pub options: &'a PlanOptions,
    pub capacity: u64,
    pub created_ns: i64,
    pub reserve: Reserve,
    pub set_id: &'a str,
    pub hash: HashAlgorithm,
}

/// The hash of `length` bytes of `path` from `offset` (a part planned for disc `disc`).
pub(crate) fn hash_region(
    hash: HashAlgorithm,
    path: &std::path::Path,
    offset: u64,
    length: u64,
    disc: u32,
) -> Result<ContentHash> {
    let read_err = |source| Error::SourceRead {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(read_err)?;
    f.seek(SeekFrom::Start(offset)).map_err(read_err)?;
    let (hash, read) = hash_reader(hash, f.take(length)).map_err(read_err)?;
    if read < length {
        return Err(Error::source_changed(
            disc,
            path,
            ProblemKind::Changed,
            format!("it ended {} bytes early", length - read),
        ));
    }
    Ok(hash)
}

/// The plan row of a new plan, before its discs are packed: `folders_split` is known once
/// they are (see [`Folders`]).
pub(super) fn plan_record(snapshot: &Snapshot, facts: &PlanFacts<'_>) -> PlanRecord {
    PlanRecord {
        id: 0,
        created_ns: facts.created_ns,
        snapshot: snapshot.id,
        media: facts.options.media.name.clone(),
        capacity: facts.options.media.capacity,
        margin: facts.options.margin,
        first_paths: facts.options.first.clone(),
        folders_split: 0,
        catalogue_size: facts.reserve.size,
        catalogue_gzip: facts.reserve.gzip,
        parity_percent: facts.options.parity,
        index_size: facts.reserve.index,
        set_parity: facts.options.set_parity.parity,
        set_group: if facts.options.set_parity.parity > 0 {
            facts.options.set_parity.group
        } else {
            0
        },
    }
}

/// The disc row of a packed disc.
pub(super) fn disc_record(
    snapshot: &Snapshot,
    d: &PackedDisc,
    facts: &PlanFacts<'_>,
) -> DiscRecord {
    DiscRecord {
        id: 0,
        number: d.number,
        plan_id: 0,
        snapshot: snapshot.id,
        capacity: facts.options.media.capacity,
        margin: facts.options.margin,
        media: facts.options.media.name.clone(),
        label: disc::label(facts.set_id, d.number),
        state: DiscState::Planned,
        image_size: d.image_size,
        files: d.pieces.len() as u64,
        bytes: d.pieces.iter().map(|p| p.length).sum(),
        image_name: None,
        image_sha256: None,
        written_ns: None,
        verified_ns: None,
        set_id: facts.set_id.to_owned(),
    }
}

/// The folders (under /Data) of the discs packed so far: the first disc seen with each, and
/// whether it spans discs.
#[derive(Debug, Default)]
pub(super) struct Folders(HashMap<String, (u32, bool)>);

impl Folders {
    /// Adds the folders of disc `d`.
    pub fn add(&mut self, items: &Window<Item>, d: &PackedDisc, capacity: u64) {
        for piece in &d.pieces {
            let path = piece_path(&items[piece.item], piece, capacity);
            let folder = path.rfind('/').map_or("", |i| &path[..i]);
            match self.0.get_mut(folder) {
                Some(seen) => seen.1 |= seen.0 != d.number,
                None => {
                    self.0.insert(folder.to_owned(), (d.number, false));
                }
            }
        }
    }

    /// Folders whose files span more than one disc.
    pub fn split(&self) -> u64 {
        self.0.values().filter(|(_, split)| *split).count() as u64
    }
}

/// The hashes of split parts made so far: `(content, offset, length)` → hash.
pub(super) type PartHashes = HashMap<(i64, u64, u64), ContentHash>;

/// Makes the placements of the packed disc `d` and hands each to `put`: its UDF and ISO 9660
/// paths from the disc's real layout, and the hash of every split part.
pub(super) fn placements(
    snapshot: &Snapshot,
    items: &Window<Item>,
    d: &PackedDisc,
    params: &PackParams,
    facts: &PlanFacts<'_>,
    part_hashes: &mut PartHashes,
    put: &mut dyn FnMut(&Placement) -> Result<()>,
) -> Result<()> {
    let (tree, layout) = sizing_layout(items, &d.pieces, params, d.number)?;
    let iso: HashMap<NodeId, String> = layout.iso_paths(&tree).map(|(p, id)| (id, p)).collect();
    let mut by_path: HashMap<String, NodeId> = HashMap::new();
    for id in tree.ids() {
        if !tree.is_dir(id) {
            by_path.insert(tree.path(id), id);
        }
    }
    for piece in &d.pieces {
        let item = &items[piece.item];
        let path = piece_path(item, piece, facts.capacity);
        let name_path = format!("{DATA_DIR}/{path}");
        let id = by_path.get(&name_path).copied().ok_or_else(|| {
            Error::Internal(format!(
                "{name_path} is missing from the tree of disc {}",
                d.number
            ))
        })?;
        let part_hash = if piece.part == 0 {
            None
        } else {
            let (offset, length) = (piece.offset, piece.length);
            let key = (item.content_id, offset, length);
            let hash = match part_hashes.get(&key) {
                Some(&hash) => hash,
                None => {
                    let source = snapshot_path(snapshot, item.raw_path());
                    let hash = hash_region(facts.hash, &source, offset, length, d.number)?;
                    part_hashes.insert(key, hash);
                    hash
                }
            };
            Some(hash)
        };
        put(&Placement {
            content_id: item.content_id,
            content_hash: item.hash,
            content_size: item.size,
            disc: d.number,
            part: piece.part,
            parts: piece.parts,
            offset: piece.offset,
            length: piece.length,
            part_hash,
            entry_path: item.raw_path().to_vec(),
            disc_path: udf_path(&tree, &layout, id),
            iso_path: iso.get(&id).cloned().unwrap_or_default(),
            name_path,
        })?;
    }
    Ok(())
}
