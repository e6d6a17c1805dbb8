//! The reserve for the catalogue file: packs, measures the catalogue the plan needs (with
//! placeholders as wide as the real values), and packs again while the reserve is short.

use std::io::{self, Write};

use super::Item;
use super::pack::{PackParams, PackedDisc, pack, piece_path};
use crate::catalogue::Catalogue;
use crate::catalogue::json::{Form, JsonDisc, JsonPart, JsonScope, NewParts, write_catalogue_json};
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
}

pub(super) struct Sizer<'a> {
    pub catalogue: &'a Catalogue,
    pub snapshot: i64,
    pub items: &'a [Item],
    pub set_id: &'a str,
    pub capacity: u64,
    pub hash: HashAlgorithm,
}

/// Counts bytes written through it.
struct Count<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Count<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
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
                first_number,
                hash: self.hash,
            };
            let packed = pack(self.items, first_count, &params)?;
            let mut need = self.measure(Some(&packed), first_number, created_ns)?;
            need.size = need.size.max(at_least);
            if need.gzip == reserve.gzip && need.size <= reserve.size {
                return Ok((packed, reserve));
            }
            reserve = Reserve {
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
        let gz = flate2::write::GzEncoder::new(
            Count {
                inner: io::sink(),
                n: 0,
            },
            flate2::Compression::default(),
        );
        let counted = Count { inner: gz, n: 0 };
        let name = std::path::Path::new("catalogue.json");
        let scope = JsonScope {
            form: Form::Disc,
            snapshot: self.snapshot,
            max_plan: i64::MAX,
            below_disc: first_number,
            new_discs: &discs,
            new_parts,
        };
        let counted = write_catalogue_json(self.catalogue, scope, counted, name)?;
        let plain = counted.n;
        let gzipped = counted
            .inner
            .finish()
            .map_err(|source| Error::Output {
                path: name.to_path_buf(),
                source,
            })?
            .n;
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
            readme: readme_size(self.set_id, created_ns, gzip, self.hash),
        })
    }
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
