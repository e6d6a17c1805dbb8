//! File Entry (ECMA-167 4/14.9) with its ICB tag (4/14.6): one per file and directory,
//! recording size, times, permissions and where the data is.

use super::fields::{
    implementation_id, parse_timestamp, put_u16, put_u32, put_u64, short_ad, timestamp, u16_at,
    u32_at, u64_at,
};
use super::tag::{self, TagId};
use crate::SECTOR;
use crate::error::ReadError;
use crate::time::Timestamp;

/// Longest extent an allocation descriptor may record and still be a whole number of
/// blocks: 2^30 − 2048 bytes (the top two bits of the length hold the extent type).
pub const MAX_EXTENT: u64 = (1 << 30) - SECTOR;

/// Bytes of a file entry before its extended attributes and allocation descriptors.
pub const HEADER_LEN: usize = 176;

/// Most short allocation descriptors that fit one file entry in one block.
pub const MAX_EXTENTS: u64 = (SECTOR - HEADER_LEN as u64) / 8;

/// The largest file one file entry can describe.
pub const MAX_FILE_SIZE: u64 = MAX_EXTENTS * MAX_EXTENT;

/// ICB file types (ECMA-167 4/14.6.6).
pub const FILE_TYPE_DIRECTORY: u8 = 4;
/// Regular file.
pub const FILE_TYPE_FILE: u8 = 5;

/// What a file entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileEntry {
    /// Directory or file.
    pub file_type: u8,
    /// Unique id (0 for the root, 16 and up for the rest).
    pub unique_id: u64,
    /// Number of file identifiers that point at this entry.
    pub link_count: u16,
    /// Bytes of data.
    pub length: u64,
    /// First logical block of the data (unused when `length` is 0).
    pub data_block: u32,
    /// Modification (and access, attribute) time.
    pub mtime: Timestamp,
}

/// Number of extents `length` bytes take.
pub fn extent_count(length: u64) -> u64 {
    length.div_ceil(MAX_EXTENT)
}

impl FileEntry {
    /// The entry recorded at logical block `block`. Data is one contiguous run, described
    /// by as many short allocation descriptors as [`MAX_EXTENT`] needs.
    pub fn to_bytes(&self, block: u32) -> Vec<u8> {
        let extents = extent_count(self.length) as usize;
        let mut d = vec![0u8; HEADER_LEN + 8 * extents];
        // ICB tag: strategy 4, one entry, short allocation descriptors.
        put_u16(&mut d, 20, 4);
        put_u16(&mut d, 24, 1);
        d[27] = self.file_type;
        put_u16(&mut d, 34, 0);
        put_u32(&mut d, 36, 0); // uid
        put_u32(&mut d, 40, 0); // gid
        // Read for everyone; directories also searchable (ECMA-167 4/14.9.5).
        let read = if self.file_type == FILE_TYPE_DIRECTORY {
            0b101
        } else {
            0b100
        };
        put_u32(&mut d, 44, read | read << 5 | read << 10);
        put_u16(&mut d, 48, self.link_count);
        put_u64(&mut d, 56, self.length);
        put_u64(&mut d, 64, self.length.div_ceil(SECTOR));
        let t = timestamp(self.mtime);
        d[72..84].copy_from_slice(&t);
        d[84..96].copy_from_slice(&t);
        d[96..108].copy_from_slice(&t);
        put_u32(&mut d, 108, 1); // checkpoint
        d[128..160].copy_from_slice(&implementation_id());
        put_u64(&mut d, 160, self.unique_id);
        put_u32(&mut d, 168, 0); // extended attributes
        put_u32(&mut d, 172, 8 * extents as u32);
        let mut left = self.length;
        for i in 0..extents {
            let len = left.min(MAX_EXTENT);
            let block = self.data_block + (i as u64 * (MAX_EXTENT / SECTOR)) as u32;
            short_ad(&mut d, HEADER_LEN + 8 * i, len as u32, block);
            left -= len;
        }
        tag::seal(&mut d, TagId::FileEntry, block);
        d
    }
}

/// Where a file's data is, as a reader finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// Extents: (bytes, logical block, partition reference).
    Extents(Vec<(u32, u32, u16)>),
    /// Data embedded in the entry itself.
    Embedded(Vec<u8>),
}

/// A file entry as read from an image (ours or another writer's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEntry {
    /// ICB file type.
    pub file_type: u8,
    /// Information length.
    pub length: u64,
    /// Modification time, if valid.
    pub mtime: Option<Timestamp>,
    /// Unique id.
    pub unique_id: u64,
    /// Where the data is.
    pub data: Data,
}

/// Parses a File Entry (or Extended File Entry) read at logical block `block`.
/// Allocation extent continuations are not followed: entries that use them are refused.
pub fn parse(b: &[u8], block: u32, sector: u64) -> Result<ParsedEntry, ReadError> {
    let corrupt = |reason: String| ReadError::Corrupt {
        what: "UDF file entry",
        sector,
        reason,
    };
    let id = u16_at(b, 0);
    let (times, ea_at, header) = match id {
        261 => {
            tag::check(b, TagId::FileEntry, block, sector)?;
            (84usize, 168usize, HEADER_LEN)
        }
        266 => {
            tag::check(b, TagId::ExtendedFileEntry, block, sector)?;
            (92, 208, 216)
        }
        other => return Err(corrupt(format!("tag {other} is not a file entry"))),
    };
    if b.len() < header {
        return Err(corrupt("shorter than its header".into()));
    }
    let l_ea = u32_at(b, ea_at) as usize;
    let l_ad = u32_at(b, ea_at + 4) as usize;
    let ads = header
        .checked_add(l_ea)
        .and_then(|s| Some((s, s.checked_add(l_ad)?)))
        .filter(|&(_, e)| e <= b.len())
        .map(|(s, e)| &b[s..e])
        .ok_or_else(|| {
            corrupt(format!(
                "descriptors ({l_ea} + {l_ad} bytes) run past the block"
            ))
        })?;
    let flags = u16_at(b, 34);
    let data = match flags & 7 {
        0 => Data::Extents(
            ads.chunks_exact(8)
                .map(|c| (u32_at(c, 0), u32_at(c, 4), u16::MAX))
                .collect(),
        ),
        1 => Data::Extents(
            ads.chunks_exact(16)
                .map(|c| (u32_at(c, 0), u32_at(c, 4), u16_at(c, 8)))
                .collect(),
        ),
        3 => Data::Embedded(ads.to_vec()),
        other => {
            return Err(corrupt(format!(
                "allocation descriptor type {other} not supported"
            )));
        }
    };
    if let Data::Extents(extents) = &data {
        if extents.iter().any(|&(len, _, _)| len >> 30 == 3) {
            return Err(corrupt(
                "allocation extent continuations are not supported".into(),
            ));
        }
    }
    Ok(ParsedEntry {
        file_type: b[27],
        length: u64_at(b, 56),
        mtime: parse_timestamp(&b[times..times + 12]),
        unique_id: u64_at(b, if id == 261 { 160 } else { 200 }),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(length: u64) -> FileEntry {
        FileEntry {
            file_type: FILE_TYPE_FILE,
            unique_id: 16,
            link_count: 1,
            length,
            data_block: 100,
            mtime: Timestamp::new(1_600_000_000, 0),
        }
    }

    #[test]
    fn extents_stop_at_one_gib_minus_one_block() {
        assert_eq!(MAX_EXTENT, 1_073_739_776);
        assert_eq!(extent_count(0), 0);
        assert_eq!(extent_count(MAX_EXTENT), 1);
        assert_eq!(extent_count(MAX_EXTENT + 1), 2);
        let size = (4u64 << 30) + 1;
        let b = entry(size).to_bytes(7);
        assert_eq!(b.len(), HEADER_LEN + 8 * 5);
        let parsed = parse(&b, 7, 0).unwrap();
        let Data::Extents(ext) = parsed.data else {
            panic!("extents expected")
        };
        assert_eq!(ext.iter().map(|e| u64::from(e.0)).sum::<u64>(), size);
        assert_eq!(ext[1].1, 100 + (MAX_EXTENT / SECTOR) as u32);
        assert_eq!(ext.last().unwrap().0, (size - 4 * MAX_EXTENT) as u32);
    }

    #[test]
    fn field_offsets_follow_ecma_167() {
        let b = entry(5000).to_bytes(9);
        assert_eq!(b[27], FILE_TYPE_FILE);
        assert_eq!(u16_at(&b, 20), 4); // strategy type
        assert_eq!(u64_at(&b, 56), 5000);
        assert_eq!(u64_at(&b, 64), 3); // blocks recorded
        assert_eq!(u32_at(&b, 44), 0b1_0000_1000_0100); // r for owner, group, other
        assert_eq!(u64_at(&b, 160), 16);
        let p = parse(&b, 9, 0).unwrap();
        assert_eq!(p.length, 5000);
        assert_eq!(p.mtime, Some(Timestamp::new(1_600_000_000, 0)));
        assert_eq!(p.data, Data::Extents(vec![(5000, 100, u16::MAX)]));
    }

    #[test]
    fn empty_file_has_no_extents() {
        let b = entry(0).to_bytes(3);
        assert_eq!(b.len(), HEADER_LEN);
        assert_eq!(parse(&b, 3, 0).unwrap().data, Data::Extents(vec![]));
    }

    #[test]
    fn damaged_lengths_are_errors() {
        let mut b = entry(10).to_bytes(3);
        put_u32(&mut b, 172, 4000);
        super::tag::seal(&mut b, TagId::FileEntry, 3);
        assert!(parse(&b, 3, 0).is_err());
    }
}
