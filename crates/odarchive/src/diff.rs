//! Snapshots and what changed between two of them: `odarchive snapshots`, `odarchive diff`.
//!
//! An entry row is one version of a path over a range of snapshots, so two snapshots share
//! every row that did not change. The difference is read from the rows that end before the
//! newer snapshot or start after the older one: work proportional to the change, not to the
//! drive.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::catalogue::{Catalogue, Entry, EntryKind, Unshared};
use crate::error::{Error, Result};

/// One snapshot as `odarchive snapshots` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// Snapshot id.
    pub id: i64,
    /// When its scan started and finished (ns since the epoch).
    pub started_ns: i64,
    /// `None` while the scan is unfinished.
    pub finished_ns: Option<i64>,
    /// The drive scanned (lossy UTF-8 for display).
    pub drive: String,
    /// Regular files in it.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Bytes of contents first seen in this snapshot.
    pub new_bytes: u64,
}

/// Every snapshot, oldest first.
pub fn snapshots(catalogue: &Catalogue) -> Result<Vec<SnapshotSummary>> {
    let new_bytes = catalogue.new_bytes_by_snapshot()?;
    let counts = catalogue.file_totals_by_snapshot()?;
    Ok(catalogue
        .snapshots()?
        .into_iter()
        .map(|s| {
            let (files, bytes) = counts.get(&s.id).copied().unwrap_or_default();
            SnapshotSummary {
                id: s.id,
                started_ns: s.started_ns,
                finished_ns: s.finished_ns,
                drive: s.drive_path.to_string_lossy().into_owned(),
                files,
                bytes,
                new_bytes: new_bytes.get(&s.id).copied().unwrap_or(0),
            }
        })
        .collect())
}

/// A path that exists in both snapshots with different contents or attributes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Modified {
    /// The path (lossy UTF-8 for display).
    pub path: String,
    /// What differs: `content`, `kind`, `target`, `mtime`, `mode`, `owner` (owner or group
    /// ids, where both versions recorded them).
    pub changed: Vec<&'static str>,
}

/// A content that left one path and appeared at another.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Moved {
    /// Where it was.
    pub from: String,
    /// Where it is.
    pub to: String,
}

/// What changed from snapshot `from` to snapshot `to`.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Diff {
    /// The older snapshot.
    pub from: i64,
    /// The newer snapshot.
    pub to: i64,
    /// Paths only in the newer snapshot (moves left out).
    pub added: Vec<String>,
    /// Paths only in the older snapshot (moves left out).
    pub removed: Vec<String>,
    /// Paths in both whose entry changed.
    pub modified: Vec<Modified>,
    /// Files whose content moved to another path.
    pub moved: Vec<Moved>,
}

/// The difference between two snapshots; `None`s default to the last two complete ones.
pub fn diff(catalogue: &Catalogue, from: Option<i64>, to: Option<i64>) -> Result<Diff> {
    let complete: Vec<i64> = catalogue
        .snapshots()?
        .into_iter()
        .filter(|s| s.finished_ns.is_some())
        .map(|s| s.id)
        .collect();
    let to = match to {
        Some(t) => t,
        None => *complete.last().ok_or_else(|| Error::NoSnapshot {
            path: catalogue.path().to_owned(),
        })?,
    };
    let from = match from {
        Some(f) => f,
        None => *complete
            .iter()
            .rev()
            .find(|&&s| s < to)
            .ok_or_else(|| Error::NoSnapshot {
                path: catalogue.path().to_owned(),
            })?,
    };
    let (older, newer) = (from.min(to), from.max(to));
    // Rows in the older snapshot that end before the newer one, and rows in the newer one
    // that start after the older one: exactly the rows the two do not share.
    let old = catalogue.unshared_entries(Unshared::OnlyInOlder, older, newer)?;
    let new = catalogue.unshared_entries(Unshared::OnlyInNewer, older, newer)?;
    let (old, new) = if from <= to { (old, new) } else { (new, old) };
    let mut out = Diff {
        from,
        to,
        ..Diff::default()
    };
    let mut gone: BTreeMap<&Vec<u8>, &Entry> = BTreeMap::new();
    for (path, e) in &old {
        match new.get(path) {
            Some(n) => {
                let changed = changes(e, n);
                if !changed.is_empty() {
                    out.modified.push(Modified {
                        path: shown(path),
                        changed,
                    });
                }
            }
            None => {
                gone.insert(path, e);
            }
        }
    }
    let mut arrived: Vec<(&Vec<u8>, &Entry)> =
        new.iter().filter(|(p, _)| !old.contains_key(*p)).collect();
    // A file gone from one path whose content arrived at another has moved.
    let mut by_content: HashMap<i64, Vec<&Vec<u8>>> = HashMap::new();
    for (path, e) in &gone {
        if let (EntryKind::File, Some(c)) = (e.kind, e.content_id) {
            by_content.entry(c).or_default().push(path);
        }
    }
    arrived.retain(|(path, e)| {
        if let (EntryKind::File, Some(c)) = (e.kind, e.content_id) {
            if let Some(froms) = by_content.get_mut(&c) {
                if let Some(from) = froms.pop() {
                    gone.remove(from);
                    out.moved.push(Moved {
                        from: shown(from),
                        to: shown(path),
                    });
                    return false;
                }
            }
        }
        true
    });
    out.added = arrived.into_iter().map(|(p, _)| shown(p)).collect();
    out.removed = gone.into_keys().map(|p| shown(p)).collect();
    out.moved.sort_by(|a, b| a.to.cmp(&b.to));
    Ok(out)
}

fn changes(a: &Entry, b: &Entry) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.kind != b.kind {
        out.push("kind");
    }
    if a.content_id != b.content_id || a.size != b.size {
        out.push("content");
    }
    if a.link_target != b.link_target {
        out.push("target");
    }
    if a.mtime_ns != b.mtime_ns {
        out.push("mtime");
    }
    if a.mode != b.mode {
        out.push("mode");
    }
    if a.owner.is_some() && b.owner.is_some() && a.owner != b.owner {
        out.push("owner");
    }
    out
}

fn shown(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}
