//! The parity layout header: one sector that says where everything of the code lies.
//!
//! ```text
//! bytes   field (integers little-endian)
//! 0–15    magic "ODARCHIVE PARITY"
//! 16–19   format version, 1
//! 20–23   shard bytes, 2048
//! 24–31   image sectors N
//! 32–39   first sector of the parity area
//! 40–47   sectors of the parity area P
//! 48–55   covered sectors C
//! 56–63   windows
//! 64–67   stripes per window S
//! 68–71   data shards per stripe k
//! 72–75   parity shards per stripe m
//! 76–79   CRC sectors per window c
//! 80      parity percent
//! 81–83   zero
//! 84–87   covered ranges, 2: [0, parity start) and [parity end, N)
//! 88–119  the ranges as (first sector, sector count) pairs, 8 + 8 bytes each
//! 120–127 sector of the system-area copy (15)
//! 128–2043 zero
//! 2044–47 CRC32C of bytes 0–2043
//! ```

use super::{Geometry, SHARD_BYTES, crc32c};

/// Sector of the image that holds the first copy of the header: the last sector of the
/// 16-sector ISO 9660 system area, clear of an MBR or GPT a hybrid image may keep there.
pub const SYSTEM_AREA_COPY: u64 = 15;
const MAGIC: &[u8; 16] = b"ODARCHIVE PARITY";
const VERSION: u32 = 1;

/// What the header records: the geometry and where the parity area lies in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Sectors in the whole image.
    pub image_sectors: u64,
    /// First sector of the parity area.
    pub parity_start: u64,
    /// The code's geometry; its `covered` is `image_sectors` less the parity area.
    pub geometry: Geometry,
}

impl Header {
    /// The header for an image whose parity area starts at `parity_start` and has the size
    /// `geometry` gives; the image has `geometry.covered` sectors besides.
    pub fn new(parity_start: u64, geometry: Geometry) -> Header {
        Header {
            image_sectors: geometry.covered + geometry.parity_sectors(),
            parity_start,
            geometry,
        }
    }

    /// Sectors of the parity area.
    pub fn parity_sectors(&self) -> u64 {
        self.geometry.parity_sectors()
    }

    /// First sector after the parity area.
    pub fn parity_end(&self) -> u64 {
        self.parity_start + self.parity_sectors()
    }

    /// The image sector of covered sector `index`.
    pub fn covered_sector(&self, index: u64) -> u64 {
        if index < self.parity_start {
            index
        } else {
            index + self.parity_sectors()
        }
    }

    /// The sectors that hold a copy of this header.
    pub fn copies(&self) -> [u64; 3] {
        [SYSTEM_AREA_COPY, self.parity_start, self.parity_end() - 1]
    }

    /// The header as one sector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let g = &self.geometry;
        let mut b = vec![0u8; SHARD_BYTES];
        b[0..16].copy_from_slice(MAGIC);
        put(&mut b, 16, &VERSION.to_le_bytes());
        put(&mut b, 20, &(SHARD_BYTES as u32).to_le_bytes());
        put(&mut b, 24, &self.image_sectors.to_le_bytes());
        put(&mut b, 32, &self.parity_start.to_le_bytes());
        put(&mut b, 40, &self.parity_sectors().to_le_bytes());
        put(&mut b, 48, &g.covered.to_le_bytes());
        put(&mut b, 56, &g.windows.to_le_bytes());
        put(&mut b, 64, &(g.stripes as u32).to_le_bytes());
        put(&mut b, 68, &(g.data_shards as u32).to_le_bytes());
        put(&mut b, 72, &(g.parity_shards as u32).to_le_bytes());
        put(&mut b, 76, &(g.crc_sectors() as u32).to_le_bytes());
        b[80] = g.percent;
        put(&mut b, 84, &2u32.to_le_bytes());
        put(&mut b, 88, &0u64.to_le_bytes());
        put(&mut b, 96, &self.parity_start.to_le_bytes());
        put(&mut b, 104, &self.parity_end().to_le_bytes());
        put(
            &mut b,
            112,
            &(self.image_sectors - self.parity_end()).to_le_bytes(),
        );
        put(&mut b, 120, &SYSTEM_AREA_COPY.to_le_bytes());
        let crc = crc32c(&b[..SHARD_BYTES - 4]);
        put(&mut b, SHARD_BYTES - 4, &crc.to_le_bytes());
        b
    }

    /// Reads a header sector found at image sector `at`. `None` unless the magic, the
    /// CRC, the version and every derived field agree, and the header says a copy lies at `at`.
    pub fn parse(sector: &[u8], at: u64) -> Option<Header> {
        if sector.len() != SHARD_BYTES || &sector[0..16] != MAGIC {
            return None;
        }
        let crc = crc32c(&sector[..SHARD_BYTES - 4]);
        if u32_at(sector, SHARD_BYTES - 4) != crc || u32_at(sector, 16) != VERSION {
            return None;
        }
        let geometry = Geometry::new(u64_at(sector, 48), sector[80]).ok()?;
        let parity_start = u64_at(sector, 32);
        if parity_start > geometry.covered {
            return None;
        }
        let header = Header::new(parity_start, geometry);
        // Everything else is derived: a header is only trusted if it reproduces itself.
        let consistent = header.parity_end() <= header.image_sectors
            && header.to_bytes() == sector
            && header.copies().contains(&at);
        consistent.then_some(header)
    }
}

fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
    b[at..at + bytes.len()].copy_from_slice(bytes);
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        let g = Geometry::new(10_000, 10).unwrap();
        Header::new(9_849, g)
    }

    #[test]
    fn round_trips_at_each_copy_and_nowhere_else() {
        let h = header();
        let bytes = h.to_bytes();
        assert_eq!(&bytes[..16], b"ODARCHIVE PARITY");
        for at in h.copies() {
            assert_eq!(Header::parse(&bytes, at), Some(h));
        }
        assert_eq!(Header::parse(&bytes, 16), None);
    }

    #[test]
    fn a_flipped_bit_is_refused() {
        let h = header();
        for i in [0, 30, 80, 100, 2000, 2047] {
            let mut bytes = h.to_bytes();
            bytes[i] ^= 0x10;
            assert_eq!(Header::parse(&bytes, 15), None, "byte {i}");
        }
    }

    #[test]
    fn a_header_with_a_correct_crc_but_absurd_fields_is_refused() {
        let mut bytes = header().to_bytes();
        bytes[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        let crc = crc32c(&bytes[..SHARD_BYTES - 4]);
        bytes[SHARD_BYTES - 4..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Header::parse(&bytes, 15), None);
        bytes[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
        let crc = crc32c(&bytes[..SHARD_BYTES - 4]);
        bytes[SHARD_BYTES - 4..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Header::parse(&bytes, 15), None);
    }

    #[test]
    fn covered_sectors_skip_the_parity_area() {
        let h = header();
        assert_eq!(h.covered_sector(9_848), 9_848);
        assert_eq!(h.covered_sector(9_849), h.parity_end());
        assert_eq!(h.covered_sector(9_999), h.image_sectors - 1);
    }
}
