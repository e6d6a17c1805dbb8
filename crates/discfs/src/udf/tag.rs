//! Descriptor tag (ECMA-167 3/7.2): the 16 bytes that start every UDF descriptor.

use super::crc::{crc_itu, tag_checksum};
use super::fields::{u16_at, u32_at};
use crate::error::ReadError;

/// Tag identifiers (ECMA-167 3/7.2.1 and 4/7.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
#[allow(missing_docs)]
pub enum TagId {
    PrimaryVolume = 1,
    AnchorVolumePointer = 2,
    ImplementationUseVolume = 4,
    Partition = 5,
    LogicalVolume = 6,
    UnallocatedSpace = 7,
    Terminating = 8,
    LogicalVolumeIntegrity = 9,
    FileSet = 256,
    FileIdentifier = 257,
    AllocationExtent = 258,
    FileEntry = 261,
    ExtendedFileEntry = 266,
}

/// Size of a descriptor tag.
pub const TAG_LEN: usize = 16;

/// Descriptor version for UDF 1.02 (NSR02).
pub const DESCRIPTOR_VERSION: u16 = 2;

/// Fills in the tag at the start of `descriptor`: identifier, version 2, serial 0, the CRC
/// over everything after the tag, and the checksum. `location` is the sector (volume
/// structures) or the logical block in the partition (file structures) that holds it.
pub fn seal(descriptor: &mut [u8], id: TagId, location: u32) {
    let crc_len = descriptor.len() - TAG_LEN;
    let crc = crc_itu(&descriptor[TAG_LEN..]);
    let tag = &mut descriptor[..TAG_LEN];
    tag[0..2].copy_from_slice(&(id as u16).to_le_bytes());
    tag[2..4].copy_from_slice(&DESCRIPTOR_VERSION.to_le_bytes());
    tag[5] = 0;
    tag[6..8].copy_from_slice(&0u16.to_le_bytes());
    tag[8..10].copy_from_slice(&crc.to_le_bytes());
    tag[10..12].copy_from_slice(&(crc_len as u16).to_le_bytes());
    tag[12..16].copy_from_slice(&location.to_le_bytes());
    tag[4] = tag_checksum(tag);
}

/// A parsed and checked descriptor tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// Tag identifier as recorded.
    pub id: u16,
    /// Descriptor version (2 or 3).
    pub version: u16,
    /// Bytes after the tag that the CRC covers.
    pub crc_len: u16,
    /// Where the descriptor says it is.
    pub location: u32,
}

/// Parses the tag at the start of `bytes` and checks its checksum, its CRC (over as many
/// bytes as it claims, which must be present) and that it is a `want` tag recorded at
/// `location`. `sector` names the place in errors.
pub fn check(bytes: &[u8], want: TagId, location: u32, sector: u64) -> Result<Tag, ReadError> {
    let corrupt = |reason: String| ReadError::Corrupt {
        what: "UDF descriptor tag",
        sector,
        reason,
    };
    if bytes.len() < TAG_LEN {
        return Err(corrupt("shorter than a tag".into()));
    }
    let tag = Tag {
        id: u16_at(bytes, 0),
        version: u16_at(bytes, 2),
        crc_len: u16_at(bytes, 10),
        location: u32_at(bytes, 12),
    };
    if tag.id != want as u16 {
        return Err(corrupt(format!(
            "expected tag {} ({want:?}), found {}",
            want as u16, tag.id
        )));
    }
    if tag_checksum(bytes) != bytes[4] {
        return Err(corrupt(format!(
            "tag checksum {:#04x} does not match",
            bytes[4]
        )));
    }
    if !(2..=3).contains(&tag.version) {
        return Err(corrupt(format!("descriptor version {}", tag.version)));
    }
    let end = TAG_LEN + usize::from(tag.crc_len);
    let Some(covered) = bytes.get(TAG_LEN..end) else {
        return Err(corrupt(format!(
            "CRC length {} runs past the descriptor",
            tag.crc_len
        )));
    };
    let crc = u16_at(bytes, 8);
    if crc_itu(covered) != crc {
        return Err(corrupt(format!(
            "descriptor CRC {crc:#06x} does not match its contents"
        )));
    }
    if tag.location != location {
        return Err(corrupt(format!(
            "tag says location {}, found at {location}",
            tag.location
        )));
    }
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tag_has_the_spec_fields_and_checks() {
        let mut d = vec![0u8; 512];
        d[100] = 0xAB;
        seal(&mut d, TagId::AnchorVolumePointer, 256);
        assert_eq!(&d[0..4], &[2, 0, 2, 0]);
        assert_eq!(u16::from_le_bytes([d[10], d[11]]), 496);
        assert_eq!(u32::from_le_bytes([d[12], d[13], d[14], d[15]]), 256);
        let tag = check(&d, TagId::AnchorVolumePointer, 256, 256).unwrap();
        assert_eq!(tag.crc_len, 496);
    }

    #[test]
    fn damage_is_detected() {
        let mut d = vec![0u8; 64];
        seal(&mut d, TagId::FileSet, 7);
        let mut bad_body = d.clone();
        bad_body[40] ^= 1;
        assert!(check(&bad_body, TagId::FileSet, 7, 0).is_err());
        let mut bad_tag = d.clone();
        bad_tag[12] ^= 1;
        assert!(check(&bad_tag, TagId::FileSet, 7, 0).is_err());
        assert!(check(&d, TagId::FileEntry, 7, 0).is_err());
        assert!(check(&d, TagId::FileSet, 8, 0).is_err());
        assert!(check(&d[..40], TagId::FileSet, 7, 0).is_err());
    }
}
