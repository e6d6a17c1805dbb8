//! The streaming encoder: fed the covered sectors in order, it keeps one window at a time
//! (W sectors inside the stripes' Reed-Solomon encoders, plus that window's parity block)
//! and writes each finished window's block to a spill the caller provides. Memory does not
//! grow with the image: for a BD at 10 % it is about 80 MiB (64 stripes of 512 sectors and
//! a 6.8 MiB block), whatever the disc's size.

use std::fmt;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

use reed_solomon_simd::engine::DefaultEngine;
use reed_solomon_simd::rate::{HighRateEncoder, RateEncoder};

use super::{Header, ParityError, SHARD_BYTES, crc_sectors, crc32c};

static ZERO_SHARD: [u8; SHARD_BYTES] = [0; SHARD_BYTES];

/// Computes the parity area of one image from its covered sectors, streamed in order.
pub struct ParityEncoder<S> {
    header: Header,
    stripes: Vec<HighRateEncoder<DefaultEngine>>,
    /// CRC list of the current window (data shards, then parity sectors).
    crcs: Vec<u32>,
    /// Bytes of a sector not yet complete.
    partial: Vec<u8>,
    /// Sectors of the current window already taken.
    in_window: u64,
    /// Covered sectors taken in all.
    taken: u64,
    /// One window's block (CRC sectors, then parity sectors), reused.
    block: Vec<u8>,
    spill: S,
    windows_done: u64,
}

impl<S> fmt::Debug for ParityEncoder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParityEncoder")
            .field("header", &self.header)
            .field("taken", &self.taken)
            .field("windows_done", &self.windows_done)
            .finish_non_exhaustive()
    }
}

impl<S: Read + Write + Seek> ParityEncoder<S> {
    /// An encoder for the image `header` describes. Window blocks go to `spill` from its
    /// start on, until [`finish`](Self::finish) hands them back.
    pub fn new(header: Header, mut spill: S) -> Result<Self, ParityError> {
        let g = header.geometry;
        spill
            .seek(SeekFrom::Start(0))
            .map_err(|source| ParityError::Io { offset: 0, source })?;
        let stripes = (0..g.stripes)
            .map(|_| {
                HighRateEncoder::new(
                    g.data_shards as usize,
                    g.parity_shards as usize,
                    SHARD_BYTES,
                    DefaultEngine::new(),
                    None,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ParityEncoder {
            header,
            stripes,
            crcs: vec![0; (g.window_sectors() + g.window_parity()) as usize],
            partial: Vec::with_capacity(SHARD_BYTES),
            in_window: 0,
            taken: 0,
            block: vec![0; g.window_block() as usize * SHARD_BYTES],
            spill,
            windows_done: 0,
        })
    }

    /// The header the encoder was made for.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Takes the next bytes of the covered sectors (any length; sectors may straddle calls).
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<(), ParityError> {
        if !self.partial.is_empty() {
            let take = (SHARD_BYTES - self.partial.len()).min(bytes.len());
            self.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.partial.len() == SHARD_BYTES {
                let sector = std::mem::take(&mut self.partial);
                self.push_sector(&sector)?;
                self.partial = sector;
                self.partial.clear();
            }
        }
        let mut sectors = bytes.chunks_exact(SHARD_BYTES);
        for sector in &mut sectors {
            self.push_sector(sector)?;
        }
        self.partial.extend_from_slice(sectors.remainder());
        Ok(())
    }

    /// Takes `sectors` zero sectors (run-out padding, say).
    pub fn push_zeros(&mut self, sectors: u64) -> Result<(), ParityError> {
        for _ in 0..sectors {
            self.push(&ZERO_SHARD)?;
        }
        Ok(())
    }

    fn push_sector(&mut self, sector: &[u8]) -> Result<(), ParityError> {
        let g = self.header.geometry;
        if self.taken == g.covered {
            return Err(ParityError::Length {
                got: (self.taken + 1) * SHARD_BYTES as u64,
                expected: g.covered * SHARD_BYTES as u64,
            });
        }
        self.crcs[self.in_window as usize] = crc32c(sector);
        self.stripes[(self.in_window % g.stripes) as usize].add_original_shard(sector)?;
        self.in_window += 1;
        self.taken += 1;
        if self.in_window == g.window_sectors() {
            self.finish_window()?;
        }
        Ok(())
    }

    /// Completes the window with virtual zero sectors, encodes every stripe and spills the
    /// window's block.
    fn finish_window(&mut self) -> Result<(), ParityError> {
        let g = self.header.geometry;
        let zero_crc = crc32c(&ZERO_SHARD);
        while self.in_window < g.window_sectors() {
            self.crcs[self.in_window as usize] = zero_crc;
            self.stripes[(self.in_window % g.stripes) as usize].add_original_shard(ZERO_SHARD)?;
            self.in_window += 1;
        }
        let crc_bytes = g.crc_sectors() as usize * SHARD_BYTES;
        let (crc_area, parity_area) = self.block.split_at_mut(crc_bytes);
        for (s, stripe) in self.stripes.iter_mut().enumerate() {
            let result = stripe.encode()?;
            for (r, shard) in result.recovery_iter().enumerate() {
                let at = r * g.stripes as usize + s;
                parity_area[at * SHARD_BYTES..(at + 1) * SHARD_BYTES].copy_from_slice(shard);
                self.crcs[(g.window_sectors() as usize) + at] = crc32c(shard);
            }
            drop(result);
            stripe.reset(
                g.data_shards as usize,
                g.parity_shards as usize,
                SHARD_BYTES,
            )?;
        }
        let mut crc_out = Vec::with_capacity(crc_bytes);
        crc_sectors(&self.crcs, g.crc_sectors(), &mut crc_out);
        crc_area.copy_from_slice(&crc_out);
        // The spill holds the area without its first header: blocks, then CRC copies.
        let w = self.windows_done;
        let block_at = (g.block_at(w) - 1) * SHARD_BYTES as u64;
        let copy_at = (g.crc_copy_at(w) - 1) * SHARD_BYTES as u64;
        for (at, bytes) in [(block_at, &self.block[..]), (copy_at, &crc_out[..])] {
            self.spill
                .seek(SeekFrom::Start(at))
                .and_then(|_| self.spill.write_all(bytes))
                .map_err(|source| ParityError::Io { offset: at, source })?;
        }
        self.windows_done += 1;
        self.in_window = 0;
        Ok(())
    }

    /// Ends the stream: every covered sector must have been given. Returns the parity area,
    /// ready to be read out.
    pub fn finish(mut self) -> Result<ParityArea<S>, ParityError> {
        let g = self.header.geometry;
        if !self.partial.is_empty() || self.taken != g.covered {
            return Err(ParityError::Length {
                got: self.taken * SHARD_BYTES as u64 + self.partial.len() as u64,
                expected: g.covered * SHARD_BYTES as u64,
            });
        }
        if self.in_window > 0 {
            self.finish_window()?;
        }
        let io_err = |source| ParityError::Io { offset: 0, source };
        self.spill.flush().map_err(io_err)?;
        self.spill.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let header = self.header.to_bytes();
        let spilled = (g.parity_sectors() - 2) * SHARD_BYTES as u64;
        Ok(ParityArea {
            reader: Cursor::new(header.clone())
                .chain(self.spill.take(spilled))
                .chain(Cursor::new(header)),
        })
    }
}

/// A finished parity area: read it out (header, every window's block, header) to write it
/// into the image. Its length is [`Header::parity_sectors`] sectors.
pub struct ParityArea<S> {
    reader: io::Chain<HeadAndBlocks<S>, Cursor<Vec<u8>>>,
}

/// The first header copy followed by the spilled window blocks.
type HeadAndBlocks<S> = io::Chain<Cursor<Vec<u8>>, io::Take<S>>;

impl<S> fmt::Debug for ParityArea<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParityArea").finish_non_exhaustive()
    }
}

impl<S: Read> Read for ParityArea<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

/// The parity area of `covered` (the image's covered sectors, in order), computed in memory:
/// for tests and small images.
pub fn parity_area_of(header: Header, covered: &[u8]) -> Result<Vec<u8>, ParityError> {
    let mut encoder = ParityEncoder::new(header, Cursor::new(Vec::new()))?;
    encoder.push(covered)?;
    let mut area = Vec::new();
    encoder
        .finish()?
        .read_to_end(&mut area)
        .map_err(|source| ParityError::Io { offset: 0, source })?;
    Ok(area)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parity::Geometry;

    fn pattern(sectors: u64) -> Vec<u8> {
        (0..sectors * SHARD_BYTES as u64)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 11)) as u8)
            .collect()
    }

    #[test]
    fn the_area_has_the_exact_size_and_does_not_depend_on_how_bytes_are_cut() {
        let covered = 5_000;
        let g = Geometry::new(covered, 10).unwrap();
        let header = Header::new(4_000, g);
        let data = pattern(covered);
        let whole = parity_area_of(header, &data).unwrap();
        assert_eq!(whole.len() as u64, g.parity_sectors() * SHARD_BYTES as u64);

        let mut encoder = ParityEncoder::new(header, Cursor::new(Vec::new())).unwrap();
        for piece in data.chunks(1000) {
            encoder.push(piece).unwrap();
        }
        let mut cut = Vec::new();
        encoder.finish().unwrap().read_to_end(&mut cut).unwrap();
        assert_eq!(cut, whole);
        assert_eq!(&whole[..SHARD_BYTES], &header.to_bytes()[..]);
        assert_eq!(&whole[whole.len() - SHARD_BYTES..], &header.to_bytes()[..]);
    }

    #[test]
    fn too_few_or_too_many_sectors_are_refused() {
        let g = Geometry::new(10, 10).unwrap();
        let header = Header::new(5, g);
        let short = parity_area_of(header, &pattern(9));
        assert!(
            matches!(short, Err(ParityError::Length { .. })),
            "{short:?}"
        );
        let long = parity_area_of(header, &pattern(11));
        assert!(matches!(long, Err(ParityError::Length { .. })), "{long:?}");
        let ragged = parity_area_of(header, &pattern(10)[..10 * SHARD_BYTES - 1]);
        assert!(matches!(ragged, Err(ParityError::Length { .. })));
    }
}
