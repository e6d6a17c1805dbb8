//! The `plan` table, and storing a new plan with its discs and placements in one
//! transaction.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::discs::insert_disc;
use super::{Catalogue, DiscRecord, DiscState, InCatalogue, Placement};
use crate::error::{Error, Result};

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
    /// Parity percent on every disc of the plan (0: none; plans made before schema 7).
    pub parity_percent: u8,
    /// Exact size of `INDEX.tsv.gz` on each disc of the plan (0: none; plans made before
    /// schema 8).
    pub index_size: u64,
    /// Parity discs a set-parity group, as asked (0: none, or a plan made before schema 12).
    pub set_parity: u32,
    /// Discs a set-parity group, as asked (0: no set parity, or a plan made before schema 12;
    /// its groups then say what they hold, which for a plan of fewer discs is less).
    pub set_group: u32,
}

const PLAN_COLUMNS: &str = "id, created_ns, snapshot, media, capacity, margin, first_paths, \
     folders_split, catalogue_size, catalogue_gzip, parity_percent, index_size, set_parity, \
     set_group";

fn plan_from_row(r: &Row<'_>) -> rusqlite::Result<PlanRecord> {
    let first: String = r.get(6)?;
    let first_paths = super::values::first_paths_from(&first, 6)?;
    Ok(PlanRecord {
        id: r.get(0)?,
        created_ns: r.get(1)?,
        snapshot: r.get(2)?,
        media: r.get(3)?,
        capacity: r.get::<_, i64>(4)? as u64,
        margin: r.get::<_, i64>(5)? as u64,
        first_paths,
        folders_split: r.get::<_, i64>(7)? as u64,
        catalogue_size: r.get::<_, i64>(8)? as u64,
        catalogue_gzip: r.get(9)?,
        parity_percent: r.get(10)?,
        index_size: r.get::<_, i64>(11)? as u64,
        set_parity: r.get(12)?,
        set_group: r.get(13)?,
    })
}

impl Catalogue {
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
}

/// A plan being stored, disc by disc, in one transaction ([`Catalogue::begin_plan`]):
/// nothing of it is seen by others, nor kept, until [`PlanWriter::finish`].
pub struct PlanWriter<'c> {
    tx: rusqlite::Transaction<'c>,
    path: &'c Path,
    plan_id: i64,
    disc_ids: HashMap<u32, i64>,
}

impl Catalogue {
    /// Starts replacing every disc still `planned` (and its placements, and plans left
    /// without discs, with their set-parity groups) by the new plan `plan`; written discs are
    /// never touched. Its discs and placements follow with [`PlanWriter::disc`] and
    /// [`PlanWriter::placement`] as they are packed. The catalogue stays readable meanwhile
    /// (on the same connection, inside the transaction), so that the planner reads its
    /// entries while it stores.
    pub fn begin_plan(&self, plan: &PlanRecord) -> Result<PlanWriter<'_>> {
        let path = self.path.as_path();
        let tx = self.conn.unchecked_transaction().in_catalogue(path)?;
        // A plan left without discs has none written, so nothing of its groups is either;
        // but a group it continued from an earlier plan's written discs (see
        // set_parity::settle_groups_before_plan) goes back to that plan, at those discs.
        tx.execute_batch(
            "DELETE FROM placement WHERE disc_id IN (SELECT id FROM disc WHERE state = 'planned');
             DELETE FROM disc WHERE state = 'planned';
             UPDATE set_group SET
                 last_disc = (SELECT max(number) FROM disc
                              WHERE number BETWEEN set_group.first_disc AND set_group.last_disc),
                 plan_id = (SELECT plan_id FROM disc WHERE number = set_group.first_disc)
             WHERE plan_id NOT IN (SELECT plan_id FROM disc)
               AND EXISTS (SELECT 1 FROM disc WHERE number = set_group.first_disc);
             DELETE FROM set_group WHERE plan_id NOT IN (SELECT plan_id FROM disc);
             DELETE FROM plan WHERE id NOT IN (SELECT plan_id FROM disc);",
        )
        .in_catalogue(path)?;
        let plan_id = insert_plan(&tx, plan).in_catalogue(path)?;
        Ok(PlanWriter {
            tx,
            path,
            plan_id,
            disc_ids: HashMap::new(),
        })
    }
}

impl std::fmt::Debug for PlanWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanWriter")
            .field("plan_id", &self.plan_id)
            .field("discs", &self.disc_ids.len())
            .finish()
    }
}

impl PlanWriter<'_> {
    /// Adds a disc of the plan (its `plan_id` and state are the plan's).
    pub fn disc(&mut self, d: &DiscRecord) -> Result<()> {
        let planned = DiscRecord {
            plan_id: self.plan_id,
            state: DiscState::Planned,
            image_name: None,
            image_sha256: None,
            written_ns: None,
            verified_ns: None,
            ..d.clone()
        };
        let id = insert_disc(&self.tx, &planned, None).in_catalogue(self.path)?;
        self.disc_ids.insert(d.number, id);
        Ok(())
    }

    /// Adds a placement on a disc added before.
    pub fn placement(&mut self, pl: &Placement) -> Result<()> {
        insert_placement(&self.tx, self.path, &self.disc_ids, pl)
    }

    /// Stores the plan's last facts and commits: the folders whose files span discs, the
    /// final number of parts of every content it split as `(content, parts, continued)` (its
    /// placements on the new discs, and those on written discs too where `continued`: the
    /// plan continues a split begun there), and its set-parity groups. Returns the plan's id.
    pub fn finish(
        self,
        folders_split: u64,
        splits: &[(i64, u32, bool)],
        groups: Option<&super::NewSetGroups<'_>>,
    ) -> Result<i64> {
        let path = self.path;
        self.tx
            .execute(
                "UPDATE plan SET folders_split = ?2 WHERE id = ?1",
                params![self.plan_id, folders_split as i64],
            )
            .in_catalogue(path)?;
        {
            let mut all = self
                .tx
                .prepare("UPDATE placement SET parts = ?2 WHERE content_id = ?1")
                .in_catalogue(path)?;
            let mut new = self
                .tx
                .prepare(
                    "UPDATE placement SET parts = ?2 WHERE content_id = ?1 \
                     AND disc_id IN (SELECT id FROM disc WHERE plan_id = ?3)",
                )
                .in_catalogue(path)?;
            for &(content_id, parts, continued) in splits {
                if continued {
                    all.execute(params![content_id, parts]).in_catalogue(path)?;
                } else {
                    new.execute(params![content_id, parts, self.plan_id])
                        .in_catalogue(path)?;
                }
            }
        }
        if let Some(groups) = groups {
            super::set_parity::insert_set_groups(&self.tx, self.plan_id, groups)
                .in_catalogue(path)?;
        }
        self.tx.commit().in_catalogue(path)?;
        Ok(self.plan_id)
    }
}

fn insert_placement(
    conn: &Connection,
    path: &Path,
    disc_ids: &HashMap<u32, i64>,
    pl: &Placement,
) -> Result<()> {
    let disc_id = disc_ids.get(&pl.disc).copied().ok_or_else(|| {
        Error::Internal(format!(
            "a placement of {} is on disc {}, which the plan does not have",
            pl.disc_path, pl.disc
        ))
    })?;
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO placement (content_id, disc_id, part, parts, offset, length, \
             part_hash, disc_path, iso_path, entry_path, name_path) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .in_catalogue(path)?;
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
    .in_catalogue(path)?;
    Ok(())
}

/// Inserts plan `p` (its `id` ignored); returns the new row's id.
fn insert_plan(conn: &Connection, p: &PlanRecord) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO plan (created_ns, snapshot, media, capacity, margin, first_paths, \
         folders_split, catalogue_size, catalogue_gzip, parity_percent, index_size, set_parity, \
         set_group) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            p.created_ns,
            p.snapshot,
            p.media,
            p.capacity as i64,
            p.margin as i64,
            serde_json::Value::from(p.first_paths.clone()).to_string(),
            p.folders_split as i64,
            p.catalogue_size as i64,
            p.catalogue_gzip,
            p.parity_percent,
            p.index_size as i64,
            p.set_parity,
            p.set_group,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}
