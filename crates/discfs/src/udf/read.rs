//! Reading the UDF view of an image: anchors, volume descriptors, file set, directories and
//! file data. Works on our images and on other writers' UDF 1.02–2.01 images with one
//! type 1 partition. Damaged structures are errors, never panics; directory cycles and
//! absurd lengths are refused.
//!
//! Damage is worked around where a robust reader can: an unknown descriptor in the volume
//! recognition sequence is passed over, a damaged anchor or main descriptor sequence gives
//! way to another copy ([`UdfVolume::damage`] says what was damaged), and
//! [`UdfVolume::walk_salvaging`] lists everything outside a damaged file entry or directory,
//! naming each one it had to leave out.

use std::collections::HashSet;
use std::io::{Read, Seek, Write};

use super::anchor::Anchor;
use super::entry::{self, Data, ParsedEntry};
use super::integrity::Integrity;
use super::volume::{self, ParsedVolume};
use super::{cs0, fid, fileset, vrs};
use crate::SECTOR;
use crate::error::ReadError;
use crate::sectors::SectorReader;
use crate::time::Timestamp;

/// Largest directory we read into memory (a directory of a million long names).
const MAX_DIR_BYTES: u64 = 1 << 30;
/// Deepest directory nesting followed by [`UdfVolume::walk`].
const MAX_DEPTH: usize = 1024;

/// One entry of a UDF directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdfEntry {
    /// Name as recorded (decoded from CS0); empty for the root.
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Information length: file size, or bytes of a directory's identifiers.
    pub size: u64,
    /// Modification time, when valid.
    pub mtime: Option<Timestamp>,
    /// Logical block of the file entry.
    pub icb: u32,
    data: Data,
}

/// An image opened for its UDF view.
#[derive(Debug)]
pub struct UdfVolume<R> {
    r: SectorReader<R>,
    partition_start: u32,
    partition_length: u32,
    volume: ParsedVolume,
    integrity: Option<Integrity>,
    root: UdfEntry,
    damage: Vec<String>,
}

impl<R: Read + Seek> UdfVolume<R> {
    /// Opens the UDF view: finds an anchor (sector 256, else the last sector), reads the
    /// main volume descriptor sequence (the reserve one if the main is damaged), the
    /// integrity descriptor, the file set and the root directory.
    pub fn open(reader: R) -> Result<Self, ReadError> {
        let mut r = SectorReader::new(reader)?;
        let recognition = vrs::search(|sector| r.read_sectors(sector, 1).ok());
        let mut damage: Vec<String> = recognition
            .unknown
            .iter()
            .map(|(sector, id)| {
                format!("sector {sector}: unknown volume structure descriptor {id:?} (damaged)")
            })
            .collect();
        let anchor = match find_anchor(&mut r, &mut damage) {
            Ok(anchor) => anchor,
            Err(_) if recognition.nsr.is_none() => return Err(ReadError::NotFound("UDF")),
            Err(e) => return Err(e),
        };
        if recognition.nsr.is_none() {
            damage.push(
                "no NSR descriptor in the volume recognition sequence (the UDF anchor is intact)"
                    .into(),
            );
        }
        let volume = match read_sequence(&mut r, anchor.main) {
            Ok(v) => v,
            Err(main_err) => match read_sequence(&mut r, anchor.reserve) {
                Ok(v) => {
                    damage.push(format!(
                        "main volume descriptor sequence: {main_err}; the reserve one was used"
                    ));
                    v
                }
                Err(_) => return Err(main_err),
            },
        };
        let corrupt = |reason: &str| ReadError::Corrupt {
            what: "UDF volume descriptors",
            sector: u64::from(anchor.main.1),
            reason: reason.to_owned(),
        };
        if volume.block_size != SECTOR as u32 {
            return Err(corrupt(&format!(
                "logical block size {} is not 2048",
                volume.block_size
            )));
        }
        let (_, partition_start, partition_length) = volume
            .partition
            .ok_or_else(|| corrupt("no partition descriptor"))?;
        let (fsd_block, _) = volume
            .file_set
            .ok_or_else(|| corrupt("no logical volume descriptor"))?;
        let integrity = r
            .read_sectors(u64::from(volume.integrity.1), 1)
            .ok()
            .and_then(|b| Integrity::parse(&b, volume.integrity.1).ok());
        let mut vol = UdfVolume {
            r,
            partition_start,
            partition_length,
            volume,
            integrity,
            root: UdfEntry {
                name: String::new(),
                is_dir: true,
                size: 0,
                mtime: None,
                icb: 0,
                data: Data::Embedded(vec![]),
            },
            damage,
        };
        let fsd = vol.read_block(fsd_block)?;
        let (root_block, _) = fileset::parse_root(&fsd, fsd_block, vol.sector_of(fsd_block))?;
        let root = vol.entry_at(root_block, String::new())?;
        if !root.is_dir {
            return Err(ReadError::Corrupt {
                what: "UDF root",
                sector: vol.sector_of(root_block),
                reason: "not a directory".into(),
            });
        }
        vol.root = root;
        Ok(vol)
    }

    /// The volume identifier from the Primary Volume Descriptor.
    pub fn volume_id(&self) -> &str {
        &self.volume.volume_id
    }

    /// The volume set identifier.
    pub fn volume_set_id(&self) -> &str {
        &self.volume.volume_set_id
    }

    /// The integrity descriptor, if it could be read.
    pub fn integrity(&self) -> Option<&Integrity> {
        self.integrity.as_ref()
    }

    /// The root directory.
    pub fn root(&self) -> &UdfEntry {
        &self.root
    }

    /// What was found damaged and worked around while opening the volume (a damaged
    /// recognition sequence, anchor or main descriptor sequence); empty for an intact volume.
    pub fn damage(&self) -> &[String] {
        &self.damage
    }

    /// The first sector of the partition.
    pub fn partition_start(&self) -> u64 {
        u64::from(self.partition_start)
    }

    /// The sector that holds an entry's File Entry.
    pub fn entry_sector(&self, entry: &UdfEntry) -> u64 {
        self.sector_of(entry.icb)
    }

    /// Where a file's data lies: (first sector, bytes) runs up to its length, runs that
    /// follow each other merged. `None` for data embedded in the file entry or in extents
    /// not recorded (read as zeros), which lie in no sector.
    pub fn data_runs(&self, entry: &UdfEntry) -> Option<Vec<(u64, u64)>> {
        let Data::Extents(extents) = &entry.data else {
            return None;
        };
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let mut left = entry.size;
        for &(raw_len, block, _) in extents {
            if left == 0 {
                break;
            }
            if raw_len >> 30 != 0 {
                return None;
            }
            let len = u64::from(raw_len & 0x3FFF_FFFF).min(left);
            let sector = self.sector_of(block);
            match runs.last_mut() {
                Some((start, n)) if *start * SECTOR + *n == sector * SECTOR => *n += len,
                _ => runs.push((sector, len)),
            }
            left -= len;
        }
        Some(runs)
    }

    /// Checks, before any data is read, that a file's extents lie inside the partition and
    /// hold its whole length (for data embedded in the entry: that the entry holds it all).
    pub fn check_extents(&self, entry: &UdfEntry) -> Result<(), ReadError> {
        let extents = match &entry.data {
            Data::Extents(extents) => extents,
            Data::Embedded(bytes) => {
                let held = bytes.len() as u64;
                if held < entry.size {
                    return Err(self.short_extents(entry, entry.size - held));
                }
                return Ok(());
            }
        };
        let mut left = entry.size;
        for &(raw_len, block, _) in extents {
            if left == 0 {
                break;
            }
            let len = u64::from(raw_len & 0x3FFF_FFFF).min(left);
            let end = u64::from(block) + len.div_ceil(SECTOR);
            if raw_len >> 30 == 0 && end > u64::from(self.partition_length) {
                return Err(ReadError::Corrupt {
                    what: "UDF extent",
                    sector: self.sector_of(block),
                    reason: format!(
                        "blocks {block}..{end} run outside the partition ({} blocks)",
                        self.partition_length
                    ),
                });
            }
            left -= len;
        }
        if left > 0 {
            return Err(self.short_extents(entry, left));
        }
        Ok(())
    }

    /// The error for a file entry whose data (extents or embedded) holds `left` bytes less than
    /// its length.
    fn short_extents(&self, entry: &UdfEntry, left: u64) -> ReadError {
        ReadError::Corrupt {
            what: "UDF file entry",
            sector: self.sector_of(entry.icb),
            reason: format!("its data holds {left} bytes less than its length"),
        }
    }

    fn sector_of(&self, block: u32) -> u64 {
        u64::from(self.partition_start) + u64::from(block)
    }

    fn read_block(&mut self, block: u32) -> Result<Vec<u8>, ReadError> {
        if block >= self.partition_length {
            return Err(ReadError::Corrupt {
                what: "UDF logical block",
                sector: self.sector_of(block),
                reason: format!(
                    "block {block} is outside the partition ({} blocks)",
                    self.partition_length
                ),
            });
        }
        self.r.read_sectors(self.sector_of(block), 1)
    }

    fn entry_at(&mut self, block: u32, name: String) -> Result<UdfEntry, ReadError> {
        let b = self.read_block(block)?;
        let ParsedEntry {
            file_type,
            length,
            mtime,
            data,
            ..
        } = entry::parse(&b, block, self.sector_of(block))?;
        Ok(UdfEntry {
            name,
            is_dir: file_type == entry::FILE_TYPE_DIRECTORY,
            size: length,
            mtime,
            icb: block,
            data,
        })
    }

    /// The entries of directory `dir` (its parent entry and deleted entries left out), in
    /// recorded order.
    pub fn read_dir(&mut self, dir: &UdfEntry) -> Result<Vec<UdfEntry>, ReadError> {
        let (fids, mut damaged) = self.identifiers(dir)?;
        if !damaged.is_empty() {
            return Err(damaged.swap_remove(0));
        }
        fids.into_iter()
            .map(|f| self.entry_at(f.icb.0, cs0::decode(&f.identifier)))
            .collect()
    }

    /// The file identifiers of directory `dir` (parent and deleted ones left out) and the
    /// damage met among them: a damaged identifier is skipped by searching on, 4 bytes at a
    /// time, for the next one that checks.
    fn identifiers(
        &mut self,
        dir: &UdfEntry,
    ) -> Result<(Vec<fid::ParsedFid>, Vec<ReadError>), ReadError> {
        if !dir.is_dir {
            return Err(ReadError::Corrupt {
                what: "UDF directory",
                sector: self.sector_of(dir.icb),
                reason: format!("{:?} is not a directory", dir.name),
            });
        }
        // A directory's identifiers are recorded on the image: one longer than the image
        // (unrecorded extents claim zeros that take no sectors) is damage, and nothing is
        // reserved for it.
        if dir.size > MAX_DIR_BYTES || dir.size > self.r.len() {
            return Err(ReadError::Corrupt {
                what: "UDF directory",
                sector: self.sector_of(dir.icb),
                reason: format!(
                    "{} bytes is larger than a directory can be on an image of {} bytes",
                    dir.size,
                    self.r.len()
                ),
            });
        }
        let mut bytes = Vec::with_capacity(dir.size as usize);
        self.copy_to(dir, &mut bytes)?;
        let first_block = match &dir.data {
            Data::Extents(e) => e.first().map_or(dir.icb, |x| x.1),
            Data::Embedded(_) => dir.icb,
        };
        let mut out = Vec::new();
        let mut damaged = Vec::new();
        let mut at = 0usize;
        while at < bytes.len() {
            // Identifiers in later extents carry their own block in the tag; accept them at
            // whatever block they claim by checking against the claimed location.
            let claimed = bytes
                .get(at + 12..at + 16)
                .map_or(0, |b| super::fields::u32_at(b, 0));
            let block = if matches!(dir.data, Data::Embedded(_)) {
                dir.icb
            } else {
                claimed.max(first_block)
            };
            match fid::parse(&bytes[at..], block, self.sector_of(block)) {
                Ok(f) => {
                    at += f.len;
                    if f.characteristics & (fid::PARENT | fid::DELETED) == 0 {
                        out.push(f);
                    }
                }
                Err(e) => {
                    damaged.push(e);
                    at += 4;
                }
            }
        }
        // One damaged identifier is tried at every 4 bytes it spans: report it once.
        damaged.dedup_by(|a, b| a.to_string() == b.to_string());
        Ok((out, damaged))
    }

    /// Copies a file's data to `w`; returns the bytes copied (its size).
    pub fn copy_to(&mut self, entry: &UdfEntry, w: &mut dyn Write) -> Result<u64, ReadError> {
        self.copy_to_with(entry, w, &mut vec![0u8; 1 << 20])
    }

    /// [`UdfVolume::copy_to`] through the caller's `buf` (reused from file to file; an empty
    /// one is replaced by a small one of its own).
    pub fn copy_to_with(
        &mut self,
        entry: &UdfEntry,
        w: &mut dyn Write,
        buf: &mut [u8],
    ) -> Result<u64, ReadError> {
        let mut small = [0u8; 8192];
        let buf = if buf.is_empty() { &mut small[..] } else { buf };
        let io_err = |offset: u64| move |source| ReadError::Io { offset, source };
        self.check_extents(entry)?;
        match &entry.data {
            Data::Embedded(bytes) => {
                // check_extents saw that the entry holds the whole length.
                w.write_all(&bytes[..entry.size as usize])
                    .map_err(io_err(0))?;
                Ok(entry.size)
            }
            Data::Extents(extents) => {
                let mut left = entry.size;
                for &(raw_len, block, _) in extents {
                    if left == 0 {
                        break;
                    }
                    let len = u64::from(raw_len & 0x3FFF_FFFF).min(left);
                    let kind = raw_len >> 30;
                    let mut done = 0u64;
                    while done < len {
                        let n = (len - done).min(buf.len() as u64) as usize;
                        if kind == 0 {
                            let start = self.sector_of(block) * SECTOR + done;
                            if block >= self.partition_length {
                                return Err(ReadError::Corrupt {
                                    what: "UDF extent",
                                    sector: self.sector_of(block),
                                    reason: "outside the partition".into(),
                                });
                            }
                            self.r.read_at(start, &mut buf[..n])?;
                        } else {
                            buf[..n].fill(0);
                        }
                        w.write_all(&buf[..n]).map_err(io_err(done))?;
                        done += n as u64;
                    }
                    left -= len;
                }
                if left > 0 {
                    return Err(self.short_extents(entry, left));
                }
                Ok(entry.size)
            }
        }
    }

    /// Every entry below the root, depth-first, with its `/`-separated path. Directory
    /// cycles and nesting deeper than 1024 are errors.
    pub fn walk(&mut self) -> Result<Vec<(String, UdfEntry)>, ReadError> {
        let mut out = Vec::new();
        let mut seen = HashSet::from([self.root.icb]);
        let root = self.root.clone();
        let mut stack = vec![(String::new(), root, 0usize)];
        while let Some((path, dir, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(ReadError::Corrupt {
                    what: "UDF directory",
                    sector: self.sector_of(dir.icb),
                    reason: "nested too deep".into(),
                });
            }
            for child in self.read_dir(&dir)? {
                let child_path = if path.is_empty() {
                    child.name.clone()
                } else {
                    format!("{path}/{}", child.name)
                };
                if child.is_dir {
                    if !seen.insert(child.icb) {
                        return Err(ReadError::Corrupt {
                            what: "UDF directory",
                            sector: self.sector_of(child.icb),
                            reason: format!("{child_path} loops back"),
                        });
                    }
                    stack.push((child_path.clone(), child.clone(), depth + 1));
                }
                out.push((child_path, child));
            }
        }
        Ok(out)
    }

    /// Every entry below the root that can be read, depth-first with its `/`-separated path,
    /// and what could not be read: a damaged file entry costs that entry (and for a
    /// directory, what it holds), a damaged file identifier that one name, a damaged
    /// directory what it holds. Each loss is named with its path and cause.
    pub fn walk_salvaging(&mut self) -> (Vec<(String, UdfEntry)>, Vec<String>) {
        let mut out = Vec::new();
        let mut damage = Vec::new();
        let mut seen = HashSet::from([self.root.icb]);
        let root = self.root.clone();
        let mut stack = vec![(String::new(), root, 0usize)];
        while let Some((path, dir, depth)) = stack.pop() {
            let shown = if path.is_empty() { "/" } else { &path };
            if depth > MAX_DEPTH {
                damage.push(format!("UDF directory {shown}: nested too deep"));
                continue;
            }
            let fids = match self.identifiers(&dir) {
                Ok((fids, damaged)) => {
                    for e in damaged {
                        damage.push(format!("UDF directory {shown}: {e}"));
                    }
                    fids
                }
                Err(e) => {
                    damage.push(format!("UDF directory {shown}: {e}"));
                    continue;
                }
            };
            for f in fids {
                let name = cs0::decode(&f.identifier);
                let child_path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}/{name}")
                };
                let child = match self.entry_at(f.icb.0, name) {
                    Ok(child) => child,
                    Err(e) => {
                        damage.push(format!("UDF file entry of {child_path}: {e}"));
                        continue;
                    }
                };
                if child.is_dir {
                    if !seen.insert(child.icb) {
                        damage.push(format!("UDF directory {child_path}: loops back"));
                        continue;
                    }
                    stack.push((child_path.clone(), child.clone(), depth + 1));
                }
                out.push((child_path, child));
            }
        }
        (out, damage)
    }

    /// The entry at `path` (`/`-separated, relative to the root).
    pub fn lookup(&mut self, path: &str) -> Result<UdfEntry, ReadError> {
        let mut at = self.root.clone();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            at = self
                .read_dir(&at)?
                .into_iter()
                .find(|e| e.name == part)
                .ok_or_else(|| ReadError::NoSuchPath(path.to_owned()))?;
        }
        Ok(at)
    }
}

/// The first anchor that checks, at sector 256, the last sector or 256 before it; each one
/// passed over before it is noted in `damage`.
fn find_anchor<R: Read + Seek>(
    r: &mut SectorReader<R>,
    damage: &mut Vec<String>,
) -> Result<Anchor, ReadError> {
    let last = r.sectors().saturating_sub(1);
    let mut failed: Vec<(u64, ReadError)> = Vec::new();
    for sector in [256, last, last.saturating_sub(256)] {
        let Ok(sector32) = u32::try_from(sector) else {
            continue;
        };
        match r
            .read_sectors(sector, 1)
            .and_then(|b| Anchor::parse(&b, sector32))
        {
            Ok(a) => {
                for (at, e) in failed {
                    damage.push(format!(
                        "UDF anchor at sector {at}: {e}; the one at sector {sector} was used"
                    ));
                }
                return Ok(a);
            }
            Err(e) => failed.push((sector, e)),
        }
    }
    Err(failed
        .into_iter()
        .next()
        .map_or(ReadError::NotFound("UDF anchor"), |(_, e)| e))
}

fn read_sequence<R: Read + Seek>(
    r: &mut SectorReader<R>,
    (len, start): (u32, u32),
) -> Result<ParsedVolume, ReadError> {
    let mut parsed = ParsedVolume::default();
    let sectors = (u64::from(len) / SECTOR).min(256);
    for i in 0..sectors {
        let sector = u64::from(start) + i;
        let b = r.read_sectors(sector, 1)?;
        if !volume::parse_into(&b, sector as u32, &mut parsed)? {
            break;
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::sync::Arc;

    use super::*;
    use crate::time::Timestamp;
    use crate::tree::{FileSource, NodeId, TreeBuilder};
    use crate::volume::VolumeInfo;

    fn volume_with_one_file() -> (UdfVolume<Cursor<Vec<u8>>>, UdfEntry) {
        let mut b = TreeBuilder::new(Timestamp::EPOCH);
        b.file(
            NodeId::ROOT,
            "short.txt",
            Timestamp::EPOCH,
            5,
            FileSource::Bytes(Arc::from(&b"hello"[..])),
        )
        .unwrap();
        let tree = b.build().unwrap();
        let layout = crate::layout(&tree, &VolumeInfo::default()).unwrap();
        let mut image = Vec::new();
        crate::write_image(&tree, &layout, &mut image, &mut ()).unwrap();
        let mut udf = UdfVolume::open(Cursor::new(image)).unwrap();
        let entry = udf.lookup("short.txt").unwrap();
        (udf, entry)
    }

    /// A hostile entry whose embedded data is shorter than its length (found by the udf fuzz
    /// target: 31 bytes held, 8 GiB claimed) is an error naming its entry, never a short read.
    #[test]
    fn embedded_data_shorter_than_the_length_is_an_error() {
        let (mut udf, entry) = volume_with_one_file();
        let held = UdfEntry {
            data: Data::Embedded(b"hello".to_vec()),
            ..entry.clone()
        };
        let mut out = Vec::new();
        assert_eq!(udf.copy_to(&held, &mut out).unwrap(), 5);
        assert_eq!(out, b"hello");

        let claimed = UdfEntry {
            size: 8_589_939_877,
            ..held
        };
        let err = udf.check_extents(&claimed).unwrap_err();
        assert!(
            err.to_string()
                .contains("8589939872 bytes less than its length"),
            "{err}"
        );
        let mut out = Vec::new();
        assert!(matches!(
            udf.copy_to(&claimed, &mut out),
            Err(ReadError::Corrupt { .. })
        ));
        assert!(out.is_empty(), "nothing is written before the error");
    }
}
