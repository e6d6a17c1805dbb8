//! File Set Descriptor (ECMA-167 4/14.1, UDF 2.3.2): names the file set and points at the
//! root directory's file entry.

use super::cs0::dstring;
use super::fields::{charspec_osta, domain_id, long_ad, put_u16, put_u32, timestamp, u32_at};
use super::tag::{self, TagId};
use crate::SECTOR;
use crate::error::ReadError;
use crate::time::Timestamp;

/// The descriptor for a volume whose root file entry is at logical block `root_block`,
/// itself recorded at logical block `block`.
pub fn to_bytes(volume_id: &str, recorded: Timestamp, root_block: u32, block: u32) -> Vec<u8> {
    let mut d = vec![0u8; 512];
    d[16..28].copy_from_slice(&timestamp(recorded));
    put_u16(&mut d, 28, 3); // interchange level
    put_u16(&mut d, 30, 3);
    put_u32(&mut d, 32, 1); // character set list: CS0
    put_u32(&mut d, 36, 1);
    put_u32(&mut d, 40, 0); // file set number
    put_u32(&mut d, 44, 0); // file set descriptor number
    d[48..112].copy_from_slice(&charspec_osta());
    d[112..240].copy_from_slice(&dstring(volume_id, 128));
    d[240..304].copy_from_slice(&charspec_osta());
    d[304..336].copy_from_slice(&dstring(volume_id, 32));
    // 336, 368: copyright and abstract file identifiers: none.
    long_ad(&mut d, 400, SECTOR as u32, root_block, 0);
    d[416..448].copy_from_slice(&domain_id());
    // 448: next extent: none.
    tag::seal(&mut d, TagId::FileSet, block);
    d
}

/// The root directory's ICB from a descriptor read at logical block `block`:
/// (logical block, partition reference).
pub fn parse_root(b: &[u8], block: u32, sector: u64) -> Result<(u32, u16), ReadError> {
    tag::check(b, TagId::FileSet, block, sector)?;
    Ok((u32_at(b, 404), super::fields::u16_at(b, 408)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_icb_round_trips() {
        let b = to_bytes("VOL", Timestamp::EPOCH, 2, 0);
        assert_eq!(u32_at(&b, 400), 2048);
        assert_eq!(&b[417..436], b"*OSTA UDF Compliant");
        assert_eq!(parse_root(&b, 0, 300).unwrap(), (2, 0));
    }
}
