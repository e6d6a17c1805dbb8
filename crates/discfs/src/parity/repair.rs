//! Repair: rebuilds an image from what can be read of it and its parity area.
//!
//! Window by window: read the CRC sectors, the data shards and the parity shards; a sector
//! that is listed bad, cannot be read, lies past the end of a short image or fails its CRC
//! is an erasure. Each stripe with no more erasures than parity shards is decoded; lost
//! parity and CRC sectors are computed again, so a fully repaired image is byte-identical to
//! the one written. Whatever could not be rebuilt is written as zeros and reported.
//!
//! A shard whose CRC is unknown (both copies of its CRC sector lost) is never taken on
//! trust: a zeroed sector would pass. It is rebuilt from verified shards when the stripe has
//! enough of them; otherwise the stripe is accepted only if what was read is one codeword
//! with a shard to spare (re-encoding it gives back every parity shard read) and not all
//! zeros, which is what a scratch across a whole stripe and its CRCs leaves. What is left is
//! kept as read and reported unverified.

use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;

use reed_solomon_simd::engine::DefaultEngine;
use reed_solomon_simd::rate::{HighRateDecoder, HighRateEncoder, RateDecoder, RateEncoder};

use super::{
    BadSectors, CRCS_PER_SECTOR, Header, ParityError, SHARD_BYTES, SYSTEM_AREA_COPY, crc_sectors,
    crc32c, parse_crc_sector,
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
    let (k, m) = (
        header.geometry.data_shards as usize,
        header.geometry.parity_shards as usize,
    );
    let mut job = Repair {
        disc,
        out,
        header,
        report: RepairReport {
            header,
            header_sector,
            unreadable: 0,
            corrupt: 0,
            rebuilt: 0,
            unrecoverable: Vec::new(),
            unverified: Vec::new(),
        },
        lost: Vec::new(),
        unverified: Vec::new(),
        data: Shards::new(header.geometry.window_sectors()),
        parity: Shards::new(header.geometry.window_parity()),
        decoder: HighRateDecoder::new(k, m, SHARD_BYTES, DefaultEngine::new(), None)?,
        encoder: HighRateEncoder::new(k, m, SHARD_BYTES, DefaultEngine::new(), None)?,
    };
    for w in 0..header.geometry.windows {
        job.window(w)?;
    }
    let bytes = header.to_bytes();
    for at in header.copies() {
        job.write_at(at, &bytes)?;
    }
    // The system-area copy is a covered sector, but its bytes are known whatever was lost.
    job.lost.retain(|&sector| sector != SYSTEM_AREA_COPY);
    job.unverified.retain(|&sector| sector != SYSTEM_AREA_COPY);
    job.out
        .flush()
        .map_err(|source| ParityError::Io { offset: 0, source })?;
    job.report.unrecoverable = merge(job.lost);
    job.report.unverified = merge(job.unverified);
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

/// The image being read: its length and the sectors known bad.
struct Disc<'b, R> {
    inner: R,
    len: Option<u64>,
    bad: &'b BadSectors,
}

impl<'b, R: Read + Seek> Disc<'b, R> {
    fn new(mut inner: R, bad: &'b BadSectors) -> Self {
        let len = inner.seek(SeekFrom::End(0)).ok();
        Disc { inner, len, bad }
    }

    fn sectors(&self) -> u64 {
        self.len.unwrap_or(0) / SHARD_BYTES as u64
    }

    /// Reads `first..first + ok.len()` into `buf`, setting `ok` for each sector read; one
    /// read for a clean run, sector by sector when a run has a bad one.
    fn read_run(&mut self, first: u64, buf: &mut [u8], ok: &mut [bool]) {
        let count = ok.len() as u64;
        let clean = first + count <= self.sectors()
            && !(first..first + count).any(|s| self.bad.contains(s))
            && self.read_exact(first, buf);
        if clean {
            ok.fill(true);
            return;
        }
        for (i, (sector, ok)) in buf.chunks_exact_mut(SHARD_BYTES).zip(ok).enumerate() {
            let at = first + i as u64;
            *ok = at < self.sectors() && !self.bad.contains(at) && self.read_exact(at, sector);
            if !*ok {
                sector.fill(0);
            }
        }
    }

    fn read_exact(&mut self, sector: u64, buf: &mut [u8]) -> bool {
        self.inner
            .seek(SeekFrom::Start(sector * SHARD_BYTES as u64))
            .and_then(|_| self.inner.read_exact(buf))
            .is_ok()
    }

    fn read_sector(&mut self, sector: u64) -> Option<Vec<u8>> {
        let mut buf = vec![0; SHARD_BYTES];
        let mut ok = [false];
        self.read_run(sector, &mut buf, &mut ok);
        ok[0].then_some(buf)
    }
}

/// The header from the system-area copy, or else from the first valid copy found scanning
/// back from the end of the image (where the parity area's last copy lies).
fn find_header<R: Read + Seek>(disc: &mut Disc<'_, R>) -> Result<(Header, u64), ParityError> {
    let candidates = std::iter::once(SYSTEM_AREA_COPY).chain((0..disc.sectors()).rev());
    for at in candidates {
        if let Some(header) = disc.read_sector(at).and_then(|s| Header::parse(&s, at)) {
            return Ok((header, at));
        }
    }
    Err(ParityError::NoHeader)
}

/// How many decodings a stripe whose CRCs were lost may take to find which of its zeroed
/// shards to leave out (one scratch is one left out per stripe; 256 covers two or three).
const PROOF_TRIALS: usize = 256;

/// What is known of one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    /// Unreadable or failing its CRC: an erasure, its bytes zeros.
    Bad,
    /// Read, but its CRC is unknown.
    Unverified,
    /// Read and matching its CRC, or rebuilt from such shards.
    Good,
}

/// Shards of one window with what is known of each.
#[derive(Default)]
struct Shards {
    bytes: Vec<u8>,
    trust: Vec<Trust>,
    /// Whether each shard could be read (scratch space for [`Disc::read_run`]).
    read: Vec<bool>,
}

impl Shards {
    fn new(count: u64) -> Self {
        Shards {
            bytes: vec![0; count as usize * SHARD_BYTES],
            trust: vec![Trust::Bad; count as usize],
            read: vec![false; count as usize],
        }
    }

    fn len(&self) -> usize {
        self.trust.len()
    }

    fn is_good(&self, i: usize) -> bool {
        self.trust[i] == Trust::Good
    }

    fn shard(&self, i: usize) -> &[u8] {
        &self.bytes[i * SHARD_BYTES..(i + 1) * SHARD_BYTES]
    }

    fn shard_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.bytes[i * SHARD_BYTES..(i + 1) * SHARD_BYTES]
    }
}

struct Repair<'b, R, W> {
    disc: Disc<'b, R>,
    out: W,
    header: Header,
    report: RepairReport,
    /// Image sectors that could not be rebuilt.
    lost: Vec<u64>,
    /// Image sectors kept as read (or decoded from such) without confirmation.
    unverified: Vec<u64>,
    /// The current window's data and parity shards, reused from window to window.
    data: Shards,
    parity: Shards,
    decoder: HighRateDecoder<DefaultEngine>,
    encoder: HighRateEncoder<DefaultEngine>,
}

impl<R: Read + Seek, W: Write + Seek> Repair<'_, R, W> {
    fn window(&mut self, w: u64) -> Result<(), ParityError> {
        let g = self.header.geometry;
        let block_start = self.header.parity_start + g.block_at(w);
        let copy_start = self.header.parity_start + g.crc_copy_at(w);
        let parity_start = block_start + g.crc_sectors();
        let stored = self.read_crcs(block_start, copy_start);
        let mut data = std::mem::take(&mut self.data);
        let mut parity = std::mem::take(&mut self.parity);
        self.read_data(w, &stored, &mut data);
        self.read_shards(
            parity_start,
            &mut parity,
            &stored[g.window_sectors() as usize..],
        );
        for s in 0..g.stripes as usize {
            self.decode_stripe(w, s, &mut data, &mut parity)?;
            self.encode_lost_parity(s, &data, &mut parity)?;
        }
        // An unverified shard gets the CRC of its bytes as read: if they are right after all
        // (what a SHA-256 of the image then shows), the image is the one written.
        let mut crcs = Vec::with_capacity(stored.len());
        for (shards, stored) in [
            (&data, &stored[..data.len()]),
            (&parity, &stored[data.len()..]),
        ] {
            for (i, &trust) in shards.trust.iter().enumerate() {
                crcs.push(match trust {
                    Trust::Good | Trust::Unverified => crc32c(shards.shard(i)),
                    Trust::Bad => stored[i].unwrap_or(0),
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
        (self.data, self.parity) = (data, parity);
        Ok(())
    }

    /// Reports the sectors of window `w`'s block (parity shards, both copies of its CRC
    /// sectors) that are written unconfirmed or as zeros: a parity shard that is not good,
    /// and a CRC sector listing an unverified shard, or a lost one whose CRC was lost too.
    fn report_window_area(
        &mut self,
        w: u64,
        stored: &[Option<u32>],
        data: &Shards,
        parity: &Shards,
    ) {
        let g = self.header.geometry;
        let block = self.header.parity_start + g.block_at(w);
        let copy = self.header.parity_start + g.crc_copy_at(w);
        for (i, &trust) in parity.trust.iter().enumerate() {
            let sector = block + g.crc_sectors() + i as u64;
            match trust {
                Trust::Good => {}
                Trust::Unverified => self.unverified.push(sector),
                Trust::Bad => self.lost.push(sector),
            }
        }
        let entries = data.trust.iter().chain(&parity.trust).zip(stored);
        let per_sector = CRCS_PER_SECTOR as usize;
        for (j, chunk) in entries.collect::<Vec<_>>().chunks(per_sector).enumerate() {
            let lost = chunk
                .iter()
                .any(|&(&t, crc)| t == Trust::Bad && crc.is_none());
            let unverified = chunk.iter().any(|&(&t, _)| t == Trust::Unverified);
            let to = if lost {
                &mut self.lost
            } else if unverified {
                &mut self.unverified
            } else {
                continue;
            };
            to.extend([block + j as u64, copy + j as u64]);
        }
    }

    /// The window's CRC list, from the first copy of each CRC sector or else the second;
    /// `None` where both are unreadable or damaged.
    fn read_crcs(&mut self, first: u64, copy: u64) -> Vec<Option<u32>> {
        let g = self.header.geometry;
        let entries = (g.window_sectors() + g.window_parity()) as usize;
        let mut crcs = vec![None; entries];
        for i in 0..g.crc_sectors() {
            let mut values = None;
            for at in [first + i, copy + i] {
                let read = self.disc.read_sector(at).and_then(|s| parse_crc_sector(&s));
                if read.is_none() {
                    self.report.unreadable += 1;
                    self.report.rebuilt += 1;
                }
                values = values.or(read);
            }
            let at = (i * CRCS_PER_SECTOR) as usize;
            for (slot, v) in crcs[at.min(entries)..]
                .iter_mut()
                .zip(values.into_iter().flatten())
            {
                *slot = Some(v);
            }
        }
        crcs
    }

    /// Reads a run of stored shards from `first` on and checks them against their CRCs.
    fn read_shards(&mut self, first: u64, shards: &mut Shards, crcs: &[Option<u32>]) {
        self.disc
            .read_run(first, &mut shards.bytes, &mut shards.read);
        self.check(shards, 0..shards.len(), crcs);
    }

    /// Sets the trust of the shards in `range` from whether they were read and their CRCs.
    fn check(&mut self, shards: &mut Shards, range: Range<usize>, crcs: &[Option<u32>]) {
        for i in range {
            shards.trust[i] = if !shards.read[i] {
                self.report.unreadable += 1;
                Trust::Bad
            } else {
                match crcs[i] {
                    Some(crc) if crc == crc32c(shards.shard(i)) => Trust::Good,
                    Some(_) => {
                        shards.shard_mut(i).fill(0);
                        self.report.corrupt += 1;
                        Trust::Bad
                    }
                    None => Trust::Unverified,
                }
            };
        }
    }

    /// The window's data shards: covered sectors read from the image (in at most two runs,
    /// before and after the parity area), virtual zero sectors past the end.
    fn read_data(&mut self, w: u64, crcs: &[Option<u32>], data: &mut Shards) {
        let g = self.header.geometry;
        let first = w * g.window_sectors();
        let real = g.covered.min(first + g.window_sectors()) - first;
        data.trust[real as usize..].fill(Trust::Good);
        data.bytes[real as usize * SHARD_BYTES..].fill(0);
        for run in self.runs(first, real) {
            let (at, len) = ((run.start - first) as usize, (run.end - run.start) as usize);
            let sector = self.header.covered_sector(run.start);
            let bytes = &mut data.bytes[at * SHARD_BYTES..(at + len) * SHARD_BYTES];
            self.disc
                .read_run(sector, bytes, &mut data.read[at..at + len]);
            self.check(data, at..at + len, crcs);
        }
    }

    /// Covered indices `first..first + count` cut where the parity area interrupts them.
    fn runs(&self, first: u64, count: u64) -> Vec<Range<u64>> {
        let end = first + count;
        let cut = self.header.parity_start.clamp(first, end);
        [first..cut, cut..end]
            .into_iter()
            .filter(|r| !r.is_empty())
            .collect()
    }

    /// Rebuilds what stripe `s` lost: from its verified shards if there are enough, else
    /// from what it read if that proves itself (see the module's notes).
    fn decode_stripe(
        &mut self,
        w: u64,
        s: usize,
        data: &mut Shards,
        parity: &mut Shards,
    ) -> Result<(), ParityError> {
        let g = self.header.geometry;
        let (stripes, k, m) = g.shape();
        let d = |i: usize| i * stripes + s;
        if (0..k).all(|i| data.is_good(d(i))) {
            return Ok(());
        }
        // The stripe's shards in code order: data 0..k, then parity k..k + m.
        let trust: Vec<Trust> = (0..k)
            .map(|i| data.trust[d(i)])
            .chain((0..m).map(|r| parity.trust[r * stripes + s]))
            .collect();
        let good: Vec<bool> = trust.iter().map(|&t| t == Trust::Good).collect();
        let accepted = if good.iter().filter(|&&g| g).count() >= k {
            self.decode_from(s, data, parity, &good, false)?
        } else {
            self.prove_stripe(s, data, parity, &trust)?
        };
        if accepted {
            return Ok(());
        }
        // Nothing confirms this stripe: unverified shards stay as read, erasures are lost.
        if (0..k).all(|i| data.trust[d(i)] != Trust::Bad) {
            self.guess_parity(s, data, parity)?;
        }
        for i in 0..k {
            let index = w * g.window_sectors() + d(i) as u64;
            let sector = self.header.covered_sector(index);
            match data.trust[d(i)] {
                Trust::Good => {}
                Trust::Unverified => self.unverified.push(sector),
                Trust::Bad => self.lost.push(sector),
            }
        }
        Ok(())
    }

    /// Looks for a set of stripe `s`'s read shards that is one codeword with a shard to
    /// spare. A scratch leaves zeros, so first without any zeroed unverified shard, then with
    /// all read, then with zeroed ones left out one, two, … at a time, up to
    /// [`PROOF_TRIALS`] decodings.
    fn prove_stripe(
        &mut self,
        s: usize,
        data: &mut Shards,
        parity: &mut Shards,
        trust: &[Trust],
    ) -> Result<bool, ParityError> {
        let (stripes, k, _) = self.header.geometry.shape();
        let shard = |i: usize| match i.checked_sub(k) {
            None => data.shard(i * stripes + s),
            Some(r) => parity.shard(r * stripes + s),
        };
        let read: Vec<bool> = trust.iter().map(|&t| t != Trust::Bad).collect();
        let suspects: Vec<usize> = (0..trust.len())
            .filter(|&i| trust[i] == Trust::Unverified && shard(i).iter().all(|&b| b == 0))
            .collect();
        let Some(spare) = read.iter().filter(|&&r| r).count().checked_sub(k + 1) else {
            return Ok(false);
        };
        // Most often the zeroed shards are exactly the scratch: one decoding without them all.
        if suspects.len() <= spare {
            let mut picked = read.clone();
            for &i in &suspects {
                picked[i] = false;
            }
            if self.decode_from(s, data, parity, &picked, true)? {
                return Ok(true);
            }
        }
        let mut trials = 0;
        for leave_out in 0..=spare.min(suspects.len()) {
            let mut set: Vec<usize> = (0..leave_out).collect();
            loop {
                if trials == PROOF_TRIALS {
                    return Ok(false);
                }
                trials += 1;
                let mut picked = read.clone();
                for &j in &set {
                    picked[suspects[j]] = false;
                }
                if self.decode_from(s, data, parity, &picked, true)? {
                    return Ok(true);
                }
                if !next_combination(&mut set, suspects.len()) {
                    break;
                }
            }
        }
        Ok(false)
    }

    /// Decodes stripe `s` from the shards `picked` (data 0..k, then parity). Unless
    /// `verify`, they are all good and so is the result. With `verify`, the result is
    /// accepted only if re-encoding the whole stripe gives back every parity shard picked
    /// and the stripe is not all zeros; then its data and the parity picked are good.
    /// Returns whether the stripe was accepted (left as it was if not).
    fn decode_from(
        &mut self,
        s: usize,
        data: &mut Shards,
        parity: &mut Shards,
        picked: &[bool],
        verify: bool,
    ) -> Result<bool, ParityError> {
        let (stripes, k, m) = self.header.geometry.shape();
        let d = |i: usize| i * stripes + s;
        let p = |r: usize| r * stripes + s;
        let (picked_data, picked_parity) = picked.split_at(k);
        let mut restored: Vec<(usize, Vec<u8>)> = Vec::new();
        if picked_data.contains(&false) {
            let decoder = &mut self.decoder;
            decoder.reset(k, m, SHARD_BYTES)?;
            for i in (0..k).filter(|&i| picked_data[i]) {
                decoder.add_original_shard(i, data.shard(d(i)))?;
            }
            for r in (0..m).filter(|&r| picked_parity[r]) {
                decoder.add_recovery_shard(r, parity.shard(p(r)))?;
            }
            let result = decoder.decode()?;
            restored.extend(
                result
                    .restored_original_iter()
                    .map(|(i, b)| (i, b.to_vec())),
            );
        }
        let shard = |i: usize| -> &[u8] {
            match restored.iter().find(|(j, _)| *j == i) {
                Some((_, bytes)) => bytes,
                None => data.shard(d(i)),
            }
        };
        if verify {
            // All-zero data encodes to all-zero parity: nothing would tell it from a scratch.
            if (0..k).all(|i| shard(i).iter().all(|&b| b == 0)) {
                return Ok(false);
            }
            let encoder = &mut self.encoder;
            encoder.reset(k, m, SHARD_BYTES)?;
            for i in 0..k {
                encoder.add_original_shard(shard(i))?;
            }
            let encoded = encoder.encode()?;
            for (r, bytes) in encoded.recovery_iter().enumerate() {
                if picked_parity[r] && parity.shard(p(r)) != bytes {
                    return Ok(false);
                }
            }
            for r in (0..m).filter(|&r| picked_parity[r]) {
                parity.trust[p(r)] = Trust::Good;
            }
        }
        for (i, bytes) in restored {
            let was = data.trust[d(i)];
            let differs = data.shard(d(i)) != bytes.as_slice();
            if was == Trust::Unverified && differs {
                self.report.corrupt += 1;
            }
            if was == Trust::Bad || differs {
                self.report.rebuilt += 1;
            }
            data.shard_mut(d(i)).copy_from_slice(&bytes);
        }
        for i in 0..k {
            data.trust[d(i)] = Trust::Good;
        }
        Ok(true)
    }

    /// Computes the parity shards of stripe `s` that were lost (unreadable, or zeros where
    /// a scratch left them) from its data as read, unverified: if the data was right after
    /// all, so is the image, as its SHA-256 shows. A parity shard read with other bytes is
    /// kept: a guess must never replace what may be right.
    fn guess_parity(
        &mut self,
        s: usize,
        data: &Shards,
        parity: &mut Shards,
    ) -> Result<(), ParityError> {
        let (stripes, k, m) = self.header.geometry.shape();
        let encoder = &mut self.encoder;
        encoder.reset(k, m, SHARD_BYTES)?;
        for i in 0..k {
            encoder.add_original_shard(data.shard(i * stripes + s))?;
        }
        for (r, shard) in encoder.encode()?.recovery_iter().enumerate() {
            let at = r * stripes + s;
            let lost = match parity.trust[at] {
                Trust::Good => false,
                Trust::Bad => true,
                Trust::Unverified => parity.shard(at).iter().all(|&b| b == 0),
            };
            if lost {
                parity.shard_mut(at).copy_from_slice(shard);
                parity.trust[at] = Trust::Unverified;
            }
        }
        Ok(())
    }

    /// Computes again the parity shards of stripe `s` that were lost, once its data is whole.
    fn encode_lost_parity(
        &mut self,
        s: usize,
        data: &Shards,
        parity: &mut Shards,
    ) -> Result<(), ParityError> {
        let g = self.header.geometry;
        let (stripes, k, m) = g.shape();
        let lost = (0..m).any(|r| !parity.is_good(r * stripes + s));
        if !lost || (0..k).any(|i| !data.is_good(i * stripes + s)) {
            return Ok(());
        }
        let encoder = &mut self.encoder;
        encoder.reset(k, m, SHARD_BYTES)?;
        for i in 0..k {
            encoder.add_original_shard(data.shard(i * stripes + s))?;
        }
        for (r, shard) in encoder.encode()?.recovery_iter().enumerate() {
            let at = r * stripes + s;
            if parity.trust[at] == Trust::Bad {
                self.report.rebuilt += 1;
            }
            if !parity.is_good(at) {
                parity.shard_mut(at).copy_from_slice(shard);
                parity.trust[at] = Trust::Good;
            }
        }
        Ok(())
    }

    fn write_data(&mut self, w: u64, data: &Shards) -> Result<(), ParityError> {
        let g = self.header.geometry;
        let first = w * g.window_sectors();
        let real = g.covered.min(first + g.window_sectors()) - first;
        for run in self.runs(first, real) {
            let at = (run.start - first) as usize;
            let len = (run.end - run.start) as usize;
            let bytes = &data.bytes[at * SHARD_BYTES..(at + len) * SHARD_BYTES];
            self.write_at(self.header.covered_sector(run.start), bytes)?;
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

/// Steps `set` (ascending indices below `n`) to the next combination of its size in
/// lexicographic order; false after the last.
fn next_combination(set: &mut [usize], n: usize) -> bool {
    let len = set.len();
    for i in (0..len).rev() {
        if set[i] < n - len + i {
            set[i] += 1;
            for j in i + 1..len {
                set[j] = set[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

/// Sorted, merged ranges of the sectors in `sectors`.
fn merge(mut sectors: Vec<u64>) -> Vec<Range<u64>> {
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
