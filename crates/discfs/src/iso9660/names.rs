//! Mapping Unicode names to ISO 9660 level 3 identifiers (ECMA-119 7.5, 7.6, 10.3).
//!
//! A name becomes d-characters (`A`–`Z`, `0`–`9`, `_`) in three steps:
//!
//! 1. [`transliterate`]: Latin letters with diacritics lose them (`é` → `E`), ligatures and a
//!    few letters expand (`ß` → `SS`, `Æ` → `AE`, `Þ` → `TH`), Cyrillic and Greek letters are
//!    romanised (`Ж` → `ZH`, `Ω` → `O`), combining marks and zero-width characters vanish (so
//!    `é` and `e` + U+0301, equal after normalisation, map alike), and every other character
//!    (CJK, emoji, punctuation, space) becomes `_`.
//! 2. Files keep an extension when the name has a `.` after its first character and the part
//!    after the last `.` maps to 1..=[`EXT_MAX`] characters; the other dots become `_`. The
//!    name part is cut so that name + extension ≤ [`FILE_ID_MAX`]; directory identifiers are
//!    cut at [`DIR_ID_MAX`].
//! 3. [`Namespace`] makes the identifiers of one directory unique: a name whose base is free
//!    keeps it; later names with a taken base get `_1`, `_2`, ... (the name cut further so the
//!    suffix fits), the lowest number not taken. Uniqueness is over what readers show — the
//!    identifier without `;1` and without the `.` of an empty extension — so the file `A` and
//!    the directory `A` cannot both exist.
//!
//! Everything is a pure function of the names in their tree order, so the same tree gives
//! the same identifiers.

use std::collections::{HashMap, HashSet};

/// Longest file name + extension, in d-characters, at level 3 (as at level 2; 7.5.1 and 10.2).
pub const FILE_ID_MAX: usize = 30;
/// Longest directory identifier, in d-characters (7.6.3 and 10.2).
pub const DIR_ID_MAX: usize = 31;
/// Longest extension kept as an extension; longer ones stay part of the name.
pub const EXT_MAX: usize = 8;

/// Feeds the ASCII rendering of `s` to `emit`, one byte at a time: ASCII as is, Latin
/// letters with diacritics as their base letters, ligatures expanded, combining marks and
/// invisible characters dropped, every other character as `_`.
pub fn transliterate(s: &str, emit: &mut impl FnMut(u8)) {
    for c in s.chars() {
        if c.is_ascii() {
            emit(c as u8);
        } else if let Some(ascii) = latin(c).or_else(|| cyrillic(c)).or_else(|| greek(c)) {
            ascii.bytes().for_each(&mut *emit);
        } else if !is_invisible(c) {
            emit(b'_');
        }
    }
}

/// The base letters of a Latin-1 Supplement or Latin Extended-A letter (upper case).
fn latin(c: char) -> Option<&'static str> {
    let cp = c as u32;
    Some(match cp {
        0xC0..=0xC5 | 0xE0..=0xE5 => "A",
        0xC6 | 0xE6 => "AE",
        0xC7 | 0xE7 => "C",
        0xC8..=0xCB | 0xE8..=0xEB => "E",
        0xCC..=0xCF | 0xEC..=0xEF => "I",
        0xD0 | 0xF0 => "D",
        0xD1 | 0xF1 => "N",
        0xD2..=0xD6 | 0xD8 | 0xF2..=0xF6 | 0xF8 => "O",
        0xD9..=0xDC | 0xF9..=0xFC => "U",
        0xDD | 0xFD | 0xFF => "Y",
        0xDE | 0xFE => "TH",
        0xDF => "SS",
        0x100..=0x105 => "A",
        0x106..=0x10D => "C",
        0x10E..=0x111 => "D",
        0x112..=0x11B => "E",
        0x11C..=0x123 => "G",
        0x124..=0x127 => "H",
        0x128..=0x131 => "I",
        0x132 | 0x133 => "IJ",
        0x134 | 0x135 => "J",
        0x136..=0x138 => "K",
        0x139..=0x142 => "L",
        0x143..=0x14B => "N",
        0x14C..=0x151 => "O",
        0x152 | 0x153 => "OE",
        0x154..=0x159 => "R",
        0x15A..=0x161 | 0x17F => "S",
        0x162..=0x167 => "T",
        0x168..=0x173 => "U",
        0x174 | 0x175 => "W",
        0x176..=0x178 => "Y",
        0x179..=0x17E => "Z",
        0x1E9E => "SS",
        _ => return None,
    })
}

/// Russian, Ukrainian and Belarusian Cyrillic letters, after the common passport-style
/// romanisation (upper case; hard and soft signs vanish).
fn cyrillic(c: char) -> Option<&'static str> {
    const BASIC: [&str; 32] = [
        "A", "B", "V", "G", "D", "E", "ZH", "Z", "I", "Y", "K", "L", "M", "N", "O", "P", "R", "S",
        "T", "U", "F", "KH", "TS", "CH", "SH", "SHCH", "", "Y", "", "E", "YU", "YA",
    ];
    let cp = c as u32;
    Some(match cp {
        0x410..=0x42F => BASIC[(cp - 0x410) as usize],
        0x430..=0x44F => BASIC[(cp - 0x430) as usize],
        0x401 | 0x451 => "E",
        0x404 | 0x454 => "YE",
        0x406 | 0x456 => "I",
        0x407 | 0x457 => "YI",
        0x40E | 0x45E => "U",
        0x490 | 0x491 => "G",
        _ => return None,
    })
}

/// Greek letters, monotonic accents included (upper case).
fn greek(c: char) -> Option<&'static str> {
    const BASIC: [&str; 25] = [
        "A", "V", "G", "D", "E", "Z", "I", "TH", "I", "K", "L", "M", "N", "X", "O", "P", "R", "S",
        "S", "T", "Y", "F", "CH", "PS", "O",
    ];
    let cp = c as u32;
    Some(match cp {
        0x391..=0x3A9 => BASIC[(cp - 0x391) as usize],
        0x3B1..=0x3C9 => BASIC[(cp - 0x3B1) as usize],
        0x386 | 0x3AC => "A",
        0x388 | 0x3AD => "E",
        0x389 | 0x3AE | 0x38A | 0x3AF | 0x390 | 0x3CA => "I",
        0x38C | 0x3CC | 0x38F | 0x3CE => "O",
        0x38E | 0x3CD | 0x3B0 | 0x3CB => "Y",
        _ => return None,
    })
}

/// Combining marks, zero-width characters and variation selectors: dropped.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
        | 0x200B..=0x200F | 0x2060 | 0xFE00..=0xFE0F | 0xFEFF | 0xE0100..=0xE01EF)
}

/// Appends `s` as d-characters to `out`, stopping when `out` holds `max` bytes.
fn push_d_chars(out: &mut String, s: &str, max: usize) {
    transliterate(s, &mut |b| {
        if out.len() < max {
            let b = b.to_ascii_uppercase();
            out.push(if super::encode::is_d_char(b) {
                b as char
            } else {
                '_'
            });
        }
    });
}

/// An identifier as a name and an extension (empty for directories and extension-less
/// files), both d-characters, held as what readers show: `NAME.EXT` or `NAME`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BaseName {
    key: String,
    name_len: usize,
}

impl BaseName {
    /// An identifier from its parts (both d-characters; `ext` may be empty).
    pub fn new(name: &str, ext: &str) -> BaseName {
        let mut key = String::with_capacity(name.len() + 1 + ext.len());
        key.push_str(name);
        if !ext.is_empty() {
            key.push('.');
            key.push_str(ext);
        }
        BaseName {
            key,
            name_len: name.len(),
        }
    }

    /// The file name (or directory identifier).
    pub fn name(&self) -> &str {
        &self.key[..self.name_len]
    }

    /// The extension, without the `.`; empty if there is none.
    pub fn ext(&self) -> &str {
        self.key.get(self.name_len + 1..).unwrap_or("")
    }

    /// What readers show and what must be unique in a directory: `NAME.EXT` or `NAME`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The identifier with suffix `_n`, the name cut so that name + extension ≤ `limit`.
    fn with_suffix(&self, n: u32, limit: usize) -> BaseName {
        let suffix = format!("_{n}");
        let room = limit.saturating_sub(self.ext().len() + suffix.len());
        let mut name = self.name()[..room.min(self.name_len)].to_owned();
        name.push_str(&suffix);
        BaseName::new(&name, self.ext())
    }
}

/// The base identifier of a directory named `name` (before collisions are resolved).
pub fn dir_base(name: &str) -> BaseName {
    let mut key = String::with_capacity(name.len().min(DIR_ID_MAX));
    push_d_chars(&mut key, name, DIR_ID_MAX);
    if key.is_empty() {
        key.push('_');
    }
    let name_len = key.len();
    BaseName { key, name_len }
}

/// The base identifier of a file named `name` (before collisions are resolved).
pub fn file_base(name: &str) -> BaseName {
    // A `.` after the first character and before the last one separates the extension.
    let split = name.rfind('.').filter(|&i| i > 0 && i + 1 < name.len());
    let mut ext = String::new();
    let mut stem = name;
    if let Some(i) = split {
        push_d_chars(&mut ext, &name[i + 1..], EXT_MAX + 1);
        if (1..=EXT_MAX).contains(&ext.len()) {
            stem = &name[..i];
        } else {
            ext.clear();
        }
    }
    let mut key = String::with_capacity(FILE_ID_MAX + 1);
    push_d_chars(&mut key, stem, FILE_ID_MAX - ext.len());
    if key.is_empty() {
        key.push('_');
    }
    let name_len = key.len();
    if !ext.is_empty() {
        key.push('.');
        key.push_str(&ext);
    }
    BaseName { key, name_len }
}

/// The identifiers taken in one directory, and the next suffix to try for each base.
#[derive(Debug, Default)]
pub struct Namespace {
    taken: HashSet<String>,
    next_suffix: HashMap<String, u32>,
}

impl Namespace {
    /// An empty directory.
    pub fn new() -> Self {
        Namespace::default()
    }

    /// Takes `base` as it is; `false` if it is already taken.
    pub fn claim(&mut self, base: &BaseName) -> bool {
        !self.taken.contains(base.key()) && self.taken.insert(base.key().to_owned())
    }

    /// Takes `base` with the lowest free suffix `_N` (N ≥ 1), cutting the name so that the
    /// result still fits (name + extension ≤ `limit`), and returns it.
    pub fn claim_with_suffix(&mut self, base: &BaseName, limit: usize) -> BaseName {
        let mut n = self.next_suffix.get(base.key()).copied().unwrap_or(1);
        loop {
            let candidate = base.with_suffix(n, limit);
            n += 1;
            if self.claim(&candidate) {
                self.next_suffix.insert(base.key().to_owned(), n);
                return candidate;
            }
        }
    }
}

/// Resolves the identifiers of one directory's entries, given their bases in tree order and
/// whether each is a directory: first every entry whose base is still free keeps it, then
/// the rest get suffixes. `reserved` identifiers (the relocation directory in the root) are
/// taken before any entry.
pub fn resolve(bases: Vec<(BaseName, bool)>, reserved: &[&str]) -> Vec<BaseName> {
    // Fast path, no copies: the bases of a directory without collisions.
    let mut first: HashSet<&str> = HashSet::with_capacity(bases.len() + reserved.len());
    first.extend(reserved.iter().copied());
    let kept: Vec<bool> = bases.iter().map(|(b, _)| first.insert(b.key())).collect();
    let mut renamed: Vec<Option<BaseName>> = Vec::new();
    if kept.contains(&false) {
        let mut space = Namespace::new();
        space.taken = first.iter().map(|&k| k.to_owned()).collect();
        renamed = bases
            .iter()
            .zip(&kept)
            .map(|((base, is_dir), &kept)| {
                let limit = if *is_dir { DIR_ID_MAX } else { FILE_ID_MAX };
                (!kept).then(|| space.claim_with_suffix(base, limit))
            })
            .collect();
    }
    drop(first);
    renamed.resize(bases.len(), None);
    bases
        .into_iter()
        .zip(renamed)
        .map(|((base, _), renamed)| renamed.unwrap_or(base))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        let mut out = Vec::new();
        transliterate(s, &mut |b| out.push(b));
        String::from_utf8(out).unwrap()
    }

    fn f(name: &str) -> String {
        file_base(name).key().to_owned()
    }

    fn keys(names: Vec<BaseName>) -> Vec<String> {
        names.iter().map(|b| b.key().to_owned()).collect()
    }

    #[test]
    fn transliteration() {
        assert_eq!(t("café"), "cafE");
        assert_eq!(t("Straße"), "StraSSe");
        assert_eq!(t("Ærøskøbing"), "AErOskObing");
        assert_eq!(t("e\u{301}"), "e"); // decomposed é
        assert_eq!(t("Łódź"), "LOdZ");
        assert_eq!(t("日本"), "__");
        assert_eq!(t("a😀b"), "a_b");
        assert_eq!(t("x\u{200D}\u{FE0F}y"), "xy");
        assert_eq!(t("Щука-Жёлтая"), "SHCHUKA-ZHELTAYA");
        assert_eq!(t("объём"), "OBEM"); // letter by letter: no context rules
        assert_eq!(t("Київ"), "KIYIV");
        assert_eq!(t("Αθήνα ωμέγα"), "ATHINA OMEGA");
        assert_eq!(t("\u{3A2}"), "S"); // unassigned, between Ρ and Σ: harmless
    }

    #[test]
    fn file_identifiers() {
        assert_eq!(f("readme.txt"), "README.TXT");
        assert_eq!(f("README"), "README");
        assert_eq!(f("archive.tar.gz"), "ARCHIVE_TAR.GZ");
        assert_eq!(f(".bashrc"), "_BASHRC");
        assert_eq!(f("trailing."), "TRAILING_");
        assert_eq!(f("my file (1).JPG"), "MY_FILE__1_.JPG");
        assert_eq!(f("Crème brûlée.md"), "CREME_BRULEE.MD");
        assert_eq!(f("日本語.txt"), "___.TXT");
        assert_eq!(f("\u{301}.txt"), "_.TXT");
        assert_eq!(f("data.verylongextension"), "DATA_VERYLONGEXTENSION");
        let long = file_base(&"x".repeat(200));
        assert_eq!(long.name().len(), FILE_ID_MAX);
        let long = file_base(&format!("{}.markdown", "y".repeat(200)));
        assert_eq!((long.name().len(), long.ext()), (22, "MARKDOWN"));
    }

    #[test]
    fn directory_identifiers() {
        assert_eq!(dir_base("My Photos.2024").key(), "MY_PHOTOS_2024");
        assert_eq!(dir_base(&"d".repeat(100)).name().len(), DIR_ID_MAX);
        assert_eq!(dir_base("\u{301}").key(), "_");
    }

    #[test]
    fn collisions_get_suffixes_that_fit() {
        let names = ["a.txt", "A.TXT", "á.txt", "a\u{301}.txt", "A_1.TXT"];
        let bases = names.iter().map(|n| (file_base(n), false)).collect();
        let keys = keys(resolve(bases, &[]));
        // "A_1.TXT" keeps its own name; the later duplicates skip it.
        assert_eq!(keys, ["A.TXT", "A_2.TXT", "A_3.TXT", "A_4.TXT", "A_1.TXT"]);

        let long = "z".repeat(40);
        let bases = vec![
            (dir_base(&long), true),
            (dir_base(&(long.clone() + "!")), true),
        ];
        let out = resolve(bases, &[]);
        assert_eq!(out[1].name(), format!("{}_1", "Z".repeat(29)));
        assert!(out.iter().all(|b| b.name().len() <= DIR_ID_MAX));
    }

    #[test]
    fn file_and_directory_with_the_same_shown_name_collide() {
        let bases = vec![(dir_base("notes"), true), (file_base("NOTES"), false)];
        let keys = keys(resolve(bases, &[]));
        assert_eq!(keys, ["NOTES", "NOTES_1"]);
    }

    #[test]
    fn reserved_names_are_never_given() {
        let bases = vec![(dir_base("_deep"), true)];
        assert_eq!(resolve(bases, &["_DEEP"])[0].key(), "_DEEP_1");
    }

    #[test]
    fn many_equal_bases_stay_linear_and_unique() {
        let bases: Vec<(BaseName, bool)> =
            (0..20_000).map(|_| (file_base("日本"), false)).collect();
        let out = resolve(bases, &[]);
        let keys: HashSet<&str> = out.iter().map(BaseName::key).collect();
        assert_eq!(keys.len(), 20_000);
        assert!(
            out.iter()
                .all(|b| b.name().len() + b.ext().len() <= FILE_ID_MAX)
        );
    }
}
