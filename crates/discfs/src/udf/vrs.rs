//! Volume Recognition Sequence (ECMA-167 2/9): the three sectors after the ISO 9660
//! descriptors that announce an NSR (UDF) volume: BEA01, NSR02, TEA01.

/// The sequence as written, in order.
pub const SEQUENCE: [&[u8; 5]; 3] = [b"BEA01", b"NSR02", b"TEA01"];

/// One 2048-byte volume structure descriptor: type 0, the identifier, version 1.
pub fn descriptor(identifier: &[u8; 5]) -> [u8; 2048] {
    let mut out = [0u8; 2048];
    out[1..6].copy_from_slice(identifier);
    out[6] = 1;
    out
}

/// The standard identifier of a sector read from the recognition area, if it is a
/// volume structure descriptor.
pub fn identifier(sector: &[u8]) -> Option<&[u8]> {
    (sector.len() >= 7 && sector[6] == 1).then(|| &sector[1..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsr02_descriptor_bytes() {
        let d = descriptor(b"NSR02");
        assert_eq!(&d[..7], &[0, b'N', b'S', b'R', b'0', b'2', 1]);
        assert!(d[7..].iter().all(|&b| b == 0));
        assert_eq!(identifier(&d), Some(&b"NSR02"[..]));
    }
}
