//! Reed-Solomon parity inside a disc image: the format, a streaming encoder and repair.
//!
//! A protected image carries, as one plain file listed in both file systems, a *parity area*
//! from which any sector of the rest of the image can be rebuilt while no stripe has lost
//! more shards than it has parity shards. `docs/parity.md` tells the same for a person who
//! only has the disc.
//!
//! # Words
//!
//! - **covered sectors**: every sector of the image outside the parity area, in image order
//!   (the sectors before the parity area, then those after it), numbered 0, 1, … C − 1.
//! - **shard**: one sector (2048 bytes), the unit of the code and of damage.
//! - **window**: W = S·k consecutive covered sectors, encoded on their own. The last window
//!   is completed with virtual zero sectors that are not stored anywhere.
//! - **stripe** s (0 ≤ s < S) of a window: its sectors s, s + S, s + 2S, …, that is k data
//!   shards, and m parity shards computed from them. A run of consecutive unreadable sectors
//!   of length L costs each stripe of the window at most ⌈L / S⌉ shards, so any run of up to
//!   m·S sectors in a window (≈ percent % of it) is rebuilt.
//! - **code**: Reed-Solomon over GF(2^16) as in Leopard-RS, the *high-rate* construction of
//!   the `reed-solomon-simd` crate (`rate::HighRateEncoder`; data shards are the "original"
//!   shards, parity shards the "recovery" shards, in stripe order).
//! - **CRC**: CRC32C (Castagnoli, as iSCSI and ext4 use it), stored little-endian.
//!
//! # The parity area (sectors relative to its first one)
//!
//! ```text
//! 0                      header (first copy in the area)
//! 1 + w·(c + S·m)        window w: c CRC sectors, then S·m parity sectors, where parity
//!                        shard r of stripe s lies at r·S + s of the parity sectors
//! 1 + n·(c + S·m) + w·c  the second copy of window w's c CRC sectors (n windows)
//! P − 1                  header (last copy)
//! ```
//!
//! A **CRC sector** holds 511 little-endian CRC32C values (bytes 0‥2044) and the CRC32C of
//! those 2044 bytes in its last four. A window's CRC list has W + S·m entries: first its data
//! shards in window order (virtual zero sectors included), then its parity sectors in stored
//! order; c = ⌈(W + S·m) / 511⌉. A shard whose CRC does not match is treated as unreadable.
//! Each window's CRC sectors are stored twice, far apart, so that one scratch does not take
//! both the shards and the means to check them.
//!
//! The **header** (one sector, see [`Header`]) is stored three times: in sector
//! [`SYSTEM_AREA_COPY`] of the image (the ISO 9660 system area, which no reader uses), and
//! at the start and at the end of the parity area. Each copy carries its own CRC32C, names the
//! sectors of all three, and is accepted only where it says it lies.
//!
//! # Geometry
//!
//! From the covered sector count C and the percent p (1‥100), [`Geometry::new`] takes
//! windows = ⌈C / (64·512)⌉, a window size w₀ = ⌈C / windows⌉, stripes S = clamp(⌊w₀ / 64⌋,
//! 1, 64), data shards k = ⌈w₀ / S⌉, parity shards m = ⌈k·p / 100⌉. A full 25 GB BD at 10 %
//! has about 370 windows of 64 stripes × 511 data shards and 52 parity shards each: a
//! scratch of up to 3,328 consecutive sectors (6.5 MiB) per 64 MiB window is rebuilt.

mod bad;
mod encode;
mod header;
mod rebuild;
mod repair;
mod rescue;
pub mod set;
mod window;

pub use bad::{BadSectors, MapError};
pub use encode::{ParityArea, ParityEncoder, parity_area_of};
pub use header::{Header, SYSTEM_AREA_COPY};
pub use rebuild::{Rebuilt, SectorRebuilder, header_at, rebuild_sectors};
pub use repair::{RepairReport, check, repair};
pub use rescue::{RescueOptions, Rescued, SectorSource, SeekSource, rescue};

use std::io;

use crate::SECTOR;

/// Bytes of a shard: one sector.
pub const SHARD_BYTES: usize = SECTOR as usize;
/// Most stripes a window is cut into.
pub const MAX_STRIPES: u64 = 64;
/// Most data shards of one stripe.
pub const MAX_DATA_SHARDS: u64 = 512;
/// Data shards per stripe below which a small image gets fewer stripes instead.
const MIN_DATA_SHARDS: u64 = 64;
/// Most covered sectors of one image (2 PiB): keeps every size computation far from overflow.
const MAX_COVERED: u64 = 1 << 40;
/// CRC values in one CRC sector (its last 4 bytes are the sector's own CRC).
pub const CRCS_PER_SECTOR: u64 = (SECTOR / 4) - 1;

/// Errors of the parity encoder and of repair.
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    /// The percent is outside 1..=100.
    #[error("parity percent {0} is outside 1..=100")]
    Percent(u8),
    /// Nothing to protect.
    #[error("an image without sectors cannot be protected")]
    Empty,
    /// More sectors than any disc holds (2^40, 2 PiB): a damaged or foreign header.
    #[error("{0} sectors is more than parity protects (2^40)")]
    TooLarge(u64),
    /// The encoder was fed another number of sectors than its geometry covers.
    #[error("the parity encoder was given {got} bytes, its geometry covers {expected}")]
    Length { got: u64, expected: u64 },
    /// The spill file (or a sink) failed.
    #[error("parity spill or output at byte {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    /// No copy of the header could be read.
    #[error(
        "no readable parity header in the image (sector {SYSTEM_AREA_COPY} and a scan of the image)"
    )]
    NoHeader,
    /// The Reed-Solomon library refused the geometry (a header from a damaged or foreign image).
    #[error("Reed-Solomon: {0}")]
    Code(String),
}

impl From<reed_solomon_simd::Error> for ParityError {
    fn from(e: reed_solomon_simd::Error) -> Self {
        ParityError::Code(e.to_string())
    }
}

/// The shape of the code for one image: how covered sectors are grouped into windows and
/// stripes, and how many parity shards each stripe has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Covered sectors (every sector of the image outside the parity area).
    pub covered: u64,
    /// Parity percent the geometry was made for.
    pub percent: u8,
    /// Windows, each of `stripes · data_shards` covered sectors (the last one completed
    /// with virtual zero sectors).
    pub windows: u64,
    /// Stripes per window (S).
    pub stripes: u64,
    /// Data shards per stripe (k).
    pub data_shards: u64,
    /// Parity shards per stripe (m).
    pub parity_shards: u64,
}

impl Geometry {
    /// Stripes per window, data shards and parity shards per stripe, as indexes.
    pub fn shape(&self) -> (usize, usize, usize) {
        (
            self.stripes as usize,
            self.data_shards as usize,
            self.parity_shards as usize,
        )
    }

    /// The geometry for `covered` sectors at `percent` %.
    pub fn new(covered: u64, percent: u8) -> Result<Geometry, ParityError> {
        if !(1..=100).contains(&percent) {
            return Err(ParityError::Percent(percent));
        }
        if covered == 0 {
            return Err(ParityError::Empty);
        }
        if covered > MAX_COVERED {
            return Err(ParityError::TooLarge(covered));
        }
        let windows = covered.div_ceil(MAX_STRIPES * MAX_DATA_SHARDS);
        let per_window = covered.div_ceil(windows);
        let stripes = (per_window / MIN_DATA_SHARDS).clamp(1, MAX_STRIPES);
        let data_shards = per_window.div_ceil(stripes);
        let parity_shards = (data_shards * u64::from(percent)).div_ceil(100);
        Ok(Geometry {
            covered,
            percent,
            windows,
            stripes,
            data_shards,
            parity_shards,
        })
    }

    /// Covered sectors per window (W = S·k).
    pub fn window_sectors(&self) -> u64 {
        self.stripes * self.data_shards
    }

    /// Parity sectors per window (S·m).
    pub fn window_parity(&self) -> u64 {
        self.stripes * self.parity_shards
    }

    /// CRC sectors per window (c).
    pub fn crc_sectors(&self) -> u64 {
        (self.window_sectors() + self.window_parity()).div_ceil(CRCS_PER_SECTOR)
    }

    /// Sectors of one window's block in the parity area: its CRC sectors, then its parity.
    pub fn window_block(&self) -> u64 {
        self.crc_sectors() + self.window_parity()
    }

    /// Sectors of the whole parity area: two header copies, every window's block and the
    /// second copy of every window's CRC sectors.
    pub fn parity_sectors(&self) -> u64 {
        2 + self.windows * (self.window_block() + self.crc_sectors())
    }

    /// Sector, relative to the parity area, of window `w`'s block.
    pub fn block_at(&self, w: u64) -> u64 {
        1 + w * self.window_block()
    }

    /// Sector, relative to the parity area, of the second copy of window `w`'s CRC sectors.
    pub fn crc_copy_at(&self, w: u64) -> u64 {
        1 + self.windows * self.window_block() + w * self.crc_sectors()
    }

    /// Longest run of consecutive lost sectors inside one window that is always rebuilt.
    pub fn longest_run(&self) -> u64 {
        self.window_parity()
    }
}

/// Exact size in sectors of the parity area that protects `covered_sectors` sectors (every
/// sector of the image outside the parity area) at `percent` %: what a planner reserves.
pub fn parity_sectors(covered_sectors: u64, percent: u8) -> Result<u64, ParityError> {
    Ok(Geometry::new(covered_sectors, percent)?.parity_sectors())
}

/// CRC32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// Builds CRC sectors from a window's CRC list.
fn crc_sectors(crcs: &[u32], count: u64, out: &mut Vec<u8>) {
    for i in 0..count as usize {
        let start = out.len();
        out.resize(start + SHARD_BYTES, 0);
        let sector = &mut out[start..];
        let first = i * CRCS_PER_SECTOR as usize;
        let list = crcs.get(first..).unwrap_or(&[]);
        for (slot, crc) in sector[..SHARD_BYTES - 4]
            .chunks_exact_mut(4)
            .zip(list.iter().take(CRCS_PER_SECTOR as usize))
        {
            slot.copy_from_slice(&crc.to_le_bytes());
        }
        let own = crc32c(&sector[..SHARD_BYTES - 4]);
        sector[SHARD_BYTES - 4..].copy_from_slice(&own.to_le_bytes());
    }
}

/// The CRC values of one CRC sector, or `None` when its own CRC does not match.
fn parse_crc_sector(sector: &[u8]) -> Option<Vec<u32>> {
    let (body, own) = sector.split_at(SHARD_BYTES - 4);
    if crc32c(body).to_le_bytes() != own {
        return None;
    }
    Some(
        body.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blu_ray_at_ten_percent() {
        let bd = 12_219_392 - 1_200_000;
        let g = Geometry::new(bd, 10).unwrap();
        assert_eq!(g.stripes, 64);
        assert!((500..=512).contains(&g.data_shards), "{g:?}");
        assert_eq!(g.parity_shards, 52);
        assert!(g.windows * g.window_sectors() >= bd);
        assert!((g.windows - 1) * g.window_sectors() < bd);
        let share = g.parity_sectors() as f64 / bd as f64;
        assert!((0.10..0.11).contains(&share), "{share}");
    }

    #[test]
    fn small_images_keep_close_to_their_percent() {
        for covered in [1u64, 2, 63, 300, 1000, 5000, 32_767, 32_769, 100_000] {
            let g = Geometry::new(covered, 10).unwrap();
            assert!(g.window_sectors() * g.windows >= covered);
            assert!(g.data_shards <= MAX_DATA_SHARDS && g.stripes <= MAX_STRIPES);
            let parity = g.windows * g.window_parity();
            assert!(parity * 10 >= covered, "{covered}: at least the percent");
            if covered >= 1000 {
                assert!(parity * 100 <= covered * 12, "{covered}: {parity} parity");
            }
        }
    }

    #[test]
    fn bad_percent_and_empty_images_are_refused() {
        assert!(matches!(Geometry::new(10, 0), Err(ParityError::Percent(0))));
        assert_eq!(crc32c(b"123456789"), 0xE306_9283, "the CRC32C check value");
        assert!(matches!(
            Geometry::new(10, 101),
            Err(ParityError::Percent(101))
        ));
        assert!(matches!(Geometry::new(0, 10), Err(ParityError::Empty)));
        assert!(matches!(
            Geometry::new(u64::MAX, 10),
            Err(ParityError::TooLarge(_))
        ));
    }

    #[test]
    fn crc_sectors_round_trip_and_catch_a_flipped_bit() {
        let crcs: Vec<u32> = (0..600u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
        let mut out = Vec::new();
        crc_sectors(&crcs, 2, &mut out);
        assert_eq!(out.len(), 2 * SHARD_BYTES);
        let first = parse_crc_sector(&out[..SHARD_BYTES]).unwrap();
        assert_eq!(&first[..], &crcs[..511]);
        let second = parse_crc_sector(&out[SHARD_BYTES..]).unwrap();
        assert_eq!(&second[..89], &crcs[511..]);
        out[100] ^= 1;
        assert!(parse_crc_sector(&out[..SHARD_BYTES]).is_none());
    }
}
