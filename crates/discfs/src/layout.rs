//! Where everything goes: a pure function from a tree and volume fields to the exact image
//! size and the sector of every structure and extent. No file I/O.
//!
//! ```text
//! sector 0–15    system area (zeros)
//!        16      ISO 9660 Primary Volume Descriptor
//!        17      ISO 9660 Volume Descriptor Set Terminator
//!        18–20   UDF Volume Recognition Sequence: BEA01, NSR02, TEA01
//!        32–37   UDF main volume descriptor sequence (PVD, IUVD, PD, LVD, USD, TD)
//!        48–53   UDF reserve volume descriptor sequence (the same)
//!        64–65   UDF Logical Volume Integrity Descriptor, Terminating Descriptor
//!        66…     ISO 9660 path tables (L, M) and directories, skipping sector 256
//!        256     UDF Anchor Volume Descriptor Pointer
//!        P…      UDF partition: File Set Descriptor, Terminating Descriptor, then every
//!                node's File Entry in breadth-first order (a directory's identifiers right
//!                after its entry), then every file's data, depth-first, so a folder's files
//!                sit together. ISO 9660 records point at the same data.
//!        D…      with parity: the parity file's data, after every other file
//!        …       150 sectors of zeros (run-out padding)
//!        N−1     UDF Anchor Volume Descriptor Pointer (the last sector)
//! ```

use crate::SECTOR;
use crate::error::LayoutError;
use crate::iso9660::IsoPlan;
use crate::parity::{Geometry, Header};
use crate::tree::{NodeId, Tree};
use crate::udf::plan::UdfPlan;
use crate::volume::VolumeInfo;

/// Sector of the ISO 9660 Primary Volume Descriptor.
pub const ISO_PVD_SECTOR: u32 = 16;
/// First sector of the UDF Volume Recognition Sequence.
pub const VRS_SECTOR: u32 = 18;
/// First sector of the UDF main volume descriptor sequence.
pub const MAIN_VDS_SECTOR: u32 = 32;
/// First sector of the UDF reserve volume descriptor sequence.
pub const RESERVE_VDS_SECTOR: u32 = 48;
/// Length of each volume descriptor sequence extent, in sectors.
pub const VDS_SECTORS: u32 = 16;
/// Sector of the UDF Logical Volume Integrity Descriptor (a Terminating Descriptor follows).
pub const INTEGRITY_SECTOR: u32 = 64;
/// Sector of the first UDF anchor.
pub const ANCHOR_SECTOR: u32 = 256;
/// Logical blocks the partition starts with: File Set Descriptor and its terminator.
const FILE_SET_BLOCKS: u32 = 2;
/// Zero sectors between the partition and the last anchor. CD drives reading a track
/// written track-at-once often fail on its last sectors (the run-out); mkisofs pads by the
/// same 150 sectors for that reason. It also keeps the smallest image above the 300 sectors
/// that udfclient insists on.
pub const END_PAD_SECTORS: u32 = 150;

/// The placement of every structure of one image.
#[derive(Debug)]
pub struct Layout {
    pub(crate) volume: VolumeInfo,
    pub(crate) iso: IsoPlan,
    pub(crate) udf: UdfPlan,
    /// First sectors of the ISO 9660 L and M path tables.
    pub(crate) path_table: (u32, u32),
    /// First sector of each ISO 9660 directory, in path table order.
    pub(crate) iso_dirs: Vec<u32>,
    pub(crate) partition_start: u32,
    pub(crate) partition_length: u32,
    /// Logical block of each node's UDF File Entry.
    pub(crate) fe_block: Vec<u32>,
    /// First sector (absolute) of each file's data; 0 for empty files and directories.
    pub(crate) data_sector: Vec<u32>,
    pub(crate) total_sectors: u32,
    /// Files in the order their data is laid out (depth-first): the writer's order too.
    pub(crate) file_order: Vec<NodeId>,
    /// The parity file and its header, when the tree has one.
    pub(crate) parity: Option<(NodeId, Header)>,
}

/// Hands out sectors in ascending order, never across the anchor at sector 256.
struct Allocator {
    next: u64,
}

impl Allocator {
    fn take(&mut self, sectors: u64) -> u64 {
        let anchor = u64::from(ANCHOR_SECTOR);
        if sectors > 0 && self.next <= anchor && self.next + sectors > anchor {
            self.next = anchor + 1;
        }
        let at = self.next;
        self.next += sectors;
        at
    }
}

fn sector_u32(sector: u64) -> Result<u32, LayoutError> {
    u32::try_from(sector).map_err(|_| LayoutError::ImageTooLarge { sectors: sector })
}

/// Lays out `tree` with `volume`'s fields. Pure and deterministic: the same input gives the
/// same layout, and so the same image. A tree with a parity file must have been sized by
/// [`layout_with_parity`].
pub fn layout(tree: &Tree, volume: &VolumeInfo) -> Result<Layout, LayoutError> {
    let (layout, needed) = place(tree, volume)?;
    match (layout.parity, needed) {
        (Some((node, _)), Some(bytes)) if tree.size(node) != bytes => Err(LayoutError::Parity {
            path: tree.path(node),
            reason: format!(
                "{} bytes, the layout needs {bytes} (size it with layout_with_parity)",
                tree.size(node)
            ),
        }),
        _ => Ok(layout),
    }
}

/// Sizes the tree's parity file (if it has one) to the exact parity area its image needs,
/// and lays the tree out. The parity covers every sector of the image before and after it.
pub fn layout_with_parity(tree: &mut Tree, volume: &VolumeInfo) -> Result<Layout, LayoutError> {
    // The parity size grows with the sectors before it, which grow (through the file
    // entries' extents) with the parity size: both only grow, so this ends in a few rounds.
    loop {
        let (layout, needed) = place(tree, volume)?;
        match (layout.parity, needed) {
            (Some((node, _)), Some(bytes)) if tree.size(node) != bytes => {
                tree.set_size(node, bytes);
            }
            _ => return Ok(layout),
        }
    }
}

/// The tree's parity file and percent; an error for two of them or a bad percent.
fn parity_file(tree: &Tree) -> Result<Option<(NodeId, u8)>, LayoutError> {
    let mut files = tree.parity_files();
    let first = files.next();
    if let Some((second, _)) = files.next() {
        return Err(LayoutError::Parity {
            path: tree.path(second),
            reason: "a second parity file in one image".into(),
        });
    }
    match first {
        Some((node, percent)) if !(1..=100).contains(&percent) => Err(LayoutError::Parity {
            path: tree.path(node),
            reason: format!("percent {percent} is outside 1..=100"),
        }),
        other => Ok(other),
    }
}

/// The layout with the parity file at its current size, and the size in bytes it needs.
fn place(tree: &Tree, volume: &VolumeInfo) -> Result<(Layout, Option<u64>), LayoutError> {
    if volume.set_size == 0
        || volume.sequence_number == 0
        || volume.sequence_number > volume.set_size
    {
        return Err(LayoutError::Volume {
            field: "sequence_number",
            reason: format!(
                "disc {} of a set of {}",
                volume.sequence_number, volume.set_size
            ),
        });
    }
    let iso = IsoPlan::new(tree)?.with_volume_sequence(volume.sequence_number);
    let udf = UdfPlan::new(tree)?;

    let mut alloc = Allocator {
        next: u64::from(INTEGRITY_SECTOR) + 2,
    };
    let pt_sectors = u64::from(iso.path_table_bytes()).div_ceil(SECTOR);
    let pt_l = alloc.take(pt_sectors);
    let pt_m = alloc.take(pt_sectors);
    let mut iso_dirs = Vec::with_capacity(iso.dir_count());
    for d in 0..iso.dir_count() {
        iso_dirs.push(sector_u32(alloc.take(u64::from(iso.dir_sectors(d))))?);
    }
    let partition_start = alloc.next.max(u64::from(ANCHOR_SECTOR) + 1);

    let mut block = u64::from(FILE_SET_BLOCKS);
    let mut fe_block = Vec::with_capacity(tree.len());
    for id in tree.ids() {
        fe_block.push(sector_u32(block)?);
        block += udf.metadata_blocks(tree, id);
    }
    let mut data_sector = vec![0u32; tree.len()];
    let parity = parity_file(tree)?;
    let mut file_order: Vec<NodeId> = tree.files_depth_first().collect();
    if let Some((node, _)) = parity {
        file_order.retain(|&f| f != node);
        file_order.push(node);
    }
    let mut parity_start = 0;
    for &file in &file_order {
        if parity.is_some_and(|(node, _)| node == file) {
            parity_start = partition_start + block;
        }
        let size = tree.size(file);
        if size > 0 {
            data_sector[file.index()] = sector_u32(partition_start + block)?;
            block += size.div_ceil(SECTOR);
        }
    }
    let partition_length = sector_u32(block)?;
    let total = partition_start + block + u64::from(END_PAD_SECTORS) + 1;
    let (parity, needed) = match parity {
        Some((node, percent)) => {
            let parity_now = tree.size(node).div_ceil(SECTOR);
            let geometry =
                Geometry::new(total - parity_now, percent).map_err(|e| LayoutError::Parity {
                    path: tree.path(node),
                    reason: e.to_string(),
                })?;
            let header = Header::new(parity_start, geometry);
            (
                Some((node, header)),
                Some(geometry.parity_sectors() * SECTOR),
            )
        }
        None => (None, None),
    };
    let layout = Layout {
        volume: volume.clone(),
        iso,
        udf,
        path_table: (sector_u32(pt_l)?, sector_u32(pt_m)?),
        iso_dirs,
        partition_start: sector_u32(partition_start)?,
        partition_length,
        fe_block,
        data_sector,
        total_sectors: sector_u32(total)?,
        file_order,
        parity,
    };
    Ok((layout, needed))
}

impl Layout {
    /// Exact size of the image in bytes.
    pub fn image_size(&self) -> u64 {
        u64::from(self.total_sectors) * SECTOR
    }

    /// Sectors in the image.
    pub fn sectors(&self) -> u32 {
        self.total_sectors
    }

    /// The volume fields the layout was made with.
    pub fn volume(&self) -> &VolumeInfo {
        &self.volume
    }

    /// Where a file's data is: first sector and length in bytes. Empty files and
    /// directories have no data (sector 0, length 0).
    pub fn file_extent(&self, tree: &Tree, id: NodeId) -> (u32, u64) {
        (self.data_sector[id.index()], tree.size(id))
    }

    /// First sector of the UDF partition.
    pub fn partition_start(&self) -> u32 {
        self.partition_start
    }

    /// Names that UDF records differently from the tree (too long for a UDF identifier),
    /// by node: the caller keeps them to restore the original names.
    pub fn udf_renamed(&self) -> Vec<(NodeId, &str)> {
        self.udf.renamed()
    }

    /// The UDF name of a node.
    pub fn udf_name<'t>(&'t self, tree: &'t Tree, id: NodeId) -> &'t str {
        self.udf.name(tree, id)
    }

    /// Every ISO 9660 path with the node it shows: the map that makes the ISO 9660 view
    /// restorable without loss.
    pub fn iso_paths<'a>(&'a self, tree: &'a Tree) -> impl Iterator<Item = (String, NodeId)> + 'a {
        self.iso.paths(tree)
    }

    /// The parity header of the image, when its tree has a parity file.
    pub fn parity(&self) -> Option<&Header> {
        self.parity.as_ref().map(|(_, header)| header)
    }

    /// Whether this layout was made for `tree` (same node count; a cheap guard).
    pub(crate) fn fits(&self, tree: &Tree) -> bool {
        self.fe_block.len() == tree.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use crate::tree::{FileSource, TreeBuilder};
    use std::sync::Arc;

    fn tree_with(sizes: &[u64]) -> Tree {
        let t = Timestamp::new(1_700_000_000, 0);
        let mut b = TreeBuilder::new(t);
        let d = b.dir(NodeId::ROOT, "dir", t).unwrap();
        for (i, &size) in sizes.iter().enumerate() {
            let src = FileSource::Path {
                path: "/dev/zero".into(),
                offset: 0,
            };
            b.file(d, &format!("f{i}"), t, size, src).unwrap();
        }
        b.file(
            NodeId::ROOT,
            "top",
            t,
            3,
            FileSource::Bytes(Arc::from(&b"abc"[..])),
        )
        .unwrap();
        b.build().unwrap()
    }

    #[test]
    fn data_is_contiguous_ascending_and_inside_the_partition() {
        let tree = tree_with(&[0, 1, 2047, 2048, 2049]);
        let l = layout(&tree, &VolumeInfo::default()).unwrap();
        let mut next = None;
        for f in tree.files_depth_first() {
            let (start, len) = l.file_extent(&tree, f);
            if len == 0 {
                assert_eq!(start, 0);
                continue;
            }
            if let Some(n) = next {
                assert_eq!(start, n, "files follow each other");
            }
            assert!(start > l.partition_start);
            next = Some(start + len.div_ceil(SECTOR) as u32);
        }
        assert_eq!(
            next.unwrap() + END_PAD_SECTORS + 1,
            l.sectors(),
            "padding and anchor end it"
        );
        assert_eq!(
            l.partition_start + l.partition_length + END_PAD_SECTORS + 1,
            l.sectors()
        );
    }

    #[test]
    fn nothing_lands_on_the_first_anchor() {
        let tree = tree_with(&[10; 3]);
        let l = layout(&tree, &VolumeInfo::default()).unwrap();
        assert!(l.partition_start > ANCHOR_SECTOR);
        for (d, &s) in l.iso_dirs.iter().enumerate() {
            let end = s + l.iso.dir_sectors(d);
            assert!(end <= ANCHOR_SECTOR || s > ANCHOR_SECTOR);
        }
    }

    #[test]
    fn size_grows_with_data_by_whole_sectors() {
        let a = layout(&tree_with(&[2048]), &VolumeInfo::default()).unwrap();
        let b = layout(&tree_with(&[2049]), &VolumeInfo::default()).unwrap();
        assert_eq!(b.image_size() - a.image_size(), SECTOR);
    }

    #[test]
    fn volume_numbers_are_checked() {
        let tree = tree_with(&[]);
        let v = VolumeInfo {
            set_size: 2,
            sequence_number: 3,
            ..VolumeInfo::default()
        };
        assert!(matches!(layout(&tree, &v), Err(LayoutError::Volume { .. })));
    }
}
