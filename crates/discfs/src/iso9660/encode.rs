//! Tiny pure encoders for ISO 9660 fields (ECMA-119 section 7 and 8.4.26.1, 9.1.5).
//!
//! Numbers: 7.2.1 (`u16` LSB first), 7.2.2 (`u16` MSB first), 7.2.3 (both-byte orders, 4
//! bytes), 7.3.1 to 7.3.3 likewise for `u32` (8 bytes both-endian). Dates: the 7-byte form of
//! directory records (9.1.5) and the 17-byte digit form of volume descriptors (8.4.26.1).
//! Strings: a- and d-character fields padded with spaces (7.4).

use crate::time::{Civil, Timestamp};

/// 7.2.3: a 16-bit number recorded little-endian then big-endian (4 bytes).
pub fn both_u16(v: u16) -> [u8; 4] {
    let (le, be) = (v.to_le_bytes(), v.to_be_bytes());
    [le[0], le[1], be[0], be[1]]
}

/// 7.3.3: a 32-bit number recorded little-endian then big-endian (8 bytes).
pub fn both_u32(v: u32) -> [u8; 8] {
    let (le, be) = (v.to_le_bytes(), v.to_be_bytes());
    [le[0], le[1], le[2], le[3], be[0], be[1], be[2], be[3]]
}

/// Reads a 7.2.3 field, trusting the little-endian half (as every reader does); `None` if
/// `b` is shorter than 4 bytes.
pub fn read_both_u16(b: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

/// Reads a 7.3.3 field, trusting the little-endian half; `None` if `b` is shorter than 8 bytes.
pub fn read_both_u32(b: &[u8]) -> Option<u32> {
    let le: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(le))
}

/// Whether a byte is a d-character (7.4.1): `A`–`Z`, `0`–`9`, `_`.
pub fn is_d_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
}

/// Whether a byte is an a-character (7.4.1): the d-characters, space and `!"%&'()*+,-./:;<=>?`.
pub fn is_a_char(b: u8) -> bool {
    is_d_char(b) || b" !\"%&'()*+,-./:;<=>?".contains(&b)
}

/// A string as d-characters (`a_chars == false`) or a-characters, at most `max` bytes:
/// transliterated to ASCII (accents dropped, see [`super::names::transliterate`]), lower case
/// raised, anything else outside the set replaced by `_`.
pub fn to_charset(s: &str, max: usize, a_chars: bool) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    super::names::transliterate(s, &mut |c| {
        if out.len() < max {
            let c = c.to_ascii_uppercase();
            let ok = if a_chars { is_a_char(c) } else { is_d_char(c) };
            out.push(if ok { c as char } else { '_' });
        }
    });
    out
}

/// Writes `s` into `field`, padded with spaces (7.4.3); `s` must already fit the field and
/// its character set ([`to_charset`]). Longer input is cut at the field's end.
pub fn put_padded(field: &mut [u8], s: &str) {
    field.fill(b' ');
    let n = s.len().min(field.len());
    field[..n].copy_from_slice(&s.as_bytes()[..n]);
}

/// A space-padded identifier field as text, trailing spaces removed, other bytes as Latin-1.
pub fn get_padded(field: &[u8]) -> String {
    let end = field
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |i| i + 1);
    field[..end].iter().map(|&b| b as char).collect()
}

/// 9.1.5: the 7-byte recording date of a directory record, in UTC (offset 0). Instants
/// outside 1900–2155 are clamped to the nearest representable one.
pub fn short_date(t: Timestamp) -> [u8; 7] {
    let c = t.to_civil();
    match c.year {
        ..1900 => [0, 1, 1, 0, 0, 0, 0],
        2156.. => [255, 12, 31, 23, 59, 59, 0],
        _ => [
            (c.year - 1900) as u8,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            0,
        ],
    }
}

/// Reads a 7-byte date, applying its offset from UTC (in 15-minute steps, -48..=52).
/// `None` if a field is out of range (an all-zero "not recorded" date, for one) or `b` is short.
pub fn parse_short_date(b: &[u8]) -> Option<Timestamp> {
    let b: &[u8; 7] = b.get(..7)?.try_into().ok()?;
    let civil = Civil {
        year: 1900 + i64::from(b[0]),
        month: b[1],
        day: b[2],
        hour: b[3],
        minute: b[4],
        second: b[5],
        nanos: 0,
    };
    civil_valid(&civil).then(|| with_offset(civil, b[6] as i8))
}

/// 8.4.26.1: a 17-byte volume date: `YYYYMMDDHHMMSScc` in ASCII digits (cc = hundredths), then
/// the offset from UTC (0 here). Instants outside years 0–9999 are clamped.
pub fn long_date(t: Timestamp) -> [u8; 17] {
    let c = t.to_civil();
    let text = match c.year {
        ..0 => "0000010100000000".to_owned(),
        10_000.. => "9999123123595999".to_owned(),
        _ => format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{:02}",
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            c.nanos / 10_000_000
        ),
    };
    let mut out = [0u8; 17];
    out[..16].copy_from_slice(text.as_bytes());
    out
}

/// 8.4.26.1: the "not specified" date: sixteen `0` digits and offset 0.
pub const LONG_DATE_UNSET: [u8; 17] = *b"0000000000000000\0";

/// Reads a 17-byte date; `None` when it is "not specified", malformed or `b` is short.
pub fn parse_long_date(b: &[u8]) -> Option<Timestamp> {
    let b: &[u8; 17] = b.get(..17)?.try_into().ok()?;
    if !b[..16].iter().all(u8::is_ascii_digit) || b[..16] == LONG_DATE_UNSET[..16] {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    let civil = Civil {
        year: i64::from(num(0..4)),
        month: num(4..6) as u8,
        day: num(6..8) as u8,
        hour: num(8..10) as u8,
        minute: num(10..12) as u8,
        second: num(12..14) as u8,
        nanos: num(14..16) * 10_000_000,
    };
    civil_valid(&civil).then(|| with_offset(civil, b[16] as i8))
}

fn civil_valid(c: &Civil) -> bool {
    (1..=12).contains(&c.month)
        && (1..=31).contains(&c.day)
        && c.hour < 24
        && c.minute < 60
        && c.second < 60
}

/// Local time `c` recorded with `offset` quarter hours east of UTC, as an instant.
fn with_offset(c: Civil, offset: i8) -> Timestamp {
    let offset = if (-48..=52).contains(&offset) {
        offset
    } else {
        0
    };
    let t = Timestamp::from_civil(c);
    Timestamp::new(t.secs() - i64::from(offset) * 900, t.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_endian_numbers() {
        assert_eq!(both_u16(0x0102), [0x02, 0x01, 0x01, 0x02]);
        assert_eq!(both_u16(2048), [0x00, 0x08, 0x08, 0x00]);
        assert_eq!(
            both_u32(0x0102_0304),
            [0x04, 0x03, 0x02, 0x01, 0x01, 0x02, 0x03, 0x04]
        );
        assert_eq!(
            both_u32(0xFFFF_F800),
            [0x00, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xF8, 0x00]
        );
        assert_eq!(read_both_u32(&both_u32(123_456_789)), Some(123_456_789));
        assert_eq!(read_both_u16(&both_u16(65_535)), Some(65_535));
        assert_eq!(read_both_u32(&[1, 2, 3]), None);
    }

    #[test]
    fn character_sets() {
        assert!(is_d_char(b'Z') && is_d_char(b'0') && is_d_char(b'_'));
        assert!(!is_d_char(b'a') && !is_d_char(b' ') && !is_d_char(b'.'));
        assert!(is_a_char(b' ') && is_a_char(b'?') && !is_a_char(b'@') && !is_a_char(b'~'));
        assert_eq!(to_charset("Disc 3 of 7", 32, false), "DISC_3_OF_7");
        assert_eq!(to_charset("Disc 3 of 7", 32, true), "DISC 3 OF 7");
        assert_eq!(to_charset("Crème brûlée", 8, true), "CREME BR");
        assert_eq!(to_charset("a@b~c", 10, true), "A_B_C");
    }

    #[test]
    fn padded_fields() {
        let mut f = [0u8; 8];
        put_padded(&mut f, "ABC");
        assert_eq!(&f, b"ABC     ");
        assert_eq!(get_padded(&f), "ABC");
        assert_eq!(get_padded(b"        "), "");
    }

    #[test]
    fn short_dates() {
        // 2000-02-29T12:34:56Z: 100 years after 1900.
        let t = Timestamp::new(951_827_696, 0);
        assert_eq!(short_date(t), [100, 2, 29, 12, 34, 56, 0]);
        assert_eq!(parse_short_date(&short_date(t)), Some(t));
        assert_eq!(short_date(Timestamp::EPOCH), [70, 1, 1, 0, 0, 0, 0]);
        // Clamped at both ends.
        assert_eq!(
            short_date(Timestamp::new(i64::MIN, 0)),
            [0, 1, 1, 0, 0, 0, 0]
        );
        assert_eq!(
            short_date(Timestamp::new(i64::MAX, 0)),
            [255, 12, 31, 23, 59, 59, 0]
        );
        // 1899-12-31T23:59:59Z and 2156-01-01T00:00:00Z, one second outside each end.
        assert_eq!(
            short_date(Timestamp::new(-2_208_988_801, 0)),
            [0, 1, 1, 0, 0, 0, 0]
        );
        assert_eq!(
            short_date(Timestamp::new(-2_208_988_800, 0)),
            [0, 1, 1, 0, 0, 0, 0]
        );
        assert_eq!(
            short_date(Timestamp::new(5_869_584_000, 0)),
            [255, 12, 31, 23, 59, 59, 0]
        );
        assert_eq!(
            short_date(Timestamp::new(5_869_583_999, 0)),
            [255, 12, 31, 23, 59, 59, 0]
        );
        assert_eq!(
            short_date(Timestamp::new(5_869_583_998, 0)),
            [255, 12, 31, 23, 59, 58, 0]
        );
        // Offset +8 quarter hours (UTC+2): 12:00 local is 10:00 UTC.
        let local = parse_short_date(&[126, 6, 1, 12, 0, 0, 8]).unwrap();
        assert_eq!(local, parse_short_date(&[126, 6, 1, 10, 0, 0, 0]).unwrap());
        assert_eq!(parse_short_date(&[0; 7]), None);
        assert_eq!(parse_short_date(&[100, 13, 1, 0, 0, 0, 0]), None);
    }

    #[test]
    fn long_dates() {
        let t = Timestamp::new(951_827_696, 470_000_000);
        assert_eq!(&long_date(t), b"2000022912345647\0");
        assert_eq!(parse_long_date(&long_date(t)), Some(t));
        assert_eq!(
            &long_date(Timestamp::new(i64::MIN, 0)),
            b"0000010100000000\0"
        );
        assert_eq!(
            &long_date(Timestamp::new(i64::MAX, 0)),
            b"9999123123595999\0"
        );
        assert_eq!(parse_long_date(&LONG_DATE_UNSET), None);
        assert_eq!(parse_long_date(b"20001399000000001"), None);
        assert_eq!(parse_long_date(b"2000A229123456470"), None);
    }
}
