//! One window of the code, read and decoded: what a repair of the whole image and a rebuild
//! of a few of its sectors share, so that both trust a sector on the same grounds.
//!
//! A window's CRC sectors (either copy), data shards and parity shards are read; a sector
//! that is listed bad, cannot be read, lies past the end of a short image or fails its CRC
//! is an erasure. Each stripe asked for with no more erasures than parity shards is decoded.
//! A shard whose CRC is unknown (both copies of its CRC sector lost) is never taken on
//! trust: a zeroed sector would pass. It is rebuilt from verified shards when the stripe has
//! enough of them; otherwise the stripe is accepted only if what was read is one codeword
//! with a shard to spare (re-encoding it gives back every parity shard read) and not all
//! zeros, which is what a scratch across a whole stripe and its CRCs leaves. What is left is
//! kept as read and marked unverified.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use reed_solomon_simd::engine::DefaultEngine;
use reed_solomon_simd::rate::{HighRateDecoder, HighRateEncoder, RateDecoder, RateEncoder};

use super::{
    BadSectors, CRCS_PER_SECTOR, Header, ParityError, SHARD_BYTES, SYSTEM_AREA_COPY, crc32c,
    parse_crc_sector,
};

/// The image being read: its length and the sectors known bad.
pub(super) struct Disc<'b, R> {
    inner: R,
    len: Option<u64>,
    bad: &'b BadSectors,
}

impl<'b, R: Read + Seek> Disc<'b, R> {
    pub(super) fn new(mut inner: R, bad: &'b BadSectors) -> Self {
        let len = inner.seek(SeekFrom::End(0)).ok();
        Disc { inner, len, bad }
    }

    pub(super) fn sectors(&self) -> u64 {
        self.len.unwrap_or(0) / SHARD_BYTES as u64
    }

    /// Reads `first..first + ok.len()` into `buf`, setting `ok` for each sector read; one
    /// read for a clean run, sector by sector when a run has a bad one.
    pub(super) fn read_run(&mut self, first: u64, buf: &mut [u8], ok: &mut [bool]) {
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

    pub(super) fn read_sector(&mut self, sector: u64) -> Option<Vec<u8>> {
        let mut buf = vec![0; SHARD_BYTES];
        let mut ok = [false];
        self.read_run(sector, &mut buf, &mut ok);
        ok[0].then_some(buf)
    }
}

/// The header from the system-area copy, or else from the first valid copy found scanning
/// back from the end of the image (where the parity area's last copy lies).
pub(super) fn find_header<R: Read + Seek>(
    disc: &mut Disc<'_, R>,
) -> Result<(Header, u64), ParityError> {
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
/// How many such searching decodings one window may take in all, beyond the one decoding
/// of each stripe without all its zeroed shards. Without it a window of 64 stripes whose
/// CRCs are lost could take 16,448 decodings (found by the identify fuzz target: minutes for
/// one small image in `verify`'s margin check; hours for a Blu-ray whose CRCs are all lost).
#[cfg(not(fuzzing))]
const PROOF_TRIALS_PER_WINDOW: usize = 1024;
/// Under the fuzzer, whose instrumented build with debug assertions decodes about a hundred
/// times slower, fewer: the search's logic is the same, and an input stays within its time.
#[cfg(fuzzing)]
const PROOF_TRIALS_PER_WINDOW: usize = 64;

/// What is known of one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trust {
    /// Unreadable or failing its CRC: an erasure, its bytes zeros.
    Bad,
    /// Read, but its CRC is unknown.
    Unverified,
    /// Read and matching its CRC, or rebuilt from such shards.
    Good,
}

/// Shards of one window with what is known of each.
#[derive(Default)]
pub(super) struct Shards {
    pub(super) bytes: Vec<u8>,
    pub(super) trust: Vec<Trust>,
    /// Whether each shard could be read (scratch space for [`Disc::read_run`]).
    read: Vec<bool>,
}

impl Shards {
    pub(super) fn new(count: u64) -> Self {
        Shards {
            bytes: vec![0; count as usize * SHARD_BYTES],
            trust: vec![Trust::Bad; count as usize],
            read: vec![false; count as usize],
        }
    }

    pub(super) fn len(&self) -> usize {
        self.trust.len()
    }

    pub(super) fn is_good(&self, i: usize) -> bool {
        self.trust[i] == Trust::Good
    }

    pub(super) fn shard(&self, i: usize) -> &[u8] {
        &self.bytes[i * SHARD_BYTES..(i + 1) * SHARD_BYTES]
    }

    pub(super) fn shard_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.bytes[i * SHARD_BYTES..(i + 1) * SHARD_BYTES]
    }
}

/// Sectors counted while reading and decoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Counts {
    /// Sectors that could not be read (listed bad, read errors, past the end of the image).
    pub(super) unreadable: u64,
    /// Sectors that were read but did not match their CRC.
    pub(super) corrupt: u64,
    /// Sectors taken from the code instead of as read.
    pub(super) rebuilt: u64,
    /// Stripes decoded (each decoding a trial or a rebuild).
    pub(super) decodings: u64,
}

/// The code of one image, read window by window from `disc`.
pub(super) struct Code<'b, R> {
    pub(super) disc: Disc<'b, R>,
    pub(super) header: Header,
    pub(super) counts: Counts,
    /// Image sectors of the stripes decoded that could not be rebuilt.
    pub(super) lost: Vec<u64>,
    /// Image sectors of the stripes decoded kept as read (or decoded from such) without
    /// confirmation.
    pub(super) unverified: Vec<u64>,
    /// The current window's data and parity shards, reused from window to window.
    pub(super) data: Shards,
    pub(super) parity: Shards,
    decoder: HighRateDecoder<DefaultEngine>,
    encoder: HighRateEncoder<DefaultEngine>,
    /// Searching decodings the current window may still take (see
    /// [`PROOF_TRIALS_PER_WINDOW`]).
    proof_left: usize,
}

impl<'b, R: Read + Seek> Code<'b, R> {
    /// The code of `disc`, whose header is `header`; memory for one window.
    pub(super) fn new(disc: Disc<'b, R>, header: Header) -> Result<Self, ParityError> {
        let g = header.geometry;
        let (k, m) = (g.data_shards as usize, g.parity_shards as usize);
        Ok(Code {
            disc,
            header,
            counts: Counts::default(),
            lost: Vec::new(),
            unverified: Vec::new(),
            data: Shards::new(g.window_sectors()),
            parity: Shards::new(g.window_parity()),
            decoder: HighRateDecoder::new(k, m, SHARD_BYTES, DefaultEngine::new(), None)?,
            encoder: HighRateEncoder::new(k, m, SHARD_BYTES, DefaultEngine::new(), None)?,
            proof_left: PROOF_TRIALS_PER_WINDOW,
        })
    }

    /// Reads window `w` into `self.data` and `self.parity`, each shard checked against its
    /// CRC; returns the window's CRC list as stored (`None` where both copies are lost).
    pub(super) fn read_window(&mut self, w: u64) -> Vec<Option<u32>> {
        let g = self.header.geometry;
        let block_start = self.header.parity_start + g.block_at(w);
        let copy_start = self.header.parity_start + g.crc_copy_at(w);
        let stored = self.read_crcs(block_start, copy_start);
        let mut data = std::mem::take(&mut self.data);
        let mut parity = std::mem::take(&mut self.parity);
        self.read_data(w, &stored, &mut data);
        self.read_shards(
            block_start + g.crc_sectors(),
            &mut parity,
            &stored[g.window_sectors() as usize..],
        );
        (self.data, self.parity) = (data, parity);
        stored
    }

    /// Decodes each stripe of window `w` (as [`Code::read_window`] left it) that `wanted`
    /// names.
    pub(super) fn decode_stripes(
        &mut self,
        w: u64,
        wanted: &dyn Fn(usize) -> bool,
    ) -> Result<(), ParityError> {
        self.proof_left = PROOF_TRIALS_PER_WINDOW;
        let mut data = std::mem::take(&mut self.data);
        let mut parity = std::mem::take(&mut self.parity);
        let decoded = (0..self.header.geometry.stripes as usize)
            .filter(|&s| wanted(s))
            .try_for_each(|s| self.decode_stripe(w, s, &mut data, &mut parity));
        (self.data, self.parity) = (data, parity);
        decoded
    }

    /// The window's CRC list, from the first copy of each CRC sector or else the second;
    /// `None` where both are unreadable or damaged.
    pub(super) fn read_crcs(&mut self, first: u64, copy: u64) -> Vec<Option<u32>> {
        let g = self.header.geometry;
        let entries = (g.window_sectors() + g.window_parity()) as usize;
        let mut crcs = vec![None; entries];
        for i in 0..g.crc_sectors() {
            let mut values = None;
            for at in [first + i, copy + i] {
                let read = self.disc.read_sector(at).and_then(|s| parse_crc_sector(&s));
                if read.is_none() {
                    self.counts.unreadable += 1;
                    self.counts.rebuilt += 1;
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
                self.counts.unreadable += 1;
                Trust::Bad
            } else {
                match crcs[i] {
                    Some(crc) if crc == crc32c(shards.shard(i)) => Trust::Good,
                    Some(_) => {
                        shards.shard_mut(i).fill(0);
                        self.counts.corrupt += 1;
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
    pub(super) fn runs(&self, first: u64, count: u64) -> Vec<Range<u64>> {
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
    /// spare. A scratch leaves zeros, so first all of them, then with zeroed unverified
    /// shards left out one, two, … at a time, up to [`PROOF_TRIALS`] decodings (and while
    /// the window's [`PROOF_TRIALS_PER_WINDOW`] last).
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
                if trials == PROOF_TRIALS || self.proof_left == 0 {
                    return Ok(false);
                }
                trials += 1;
                self.proof_left -= 1;
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
        self.counts.decodings += 1;
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
                self.counts.corrupt += 1;
            }
            if was == Trust::Bad || differs {
                self.counts.rebuilt += 1;
            }
            data.shard_mut(d(i)).copy_from_slice(&bytes);
        }
        for i in 0..k {
            data.trust[d(i)] = Trust::Good;
        }
        Ok(true)
    }

    /// Computes the parity shards of stripe `s` that were lost from its data as read,
    /// unverified: if the data was right after all, so is the image, as its SHA-256 shows.
    /// Lost are those unreadable or failing their CRC, and those whose CRC is unknown that
    /// read as zeros (what a scratch leaves); any other parity shard is kept as read.
    fn guess_parity(
        &mut self,
        s: usize,
        data: &Shards,
        parity: &mut Shards,
    ) -> Result<(), ParityError> {
        self.encode_parity(s, data, parity, |trust, bytes| match trust {
            Trust::Good => None,
            Trust::Bad => Some(Trust::Unverified),
            Trust::Unverified => bytes.iter().all(|&b| b == 0).then_some(Trust::Unverified),
        })
    }

    /// Computes again the parity shards of stripe `s` that were lost, once its data is whole.
    pub(super) fn encode_lost_parity(
        &mut self,
        s: usize,
        data: &Shards,
        parity: &mut Shards,
    ) -> Result<(), ParityError> {
        let (stripes, k, m) = self.header.geometry.shape();
        let lost = (0..m).any(|r| !parity.is_good(r * stripes + s));
        if !lost || (0..k).any(|i| !data.is_good(i * stripes + s)) {
            return Ok(());
        }
        self.encode_parity(s, data, parity, |trust, _| {
            (trust != Trust::Good).then_some(Trust::Good)
        })
    }

    /// Encodes stripe `s`'s data and puts each parity shard for which `replace` (given its
    /// trust and bytes) says a new trust in its place, with that trust.
    fn encode_parity(
        &mut self,
        s: usize,
        data: &Shards,
        parity: &mut Shards,
        replace: impl Fn(Trust, &[u8]) -> Option<Trust>,
    ) -> Result<(), ParityError> {
        let (stripes, k, m) = self.header.geometry.shape();
        let encoder = &mut self.encoder;
        encoder.reset(k, m, SHARD_BYTES)?;
        for i in 0..k {
            encoder.add_original_shard(data.shard(i * stripes + s))?;
        }
        for (r, shard) in encoder.encode()?.recovery_iter().enumerate() {
            let at = r * stripes + s;
            let Some(trust) = replace(parity.trust[at], parity.shard(at)) else {
                continue;
            };
            if parity.trust[at] == Trust::Bad {
                self.counts.rebuilt += 1;
            }
            parity.shard_mut(at).copy_from_slice(shard);
            parity.trust[at] = trust;
        }
        Ok(())
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
