//! udftools' `udfinfo`: the UDF volume, logical volume and integrity descriptors as
//! `key=value` lines, plus the layout it found (`start=N, blocks=N, type=T`).
//!
//! Quirks (udftools 2.3):
//! - Damage is reported as a `udfinfo: Warning: ...` line on stderr with exit status 0
//!   (e.g. "First and second Anchor Volume Descriptor Pointer not found, using third"), so
//!   anything on stderr fails the run.
//! - `blocks` is the image length in blocks, and the last-sector ANCHOR is listed from that
//!   length even when no anchor is there: the layout alone does not prove the last anchor.
//! - `numfiles` counts files (symlinks included); `numdirs` counts directories including
//!   the root; both come from the Logical Volume Integrity Descriptor's implementation use.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::OracleError;
use crate::tool::Tool;

/// One extent of the layout udfinfo lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdfLayoutExtent {
    /// First block.
    pub start: u64,
    /// Number of blocks.
    pub blocks: u64,
    /// What it holds: `VRS`, `MVDS`, `RVDS`, `LVID`, `ANCHOR`, `PSPACE`, ...
    pub kind: String,
}

/// What `udfinfo` printed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdfInfo {
    /// Every `key=value` line (`label`, `udfrev`, `integrity`, `numfiles`, ...).
    pub fields: BTreeMap<String, String>,
    /// The layout lines, in order.
    pub layout: Vec<UdfLayoutExtent>,
}

impl UdfInfo {
    /// The value of `key`, if printed.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    fn number(&self, key: &str) -> Option<u64> {
        self.field(key)?.parse().ok()
    }

    /// `udfrev`: the UDF revision the volume declares (`1.02`).
    pub fn udf_revision(&self) -> Option<&str> {
        self.field("udfrev")
    }

    /// `integrity`: `closed` for a finished volume.
    pub fn integrity(&self) -> Option<&str> {
        self.field("integrity")
    }

    /// `numfiles`: files (and symlinks) in the volume.
    pub fn num_files(&self) -> Option<u64> {
        self.number("numfiles")
    }

    /// `numdirs`: directories, the root included.
    pub fn num_dirs(&self) -> Option<u64> {
        self.number("numdirs")
    }

    /// `label`: the logical volume identifier.
    pub fn label(&self) -> Option<&str> {
        self.field("label")
    }

    /// `blocksize`.
    pub fn block_size(&self) -> Option<u64> {
        self.number("blocksize")
    }

    /// `blocks`: the image length in blocks.
    pub fn blocks(&self) -> Option<u64> {
        self.number("blocks")
    }

    /// Start blocks of the anchors udfinfo lists.
    pub fn anchors(&self) -> Vec<u64> {
        self.layout
            .iter()
            .filter(|e| e.kind == "ANCHOR")
            .map(|e| e.start)
            .collect()
    }
}

/// Runs `udfinfo IMAGE`: exit 0, nothing on stderr, every line understood.
pub fn udfinfo(image: &Path) -> Result<UdfInfo, OracleError> {
    let reader = "udfinfo";
    let run = Tool::UDFINFO.run(reader, [image.as_os_str()], None)?;
    run.succeeded_quietly(reader)?;
    parse(&run.stdout).map_err(|problem| OracleError::from_run(reader, problem, &run))
}

/// Parses udfinfo's standard output.
pub fn parse(stdout: &str) -> Result<UdfInfo, String> {
    let mut info = UdfInfo::default();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with("start=") {
            info.layout
                .push(parse_layout(line).ok_or_else(|| format!("cannot parse `{line}`"))?);
        } else if let Some((key, value)) = line.split_once('=') {
            info.fields.insert(key.to_string(), value.to_string());
        } else {
            return Err(format!("cannot parse udfinfo line `{line}`"));
        }
    }
    if info.udf_revision().is_none() || info.num_files().is_none() || info.num_dirs().is_none() {
        return Err("udfinfo printed no udfrev, numfiles or numdirs".into());
    }
    Ok(info)
}

fn parse_layout(line: &str) -> Option<UdfLayoutExtent> {
    let mut start = None;
    let mut blocks = None;
    let mut kind = None;
    for part in line.split(", ") {
        match part.split_once('=')? {
            ("start", v) => start = v.parse().ok(),
            ("blocks", v) => blocks = v.parse().ok(),
            ("type", v) => kind = Some(v.to_string()),
            _ => return None,
        }
    }
    Some(UdfLayoutExtent {
        start: start?,
        blocks: blocks?,
        kind: kind?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "filename=g.iso\nlabel=CTRL\nvsid=\nblocksize=2048\nblocks=440\n\
        numfiles=5\nnumdirs=5\nudfrev=1.02\nudfwriterev=1.02\nintegrity=closed\n\
        start=16, blocks=5, type=VRS\nstart=256, blocks=1, type=ANCHOR\n\
        start=257, blocks=33, type=PSPACE\nstart=439, blocks=1, type=ANCHOR\n";

    #[test]
    fn parses_fields_and_layout() {
        let info = parse(SAMPLE).unwrap();
        assert_eq!(info.udf_revision(), Some("1.02"));
        assert_eq!(info.integrity(), Some("closed"));
        assert_eq!((info.num_files(), info.num_dirs()), (Some(5), Some(5)));
        assert_eq!(info.label(), Some("CTRL"));
        assert_eq!(info.field("vsid"), Some(""));
        assert_eq!((info.block_size(), info.blocks()), (Some(2048), Some(440)));
        assert_eq!(info.anchors(), [256, 439]);
        assert_eq!(
            info.layout[2],
            UdfLayoutExtent {
                start: 257,
                blocks: 33,
                kind: "PSPACE".into()
            }
        );
    }

    #[test]
    fn refuses_output_without_counts() {
        assert!(parse("filename=x\n").is_err());
        assert!(parse("garbage line\nudfrev=1.02\nnumfiles=1\nnumdirs=1\n").is_err());
    }
}
