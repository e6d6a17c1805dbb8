//! The reserve for the catalogue file: packs, measures the catalogue the plan needs (with
//! placeholders as wide as the real values), and packs again while the reserve is short.

use crate::disc::index::Counted;
use std::io::{self, Write};

use super::Item;
use super::layout::{PackParams, piece_path};
use super::pack::{PackedDisc, pack};
use crate::catalogue::json::{Form, JsonDisc, JsonPart, JsonScope, NewParts, write_catalogue_json};
use crate::catalogue::{Catalogue, StoredDiscs};
use crate::disc::index::{self, IndexScope};
use crate::disc::{self, readme::readme_size};
use crate::error::{Error, Result};
use crate::hash::{ContentHash, HashAlgorithm};

/// Rounds of packing before giving up (the reserve only grows, so two suffice in practice).
const MAX_ROUNDS: usize = 6;

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

pub(super) struct Sizer<'a> {
    pub catalogue: &'a Catalogue,
    pub snapshot: i64,
    pub items: &'a [Item],
    pub set_id: &'a str,
    pub capacity: u64,
    pub hash: HashAlgorithm,
    pub parity: u8,
}

/// A hash-shaped placeholder (as long as a real one) that compresses as badly as a real hash.
fn placeholder_hash(hash: HashAlgorithm, content: &ContentHash, part: u32) -> String {
    let mut h = hash.hasher();
    h.update(content.as_bytes());
    h.update(&part.to_le_bytes());
    h.finish().to_string()
}

impl Sizer<'_> {
    /// Packs with a catalogue reserve large enough for the plan it gives.
    /// `at_least` raises the reserve (after a stored plan's real catalogue did not fit).
    pub fn pack_with_reserve(
        &self,
        first_count: usize,
        first_number: u32,
        created_ns: i64,
        at_least: u64,
    ) -> Result<(Vec<PackedDisc>, Reserve)> {
        let mut reserve = self.measure(None, first_number, created_ns)?;
        reserve.size = reserve.size.max(at_least);
        for _ in 0..MAX_ROUNDS {
            let params = PackParams {
                capacity: self.capacity,
                readme_size: reserve.readme,
                catalogue: (disc::catalogue_name(reserve.gzip), reserve.size),
                index_size: reserve.index,
                first_number,
                hash: self.hash,
                parity: self.parity,
            };
            let packed = pack(self.items, first_count, &params)?;
            let mut need = self.measure(Some(&packed), first_number, created_ns)?;
            need.size = need.size.max(at_least);
            if need.gzip == reserve.gzip && need.size <= reserve.size && need.index <= reserve.index
            {
                return Ok((packed, reserve));
            }
            reserve = Reserve {
                index: need.index.max(reserve.index),
                size: if need.gzip == reserve.gzip {
                    need.size.max(reserve.size)
                } else {
                    need.size
                },
                ..need
            };
        }
        Err(Error::Internal(
            "the catalogue reserve did not settle; please report this".into(),
        ))
    }

    /// The reserve the plan `packed` needs (or, before packing, a first estimate with every
    /// content whole on one disc).
    fn measure(
        &self,
        packed: Option<&[PackedDisc]>,
        first_number: u32,
        created_ns: i64,
    ) -> Result<Reserve> {
        // Discs already written keep their entries in the catalogue of later plans; the
        // catalogue supplies those, this plan's are made here in content hash order.
        let mut discs = Vec::new();
        // An ISO 9660 path is at most about twice as long as the UDF path (romanised letters,
        // version suffixes); the placeholder starts like one so that it compresses like one.
        let wide = |path: &str| {
            let mut p = format!("DATA/{};1", path.to_uppercase());
            while p.len() < path.len() * 2 + 16 {
                p.push('_');
            }
            p
        };
        let items = self.items;
        let capacity = self.capacity;
        let alg = self.hash;
        let new_parts: NewParts<'_> = match packed {
            None => {
                let total: u64 = items.iter().map(|i| i.size).sum();
                for n in 0..=(total / capacity.max(1) + 1) {
                    discs.push(placeholder_disc(self.set_id, first_number + n as u32, 0, 0));
                }
                let mut order: Vec<usize> = (0..items.len()).collect();
                order.sort_unstable_by(|&a, &b| items[a].hash.cmp(&items[b].hash));
                Box::new(order.into_iter().map(move |i| {
                    let item = &items[i];
                    let part = JsonPart {
                        part: 0,
                        parts: 1,
                        disc: u32::MAX,
                        offset: 0,
                        length: item.size,
                        hash: None,
                        path: format!("{}/{}", disc::DATA_DIR, item.path),
                        iso_path: wide(&item.path),
                        entry_path: None,
                        name: None,
                    };
                    (item.hash.as_bytes().to_vec(), part)
                }))
            }
            Some(packed) => {
                let mut order: Vec<(u32, u32)> = Vec::new();
                for (d, disc) in packed.iter().enumerate() {
                    let bytes = disc.pieces.iter().map(|p| p.length).sum();
                    discs.push(placeholder_disc(
                        self.set_id,
                        disc.number,
                        disc.pieces.len() as u64,
                        bytes,
                    ));
                    order.extend((0..disc.pieces.len()).map(|p| (d as u32, p as u32)));
                }
                let hash_of =
                    |&(d, p): &(u32, u32)| &items[packed[d as usize].pieces[p as usize].item].hash;
                order.sort_by(|a, b| hash_of(a).cmp(hash_of(b)).then(a.cmp(b)));
                Box::new(order.into_iter().map(move |(d, p)| {
                    let disc = &packed[d as usize];
                    let piece = &disc.pieces[p as usize];
                    let item = &items[piece.item];
                    let path = piece_path(item, piece, capacity);
                    let part = JsonPart {
                        part: piece.part,
                        parts: piece.parts,
                        disc: disc.number,
                        offset: piece.offset,
                        length: piece.length,
                        hash: (piece.part > 0)
                            .then(|| placeholder_hash(alg, &item.hash, piece.part)),
                        iso_path: wide(&path),
                        path: format!("{}/{path}", disc::DATA_DIR),
                        entry_path: None,
                        name: None,
                    };
                    (item.hash.as_bytes().to_vec(), part)
                }))
            }
        };
        let scope = JsonScope {
            form: Form::Disc,
            snapshot: self.snapshot,
            max_plan: i64::MAX,
            below_disc: first_number,
            new_discs: &discs,
            new_parts,
        };
        let (plain, gzipped) = json_size(self.catalogue, scope)?;
        let gzip = plain > disc::GZIP_ABOVE;
        let size = if gzip {
            // Real ISO paths, hashes and sizes compress differently from the placeholders.
            gzipped + gzipped / 8 + 16384
        } else {
            plain + 1
        };
        Ok(Reserve {
            size,
            gzip,
            readme: readme_size(self.set_id, created_ns, gzip, self.hash, self.parity, true),
            index: self.measure_index(packed, first_number)?,
        })
    }
}

impl Sizer<'_> {
    /// The bytes to reserve for the index of the plan `packed` (or, before packing, with
    /// every content on the first disc): the index is made from the same rows when the disc
    /// is written, so this is its size.
    fn measure_index(&self, packed: Option<&[PackedDisc]>, first_number: u32) -> Result<u64> {
        let mut new: Vec<(i64, u32)> = match packed {
            None => self
                .items
                .iter()
                .map(|i| (i.content_id, first_number))
                .collect(),
            Some(packed) => packed
                .iter()
                .flat_map(|d| {
                    d.pieces
                        .iter()
                        .map(|p| (self.items[p.item].content_id, d.number))
                })
                .collect(),
        };
        new.sort_unstable();
        new.dedup();
        let scope = IndexScope {
            snapshot: self.snapshot,
            stored: StoredDiscs {
                max_plan: i64::MAX,
                below_disc: first_number,
            },
            new: &new,
        };
        Ok(index::reserve_for(index::measure(self.catalogue, scope)?))
    }
}

/// The bytes the catalogue file of the stored plan `plan_id` needs, if `reserve` is too
/// small for it: the real file, with real hashes and ISO 9660 paths, measured as
/// [`crate::disc::contents::catalogue_file`] makes it from the stored rows, without
/// holding it.
pub fn shortfall(
    catalogue: &Catalogue,
    snapshot: i64,
    plan_id: i64,
    reserve: Reserve,
) -> Result<Option<u64>> {
    let scope = JsonScope {
        form: Form::Disc,
        snapshot,
        max_plan: plan_id,
        below_disc: u32::MAX,
        new_discs: &[],
        new_parts: Box::new(std::iter::empty()),
    };
    let (plain, gzipped) = json_size(catalogue, scope)?;
    let needed = if reserve.gzip { gzipped } else { plain + 1 };
    Ok((needed > reserve.size).then_some(needed))
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
