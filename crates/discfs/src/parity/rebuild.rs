//! Rebuilding a few sectors of an image from its parity, without repairing the whole image:
//! what a reader does for one file whose bytes do not come back right.
//!
//! Only the windows that hold a wanted sector are read (with the header's CRC and parity
//! sectors of those windows), only the stripes that hold one are decoded, and one window is
//! in memory at a time ([`SectorRebuilder`] keeps the last one for the next file). A sector is trusted on the same grounds as in a repair
//! ([`super::window`]): read and matching its CRC, or decoded from such shards (or proven by
//! the code where its CRCs were lost); else it is reported unverified (kept as read) or lost
//! (given as zeros).

use std::io::{Read, Seek, Write};
use std::ops::Range;

use super::repair::merge;
use super::window::{Code, Disc, Trust};
use super::{BadSectors, Header, ParityError, SHARD_BYTES};

/// What a rebuild of some sectors gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// Sectors given (every wanted one, once).
    pub sectors: u64,
    /// Wanted sectors taken from the code instead of as read (they were unreadable or failed
    /// their CRC).
    pub rebuilt: u64,
    /// Wanted sectors that could not be rebuilt (given as zeros), ascending and merged; a
    /// sector of the parity area itself or past the image is never rebuilt.
    pub lost: Vec<Range<u64>>,
    /// Wanted sectors given as read that neither a CRC nor the code could confirm (their
    /// CRCs were lost too), ascending and merged: only a hash of what they hold tells.
    pub unverified: Vec<Range<u64>>,
}

impl Rebuilt {
    /// Whether every wanted sector was given and confirmed.
    pub fn is_complete(&self) -> bool {
        self.lost.is_empty() && self.unverified.is_empty()
    }
}

/// The parity header from the first of the sectors `candidates` that holds a valid copy of
/// it (the system-area copy, [`super::SYSTEM_AREA_COPY`], and the first and last sectors of
/// the parity file, as a file system gives them), and the sector it came from; `None` when
/// none does. Reads only those sectors (a repair scans the whole image instead).
pub fn header_at<R: Read + Seek>(
    image: R,
    bad: &BadSectors,
    candidates: &[u64],
) -> Option<(Header, u64)> {
    let mut disc = Disc::new(image, bad);
    candidates.iter().find_map(|&at| {
        let sector = disc.read_sector(at)?;
        Header::parse(&sector, at).map(|h| (h, at))
    })
}

/// Writes to `out` the image sectors `wanted` (image sector numbers, in the order given,
/// each sector once), rebuilt where the image read through `image` (with the sectors in
/// `bad` known unreadable) does not give them right, using the parity that `header`
/// describes. A sector that is neither read right nor rebuilt is written as zeros and
/// reported lost. Errors are for `out` failing and for a geometry the code refuses.
/// ([`SectorRebuilder`] does the same for many files, reading a window once for all.)
pub fn rebuild_sectors<R: Read + Seek, W: Write>(
    image: R,
    bad: &BadSectors,
    header: &Header,
    wanted: &[Range<u64>],
    out: W,
) -> Result<Rebuilt, ParityError> {
    SectorRebuilder::new(image, bad, header)?.rebuild(wanted, out)
}

/// [`rebuild_sectors`] for one image, call after call: the last window read stays in memory
/// (one window, whatever the image), with the stripes already decoded, so that the files of
/// one damaged stretch do not each read it again.
pub struct SectorRebuilder<'b, R> {
    code: Code<'b, R>,
    /// The window in `code`, if any.
    loaded: Option<u64>,
    /// Its stripes decoded so far.
    decoded: Vec<bool>,
    /// Its shards' trust as read, before any decoding.
    as_read: Vec<Trust>,
}

impl<R> std::fmt::Debug for SectorRebuilder<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SectorRebuilder")
            .field("header", &self.code.header)
            .field("loaded", &self.loaded)
            .finish_non_exhaustive()
    }
}

impl<'b, R: Read + Seek> SectorRebuilder<'b, R> {
    /// Rebuilds sectors of `image` (with the sectors in `bad` known unreadable) from the
    /// parity `header` describes.
    pub fn new(image: R, bad: &'b BadSectors, header: &Header) -> Result<Self, ParityError> {
        Ok(SectorRebuilder {
            code: Code::new(Disc::new(image, bad), *header)?,
            loaded: None,
            decoded: Vec::new(),
            as_read: Vec::new(),
        })
    }

    /// The parity header it works from.
    pub fn header(&self) -> &Header {
        &self.code.header
    }

    /// As [`rebuild_sectors`].
    pub fn rebuild<W: Write>(
        &mut self,
        wanted: &[Range<u64>],
        mut out: W,
    ) -> Result<Rebuilt, ParityError> {
        let header = self.code.header;
        let window_sectors = header.geometry.window_sectors();
        let (mut lost, mut unverified) = (Vec::new(), Vec::new());
        let (mut sectors, mut rebuilt) = (0, 0);
        let zeros = [0u8; SHARD_BYTES];
        let mut ready: Option<u64> = None;
        for sector in wanted.iter().flat_map(|r| r.clone()) {
            sectors += 1;
            let Some(index) = covered_index(&header, sector) else {
                lost.push(sector);
                write(&mut out, sector, &zeros)?;
                continue;
            };
            let w = index / window_sectors;
            if ready != Some(w) {
                self.load(w, &stripes_wanted(&header, w, wanted))?;
                ready = Some(w);
            }
            let i = (index % window_sectors) as usize;
            let data = &self.code.data;
            let bytes = match data.trust[i] {
                Trust::Good => data.shard(i),
                Trust::Unverified => {
                    unverified.push(sector);
                    data.shard(i)
                }
                Trust::Bad => {
                    lost.push(sector);
                    &zeros[..]
                }
            };
            rebuilt += u64::from(self.as_read[i] == Trust::Bad && data.trust[i] == Trust::Good);
            write(&mut out, sector, bytes)?;
        }
        out.flush()
            .map_err(|source| ParityError::Io { offset: 0, source })?;
        Ok(Rebuilt {
            sectors,
            rebuilt,
            lost: merge(lost),
            unverified: merge(unverified),
        })
    }

    /// Window `w` read (unless it is the one in memory) and its `stripes` decoded.
    fn load(&mut self, w: u64, stripes: &[bool]) -> Result<(), ParityError> {
        if self.loaded != Some(w) {
            self.loaded = None;
            self.code.read_window(w);
            self.as_read.clone_from(&self.code.data.trust);
            self.decoded = vec![false; stripes.len()];
            self.loaded = Some(w);
        }
        let decoded = &self.decoded;
        let result = self.code.decode_stripes(w, &|s| stripes[s] && !decoded[s]);
        // Which sectors were lost is read from each shard's trust, not from these.
        self.code.lost.clear();
        self.code.unverified.clear();
        if result.is_err() {
            // A stripe left half decoded is read again next time.
            self.loaded = None;
        }
        result?;
        for (done, &now) in self.decoded.iter_mut().zip(stripes) {
            *done |= now;
        }
        Ok(())
    }
}

fn write<W: Write>(out: &mut W, sector: u64, bytes: &[u8]) -> Result<(), ParityError> {
    out.write_all(bytes).map_err(|source| ParityError::Io {
        offset: sector * SHARD_BYTES as u64,
        source,
    })
}

/// The covered index of image sector `sector`; `None` for a sector of the parity area or
/// past the image.
fn covered_index(header: &Header, sector: u64) -> Option<u64> {
    if sector < header.parity_start {
        Some(sector)
    } else if sector >= header.parity_end() && sector < header.image_sectors {
        Some(sector - header.parity_sectors())
    } else {
        None
    }
}

/// For each stripe of window `w`, whether a sector of `wanted` lies in it.
fn stripes_wanted(header: &Header, w: u64, wanted: &[Range<u64>]) -> Vec<bool> {
    let g = header.geometry;
    let first = w * g.window_sectors();
    let end = (first + g.window_sectors()).min(g.covered);
    let cut = header.parity_start.clamp(first, end);
    let mut stripes = vec![false; g.stripes as usize];
    // The window's covered indices in the (at most two) runs that are contiguous in the image.
    for run in [first..cut, cut..end].into_iter().filter(|r| !r.is_empty()) {
        let image_start = header.covered_sector(run.start);
        let image = image_start..image_start + (run.end - run.start);
        for r in wanted {
            let (from, to) = (r.start.max(image.start), r.end.min(image.end));
            if to.saturating_sub(from) >= g.stripes {
                stripes.fill(true);
                return stripes;
            }
            for sector in from..to {
                let index = sector - image.start + run.start;
                stripes[((index - first) % g.stripes) as usize] = true;
            }
        }
    }
    stripes
}
