//! Sectors known to be unreadable: from read errors, or from a GNU ddrescue map.

use std::ops::Range;

use crate::SECTOR;

/// A set of sector ranges known to be unreadable (erasures for repair). Kept sorted and
/// merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadSectors {
    ranges: Vec<Range<u64>>,
}

impl BadSectors {
    /// No sector known bad.
    pub fn new() -> Self {
        BadSectors::default()
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
    pub fn from_ddrescue_map(text: &str) -> Result<BadSectors, String> {
        let mut bad = BadSectors::new();
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim_start().starts_with('#') && !l.trim().is_empty());
        for (n, line) in lines.skip(1) {
            let mut fields = line.split_whitespace();
            let (Some(pos), Some(size), Some(status)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(format!("line {}: expected `pos size status`", n + 1));
            };
            let number = |s: &str| {
                let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
                match hex {
                    Some(h) => u64::from_str_radix(h, 16),
                    None => s.parse(),
                }
                .map_err(|e| format!("line {}: {s}: {e}", n + 1))
            };
            let (pos, size) = (number(pos)?, number(size)?);
            if status != "+" && size > 0 {
                bad.insert(pos / SECTOR..(pos + size).div_ceil(SECTOR));
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
}
