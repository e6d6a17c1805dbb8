//! The compact form of an image: images are mostly zero sectors (system area, gaps, the
//! run-out padding before the last anchor), which libFuzzer would spend its time mutating.
//! The compact form keeps the sectors that hold something and counts the zero ones:
//!
//! ```text
//! 0x00 N       N zero sectors (N = 0..=255)
//! 0x01 …       one sector: the 2048 bytes that follow (fewer at the end of the input, which
//!              leaves an image whose size is not a whole number of sectors), its UDF
//!              descriptor tags resealed (see below)
//! T ≥ 0x02 …   one sector as it is
//! ```
//!
//! Every UDF descriptor carries a checksum and a CRC, so almost every mutation of one is
//! refused at its tag and the reader behind it is never reached. Sectors marked 0x01 (the
//! seeds' sectors) have the tag at their start — and, in a directory, the tag of each File
//! Identifier Descriptor that follows — given the checksum and CRC their bytes need, as
//! fuzzers of formats with checksums do; sectors marked otherwise keep bad tags bad.

use discfs::udf::crc::{crc_itu, tag_checksum};

/// Bytes in a sector.
pub const SECTOR: usize = 2048;

/// Largest image [`expand`] makes: 8 MiB, far above the seeds (~300 sectors) yet small
/// enough that each run stays fast and memory stays flat.
pub const MAX_IMAGE: usize = 4096 * SECTOR;

/// The image a compact input stands for (at most [`MAX_IMAGE`] bytes).
pub fn expand(data: &[u8]) -> Vec<u8> {
    let mut image = Vec::new();
    let mut at = 0;
    while at < data.len() && image.len() < MAX_IMAGE {
        let tag = data[at];
        at += 1;
        if tag == 0 {
            let n = data.get(at).copied().unwrap_or(1);
            at += 1;
            let len = (image.len() + usize::from(n) * SECTOR).min(MAX_IMAGE);
            image.resize(len, 0);
        } else {
            let end = (at + SECTOR).min(data.len());
            let first = image.len();
            image.extend_from_slice(&data[at..end]);
            if tag == 1 {
                reseal_tags(&mut image[first..]);
            }
            at = end;
        }
    }
    image.truncate(MAX_IMAGE);
    image
}

/// The compact form of `image` (whose [`expand`] is `image` again).
pub fn compact(image: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut zeros = 0u8;
    for sector in image.chunks(SECTOR) {
        if sector.len() == SECTOR && sector.iter().all(|&b| b == 0) {
            if zeros == u8::MAX {
                out.extend_from_slice(&[0, zeros]);
                zeros = 0;
            }
            zeros += 1;
            continue;
        }
        if zeros > 0 {
            out.extend_from_slice(&[0, zeros]);
            zeros = 0;
        }
        out.push(1);
        out.extend_from_slice(sector);
    }
    if zeros > 0 {
        out.extend_from_slice(&[0, zeros]);
    }
    out
}

/// Bytes of a descriptor tag.
const TAG_LEN: usize = 16;
/// Tag identifier of a File Identifier Descriptor (ECMA-167 4/7.2.1).
const FID: u16 = 257;

fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Gives the descriptor tag at the start of `sector` (and each File Identifier Descriptor
/// after a first one) the CRC over the length it states, and the checksum.
pub fn reseal_tags(sector: &mut [u8]) {
    let mut at = 0;
    while at + TAG_LEN <= sector.len() {
        let id = u16_at(sector, at) as u16;
        let version = u16_at(sector, at + 2);
        if !matches!(id, 1..=9 | 256..=266) || !matches!(version, 2 | 3) {
            return;
        }
        let end = at + TAG_LEN + u16_at(sector, at + 10);
        if end > sector.len() {
            return; // runs on into the next sector (or past the image): left as it is
        }
        let crc = crc_itu(&sector[at + TAG_LEN..end]);
        sector[at + 8..at + 10].copy_from_slice(&crc.to_le_bytes());
        sector[at + 4] = tag_checksum(&sector[at..at + TAG_LEN]);
        if id != FID || at + 38 > sector.len() {
            return;
        }
        // 38 bytes, the implementation use, the identifier, padded to 4 (ECMA-167 4/14.4).
        let len = 38 + u16_at(sector, at + 36) + usize::from(sector[at + 19]);
        at += len.next_multiple_of(4);
    }
}
