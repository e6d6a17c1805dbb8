//! Names UDF cannot hold as they are.
//!
//! A File Identifier holds at most 255 bytes of CS0: 254 characters in the 8-bit form or 127
//! UTF-16 units in the 16-bit form. Readers also show names as UTF-8 and some keep no more
//! than 254 bytes of it (the Linux kernel's udf driver cuts, and so mangles, a 255-byte
//! name such as 85 CJK characters), so a name must also be at most [`MAX_UTF8_BYTES`] in
//! UTF-8. Longer names get a shortened name that keeps the start
//! and the extension and carries a hash of the full name, so it is deterministic and, with a
//! counter for the rare clash, unique among its siblings. The caller gets every such
//! replacement back and keeps it (the catalogue restores the full name).

use std::collections::HashSet;

use super::cs0;

/// Most bytes a CS0 file identifier can take (its length field is one byte).
pub const MAX_IDENTIFIER_BYTES: usize = 255;

/// Most bytes a name may take in UTF-8: what the Linux kernel's udf driver shows whole.
pub const MAX_UTF8_BYTES: usize = 254;

/// Whether UDF can store `name` exactly and every reader shows it whole.
pub fn fits(name: &str) -> bool {
    name.len() <= MAX_UTF8_BYTES && cs0::encoded_len(name) <= MAX_IDENTIFIER_BYTES
}

/// The UDF names of one directory's children, given their names in order: `None` where the
/// name is kept, `Some(short)` where it had to be replaced.
pub fn shorten_siblings<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Vec<Option<String>> {
    if names.clone().all(fits) {
        return names.map(|_| None).collect();
    }
    let mut taken: HashSet<String> = names
        .clone()
        .filter(|n| fits(n))
        .map(str::to_owned)
        .collect();
    names
        .map(|name| {
            if fits(name) {
                return None;
            }
            let mut counter = 1u32;
            loop {
                let candidate = shortened(name, counter);
                if taken.insert(candidate.clone()) {
                    return Some(candidate);
                }
                counter += 1;
            }
        })
        .collect()
}

/// `name` cut to fit, as `start~HHHHHHHH.ext` (or `start~HHHHHHHH-N.ext` for the N-th clash).
fn shortened(name: &str, counter: u32) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 17 => name.split_at(dot),
        _ => (name, ""),
    };
    let mut tail = format!("~{:08X}", fnv1a(name.as_bytes()) as u32);
    if counter > 1 {
        tail.push_str(&format!("-{counter}"));
    }
    tail.push_str(ext);
    let mut out = String::new();
    for c in stem.chars() {
        out.push(c);
        if !fits(&format!("{out}{tail}")) {
            out.pop();
            break;
        }
    }
    out + &tail
}

/// 64-bit FNV-1a: a fixed, portable hash, so shortened names never change between builds.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_encoding() {
        assert!(fits(&"a".repeat(254)));
        assert!(!fits(&"a".repeat(255)));
        // 16-bit CS0: 127 units at most (ā is outside Latin-1 and 2 bytes of UTF-8).
        assert!(fits(&"ā".repeat(127)));
        assert!(!fits(&"ā".repeat(128)));
        // One character outside Latin-1 switches the whole name to 16 bits.
        assert!(!fits(&format!("{}日", "a".repeat(130))));
    }

    #[test]
    fn names_over_254_utf8_bytes_do_not_fit() {
        // 85 CJK characters: 171 bytes of CS0, but 255 of UTF-8.
        let cjk = "日".repeat(85);
        assert_eq!(cjk.len(), 255);
        assert!(cs0::encoded_len(&cjk) <= MAX_IDENTIFIER_BYTES);
        assert!(!fits(&cjk));
        assert!(fits(&"日".repeat(84)));
        // 127 two-byte Latin-1 characters: 128 bytes of CS0, 254 of UTF-8.
        assert!(fits(&"é".repeat(127)));
        assert!(!fits(&format!("{}a", "é".repeat(127))));
    }

    #[test]
    fn a_255_byte_utf8_name_is_shortened_and_siblings_stay_distinct() {
        // 85 CJK characters and an extension: 259 bytes of UTF-8 each, alike up to the last.
        let a = format!("{}.jpg", "写真".repeat(42) + "日");
        let b = format!("{}.jpg", "写真".repeat(42) + "月");
        assert!(a.len() > MAX_UTF8_BYTES && b.len() > MAX_UTF8_BYTES);
        let cjk = "日".repeat(85);
        let names = [a.as_str(), b.as_str(), cjk.as_str(), "short.jpg"];
        let out = shorten_siblings(names.into_iter());
        let short: Vec<&str> = out[..3].iter().map(|s| s.as_deref().unwrap()).collect();
        for s in &short {
            assert!(s.len() <= MAX_UTF8_BYTES && fits(s), "{s}");
        }
        assert!(short[0].ends_with(".jpg") && short[1].ends_with(".jpg"));
        assert!(short[0].starts_with("写真写真"));
        let distinct: HashSet<&str> = short.iter().copied().chain(["short.jpg"]).collect();
        assert_eq!(distinct.len(), 4, "{short:?}");
        assert_eq!(out[3], None);
    }

    #[test]
    fn fnv_matches_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn long_names_are_shortened_deterministically_keeping_the_extension() {
        let long = format!("{}.jpeg", "x".repeat(300));
        let out = shorten_siblings([long.as_str(), "short"].into_iter());
        let short = out[0].clone().unwrap();
        assert!(fits(&short));
        assert!(short.ends_with(".jpeg") && short.starts_with("xxxx"));
        assert_eq!(cs0::encoded_len(&short), MAX_IDENTIFIER_BYTES);
        assert_eq!(out[1], None);
        assert_eq!(
            shorten_siblings([long.as_str()].into_iter())[0].as_deref(),
            Some(short.as_str())
        );
    }

    #[test]
    fn clashes_get_counters_and_stay_unique() {
        // Two names with the same hash prefix cannot be forced easily, so clash with a
        // sibling that already holds the shortened form.
        let long = "日".repeat(200);
        let first = shorten_siblings([long.as_str()].into_iter())[0]
            .clone()
            .unwrap();
        let out = shorten_siblings([first.as_str(), long.as_str()].into_iter());
        let second = out[1].clone().unwrap();
        assert_ne!(second, first);
        assert!(second.contains("-2") && fits(&second));
    }
}
