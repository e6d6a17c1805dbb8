//! ISO 9660 level 3 (ECMA-119, 4th edition 2019; ISO 9660:1988): the fallback view of the
//! bridge image.
//!
//! The view shares every file's data with UDF: a file is one contiguous run of sectors that
//! the layout allocates, and ISO 9660 only points at it. This module plans the view
//! ([`IsoPlan`]), writes its structures on request (volume descriptor, path tables,
//! directories) and reads any ISO 9660 image back ([`IsoImage`]).
//!
//! # The mapping
//!
//! * **Identifiers** are level 3 d-characters (`A`–`Z`, `0`–`9`, `_`): files `NAME.EXT;1` with
//!   name + extension ≤ 30, directories ≤ 31. Names are transliterated (`é` → `E`, `ß` →
//!   `SS`), characters with no ASCII form become `_`, and names that end up equal in one
//!   directory get `_1`, `_2`, ... suffixes ([`names`]). The result depends only on the tree.
//! * **Depth**: a directory that would sit at level 9 (the root is level 1), or whose path
//!   would be longer than [`MAX_DIR_PATH`] bytes, is moved under the top-level directory
//!   [`RELOCATION_DIR`] (`_DEEP`, a name reserved in the root, so no real directory takes
//!   it), with an identifier unique there; its own subdirectories follow it. Every path in
//!   the view therefore has at most 8 levels and at most 255 bytes. With no Rock Ridge there
//!   is no link back: [`IsoPlan::paths`] gives the caller the map from ISO 9660 path to tree
//!   node, which the catalogue keeps.
//! * **Large files**: a file larger than [`MAX_EXTENT_BYTES`] (4 GiB − 2 KiB) gets one
//!   directory record per 0xFFFFF800-byte part, each pointing at the next part of the same
//!   contiguous run; all but the last have the multi-extent flag (9.1.6 bit 7).
//! * **Volume fields**: both-endian numbers, L and M path tables, volume set size and
//!   sequence number from [`VolumeInfo`](crate::VolumeInfo), logical block size 2048, dates
//!   in UTC.
//!
//! # Example
//!
//! A miniature layout by hand (the crate's layout does this for the whole bridge image):
//!
//! ```
//! use std::io::Cursor;
//! use std::sync::Arc;
//! use discfs::iso9660::{IsoImage, IsoPlan};
//! use discfs::{FileSource, NodeId, Timestamp, TreeBuilder, VolumeInfo};
//!
//! let t = Timestamp::new(1_700_000_000, 0);
//! let mut b = TreeBuilder::new(t);
//! let docs = b.dir(NodeId::ROOT, "Docs", t)?;
//! b.file(docs, "Crème brûlée.txt", t, 5, FileSource::Bytes(Arc::from(&b"sugar"[..])))?;
//! let tree = b.build()?;
//! let plan = IsoPlan::new(&tree)?;
//!
//! // Sectors: 16 PVD, 17 terminator, 18 L table, 19 M table, then directories, then data.
//! let dir_extents: Vec<u32> = (0..plan.dir_count() as u32).map(|d| 20 + d).collect();
//! let data = 20 + plan.dir_count() as u32;
//! let mut file_extents = vec![0; tree.len()];
//! let note = tree.ids().find(|&n| tree.name(n) == "Crème brûlée.txt").unwrap();
//! file_extents[note.index()] = data;
//!
//! let mut image = vec![0u8; 16 * 2048];
//! let volume = VolumeInfo::default();
//! image.extend(plan.primary_volume_descriptor(&tree, &volume, data + 1, 18, 19, &dir_extents));
//! image.extend(IsoPlan::terminator());
//! for big_endian in [false, true] {
//!     let mut table = Vec::new();
//!     plan.write_path_table(&dir_extents, big_endian, &mut table);
//!     table.resize(2048, 0);
//!     image.extend(table);
//! }
//! for d in 0..plan.dir_count() {
//!     assert_eq!(plan.dir_sectors(d), 1);
//!     plan.write_dir(&tree, d, &dir_extents, &file_extents, &mut image);
//! }
//! image.extend(b"sugar");
//! image.resize((data as usize + 1) * 2048, 0);
//!
//! let paths: Vec<String> = plan.paths(&tree).map(|(path, _)| path).collect();
//! assert_eq!(paths, ["DOCS", "DOCS/CREME_BRULEE.TXT"]);
//!
//! let mut iso = IsoImage::open(Cursor::new(image))?;
//! let entry = iso.lookup("DOCS/CREME_BRULEE.TXT")?;
//! assert_eq!(entry.identifier, "CREME_BRULEE.TXT;1");
//! let mut content = Vec::new();
//! iso.copy_to(&entry, &mut content)?;
//! assert_eq!(content, b"sugar");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod descriptor;
pub mod dirrec;
pub mod encode;
pub mod names;
pub mod pathtable;
mod plan;
mod read;
mod write;

#[cfg(test)]
mod tests;

pub use plan::{IsoPlan, extent_count};
pub use read::{IsoEntry, IsoFileReader, IsoImage, MAX_DESCRIPTORS, MAX_WALK_DEPTH, shown_name};

/// Largest extent of one directory record: 4 GiB − 2 KiB, a whole number of sectors, so
/// the parts of a multi-extent file lie back to back.
pub const MAX_EXTENT_BYTES: u64 = 0xFFFF_F800;

/// Most directory levels, the root being level 1 (ECMA-119 6.8.2.1).
pub const MAX_LEVELS: usize = 8;

/// Longest path of a directory (identifiers joined by `/`, root excluded) that stays in
/// place: 255 minus the separator, the longest file identifier (33: 30 + `.` + `;1`) and 2
/// for the root, so every file path stays within 255 bytes however it is counted.
pub const MAX_DIR_PATH: usize = 255 - 1 - 33 - 2;

/// The top-level directory that holds relocated deep directories. Reserved in the root:
/// a real top-level entry mapping to `_DEEP` gets a suffix instead.
pub const RELOCATION_DIR: &str = "_DEEP";

/// The sector of the first volume descriptor (after the 32 KiB system area).
pub const FIRST_DESCRIPTOR_SECTOR: u64 = 16;
