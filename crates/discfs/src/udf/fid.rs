//! File Identifier Descriptor (ECMA-167 4/14.4): one per name in a directory, pointing at
//! the named entry's File Entry.

use super::fields::{long_ad, put_u16, u16_at, u32_at};
use super::tag::{self, TagId};
use crate::SECTOR;
use crate::error::ReadError;

/// File characteristics: the entry is a directory.
pub const DIRECTORY: u8 = 0x02;
/// File characteristics: the entry was deleted.
pub const DELETED: u8 = 0x04;
/// File characteristics: the entry names the parent directory.
pub const PARENT: u8 = 0x08;

/// Bytes before the implementation use and identifier.
const HEADER_LEN: usize = 38;

/// Length of a descriptor with an identifier of `identifier_len` bytes, padded to a
/// multiple of four (ECMA-167 4/14.4.9).
pub fn len(identifier_len: usize) -> usize {
    (HEADER_LEN + identifier_len).div_ceil(4) * 4
}

/// Appends the descriptor for `identifier` (CS0 bytes; empty for the parent entry) pointing
/// at the file entry in logical block `icb_block`. `block` is the logical block in which the
/// descriptor starts; the CRC covers the padding too.
pub fn append(
    out: &mut Vec<u8>,
    characteristics: u8,
    identifier: &[u8],
    icb_block: u32,
    unique_id: u64,
    block: u32,
) {
    let start = out.len();
    out.resize(start + len(identifier.len()), 0);
    let d = &mut out[start..];
    put_u16(d, 16, 1); // file version number
    d[18] = characteristics;
    d[19] = identifier.len() as u8;
    long_ad(d, 20, SECTOR as u32, icb_block, unique_id as u32);
    put_u16(d, 36, 0); // implementation use length
    d[HEADER_LEN..HEADER_LEN + identifier.len()].copy_from_slice(identifier);
    tag::seal(d, TagId::FileIdentifier, block);
}

/// A descriptor as read from a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFid {
    /// File characteristics bits.
    pub characteristics: u8,
    /// Identifier bytes (CS0).
    pub identifier: Vec<u8>,
    /// The entry's ICB: (logical block, partition reference).
    pub icb: (u32, u16),
    /// Bytes this descriptor takes, padding included.
    pub len: usize,
}

/// Parses the descriptor at the start of `b`; `block` is the logical block it starts in.
pub fn parse(b: &[u8], block: u32, sector: u64) -> Result<ParsedFid, ReadError> {
    let corrupt = |reason: String| ReadError::Corrupt {
        what: "UDF file identifier",
        sector,
        reason,
    };
    if b.len() < HEADER_LEN {
        return Err(corrupt("truncated".into()));
    }
    let l_fi = usize::from(b[19]);
    let l_iu = usize::from(u16_at(b, 36));
    let total = (HEADER_LEN + l_iu + l_fi).div_ceil(4) * 4;
    let d = b
        .get(..total)
        .ok_or_else(|| corrupt(format!("{total} bytes run past the directory")))?;
    let t = tag::check(d, TagId::FileIdentifier, block, sector)?;
    if usize::from(t.crc_len) + 16 < HEADER_LEN + l_iu + l_fi {
        return Err(corrupt("CRC does not cover the identifier".into()));
    }
    Ok(ParsedFid {
        characteristics: d[18],
        identifier: d[HEADER_LEN + l_iu..HEADER_LEN + l_iu + l_fi].to_vec(),
        icb: (u32_at(d, 24), u16_at(d, 28)),
        len: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::udf::cs0;

    #[test]
    fn padding_and_crc_cover_the_whole_descriptor() {
        let name = cs0::encode("abc");
        let mut out = Vec::new();
        append(&mut out, 0, &name, 50, 16, 40);
        assert_eq!(out.len(), 44); // 38 + 4 = 42, padded to 44
        assert_eq!(u16_at(&out, 10), 28); // CRC length: 44 − 16, padding included
        let p = parse(&out, 40, 0).unwrap();
        assert_eq!(p.identifier, name);
        assert_eq!(p.icb, (50, 0));
        assert_eq!(p.len, 44);
    }

    #[test]
    fn parent_entry() {
        let mut out = Vec::new();
        append(&mut out, PARENT | DIRECTORY, &[], 2, 0, 3);
        assert_eq!(out.len(), 40);
        let p = parse(&out, 3, 0).unwrap();
        assert_eq!(p.characteristics, PARENT | DIRECTORY);
        assert!(p.identifier.is_empty());
    }

    #[test]
    fn truncated_descriptor_is_an_error() {
        let mut out = Vec::new();
        append(&mut out, 0, &cs0::encode("name"), 2, 16, 3);
        assert!(parse(&out[..out.len() - 1], 3, 0).is_err());
        assert!(parse(&out[..20], 3, 0).is_err());
    }
}
