//! The directory record (ECMA-119 9.1): one entry of a directory's extent.
//!
//! ```text
//! BP 1      length of the record (LEN_DR)        BP 19..25  recording date (9.1.5)
//! BP 2      extended attribute record length     BP 26      file flags (9.1.6)
//! BP 3..10  location of extent (both-endian)     BP 27, 28  unit size, gap size (0)
//! BP 11..18 data length (both-endian)            BP 29..32  volume sequence number
//! BP 33     length of file identifier (LEN_FI)   BP 34..    identifier, pad byte if LEN_FI even
//! ```
//! (BP = byte position, 1-based as in the standard; the code uses 0-based offsets.)
//!
//! Records do not cross a logical sector boundary (6.8.1.1): the writer moves a record that
//! does not fit to the next sector and leaves zeros behind, which readers skip.

use super::encode::{both_u16, both_u32, parse_short_date, read_both_u16, read_both_u32};
use crate::time::Timestamp;

/// 9.1.6 bit 0: the entry need not be shown to users.
pub const FLAG_HIDDEN: u8 = 0x01;
/// 9.1.6 bit 1: the entry is a directory.
pub const FLAG_DIRECTORY: u8 = 0x02;
/// 9.1.6 bit 7: more records of the same file follow (multi-extent file).
pub const FLAG_MULTI_EXTENT: u8 = 0x80;

/// Identifier of the "." record (and of the root's record in the volume descriptor), 6.8.2.2.
pub const ID_SELF: &[u8] = &[0x00];
/// Identifier of the ".." record, 6.8.2.2.
pub const ID_PARENT: &[u8] = &[0x01];

/// Length of the fixed part of a record, before the identifier.
pub const FIXED_LEN: usize = 33;

/// The length (LEN_DR) of a record with an identifier of `id_len` bytes and no system use
/// field: 33 + LEN_FI, plus a pad byte when LEN_FI is even (9.1.12).
pub const fn record_len(id_len: usize) -> usize {
    FIXED_LEN + id_len + (id_len + 1) % 2
}

/// One directory record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirRecord {
    /// Extended attribute record length in sectors (we write 0; readers skip that many
    /// sectors at the start of the extent).
    pub ext_attr_len: u8,
    /// First sector of the extent.
    pub extent: u32,
    /// Length of the extent's data in bytes.
    pub data_length: u32,
    /// Recording date, 7-byte form (9.1.5).
    pub recorded: [u8; 7],
    /// File flags (9.1.6): [`FLAG_DIRECTORY`], [`FLAG_MULTI_EXTENT`], ...
    pub flags: u8,
    /// Volume of the set that holds the extent.
    pub volume_sequence: u16,
    /// File or directory identifier as recorded, e.g. `README.TXT;1`, [`ID_SELF`].
    pub identifier: Vec<u8>,
}

impl DirRecord {
    /// The record's length in bytes (even, 34..=255 for identifiers up to 222 bytes).
    pub fn encoded_len(&self) -> usize {
        record_len(self.identifier.len())
    }

    /// Whether the record describes a directory.
    pub fn is_dir(&self) -> bool {
        self.flags & FLAG_DIRECTORY != 0
    }

    /// Appends the record's [`encoded_len`](Self::encoded_len) bytes to `out`. The identifier must be at most
    /// 222 bytes (the writer's are at most 33).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let len = self.encoded_len();
        debug_assert!(len <= 255, "identifier too long for a directory record");
        out.push(len as u8);
        out.push(self.ext_attr_len);
        out.extend_from_slice(&both_u32(self.extent));
        out.extend_from_slice(&both_u32(self.data_length));
        out.extend_from_slice(&self.recorded);
        out.push(self.flags);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&both_u16(self.volume_sequence));
        out.push(self.identifier.len() as u8);
        out.extend_from_slice(&self.identifier);
        if self.identifier.len() % 2 == 0 {
            out.push(0);
        }
    }

    /// The record's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        out
    }

    /// Parses the record at the start of `b`. `Ok(None)` for a zero length byte (the rest
    /// of the sector is padding); an error text for a record that is malformed or does not
    /// fit in `b`.
    pub fn parse(b: &[u8]) -> Result<Option<DirRecord>, String> {
        let Some(&len) = b.first() else {
            return Ok(None);
        };
        let len = usize::from(len);
        if len == 0 {
            return Ok(None);
        }
        if len < FIXED_LEN + 1 {
            return Err(format!("record length {len} is below the minimum 34"));
        }
        let rec = b
            .get(..len)
            .ok_or_else(|| format!("record of {len} bytes runs past the sector end"))?;
        let id_len = usize::from(rec[32]);
        if FIXED_LEN + id_len > len || id_len == 0 {
            return Err(format!(
                "identifier length {id_len} does not fit a {len}-byte record"
            ));
        }
        Ok(Some(DirRecord {
            ext_attr_len: rec[1],
            extent: read_both_u32(&rec[2..10]).unwrap_or(0),
            data_length: read_both_u32(&rec[10..18]).unwrap_or(0),
            recorded: rec[18..25].try_into().unwrap_or([0; 7]),
            flags: rec[25],
            volume_sequence: read_both_u16(&rec[28..32]).unwrap_or(0),
            identifier: rec[FIXED_LEN..FIXED_LEN + id_len].to_vec(),
        }))
    }

    /// The recording date as an instant; `None` if it is not a valid date.
    pub fn mtime(&self) -> Option<Timestamp> {
        parse_short_date(&self.recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso9660::encode::short_date;

    fn sample(identifier: &[u8]) -> DirRecord {
        DirRecord {
            ext_attr_len: 0,
            extent: 0x1234,
            data_length: 2049,
            recorded: short_date(Timestamp::new(951_827_696, 0)),
            flags: 0,
            volume_sequence: 3,
            identifier: identifier.to_vec(),
        }
    }

    #[test]
    fn record_lengths_are_even() {
        assert_eq!(record_len(1), 34); // "." and "..": 33 + 1, no pad
        assert_eq!(record_len(2), 36); // 33 + 2 + pad
        assert_eq!(record_len(12), 46); // "README.TXT;1"
        assert_eq!(record_len(33), 66); // longest file identifier: 30 + ".;1"
        for n in 1..=222 {
            assert_eq!(record_len(n) % 2, 0);
        }
    }

    #[test]
    fn file_record_bytes() {
        let bytes = sample(b"README.TXT;1").to_bytes();
        let mut expect = vec![46, 0];
        expect.extend_from_slice(&[0x34, 0x12, 0, 0, 0, 0, 0x12, 0x34]);
        expect.extend_from_slice(&[0x01, 0x08, 0, 0, 0, 0, 0x08, 0x01]);
        expect.extend_from_slice(&[100, 2, 29, 12, 34, 56, 0]);
        expect.extend_from_slice(&[0, 0, 0]);
        expect.extend_from_slice(&[3, 0, 0, 3]);
        expect.push(12);
        expect.extend_from_slice(b"README.TXT;1");
        expect.push(0);
        assert_eq!(bytes, expect);
    }

    #[test]
    fn dot_record_has_no_pad() {
        let mut rec = sample(ID_SELF);
        rec.flags = FLAG_DIRECTORY;
        let bytes = rec.to_bytes();
        assert_eq!(bytes.len(), 34);
        assert_eq!((bytes[0], bytes[25], bytes[32], bytes[33]), (34, 2, 1, 0));
        assert!(rec.is_dir());
    }

    #[test]
    fn parse_round_trip_and_rejects_garbage() {
        let rec = sample(b"A.;1");
        let mut sector = rec.to_bytes();
        sector.resize(64, 0);
        assert_eq!(DirRecord::parse(&sector).unwrap(), Some(rec.clone()));
        assert_eq!(
            rec.mtime(),
            Some(Timestamp::new(951_827_696, 0)),
            "date survives"
        );
        assert_eq!(DirRecord::parse(&[0, 1, 2]).unwrap(), None);
        assert_eq!(DirRecord::parse(&[]).unwrap(), None);
        assert!(DirRecord::parse(&[20; 40]).is_err()); // too short a length
        assert!(DirRecord::parse(&sector[..30]).is_err()); // runs past the end
        let mut bad = rec.to_bytes();
        bad[32] = 200; // identifier longer than the record
        assert!(DirRecord::parse(&bad).is_err());
    }
}
