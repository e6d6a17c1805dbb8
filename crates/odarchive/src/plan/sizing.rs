//! The reserve for the catalogue file: packs, measures the catalogue the plan needs (with
//! placeholders as wide as the real values), and packs again while the reserve is short.

use std::collections::HashMap;
use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::Item;
use super::pack::{PackParams, PackedDisc, pack, piece_path};
use crate::catalogue::Catalogue;
use crate::catalogue::json::{JsonDisc, JsonPart, write_catalogue_json};
use crate::disc::{self, readme::readme_size};
use crate::error::{Error, Result};

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

/// Parts of contents, by content id.
type PartsByContent = HashMap<i64, Vec<JsonPart>>;

/// A hash-shaped placeholder that compresses as badly as a real hash.
fn placeholder_hash(content: &[u8; 32], part: u32) -> String {
    let mut h = Sha256::new();
    h.update(content);
    h.update(part.to_le_bytes());
    crate::hex(&h.finalize())
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
        let (mut written, mut discs) = self.written(first_number)?;
        // An ISO 9660 path is at most about twice as long as the UDF path (romanised letters,
        // version suffixes); the placeholder starts like one so that it compresses like one.
        let wide = |path: &str| {
            let mut p = format!("DATA/{};1", path.to_uppercase());
            while p.len() < path.len() * 2 + 16 {
                p.push('_');
            }
            p
        };
        // The new parts of each content, as (content id, disc index, piece index), sorted:
        // the JSON strings are made when the writer asks for them, one content at a time.
        let mut index: Vec<(i64, u32, u32)> = Vec::new();
        match packed {
            None => {
                index.extend(
                    self.items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| (item.content_id, 0, i as u32)),
                );
                let total: u64 = self.items.iter().map(|i| i.size).sum();
                for n in 0..=(total / self.capacity.max(1) + 1) {
                    discs.push(placeholder_disc(self.set_id, first_number + n as u32, 0, 0));
                }
            }
            Some(packed) => {
                for (k, d) in packed.iter().enumerate() {
                    for (j, piece) in d.pieces.iter().enumerate() {
                        index.push((self.items[piece.item].content_id, k as u32, j as u32));
                    }
                    let bytes = d.pieces.iter().map(|p| p.length).sum();
                    discs.push(placeholder_disc(
                        self.set_id,
                        d.number,
                        d.pieces.len() as u64,
                        bytes,
                    ));
                }
            }
        }
        // Stable: the parts of a content stay in disc order.
        index.sort_by_key(|e| e.0);
        let mut parts_of = |id: i64| {
            let mut parts = written.remove(&id).unwrap_or_default();
            let mut at = index.partition_point(|e| e.0 < id);
            while at < index.len() && index[at].0 == id {
                let (_, k, j) = index[at];
                at += 1;
                parts.push(match packed {
                    None => {
                        let item = &self.items[j as usize];
                        JsonPart {
                            part: 0,
                            disc: u32::MAX,
                            offset: 0,
                            length: item.size,
                            sha256: crate::hex(&item.hash),
                            path: format!("{}/{}", disc::DATA_DIR, item.path),
                            iso_path: wide(&item.path),
                        }
                    }
                    Some(packed) => {
                        let d = &packed[k as usize];
                        let piece = &d.pieces[j as usize];
                        let item = &self.items[piece.item];
                        let path = piece_path(item, piece, self.capacity);
                        JsonPart {
                            part: piece.part,
                            disc: d.number,
                            offset: piece.offset,
                            length: piece.length,
                            sha256: if piece.part == 0 {
                                crate::hex(&item.hash)
                            } else {
                                placeholder_hash(&item.hash, piece.part)
                            },
                            iso_path: wide(&path),
                            path: format!("{}/{path}", disc::DATA_DIR),
                        }
                    }
                });
            }
            parts
        };
        let (plain, gzipped) = self.json_size(&discs, &mut parts_of)?;
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
            readme: readme_size(self.set_id, created_ns, gzip),
        })
    }

    /// What the discs before `first_number` (written ones, which later plans keep) hold, as
    /// the JSON lists it: their parts by content, and the discs.
    fn written(&self, first_number: u32) -> Result<(PartsByContent, Vec<JsonDisc>)> {
        let mut parts: HashMap<i64, Vec<JsonPart>> = HashMap::new();
        self.catalogue.for_each_placement(|p| {
            if p.disc < first_number {
                parts
                    .entry(p.content_id)
                    .or_default()
                    .push(JsonPart::from(p));
            }
            Ok(())
        })?;
        let discs = self
            .catalogue
            .discs()?
            .into_iter()
            .filter(|d| d.number < first_number)
            .map(JsonDisc::from)
            .collect();
        Ok((parts, discs))
    }

    /// The bytes the catalogue file of the stored plan needs, if `reserve` is too small for
    /// it: the real file, with real hashes and ISO 9660 paths, measured as
    /// [`crate::disc::contents::catalogue_file`] makes it, from the stored rows.
    pub fn shortfall(&self, reserve: Reserve) -> Result<Option<u64>> {
        let discs: Vec<JsonDisc> = self
            .catalogue
            .discs()?
            .into_iter()
            .map(JsonDisc::from)
            .collect();
        let mut failed = None;
        let mut parts_of = |id: i64| match self.catalogue.placements_of(id) {
            Ok(placements) => placements.into_iter().map(JsonPart::from).collect(),
            Err(e) => {
                failed.get_or_insert(e);
                Vec::new()
            }
        };
        let (plain, gzipped) = self.json_size(&discs, &mut parts_of)?;
        if let Some(e) = failed {
            return Err(e);
        }
        let needed = if reserve.gzip { gzipped } else { plain + 1 };
        Ok((needed > reserve.size).then_some(needed))
    }

    /// The size of the catalogue JSON with `discs` and `parts_of`, plain and gzipped (at the
    /// level the written file uses, without padding), streamed: nothing is kept. The gzip
    /// runs on a second thread, fed in large chunks, while this one makes the JSON.
    fn json_size(
        &self,
        discs: &[JsonDisc],
        parts_of: &mut dyn FnMut(i64) -> Vec<JsonPart>,
    ) -> Result<(u64, u64)> {
        let name = std::path::Path::new("catalogue.json");
        let output = |source| Error::Output {
            path: name.to_path_buf(),
            source,
        };
        let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(4);
        std::thread::scope(|s| {
            let gzip = s.spawn(move || -> io::Result<u64> {
                let mut gz = flate2::write::GzEncoder::new(
                    Count {
                        inner: io::sink(),
                        n: 0,
                    },
                    flate2::Compression::default(),
                );
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
            let plain =
                write_catalogue_json(self.catalogue, self.snapshot, discs, parts_of, chunks, name)
                    .and_then(|chunks| chunks.finish().map_err(output));
            // On an error the sender is gone, so the thread ends too.
            let gzipped = gzip
                .join()
                .map_err(|_| Error::Internal("the gzip thread panicked".into()))?
                .map_err(output);
            Ok((plain?, gzipped?))
        })
    }
}

/// Bytes per chunk sent to the gzip thread.
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

fn placeholder_disc(set_id: &str, number: u32, files: u64, bytes: u64) -> JsonDisc {
    JsonDisc {
        number,
        label: disc::label(set_id, number),
        image_size: u64::MAX,
        files,
        bytes,
    }
}
