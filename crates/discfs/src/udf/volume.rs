//! The volume descriptor sequence (ECMA-167 3/10, UDF 2.2): Primary Volume, Implementation
//! Use Volume, Partition, Logical Volume, Unallocated Space and Terminating descriptors.
//!
//! The sequence is written twice (main and reserve) with the same contents; each descriptor's
//! tag records the sector it sits in.

use super::cs0::{decode_dstring, dstring};
use super::fields::{
    charspec_osta, domain_id, entity_id, extent_ad, implementation_id, long_ad, put_u16, put_u32,
    timestamp, u16_at, u32_at, udf_suffix,
};
use super::tag::{self, TagId};
use crate::SECTOR;
use crate::error::ReadError;
use crate::time::Timestamp;

/// Everything the sequence records, as the layout computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFields {
    /// Volume and logical volume identifier (a dstring of 32 / 128 bytes).
    pub volume_id: String,
    /// Volume set identifier (UDF 2.2.2.5: starts with 16 unique characters).
    pub volume_set_id: String,
    /// Recording time.
    pub recorded: Timestamp,
    /// First sector of the partition.
    pub partition_start: u32,
    /// Sectors in the partition.
    pub partition_length: u32,
    /// Logical block of the File Set Descriptor in the partition.
    pub file_set_block: u32,
    /// First sector of the integrity sequence (Logical Volume Integrity Descriptor).
    pub integrity_sector: u32,
    /// Free text for the LV information (publisher, application).
    pub info: [String; 3],
}

/// Descriptors of the sequence, in recording order; `first_sector` is where it starts.
pub fn sequence(v: &VolumeFields, first_sector: u32) -> Vec<Vec<u8>> {
    let s = first_sector;
    vec![
        primary_volume(v, s),
        implementation_use(v, s + 1),
        partition(v, s + 2),
        logical_volume(v, s + 3),
        unallocated_space(s + 4),
        terminating(s + 5),
    ]
}

/// Number of descriptors in [`sequence`].
pub const SEQUENCE_LEN: u32 = 6;

fn primary_volume(v: &VolumeFields, sector: u32) -> Vec<u8> {
    let mut d = vec![0u8; 512];
    put_u32(&mut d, 16, 0); // volume descriptor sequence number
    put_u32(&mut d, 20, 0); // primary volume descriptor number
    d[24..56].copy_from_slice(&dstring(&v.volume_id, 32));
    put_u16(&mut d, 56, 1); // volume sequence number
    put_u16(&mut d, 58, 1); // maximum volume sequence number
    put_u16(&mut d, 60, 2); // interchange level: a single-volume set
    put_u16(&mut d, 62, 2);
    put_u32(&mut d, 64, 1); // character set list: CS0
    put_u32(&mut d, 68, 1);
    d[72..200].copy_from_slice(&dstring(&v.volume_set_id, 128));
    d[200..264].copy_from_slice(&charspec_osta());
    d[264..328].copy_from_slice(&charspec_osta());
    // 328: volume abstract, 336: copyright notice: none.
    d[344..376].copy_from_slice(&implementation_id());
    d[376..388].copy_from_slice(&timestamp(v.recorded));
    d[388..420].copy_from_slice(&implementation_id());
    // 484: predecessor sequence location 0; 488: flags 0.
    tag::seal(&mut d, TagId::PrimaryVolume, sector);
    d
}

fn implementation_use(v: &VolumeFields, sector: u32) -> Vec<u8> {
    let mut d = vec![0u8; 512];
    put_u32(&mut d, 16, 1);
    d[20..52].copy_from_slice(&entity_id("*UDF LV Info", udf_suffix()));
    // LVInformation (UDF 2.2.7.2).
    d[52..116].copy_from_slice(&charspec_osta());
    d[116..244].copy_from_slice(&dstring(&v.volume_id, 128));
    for (i, text) in v.info.iter().enumerate() {
        let at = 244 + 36 * i;
        d[at..at + 36].copy_from_slice(&dstring(text, 36));
    }
    d[352..384].copy_from_slice(&implementation_id());
    tag::seal(&mut d, TagId::ImplementationUseVolume, sector);
    d
}

fn partition(v: &VolumeFields, sector: u32) -> Vec<u8> {
    let mut d = vec![0u8; 512];
    put_u32(&mut d, 16, 2);
    put_u16(&mut d, 20, 1); // allocated
    put_u16(&mut d, 22, 0); // partition number
    d[24..56].copy_from_slice(&entity_id("+NSR02", [0; 8]));
    // 56: partition header descriptor: no space bitmaps or tables on read-only media.
    put_u32(&mut d, 184, 1); // access type: read only
    put_u32(&mut d, 188, v.partition_start);
    put_u32(&mut d, 192, v.partition_length);
    d[196..228].copy_from_slice(&implementation_id());
    tag::seal(&mut d, TagId::Partition, sector);
    d
}

fn logical_volume(v: &VolumeFields, sector: u32) -> Vec<u8> {
    let mut d = vec![0u8; 446];
    put_u32(&mut d, 16, 3);
    d[20..84].copy_from_slice(&charspec_osta());
    d[84..212].copy_from_slice(&dstring(&v.volume_id, 128));
    put_u32(&mut d, 212, SECTOR as u32);
    d[216..248].copy_from_slice(&domain_id());
    // Logical volume contents use: where the file set descriptor sequence is (FSD + TD).
    long_ad(&mut d, 248, 2 * SECTOR as u32, v.file_set_block, 0);
    put_u32(&mut d, 264, 6); // map table length
    put_u32(&mut d, 268, 1); // one partition map
    d[272..304].copy_from_slice(&implementation_id());
    extent_ad(&mut d, 432, 2 * SECTOR as u32, v.integrity_sector);
    // Type 1 partition map: volume sequence number 1, partition 0.
    d[440] = 1;
    d[441] = 6;
    put_u16(&mut d, 442, 1);
    put_u16(&mut d, 444, 0);
    tag::seal(&mut d, TagId::LogicalVolume, sector);
    d
}

fn unallocated_space(sector: u32) -> Vec<u8> {
    let mut d = vec![0u8; 24];
    put_u32(&mut d, 16, 4);
    put_u32(&mut d, 20, 0);
    tag::seal(&mut d, TagId::UnallocatedSpace, sector);
    d
}

/// Terminating Descriptor (ECMA-167 3/10.9) recorded at `location`.
pub fn terminating(location: u32) -> Vec<u8> {
    let mut d = vec![0u8; 512];
    tag::seal(&mut d, TagId::Terminating, location);
    d
}

/// What a reader needs from a volume descriptor sequence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedVolume {
    /// Volume identifier from the Primary Volume Descriptor.
    pub volume_id: String,
    /// Volume set identifier.
    pub volume_set_id: String,
    /// Partition number, start sector and length from the Partition Descriptor.
    pub partition: Option<(u16, u32, u32)>,
    /// Logical block size from the Logical Volume Descriptor.
    pub block_size: u32,
    /// File set descriptor location: (logical block, partition reference).
    pub file_set: Option<(u32, u16)>,
    /// Integrity sequence extent: (length, sector).
    pub integrity: (u32, u32),
    /// Partition number that partition reference 0 maps to.
    pub map0_partition: Option<u16>,
}

/// Parses one descriptor of a sequence read at `sector` into `out`; `Ok(false)` at the
/// terminating descriptor (or an unrecorded sector), which ends the sequence.
pub fn parse_into(bytes: &[u8], sector: u32, out: &mut ParsedVolume) -> Result<bool, ReadError> {
    let id = u16_at(bytes, 0);
    let check = |want| tag::check(bytes, want, sector, u64::from(sector)).map(|_| ());
    match id {
        0 | 8 => return Ok(false),
        1 => {
            check(TagId::PrimaryVolume)?;
            out.volume_id = decode_dstring(&bytes[24..56]);
            out.volume_set_id = decode_dstring(&bytes[72..200]);
        }
        5 => {
            check(TagId::Partition)?;
            out.partition = Some((u16_at(bytes, 22), u32_at(bytes, 188), u32_at(bytes, 192)));
        }
        6 => {
            check(TagId::LogicalVolume)?;
            out.block_size = u32_at(bytes, 212);
            out.file_set = Some((u32_at(bytes, 252), u16_at(bytes, 256)));
            out.integrity = (u32_at(bytes, 432), u32_at(bytes, 436));
            let maps = u32_at(bytes, 268);
            if maps >= 1 && bytes.len() >= 446 && bytes[440] == 1 {
                out.map0_partition = Some(u16_at(bytes, 444));
            }
        }
        4 | 7 => {}
        // Volume descriptor pointers and other descriptors are not used by our images.
        _ => {}
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> VolumeFields {
        VolumeFields {
            volume_id: "PHOTOS 2024".into(),
            volume_set_id: "0123456789ABCDEF set".into(),
            recorded: Timestamp::new(1_700_000_000, 0),
            partition_start: 300,
            partition_length: 1000,
            file_set_block: 0,
            integrity_sector: 64,
            info: ["a".into(), "b".into(), "c".into()],
        }
    }

    #[test]
    fn sequence_parses_back() {
        let seq = sequence(&fields(), 32);
        assert_eq!(seq.len(), SEQUENCE_LEN as usize);
        let mut parsed = ParsedVolume::default();
        for (i, d) in seq.iter().enumerate() {
            let more = parse_into(d, 32 + i as u32, &mut parsed).unwrap();
            assert_eq!(more, i + 1 < seq.len());
        }
        assert_eq!(parsed.volume_id, "PHOTOS 2024");
        assert_eq!(parsed.volume_set_id, "0123456789ABCDEF set");
        assert_eq!(parsed.partition, Some((0, 300, 1000)));
        assert_eq!(parsed.block_size, 2048);
        assert_eq!(parsed.file_set, Some((0, 0)));
        assert_eq!(parsed.integrity, (4096, 64));
        assert_eq!(parsed.map0_partition, Some(0));
    }

    #[test]
    fn logical_volume_fields_sit_where_ecma_167_puts_them() {
        let d = logical_volume(&fields(), 35);
        assert_eq!(d.len(), 446);
        assert_eq!(u32_at(&d, 212), 2048);
        assert_eq!(&d[217..236], b"*OSTA UDF Compliant");
        assert_eq!(u32_at(&d, 264), 6);
        assert_eq!(&d[440..446], &[1, 6, 1, 0, 0, 0]);
        let p = partition(&fields(), 34);
        assert_eq!(&p[25..31], b"+NSR02");
        assert_eq!(u32_at(&p, 184), 1);
    }

    #[test]
    fn a_wrong_location_is_refused() {
        let seq = sequence(&fields(), 32);
        let mut parsed = ParsedVolume::default();
        assert!(parse_into(&seq[0], 48, &mut parsed).is_err());
    }
}
