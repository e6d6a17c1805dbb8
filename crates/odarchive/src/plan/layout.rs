//! The exact layout of a disc being planned: the tree of its files (data at planned sizes,
//! sources never read, its README, catalogue and checksum file) laid out by the image crate,
//! so that the planner measures every disc as the writer will write it.
//!
//! Pure: items and parameters in, a layout out; no I/O.

use std::ops::Index;

use discfs::VolumeInfo;

use super::{Item, Piece};
use crate::disc::index::INDEX_NAME;
use crate::disc::{self, DATA_DIR, DataFile, RootFile, names};
use crate::error::{Error, Result};
use crate::hash::HashAlgorithm;

/// What every disc of a plan has besides its data.
#[derive(Debug, Clone)]
pub struct PackParams {
    /// Usable bytes per disc (capacity − margin, whole sectors).
    pub capacity: u64,
    /// Size of `/README.md`.
    pub readme_size: u64,
    /// Name and size of the catalogue file.
    pub catalogue: (&'static str, u64),
    /// Size of `INDEX.tsv.gz` (0: none).
    pub index_size: u64,
    /// Number of the first disc.
    pub first_number: u32,
    /// The catalogue's hash algorithm: it names the checksum file and sets its line width.
    pub hash: HashAlgorithm,
    /// Parity percent on every disc (0: none); its area is part of the exact size.
    pub parity: u8,
}

/// Digits in the part numbers of `item`: at least 3, more if it could have more parts.
pub(crate) fn part_width(size: u64, capacity: u64) -> usize {
    let most = 2 + size / (capacity / 2).max(1);
    most.to_string().len().max(3)
}

/// The path under `/Data` of a piece.
pub(crate) fn piece_path(item: &Item, piece: &Piece, capacity: u64) -> String {
    if piece.part == 0 {
        item.path.clone()
    } else {
        names::part_name(
            item.part_stem(),
            piece.part,
            part_width(item.size, capacity),
        )
    }
}

/// The tree and layout of a disc holding `pieces`, with the root files at their planned
/// sizes and sources that are never read: what the planner lays out.
///
/// The checksum file lists the UDF paths as written; where UDF shortens a name over 255 bytes the
/// list is sized again with the shortened names.
pub fn sizing_layout<I: Index<usize, Output = Item> + ?Sized>(
    items: &I,
    pieces: &[Piece],
    p: &PackParams,
    number: u32,
) -> Result<(discfs::Tree, discfs::Layout)> {
    let mut data = Vec::with_capacity(pieces.len());
    let line = |path: &str| disc::sums_line_len(p.hash, path);
    let mut fixed = line(disc::README_NAME) + line(p.catalogue.0);
    if p.index_size > 0 {
        fixed += line(INDEX_NAME);
    }
    let mut sums = fixed;
    for piece in pieces {
        let path = piece_path(&items[piece.item], piece, p.capacity);
        sums += line(&format!("{DATA_DIR}/{path}"));
        data.push(DataFile {
            path,
            size: piece.length,
            mtime_ns: 0,
            source: disc::sizing_source(),
        });
    }
    let build = |sums: usize| -> Result<(discfs::Tree, discfs::Layout)> {
        let mut root = vec![
            RootFile {
                name: disc::README_NAME,
                size: p.readme_size,
                source: disc::sizing_source(),
            },
            RootFile {
                name: p.catalogue.0,
                size: p.catalogue.1,
                source: disc::sizing_source(),
            },
            RootFile {
                name: disc::sums_name(p.hash),
                size: sums as u64,
                source: disc::sizing_source(),
            },
        ];
        if p.index_size > 0 {
            root.push(RootFile {
                name: INDEX_NAME,
                size: p.index_size,
                source: disc::sizing_source(),
            });
        }
        let mut tree = disc::build_tree(number, &root, &data, &Default::default(), 0, p.parity)?;
        let layout =
            discfs::layout_with_parity(&mut tree, &VolumeInfo::default()).map_err(|e| {
                Error::DiscImage {
                    disc: number,
                    source: Box::new(e),
                }
            })?;
        Ok((tree, layout))
    };
    let (tree, layout) = build(sums)?;
    if layout.udf_renamed().is_empty() {
        return Ok((tree, layout));
    }
    // The checksum file lists the data files only: not the parity file, which lies in a
    // folder of its own at the root too.
    let data = format!("{DATA_DIR}/");
    let mut udf_sums = fixed;
    for id in tree.ids().filter(|&id| !tree.is_dir(id)) {
        let path = udf_path(&tree, &layout, id);
        if path.starts_with(&data) {
            udf_sums += line(&path);
        }
    }
    build(udf_sums)
}

/// The UDF path of a node as the layout records it (names over 255 bytes shortened).
pub fn udf_path(tree: &discfs::Tree, layout: &discfs::Layout, mut id: discfs::NodeId) -> String {
    let mut parts = Vec::new();
    while id != discfs::NodeId::ROOT {
        parts.push(layout.udf_name(tree, id));
        id = tree.parent(id);
    }
    parts.reverse();
    parts.join("/")
}

/// The exact image size of a disc holding `pieces`.
pub fn exact_size<I: Index<usize, Output = Item> + ?Sized>(
    items: &I,
    pieces: &[Piece],
    p: &PackParams,
    number: u32,
) -> Result<u64> {
    Ok(exact_sizes(items, pieces, p, number)?.0)
}

/// The exact image size of a disc holding `pieces`, and the bytes of its parity area in it.
pub fn exact_sizes<I: Index<usize, Output = Item> + ?Sized>(
    items: &I,
    pieces: &[Piece],
    p: &PackParams,
    number: u32,
) -> Result<(u64, u64)> {
    let layout = sizing_layout(items, pieces, p, number)?.1;
    let parity = layout
        .parity()
        .map_or(0, |h| h.parity_sectors() * discfs::SECTOR);
    Ok((layout.image_size(), parity))
}

/// An upper bound, monotone in `bytes`, of the image size of a disc whose sectors outside
/// the parity area take at most `bytes`, with its parity area at `percent` % (see the
/// geometry in discfs's `parity` module: each of n windows rounds its stripes, shards and
/// CRC sectors up by at most one).
pub fn with_parity(bytes: u64, percent: u8) -> u64 {
    if percent == 0 {
        return bytes;
    }
    let sector = discfs::SECTOR;
    let covered = bytes.div_ceil(sector).max(1);
    let windows = covered.div_ceil(discfs::parity::MAX_STRIPES * discfs::parity::MAX_DATA_SHARDS);
    let data = covered + 65 * windows;
    let parity = (data * u64::from(percent)).div_ceil(100) + 64 * windows;
    let crc = (data + parity).div_ceil(discfs::parity::CRCS_PER_SECTOR) + windows;
    covered * sector + (2 + parity + 2 * crc) * sector
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by archiving a generated tree of 150,000 files: with a name UDF shortens and
    /// parity on, the planned checksum file had a line for the parity file, which the written
    /// one does not, and where that line crossed a sector the write refused the plan ("planned
    /// as N bytes but it now lays out as N - 2048").
    #[test]
    fn the_checksum_file_is_sized_with_the_data_files_udf_names_alone() {
        let long = format!("{}.txt", "n".repeat(300));
        let items: Vec<Item> = ["a.txt", &format!("dir/{long}"), "z/b.txt"]
            .iter()
            .enumerate()
            .map(|(i, path)| Item {
                content_id: i as i64,
                hash: [i as u8; 32].into(),
                size: 1000,
                path: (*path).to_owned(),
                split_stem: None,
                entry_path: None,
                mtime_ns: 0,
                written: 0,
                parts_written: 0,
            })
            .collect();
        let pieces: Vec<Piece> = (0..items.len())
            .map(|item| Piece {
                item,
                offset: 0,
                length: 1000,
                part: 0,
                parts: 1,
            })
            .collect();
        for parity in [0, 10] {
            let p = PackParams {
                capacity: 1 << 30,
                readme_size: 3000,
                catalogue: ("catalogue.json", 20_000),
                index_size: 500,
                first_number: 1,
                hash: HashAlgorithm::Sha256,
                parity,
            };
            let (tree, layout) = sizing_layout(&items, &pieces, &p, 1).unwrap();
            assert_eq!(layout.udf_renamed().len(), 1, "the long name is shortened");
            // What the writer lists: the root files and each data file by its UDF path.
            let line = |path: &str| disc::sums_line_len(p.hash, path) as u64;
            let mut want = line(disc::README_NAME) + line("catalogue.json") + line(INDEX_NAME);
            for id in tree
                .ids()
                .filter(|&id| !tree.is_dir(id) && tree.depth(id) > 1)
            {
                if tree.path(id).starts_with("Data/") {
                    want += line(&udf_path(&tree, &layout, id));
                }
            }
            let sums = disc::sums_name(p.hash);
            let node = tree
                .children(discfs::NodeId::ROOT)
                .find(|&id| tree.name(id) == sums)
                .unwrap();
            assert_eq!(tree.size(node), want, "parity {parity} %");
        }
    }
}
