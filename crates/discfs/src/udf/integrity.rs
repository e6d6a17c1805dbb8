//! Logical Volume Integrity Descriptor (ECMA-167 3/10.10, UDF 2.2.6): a closed volume's
//! counts and sizes, which readers such as udfinfo and Windows check.

use super::fields::{
    UDF_REVISION, implementation_id, put_u16, put_u32, put_u64, timestamp, u16_at, u32_at, u64_at,
};
use super::tag::{self, TagId};
use crate::error::ReadError;
use crate::time::Timestamp;

/// What the descriptor records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integrity {
    /// Recording time.
    pub recorded: Timestamp,
    /// Next unique id to give out (greater than every one used).
    pub next_unique_id: u64,
    /// Sectors in the (only) partition; the size table entry.
    pub partition_length: u32,
    /// Files in the volume.
    pub files: u32,
    /// Directories in the volume, the root included.
    pub dirs: u32,
    /// Whether the integrity type is "close".
    pub closed: bool,
}

/// Bytes of the descriptor with one partition and UDF implementation use.
pub const LEN: usize = 80 + 8 + 46;

impl Integrity {
    /// The descriptor recorded at `sector`: closed, free space 0 (read-only media).
    pub fn to_bytes(&self, sector: u32) -> Vec<u8> {
        let mut d = vec![0u8; LEN];
        d[16..28].copy_from_slice(&timestamp(self.recorded));
        put_u32(&mut d, 28, 1); // integrity type: close
        // 32: next integrity extent: none.
        put_u64(&mut d, 40, self.next_unique_id);
        put_u32(&mut d, 72, 1); // number of partitions
        put_u32(&mut d, 76, 46); // length of implementation use
        put_u32(&mut d, 80, 0); // free space table
        put_u32(&mut d, 84, self.partition_length); // size table
        d[88..120].copy_from_slice(&implementation_id());
        put_u32(&mut d, 120, self.files);
        put_u32(&mut d, 124, self.dirs);
        put_u16(&mut d, 128, UDF_REVISION); // minimum read revision
        put_u16(&mut d, 130, UDF_REVISION); // minimum write revision
        put_u16(&mut d, 132, UDF_REVISION); // maximum write revision
        tag::seal(&mut d, TagId::LogicalVolumeIntegrity, sector);
        d
    }

    /// Parses and checks the descriptor read at `sector`.
    pub fn parse(b: &[u8], sector: u32) -> Result<Integrity, ReadError> {
        tag::check(b, TagId::LogicalVolumeIntegrity, sector, u64::from(sector))?;
        let corrupt = |reason: &str| ReadError::Corrupt {
            what: "UDF logical volume integrity descriptor",
            sector: u64::from(sector),
            reason: reason.to_owned(),
        };
        let partitions = u32_at(b, 72) as usize;
        let iu_len = u32_at(b, 76) as usize;
        let iu = 80usize
            .checked_add(
                partitions
                    .checked_mul(8)
                    .ok_or_else(|| corrupt("partition count"))?,
            )
            .ok_or_else(|| corrupt("partition count"))?;
        if partitions == 0 || iu_len < 46 || b.len() < iu + 46 {
            return Err(corrupt("tables or implementation use out of bounds"));
        }
        Ok(Integrity {
            recorded: super::fields::parse_timestamp(&b[16..28]).unwrap_or_default(),
            next_unique_id: u64_at(b, 40),
            partition_length: u32_at(b, 80 + 4 * partitions),
            files: u32_at(b, iu + 32),
            dirs: u32_at(b, iu + 36),
            closed: u32_at(b, 28) == 1,
        })
    }
}

/// Minimum UDF read revision recorded in a descriptor built by [`Integrity::to_bytes`].
pub fn min_read_revision(b: &[u8]) -> u16 {
    u16_at(b, 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let i = Integrity {
            recorded: Timestamp::new(1_000_000, 0),
            next_unique_id: 42,
            partition_length: 777,
            files: 10,
            dirs: 3,
            closed: true,
        };
        let b = i.to_bytes(64);
        assert_eq!(b.len(), 134);
        assert_eq!(u32_at(&b, 84), 777);
        assert_eq!(&b[89..96], b"*discfs");
        assert_eq!(min_read_revision(&b), 0x0102);
        assert_eq!(Integrity::parse(&b, 64).unwrap(), i);
    }
}
