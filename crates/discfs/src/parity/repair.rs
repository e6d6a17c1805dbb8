//! Repair: rebuilds an image from what can be read of it and its parity area.
//!
//! Window by window: read the CRC sectors, the data shards and the parity shards; a sector
//! that is listed bad, cannot be read, lies past the end of a short image or fails its CRC
//! is an erasure. Each stripe with no more erasures than parity shards is decoded; lost
//! parity and CRC sectors are computed again, so a fully repaired image is byte-identical to
//! the one written. Whatever could not be rebuilt is written as zeros and reported.
//!
//! How far each sector is trusted is [`super::window`]'s, shared with [`super::rebuild`].

use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;

use super::window::{Code, Disc, Shards, Trust, find_header};
use super::{
    BadSectors, CRCS_PER_SECTOR, Header, ParityError, SHARD_BYTES, SYSTEM_AREA_COPY, crc_sectors,
    crc32c,
};

/// What a repair found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The header the repair worked from.
    pub header: Header,
    /// The sector whose copy of the header was used.
    pub header_sector: u64,
    /// Sectors that could not be read (listed bad, read errors, past the end of the image).
    pub unreadable: u64,
    /// Sectors that were read but did not match their CRC.
    pub corrupt: u64,
    /// Sectors written from the code instead of as read.
    pub rebuilt: u64,
    /// Image sectors that could not be rebuilt (written as zeros), ascending and merged.
    pub unrecoverable: Vec<Range<u64>>,
    /// Image sectors written as read (or as decoded from such sectors) that neither a CRC nor
    /// the code could confirm, because the CRCs that would have were lost; ascending and
    /// merged. They may well be right: a SHA-256 of the whole image or of each file decides.
    pub unverified: Vec<Range<u64>>,
    /// Reed-Solomon decodings the repair took (the work it did; bounded per window whatever
    /// was lost).
    pub decodings: u64,
}

impl RepairReport {
    /// Whether every sector of the image was rebuilt and confirmed.
    pub fn is_complete(&self) -> bool {
        self.unrecoverable.is_empty() && self.unverified.is_empty()
    }
}

/// Repairs `image` (an image file or a disc, possibly short) with the sectors in `bad`
/// known unreadable, writing the whole repaired image to `out`.
pub fn repair<R: Read + Seek, W: Write + Seek>(
    image: R,
    bad: &BadSectors,
    out: W,
) -> Result<RepairReport, ParityError> {
    let mut disc = Disc::new(image, bad);
    let (header, header_sector) = find_header(&mut disc)?;
    let mut job = Repair {
        code: Code::new(disc, header)?,
        out,
        report: RepairReport {
            header,
            header_sector,
            unreadable: 0,
            corrupt: 0,
            rebuilt: 0,
            unrecoverable: Vec::new(),
            unverified: Vec::new(),
            decodings: 0,
        },
    };
    for w in 0..header.geometry.windows {
        job.window(w)?;
    }
    let bytes = header.to_bytes();
    for at in header.copies() {
        job.write_at(at, &bytes)?;
    }
    // The system-area copy is a covered sector, but its bytes are known whatever was lost.
    let Code {
        counts,
        mut lost,
        mut unverified,
        ..
    } = job.code;
    lost.retain(|&sector| sector != SYSTEM_AREA_COPY);
    unverified.retain(|&sector| sector != SYSTEM_AREA_COPY);
    job.out
        .flush()
        .map_err(|source| ParityError::Io { offset: 0, source })?;
    job.report.unreadable = counts.unreadable;
    job.report.corrupt = counts.corrupt;
    job.report.rebuilt = counts.rebuilt;
    job.report.decodings = counts.decodings;
    job.report.unrecoverable = merge(lost);
    job.report.unverified = merge(unverified);
    Ok(job.report)
}

/// Checks `image` against its parity without writing anything: the report says how many
/// sectors are unreadable or corrupt and which could not be rebuilt; an intact image has
/// none of either.
pub fn check<R: Read + Seek>(image: R, bad: &BadSectors) -> Result<RepairReport, ParityError> {
    repair(image, bad, Discard(0))
}

/// A sink that keeps nothing (for [`check`]).
struct Discard(u64);

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Discard {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        if let SeekFrom::Start(at) = pos {
            self.0 = at;
        }
        Ok(self.0)
    }
}

struct Repair<'b, R, W> {
    code: Code<'b, R>,
    out: W,
    report: RepairReport,
}

impl<R: Read + Seek, W: Write + Seek> Repair<'_, R, W> {
    fn window(&mut self, w: u64) -> Result<(), ParityError> {
        let g = self.code.header.geometry;
        let block_start = self.code.header.parity_start + g.block_at(w);
        let copy_start = self.code.header.parity_start + g.crc_copy_at(w);
        let stored = self.code.read_window(w);
        self.code.decode_stripes(w, &|_| true)?;
        let data = std::mem::take(&mut self.code.data);
        let mut parity = std::mem::take(&mut self.code.parity);
        for s in 0..g.stripes as usize {
            self.code.encode_lost_parity(s, &data, &mut parity)?;
        }
        // A CRC read from the disc is kept whatever became of its shard: it is the one written.
        // An unverified shard whose CRC was lost gets the CRC of its bytes as read: if they are
        // right after all (what a SHA-256 of the image then shows), the image is the one written.
        let mut crcs = Vec::with_capacity(stored.len());
        for (shards, stored) in [
            (&data, &stored[..data.len()]),
            (&parity, &stored[data.len()..]),
        ] {
            for (i, &trust) in shards.trust.iter().enumerate() {
                crcs.push(match (trust, stored[i]) {
                    (Trust::Good, _) => crc32c(shards.shard(i)),
                    (_, Some(crc)) => crc,
                    (Trust::Unverified, None) => crc32c(shards.shard(i)),
                    (Trust::Bad, None) => 0,
                });
            }
        }
        self.report_window_area(w, &stored, &data, &parity);
        let mut block = Vec::with_capacity(g.window_block() as usize * SHARD_BYTES);
        crc_sectors(&crcs, g.crc_sectors(), &mut block);
        self.write_at(copy_start, &block)?;
        block.extend_from_slice(&parity.bytes);
        self.write_at(block_start, &block)?;
        self.write_data(w, &data)?;
        (self.code.data, self.code.parity) = (data, parity);
        Ok(())
    }

    /// Reports the sectors of window `w`'s block (parity shards, both copies of its CRC
    /// sectors) that are written unconfirmed or as zeros: a parity shard that is not good,
    /// and a CRC sector listing a shard whose CRC was lost: unverified, or lost too.
    fn report_window_area(
        &mut self,
        w: u64,
        stored: &[Option<u32>],
        data: &Shards,
        parity: &Shards,
    ) {
        let g = self.code.header.geometry;
        let block = self.code.header.parity_start + g.block_at(w);
        let copy = self.code.header.parity_start + g.crc_copy_at(w);
        for (i, &trust) in parity.trust.iter().enumerate() {
            let sector = block + g.crc_sectors() + i as u64;
            match trust {
                Trust::Good => {}
                Trust::Unverified => self.code.unverified.push(sector),
                Trust::Bad => self.code.lost.push(sector),
            }
        }
        let entries = data.trust.iter().chain(&parity.trust).zip(stored);
        let per_sector = CRCS_PER_SECTOR as usize;
        for (j, chunk) in entries.collect::<Vec<_>>().chunks(per_sector).enumerate() {
            let lost = chunk
                .iter()
                .any(|&(&t, crc)| t == Trust::Bad && crc.is_none());
            let unverified = chunk
                .iter()
                .any(|&(&t, crc)| t == Trust::Unverified && crc.is_none());
            let to = if lost {
                &mut self.code.lost
            } else if unverified {
                &mut self.code.unverified
            } else {
                continue;
            };
            to.extend([block + j as u64, copy + j as u64]);
        }
    }

    fn write_data(&mut self, w: u64, data: &Shards) -> Result<(), ParityError> {
        let g = self.code.header.geometry;
        let first = w * g.window_sectors();
        let real = g.covered.min(first + g.window_sectors()) - first;
        for run in self.code.runs(first, real) {
            let at = (run.start - first) as usize;
            let len = (run.end - run.start) as usize;
            let bytes = &data.bytes[at * SHARD_BYTES..(at + len) * SHARD_BYTES];
            self.write_at(self.code.header.covered_sector(run.start), bytes)?;
        }
        Ok(())
    }

    fn write_at(&mut self, sector: u64, bytes: &[u8]) -> Result<(), ParityError> {
        let offset = sector * SHARD_BYTES as u64;
        self.out
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.out.write_all(bytes))
            .map_err(|source| ParityError::Io { offset, source })
    }
}

/// Sorted, merged ranges of the sectors in `sectors`.
pub(super) fn merge(mut sectors: Vec<u64>) -> Vec<Range<u64>> {
    sectors.sort_unstable();
    sectors.dedup();
    let mut ranges: Vec<Range<u64>> = Vec::new();
    for s in sectors {
        match ranges.last_mut() {
            Some(r) if r.end == s => r.end += 1,
            _ => ranges.push(s..s + 1),
        }
    }
    ranges
}
