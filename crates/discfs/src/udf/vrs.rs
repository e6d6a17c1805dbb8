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

/// The first sector of the recognition area.
pub const FIRST_SECTOR: u64 = 16;
/// Sectors of the recognition area looked at (ISO 9660 descriptors, then the sequence).
pub const SEARCH_SECTORS: u64 = 48;

/// Identifiers that may appear in the recognition area besides NSR02/NSR03.
const KNOWN: [&[u8; 5]; 5] = [b"CD001", b"BEA01", b"TEA01", b"BOOT2", b"CDW02"];

/// What a search of the recognition area found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recognition {
    /// The sector of the NSR02 or NSR03 descriptor, if one was found.
    pub nsr: Option<u64>,
    /// Sectors that should hold a descriptor but hold an unknown one (a damaged
    /// descriptor), with what they hold.
    pub unknown: Vec<(u64, String)>,
}

/// Searches the recognition area for the NSR descriptor as robust readers do: an unknown or
/// damaged descriptor is noted and passed over, not taken for the end of the area. The
/// search ends after the TEA01 that closes an extended area, at the first sector that is not
/// a descriptor at all after one was seen, or after [`SEARCH_SECTORS`]; `sector` gives a
/// sector's bytes (`None` past the image's end).
pub fn search(mut sector: impl FnMut(u64) -> Option<Vec<u8>>) -> Recognition {
    let mut found = Recognition::default();
    let mut in_extended_area = false;
    let mut blanks = 0;
    for at in FIRST_SECTOR..FIRST_SECTOR + SEARCH_SECTORS {
        let Some(b) = sector(at) else { break };
        match identifier(&b) {
            Some(b"NSR02" | b"NSR03") => {
                found.nsr.get_or_insert(at);
            }
            Some(b"BEA01") => in_extended_area = true,
            Some(b"TEA01") if in_extended_area => break,
            Some(id) if KNOWN.iter().any(|k| &k[..] == id) => {}
            _ if b.iter().take(8).all(|&x| x == 0) => {
                // A blank sector: the end of the area, unless a damaged descriptor made
                // the sequence look shorter; a few are allowed before giving up.
                blanks += 1;
                if blanks > 2 {
                    break;
                }
            }
            _ => found.unknown.push((
                at,
                String::from_utf8_lossy(&b[1..6.min(b.len())]).into_owned(),
            )),
        }
    }
    found
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

    /// The area of a bridge image: PVD, terminator, BEA01, NSR02, TEA01, then blanks.
    fn area() -> Vec<Vec<u8>> {
        let mut pvd = descriptor(b"CD001").to_vec();
        pvd[0] = 1;
        let mut term = descriptor(b"CD001").to_vec();
        term[0] = 255;
        let mut out = vec![pvd, term];
        out.extend(SEQUENCE.iter().map(|id| descriptor(id).to_vec()));
        out.extend((0..40).map(|_| vec![0u8; 2048]));
        out
    }

    fn search_in(area: &[Vec<u8>]) -> Recognition {
        search(|s| area.get((s - FIRST_SECTOR) as usize).cloned())
    }

    #[test]
    fn an_intact_area_has_its_nsr_and_nothing_unknown() {
        let found = search_in(&area());
        assert_eq!(found.nsr, Some(19));
        assert!(found.unknown.is_empty());
    }

    #[test]
    fn a_damaged_first_descriptor_is_noted_and_passed_over() {
        let mut a = area();
        a[0][3] ^= 0x01; // "CD001" -> "CD101"
        let found = search_in(&a);
        assert_eq!(
            found.nsr,
            Some(19),
            "the NSR after a damaged descriptor is found"
        );
        assert_eq!(found.unknown, vec![(16, "CD101".to_string())]);
    }

    #[test]
    fn a_damaged_bea_or_a_blank_in_the_sequence_does_not_hide_the_nsr() {
        let mut a = area();
        a[2][1] = b'X'; // BEA01 damaged
        a[1] = vec![0; 2048]; // and the terminator blanked
        let found = search_in(&a);
        assert_eq!(found.nsr, Some(19));
        assert_eq!(found.unknown.len(), 1);
        assert_eq!(found.unknown[0].0, 18);
    }

    #[test]
    fn no_nsr_is_none_and_a_short_image_ends_the_search() {
        let mut a = area();
        a[3][4] = b'X'; // NSR02 damaged
        let found = search_in(&a);
        assert_eq!(found.nsr, None);
        assert_eq!(found.unknown, vec![(19, "NSRX2".to_string())]);
        assert_eq!(search_in(&a[..1]).nsr, None);
    }
}
