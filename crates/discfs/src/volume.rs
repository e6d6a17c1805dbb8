//! Fields that identify a volume and its place in a set of discs.

use crate::time::Timestamp;

/// Identification of one disc image, written into both file systems.
///
/// Strings are Unicode; each format keeps what it can hold (ISO 9660 maps them to its
/// character sets and lengths, UDF stores them as OSTA CS0 dstrings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// The disc's label (ISO 9660: 32 d-characters; UDF: up to 30 characters).
    pub volume_id: String,
    /// Names the set of discs this one belongs to (ISO 9660: 128 characters; UDF: 128 bytes).
    pub volume_set_id: String,
    /// Who made the volume.
    pub publisher_id: String,
    /// The program that wrote the volume.
    pub application_id: String,
    /// Number of discs in the set, 1 or more.
    pub set_size: u16,
    /// This disc's number in the set, 1..=set_size.
    pub sequence_number: u16,
    /// Creation time of the volume. Given, not read from the clock, so that the same input
    /// gives the same image.
    pub created: Timestamp,
}

impl Default for VolumeInfo {
    fn default() -> Self {
        VolumeInfo {
            volume_id: "CDROM".to_owned(),
            volume_set_id: String::new(),
            publisher_id: String::new(),
            application_id: concat!("DISCFS ", env!("CARGO_PKG_VERSION")).to_owned(),
            set_size: 1,
            sequence_number: 1,
            created: Timestamp::EPOCH,
        }
    }
}
