//! Names on the disc: every path of the catalogue gets a UTF-8 path under `/Data` that any
//! reader can show and that `sha256sum -c` (`sha512sum -c`) can check without escapes.
//!
//! - A name that is valid UTF-8 without control characters or `\` is kept as it is.
//! - Otherwise every byte that is not part of a valid UTF-8 character, every control character
//!   (below 0x20, and 0x7F) and every `\` is written as `%XX` (two upper-case hex digits).
//! - If that name is already taken in its directory (a real name `a%FF` next to a raw `a\xff`,
//!   or two escaped names that meet), `~1`, `~2`, ... is appended until it is free.
//!
//! The path on disc of every stored file is kept in the catalogue (`placement.disc_path`), so
//! the original bytes are always restored; the escape is for people and other tools.

use std::collections::{HashMap, HashSet};

/// Whether a name can go on the disc unchanged.
fn is_clean(name: &[u8]) -> bool {
    match std::str::from_utf8(name) {
        Ok(s) => !s
            .chars()
            .any(|c| c.is_control() && (c as u32) < 0x80 || c == '\\'),
        Err(_) => false,
    }
}

/// The escaped form of one name (see the module docs), without clash resolution.
pub fn escape_name(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut rest = name;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, 0),
            Err(e) => {
                let valid = std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default();
                (valid, e.error_len().unwrap_or(rest.len() - e.valid_up_to()))
            }
        };
        for c in valid.chars() {
            if (c as u32) < 0x20 || c == '\x7f' || c == '\\' {
                out.push_str(&format!("%{:02X}", c as u32));
            } else {
                out.push(c);
            }
        }
        let start = valid.len();
        for &b in &rest[start..start + bad] {
            out.push_str(&format!("%{b:02X}"));
        }
        rest = &rest[start + bad..];
    }
    out
}

/// Maps catalogue paths (raw bytes, relative to the drive root) to paths under `/Data`,
/// deterministically when paths are given in byte order.
#[derive(Debug, Default)]
pub struct NameMap {
    /// Raw paths that contain `%` (the only clean paths an escaped name can meet) or `.part`
    /// (the only ones a part's name can meet).
    clean_taken: HashSet<Vec<u8>>,
    /// Escaped paths handed out so far.
    escaped_taken: HashSet<String>,
    /// Raw directory paths whose disc path differs, with that path.
    renamed_dirs: HashMap<Vec<u8>, String>,
}

impl NameMap {
    /// A map that knows the raw paths (relative) which contain `%` or `.part`, so that
    /// escaped names and part names never meet them.
    pub fn new(paths_with_percent_or_part: impl IntoIterator<Item = Vec<u8>>) -> NameMap {
        NameMap {
            clean_taken: paths_with_percent_or_part.into_iter().collect(),
            ..NameMap::default()
        }
    }

    /// The disc path (relative to `/Data`) of `raw`. Call it for a directory before anything
    /// in it (byte order of paths does that).
    pub fn map(&mut self, raw: &[u8], is_dir: bool) -> String {
        let (parent_raw, name) = match raw.iter().rposition(|&b| b == b'/') {
            Some(i) => (&raw[..i], &raw[i + 1..]),
            None => (&raw[..0], raw),
        };
        let parent = match self.renamed_dirs.get(parent_raw) {
            Some(p) => p.clone(),
            None => String::from_utf8_lossy(parent_raw).into_owned(),
        };
        let join = |name: &str| {
            if parent.is_empty() {
                name.to_owned()
            } else {
                format!("{parent}/{name}")
            }
        };
        let renamed_parent = self.renamed_dirs.contains_key(parent_raw);
        if is_clean(name) && !renamed_parent {
            return join(std::str::from_utf8(name).unwrap_or_default());
        }
        let base = escape_name(name);
        let mut candidate = join(&base);
        let mut n = 0u64;
        while self.clean_taken.contains(candidate.as_bytes())
            || self.escaped_taken.contains(&candidate)
        {
            n += 1;
            candidate = join(&format!("{base}~{n}"));
        }
        self.escaped_taken.insert(candidate.clone());
        if is_dir && candidate.as_bytes() != raw {
            self.renamed_dirs.insert(raw.to_vec(), candidate.clone());
        }
        candidate
    }

    /// The stem of a split content's part names: `path` itself, unless some real path
    /// starts with `path.part` (then `path~split`, so that `cat path~split.part*` joins it).
    pub fn part_stem(&self, path: &str) -> String {
        let prefix = format!("{path}.part");
        if self
            .clean_taken
            .iter()
            .any(|p| p.starts_with(prefix.as_bytes()))
        {
            format!("{path}~split")
        } else {
            path.to_owned()
        }
    }
}

/// The name of part `part` (1-based) of a content split into parts named from `stem`, with
/// `width` digits: `stem.part001`.
pub fn part_name(stem: &str, part: u32, width: usize) -> String {
    format!("{stem}.part{part:0width$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_names_stay() {
        let mut m = NameMap::default();
        assert_eq!(m.map(b"Photos \xc3\xa9t\xc3\xa9", true), "Photos été");
        assert_eq!(
            m.map(b"Photos \xc3\xa9t\xc3\xa9/a.jpg", false),
            "Photos été/a.jpg"
        );
    }

    #[test]
    fn bad_bytes_controls_and_backslashes_are_escaped() {
        assert_eq!(escape_name(b"a\xffb"), "a%FFb");
        assert_eq!(escape_name(b"new\nline"), "new%0Aline");
        assert_eq!(escape_name(b"back\\slash"), "back%5Cslash");
        assert_eq!(escape_name("é\u{7f}".as_bytes()), "é%7F");
        assert_eq!(escape_name(b"\xc3"), "%C3");
    }

    #[test]
    fn escaped_directories_carry_over_to_their_contents() {
        let mut m = NameMap::default();
        assert_eq!(m.map(b"d\xfe", true), "d%FE");
        assert_eq!(m.map(b"d\xfe/x", false), "d%FE/x");
    }

    #[test]
    fn clashes_get_a_suffix() {
        let mut m = NameMap::new([b"a%FF".to_vec(), b"a%FF~1".to_vec()]);
        assert_eq!(m.map(b"a%FF", false), "a%FF");
        assert_eq!(m.map(b"a\xff", false), "a%FF~2");
        // Two escaped names that meet.
        let mut m = NameMap::new([b"%FF\xfe".to_vec()]);
        assert_eq!(m.map(b"%FF\xfe", false), "%FF%FE");
        assert_eq!(m.map(b"\xff%FE", false), "%FF%FE~1");
    }
}
