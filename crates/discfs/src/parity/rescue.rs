//! Reading what can be read of a failing disc, as GNU ddrescue does, before the code
//! rebuilds the rest.
//!
//! A drive that meets a scratch returns a read error for a whole request, often after a long
//! retry of its own. So the disc is read in passes: first in large requests, skipping a
//! request that fails (the good sectors around a scratch are had quickly); then each failed
//! request sector by sector (the smallest read: only the sectors really lost stay bad); then
//! the sectors still bad are tried again a few times (a marginal sector sometimes reads on a
//! later try). No read error ends the rescue: what could not be read is returned as
//! [`BadSectors`], the erasures [`repair`](super::repair) takes.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;

use super::{BadSectors, ParityError, SHARD_BYTES};

/// Whatever sectors are read from: a drive, an image file, a test's failing source.
pub trait SectorSource {
    /// Sectors the source holds (a partial last sector does not count).
    fn sectors(&self) -> u64;
    /// Reads sectors `first..first + buf.len() / 2048` into `buf` (whole sectors), or fails
    /// as a drive does: the whole request.
    fn read_sectors(&mut self, first: u64, buf: &mut [u8]) -> io::Result<()>;
}

/// A source read through `Read + Seek`: an image file, a block device.
#[derive(Debug)]
pub struct SeekSource<R> {
    inner: R,
    sectors: u64,
}

impl<R: Read + Seek> SeekSource<R> {
    /// The source, its size taken from the end of `inner` (as for a block device).
    pub fn new(mut inner: R) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        Ok(SeekSource {
            inner,
            sectors: len / SHARD_BYTES as u64,
        })
    }
}

impl<R: Read + Seek> SectorSource for SeekSource<R> {
    fn sectors(&self) -> u64 {
        self.sectors
    }

    fn read_sectors(&mut self, first: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner
            .seek(SeekFrom::Start(first * SHARD_BYTES as u64))?;
        self.inner.read_exact(buf)
    }
}

/// How hard a rescue tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RescueOptions {
    /// Sectors of one request of the first pass.
    pub request: u64,
    /// Passes over the sectors still bad after the sector-by-sector pass.
    pub retries: u32,
}

impl Default for RescueOptions {
    fn default() -> Self {
        RescueOptions {
            request: 32,
            retries: 2,
        }
    }
}

/// What a rescue read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescued {
    /// Sectors of the source.
    pub sectors: u64,
    /// The sectors that could not be read in any pass (written as zeros).
    pub bad: BadSectors,
    /// Read errors met in all passes (requests that failed).
    pub read_errors: u64,
    /// Sectors that failed at first and were read on a later try.
    pub recovered: u64,
}

/// Copies every sector of `source` that can be read to the same place in `out`, zeros for
/// the others, in the passes the module describes; `progress` is told each sector count
/// done of the first pass. Fails only when `out` cannot be written.
pub fn rescue<S: SectorSource, W: Write + Seek>(
    source: &mut S,
    out: &mut W,
    options: RescueOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Rescued, ParityError> {
    let sectors = source.sectors();
    let request = options.request.max(1);
    let mut buf = vec![0u8; request as usize * SHARD_BYTES];
    let mut read_errors = 0;
    let mut skipped: Vec<Range<u64>> = Vec::new();
    let mut first = 0;
    while first < sectors {
        let count = request.min(sectors - first);
        let bytes = &mut buf[..count as usize * SHARD_BYTES];
        if source.read_sectors(first, bytes).is_err() {
            read_errors += 1;
            bytes.fill(0);
            skipped.push(first..first + count);
        }
        write_at(out, first, bytes)?;
        first += count;
        progress(first, sectors);
    }
    let mut bad: Vec<u64> = Vec::new();
    let sector = &mut buf[..SHARD_BYTES];
    for at in skipped.into_iter().flatten() {
        if source.read_sectors(at, sector).is_ok() {
            write_at(out, at, sector)?;
        } else {
            read_errors += 1;
            bad.push(at);
        }
    }
    let failed_at_first = bad.len() as u64;
    for _ in 0..options.retries {
        let mut still = Vec::with_capacity(bad.len());
        for at in bad {
            if source.read_sectors(at, sector).is_ok() {
                write_at(out, at, sector)?;
            } else {
                read_errors += 1;
                still.push(at);
            }
        }
        bad = still;
    }
    out.flush()
        .map_err(|source| ParityError::Io { offset: 0, source })?;
    Ok(Rescued {
        sectors,
        recovered: failed_at_first - bad.len() as u64,
        bad: bad.into_iter().map(|s| s..s + 1).collect(),
        read_errors,
    })
}

fn write_at<W: Write + Seek>(out: &mut W, sector: u64, bytes: &[u8]) -> Result<(), ParityError> {
    let offset = sector * SHARD_BYTES as u64;
    out.seek(SeekFrom::Start(offset))
        .and_then(|_| out.write_all(bytes))
        .map_err(|source| ParityError::Io { offset, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::Cursor;

    /// A disc whose sector i holds the byte i % 251, with sectors that fail every read and
    /// sectors that fail their first few reads; it counts the requests it gets.
    struct FailingDisc {
        sectors: u64,
        dead: Range<u64>,
        flaky: HashMap<u64, u32>,
        requests: Vec<(u64, u64)>,
    }

    impl SectorSource for FailingDisc {
        fn sectors(&self) -> u64 {
            self.sectors
        }

        fn read_sectors(&mut self, first: u64, buf: &mut [u8]) -> io::Result<()> {
            let count = (buf.len() / SHARD_BYTES) as u64;
            self.requests.push((first, count));
            let range = first..first + count;
            let mut fail = range.clone().any(|s| self.dead.contains(&s));
            for (s, left) in self.flaky.iter_mut() {
                if range.contains(s) && *left > 0 {
                    *left -= 1;
                    fail = true;
                }
            }
            if fail {
                return Err(io::Error::from_raw_os_error(5));
            }
            for (i, sector) in buf.chunks_exact_mut(SHARD_BYTES).enumerate() {
                sector.fill(((first + i as u64) % 251) as u8);
            }
            Ok(())
        }
    }

    #[test]
    fn read_errors_are_skipped_narrowed_to_sectors_and_retried() {
        let mut disc = FailingDisc {
            sectors: 200,
            dead: 70..73,
            // Fails the first pass and the sector pass; reads on the first retry.
            flaky: HashMap::from([(150, 2)]),
            requests: Vec::new(),
        };
        let mut out = Cursor::new(Vec::new());
        let mut done = 0;
        let rescued = rescue(
            &mut disc,
            &mut out,
            RescueOptions::default(),
            &mut |d, _| done = d,
        )
        .unwrap();
        assert_eq!(done, 200);
        assert_eq!(rescued.bad.ranges().to_vec(), vec![70u64..73]);
        assert_eq!(rescued.recovered, 1, "{rescued:?}");
        let out = out.into_inner();
        assert_eq!(out.len(), 200 * SHARD_BYTES);
        for (i, sector) in out.chunks(SHARD_BYTES).enumerate() {
            let want = if (70..73).contains(&(i as u64)) {
                0
            } else {
                (i % 251) as u8
            };
            assert!(sector.iter().all(|&b| b == want), "sector {i}");
        }
        // Large requests first; the failed ones (64..96 and 128..160) again sector by
        // sector; the dead sectors twice more.
        let first_pass: Vec<u64> = disc.requests[..7].iter().map(|r| r.1).collect();
        assert_eq!(first_pass, [32, 32, 32, 32, 32, 32, 8]);
        let singles = disc.requests.iter().filter(|r| r.1 == 1).count();
        assert_eq!(singles, 64 + 3 * 2 + 1, "{:?}", disc.requests);
    }

    #[test]
    fn an_image_file_is_a_source_and_its_partial_last_sector_does_not_count() {
        let mut bytes = vec![7u8; 3 * SHARD_BYTES + 100];
        bytes[SHARD_BYTES] = 9;
        let mut source = SeekSource::new(Cursor::new(bytes)).unwrap();
        assert_eq!(source.sectors(), 3);
        let mut out = Cursor::new(Vec::new());
        let rescued = rescue(
            &mut source,
            &mut out,
            RescueOptions::default(),
            &mut |_, _| {},
        )
        .unwrap();
        assert!(rescued.bad.ranges().is_empty());
        let out = out.into_inner();
        assert_eq!(out.len(), 3 * SHARD_BYTES);
        assert_eq!(out[SHARD_BYTES], 9);
    }
}
