//! Which disc holds a file: `odarchive locate PATH|GLOB...`.

use serde::Serialize;

use crate::catalogue::{Catalogue, EntryKind};
use crate::error::Result;
use crate::restore::{Selected, Selection};

/// Where one part of a located file is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Location {
    /// Disc number.
    pub disc: u32,
    /// Its label.
    pub label: String,
    /// Part number (0: the whole file).
    pub part: u32,
    /// Parts in all.
    pub parts: u32,
    /// Path of the stored file on the disc.
    pub disc_path: String,
}

/// One matching entry and where its bytes are.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    /// Path relative to the drive root (lossy UTF-8 for display).
    pub path: String,
    /// `file`, `directory` or `symlink`.
    pub kind: &'static str,
    /// Size in bytes.
    pub size: u64,
    /// Where the content is stored (several entries for a split file; empty when not on a
    /// disc yet, or for directories and symlinks, which live in the catalogue).
    pub locations: Vec<Location>,
}

/// Entries of `snapshot` (the latest complete one when `None`) matching `patterns`.
pub fn locate(
    catalogue: &Catalogue,
    patterns: &[String],
    snapshot: Option<i64>,
) -> Result<Vec<Located>> {
    let snapshot = crate::restore::select::resolve_snapshot(catalogue, snapshot)?;
    let selected = Selected::load(catalogue, snapshot, &Selection::new(patterns)?)?;
    let labels: std::collections::HashMap<u32, String> = catalogue
        .discs()?
        .into_iter()
        .map(|d| (d.number, d.label))
        .collect();
    Ok(selected
        .entries
        .iter()
        .map(|e| Located {
            path: String::from_utf8_lossy(&e.path).into_owned(),
            kind: match e.kind {
                EntryKind::File => "file",
                EntryKind::Directory => "directory",
                EntryKind::Symlink => "symlink",
            },
            size: e.size,
            locations: e
                .content_id
                .and_then(|c| selected.placements.get(&c))
                .map(|ps| {
                    ps.iter()
                        .map(|p| Location {
                            disc: p.disc,
                            label: labels.get(&p.disc).cloned().unwrap_or_default(),
                            part: p.part,
                            parts: p.parts,
                            disc_path: p.disc_path.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect())
}
