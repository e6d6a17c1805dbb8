//! UDF 1.02 + ISO 9660 bridge disc images: exact layout, streaming writer, reader of both views.
//!
//! The crate knows nothing of catalogues or command lines. A caller builds a [`Tree`] of
//! directories and files (each file's bytes given as a [`FileSource`]), lays it out with
//! [`layout`] — a pure function that gives the exact image size and where every structure
//! and extent goes — and streams it with [`write_image`] in one ascending pass. The readers
//! ([`udf::read::UdfVolume`], [`iso9660::IsoImage`]) open an image over `Read + Seek` and list
//! and read each view.
//!
//! A tree may carry one parity file ([`TreeBuilder::parity_file`]): [`layout_with_parity`]
//! sizes it exactly and places it after every other file, [`write_protected_image`] computes
//! it in the same pass, and [`parity::repair`] rebuilds a damaged image from it (see
//! [`parity`] for the format).
//! The parity encoder runs beside the writer on a thread of its own, its sectors handed to it
//! through a [`feed::Feed`] (which odarchive also uses to hash an image as it is written).
//!
//! Both file systems share the file data: UDF 1.02 is the primary view (full names, any depth,
//! files of any size as extents of at most 1 GiB − 2 KiB), ISO 9660 level 3 the fallback (names
//! mapped to d-characters, deep directories relocated, files of 4 GiB and more as multi-extent
//! records). Names a view cannot hold are mapped deterministically and the maps are returned
//! ([`Layout::udf_renamed`], [`Layout::iso_paths`]) so that a catalogue can keep them.
//!
//! ```
//! use std::io::Cursor;
//! use std::sync::Arc;
//! use discfs::{FileSource, NodeId, Timestamp, TreeBuilder, VolumeInfo};
//! use discfs::udf::read::UdfVolume;
//!
//! let mtime = Timestamp::new(1_700_000_000, 0);
//! let mut tree = TreeBuilder::new(mtime);
//! let photos = tree.dir(NodeId::ROOT, "Photos été", mtime)?;
//! let hello: Arc<[u8]> = Arc::from(&b"hello"[..]);
//! tree.file(photos, "hello.txt", mtime, 5, FileSource::Bytes(hello))?;
//! let tree = tree.build()?;
//!
//! let volume = VolumeInfo { volume_id: "PHOTOS".into(), ..VolumeInfo::default() };
//! let layout = discfs::layout(&tree, &volume)?;
//! let mut image = Vec::new();
//! discfs::write_image(&tree, &layout, &mut image, &mut ())?;
//! assert_eq!(image.len() as u64, layout.image_size());
//!
//! let mut udf = UdfVolume::open(Cursor::new(image))?;
//! let file = udf.lookup("Photos été/hello.txt")?;
//! let mut data = Vec::new();
//! udf.copy_to(&file, &mut data)?;
//! assert_eq!(data, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod feed;
pub mod iso9660;
pub mod layout;
pub mod parity;
pub mod sectors;
pub mod time;
pub mod tree;
pub mod udf;
pub mod volume;
pub mod writer;

pub use error::{LayoutError, ReadError, TreeError, WriteError};
pub use layout::{Layout, layout, layout_with_parity};
pub use time::{Civil, Timestamp};
pub use tree::{FileSource, NodeId, NodeKind, Tree, TreeBuilder};
pub use volume::VolumeInfo;
pub use writer::{FileCheck, Observer, Refusal, SourceCheck, write_image, write_protected_image};

/// Bytes in a logical sector of every image this crate writes or reads.
pub const SECTOR: u64 = 2048;
