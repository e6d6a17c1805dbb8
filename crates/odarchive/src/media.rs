//! Disc media: named capacities and sizes given as text (`bd`, `4.7G`, `50MiB`, `1000000`).
//!
//! A capacity is always a whole number of 2048-byte sectors: a size that is not is rounded
//! down, so an image planned for it can be burnt.

use std::fmt;

use crate::error::{Error, Result};

/// Bytes in a disc sector.
pub const SECTOR: u64 = 2048;

/// The named media and their capacities in bytes (sectors × 2048), as in DESIGN.md.
pub const NAMED_MEDIA: &[(&str, u64)] = &[
    ("cd", 737_280_000),
    ("dvd", 4_700_372_992),
    ("dvd-dl", 8_543_666_176),
    ("bd", 25_025_314_816),
    ("bluray", 25_025_314_816),
    // A BD-R formatted with the default spare area (defect management): 11,826,176 sectors.
    ("bd-formatted", 24_220_008_448),
    ("bd-dl", 50_050_629_632),
    ("bd-xl", 100_103_356_416),
    ("bd-xx", 128_001_769_472),
];

/// A medium: its name (a named medium, or the size as given) and its capacity in bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Media {
    /// `bd`, `dvd`, ... or the size text as given (`700M`).
    pub name: String,
    /// Usable bytes, a multiple of [`SECTOR`].
    pub capacity: u64,
}

impl Media {
    /// Parses a medium name (`cd`, `dvd`, `dvd-dl`, `bd`, `bluray`, `bd-formatted`,
    /// `bd-dl`, `bd-xl`, `bd-xx`)
    /// or a size (see [`parse_size`]), rounded down to whole sectors.
    pub fn parse(text: &str) -> Result<Media> {
        let lower = text.trim().to_ascii_lowercase();
        if let Some(&(_, capacity)) = NAMED_MEDIA.iter().find(|(n, _)| *n == lower) {
            return Ok(Media {
                name: lower,
                capacity,
            });
        }
        let bytes = parse_size(text).map_err(|reason| Error::BadMedia {
            text: text.to_owned(),
            reason: format!(
                "{reason}; give one of {} or a size such as 700M, 4.7G, 50MiB",
                NAMED_MEDIA
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        Ok(Media {
            name: text.trim().to_owned(),
            capacity: bytes / SECTOR * SECTOR,
        })
    }
}

impl fmt::Display for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes)", self.name, self.capacity)
    }
}

/// Why a text is not a size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// No number where it starts, more than one decimal point, or digits that do not parse.
    #[error("{text:?} is not a medium name or a size")]
    NotASize {
        /// The text as given.
        text: String,
    },
    /// A unit other than `B`, `K`…`T`, `KB`…`TB`, `KiB`…`TiB`.
    #[error("unknown unit {unit:?} in {text:?}")]
    UnknownUnit {
        /// The text as given.
        text: String,
        /// The unit in it.
        unit: String,
    },
    /// More bytes than 64 bits hold.
    #[error("{text:?} is too large")]
    TooLarge {
        /// The text as given.
        text: String,
    },
}

/// Parses a size: a number (decimals allowed) with an optional unit, `K`/`M`/`G`/`T` (also
/// `KB`, ...: powers of 1000) or `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024), or `B`. Case does
/// not matter. The result is rounded down to whole bytes.
pub fn parse_size(text: &str) -> std::result::Result<u64, SizeError> {
    let t = text.trim();
    let not_a_size = || SizeError::NotASize {
        text: text.to_owned(),
    };
    let too_large = || SizeError::TooLarge {
        text: text.to_owned(),
    };
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    if number.is_empty() || number.matches('.').count() > 1 {
        return Err(not_a_size());
    }
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(SizeError::UnknownUnit {
                text: text.to_owned(),
                unit: unit.to_owned(),
            });
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| not_a_size())?
    };
    let mut bytes = whole.checked_mul(multiplier).ok_or_else(too_large)?;
    // The fraction, exact in integers (rounded down): multiplier × digits / 10^len.
    let fraction = &fraction[..fraction.len().min(18)];
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().map_err(|_| not_a_size())?;
        let part = u128::from(multiplier) * digits / 10u128.pow(fraction.len() as u32);
        bytes = bytes.checked_add(part as u64).ok_or_else(too_large)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_media_are_whole_sectors() {
        for &(name, bytes) in NAMED_MEDIA {
            assert_eq!(bytes % SECTOR, 0, "{name}");
            assert_eq!(Media::parse(name).unwrap().capacity, bytes);
        }
        assert_eq!(Media::parse("BluRay").unwrap().capacity, 25_025_314_816);
        let formatted = Media::parse("bd-formatted").unwrap().capacity;
        assert_eq!(
            formatted / SECTOR,
            11_826_176,
            "a BD-R with the default spare area"
        );
    }

    #[test]
    fn sizes_with_units() {
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("700M"), Ok(700_000_000));
        assert_eq!(parse_size("4.7G"), Ok(4_700_000_000));
        assert_eq!(parse_size("50MiB"), Ok(50 << 20));
        assert_eq!(parse_size("1.5 KiB"), Ok(1536));
        assert_eq!(parse_size("2t"), Ok(2_000_000_000_000));
        assert!(parse_size("").is_err());
        assert_eq!(
            parse_size("3 parsecs"),
            Err(SizeError::UnknownUnit {
                text: "3 parsecs".into(),
                unit: "parsecs".into()
            })
        );
        assert_eq!(
            parse_size("1.2.3M"),
            Err(SizeError::NotASize {
                text: "1.2.3M".into()
            })
        );
        assert_eq!(
            parse_size("99999999999T"),
            Err(SizeError::TooLarge {
                text: "99999999999T".into()
            })
        );
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("1.2.3G").is_err());
        assert!(parse_size("99999999999999999999T").is_err());
    }

    #[test]
    fn capacity_rounds_down_to_sectors() {
        assert_eq!(Media::parse("5M").unwrap().capacity, 4_999_168);
        assert_eq!(Media::parse("2047").unwrap().capacity, 0);
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = Media::parse("floppy").unwrap_err().to_string();
        assert!(
            err.contains("floppy") && err.contains("bd-xl") && err.contains("700M"),
            "{err}"
        );
    }
}
