//! UDF 1.02 + ISO 9660 bridge disc images: exact layout, streaming writer, reader of both views.
//!
//! The crate knows nothing of catalogues or command lines. A caller builds a [`Tree`] of
//! directories and files (each file's bytes given as a [`FileSource`]), lays it out with
//! [`layout`] — a pure function that gives the exact image size and where every structure
//! and extent goes — and streams it with the writer in one ascending pass. The reader opens an
//! image over `Read + Seek` and lists and reads both views.

pub mod error;
pub mod iso9660;
pub mod layout;
pub mod sectors;
pub mod time;
pub mod tree;
pub mod udf;
pub mod volume;
pub mod writer;

pub use error::{LayoutError, ReadError, TreeError, WriteError};
pub use layout::{Layout, layout};
pub use time::{Civil, Timestamp};
pub use tree::{FileSource, NodeId, NodeKind, Tree, TreeBuilder};
pub use volume::VolumeInfo;
pub use writer::{Observer, write_image};

/// Bytes in a logical sector of every image this crate writes or reads.
pub const SECTOR: u64 = 2048;
