//! The compact form of an image: images are mostly zero sectors (system area, gaps, the
//! run-out padding before the last anchor), which libFuzzer would spend its time mutating.
//! The compact form keeps the sectors that hold something and counts the zero ones:
//!
//! ```text
//! 0x00 N       N zero sectors (N = 0..=255)
//! T ≠ 0x00 …   one sector: the 2048 bytes that follow (fewer at the end of the input, which
//!              leaves an image whose size is not a whole number of sectors)
//! ```

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
            image.extend_from_slice(&data[at..end]);
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
