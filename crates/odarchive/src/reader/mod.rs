//! Everything that reads a disc given back to odarchive: an image file or a mounted disc.
//!
//! - [`DiscSource`] ([`source`]; `image`, `mounted`, `read_ahead`): opens an image through both its views (UDF
//!   first, file by file ISO 9660 where UDF is damaged) or a mounted disc, lists its files and
//!   copies one out; what it found damaged is kept.
//! - [`given_discs`]: what the paths a user names stand for (an image, a mounted disc, or the
//!   images in a folder of images); every command taking such paths calls it.
//! - [`identify()`] ([`identify`](mod@identify)): which disc of the catalogue's set it is;
//!   [`open_identified`] opens a path given and identifies it, its problems pushed.
//! - [`legacy`]: what only a disc of odarchive 0.1 says (which disc it is, the names it
//!   stores contents under).
//! - [`parity`](mod@parity): a file rebuilt from the disc's own parity when its bytes do not
//!   come back right (images and drives only).
//! - [`disc_catalogue`]: the catalogue JSON a disc carries, and a catalogue made from the
//!   newest of several discs when the local one is lost.
//!
//! Verify and restore get at discs only through this module, and check every file's hash
//! themselves.

pub mod disc_catalogue;
mod given;
pub mod identify;
mod image;
pub mod legacy;
pub mod lost;
mod mounted;
pub mod parity;
mod read_ahead;
pub mod source;
pub mod temporary;

pub use disc_catalogue::{
    DiscCatalogueHead, catalogue_from_discs, catalogue_from_discs_in_zone, disc_catalogue_head,
    disc_catalogue_json, open_disc_catalogue,
};
pub use given::given_discs;
pub use identify::{IdentifyError, identify, open_identified, root_iso_name};
pub use parity::{FileRebuilt, ParityRead};
pub use source::{COPY_BUFFER, DiscError, DiscSource, Expected, FileBytes, RootFile, View};
