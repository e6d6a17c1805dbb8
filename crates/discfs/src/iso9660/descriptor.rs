//! Volume descriptors (ECMA-119 8): the Primary Volume Descriptor (8.4) and the Volume
//! Descriptor Set Terminator (8.3), each one 2048-byte sector from sector 16 on.
//!
//! Offsets (0-based) of the PVD fields used here:
//!
//! ```text
//!   0 type (1)          1 "CD001"          6 version (1)        8 system id (32, a-chars)
//!  40 volume id (32, d-chars)             80 volume space size (both-endian u32)
//! 120 volume set size  124 volume sequence number  128 logical block size (both-endian u16)
//! 132 path table size (both-endian u32)  140 L table (LE u32)  148 M table (BE u32)
//! 156 root directory record (34)         190 volume set id (128, d-chars)
//! 318 publisher id (128, a-chars)        446 data preparer id   574 application id
//! 702 copyright, 739 abstract, 776 bibliographic file ids (37 each)
//! 813 creation, 830 modification, 847 expiration, 864 effective date (17 each)
//! 881 file structure version (1)
//! ```

use super::dirrec::DirRecord;
use super::encode::{
    LONG_DATE_UNSET, both_u16, both_u32, get_padded, long_date, parse_long_date, put_padded,
    read_both_u16, read_both_u32,
};
use crate::time::Timestamp;

/// Size of every volume descriptor.
pub const DESCRIPTOR_LEN: usize = 2048;
/// The standard identifier at bytes 1..6 of every descriptor.
pub const STANDARD_ID: &[u8; 5] = b"CD001";
/// Volume descriptor type of the Primary Volume Descriptor.
pub const TYPE_PRIMARY: u8 = 1;
/// Volume descriptor type of the Volume Descriptor Set Terminator.
pub const TYPE_TERMINATOR: u8 = 255;

/// The type of the descriptor in `b`, if `b` holds an ISO 9660 volume descriptor (standard
/// identifier `CD001`, version 1).
pub fn descriptor_type(b: &[u8]) -> Option<u8> {
    (b.len() >= 7 && &b[1..6] == STANDARD_ID && b[6] == 1).then(|| b[0])
}

/// 8.3: the Volume Descriptor Set Terminator.
pub fn terminator() -> [u8; DESCRIPTOR_LEN] {
    let mut out = [0u8; DESCRIPTOR_LEN];
    out[0] = TYPE_TERMINATOR;
    out[1..6].copy_from_slice(STANDARD_ID);
    out[6] = 1;
    out
}

/// The fields of a Primary Volume Descriptor. Strings must already be in their field's
/// character set and length ([`super::encode::to_charset`]); longer ones are cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryVolumeDescriptor {
    /// System identifier (a-characters, 32).
    pub system_id: String,
    /// Volume identifier (d-characters, 32).
    pub volume_id: String,
    /// Number of logical blocks in the volume.
    pub volume_space_size: u32,
    /// Number of volumes (discs) in the set.
    pub volume_set_size: u16,
    /// This volume's number in the set.
    pub volume_sequence_number: u16,
    /// Bytes per logical block (2048 for every image here).
    pub logical_block_size: u16,
    /// Bytes in one path table.
    pub path_table_size: u32,
    /// First sector of the L (little-endian) path table.
    pub path_table_l: u32,
    /// First sector of the M (big-endian) path table.
    pub path_table_m: u32,
    /// The root directory's record (identifier `[0]`).
    pub root: DirRecord,
    /// Volume set identifier (d-characters, 128).
    pub volume_set_id: String,
    /// Publisher identifier (a-characters, 128).
    pub publisher_id: String,
    /// Data preparer identifier (a-characters, 128).
    pub data_preparer_id: String,
    /// Application identifier (a-characters, 128).
    pub application_id: String,
    /// Volume creation date; `None` = not specified.
    pub created: Option<Timestamp>,
    /// Volume modification date; `None` = not specified.
    pub modified: Option<Timestamp>,
    /// File structure version (1).
    pub file_structure_version: u8,
}

impl PrimaryVolumeDescriptor {
    /// The descriptor's sector. Expiration and effective dates are "not specified".
    pub fn to_bytes(&self) -> [u8; DESCRIPTOR_LEN] {
        let mut b = [0u8; DESCRIPTOR_LEN];
        b[0] = TYPE_PRIMARY;
        b[1..6].copy_from_slice(STANDARD_ID);
        b[6] = 1;
        put_padded(&mut b[8..40], &self.system_id);
        put_padded(&mut b[40..72], &self.volume_id);
        b[80..88].copy_from_slice(&both_u32(self.volume_space_size));
        b[120..124].copy_from_slice(&both_u16(self.volume_set_size));
        b[124..128].copy_from_slice(&both_u16(self.volume_sequence_number));
        b[128..132].copy_from_slice(&both_u16(self.logical_block_size));
        b[132..140].copy_from_slice(&both_u32(self.path_table_size));
        b[140..144].copy_from_slice(&self.path_table_l.to_le_bytes());
        b[148..152].copy_from_slice(&self.path_table_m.to_be_bytes());
        let mut root = Vec::with_capacity(34);
        self.root.write_to(&mut root);
        let n = root.len().min(34);
        b[156..156 + n].copy_from_slice(&root[..n]);
        put_padded(&mut b[190..318], &self.volume_set_id);
        put_padded(&mut b[318..446], &self.publisher_id);
        put_padded(&mut b[446..574], &self.data_preparer_id);
        put_padded(&mut b[574..702], &self.application_id);
        put_padded(&mut b[702..813], "");
        let date = |t: Option<Timestamp>| t.map_or(LONG_DATE_UNSET, long_date);
        b[813..830].copy_from_slice(&date(self.created));
        b[830..847].copy_from_slice(&date(self.modified));
        b[847..864].copy_from_slice(&LONG_DATE_UNSET);
        b[864..881].copy_from_slice(&LONG_DATE_UNSET);
        b[881] = self.file_structure_version;
        b
    }

    /// Parses a Primary Volume Descriptor; an error text if `b` is not one.
    pub fn parse(b: &[u8]) -> Result<PrimaryVolumeDescriptor, String> {
        if b.len() < DESCRIPTOR_LEN {
            return Err(format!("{} bytes, a descriptor is 2048", b.len()));
        }
        match descriptor_type(b) {
            Some(TYPE_PRIMARY) => {}
            Some(t) => return Err(format!("descriptor type {t}, not primary (1)")),
            None => return Err("no CD001 standard identifier".to_owned()),
        }
        let u16_at = |at: usize| read_both_u16(&b[at..at + 4]).unwrap_or(0);
        let u32_at = |at: usize| read_both_u32(&b[at..at + 8]).unwrap_or(0);
        let root = DirRecord::parse(&b[156..190])
            .and_then(|r| r.ok_or_else(|| "empty root directory record".to_owned()))
            .map_err(|e| format!("root directory record: {e}"))?;
        Ok(PrimaryVolumeDescriptor {
            system_id: get_padded(&b[8..40]),
            volume_id: get_padded(&b[40..72]),
            volume_space_size: u32_at(80),
            volume_set_size: u16_at(120),
            volume_sequence_number: u16_at(124),
            logical_block_size: u16_at(128),
            path_table_size: u32_at(132),
            path_table_l: u32::from_le_bytes([b[140], b[141], b[142], b[143]]),
            path_table_m: u32::from_be_bytes([b[148], b[149], b[150], b[151]]),
            root,
            volume_set_id: get_padded(&b[190..318]),
            publisher_id: get_padded(&b[318..446]),
            data_preparer_id: get_padded(&b[446..574]),
            application_id: get_padded(&b[574..702]),
            created: parse_long_date(&b[813..830]),
            modified: parse_long_date(&b[830..847]),
            file_structure_version: b[881],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso9660::dirrec::{FLAG_DIRECTORY, ID_SELF};
    use crate::iso9660::encode::short_date;

    fn sample() -> PrimaryVolumeDescriptor {
        PrimaryVolumeDescriptor {
            system_id: String::new(),
            volume_id: "ARCHIVE_2026_03".to_owned(),
            volume_space_size: 0x0001_2345,
            volume_set_size: 7,
            volume_sequence_number: 3,
            logical_block_size: 2048,
            path_table_size: 10,
            path_table_l: 19,
            path_table_m: 20,
            root: DirRecord {
                ext_attr_len: 0,
                extent: 21,
                data_length: 2048,
                recorded: short_date(Timestamp::EPOCH),
                flags: FLAG_DIRECTORY,
                volume_sequence: 3,
                identifier: ID_SELF.to_vec(),
            },
            volume_set_id: "MY_SET".to_owned(),
            publisher_id: "ME".to_owned(),
            data_preparer_id: String::new(),
            application_id: "DISCFS 0.1.0".to_owned(),
            created: Some(Timestamp::new(951_827_696, 0)),
            modified: Some(Timestamp::new(951_827_696, 0)),
            file_structure_version: 1,
        }
    }

    #[test]
    fn field_offsets_follow_the_standard() {
        let b = sample().to_bytes();
        assert_eq!(b[0], 1);
        assert_eq!(&b[1..6], b"CD001");
        assert_eq!(b[6], 1);
        assert_eq!(&b[8..40], &[b' '; 32]);
        assert_eq!(&b[40..72], b"ARCHIVE_2026_03                 ");
        assert_eq!(&b[72..80], &[0; 8]);
        assert_eq!(&b[80..88], &[0x45, 0x23, 0x01, 0, 0, 0x01, 0x23, 0x45]);
        assert_eq!(&b[120..124], &[7, 0, 0, 7]);
        assert_eq!(&b[124..128], &[3, 0, 0, 3]);
        assert_eq!(&b[128..132], &[0x00, 0x08, 0x08, 0x00]);
        assert_eq!(&b[132..140], &[10, 0, 0, 0, 0, 0, 0, 10]);
        assert_eq!(&b[140..144], &[19, 0, 0, 0]);
        assert_eq!(&b[144..148], &[0; 4], "no optional L table");
        assert_eq!(&b[148..152], &[0, 0, 0, 20]);
        assert_eq!(
            (b[156], b[156 + 2], b[156 + 25], b[156 + 32], b[156 + 33]),
            (34, 21, 2, 1, 0)
        );
        assert_eq!(&b[190..196], b"MY_SET");
        assert_eq!(b[317], b' ');
        assert_eq!(&b[574..586], b"DISCFS 0.1.0");
        assert_eq!(&b[702..813], &[b' '; 111][..]);
        assert_eq!(&b[813..830], b"2000022912345600\0");
        assert_eq!(&b[847..863], b"0000000000000000");
        assert_eq!(b[881], 1);
        assert!(b[882..].iter().all(|&x| x == 0));
    }

    #[test]
    fn parse_round_trip() {
        let pvd = sample();
        assert_eq!(
            PrimaryVolumeDescriptor::parse(&pvd.to_bytes()).unwrap(),
            pvd
        );
    }

    #[test]
    fn terminator_and_refusals() {
        let t = terminator();
        assert_eq!(descriptor_type(&t), Some(255));
        assert!(t[7..].iter().all(|&x| x == 0));
        assert!(PrimaryVolumeDescriptor::parse(&t).is_err());
        assert!(PrimaryVolumeDescriptor::parse(&[0u8; 2048]).is_err());
        assert!(PrimaryVolumeDescriptor::parse(&t[..100]).is_err());
        let mut bad_root = sample().to_bytes();
        bad_root[156] = 0;
        assert!(PrimaryVolumeDescriptor::parse(&bad_root).is_err());
    }
}
