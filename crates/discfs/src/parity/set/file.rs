//! The parity file of a set-parity disc (`/Parity/SET-<g>-<i>.ODS`): its header and layout.
//!
//! ```text
//! sectors (relative to the file)   what
//! 0 .. H                           header, first copy
//! H .. H + L                       the parity shard: L column sectors
//! H + L .. H + L + T               CRC table (T = ⌈L / 511⌉ CRC sectors), first copy
//! H + L + T .. H + L + 2T          CRC table, second copy
//! F − H .. F                       header, last copy (F = 2H + L + 2T sectors in all)
//! ```
//!
//! The header (H = ⌈(128 + 128·K + 4) / 2048⌉ sectors; integers little-endian):
//!
//! ```text
//! 0–15     magic "ODARCHIVE SETPAR"
//! 16–19    version, 1
//! 20–23    header sectors H
//! 24–27    group number g
//! 28–31    parity index i (0 ≤ i < N): the code's xᵢ
//! 32–35    parity shards N
//! 36–39    members K
//! 40–47    column sectors L (the longest member's covered sectors)
//! 48–55    sectors of the whole file F
//! 56–119   the archive set id, ASCII, zero-padded
//! 120–127  the parity discs' time stamp, Unix nanoseconds (0: not recorded)
//! 128 + 128·j   member j (0 ≤ j < K), 128 bytes:
//!     0–7    image bytes
//!     8–15   covered sectors (image sectors less the excluded range)
//!     16–23  first excluded sector (the member's own /Parity/PARITY.ODP), 0 if none
//!     24–31  excluded sectors, 0 if none
//!     32–63  SHA-256 of the whole image
//!     64–67  disc number
//!     68–71  label length in bytes (≤ 56)
//!     72–127 label, UTF-8, zero-padded
//! last 4 bytes of the H sectors: CRC32C of all the bytes before them
//! ```
//!
//! A CRC sector is the per-disc parity's: 511 CRC32C values and the CRC32C of those 2044
//! bytes in its last four. CRC entry c is the CRC32C of the shard's column sector c.

use std::io::{self, Read, Seek, SeekFrom, Write};

use super::SetError;
use crate::parity::{CRCS_PER_SECTOR, SHARD_BYTES, crc_sectors, crc32c, parse_crc_sector};

const MAGIC: &[u8; 16] = b"ODARCHIVE SETPAR";
const VERSION: u32 = 1;
const MEMBER_BYTES: usize = 128;
const FIXED_BYTES: usize = 128;
/// Longest label a member record holds.
pub const MAX_LABEL: usize = 56;
const SECTOR: u64 = SHARD_BYTES as u64;

/// One member disc of a group, as the parity file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its disc number.
    pub number: u32,
    /// Its volume label.
    pub label: String,
    /// Bytes of its image.
    pub image_bytes: u64,
    /// Sectors of its image the set code covers: all but the excluded range.
    pub covered: u64,
    /// First sector of the excluded range (its own parity area), 0 if none.
    pub excluded_start: u64,
    /// Sectors of the excluded range, 0 if none.
    pub excluded: u64,
    /// SHA-256 of its whole image.
    pub sha256: [u8; 32],
}

impl Member {
    /// The image sector of covered sector `c`.
    pub fn image_sector(&self, c: u64) -> u64 {
        if self.excluded == 0 || c < self.excluded_start {
            c
        } else {
            c + self.excluded
        }
    }

    /// The covered sectors as runs of image sectors: `(first image sector, covered index,
    /// count)`.
    pub fn runs(&self) -> Vec<(u64, u64, u64)> {
        if self.excluded == 0 {
            return vec![(0, 0, self.covered)];
        }
        let before = self.excluded_start.min(self.covered);
        let mut runs = vec![(0, 0, before)];
        if self.covered > before {
            runs.push((
                self.excluded_start + self.excluded,
                before,
                self.covered - before,
            ));
        }
        runs
    }
}

/// The header of one parity file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetHeader {
    /// The archive set the group belongs to.
    pub set_id: String,
    /// The group's number.
    pub group: u32,
    /// This file's parity index i (0-based).
    pub index: u32,
    /// Parity shards of the group (N).
    pub parity: u32,
    /// Column sectors L: the longest member's covered sectors.
    pub columns: u64,
    /// The members, in code order (K).
    pub members: Vec<Member>,
    /// When the group's parity discs were made (Unix nanoseconds; their file systems' time
    /// stamps), so that a lost one can be made again byte for byte from another; 0 when not
    /// recorded.
    pub created_ns: i64,
}

impl SetHeader {
    /// Sectors of one header copy.
    pub fn header_sectors(&self) -> u64 {
        header_sectors(self.members.len())
    }

    /// CRC sectors of one copy of the CRC table.
    pub fn crc_sectors(&self) -> u64 {
        self.columns.div_ceil(CRCS_PER_SECTOR)
    }

    /// Sector (in the file) of the first column sector.
    pub fn data_start(&self) -> u64 {
        self.header_sectors()
    }

    /// Sector (in the file) of CRC table copy `copy` (0 or 1).
    pub fn crc_start(&self, copy: u64) -> u64 {
        self.header_sectors() + self.columns + copy * self.crc_sectors()
    }

    /// Sectors of the whole file.
    pub fn file_sectors(&self) -> u64 {
        2 * self.header_sectors() + self.columns + 2 * self.crc_sectors()
    }

    /// Bytes of the whole file.
    pub fn file_bytes(&self) -> u64 {
        self.file_sectors() * SECTOR
    }

    /// The header copy as bytes (`header_sectors` sectors).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SetError> {
        let h = self.header_sectors() as usize;
        let mut b = vec![0u8; h * SHARD_BYTES];
        b[0..16].copy_from_slice(MAGIC);
        b[16..20].copy_from_slice(&VERSION.to_le_bytes());
        b[20..24].copy_from_slice(&(h as u32).to_le_bytes());
        b[24..28].copy_from_slice(&self.group.to_le_bytes());
        b[28..32].copy_from_slice(&self.index.to_le_bytes());
        b[32..36].copy_from_slice(&self.parity.to_le_bytes());
        b[36..40].copy_from_slice(&(self.members.len() as u32).to_le_bytes());
        b[40..48].copy_from_slice(&self.columns.to_le_bytes());
        b[48..56].copy_from_slice(&self.file_sectors().to_le_bytes());
        let id = self.set_id.as_bytes();
        if id.len() > 64 || !self.set_id.is_ascii() {
            return Err(SetError::Header(format!(
                "set id {:?} is not ASCII of at most 64 bytes",
                self.set_id
            )));
        }
        b[56..56 + id.len()].copy_from_slice(id);
        b[120..128].copy_from_slice(&self.created_ns.to_le_bytes());
        for (j, m) in self.members.iter().enumerate() {
            let r = &mut b[FIXED_BYTES + j * MEMBER_BYTES..][..MEMBER_BYTES];
            r[0..8].copy_from_slice(&m.image_bytes.to_le_bytes());
            r[8..16].copy_from_slice(&m.covered.to_le_bytes());
            r[16..24].copy_from_slice(&m.excluded_start.to_le_bytes());
            r[24..32].copy_from_slice(&m.excluded.to_le_bytes());
            r[32..64].copy_from_slice(&m.sha256);
            r[64..68].copy_from_slice(&m.number.to_le_bytes());
            let label = m.label.as_bytes();
            if label.len() > MAX_LABEL {
                return Err(SetError::Header(format!(
                    "label {:?} is longer than {MAX_LABEL} bytes",
                    m.label
                )));
            }
            r[68..72].copy_from_slice(&(label.len() as u32).to_le_bytes());
            r[72..72 + label.len()].copy_from_slice(label);
        }
        let end = b.len() - 4;
        let crc = crc32c(&b[..end]);
        b[end..].copy_from_slice(&crc.to_le_bytes());
        Ok(b)
    }

    /// Parses a header copy (its first sector starts `bytes`; `bytes` may run on).
    pub fn parse(bytes: &[u8]) -> Result<SetHeader, SetError> {
        let bad = |why: &str| SetError::Header(why.to_owned());
        if bytes.len() < SHARD_BYTES || &bytes[0..16] != MAGIC {
            return Err(bad("no set-parity magic"));
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8"));
        if u32_at(16) != VERSION {
            return Err(SetError::Header(format!(
                "set-parity version {} (this build reads {VERSION})",
                u32_at(16)
            )));
        }
        let k = u32_at(36) as usize;
        let h = u32_at(20) as usize;
        if k == 0 || k >= super::MAX_SHARDS || h as u64 != header_sectors(k) {
            return Err(bad("header size and member count disagree"));
        }
        let len = h * SHARD_BYTES;
        if bytes.len() < len {
            return Err(bad("header cut short"));
        }
        let crc = u32::from_le_bytes(bytes[len - 4..len].try_into().expect("4"));
        if crc32c(&bytes[..len - 4]) != crc {
            return Err(bad("header CRC32C does not match"));
        }
        let id_end = bytes[56..120].iter().position(|&b| b == 0).unwrap_or(64);
        let set_id = String::from_utf8_lossy(&bytes[56..56 + id_end]).into_owned();
        let members = (0..k)
            .map(|j| {
                let at = FIXED_BYTES + j * MEMBER_BYTES;
                let r = &bytes[at..at + MEMBER_BYTES];
                let label_len = (u32_at(at + 68) as usize).min(MAX_LABEL);
                Member {
                    image_bytes: u64_at(at),
                    covered: u64_at(at + 8),
                    excluded_start: u64_at(at + 16),
                    excluded: u64_at(at + 24),
                    sha256: r[32..64].try_into().expect("32"),
                    number: u32_at(at + 64),
                    label: String::from_utf8_lossy(&r[72..72 + label_len]).into_owned(),
                }
            })
            .collect();
        let header = SetHeader {
            set_id,
            group: u32_at(24),
            index: u32_at(28),
            parity: u32_at(32),
            columns: u64_at(40),
            members,
            created_ns: u64_at(120) as i64,
        };
        if header.file_sectors() != u64_at(48) || header.index >= header.parity {
            return Err(bad("file size or parity index disagree with the header"));
        }
        Ok(header)
    }
}

/// Sectors of one header copy for `members` members.
pub fn header_sectors(members: usize) -> u64 {
    ((FIXED_BYTES + MEMBER_BYTES * members + 4) as u64).div_ceil(SECTOR)
}

/// Writes the whole parity file: `shard` gives the L column sectors (and is read no
/// further). Returns the bytes written.
pub fn write_parity_file<R: Read, W: Write>(
    header: &SetHeader,
    mut shard: R,
    mut out: W,
) -> Result<u64, SetError> {
    let head = header.to_bytes()?;
    let io = |source| SetError::Io {
        what: "the parity file",
        source,
    };
    out.write_all(&head).map_err(io)?;
    let mut crcs = Vec::with_capacity(header.columns as usize);
    let mut buf = vec![0u8; 256 * SHARD_BYTES];
    let mut left = header.columns;
    while left > 0 {
        let n = left.min(256) as usize;
        let chunk = &mut buf[..n * SHARD_BYTES];
        shard.read_exact(chunk).map_err(|source| SetError::Io {
            what: "the parity shard",
            source,
        })?;
        crcs.extend(chunk.chunks_exact(SHARD_BYTES).map(crc32c));
        out.write_all(chunk).map_err(io)?;
        left -= n as u64;
    }
    let mut table = Vec::new();
    crc_sectors(&crcs, header.crc_sectors(), &mut table);
    out.write_all(&table).map_err(io)?;
    out.write_all(&table).map_err(io)?;
    out.write_all(&head).map_err(io)?;
    out.flush().map_err(io)?;
    Ok(header.file_bytes())
}

/// A parity file opened for reading: its header and CRC table (each from whichever copy
/// reads right).
#[derive(Debug)]
pub struct ParityFile<R> {
    file: R,
    /// Where the file starts in `file` (an image holds it at its extent).
    base: u64,
    /// Its header.
    pub header: SetHeader,
    /// CRC32C of each column sector; `None` where both copies of its CRC sector are bad.
    crcs: Vec<Option<u32>>,
}

impl<R: Read + Seek> ParityFile<R> {
    /// Opens the parity file at byte `base` of `file` of `len` bytes from there.
    pub fn open(mut file: R, base: u64, len: u64) -> Result<ParityFile<R>, SetError> {
        let header = read_header(&mut file, base, len)?;
        let t = header.crc_sectors();
        let mut crcs = Vec::with_capacity(header.columns as usize);
        for s in 0..t {
            let mut found = None;
            for copy in 0..2 {
                let at = base + (header.crc_start(copy) + s) * SECTOR;
                if let Ok(sector) = read_at(&mut file, at, SHARD_BYTES)
                    && let Some(list) = parse_crc_sector(&sector)
                {
                    found = Some(list);
                    break;
                }
            }
            let want = (header.columns - s * CRCS_PER_SECTOR).min(CRCS_PER_SECTOR) as usize;
            match found {
                Some(list) => crcs.extend(list.into_iter().take(want).map(Some)),
                None => crcs.extend(std::iter::repeat_n(None, want)),
            }
        }
        Ok(ParityFile {
            file,
            base,
            header,
            crcs,
        })
    }

    /// Reads column sectors `first..first + count` into `buf`; returns for each whether it
    /// matches its CRC (a sector that does not read is zeros and `false`).
    pub fn read_columns(&mut self, first: u64, buf: &mut [u8]) -> Vec<bool> {
        let count = (buf.len() / SHARD_BYTES) as u64;
        let at = self.base + (self.header.data_start() + first) * SECTOR;
        let read = self
            .file
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.file.read_exact(buf));
        if read.is_err() {
            // Sector by sector, so one bad sector does not take its neighbours.
            for (i, sector) in buf.chunks_exact_mut(SHARD_BYTES).enumerate() {
                let at = at + i as u64 * SECTOR;
                let ok = self
                    .file
                    .seek(SeekFrom::Start(at))
                    .and_then(|_| self.file.read_exact(sector));
                if ok.is_err() {
                    sector.fill(0);
                }
            }
        }
        (0..count)
            .map(|i| {
                let c = (first + i) as usize;
                let sector = &buf[i as usize * SHARD_BYTES..][..SHARD_BYTES];
                self.crcs.get(c).copied().flatten() == Some(crc32c(sector))
            })
            .collect()
    }
}

/// The header from the first copy, else the last (H tried from 1 up).
fn read_header<R: Read + Seek>(file: &mut R, base: u64, len: u64) -> Result<SetHeader, SetError> {
    let max_h = header_sectors(super::MAX_SHARDS - 1);
    let first = read_at(file, base, (max_h * SECTOR).min(len) as usize);
    let mut why = match first.map(|b| SetHeader::parse(&b)) {
        Ok(Ok(h)) if h.file_bytes() == len => return Ok(h),
        Ok(Ok(_)) => SetError::Header("the file's length is not the one its header gives".into()),
        Ok(Err(e)) => e,
        Err(source) => SetError::Io {
            what: "the parity file",
            source,
        },
    };
    for h in 1..=max_h.min(len / SECTOR) {
        if let Ok(bytes) = read_at(file, base + len - h * SECTOR, (h * SECTOR) as usize) {
            match SetHeader::parse(&bytes) {
                Ok(header) if header.file_bytes() == len => return Ok(header),
                Ok(_) => {}
                Err(e) => why = e,
            }
        }
    }
    Err(why)
}

fn read_at<R: Read + Seek>(file: &mut R, at: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// Reads covered sectors `first..first + buf.len() / 2048` of `member` from its image
/// (zeros past its covered sectors: the column padding).
pub fn read_covered<R: Read + Seek>(
    image: &mut R,
    member: &Member,
    first: u64,
    buf: &mut [u8],
) -> io::Result<()> {
    let count = (buf.len() / SHARD_BYTES) as u64;
    buf.fill(0);
    for (image_first, covered_first, run) in member.runs() {
        let lo = first.max(covered_first);
        let hi = (first + count).min(covered_first + run);
        if lo >= hi {
            continue;
        }
        let at = (image_first + (lo - covered_first)) * SECTOR;
        let out = &mut buf[((lo - first) * SECTOR) as usize..((hi - first) * SECTOR) as usize];
        image.seek(SeekFrom::Start(at))?;
        image.read_exact(out)?;
    }
    Ok(())
}
