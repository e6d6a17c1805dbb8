//! The queries behind `odarchive snapshots` and `odarchive diff` ([`crate::diff`]): totals per
//! snapshot, and the entry rows two snapshots do not share.

use std::collections::{BTreeMap, HashMap};

use rusqlite::Row;

use super::{Catalogue, Entry, EntryKind, InCatalogue, Owner};
use crate::error::Result;

/// Which of the rows two snapshots do not share ([`Catalogue::unshared_entries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unshared {
    /// Rows of the older snapshot that end before the newer one.
    OnlyInOlder,
    /// Rows of the newer snapshot that start after the older one.
    OnlyInNewer,
}

impl Catalogue {
    /// Bytes of the contents first seen in each snapshot, by snapshot id.
    pub(crate) fn new_bytes_by_snapshot(&self) -> Result<HashMap<i64, u64>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT first, sum(size) FROM (SELECT c.size AS size, \
                 min(e.first_snapshot) AS first \
                 FROM content c JOIN entry e ON e.content_id = c.id GROUP BY c.id) GROUP BY first",
            )
            .in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }

    /// Regular files and their bytes in each snapshot, by snapshot id.
    pub(crate) fn file_totals_by_snapshot(&self) -> Result<HashMap<i64, (u64, u64)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.id, count(e.id), coalesce(sum(e.size), 0) FROM snapshot s \
                 LEFT JOIN entry e ON e.kind = ?1 AND e.first_snapshot <= s.id \
                 AND e.last_snapshot >= s.id GROUP BY s.id",
            )
            .in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([EntryKind::File], |r| {
                Ok((
                    r.get(0)?,
                    (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64),
                ))
            })
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }

    /// The entry rows of snapshots `older` and `newer` that the other does not share, by
    /// path. Only what a diff compares is read: no hash, device, inode, snapshot range or
    /// owner names.
    pub(crate) fn unshared_entries(
        &self,
        which: Unshared,
        older: i64,
        newer: i64,
    ) -> Result<BTreeMap<Vec<u8>, Entry>> {
        let condition = match which {
            Unshared::OnlyInOlder => {
                "first_snapshot <= ?1 AND last_snapshot >= ?1 AND last_snapshot < ?2"
            }
            Unshared::OnlyInNewer => {
                "first_snapshot <= ?2 AND last_snapshot >= ?2 AND first_snapshot > ?1"
            }
        };
        let sql = format!(
            "SELECT id, path, kind, content_id, size, mtime_ns, mode, link_target, uid, gid \
             FROM entry WHERE {condition}"
        );
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let mut rows = stmt.query((older, newer)).in_catalogue(&self.path)?;
        let mut out = BTreeMap::new();
        while let Some(row) = rows.next().in_catalogue(&self.path)? {
            let e = compared_entry(row).in_catalogue(&self.path)?;
            out.insert(e.path.clone(), e);
        }
        Ok(out)
    }
}

fn compared_entry(r: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        path: r.get(1)?,
        kind: r.get(2)?,
        content_id: r.get(3)?,
        hash: None,
        size: r.get::<_, i64>(4)? as u64,
        mtime_ns: r.get(5)?,
        mode: r.get::<_, i64>(6)? as u32,
        link_target: r.get(7)?,
        dev: 0,
        inode: 0,
        owner: match (r.get::<_, Option<i64>>(8)?, r.get::<_, Option<i64>>(9)?) {
            (Some(uid), Some(gid)) => Some(Owner {
                uid: uid as u32,
                gid: gid as u32,
                user: None,
                group: None,
            }),
            _ => None,
        },
        first_snapshot: 0,
        last_snapshot: 0,
    })
}
