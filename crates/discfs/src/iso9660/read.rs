//! Reading the ISO 9660 view of an image: volume descriptor, directories (walked from the
//! root directory record; the path tables are only cross-checked on request), multi-extent
//! files, file data.
//!
//! Nothing here trusts the image: every length read from it is checked against the image's
//! size before anything is allocated or read, directory walks refuse loops, overlapping
//! directories and depths past [`MAX_WALK_DEPTH`], and malformed records give
//! [`ReadError::Corrupt`] with the sector they sit in.

use std::collections::HashSet;
use std::io::{self, Read, Seek, Write};

use super::FIRST_DESCRIPTOR_SECTOR;
use super::descriptor::{
    PrimaryVolumeDescriptor, STANDARD_ID, TYPE_PRIMARY, TYPE_TERMINATOR, descriptor_type,
};
use super::dirrec::{DirRecord, FLAG_MULTI_EXTENT};
use super::pathtable::PathTableRecord;
use crate::SECTOR;
use crate::error::ReadError;
use crate::sectors::SectorReader;
use crate::time::Timestamp;

/// Most volume descriptors looked at before giving up on finding the terminator.
pub const MAX_DESCRIPTORS: u64 = 64;
/// Deepest directory nesting [`IsoImage::walk`] follows (ECMA-119 allows 8; readers of
/// Rock Ridge images meet more).
pub const MAX_WALK_DEPTH: usize = 64;

/// 9.1.6 bit 2: an associated file (resource fork and the like), skipped by the listing.
const FLAG_ASSOCIATED: u8 = 0x04;

/// One file or directory of the ISO 9660 view; multi-extent records are merged into one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoEntry {
    /// The identifier as recorded, e.g. `README.TXT;1`, `DOCS` (empty for the root).
    pub identifier: String,
    /// The identifier as readers show it: without the `;1` version and without the `.` of
    /// an empty extension (`README.TXT`, `NOTES`).
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Size in bytes: the sum over its extents.
    pub size: u64,
    /// Its extents in order: (first sector of the data, length in bytes).
    pub extents: Vec<(u32, u32)>,
    /// Recording date of its (first) record; the epoch when the record's date is invalid.
    pub mtime: Timestamp,
}

/// An image opened for reading its ISO 9660 view.
#[derive(Debug)]
pub struct IsoImage<R> {
    reader: SectorReader<R>,
    volume: PrimaryVolumeDescriptor,
    damage: Vec<String>,
}

fn corrupt(what: &'static str, sector: u64, reason: impl Into<String>) -> ReadError {
    ReadError::Corrupt {
        what,
        sector,
        reason: reason.into(),
    }
}

/// Text of an identifier: UTF-8 when it is valid UTF-8, else each byte as Latin-1.
fn identifier_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

/// A primary volume descriptor whose standard identifier has one byte changed (type 1,
/// version 1, and otherwise a sound descriptor: 2048-byte blocks, a directory as its root).
fn damaged_primary_at(b: &[u8]) -> Option<PrimaryVolumeDescriptor> {
    let differing = b
        .get(1..6)?
        .iter()
        .zip(STANDARD_ID)
        .filter(|(a, b)| a != b)
        .count();
    if b[0] != TYPE_PRIMARY || b[6] != 1 || differing != 1 {
        return None;
    }
    let mut repaired = b.to_vec();
    repaired[1..6].copy_from_slice(STANDARD_ID);
    PrimaryVolumeDescriptor::parse(&repaired)
        .ok()
        .filter(|pvd| u64::from(pvd.logical_block_size) == SECTOR && pvd.root.is_dir())
}

/// The name readers show for an identifier: version (`;N`) cut, and for files a trailing
/// `.` (empty extension) cut.
pub fn shown_name(identifier: &str, is_dir: bool) -> String {
    let mut name = identifier;
    if !is_dir {
        if let Some(i) = name.rfind(';') {
            name = &name[..i];
        }
        if name.len() > 1 {
            name = name.strip_suffix('.').unwrap_or(name);
        }
    }
    name.to_owned()
}

impl<R: Read + Seek> IsoImage<R> {
    /// Opens the image in `inner` and reads its Primary Volume Descriptor.
    pub fn open(inner: R) -> Result<Self, ReadError> {
        Self::from_reader(SectorReader::new(inner)?)
    }

    /// Reads the Primary Volume Descriptor of an already wrapped image: scans the volume
    /// descriptors from sector 16 until the terminator (at most [`MAX_DESCRIPTORS`](super::MAX_DESCRIPTORS)),
    /// passing over damaged ones. When no descriptor with a valid identifier is a primary
    /// one, a primary whose `CD001` has one byte damaged is taken if the rest of it reads as
    /// one; [`damage`](Self::damage) then says so.
    pub fn from_reader(mut reader: SectorReader<R>) -> Result<Self, ReadError> {
        let mut primary = None;
        let mut damaged_primary = None;
        let mut damage = Vec::new();
        for sector in FIRST_DESCRIPTOR_SECTOR..FIRST_DESCRIPTOR_SECTOR + MAX_DESCRIPTORS {
            if (sector + 1) * SECTOR > reader.len() {
                break;
            }
            let b = reader.read_sectors(sector, 1)?;
            match descriptor_type(&b) {
                Some(TYPE_PRIMARY) if primary.is_none() => {
                    let pvd = PrimaryVolumeDescriptor::parse(&b)
                        .map_err(|e| corrupt("primary volume descriptor", sector, e))?;
                    primary = Some(pvd);
                }
                Some(TYPE_TERMINATOR) => break,
                Some(_) => {}
                None if b[..8].iter().all(|&x| x == 0) => break,
                None => {
                    // Not an ISO 9660 descriptor: UDF's recognition sequence, or damage.
                    if damaged_primary.is_none() {
                        damaged_primary = damaged_primary_at(&b).map(|pvd| (sector, pvd));
                    }
                }
            }
        }
        if primary.is_none() {
            if let Some((sector, pvd)) = damaged_primary {
                damage.push(format!(
                    "sector {sector}: primary volume descriptor with a damaged \
                     standard identifier {:?}; read as the primary",
                    String::from_utf8_lossy(&reader.read_sectors(sector, 1)?[1..6])
                ));
                primary = Some(pvd);
            }
        }
        let volume = primary.ok_or(ReadError::NotFound("ISO 9660"))?;
        if u64::from(volume.logical_block_size) != SECTOR {
            return Err(corrupt(
                "primary volume descriptor",
                FIRST_DESCRIPTOR_SECTOR,
                format!(
                    "logical block size {} (only 2048 is read)",
                    volume.logical_block_size
                ),
            ));
        }
        if !volume.root.is_dir() {
            return Err(corrupt(
                "primary volume descriptor",
                FIRST_DESCRIPTOR_SECTOR,
                "root directory record is not a directory",
            ));
        }
        Ok(IsoImage {
            reader,
            volume,
            damage,
        })
    }

    /// The Primary Volume Descriptor's fields.
    pub fn volume(&self) -> &PrimaryVolumeDescriptor {
        &self.volume
    }

    /// What was found damaged and worked around while opening the view; empty when intact.
    pub fn damage(&self) -> &[String] {
        &self.damage
    }

    /// The underlying sector reader.
    pub fn into_inner(self) -> SectorReader<R> {
        self.reader
    }

    /// The root directory.
    pub fn root(&self) -> IsoEntry {
        let r = &self.volume.root;
        IsoEntry {
            identifier: String::new(),
            name: String::new(),
            is_dir: true,
            size: u64::from(r.data_length),
            extents: vec![(
                r.extent.saturating_add(u32::from(r.ext_attr_len)),
                r.data_length,
            )],
            mtime: r.mtime().unwrap_or(Timestamp::EPOCH),
        }
    }

    /// The entries of directory `dir` ("." and ".." and associated files left out), in
    /// recorded order, consecutive multi-extent records merged.
    pub fn read_dir(&mut self, dir: &IsoEntry) -> Result<Vec<IsoEntry>, ReadError> {
        let &[(start, len)] = dir.extents.as_slice() else {
            return Err(corrupt(
                "directory record",
                dir.extents.first().map_or(0, |e| u64::from(e.0)),
                "a directory must have exactly one extent",
            ));
        };
        if !dir.is_dir {
            return Err(ReadError::NoSuchPath(format!(
                "{} (not a directory)",
                dir.name
            )));
        }
        let (start, len) = (u64::from(start), u64::from(len));
        if start * SECTOR + len > self.reader.len() {
            return Err(ReadError::Truncated {
                sector: start + len.div_ceil(SECTOR),
                sectors: self.reader.sectors(),
            });
        }
        let mut out: Vec<IsoEntry> = Vec::new();
        let mut open_multi = false;
        let mut seen_records = 0u64;
        for i in 0..len.div_ceil(SECTOR) {
            let sector = start + i;
            let buf = self.reader.read_sectors(sector, 1)?;
            let limit = (len - i * SECTOR).min(SECTOR) as usize;
            let mut pos = 0;
            while pos < limit {
                let rec = match DirRecord::parse(&buf[pos..limit]) {
                    Ok(Some(rec)) => rec,
                    Ok(None) => break,
                    Err(e) => return Err(corrupt("directory record", sector, e)),
                };
                pos += usize::from(buf[pos]);
                seen_records += 1;
                if seen_records <= 2 && matches!(rec.identifier.as_slice(), [0] | [1]) {
                    continue;
                }
                if rec.flags & FLAG_ASSOCIATED != 0 {
                    continue;
                }
                let extent = (
                    rec.extent.saturating_add(u32::from(rec.ext_attr_len)),
                    rec.data_length,
                );
                let identifier = identifier_text(&rec.identifier);
                match out.last_mut() {
                    Some(last) if open_multi && last.identifier == identifier => {
                        last.size += u64::from(rec.data_length);
                        last.extents.push(extent);
                    }
                    _ => {
                        let is_dir = rec.is_dir();
                        out.push(IsoEntry {
                            name: shown_name(&identifier, is_dir),
                            identifier,
                            is_dir,
                            size: u64::from(rec.data_length),
                            extents: vec![extent],
                            mtime: rec.mtime().unwrap_or(Timestamp::EPOCH),
                        });
                    }
                }
                open_multi = rec.flags & FLAG_MULTI_EXTENT != 0 && !rec.is_dir();
            }
        }
        Ok(out)
    }

    /// Every entry of the view with its path (`/`-separated shown names, no leading `/`),
    /// depth first in recorded order. See [`visit`](Self::visit) for the checks, and for
    /// large volumes, where holding every entry at once costs too much.
    pub fn walk(&mut self) -> Result<Vec<(String, IsoEntry)>, ReadError> {
        let mut out = Vec::new();
        self.visit(|_, path, entry| {
            out.push((path.to_owned(), entry.clone()));
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` with the image, the path and the entry of every file and directory, depth
    /// first in recorded order (a directory before its contents), holding one directory's
    /// entries at a time. `f` may read files through the image it is given; an error from
    /// it stops the walk. Refuses directory loops, directories whose extents add up to more
    /// than the image, and nesting past [`MAX_WALK_DEPTH`](super::MAX_WALK_DEPTH).
    pub fn visit(
        &mut self,
        mut f: impl FnMut(&mut Self, &str, &IsoEntry) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        let mut visited = HashSet::new();
        let mut budget = self.reader.len();
        let mut stack = vec![(String::new(), self.root(), 0usize)];
        while let Some((path, dir, depth)) = stack.pop() {
            let (sector, len) = dir.extents.first().copied().unwrap_or((0, 0));
            if len == 0 {
                continue; // an empty extent holds no entries and can start a loop
            }
            if !visited.insert(sector) {
                return Err(corrupt("directory", u64::from(sector), "directory loop"));
            }
            budget = budget
                .checked_sub(u64::from(len))
                .ok_or_else(|| corrupt("directory", u64::from(sector), "directories overlap"))?;
            if depth >= MAX_WALK_DEPTH {
                return Err(corrupt("directory", u64::from(sector), "nested too deep"));
            }
            let entries = self.read_dir(&dir)?;
            let mut subdirs = Vec::new();
            for entry in entries {
                let child = child_path(&path, &entry.name);
                f(self, &child, &entry)?;
                if entry.is_dir {
                    subdirs.push((child, entry, depth + 1));
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }

    /// Every file and directory that can be read, with its path as [`walk`](Self::walk)
    /// gives it, and what could not be: a damaged directory costs what it holds (each loss
    /// named with its path and cause), not the whole view. Loops, overlaps and depth are
    /// checked as by [`visit`](Self::visit).
    pub fn walk_salvaging(&mut self) -> (Vec<(String, IsoEntry)>, Vec<String>) {
        let mut out = Vec::new();
        let mut damage = Vec::new();
        let mut visited = HashSet::new();
        let mut budget = self.reader.len();
        let mut stack = vec![(String::new(), self.root(), 0usize)];
        while let Some((path, dir, depth)) = stack.pop() {
            let shown = if path.is_empty() { "/" } else { &path };
            let (sector, len) = dir.extents.first().copied().unwrap_or((0, 0));
            if len == 0 {
                continue;
            }
            let refused = if !visited.insert(sector) {
                Some("directory loop")
            } else if depth >= MAX_WALK_DEPTH {
                Some("nested too deep")
            } else if let Some(left) = budget.checked_sub(u64::from(len)) {
                budget = left;
                None
            } else {
                Some("directories overlap")
            };
            if let Some(reason) = refused {
                damage.push(format!("ISO 9660 directory {shown}: {reason}"));
                continue;
            }
            let entries = match self.read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    damage.push(format!("ISO 9660 directory {shown}: {e}"));
                    continue;
                }
            };
            let mut subdirs = Vec::new();
            for entry in entries {
                let child = child_path(&path, &entry.name);
                if entry.is_dir {
                    subdirs.push((child.clone(), entry.clone(), depth + 1));
                }
                out.push((child, entry));
            }
            stack.extend(subdirs.into_iter().rev());
        }
        (out, damage)
    }

    /// The entry at `path` (`/`-separated; each part matched against the shown name or the
    /// recorded identifier, exactly, then ignoring ASCII case). The empty path is the root.
    /// Reads every directory on the way: to reach many files, [`visit`](Self::visit) once.
    pub fn lookup(&mut self, path: &str) -> Result<IsoEntry, ReadError> {
        let mut at = self.root();
        for (depth, part) in path.split('/').filter(|p| !p.is_empty()).enumerate() {
            if !at.is_dir || depth >= MAX_WALK_DEPTH {
                return Err(ReadError::NoSuchPath(path.to_owned()));
            }
            let entries = self.read_dir(&at)?;
            let found = entries
                .iter()
                .position(|e| e.name == part || e.identifier == part)
                .or_else(|| {
                    entries.iter().position(|e| {
                        e.name.eq_ignore_ascii_case(part) || e.identifier.eq_ignore_ascii_case(part)
                    })
                });
            match found {
                Some(i) => at = entries.into_iter().nth(i).unwrap_or(at),
                None => return Err(ReadError::NoSuchPath(path.to_owned())),
            }
        }
        Ok(at)
    }

    /// A reader of a file's data, its extents in order. Every extent is checked against the
    /// image's end first.
    pub fn open_file(&mut self, entry: &IsoEntry) -> Result<IsoFileReader<'_, R>, ReadError> {
        if entry.is_dir {
            return Err(ReadError::NoSuchPath(format!(
                "{} (a directory)",
                entry.name
            )));
        }
        for &(sector, len) in &entry.extents {
            let end = u64::from(sector) * SECTOR + u64::from(len);
            if end > self.reader.len() {
                return Err(ReadError::Truncated {
                    sector: end.div_ceil(SECTOR),
                    sectors: self.reader.sectors(),
                });
            }
        }
        Ok(IsoFileReader {
            reader: &mut self.reader,
            extents: entry.extents.clone(),
            index: 0,
            offset: 0,
        })
    }

    /// Copies a file's data to `out` and returns the number of bytes copied.
    pub fn copy_to(&mut self, entry: &IsoEntry, out: &mut impl Write) -> Result<u64, ReadError> {
        self.copy_to_with(entry, out, &mut vec![0u8; 1 << 20])
    }

    /// [`IsoImage::copy_to`] through the caller's `buf` (reused from file to file; an empty
    /// one is replaced by a small one of its own).
    pub fn copy_to_with(
        &mut self,
        entry: &IsoEntry,
        out: &mut impl Write,
        buf: &mut [u8],
    ) -> Result<u64, ReadError> {
        let mut small = [0u8; 8192];
        let buf = if buf.is_empty() { &mut small[..] } else { buf };
        let mut file = self.open_file(entry)?;
        let mut total = 0u64;
        loop {
            let n = file.read_data(buf)?;
            if n == 0 {
                return Ok(total);
            }
            out.write_all(&buf[..n]).map_err(ReadError::Output)?;
            total += n as u64;
        }
    }

    /// The L (`big_endian == false`) or M path table, for cross-checks.
    pub fn path_table(&mut self, big_endian: bool) -> Result<Vec<PathTableRecord>, ReadError> {
        let sector = u64::from(if big_endian {
            self.volume.path_table_m
        } else {
            self.volume.path_table_l
        });
        let bytes = self
            .reader
            .read_extent(sector, u64::from(self.volume.path_table_size))?;
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            match PathTableRecord::parse(&bytes[pos..], big_endian) {
                Ok(Some((rec, len))) => {
                    out.push(rec);
                    pos += len;
                }
                Ok(None) => break,
                Err(e) => return Err(corrupt("path table", sector + pos as u64 / SECTOR, e)),
            }
        }
        Ok(out)
    }
}

/// Reads one file's data across its extents; see [`IsoImage::open_file`].
#[derive(Debug)]
pub struct IsoFileReader<'a, R> {
    reader: &'a mut SectorReader<R>,
    extents: Vec<(u32, u32)>,
    index: usize,
    offset: u32,
}

impl<R: Read + Seek> IsoFileReader<'_, R> {
    /// Like [`Read::read`] with the crate's error type.
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        while let Some(&(sector, len)) = self.extents.get(self.index) {
            let left = len - self.offset;
            if left == 0 {
                self.index += 1;
                self.offset = 0;
                continue;
            }
            let n = (left as usize).min(buf.len());
            let at = u64::from(sector) * SECTOR + u64::from(self.offset);
            self.reader.read_at(at, &mut buf[..n])?;
            self.offset += n as u32;
            return Ok(n);
        }
        Ok(0)
    }
}

impl<R: Read + Seek> Read for IsoFileReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_data(buf).map_err(|e| match e {
            ReadError::Io { source, .. } => source,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        })
    }
}

/// The path of `name` in the directory at `path` (`""` is the root).
fn child_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_names() {
        assert_eq!(shown_name("README.TXT;1", false), "README.TXT");
        assert_eq!(shown_name("README.;1", false), "README");
        assert_eq!(shown_name("README", false), "README");
        assert_eq!(shown_name("A.B;12", false), "A.B");
        assert_eq!(shown_name("DIR", true), "DIR");
        assert_eq!(shown_name(".;1", false), ".");
    }

    #[test]
    fn identifiers_as_text() {
        assert_eq!(identifier_text(b"ABC;1"), "ABC;1");
        assert_eq!(identifier_text("é".as_bytes()), "é");
        assert_eq!(identifier_text(&[0xE9]), "é");
    }
}
