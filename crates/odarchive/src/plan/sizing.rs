//! The reserve for the catalogue file and the index on every disc of a plan.
//!
//! Both describe the whole plan, so their sizes depend on the plan, and the plan on the room
//! they leave. [`Sizer::estimate`] makes a first reserve before packing, measured on a sample
//! (about 16,384 contents, and the index lines of about as many folders' files) and scaled up,
//! with placeholders as wide as the real values and some slack; the plan is packed and stored
//! with it, and [`needed`] then measures the real files of the stored plan once (the catalogue
//! file and the index side by side, on two threads). Should either need more than its reserve,
//! [`grown`] gives a larger one and the plan is packed again: the reserve only grows, so this
//! ends, and with the estimate's slack it is rare.

use crate::disc::index::Counted;
use std::io::{self, Write};

use super::Item;
use super::layout::PackParams;
use crate::catalogue::json::{Form, JsonDisc, JsonPart, JsonScope, NewParts, write_catalogue_json};
use crate::catalogue::{Catalogue, StoredDiscs};
use crate::disc::index::{self, IndexScope};
use crate::disc::{self, readme::readme_size};
use crate::error::{Error, Result};
use crate::hash::HashAlgorithm;

/// Contents (and folders of the index) measured for an estimate: enough that the sample's
/// share of the whole is known to within about 1 %.
pub(super) const SAMPLE: usize = 16_384;

/// The first hash byte below which the contents of a plan of `n` are sampled (above
/// [`SAMPLE`]): at least 1 of 256 hash prefixes, about [`SAMPLE`] contents; 256 (all) for
/// fewer.
pub(super) fn sample_below(n: usize) -> u16 {
    if n <= SAMPLE {
        256
    } else {
        (256 * SAMPLE / n).clamp(1, 255) as u16
    }
}

/// The bytes set aside for the catalogue file on every disc of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserve {
    /// Exact size of the catalogue file.
    pub size: u64,
    /// Whether it is gzipped.
    pub gzip: bool,
    /// Exact size of the README.
    pub readme: u64,
    /// Exact size of `INDEX.tsv.gz` (see [`crate::disc::index`]).
    pub index: u64,
}

impl Reserve {
    /// What every disc packed with this reserve has besides its data.
    pub fn params(
        &self,
        capacity: u64,
        first_number: u32,
        hash: HashAlgorithm,
        parity: u8,
    ) -> PackParams {
        PackParams {
            capacity,
            readme_size: self.readme,
            catalogue: (disc::catalogue_name(self.gzip), self.size),
            index_size: self.index,
            first_number,
            hash,
            parity,
        }
    }
}

pub(super) struct Sizer<'a> {
    pub snapshot: i64,
    /// The contents to plan, and their bytes.
    pub contents: usize,
    pub bytes: u64,
    /// The items of the sample: every item when there are at most [`SAMPLE`], else those
    /// whose hash starts below [`sample_below`] (at least).
    pub items: &'a [Item],
    /// The contents to plan, sorted.
    pub content_ids: &'a [i64],
    pub set_id: &'a str,
    pub capacity: u64,
    pub hash: HashAlgorithm,
    pub parity: u8,
    pub created_ns: i64,
}

/// `need` with some room to spare, or `had` where that is already enough. A reserve that
/// grows takes a little more than it needs: packing again with the larger reserve moves the
/// plan a little (a disc more, a split elsewhere), and without the slack that small change
/// could need yet another packing.
fn grown_to(need: u64, had: u64) -> u64 {
    if need > had { need + need / 256 } else { had }
}

/// What the catalogue file and the index of a stored plan need, measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// The catalogue file's bytes, plain.
    pub plain: u64,
    /// Gzipped.
    pub gzipped: u64,
    /// The index's gzip (unpadded).
    pub index: u64,
}

impl Sizer<'_> {
    /// The README of a plan whose catalogue file is gzipped or not.
    fn readme(&self, gzip: bool) -> u64 {
        readme_size(
            self.set_id,
            self.created_ns,
            gzip,
            self.hash,
            self.parity,
            true,
        )
    }

    /// A first reserve, before packing: the catalogue file with every content whole on a disc
    /// and the index with every file on the first one, each measured on a sample (exactly,
    /// when the plan is small), plus the slack the packed plan needs. The packed plan's disc
    /// numbers differ from file to file, so its catalogue compresses less well (by about 6 %
    /// on the synthetic 1 M-file library, 3 % for the index).
    pub fn estimate(&self, catalogue: &Catalogue, first_number: u32) -> Result<Reserve> {
        let n = self.contents;
        let sampled = n > SAMPLE;
        let (plain, gzipped) = if sampled {
            let below = sample_below(n) as u8;
            let (p0, g0) = self.json_estimate(catalogue, first_number, Some(0))?;
            let (ps, gs) = self.json_estimate(catalogue, first_number, Some(below))?;
            let scale = |whole: u64, none: u64| {
                none + (u128::from(whole.saturating_sub(none)) * 256 / u128::from(below)) as u64
            };
            (scale(ps, p0), scale(gs, g0))
        } else {
            self.json_estimate(catalogue, first_number, None)?
        };
        let gzip = plain > disc::GZIP_ABOVE;
        let mut size = if gzip {
            // Real ISO paths, hashes and sizes compress differently from the placeholders.
            gzipped + gzipped / 8 + 16384
        } else {
            plain + 1
        };
        size += size / 12;
        let mut index = self.index_estimate(catalogue, first_number, (n / SAMPLE).max(1) as u64)?;
        index += index / 24;
        if sampled {
            size += size / 32;
            index += index / 32;
        }
        Ok(Reserve {
            size,
            gzip,
            readme: self.readme(gzip),
            index: index::reserve_for(index),
        })
    }

    /// The reserve to pack with after a stored plan `needed` more than `had`, or `None` when
    /// `had` is enough. Once gzipped, the catalogue file stays gzipped, so that the reserve
    /// only grows.
    pub fn grown(&self, had: Reserve, need: Need) -> Option<Reserve> {
        let file = |gzip: bool| if gzip { need.gzipped } else { need.plain + 1 };
        let index = index::reserve_for(need.index);
        if file(had.gzip) <= had.size && index <= had.index {
            return None;
        }
        let gzip = had.gzip || need.plain > disc::GZIP_ABOVE;
        let size = if gzip == had.gzip {
            grown_to(file(gzip), had.size)
        } else {
            grown_to(file(gzip), 0)
        };
        Some(Reserve {
            size,
            gzip,
            readme: self.readme(gzip),
            index: grown_to(index, had.index),
        })
    }

    /// The catalogue file's size, plain and gzipped, with every content (or those of the
    /// sample) whole on a disc of the plan, with placeholders as wide as the real values.
    fn json_estimate(
        &self,
        catalogue: &Catalogue,
        first_number: u32,
        sample_below: Option<u8>,
    ) -> Result<(u64, u64)> {
        let items = self.items;
        let total = self.bytes;
        let discs: Vec<JsonDisc> = (0..=(total / self.capacity.max(1) + 1))
            .map(|n| placeholder_disc(self.set_id, first_number + n as u32, 0, 0))
            .collect();
        let mut order: Vec<usize> = (0..items.len())
            .filter(|&i| sample_below.is_none_or(|b| items[i].hash.as_bytes()[0] < b))
            .collect();
        order.sort_unstable_by(|&a, &b| items[a].hash.cmp(&items[b].hash));
        let new_parts: NewParts<'_> = Box::new(order.into_iter().map(move |i| {
            let item = &items[i];
            let part = JsonPart {
                part: 0,
                parts: 1,
                disc: u32::MAX,
                offset: 0,
                length: item.size,
                hash: None,
                path: format!("{}/{}", disc::DATA_DIR, item.path),
                iso_path: wide_iso_path(&item.path),
                entry_path: None,
                name: None,
            };
            (item.hash.as_bytes().to_vec(), part)
        }));
        let scope = JsonScope {
            form: Form::Disc,
            snapshot: self.snapshot,
            max_plan: i64::MAX,
            below_disc: first_number,
            new_discs: &discs,
            new_parts,
            sample_below,
        };
        json_size(catalogue, scope)
    }

    /// The index's gzipped size with every content on the first disc of the plan, measured
    /// on the files of about one folder in `every`.
    fn index_estimate(&self, catalogue: &Catalogue, first_number: u32, every: u64) -> Result<u64> {
        let new: Vec<(i64, u32)> = self
            .content_ids
            .iter()
            .map(|&id| (id, first_number))
            .collect();
        let scope = IndexScope {
            snapshot: self.snapshot,
            stored: StoredDiscs {
                max_plan: i64::MAX,
                below_disc: first_number,
            },
            new: &new,
        };
        index::estimate(catalogue, scope, every)
    }
}

/// An ISO 9660 path is at most about twice as long as the UDF path (romanised letters,
/// version suffixes); the placeholder starts like one so that it compresses like one.
fn wide_iso_path(path: &str) -> String {
    let mut p = format!("DATA/{};1", path.to_uppercase());
    while p.len() < path.len() * 2 + 16 {
        p.push('_');
    }
    p
}

/// What the catalogue file and the index of the stored plan `plan_id` need: both made as
/// the writer makes them from the stored rows (real hashes and ISO 9660 paths), measured
/// without being held, the index on a second thread with a connection of its own.
pub fn needed(catalogue: &Catalogue, snapshot: i64, plan_id: i64) -> Result<Need> {
    let file = catalogue.path().to_path_buf();
    std::thread::scope(|s| {
        let index = s.spawn(move || -> Result<u64> {
            let reader = Catalogue::open_read_only(&file)?;
            let scope = IndexScope {
                snapshot,
                stored: StoredDiscs {
                    max_plan: plan_id,
                    below_disc: u32::MAX,
                },
                new: &[],
            };
            index::measure(&reader, scope)
        });
        let scope = JsonScope {
            form: Form::Disc,
            snapshot,
            max_plan: plan_id,
            below_disc: u32::MAX,
            new_discs: &[],
            new_parts: Box::new(std::iter::empty()),
            sample_below: None,
        };
        let json = json_size(catalogue, scope);
        let index = index
            .join()
            .map_err(|_| Error::Internal("the index measuring thread panicked".into()))?;
        let (plain, gzipped) = json?;
        Ok(Need {
            plain,
            gzipped,
            index: index?,
        })
    })
}

fn placeholder_disc(set_id: &str, number: u32, files: u64, bytes: u64) -> JsonDisc {
    JsonDisc {
        number,
        label: disc::label(set_id, number),
        set_id: None,
        image_size: u64::MAX,
        files,
        bytes,
        record: None,
    }
}

/// The size of the catalogue JSON of `scope`, plain and gzipped (at the level the written file
/// uses, without padding), streamed: nothing is kept. The gzip runs on a second thread, fed in
/// large chunks, while this one makes the JSON.
fn json_size(catalogue: &Catalogue, scope: JsonScope<'_>) -> Result<(u64, u64)> {
    let name = std::path::Path::new("catalogue.json");
    let output = |source| Error::Output {
        path: name.to_path_buf(),
        source,
    };
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(4);
    std::thread::scope(|s| {
        let gzip = s.spawn(move || -> io::Result<u64> {
            let mut gz =
                flate2::write::GzEncoder::new(Counted::new(io::sink()), crate::disc::GZIP_LEVEL);
            for chunk in rx {
                gz.write_all(&chunk)?;
            }
            Ok(gz.finish()?.n)
        });
        let chunks = Chunks {
            buf: Vec::with_capacity(CHUNK),
            n: 0,
            tx,
        };
        let plain = write_catalogue_json(catalogue, scope, chunks, name)
            .and_then(|chunks| chunks.finish().map_err(output));
        // On an error the sender is gone, so the thread ends too.
        let gzipped = gzip
            .join()
            .map_err(|_| Error::Internal("the gzip thread panicked".into()))?
            .map_err(output);
        Ok((plain?, gzipped?))
    })
}

/// Bytes per chunk sent to the gzip thread (serde's many small writes would otherwise reach
/// the encoder one by one).
const CHUNK: usize = 1 << 18;

/// Counts the bytes written and sends them on in chunks.
struct Chunks {
    buf: Vec<u8>,
    n: u64,
    tx: crossbeam_channel::Sender<Vec<u8>>,
}

impl Chunks {
    fn send(&mut self) -> io::Result<()> {
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send(full)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the gzip thread stopped"))
    }

    /// Sends what is left; the total of bytes written.
    fn finish(mut self) -> io::Result<u64> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        Ok(self.n)
    }
}

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        self.n += buf.len() as u64;
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizer() -> Sizer<'static> {
        Sizer {
            snapshot: 1,
            contents: 0,
            bytes: 0,
            items: &[],
            content_ids: &[],
            set_id: "0123456789abcdef0123456789abcdef",
            capacity: 1 << 30,
            hash: HashAlgorithm::Sha256,
            parity: 10,
            created_ns: 0,
        }
    }

    #[test]
    fn a_reserve_grows_only_when_the_real_files_need_more_and_never_shrinks() {
        let s = sizer();
        let had = Reserve {
            size: 1000,
            gzip: false,
            readme: s.readme(false),
            index: 5000,
        };
        let fits = Need {
            plain: 999,
            gzipped: 300,
            index: 4000,
        };
        assert_eq!(s.grown(had, fits), None);
        // One byte more than the plain file's room: grown, with slack, still plain.
        let more = s
            .grown(
                had,
                Need {
                    plain: 1000,
                    ..fits
                },
            )
            .unwrap();
        assert!(!more.gzip && more.size >= 1001 && more.index == had.index);
        // An index over its reserve grows it, and leaves the catalogue file's alone.
        let index = s
            .grown(
                had,
                Need {
                    index: 6000,
                    ..fits
                },
            )
            .unwrap();
        assert!(index.index >= index::reserve_for(6000) && index.size == had.size);
        // A catalogue file over the gzip threshold is gzipped from then on, with its README.
        let big = disc::GZIP_ABOVE + 1;
        let gz = s
            .grown(
                had,
                Need {
                    plain: big,
                    gzipped: 200_000,
                    index: 4000,
                },
            )
            .unwrap();
        assert!(gz.gzip && gz.size >= 200_000 && gz.readme == s.readme(true));
        // Once gzipped it stays so, even when the plain file would be small again.
        let small = Need {
            plain: 10,
            gzipped: 300_000,
            index: 4000,
        };
        let again = s.grown(gz, small).unwrap();
        assert!(again.gzip && again.size >= 300_000);
        assert_eq!(s.grown(again, small), None);
    }
}
