//! Parity discs across a set: lose any N discs of a group of K + N and lose nothing.
//!
//! A *group* is K member images and N parity shards. The code ([`SetCode`]) is a systematic
//! Cauchy Reed-Solomon code over GF(2^8) (module `gf`), applied byte by byte to the members'
//! *covered* sectors taken as equal-length columns: every sector of a member's image except
//! its own per-disc parity area (`/Parity/PARITY.ODP`), in image order, zero-padded to the
//! longest member's count L. The per-disc parity area is left out because it is a function of
//! the covered sectors: once those are rebuilt, [`reassemble`] encodes it again and the image
//! comes back byte for byte (the SHA-256 in the header proves it). Leaving it out keeps each
//! parity shard smaller than a member image, so it fits on a disc of the same medium.
//!
//! Each parity shard is stored on a disc of its own as a *parity file* (module `file`): a
//! header naming every member (label, image length and SHA-256, excluded range), the L column
//! sectors, a CRC32C for each, the header again. `docs/parity.md` describes the same for a
//! person who has only the discs.
//!
//! The code is linear: member j adds c(i, j)·member j to parity shard i, whatever the other
//! members are, so a writer folds each member into the shards when it is written
//! ([`SetCode::fold`]) and never holds the group.

mod code;
mod file;
mod gf;

pub use code::{MAX_SHARDS, Recovery, SetCode};
pub use file::{
    MAX_LABEL, Member, ParityFile, SetHeader, header_sectors, read_covered, write_parity_file,
};
pub use gf::{Multiplier, mul_add_by_table};

use std::io::{self, Read, Seek, SeekFrom, Write};

use super::{Header, ParityEncoder, ParityError, SHARD_BYTES, SYSTEM_AREA_COPY};

/// Errors of the set code and its parity files.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// The group's shape is outside what GF(2^8) allows.
    #[error(
        "a group of {members} member(s) and {parity} parity disc(s) is not possible (1 ≤ K, 1 ≤ N, K + N ≤ 256)"
    )]
    Shape { members: usize, parity: usize },
    /// Fewer than K shards are left.
    #[error("{present} of the {needed} discs needed are present (missing shards: {missing:?})")]
    TooFewShards {
        /// The missing shards (members 0‥K, then parity K‥K+N).
        missing: Vec<usize>,
        needed: usize,
        present: usize,
    },
    /// A parity file's header is damaged, foreign or of another version.
    #[error("set-parity header: {0}")]
    Header(String),
    /// A member's own parity does not agree with what the set parity recorded.
    #[error("member {label}: {reason}")]
    Member { label: String, reason: String },
    /// Re-encoding a member's own parity failed.
    #[error(transparent)]
    Parity(#[from] ParityError),
    /// Reading or writing failed.
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
}

/// The part of a member the set code covers, from the image itself: every sector but its
/// per-disc parity area, which the parity header in sector 15 locates. Returns
/// `(covered sectors, excluded start, excluded sectors)`.
pub fn covered_of_image<R: Read + Seek>(
    image: &mut R,
    image_bytes: u64,
) -> io::Result<(u64, u64, u64)> {
    let sectors = image_bytes / SHARD_BYTES as u64;
    let mut sector = vec![0u8; SHARD_BYTES];
    image.seek(SeekFrom::Start(SYSTEM_AREA_COPY * SHARD_BYTES as u64))?;
    let header = match image.read_exact(&mut sector) {
        Ok(()) => Header::parse(&sector, SYSTEM_AREA_COPY),
        Err(_) => None,
    };
    Ok(match header {
        Some(h) if h.image_sectors == sectors => {
            (h.geometry.covered, h.parity_start, h.parity_sectors())
        }
        _ => (sectors, 0, 0),
    })
}

/// Writes `member`'s whole image to `out` from its covered sectors (`covered`, read from its
/// start; at least `member.covered` sectors): the per-disc parity area is encoded again from
/// them, with the header they carry in sector 15, and put back in its place. `spill` holds
/// the parity while it waits (see [`ParityEncoder`]).
pub fn reassemble<R, W, S>(
    member: &Member,
    mut covered: R,
    mut out: W,
    spill: S,
) -> Result<(), SetError>
where
    R: Read + Seek,
    W: Write,
    S: Read + Write + Seek,
{
    let io = |what| move |source| SetError::Io { what, source };
    let copy = |covered: &mut R, out: &mut dyn Write, sectors: u64| -> Result<(), SetError> {
        let copied = io::copy(&mut covered.take(sectors * SHARD_BYTES as u64), out)
            .map_err(io("the rebuilt sectors"))?;
        if copied != sectors * SHARD_BYTES as u64 {
            return Err(SetError::Io {
                what: "the rebuilt sectors",
                source: io::ErrorKind::UnexpectedEof.into(),
            });
        }
        Ok(())
    };
    covered
        .seek(SeekFrom::Start(0))
        .map_err(io("the rebuilt sectors"))?;
    if member.excluded == 0 {
        copy(&mut covered, &mut out, member.covered)?;
        return out.flush().map_err(io("the image"));
    }
    let mismatch = |reason: String| SetError::Member {
        label: member.label.clone(),
        reason,
    };
    let mut sector = vec![0u8; SHARD_BYTES];
    covered
        .seek(SeekFrom::Start(SYSTEM_AREA_COPY * SHARD_BYTES as u64))
        .and_then(|_| covered.read_exact(&mut sector))
        .map_err(io("the rebuilt sectors"))?;
    let header = Header::parse(&sector, SYSTEM_AREA_COPY)
        .ok_or_else(|| mismatch("no parity header in sector 15 of the rebuilt sectors".into()))?;
    if header.parity_start != member.excluded_start
        || header.parity_sectors() != member.excluded
        || header.geometry.covered != member.covered
    {
        return Err(mismatch(format!(
            "its parity header places {} parity sectors at {} over {} sectors; the set parity \
             recorded {} at {} over {}",
            header.parity_sectors(),
            header.parity_start,
            header.geometry.covered,
            member.excluded,
            member.excluded_start,
            member.covered
        )));
    }
    let mut encoder = ParityEncoder::new(header, spill)?;
    covered
        .seek(SeekFrom::Start(0))
        .map_err(io("the rebuilt sectors"))?;
    let mut buf = vec![0u8; 256 * SHARD_BYTES];
    let mut left = member.covered * SHARD_BYTES as u64;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        covered
            .read_exact(&mut buf[..n])
            .map_err(io("the rebuilt sectors"))?;
        encoder.push(&buf[..n])?;
        left -= n as u64;
    }
    let mut area = encoder.finish()?;
    covered
        .seek(SeekFrom::Start(0))
        .map_err(io("the rebuilt sectors"))?;
    copy(&mut covered, &mut out, member.excluded_start)?;
    let written = io::copy(&mut area, &mut out).map_err(io("the image"))?;
    debug_assert_eq!(written, member.excluded * SHARD_BYTES as u64);
    copy(
        &mut covered,
        &mut out,
        member.covered - member.excluded_start,
    )?;
    out.flush().map_err(io("the image"))
}
