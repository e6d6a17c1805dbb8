//! Anchor Volume Descriptor Pointer (ECMA-167 3/10.2): at sector 256 and at the last sector,
//! pointing at the main and reserve volume descriptor sequences.

use super::fields::{extent_ad, u32_at};
use super::tag::{self, TagId};
use crate::error::ReadError;

/// Bytes of an anchor.
pub const LEN: usize = 512;

/// Where the two volume descriptor sequences are (length in bytes, location in sectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Main sequence: (length, sector).
    pub main: (u32, u32),
    /// Reserve sequence: (length, sector).
    pub reserve: (u32, u32),
}

impl Anchor {
    /// The descriptor as recorded at `sector`.
    pub fn to_bytes(&self, sector: u32) -> [u8; LEN] {
        let mut d = [0u8; LEN];
        extent_ad(&mut d, 16, self.main.0, self.main.1);
        extent_ad(&mut d, 24, self.reserve.0, self.reserve.1);
        tag::seal(&mut d, TagId::AnchorVolumePointer, sector);
        d
    }

    /// Parses and checks the anchor read from `sector`.
    pub fn parse(bytes: &[u8], sector: u32) -> Result<Anchor, ReadError> {
        tag::check(bytes, TagId::AnchorVolumePointer, sector, u64::from(sector))?;
        Ok(Anchor {
            main: (u32_at(bytes, 16), u32_at(bytes, 20)),
            reserve: (u32_at(bytes, 24), u32_at(bytes, 28)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_field_offsets() {
        let a = Anchor {
            main: (32768, 32),
            reserve: (32768, 48),
        };
        let b = a.to_bytes(256);
        assert_eq!(u32_at(&b, 16), 32768);
        assert_eq!(u32_at(&b, 20), 32);
        assert_eq!(u32_at(&b, 28), 48);
        assert_eq!(Anchor::parse(&b, 256).unwrap(), a);
        assert!(Anchor::parse(&b, 257).is_err());
    }
}
