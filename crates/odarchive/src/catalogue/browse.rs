//! Browsing a snapshot as a tree, one folder page at a time (for `odarchive mount` and the
//! web page to come): an entry by its row id or by its path in a snapshot, a folder's
//! children after a cursor, and where a content's bytes are placed. Every query is answered
//! from an index, so neither memory nor time grows with the size of the catalogue.

use rusqlite::{OptionalExtension, ToSql, named_params};

use super::entries::Entry;
use super::placements::{PLACEMENT_COLUMNS, Placement, placement_at};
use super::{Catalogue, InCatalogue};
use crate::error::Result;

/// An entry `e` in snapshot `:snapshot`.
const IN_SNAPSHOT: &str = "e.first_snapshot <= :snapshot AND e.last_snapshot >= :snapshot";

impl Catalogue {
    /// The entry with row id `id`, if there is one.
    pub fn entry_by_id(&self, id: i64) -> Result<Option<Entry>> {
        let sql = format!(
            "SELECT {} FROM entry e LEFT JOIN content c ON c.id = e.content_id WHERE e.id = ?1",
            Entry::COLUMNS
        );
        let mut stmt = self.conn.prepare_cached(&sql).in_catalogue(&self.path)?;
        stmt.query_row([id], |r| Entry::from_row_at(r, 0))
            .optional()
            .in_catalogue(&self.path)
    }

    /// The version of `path` (relative, raw bytes) in `snapshot`, if it has one.
    pub fn entry_at(&self, snapshot: i64, path: &[u8]) -> Result<Option<Entry>> {
        let sql = format!(
            "SELECT {} FROM entry e LEFT JOIN content c ON c.id = e.content_id \
             WHERE e.path = :path AND {IN_SNAPSHOT} LIMIT 1",
            Entry::COLUMNS
        );
        let mut stmt = self.conn.prepare_cached(&sql).in_catalogue(&self.path)?;
        stmt.query_row(named_params! {":path": path, ":snapshot": snapshot}, |r| {
            Entry::from_row_at(r, 0)
        })
        .optional()
        .in_catalogue(&self.path)
    }

    /// Calls `visit` for the version of `path` (relative, raw bytes) in `snapshot` and, when
    /// it is a folder, for every entry below it, in path byte order. Two index ranges (the
    /// path itself, then `path/` up to `path0`, `0` being the byte after `/`), so time and
    /// memory follow the entries visited, not the catalogue.
    pub fn for_each_entry_under(
        &self,
        snapshot: i64,
        path: &[u8],
        mut visit: impl FnMut(Entry) -> Result<()>,
    ) -> Result<()> {
        if let Some(e) = self.entry_at(snapshot, path)? {
            visit(e)?;
        }
        let sql = format!(
            "SELECT {} FROM entry e LEFT JOIN content c ON c.id = e.content_id \
             WHERE e.path >= :from AND e.path < :end AND {IN_SNAPSHOT} ORDER BY e.path",
            Entry::COLUMNS
        );
        let mut stmt = self.conn.prepare_cached(&sql).in_catalogue(&self.path)?;
        let from: Vec<u8> = [path, b"/"].concat();
        let end: Vec<u8> = [path, b"0"].concat();
        let mut rows = stmt
            .query(named_params! {":from": from, ":end": end, ":snapshot": snapshot})
            .in_catalogue(&self.path)?;
        while let Some(row) = rows.next().in_catalogue(&self.path)? {
            visit(Entry::from_row_at(row, 0).in_catalogue(&self.path)?)?;
        }
        Ok(())
    }

    /// Up to `limit` children of folder `dir` (raw path, empty for the drive root) in
    /// `snapshot`, in path byte order, after the child path `after` (`None`: from the
    /// first). Grandchildren are skipped by seeking past each subfolder's subtree, so a page
    /// costs a few index seeks however deep the folders below it are.
    pub fn children_after(
        &self,
        snapshot: i64,
        dir: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let prefix: Vec<u8> = if dir.is_empty() {
            Vec::new()
        } else {
            [dir, b"/"].concat()
        };
        // Every path under `dir` lies in [prefix, end): `end` is `dir` followed by the byte
        // after '/' (for the root: no end, every path).
        // The end is a bound of its own in the SQL (not `:end IS NULL OR …`), so that the
        // index range stops there.
        let end: Vec<u8> = [dir, b"0"].concat();
        let below_end = if dir.is_empty() { "1" } else { "e.path < :end" };
        let sql = format!(
            "SELECT {} FROM entry e LEFT JOIN content c ON c.id = e.content_id \
             WHERE e.path >= :from AND {below_end} AND {IN_SNAPSHOT} \
             ORDER BY e.path",
            Entry::COLUMNS
        );
        let mut stmt = self.conn.prepare_cached(&sql).in_catalogue(&self.path)?;
        // `from` is inclusive: the prefix itself (never an entry's path), or the smallest
        // path after `after` (it followed by a zero byte).
        let mut from: Vec<u8> = match after {
            Some(a) => [a, b"\0"].concat(),
            None => prefix.clone(),
        };
        // No LIMIT: rows are made only as they are stepped, and a bound LIMIT would make
        // SQLite prepare the statement again at each query (its value is planned in).
        let mut out = Vec::new();
        'seek: while out.len() < limit {
            let all: [(&str, &dyn ToSql); 3] =
                [(":from", &from), (":snapshot", &snapshot), (":end", &end)];
            let mut rows = stmt
                .query(if dir.is_empty() { &all[..2] } else { &all[..] })
                .in_catalogue(&self.path)?;
            while let Some(row) = rows.next().in_catalogue(&self.path)? {
                let e = Entry::from_row_at(row, 0).in_catalogue(&self.path)?;
                let rest = &e.path[prefix.len()..];
                if let Some(slash) = rest.iter().position(|&b| b == b'/') {
                    // Something below the child `rest[..slash]`: go past its subtree, to the
                    // child followed by the byte after '/'.
                    from = [&prefix[..], &rest[..slash], b"0"].concat();
                    continue 'seek;
                }
                out.push(e);
                if out.len() == limit {
                    break 'seek;
                }
            }
            break;
        }
        Ok(out)
    }

    /// The placements of content `content_id` in the order [`Catalogue::for_each_placement`]
    /// gives them: by part, then as stored.
    pub fn placements_in_stored_order(&self, content_id: i64) -> Result<Vec<Placement>> {
        self.placements_ordered(content_id, "p.part, p.id")
    }

    /// Where the bytes of content `content_id` are placed: one whole placement per disc
    /// that holds it, or its parts, ordered by part and disc.
    pub fn placements_of(&self, content_id: i64) -> Result<Vec<Placement>> {
        self.placements_ordered(content_id, "p.part, d.number")
    }

    fn placements_ordered(&self, content_id: i64, order: &str) -> Result<Vec<Placement>> {
        let sql = format!(
            "SELECT {PLACEMENT_COLUMNS} FROM placement p JOIN content c ON c.id = p.content_id \
             JOIN disc d ON d.id = p.disc_id WHERE p.content_id = ?1 ORDER BY {order}"
        );
        let mut stmt = self.conn.prepare_cached(&sql).in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([content_id], |r| placement_at(r, 0))
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }
}
