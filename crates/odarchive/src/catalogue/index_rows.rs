//! The rows of the per-disc index (`disc::index`): every file of a snapshot in path order,
//! with the discs that hold its content, streamed.

use rusqlite::named_params;

use super::{Catalogue, EntryKind, InCatalogue};
use crate::error::Result;

/// One file of a snapshot, as the index lists it.
#[derive(Debug, Clone, Copy)]
pub struct IndexedFile<'a> {
    /// Its path (raw bytes, relative to the drive).
    pub path: &'a [u8],
    /// Its content row (`None` for a file that could not be read).
    pub content_id: Option<i64>,
    /// Bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// The numbers of the stored discs holding its content (whole or in part), ascending,
    /// separated by commas; empty for none.
    pub discs: &'a str,
}

/// Which stored discs count: those of plans up to `max_plan` numbered below `below_disc`.
#[derive(Debug, Clone, Copy)]
pub struct StoredDiscs {
    /// The newest plan whose discs count.
    pub max_plan: i64,
    /// Discs from this number on are left out (a plan being made replaces them).
    pub below_disc: u32,
}

impl Catalogue {
    /// Calls `visit` for every regular file of `snapshot`, in path order (bytewise), with the
    /// discs of `stored` that hold its content. Nothing is collected.
    pub fn for_each_indexed_file(
        &self,
        snapshot: i64,
        stored: StoredDiscs,
        mut visit: impl FnMut(IndexedFile<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.path, e.content_id, e.size, e.mtime_ns, \
                 (SELECT group_concat(number, ',') FROM (SELECT DISTINCT d.number \
                   FROM placement p JOIN disc d ON d.id = p.disc_id \
                   WHERE p.content_id = e.content_id AND d.plan_id <= :max_plan \
                   AND d.number < :below ORDER BY d.number)) \
                 FROM entry e WHERE e.kind = :file AND e.first_snapshot <= :snapshot \
                 AND e.last_snapshot >= :snapshot ORDER BY e.path",
            )
            .in_catalogue(&self.path)?;
        let mut rows = stmt
            .query(named_params! {
                ":max_plan": stored.max_plan,
                ":below": stored.below_disc,
                ":file": EntryKind::File.code(),
                ":snapshot": snapshot,
            })
            .in_catalogue(&self.path)?;
        while let Some(r) = rows.next().in_catalogue(&self.path)? {
            let path: Vec<u8> = r.get(0).in_catalogue(&self.path)?;
            let discs: Option<String> = r.get(4).in_catalogue(&self.path)?;
            visit(IndexedFile {
                path: &path,
                content_id: r.get(1).in_catalogue(&self.path)?,
                size: r.get::<_, i64>(2).in_catalogue(&self.path)? as u64,
                mtime_ns: r.get(3).in_catalogue(&self.path)?,
                discs: discs.as_deref().unwrap_or(""),
            })?;
        }
        Ok(())
    }
}
