//! Field encoders shared by the UDF descriptors: little-endian integers, timestamps,
//! entity identifiers, character set specifications and allocation descriptors.

use crate::time::{Civil, Timestamp};

/// The UDF revision we write, in the BCD-like form UDF uses (1.02).
pub const UDF_REVISION: u16 = 0x0102;

/// Writes `v` little-endian at `at`.
pub fn put_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Writes `v` little-endian at `at`.
pub fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes `v` little-endian at `at`.
pub fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Reads a little-endian u16 at `at`; callers have checked the length.
pub fn u16_at(buf: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([buf[at], buf[at + 1]])
}

/// Reads a little-endian u32 at `at`; callers have checked the length.
pub fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().unwrap_or([0; 4]))
}

/// Reads a little-endian u64 at `at`; callers have checked the length.
pub fn u64_at(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(buf[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// Timestamp (ECMA-167 1/7.3): 12 bytes, recorded as UTC ("local time" type with a zero
/// offset), years clamped to 1..=9999.
pub fn timestamp(t: Timestamp) -> [u8; 12] {
    let c = clamp(t).to_civil();
    let mut out = [0u8; 12];
    // Type 1 (local time) in the top four bits, offset from UTC in minutes below: 0.
    out[0..2].copy_from_slice(&0x1000u16.to_le_bytes());
    out[2..4].copy_from_slice(&(c.year as i16).to_le_bytes());
    out[4] = c.month;
    out[5] = c.day;
    out[6] = c.hour;
    out[7] = c.minute;
    out[8] = c.second;
    let micros = c.nanos / 1000;
    out[9] = (micros / 10_000) as u8;
    out[10] = (micros / 100 % 100) as u8;
    out[11] = (micros % 100) as u8;
    out
}

fn clamp(t: Timestamp) -> Timestamp {
    // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    const MIN: i64 = -62_135_596_800;
    const MAX: i64 = 253_402_300_799;
    if t.secs() < MIN {
        Timestamp::new(MIN, 0)
    } else if t.secs() > MAX {
        Timestamp::new(MAX, 999_999_000)
    } else {
        t
    }
}

/// Parses a timestamp, applying its offset from UTC; `None` for fields out of range.
pub fn parse_timestamp(b: &[u8]) -> Option<Timestamp> {
    let type_tz = u16_at(b, 0);
    let year = i16::from_le_bytes([b[2], b[3]]);
    let (month, day, hour, minute, second) = (b[4], b[5], b[6], b[7], b[8]);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let micros = u32::from(b[9]) * 10_000 + u32::from(b[10]) * 100 + u32::from(b[11]);
    let t = Timestamp::from_civil(Civil {
        year: i64::from(year),
        month,
        day,
        hour,
        minute,
        second: second.min(59),
        nanos: micros.min(999_999) * 1000,
    });
    // Offset: 12-bit two's complement minutes; -2047 means "not specified".
    let raw = (type_tz & 0x0FFF) as i16;
    let offset = if raw & 0x0800 != 0 { raw - 0x1000 } else { raw };
    let offset = if type_tz >> 12 == 1 && offset != -2047 {
        i64::from(offset)
    } else {
        0
    };
    Some(Timestamp::new(t.secs() - offset * 60, t.subsec_nanos()))
}

/// Entity identifier (ECMA-167 1/7.4, UDF 2.1.5): flags, a 23-byte identifier and an
/// 8-byte suffix.
pub fn entity_id(identifier: &str, suffix: [u8; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let id = identifier.as_bytes();
    let n = id.len().min(23);
    out[1..1 + n].copy_from_slice(&id[..n]);
    out[24..32].copy_from_slice(&suffix);
    out
}

/// Suffix of the domain identifier: UDF revision and domain flags (none).
pub fn domain_suffix() -> [u8; 8] {
    let mut s = [0u8; 8];
    s[0..2].copy_from_slice(&UDF_REVISION.to_le_bytes());
    s
}

/// Suffix of a UDF identifier ("*UDF LV Info" and the like): UDF revision, OS class and id
/// (0: undefined).
pub fn udf_suffix() -> [u8; 8] {
    domain_suffix()
}

/// Our implementation identifier, with an implementation suffix (OS class and id undefined).
pub fn implementation_id() -> [u8; 32] {
    entity_id("*discfs", [0; 8])
}

/// The domain identifier every UDF 1.02 volume carries.
pub fn domain_id() -> [u8; 32] {
    entity_id("*OSTA UDF Compliant", domain_suffix())
}

/// The character set specification UDF requires (UDF 2.1.2): CS0, "OSTA Compressed Unicode".
pub fn charspec_osta() -> [u8; 64] {
    let mut out = [0u8; 64];
    let info = b"OSTA Compressed Unicode";
    out[1..1 + info.len()].copy_from_slice(info);
    out
}

/// Extent descriptor (ECMA-167 3/7.1): length in bytes, then location in sectors.
pub fn extent_ad(buf: &mut [u8], at: usize, length: u32, location: u32) {
    put_u32(buf, at, length);
    put_u32(buf, at + 4, location);
}

/// Long allocation descriptor (ECMA-167 4/14.14.2): extent length, logical block and
/// partition reference number, and six bytes of implementation use (UDF 2.3.10: flags 0,
/// then the low 32 bits of the target's unique id).
pub fn long_ad(buf: &mut [u8], at: usize, length: u32, block: u32, unique_id: u32) {
    put_u32(buf, at, length);
    put_u32(buf, at + 4, block);
    put_u16(buf, at + 8, 0);
    put_u16(buf, at + 10, 0);
    put_u32(buf, at + 12, unique_id);
}

/// Short allocation descriptor (ECMA-167 4/14.14.1): extent length and logical block.
pub fn short_ad(buf: &mut [u8], at: usize, length: u32, block: u32) {
    put_u32(buf, at, length);
    put_u32(buf, at + 4, block);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_layout_follows_ecma_167() {
        // 2024-03-05T06:07:08.123456Z
        let t = Timestamp::new(1_709_618_828, 123_456_000);
        let b = timestamp(t);
        assert_eq!(&b[0..2], &[0x00, 0x10]);
        assert_eq!(i16::from_le_bytes([b[2], b[3]]), 2024);
        assert_eq!(&b[4..12], &[3, 5, 6, 7, 8, 12, 34, 56]);
        assert_eq!(parse_timestamp(&b), Some(t));
    }

    #[test]
    fn timestamps_out_of_range_are_clamped() {
        let b = timestamp(Timestamp::new(i64::MAX / 2, 0));
        assert_eq!(i16::from_le_bytes([b[2], b[3]]), 9999);
        let b = timestamp(Timestamp::new(i64::MIN / 2, 0));
        assert_eq!(i16::from_le_bytes([b[2], b[3]]), 1);
    }

    #[test]
    fn parse_applies_the_offset() {
        let mut b = timestamp(Timestamp::new(3600, 0));
        // +60 minutes: the same digits mean one hour earlier in UTC.
        b[0..2].copy_from_slice(&(0x1000u16 | 60).to_le_bytes());
        assert_eq!(parse_timestamp(&b), Some(Timestamp::new(0, 0)));
        b[4] = 13;
        assert_eq!(parse_timestamp(&b), None);
    }

    #[test]
    fn identifiers() {
        let d = domain_id();
        assert_eq!(&d[1..20], b"*OSTA UDF Compliant");
        assert_eq!(&d[24..26], &[0x02, 0x01]);
        let c = charspec_osta();
        assert_eq!(c[0], 0);
        assert_eq!(&c[1..24], b"OSTA Compressed Unicode");
    }
}
