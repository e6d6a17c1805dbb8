//! Entries looked up by path: what a scan compares a file with, the mtimes a disc's folders
//! get, the `--first` paths a plan checks, and the names a plan must escape. Lookups done once
//! per file use SQLite's statement cache, so they are prepared once per connection.

use rusqlite::OptionalExtension;

use super::{Catalogue, EntryKind, InCatalogue};
use crate::error::Result;

/// The newest recorded version of a path, as far as deciding whether to read it again goes
/// ([`Catalogue::recorded_version`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordedVersion {
    pub id: i64,
    pub kind: EntryKind,
    pub content_id: Option<i64>,
    pub size: u64,
    pub mtime_ns: i64,
    pub mode: u32,
    pub link_target: Option<Vec<u8>>,
    pub inode: u64,
    /// Owner and group ids; `None` when recorded before owners were.
    pub owner: Option<(u32, u32)>,
    pub first_snapshot: i64,
    pub last_snapshot: i64,
}

impl Catalogue {
    /// Whether the catalogue has no entry at all (a first scan has nothing to compare with).
    pub(crate) fn has_no_entries(&self) -> Result<bool> {
        self.conn
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM entry)", [], |r| r.get(0))
            .in_catalogue(&self.path)
    }

    /// The newest recorded version of `path` (relative, raw bytes) in a snapshot up to
    /// `snapshot`.
    pub(crate) fn recorded_version(
        &self,
        path: &[u8],
        snapshot: i64,
    ) -> Result<Option<RecordedVersion>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, kind, content_id, size, mtime_ns, mode, link_target, inode,
                        first_snapshot, last_snapshot, uid, gid
                 FROM entry WHERE path = ?1 AND last_snapshot <= ?2
                 ORDER BY last_snapshot DESC LIMIT 1",
            )
            .in_catalogue(&self.path)?;
        stmt.query_row((path, snapshot), |r| {
            Ok(RecordedVersion {
                id: r.get(0)?,
                kind: r.get(1)?,
                content_id: r.get(2)?,
                size: r.get::<_, i64>(3)? as u64,
                mtime_ns: r.get(4)?,
                mode: r.get::<_, i64>(5)? as u32,
                link_target: r.get(6)?,
                inode: r.get::<_, i64>(7)? as u64,
                first_snapshot: r.get(8)?,
                last_snapshot: r.get(9)?,
                owner: match (r.get::<_, Option<i64>>(10)?, r.get::<_, Option<i64>>(11)?) {
                    (Some(uid), Some(gid)) => Some((uid as u32, gid as u32)),
                    _ => None,
                },
            })
        })
        .optional()
        .in_catalogue(&self.path)
    }

    /// The mtime of `path` (relative, raw bytes) in `snapshot`, if it is there.
    pub(crate) fn entry_mtime(&self, path: &[u8], snapshot: i64) -> Result<Option<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT mtime_ns FROM entry WHERE path = ?1 AND first_snapshot <= ?2 \
                 AND last_snapshot >= ?2 LIMIT 1",
            )
            .in_catalogue(&self.path)?;
        stmt.query_row((path, snapshot), |r| r.get(0))
            .optional()
            .in_catalogue(&self.path)
    }

    /// Whether `path` (relative, raw bytes) is an entry of `snapshot`.
    pub(crate) fn has_entry(&self, path: &[u8], snapshot: i64) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM entry WHERE path = ?1 AND first_snapshot <= ?2 \
                 AND last_snapshot >= ?2 LIMIT 1",
            )
            .in_catalogue(&self.path)?;
        stmt.exists((path, snapshot)).in_catalogue(&self.path)
    }

    /// The paths of `snapshot` with a `%` or `.part` in them: the few whose disc names the
    /// planner may have to escape.
    pub(crate) fn paths_with_percent_or_part(&self, snapshot: i64) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path FROM entry WHERE first_snapshot <= ?1 AND last_snapshot >= ?1 \
                 AND (instr(path, x'25') > 0 OR instr(path, CAST('.part' AS BLOB)) > 0)",
            )
            .in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([snapshot], |r| r.get::<_, Vec<u8>>(0))
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }
}
