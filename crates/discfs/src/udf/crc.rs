//! The two checks every UDF descriptor tag carries (ECMA-167 1/7.2.6 and 3/7.2.3).

/// CRC-ITU-T (polynomial x^16 + x^12 + x^5 + 1, initial value 0, not reflected) as ECMA-167
/// 1/7.2.6 defines it for descriptor CRCs.
pub fn crc_itu(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC_TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

const CRC_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The tag checksum of a 16-byte descriptor tag: the sum modulo 256 of bytes 0–3 and 5–15
/// (byte 4 holds the checksum itself).
pub fn tag_checksum(tag: &[u8]) -> u8 {
    tag[..16]
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .fold(0u8, |sum, (_, &b)| sum.wrapping_add(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_ecma_167_example() {
        // ECMA-167 1/7.2.6: "the CRC of the three bytes #70 #6A #77 is #3299".
        assert_eq!(crc_itu(&[0x70, 0x6A, 0x77]), 0x3299);
    }

    #[test]
    fn crc_matches_the_catalogued_check_value() {
        // CRC-16/XMODEM is the same algorithm; its check value over "123456789" is 0x31C3.
        assert_eq!(crc_itu(b"123456789"), 0x31C3);
        assert_eq!(crc_itu(&[]), 0);
    }

    #[test]
    fn checksum_skips_its_own_byte() {
        let mut tag = [1u8; 16];
        tag[4] = 200;
        assert_eq!(tag_checksum(&tag), 15);
    }
}
