//! The entries the planner reads, a page at a time: a snapshot's entries in path order,
//! with only what planning needs, so that the planner streams them instead of holding a
//! snapshot whole.

use rusqlite::named_params;

use super::{Catalogue, EntryKind, InCatalogue};
use crate::error::Result;
use crate::hash::ContentHash;

/// An entry as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEntry {
    /// Relative path (raw bytes).
    pub path: Vec<u8>,
    /// What it is.
    pub kind: EntryKind,
    /// Its content (files that were read).
    pub content_id: Option<i64>,
    /// That content's hash.
    pub hash: Option<ContentHash>,
    /// Size in bytes.
    pub size: u64,
    /// Modification time.
    pub mtime_ns: i64,
}

impl Catalogue {
    /// Up to `limit` entries of `snapshot` whose path comes after `after` (`None`: from the
    /// first), in path byte order: the `entry_by_path` index read from where the last page
    /// ended.
    pub fn plan_entries_after(
        &self,
        snapshot: i64,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<PlanEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT e.path, e.kind, e.content_id, c.hash, e.size, e.mtime_ns \
                 FROM entry e LEFT JOIN content c ON c.id = e.content_id \
                 WHERE e.path > :after AND e.first_snapshot <= :snapshot \
                 AND e.last_snapshot >= :snapshot ORDER BY e.path LIMIT :limit",
            )
            .in_catalogue(&self.path)?;
        // Every path sorts after the empty blob.
        let after = after.unwrap_or(b"");
        let rows = stmt
            .query_map(
                named_params! {":after": after, ":snapshot": snapshot, ":limit": limit as i64},
                |r| {
                    Ok(PlanEntry {
                        path: r.get(0)?,
                        kind: r.get(1)?,
                        content_id: r.get(2)?,
                        hash: r.get(3)?,
                        size: r.get::<_, i64>(4)? as u64,
                        mtime_ns: r.get(5)?,
                    })
                },
            )
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }
}
