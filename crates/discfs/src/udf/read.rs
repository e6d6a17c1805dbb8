//! Reading the UDF view of an image: anchors, volume descriptors, file set, directories and
//! file data. Works on our images and on other writers' UDF 1.02–2.01 images with one
//! type 1 partition. Damaged structures are errors, never panics; directory cycles and
//! absurd lengths are refused.

use std::collections::HashSet;
use std::io::{Read, Seek, Write};

use super::anchor::Anchor;
use super::entry::{self, Data, ParsedEntry};
use super::integrity::Integrity;
use super::volume::{self, ParsedVolume};
use super::{cs0, fid, fileset};
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
}

impl<R: Read + Seek> UdfVolume<R> {
    /// Opens the UDF view: finds an anchor (sector 256, else the last sector), reads the
    /// main volume descriptor sequence (the reserve one if the main is damaged), the
    /// integrity descriptor, the file set and the root directory.
    pub fn open(reader: R) -> Result<Self, ReadError> {
        let mut r = SectorReader::new(reader)?;
        if !has_nsr(&mut r)? {
            return Err(ReadError::NotFound("UDF"));
        }
        let anchor = find_anchor(&mut r)?;
        let volume = match read_sequence(&mut r, anchor.main) {
            Ok(v) => v,
            Err(main_err) => read_sequence(&mut r, anchor.reserve).map_err(|_| main_err)?,
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
        if !dir.is_dir {
            return Err(ReadError::Corrupt {
                what: "UDF directory",
                sector: self.sector_of(dir.icb),
                reason: format!("{:?} is not a directory", dir.name),
            });
        }
        if dir.size > MAX_DIR_BYTES {
            return Err(ReadError::Corrupt {
                what: "UDF directory",
                sector: self.sector_of(dir.icb),
                reason: format!("{} bytes is too large", dir.size),
            });
        }
        let mut bytes = Vec::with_capacity(dir.size as usize);
        self.copy_to(dir, &mut bytes)?;
        let first_block = match &dir.data {
            Data::Extents(e) => e.first().map_or(dir.icb, |x| x.1),
            Data::Embedded(_) => dir.icb,
        };
        let mut out = Vec::new();
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
            let f = fid::parse(&bytes[at..], block, self.sector_of(block))?;
            at += f.len;
            if f.characteristics & (fid::PARENT | fid::DELETED) != 0 {
                continue;
            }
            out.push(self.entry_at(f.icb.0, cs0::decode(&f.identifier))?);
        }
        Ok(out)
    }

    /// Copies a file's data to `w`; returns the bytes copied (its size).
    pub fn copy_to(&mut self, entry: &UdfEntry, w: &mut dyn Write) -> Result<u64, ReadError> {
        let io_err = |offset: u64| move |source| ReadError::Io { offset, source };
        match &entry.data {
            Data::Embedded(bytes) => {
                let n = (entry.size as usize).min(bytes.len());
                w.write_all(&bytes[..n]).map_err(io_err(0))?;
                Ok(n as u64)
            }
            Data::Extents(extents) => {
                let mut left = entry.size;
                let mut buf = vec![0u8; 1 << 20];
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
                    return Err(ReadError::Corrupt {
                        what: "UDF file entry",
                        sector: self.sector_of(entry.icb),
                        reason: format!("extents hold {left} bytes less than its length"),
                    });
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

/// Whether the recognition area (sectors 16 on) holds an NSR descriptor.
fn has_nsr<R: Read + Seek>(r: &mut SectorReader<R>) -> Result<bool, ReadError> {
    for sector in 16..64u64 {
        let Ok(b) = r.read_sectors(sector, 1) else {
            return Ok(false);
        };
        match super::vrs::identifier(&b) {
            Some(b"NSR02" | b"NSR03") => return Ok(true),
            Some(b"CD001" | b"BEA01" | b"TEA01" | b"BOOT2" | b"CDW02") => {}
            _ if b.iter().all(|&x| x == 0) => {}
            _ => return Ok(false),
        }
    }
    Ok(false)
}

fn find_anchor<R: Read + Seek>(r: &mut SectorReader<R>) -> Result<Anchor, ReadError> {
    let last = r.sectors().saturating_sub(1);
    let mut first_err = None;
    for sector in [256, last, last.saturating_sub(256)] {
        let Ok(sector32) = u32::try_from(sector) else {
            continue;
        };
        match r
            .read_sectors(sector, 1)
            .and_then(|b| Anchor::parse(&b, sector32))
        {
            Ok(a) => return Ok(a),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(ReadError::NotFound("UDF anchor")))
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
