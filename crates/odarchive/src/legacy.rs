//! Discs made by the original odarchive 0.1 (the Python prototype), as the catalogue knows
//! them: the `media` and labels its discs are imported under.
//!
//! Such a disc (UDF view, volume label `CDROM`) holds `/DATA/<path>`, `/catalogue.json` (the
//! same on every disc of the set), `/readme.mkd` and `/disc_info.json`. Its catalogue is
//! imported by [`crate::catalogue::import`]; what only the disc itself says (which disc it is,
//! under which name each content is stored) is read by [`crate::reader::legacy`].

use crate::catalogue::DiscRecord;

/// The `media` of a disc imported from an odarchive 0.1 catalogue: it has no image here and
/// can never be made again (its files are on the old disc only).
pub const MEDIA: &str = "odarchive 0.1";

const LABEL_PREFIX: &str = "odarchive 0.1 disc_num ";

/// The label given to 0.1's disc `disc_num` (counted from 0) in the catalogue.
pub fn label(disc_num: i64) -> String {
    format!("{LABEL_PREFIX}{disc_num}")
}

/// Whether `disc` is a disc of odarchive 0.1 (its media says so in the local catalogue; in
/// a catalogue read from a later disc, which lists discs by number and label only, its label).
pub fn is_v01_disc(disc: &DiscRecord) -> bool {
    disc.media == MEDIA || disc.label.starts_with(LABEL_PREFIX)
}
