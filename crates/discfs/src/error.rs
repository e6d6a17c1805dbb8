//! Errors of the image crate.
//!
//! Policy: every error says what it concerns — the file's path in the tree, the source file on
//! disk, or the sector of the image — and why. Building a tree and laying it out fail only on
//! input the formats cannot hold ([`TreeError`], [`LayoutError`]); writing fails on I/O and on
//! sources that do not deliver what the tree promised ([`WriteError`]); reading fails on images
//! that are not what they claim ([`ReadError`]). Nothing in this crate panics on bad input.

use std::io;
use std::path::PathBuf;

/// A tree that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A name that no file system can hold: empty, `.`, `..`, with `/` or NUL, or over 65535 bytes.
    #[error("invalid name {0:?}: names must be non-empty, not . or .., without / or NUL")]
    InvalidName(String),
    /// Two children of one directory with the same name.
    #[error("two entries named {name:?} in one directory")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// A node id that is not a directory of this builder was used as a parent.
    #[error("node {0} is not a directory of this tree")]
    NotADirectory(u32),
    /// An in-memory source whose length differs from the file's size.
    #[error("file {name:?} is {size} bytes but its source holds {source_len}")]
    SourceLength {
        /// The file's name.
        name: String,
        /// The size given for the file.
        size: u64,
        /// The length of the bytes given.
        source_len: u64,
    },
    /// More than 2^32 nodes or 4 GiB of names.
    #[error("tree too large: more than 2^32 nodes or 4 GiB of names")]
    TooManyNodes,
}

/// A tree that cannot be laid out as an image.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A file too large for one UDF file entry's allocation descriptors.
    #[error("{path}: {size} bytes is more than one UDF file entry can describe ({max} bytes)")]
    FileTooLarge {
        /// Path of the file in the tree.
        path: String,
        /// Its size.
        size: u64,
        /// The largest size supported.
        max: u64,
    },
    /// A directory whose identifiers need more than a 32-bit extent.
    #[error("{path}: directory too large for the image formats")]
    DirectoryTooLarge {
        /// Path of the directory in the tree.
        path: String,
    },
    /// The image would need more than 2^32 sectors.
    #[error("image too large: {sectors} sectors is more than 2^32")]
    ImageTooLarge {
        /// Sectors needed.
        sectors: u64,
    },
    /// The ISO 9660 view cannot address the tree (identifiers, entries or directories past
    /// what its 32-bit tables hold).
    #[error("ISO 9660: {0}")]
    Iso9660(String),
    /// A parity file the layout cannot place: a second one, a bad percent, or a size that
    /// is not the one the layout needs (lay such trees out with `layout_with_parity`).
    #[error("{path}: parity file: {reason}")]
    Parity {
        /// Path of the parity file in the tree.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A volume field that is out of range (set size 0, sequence number beyond set size, ...).
    #[error("volume field {field}: {reason}")]
    Volume {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Writing an image failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Reading a file's source failed.
    #[error("{}: reading source of {file}: {source}", path.display())]
    Source {
        /// Path of the file in the tree.
        file: String,
        /// The source file on disk.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A source that ended before the file's size.
    #[error("{}: source of {file} ended after {got} of {expected} bytes (changed since it was scanned?)", path.display())]
    SourceShort {
        /// Path of the file in the tree.
        file: String,
        /// The source file on disk.
        path: PathBuf,
        /// Bytes read.
        got: u64,
        /// Bytes expected.
        expected: u64,
    },
    /// The observer refused a file (the caller's hash check failed, say).
    #[error("{file}: refused")]
    Refused {
        /// Path of the file in the tree.
        file: String,
        /// The observer's reason, in the caller's own error type.
        #[source]
        reason: crate::writer::Refusal,
    },
    /// Writing to the sink failed.
    #[error("writing image at byte {offset}: {source}")]
    Sink {
        /// Byte offset in the image where the write failed.
        offset: u64,
        /// The cause.
        source: io::Error,
    },
    /// The layout was made for another tree.
    #[error("layout does not belong to this tree")]
    LayoutMismatch,
    /// The layout has a parity file but no spill was given for its blocks.
    #[error("the layout has a parity file: write it with write_protected_image and a spill")]
    NoSpill,
    /// Computing the parity area failed (its spill, mostly).
    #[error("parity area: {0}")]
    Parity(#[from] crate::parity::ParityError),
}

/// Reading an image failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// I/O failed.
    #[error("reading image at byte {offset}: {source}")]
    Io {
        /// Byte offset in the image.
        offset: u64,
        /// The cause.
        source: io::Error,
    },
    /// The image ends before a structure it points to.
    #[error("image truncated: sector {sector} is past its end ({sectors} sectors)")]
    Truncated {
        /// The sector wanted.
        sector: u64,
        /// Sectors in the image.
        sectors: u64,
    },
    /// A structure that is not what the format requires.
    #[error("corrupt {what} at sector {sector}: {reason}")]
    Corrupt {
        /// The structure.
        what: &'static str,
        /// Where it is.
        sector: u64,
        /// What is wrong.
        reason: String,
    },
    /// No file system of the asked kind on the image.
    #[error("no {0} file system found on the image")]
    NotFound(&'static str),
    /// Writing data read from the image to the caller's sink failed.
    #[error("writing extracted data: {0}")]
    Output(#[source] io::Error),
    /// A path that is not in the image.
    #[error("{0}: no such file or directory in the image")]
    NoSuchPath(String),
}
