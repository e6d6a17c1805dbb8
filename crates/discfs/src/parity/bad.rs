//! Sectors known to be unreadable: from read errors, or from a GNU ddrescue map.

use std::ops::Range;

use crate::SECTOR;

/// Why a ddrescue map file cannot be read; `line` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// A line without its three fields.
    #[error("line {line}: expected `pos size status`")]
    Fields {
        /// The line.
        line: usize,
    },
    /// A position or size that is not a number (decimal, or hex with `0x`).
    #[error("line {line}: {text}: {source}")]
    Number {
        /// The line.
        line: usize,
        /// The field as written.
        text: String,
        /// Why it does not parse.
        source: std::num::ParseIntError,
    },
    /// A range that ends past the largest byte offset.
    #[error("line {line}: the range ends past the largest byte offset")]
    TooLarge {
        /// The line.
        line: usize,
    },
}

/// A set of sector ranges known to be unreadable (erasures for repair). Kept sorted and
/// merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadSectors {
    ranges: Vec<Range<u64>>,
}

impl BadSectors {
    /// No sector known bad.
    pub const fn new() -> Self {
        BadSectors { ranges: Vec::new() }
    }

    /// Marks `sectors` bad.
    pub fn insert(&mut self, sectors: Range<u64>) {
        if sectors.is_empty() {
            return;
        }
        self.ranges.push(sectors);
        self.ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(self.ranges.len());
        for r in self.ranges.drain(..) {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        self.ranges = merged;
    }

    /// Whether `sector` is marked bad.
    pub fn contains(&self, sector: u64) -> bool {
        let i = self.ranges.partition_point(|r| r.end <= sector);
        self.ranges.get(i).is_some_and(|r| r.contains(&sector))
    }

    /// The bad ranges, ascending.
    pub fn ranges(&self) -> &[Range<u64>] {
        &self.ranges
    }

    /// Bad sectors in all.
    pub fn count(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// Reads a GNU ddrescue map file: every sector that any byte range not marked `+`
    /// (finished) touches is bad. The first non-comment line (the current position) is
    /// skipped, as ddrescue writes it.
    pub fn from_ddrescue_map(text: &str) -> Result<BadSectors, MapError> {
        let mut bad = BadSectors::new();
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim_start().starts_with('#') && !l.trim().is_empty());
        for (n, line) in lines.skip(1) {
            let line_number = n + 1;
            let mut fields = line.split_whitespace();
            let (Some(pos), Some(size), Some(status)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(MapError::Fields { line: line_number });
            };
            let number = |s: &str| {
                let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
                match hex {
                    Some(h) => u64::from_str_radix(h, 16),
                    None => s.parse(),
                }
                .map_err(|source| MapError::Number {
                    line: line_number,
                    text: s.to_owned(),
                    source,
                })
            };
            let (pos, size) = (number(pos)?, number(size)?);
            if status != "+" && size > 0 {
                let end = pos
                    .checked_add(size)
                    .ok_or(MapError::TooLarge { line: line_number })?;
                bad.insert(pos / SECTOR..end.div_ceil(SECTOR));
            }
        }
        Ok(bad)
    }
}

impl FromIterator<Range<u64>> for BadSectors {
    fn from_iter<I: IntoIterator<Item = Range<u64>>>(iter: I) -> Self {
        let mut bad = BadSectors::new();
        for r in iter {
            bad.insert(r);
        }
        bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_answer_membership() {
        let bad: BadSectors = [5..8, 1..3, 7..10, 10..11, 20..20].into_iter().collect();
        assert_eq!(bad.ranges(), &[1..3, 5..11]);
        assert_eq!(bad.count(), 8);
        assert!(bad.contains(1) && bad.contains(10) && !bad.contains(3) && !bad.contains(11));
    }

    #[test]
    fn a_ddrescue_map_gives_the_sectors_its_bad_bytes_touch() {
        let map = "# Mapfile. Created by GNU ddrescue version 1.27\n\
                   # current_pos  current_status  current_pass\n\
                   0x00100000     +               1\n\
                   #      pos        size  status\n\
                   0x00000000  0x00001000  +\n\
                   0x00001000  0x00000200  -\n\
                   0x00001200  0x00002E00  +\n\
                   0x00004000  0x00001000  ?\n\
                   0x00005000  0x000FB000  +\n";
        let bad = BadSectors::from_ddrescue_map(map).unwrap();
        assert_eq!(bad.ranges(), &[2..3, 8..10]);
        assert!(BadSectors::from_ddrescue_map("0 + 1\n0x10 zz -\n").is_err());
    }

    #[test]
    fn a_bad_map_line_is_named_with_why() {
        let number = BadSectors::from_ddrescue_map("0 + 1\n0x10 zz -\n").unwrap_err();
        assert!(matches!(&number, MapError::Number { line: 2, text, .. } if text == "zz"));
        assert!(number.to_string().starts_with("line 2: zz: "), "{number}");
        let fields = BadSectors::from_ddrescue_map("0 + 1\n# c\n0x10 -\n").unwrap_err();
        assert_eq!(fields, MapError::Fields { line: 3 });
        // A range past the end of all offsets is an error, not an overflow.
        let past = BadSectors::from_ddrescue_map("0 + 1\n0xFFFFFFFFFFFFFF00 0x1000 -\n");
        assert_eq!(past.unwrap_err(), MapError::TooLarge { line: 2 });
    }
}
