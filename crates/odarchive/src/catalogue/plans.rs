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
}

/// Makes the placements of a plan being stored, handing each to the function it is given
/// ([`Catalogue::store_plan_with`]).
pub type PlacementSource<'a> =
    &'a mut dyn FnMut(&mut dyn FnMut(&Placement) -> Result<()>) -> Result<()>;

const PLAN_COLUMNS: &str = "id, created_ns, snapshot, media, capacity, margin, first_paths, \
     folders_split, catalogue_size, catalogue_gzip, parity_percent, index_size";

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

    /// Replaces every disc still `planned` (and its placements, and plans left without discs,
    /// with their set-parity groups) by a new plan with `discs` and its set-parity `groups`,
    /// in one transaction; written discs are never touched. The placements are made while
    /// they are stored: `fill` is called once, inside the transaction, and hands each
    /// placement to the function it is given, so a plan's placements never need to be in
    /// memory at once.
    pub fn store_plan_with(
        &mut self,
        plan: &PlanRecord,
        discs: &[DiscRecord],
        groups: Option<&super::NewSetGroups<'_>>,
        fill: PlacementSource<'_>,
    ) -> Result<i64> {
        let path = self.path.clone();
        let tx = self.conn.transaction().in_catalogue(&path)?;
        // A plan left without discs has none written, so nothing of its groups is either.
        tx.execute_batch(
            "DELETE FROM placement WHERE disc_id IN (SELECT id FROM disc WHERE state = 'planned');
             DELETE FROM disc WHERE state = 'planned';
             DELETE FROM set_group WHERE plan_id NOT IN (SELECT plan_id FROM disc);
             DELETE FROM plan WHERE id NOT IN (SELECT plan_id FROM disc);",
        )
        .in_catalogue(&path)?;
        let plan_id = insert_plan(&tx, plan).in_catalogue(&path)?;
        let mut disc_ids = HashMap::new();
        for d in discs {
            let planned = DiscRecord {
                plan_id,
                state: DiscState::Planned,
                image_name: None,
                image_sha256: None,
                written_ns: None,
                verified_ns: None,
                ..d.clone()
            };
            let id = insert_disc(&tx, &planned, None).in_catalogue(&path)?;
            disc_ids.insert(d.number, id);
        }
        let continued = store_placements(&tx, &path, &disc_ids, fill)?;
        // Contents whose split continues from written discs: every part row, old and new,
        // gets the final number of parts.
        let mut stmt = tx
            .prepare("UPDATE placement SET parts = ?2 WHERE content_id = ?1")
            .in_catalogue(&path)?;
        for (content_id, parts) in continued {
            stmt.execute(params![content_id, parts])
                .in_catalogue(&path)?;
        }
        drop(stmt);
        if let Some(groups) = groups {
            super::set_parity::insert_set_groups(&tx, plan_id, groups).in_catalogue(&path)?;
        }
        tx.commit().in_catalogue(&path)?;
        Ok(plan_id)
    }
}

/// Inserts plan `p` (its `id` ignored); returns the new row's id.
fn insert_plan(conn: &Connection, p: &PlanRecord) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO plan (created_ns, snapshot, media, capacity, margin, first_paths, \
         folders_split, catalogue_size, catalogue_gzip, parity_percent, index_size) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Stores the placements `fill` makes, on the discs `disc_ids` (number → row id) of a new
/// plan. Returns the contents whose last part is on these discs after earlier parts on written
/// ones, with their number of parts.
fn store_placements(
    conn: &Connection,
    path: &Path,
    disc_ids: &HashMap<u32, i64>,
    fill: PlacementSource<'_>,
) -> Result<Vec<(i64, u32)>> {
    let mut continued = Vec::new();
    let mut stmt = conn
        .prepare(
            "INSERT INTO placement (content_id, disc_id, part, parts, offset, length, \
             part_hash, disc_path, iso_path, entry_path, name_path) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .in_catalogue(path)?;
    fill(&mut |pl: &Placement| {
        let disc_id = disc_ids.get(&pl.disc).copied().ok_or_else(|| {
            Error::Internal(format!(
                "a placement of {} is on disc {}, which the plan does not have",
                pl.disc_path, pl.disc
            ))
        })?;
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
        if pl.part > 1 && pl.part == pl.parts {
            continued.push((pl.content_id, pl.parts));
        }
        Ok(())
    })?;
    Ok(continued)
}
