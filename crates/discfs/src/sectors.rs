//! Bounds-checked sector access over `Read + Seek`, shared by the readers of both views.

use std::io::{Read, Seek, SeekFrom};

use crate::SECTOR;
use crate::error::ReadError;

/// An image opened for reading: knows its length and refuses reads past the end with
/// [`ReadError::Truncated`] instead of returning short data.
#[derive(Debug)]
pub struct SectorReader<R> {
    inner: R,
    len: u64,
    /// Where `inner` is positioned, when known: a read there needs no seek first.
    at: Option<u64>,
}

impl<R: Read + Seek> SectorReader<R> {
    /// Wraps `inner`, finding its length by seeking to the end.
    pub fn new(mut inner: R) -> Result<Self, ReadError> {
        let len = inner
            .seek(SeekFrom::End(0))
            .map_err(|source| ReadError::Io { offset: 0, source })?;
        Ok(SectorReader {
            inner,
            len,
            at: Some(len),
        })
    }

    /// Length of the image in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the image is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of whole sectors in the image.
    pub fn sectors(&self) -> u64 {
        self.len / SECTOR
    }

    /// Reads `buf.len()` bytes at byte `offset`; an error if any of them lies past the end.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.len) {
            return Err(ReadError::Truncated {
                sector: offset / SECTOR + buf.len() as u64 / SECTOR,
                sectors: self.sectors(),
            });
        }
        let positioned = if self.at == Some(offset) {
            Ok(offset)
        } else {
            self.inner.seek(SeekFrom::Start(offset))
        };
        self.at = None;
        positioned
            .and_then(|_| self.inner.read_exact(buf))
            .map_err(|source| ReadError::Io { offset, source })?;
        self.at = end;
        Ok(())
    }

    /// Reads `count` whole sectors starting at `sector`.
    pub fn read_sectors(&mut self, sector: u64, count: u64) -> Result<Vec<u8>, ReadError> {
        let bytes =
            count
                .checked_mul(SECTOR)
                .filter(|&b| b <= self.len)
                .ok_or(ReadError::Truncated {
                    sector: sector.saturating_add(count),
                    sectors: self.sectors(),
                })?;
        let mut buf = vec![0u8; bytes as usize];
        self.read_at(sector.saturating_mul(SECTOR), &mut buf)?;
        Ok(buf)
    }

    /// Reads `len` bytes starting at the beginning of `sector` (for extents whose length is
    /// not a whole number of sectors).
    pub fn read_extent(&mut self, sector: u64, len: u64) -> Result<Vec<u8>, ReadError> {
        if len > self.len {
            return Err(ReadError::Truncated {
                sector: sector.saturating_add(len / SECTOR),
                sectors: self.sectors(),
            });
        }
        let mut buf = vec![0u8; len as usize];
        self.read_at(sector.saturating_mul(SECTOR), &mut buf)?;
        Ok(buf)
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_inside_and_refuses_past_the_end() {
        let mut image = vec![0u8; 3 * SECTOR as usize];
        image[SECTOR as usize] = 7;
        let mut r = SectorReader::new(Cursor::new(image)).unwrap();
        assert_eq!(r.sectors(), 3);
        assert_eq!(r.read_sectors(1, 1).unwrap()[0], 7);
        assert!(matches!(
            r.read_sectors(2, 2),
            Err(ReadError::Truncated { .. })
        ));
        assert!(matches!(
            r.read_sectors(u64::MAX, 1),
            Err(ReadError::Truncated { .. })
        ));
        assert!(matches!(
            r.read_extent(0, u64::MAX),
            Err(ReadError::Truncated { .. })
        ));
    }
}
