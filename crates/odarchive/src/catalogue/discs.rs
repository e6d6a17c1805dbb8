//! Plans, discs and placements (schema version 2): what is on which disc, and in which state
//! each disc is.

use rusqlite::{OptionalExtension, Row, named_params, params};

use super::{Catalogue, InCatalogue};
use crate::error::Result;
use crate::hash::ContentHash;
use crate::time::now_ns;

/// Where a disc is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscState {
    /// Planned; no image written yet.
    Planned,
    /// Its image is written and its SHA-256 recorded.
    Written,
    /// Its image or disc was read back and checked.
    Verified,
}

impl DiscState {
    /// The text stored in `disc.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscState::Planned => "planned",
            DiscState::Written => "written",
            DiscState::Verified => "verified",
        }
    }

    fn parse(s: &str) -> DiscState {
        match s {
            "written" => DiscState::Written,
            "verified" => DiscState::Verified,
            _ => DiscState::Planned,
        }
    }
}

/// A row of the `plan` table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanRecord {
    /// Plan number.
    pub id: i64,
    /// When it was made (ns since the epoch); also the creation time of its images.
    pub created_ns: i64,
    /// The snapshot it puts on discs.
    pub snapshot: i64,
    /// The medium name or size as given.
    pub media: String,
    /// Capacity of the medium in bytes.
    pub capacity: u64,
    /// Bytes left unused on every disc.
    pub margin: u64,
    /// The `--first` paths, in order.
    pub first_paths: Vec<String>,
    /// Folders whose files span more than one disc.
    pub folders_split: u64,
    /// Exact size of the catalogue file on each disc of the plan.
    pub catalogue_size: u64,
    /// Whether that file is gzipped (`catalogue.json.gz`).
    pub catalogue_gzip: bool,
}

/// A row of the `disc` table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiscRecord {
    /// Row id.
    pub id: i64,
    /// Disc number, 1-based, unique in the set.
    pub number: u32,
    /// The plan that made it.
    pub plan_id: i64,
    /// The snapshot it holds contents of.
    pub snapshot: i64,
    /// Capacity of its medium in bytes.
    pub capacity: u64,
    /// Margin left unused, bytes.
    pub margin: u64,
    /// The medium name or size as given.
    pub media: String,
    /// Volume label (ISO 9660 volume id).
    pub label: String,
    /// Planned, written or verified.
    pub state: DiscState,
    /// Exact size of its image in bytes.
    pub image_size: u64,
    /// Data files (whole contents and parts) on it.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// File name of its image in the output folder, once written.
    pub image_name: Option<String>,
    /// SHA-256 of the image, once written.
    #[serde(serialize_with = "hex_opt")]
    pub image_sha256: Option<[u8; 32]>,
    /// When it was written, ns since the epoch.
    pub written_ns: Option<i64>,
    /// When it was last verified.
    pub verified_ns: Option<i64>,
    /// The archive set it belongs to: the archive's own set, or for a disc brought in by
    /// [`Catalogue::merge`] the set of the catalogue that planned it.
    pub set_id: String,
}

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

/// Makes the placements of a plan being stored, handing each to the function it is given
/// ([`Catalogue::store_plan_with`]).
pub type PlacementSource<'a> =
    &'a mut dyn FnMut(&mut dyn FnMut(&Placement) -> Result<()>) -> Result<()>;

fn hex_opt<S: serde::Serializer>(
    h: &Option<[u8; 32]>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.serialize_str(&crate::hex(h)),
        None => s.serialize_none(),
    }
}

const PLAN_COLUMNS: &str = "id, created_ns, snapshot, media, capacity, margin, first_paths, \
     folders_split, catalogue_size, catalogue_gzip";

fn plan_from_row(r: &Row<'_>) -> rusqlite::Result<PlanRecord> {
    let first: String = r.get(6)?;
    Ok(PlanRecord {
        id: r.get(0)?,
        created_ns: r.get(1)?,
        snapshot: r.get(2)?,
        media: r.get(3)?,
        capacity: r.get::<_, i64>(4)? as u64,
        margin: r.get::<_, i64>(5)? as u64,
        first_paths: serde_json::from_str(&first).unwrap_or_default(),
        folders_split: r.get::<_, i64>(7)? as u64,
        catalogue_size: r.get::<_, i64>(8)? as u64,
        catalogue_gzip: r.get(9)?,
    })
}

/// A placement `p` whose content has a version in snapshot `:snapshot`.
const IN_SNAPSHOT: &str = "EXISTS (SELECT 1 FROM entry e WHERE e.content_id = p.content_id \
     AND e.first_snapshot <= :snapshot AND e.last_snapshot >= :snapshot)";

const DISC_COLUMNS: &str = "id, number, plan_id, snapshot, capacity, margin, media, label, \
     state, image_size, files, bytes, image_name, image_sha256, written_ns, verified_ns, \
     coalesce(set_id, (SELECT set_id FROM archive))";

fn disc_from_row(r: &Row<'_>) -> rusqlite::Result<DiscRecord> {
    let state: String = r.get(8)?;
    let sha: Option<Vec<u8>> = r.get(13)?;
    Ok(DiscRecord {
        id: r.get(0)?,
        number: r.get(1)?,
        plan_id: r.get(2)?,
        snapshot: r.get(3)?,
        capacity: r.get::<_, i64>(4)? as u64,
        margin: r.get::<_, i64>(5)? as u64,
        media: r.get(6)?,
        label: r.get(7)?,
        state: DiscState::parse(&state),
        image_size: r.get::<_, i64>(9)? as u64,
        files: r.get::<_, i64>(10)? as u64,
        bytes: r.get::<_, i64>(11)? as u64,
        image_name: r.get(12)?,
        image_sha256: sha.and_then(|s| s.try_into().ok()),
        written_ns: r.get(14)?,
        verified_ns: r.get(15)?,
        set_id: r.get(16)?,
    })
}

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

impl Catalogue {
    /// Every disc, by number.
    pub fn discs(&self) -> Result<Vec<DiscRecord>> {
        let sql = format!("SELECT {DISC_COLUMNS} FROM disc ORDER BY number");
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let rows = stmt.query_map([], disc_from_row).in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }

    /// A plan row.
    pub fn plan_record(&self, id: i64) -> Result<Option<PlanRecord>> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM plan WHERE id = ?1");
        self.conn
            .query_row(&sql, [id], plan_from_row)
            .optional()
            .in_catalogue(&self.path)
    }

    /// The plans with ids up to `max_id`, oldest first.
    pub fn plans_up_to(&self, max_id: i64) -> Result<Vec<PlanRecord>> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM plan WHERE id <= ?1 ORDER BY id");
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([max_id], plan_from_row)
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
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

    /// Replaces every disc still `planned` (and its placements, and plans left without discs)
    /// by a new plan with `discs`, in one transaction; written discs are never touched. The
    /// placements are made while they are stored: `fill` is called once, inside the
    /// transaction, and hands each placement to the function it is given, so a plan's
    /// placements never need to be in memory at once.
    pub fn store_plan_with(
        &mut self,
        plan: &PlanRecord,
        discs: &[DiscRecord],
        fill: PlacementSource<'_>,
    ) -> Result<i64> {
        let path = self.path.clone();
        let tx = self.conn.transaction().in_catalogue(&path)?;
        tx.execute_batch(
            "DELETE FROM placement WHERE disc_id IN (SELECT id FROM disc WHERE state = 'planned');
             DELETE FROM disc WHERE state = 'planned';
             DELETE FROM plan WHERE id NOT IN (SELECT plan_id FROM disc);",
        )
        .in_catalogue(&path)?;
        let p = plan;
        tx.execute(
            "INSERT INTO plan (created_ns, snapshot, media, capacity, margin, first_paths, \
             folders_split, catalogue_size, catalogue_gzip) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                p.created_ns,
                p.snapshot,
                p.media,
                p.capacity as i64,
                p.margin as i64,
                serde_json::to_string(&p.first_paths).unwrap_or_else(|_| "[]".into()),
                p.folders_split as i64,
                p.catalogue_size as i64,
                p.catalogue_gzip,
            ],
        )
        .in_catalogue(&path)?;
        let plan_id = tx.last_insert_rowid();
        let mut disc_ids = std::collections::HashMap::new();
        for d in discs {
            tx.execute(
                "INSERT INTO disc (number, plan_id, snapshot, capacity, margin, media, label, \
                 state, image_size, files, bytes) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'planned', ?8, ?9, ?10)",
                params![
                    d.number,
                    plan_id,
                    d.snapshot,
                    d.capacity as i64,
                    d.margin as i64,
                    d.media,
                    d.label,
                    d.image_size as i64,
                    d.files as i64,
                    d.bytes as i64,
                ],
            )
            .in_catalogue(&path)?;
            disc_ids.insert(d.number, tx.last_insert_rowid());
        }
        // Contents whose split continues from written discs: every part row, old and new,
        // gets the final number of parts.
        let mut continued: Vec<(i64, u32)> = Vec::new();
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO placement (content_id, disc_id, part, parts, offset, length, \
                     part_hash, disc_path, iso_path, entry_path, name_path) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .in_catalogue(&path)?;
            fill(&mut |pl: &Placement| {
                let disc_id = disc_ids.get(&pl.disc).copied().unwrap_or(0);
                stmt.execute(params![
                    pl.content_id,
                    disc_id,
                    pl.part,
                    pl.parts,
                    pl.offset as i64,
                    pl.length as i64,
                    pl.part_hash,
                    pl.disc_path,
                    pl.iso_path,
                    pl.entry_path,
                    pl.name_path,
                ])
                .in_catalogue(&path)?;
                if pl.part > 1 && pl.part == pl.parts {
                    continued.push((pl.content_id, pl.parts));
                }
                Ok(())
            })?;
        }
        {
            let mut stmt = tx
                .prepare("UPDATE placement SET parts = ?2 WHERE content_id = ?1")
                .in_catalogue(&path)?;
            for (content_id, parts) in continued {
                stmt.execute(params![content_id, parts])
                    .in_catalogue(&path)?;
            }
        }
        tx.commit().in_catalogue(&path)?;
        Ok(plan_id)
    }

    /// Records that disc `number` (written) was read back and found intact.
    pub fn mark_verified(&mut self, number: u32) -> Result<()> {
        self.conn
            .execute(
                "UPDATE disc SET state = 'verified', verified_ns = ?1 \
                 WHERE number = ?2 AND state != 'planned'",
                params![now_ns(), number],
            )
            .in_catalogue(&self.path)?;
        Ok(())
    }

    /// The contents of `snapshot` that disc `number` holds (whole or in part).
    pub fn contents_of_snapshot_on(
        &self,
        number: u32,
        snapshot: i64,
    ) -> Result<std::collections::HashSet<i64>> {
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

    /// Records that disc `number` was written as `image_name` with this SHA-256.
    pub fn mark_written(&mut self, number: u32, image_name: &str, sha256: &[u8; 32]) -> Result<()> {
        self.conn
            .execute(
                "UPDATE disc SET state = 'written', image_name = ?2, image_sha256 = ?3, \
                 written_ns = ?4 WHERE number = ?1",
                params![number, image_name, sha256.to_vec(), now_ns()],
            )
            .in_catalogue(&self.path)?;
        Ok(())
    }

    /// What written (or verified) discs hold of each content: complete, or the first parts
    /// of a split content (parts 1..=k, as bytes `0..end`), which a new plan continues.
    /// Contents whose written parts are not such a prefix are left out (planned again whole).
    pub fn written_extents(&self) -> Result<std::collections::HashMap<i64, WrittenExtent>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.content_id, p.part, p.parts, p.offset, p.length \
                 FROM placement p JOIN disc d ON d.id = p.disc_id \
                 WHERE d.state != 'planned' ORDER BY p.content_id, p.part",
            )
            .in_catalogue(&self.path)?;
        let mut rows = stmt.query([]).in_catalogue(&self.path)?;
        let mut out = std::collections::HashMap::new();
        let mut broken = std::collections::HashSet::new();
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

    /// A catalogue with one content of 100 bytes, and placements given as (disc state, part,
    /// parts, offset, length), each on a disc of its own.
    fn with_placements(rows: &[(&str, u32, u32, u64, u64)]) -> (tempfile::TempDir, Catalogue) {
        let dir = tempfile::tempdir().unwrap();
        let catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let conn = catalogue.connection();
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
}
