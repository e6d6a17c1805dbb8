//! Names UDF cannot hold as they are.
//!
//! A File Identifier holds at most 255 bytes of CS0: 254 characters in the 8-bit form or 127
//! UTF-16 units in the 16-bit form. Longer names get a shortened name that keeps the start
//! and the extension and carries a hash of the full name, so it is deterministic and, with a
//! counter for the rare clash, unique among its siblings. The caller gets every such
//! replacement back and keeps it (the catalogue restores the full name).

use std::collections::HashSet;

use super::cs0;

/// Most bytes a CS0 file identifier can take (its length field is one byte).
pub const MAX_IDENTIFIER_BYTES: usize = 255;

/// Whether UDF can store `name` exactly.
pub fn fits(name: &str) -> bool {
    cs0::encoded_len(name) <= MAX_IDENTIFIER_BYTES
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
        if cs0::encoded_len(&format!("{out}{tail}")) > MAX_IDENTIFIER_BYTES {
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
        assert!(fits(&"日".repeat(127)));
        assert!(!fits(&"日".repeat(128)));
        // One character outside Latin-1 switches the whole name to 16 bits.
        assert!(!fits(&format!("{}日", "a".repeat(130))));
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
