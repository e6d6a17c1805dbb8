//! OSTA Compressed Unicode (UDF 1.02 2.1.1, "CS0"): how UDF stores names and identifiers.
//!
//! A CS0 string starts with a compression id: 8 means one byte a character (U+0000–U+00FF),
//! 16 means big-endian UTF-16 code units. We use 8 whenever every character fits, as the
//! specification asks, else 16 (with surrogate pairs for characters beyond the BMP, which
//! every current reader decodes). A *dstring* is a CS0 string in a fixed field whose last
//! byte holds the length used.

/// Compression id of the 8-bit form.
pub const COMPRESSION_8: u8 = 8;
/// Compression id of the 16-bit form.
pub const COMPRESSION_16: u8 = 16;

/// Whether every character of `s` fits the 8-bit form.
pub fn fits_8bit(s: &str) -> bool {
    s.chars().all(|c| u32::from(c) <= 0xFF)
}

/// Length in bytes of `s` encoded as CS0, the compression id included.
pub fn encoded_len(s: &str) -> usize {
    if fits_8bit(s) {
        1 + s.chars().count()
    } else {
        1 + 2 * s.encode_utf16().count()
    }
}

/// Appends `s` encoded as CS0 to `out`.
pub fn encode_into(s: &str, out: &mut Vec<u8>) {
    if fits_8bit(s) {
        out.push(COMPRESSION_8);
        out.extend(s.chars().map(|c| u32::from(c) as u8));
    } else {
        out.push(COMPRESSION_16);
        for unit in s.encode_utf16() {
            out.extend_from_slice(&unit.to_be_bytes());
        }
    }
}

/// `s` encoded as CS0.
pub fn encode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(s));
    encode_into(s, &mut out);
    out
}

/// A dstring field of `field_len` bytes holding as much of `s` as fits (whole characters;
/// an empty string gives an all-zero field, as ECMA-167 1/7.2.12 requires).
pub fn dstring(s: &str, field_len: usize) -> Vec<u8> {
    let mut field = vec![0u8; field_len];
    if s.is_empty() || field_len < 2 {
        return field;
    }
    let room = field_len - 1;
    let mut kept = String::new();
    for c in s.chars() {
        kept.push(c);
        if encoded_len(&kept) > room {
            kept.pop();
            break;
        }
    }
    let bytes = encode(&kept);
    if bytes.len() > 1 {
        field[..bytes.len()].copy_from_slice(&bytes);
        field[field_len - 1] = bytes.len() as u8;
    }
    field
}

/// Decodes a CS0 string. Unknown compression ids and unpaired surrogates are decoded
/// lossily (U+FFFD) rather than refused, so that a damaged name still lists.
pub fn decode(bytes: &[u8]) -> String {
    match bytes.split_first() {
        None => String::new(),
        Some((&COMPRESSION_8, rest)) => rest.iter().map(|&b| char::from(b)).collect(),
        Some((&COMPRESSION_16, rest)) => {
            let units = rest
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        Some((_, rest)) => String::from_utf8_lossy(rest).into_owned(),
    }
}

/// Decodes a dstring field (its last byte gives the length used).
pub fn decode_dstring(field: &[u8]) -> String {
    let Some((&len, body)) = field.split_last() else {
        return String::new();
    };
    decode(&body[..usize::from(len).min(body.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_names_use_the_8_bit_form() {
        assert_eq!(encode("Café"), [8, b'C', b'a', b'f', 0xE9]);
        assert_eq!(encoded_len("Café"), 5);
    }

    #[test]
    fn other_names_use_big_endian_utf16_with_surrogates() {
        assert_eq!(encode("日"), [16, 0x65, 0xE5]);
        // U+1F600 GRINNING FACE is the surrogate pair D83D DE00.
        assert_eq!(encode("a😀"), [16, 0x00, 0x61, 0xD8, 0x3D, 0xDE, 0x00]);
        assert_eq!(encoded_len("a😀"), 7);
    }

    #[test]
    fn round_trips() {
        for s in [
            "",
            "plain.txt",
            "Ærø",
            "日本語",
            "e\u{301}",
            "emoji 😀🎉",
            "ÿ",
        ] {
            assert_eq!(decode(&encode(s)), s);
        }
    }

    #[test]
    fn dstring_records_its_length_and_cuts_whole_characters() {
        let f = dstring("LABEL", 32);
        assert_eq!(f.len(), 32);
        assert_eq!(&f[..6], &[8, b'L', b'A', b'B', b'E', b'L']);
        assert_eq!(f[31], 6);
        assert_eq!(decode_dstring(&f), "LABEL");
        assert_eq!(dstring("", 32), vec![0u8; 32]);
        // 16-bit: 32-byte field holds 1 + 2*15 bytes.
        let f = dstring(&"日".repeat(40), 32);
        assert_eq!(f[31], 31);
        assert_eq!(decode_dstring(&f), "日".repeat(15));
    }

    #[test]
    fn damaged_strings_decode_lossily() {
        assert_eq!(decode(&[16, 0xD8, 0x00]), "\u{FFFD}");
        assert_eq!(decode_dstring(&[8, b'a', 200]), "a");
    }
}
