//! The `placement` table: where each content, or each part of a split content, is stored,
//! and what written discs hold.

use std::collections::{HashMap, HashSet};

use rusqlite::{Row, named_params};

use super::{Catalogue, InCatalogue};
use crate::error::Result;
use crate::hash::ContentHash;

/// Where one content, or one part of it, is stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Placement {
    /// The content row.
    pub content_id: i64,
    /// The content's hash (in the catalogue's algorithm).
    pub content_hash: ContentHash,
    /// The content's size.
    pub content_size: u64,
    /// The disc number.
    pub disc: u32,
    /// 0 for the whole content, else 1..=`parts`.
    pub part: u32,
    /// Number of parts (1 for a whole content).
    pub parts: u32,
    /// Where the part starts in the content.
    pub offset: u64,
    /// Its length.
    pub length: u64,
    /// Hash of the part, in the catalogue's algorithm; `None` for a whole content (its hash is
    /// the content's).
    pub part_hash: Option<ContentHash>,
    /// The catalogue path (raw bytes, relative to the drive) whose name it is stored under.
    pub entry_path: Vec<u8>,
    /// The path given to the image writer: `Data/` and the escaped names.
    pub name_path: String,
    /// UDF path under the disc root as written, e.g. `Data/Photos/a.jpg`.
    pub disc_path: String,
    /// ISO 9660 path of the same file.
    pub iso_path: String,
}

impl Placement {
    /// The hash of the bytes stored in this file: the part's, or the content's.
    pub fn stored_hash(&self) -> ContentHash {
        self.part_hash.unwrap_or(self.content_hash)
    }
}

/// What written discs hold of one content ([`Catalogue::written_extents`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenExtent {
    /// The whole content is on written discs.
    pub complete: bool,
    /// Bytes `0..end` are (as parts 1..=`parts`).
    pub end: u64,
    /// Parts written.
    pub parts: u32,
}

/// Where a file's data lies on its disc image: `length` contiguous bytes from byte
/// `sector * 2048` (what `dd bs=2048 skip=SECTOR` reads). An empty file has sector 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DiscExtent {
    /// First logical sector (2048 bytes) of the data.
    pub sector: u32,
    /// Its length in bytes: the placement's length.
    pub length: u64,
}

/// A placement `p` whose content has a version in snapshot `:snapshot`.
const IN_SNAPSHOT: &str = "EXISTS (SELECT 1 FROM entry e WHERE e.content_id = p.content_id \
     AND e.first_snapshot <= :snapshot AND e.last_snapshot >= :snapshot)";

/// The columns [`placement_at`] reads, from `placement p`, its `content c` and `disc d`.
pub(super) const PLACEMENT_COLUMNS: &str = "p.content_id, c.hash, c.size, d.number, p.part, \
     p.parts, p.offset, p.length, p.part_hash, p.disc_path, p.iso_path, p.entry_path, p.name_path";

const PLACEMENT_FROM: &str =
    "FROM placement p JOIN content c ON c.id = p.content_id JOIN disc d ON d.id = p.disc_id";

fn placement_from_row(r: &Row<'_>) -> rusqlite::Result<Placement> {
    placement_at(r, 0)
}

/// Reads [`PLACEMENT_COLUMNS`] from `r`, starting at column `at`.
pub(super) fn placement_at(r: &Row<'_>, at: usize) -> rusqlite::Result<Placement> {
    Ok(Placement {
        content_id: r.get(at)?,
        content_hash: r.get(at + 1)?,
        content_size: r.get::<_, i64>(at + 2)? as u64,
        disc: r.get(at + 3)?,
        part: r.get(at + 4)?,
        parts: r.get(at + 5)?,
        offset: r.get::<_, i64>(at + 6)? as u64,
        length: r.get::<_, i64>(at + 7)? as u64,
        part_hash: r.get(at + 8)?,
        entry_path: r.get(at + 11)?,
        name_path: r.get(at + 12)?,
        disc_path: r.get(at + 9)?,
        iso_path: r.get(at + 10)?,
    })
}

/// Records the first sector of each file of written disc `number`, by its disc path.
pub(super) fn record_sectors(
    conn: &rusqlite::Connection,
    number: u32,
    extents: &[(String, u32)],
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE placement SET sector = ?3 WHERE disc_path = ?2 \
         AND disc_id = (SELECT id FROM disc WHERE number = ?1)",
    )?;
    for (disc_path, sector) in extents {
        stmt.execute(rusqlite::params![number, disc_path, sector])?;
    }
    Ok(())
}

impl Catalogue {
    /// Where the file at `disc_path` (UDF path under the disc root, as in
    /// [`Placement::disc_path`]) lies on disc `number`; `None` if the disc has no such file
    /// or its sectors were not recorded (a disc written before they were, or imported).
    pub fn extent_of(&self, number: u32, disc_path: &str) -> Result<Option<DiscExtent>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT p.sector, p.length FROM placement p JOIN disc d ON d.id = p.disc_id \
                 WHERE d.number = ?1 AND p.disc_path = ?2 AND p.sector IS NOT NULL",
            )
            .in_catalogue(&self.path)?;
        let mut rows = stmt
            .query(rusqlite::params![number, disc_path])
            .in_catalogue(&self.path)?;
        let Some(r) = rows.next().in_catalogue(&self.path)? else {
            return Ok(None);
        };
        Ok(Some(DiscExtent {
            sector: r.get(0).in_catalogue(&self.path)?,
            length: r.get::<_, i64>(1).in_catalogue(&self.path)? as u64,
        }))
    }

    /// The placements on one disc, by path on the disc.
    pub fn placements_on(&self, disc_number: u32) -> Result<Vec<Placement>> {
        let sql = format!(
            "SELECT {PLACEMENT_COLUMNS} {PLACEMENT_FROM} WHERE d.number = ?1 ORDER BY p.disc_path"
        );
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([disc_number], placement_from_row)
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }

    /// Calls `visit` for every placement, ordered by content and part.
    pub fn for_each_placement(&self, mut visit: impl FnMut(Placement) -> Result<()>) -> Result<()> {
        let sql =
            format!("SELECT {PLACEMENT_COLUMNS} {PLACEMENT_FROM} ORDER BY p.content_id, p.part");
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let mut rows = stmt.query([]).in_catalogue(&self.path)?;
        while let Some(row) = rows.next().in_catalogue(&self.path)? {
            visit(placement_from_row(row).in_catalogue(&self.path)?)?;
        }
        Ok(())
    }

    /// The contents of `snapshot` that disc `number` holds (whole or in part).
    pub fn contents_of_snapshot_on(&self, number: u32, snapshot: i64) -> Result<HashSet<i64>> {
        let sql = format!(
            "SELECT DISTINCT p.content_id FROM placement p JOIN disc d ON d.id = p.disc_id \
             WHERE d.number = :number AND {IN_SNAPSHOT}"
        );
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let rows = stmt
            .query_map(
                named_params! {":number": number, ":snapshot": snapshot},
                |r| r.get(0),
            )
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }

    /// The written discs that hold contents of `snapshot`: all of them are needed to restore
    /// it.
    pub fn discs_holding(&self, snapshot: i64) -> Result<Vec<u32>> {
        let sql = format!(
            "SELECT DISTINCT d.number FROM placement p JOIN disc d ON d.id = p.disc_id \
             WHERE d.state != 'planned' AND {IN_SNAPSHOT} ORDER BY d.number"
        );
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let rows = stmt
            .query_map(named_params! {":snapshot": snapshot}, |r| r.get(0))
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }

    /// What written (or verified) discs hold of each content: complete, or the first parts
    /// of a split content (parts 1..=k, as bytes `0..end`), which a new plan continues.
    /// Contents whose written parts are not such a prefix are left out (planned again whole).
    pub fn written_extents(&self) -> Result<HashMap<i64, WrittenExtent>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.content_id, p.part, p.parts, p.offset, p.length \
                 FROM placement p JOIN disc d ON d.id = p.disc_id \
                 WHERE d.state != 'planned' ORDER BY p.content_id, p.part",
            )
            .in_catalogue(&self.path)?;
        let mut rows = stmt.query([]).in_catalogue(&self.path)?;
        let mut out = HashMap::new();
        let mut broken = HashSet::new();
        while let Some(r) = rows.next().in_catalogue(&self.path)? {
            let id: i64 = r.get(0).in_catalogue(&self.path)?;
            let part: u32 = r.get(1).in_catalogue(&self.path)?;
            let parts: u32 = r.get(2).in_catalogue(&self.path)?;
            let offset = r.get::<_, i64>(3).in_catalogue(&self.path)? as u64;
            let length = r.get::<_, i64>(4).in_catalogue(&self.path)? as u64;
            let e = out.entry(id).or_insert(WrittenExtent {
                complete: false,
                end: 0,
                parts: 0,
            });
            // After a merge, discs of two sets may both hold a content (whole on one, split on
            // another): one complete copy is enough, and a second chain of parts is no break.
            if e.complete {
                continue;
            }
            if part == 0 {
                e.complete = true;
            } else if part == e.parts + 1 && offset == e.end {
                e.parts = part;
                e.end += length;
                e.complete = part == parts;
            } else if !(part <= e.parts && offset < e.end) {
                broken.insert(id);
            }
        }
        out.retain(|id, e| e.complete || !broken.contains(id));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    /// A catalogue with one content of 100 bytes, and placements given as (disc state, part,
    /// parts, offset, length), each on a disc of its own.
    fn with_placements(rows: &[(&str, u32, u32, u64, u64)]) -> (tempfile::TempDir, Catalogue) {
        let dir = tempfile::tempdir().unwrap();
        let catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let conn = &catalogue.conn;
        conn.execute_batch(
            "INSERT INTO snapshot (id, drive_path, started_ns, state) VALUES (1, x'2f', 0, 'complete');
             INSERT INTO content (id, hash, size) VALUES (1, zeroblob(32), 100);
             INSERT INTO plan (id, created_ns, snapshot, media, capacity, margin, first_paths,
                               folders_split, catalogue_size, catalogue_gzip)
                  VALUES (1, 0, 1, 'cd', 0, 0, '[]', 0, 0, 0);",
        )
        .unwrap();
        for (i, (state, part, parts, offset, length)) in rows.iter().enumerate() {
            let number = i as i64 + 1;
            conn.execute(
                "INSERT INTO disc (id, number, plan_id, snapshot, capacity, margin, media, label, \
                 state, image_size, files, bytes) VALUES (?1, ?1, 1, 1, 0, 0, 'cd', ?1, ?2, 0, 1, 0)",
                params![number, state],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO placement (content_id, disc_id, part, parts, offset, length, \
                 entry_path, name_path, disc_path, iso_path) \
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, x'61', 'Data/a', 'Data/a', 'DATA/A;1')",
                params![number, part, parts, *offset as i64, *length as i64],
            )
            .unwrap();
        }
        (dir, catalogue)
    }

    #[test]
    fn a_complete_copy_stays_complete_beside_another_sets_first_parts() {
        // Whole on one set's disc, the first of two parts on another set's disc.
        let (_dir, c) = with_placements(&[("written", 0, 1, 0, 100), ("written", 1, 2, 0, 60)]);
        assert!(c.written_extents().unwrap()[&1].complete);
    }

    #[test]
    fn first_parts_continue_and_planned_discs_do_not_count() {
        let (_dir, c) = with_placements(&[("written", 1, 2, 0, 60), ("planned", 2, 2, 60, 40)]);
        let e = c.written_extents().unwrap()[&1];
        assert_eq!((e.complete, e.end, e.parts), (false, 60, 1));
    }

    #[test]
    fn two_sets_splitting_a_content_alike_complete_it_once() {
        let (_dir, c) = with_placements(&[
            ("written", 1, 2, 0, 60),
            ("verified", 1, 2, 0, 60),
            ("written", 2, 2, 60, 40),
        ]);
        assert!(c.written_extents().unwrap()[&1].complete);
    }

    #[test]
    fn a_version_7_catalogue_upgrades_with_no_sectors_nor_index_and_records_sectors_when_written() {
        let (dir, c) = with_placements(&[("planned", 0, 1, 0, 100)]);
        drop(c);
        let path = dir.path().join("c.db");
        // The same catalogue as version 7 wrote it: no sector column (nor those of versions 9
        // and 12).
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(
            "ALTER TABLE placement DROP COLUMN sector; ALTER TABLE plan DROP COLUMN index_size;
             ALTER TABLE snapshot DROP COLUMN unhashed_files;
             ALTER TABLE snapshot DROP COLUMN largest_path;
             ALTER TABLE snapshot DROP COLUMN largest_size;
             ALTER TABLE plan DROP COLUMN set_parity; ALTER TABLE plan DROP COLUMN set_group;
             PRAGMA user_version = 7;",
        )
        .unwrap();
        drop(raw);
        let mut c = Catalogue::open(&path).unwrap();
        assert_eq!(
            c.schema_version().unwrap(),
            super::super::schema::SCHEMA_VERSION
        );
        assert_eq!(
            c.extent_of(1, "Data/a").unwrap(),
            None,
            "not recorded before"
        );
        c.mark_written(1, "x.iso", &[7; 32], &[("Data/a".to_owned(), 300)])
            .unwrap();
        let extent = c.extent_of(1, "Data/a").unwrap();
        assert_eq!(
            extent,
            Some(DiscExtent {
                sector: 300,
                length: 100
            })
        );
        assert_eq!(c.extent_of(1, "Data/b").unwrap(), None);
        assert_eq!(c.extent_of(2, "Data/a").unwrap(), None);
        assert_eq!(
            c.discs().unwrap()[0].state,
            crate::catalogue::DiscState::Written
        );
    }
}
