//! The path table record (ECMA-119 9.4) and the table's order (6.9.1).
//!
//! ```text
//! BP 1     length of directory identifier (LEN_DI)
//! BP 2     extended attribute record length
//! BP 3..6  location of extent (L table: little-endian, M table: big-endian)
//! BP 7, 8  parent directory number (same byte order)
//! BP 9..   directory identifier, pad byte if LEN_DI is odd
//! ```
//!
//! The table lists every directory once: by level, then by parent's number, then by
//! identifier. Directory numbers are 1-based positions in the table; the root is number 1 and
//! its own parent. The parent number is 16 bits: when a volume has more than 65,535
//! directories, parents numbered above that are recorded as 65,535 (as libisofs does); the
//! directory records, which every reader we test walks, stay exact.

/// Length of the record for an identifier of `id_len` bytes: 8 + LEN_DI, padded to even.
pub const fn record_len(id_len: usize) -> usize {
    8 + id_len + id_len % 2
}

/// One path table record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTableRecord {
    /// First sector of the directory's extent.
    pub extent: u32,
    /// Number (1-based) of the parent directory in the table.
    pub parent: u16,
    /// Directory identifier; `[0]` for the root.
    pub identifier: Vec<u8>,
}

impl PathTableRecord {
    /// Appends the record in the byte order of the M table (`big_endian`) or the L table.
    pub fn write_to(&self, big_endian: bool, out: &mut Vec<u8>) {
        write_record(self.extent, self.parent, &self.identifier, big_endian, out);
    }

    /// The record's bytes.
    pub fn to_bytes(&self, big_endian: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(record_len(self.identifier.len()));
        self.write_to(big_endian, &mut out);
        out
    }

    /// Parses the record at the start of `b` and returns it with its length; `Ok(None)` at
    /// a zero length byte (end of table); an error text if it does not fit.
    pub fn parse(b: &[u8], big_endian: bool) -> Result<Option<(PathTableRecord, usize)>, String> {
        let Some(&id_len) = b.first() else {
            return Ok(None);
        };
        if id_len == 0 {
            return Ok(None);
        }
        let len = record_len(usize::from(id_len));
        let rec = b
            .get(..len)
            .ok_or_else(|| format!("path table record of {len} bytes runs past the table"))?;
        let (extent, parent) = if big_endian {
            (
                u32::from_be_bytes([rec[2], rec[3], rec[4], rec[5]]),
                u16::from_be_bytes([rec[6], rec[7]]),
            )
        } else {
            (
                u32::from_le_bytes([rec[2], rec[3], rec[4], rec[5]]),
                u16::from_le_bytes([rec[6], rec[7]]),
            )
        };
        let identifier = rec[8..8 + usize::from(id_len)].to_vec();
        Ok(Some((
            PathTableRecord {
                extent,
                parent,
                identifier,
            },
            len,
        )))
    }
}

/// Appends one record without building a [`PathTableRecord`] (the writer's path).
pub fn write_record(
    extent: u32,
    parent: u16,
    identifier: &[u8],
    big_endian: bool,
    out: &mut Vec<u8>,
) {
    out.push(identifier.len() as u8);
    out.push(0);
    if big_endian {
        out.extend_from_slice(&extent.to_be_bytes());
        out.extend_from_slice(&parent.to_be_bytes());
    } else {
        out.extend_from_slice(&extent.to_le_bytes());
        out.extend_from_slice(&parent.to_le_bytes());
    }
    out.extend_from_slice(identifier);
    if identifier.len() % 2 == 1 {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_record_in_both_byte_orders() {
        let root = PathTableRecord {
            extent: 0x0000_0015,
            parent: 1,
            identifier: vec![0],
        };
        assert_eq!(root.to_bytes(false), [1, 0, 0x15, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(root.to_bytes(true), [1, 0, 0, 0, 0, 0x15, 0, 1, 0, 0]);
    }

    #[test]
    fn even_identifier_has_no_pad() {
        let rec = PathTableRecord {
            extent: 0x0102_0304,
            parent: 0x0506,
            identifier: b"DOCS".to_vec(),
        };
        let m = rec.to_bytes(true);
        assert_eq!(m, [4, 0, 1, 2, 3, 4, 5, 6, b'D', b'O', b'C', b'S']);
        assert_eq!(record_len(4), 12);
        assert_eq!(record_len(5), 14);
        assert_eq!(
            PathTableRecord::parse(&m, true).unwrap(),
            Some((rec.clone(), 12))
        );
        let l = rec.to_bytes(false);
        assert_eq!(&l[2..8], &[4, 3, 2, 1, 6, 5]);
        assert_eq!(PathTableRecord::parse(&l, false).unwrap(), Some((rec, 12)));
    }

    #[test]
    fn parse_stops_and_refuses() {
        assert_eq!(PathTableRecord::parse(&[0, 0, 0], false).unwrap(), None);
        assert!(PathTableRecord::parse(&[9, 0, 1, 2], false).is_err());
    }
}
