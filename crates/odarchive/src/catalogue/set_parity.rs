//! The set-parity tables (schema version 10): which discs form which group, what has been
//! folded into each group's accumulator, and the parity discs.

use rusqlite::{OptionalExtension, Row, params};

use super::{Catalogue, InCatalogue};
use crate::error::Result;
use crate::time::now_ns;

/// A group of consecutive discs of one plan and its parity discs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetGroup {
    /// Row id.
    pub id: i64,
    /// Group number, 1-based.
    pub number: u32,
    /// The plan whose discs it groups.
    pub plan_id: i64,
    /// Parity discs (N).
    pub parity: u32,
    /// First member disc.
    pub first_disc: u32,
    /// Last member disc (inclusive).
    pub last_disc: u32,
    /// When it was made: the time stamps of its parity discs.
    pub created_ns: i64,
}

impl SetGroup {
    /// Its member disc numbers.
    pub fn members(&self) -> std::ops::RangeInclusive<u32> {
        self.first_disc..=self.last_disc
    }

    /// Members (K).
    pub fn member_count(&self) -> usize {
        (self.last_disc - self.first_disc + 1) as usize
    }
}

/// A member folded into its group's accumulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetFold {
    /// The member disc.
    pub disc: u32,
    /// SHA-256 of the image folded.
    pub image_sha256: [u8; 32],
    /// Its size.
    pub image_size: u64,
    /// Sectors the set code covers.
    pub covered: u64,
    /// First sector left out (its own parity area), 0 if none.
    pub excluded_start: u64,
    /// Sectors left out.
    pub excluded: u64,
}

/// A parity disc of a group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetParityDisc {
    /// Its group's row id.
    pub group_id: i64,
    /// Its parity index (0-based).
    pub index: u32,
    /// Its volume label.
    pub label: String,
    /// Whether its image is written.
    pub written: bool,
    /// Its image's file name in the output folder, once written.
    pub image_name: Option<String>,
    /// Its image's size, once written.
    pub image_size: Option<u64>,
    /// Its image's SHA-256, once written.
    #[serde(skip)]
    pub image_sha256: Option<[u8; 32]>,
}

const GROUP_COLUMNS: &str = "id, number, plan_id, parity, first_disc, last_disc, created_ns";

fn group_from_row(r: &Row<'_>) -> rusqlite::Result<SetGroup> {
    Ok(SetGroup {
        id: r.get(0)?,
        number: r.get(1)?,
        plan_id: r.get(2)?,
        parity: r.get(3)?,
        first_disc: r.get(4)?,
        last_disc: r.get(5)?,
        created_ns: r.get(6)?,
    })
}

fn sha(blob: Option<Vec<u8>>) -> Option<[u8; 32]> {
    blob.and_then(|b| b.try_into().ok())
}

/// Set-parity groups to make for a plan: consecutive discs `members` (first, last disc), each
/// group with `parity` parity discs labelled by `label(group number, index)`. Recorded with
/// the plan itself ([`Catalogue::begin_plan`]), so that a plan asked for with parity discs
/// never stands without them.
pub struct NewSetGroups<'a> {
    /// Parity discs a group (N).
    pub parity: u32,
    /// Each group's first and last disc.
    pub members: Vec<(u32, u32)>,
    /// A group left open by an interrupted write that this plan's first discs complete: its
    /// row id and its new last disc. It becomes a group of this plan (its written members
    /// stay those of the plan that wrote them).
    pub extend: Option<(i64, u32)>,
    /// The label of a group's parity disc.
    pub label: &'a dyn Fn(u32, u32) -> String,
}

impl std::fmt::Debug for NewSetGroups<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSetGroups")
            .field("parity", &self.parity)
            .field("members", &self.members)
            .field("extend", &self.extend)
            .finish_non_exhaustive()
    }
}

/// Inserts `groups` for plan `plan_id` in `tx`. Groups of no written member and no written
/// parity disc whose discs are gone (a replan) are dropped first, so their numbers are used
/// again.
pub(super) fn insert_set_groups(
    tx: &rusqlite::Transaction<'_>,
    plan_id: i64,
    groups: &NewSetGroups<'_>,
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM set_group WHERE NOT EXISTS \
           (SELECT 1 FROM disc WHERE disc.number BETWEEN first_disc AND last_disc) \
         AND NOT EXISTS (SELECT 1 FROM set_parity_disc p \
           WHERE p.group_id = set_group.id AND p.state = 'written')",
        [],
    )?;
    if let Some((id, last)) = groups.extend {
        tx.execute(
            "UPDATE set_group SET last_disc = ?2, plan_id = ?3 WHERE id = ?1",
            params![id, last, plan_id],
        )?;
    }
    let first_number: u32 = tx.query_row(
        "SELECT coalesce(max(number), 0) + 1 FROM set_group",
        [],
        |r| r.get(0),
    )?;
    let created = now_ns();
    for (next, &(first, last)) in (first_number..).zip(&groups.members) {
        tx.execute(
            "INSERT INTO set_group (number, plan_id, parity, first_disc, last_disc, \
             created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![next, plan_id, groups.parity, first, last, created],
        )?;
        let id = tx.last_insert_rowid();
        for i in 0..groups.parity {
            tx.execute(
                "INSERT INTO set_parity_disc (group_id, idx, label) VALUES (?1, ?2, ?3)",
                params![id, i, (groups.label)(next, i)],
            )?;
        }
    }
    Ok(())
}

impl Catalogue {
    /// Every set-parity group, by number.
    pub fn set_groups(&self) -> Result<Vec<SetGroup>> {
        let sql = format!("SELECT {GROUP_COLUMNS} FROM set_group ORDER BY number");
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([], group_from_row)
            .in_catalogue(&self.path)?
            .collect::<rusqlite::Result<Vec<_>>>();
        rows.in_catalogue(&self.path)
    }

    /// The group disc `number` is a member of, if any.
    pub fn set_group_of(&self, number: u32) -> Result<Option<SetGroup>> {
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM set_group WHERE ?1 BETWEEN first_disc AND last_disc"
        );
        self.conn
            .query_row(&sql, [number], group_from_row)
            .optional()
            .in_catalogue(&self.path)
    }

    /// Makes the groups `groups` describes for plan `plan_id`, in one transaction (see
    /// [`NewSetGroups`]); returns the plan's groups.
    pub fn add_set_groups(
        &mut self,
        plan_id: i64,
        groups: &NewSetGroups<'_>,
    ) -> Result<Vec<SetGroup>> {
        let tx = self.conn.transaction().in_catalogue(&self.path)?;
        insert_set_groups(&tx, plan_id, groups).in_catalogue(&self.path)?;
        tx.commit().in_catalogue(&self.path)?;
        self.plan_set_groups(plan_id)
    }

    /// The groups of plan `plan_id`.
    pub fn plan_set_groups(&self, plan_id: i64) -> Result<Vec<SetGroup>> {
        Ok(self
            .set_groups()?
            .into_iter()
            .filter(|g| g.plan_id == plan_id)
            .collect())
    }

    /// The members folded into group `group_id`'s accumulator.
    pub fn set_folds(&self, group_id: i64) -> Result<Vec<SetFold>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT disc_number, image_sha256, image_size, covered, excluded_start, \
                 excluded FROM set_fold WHERE group_id = ?1 ORDER BY disc_number",
            )
            .in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([group_id], |r| {
                Ok(SetFold {
                    disc: r.get(0)?,
                    image_sha256: sha(r.get(1)?).unwrap_or([0; 32]),
                    image_size: r.get::<_, i64>(2)? as u64,
                    covered: r.get::<_, i64>(3)? as u64,
                    excluded_start: r.get::<_, i64>(4)? as u64,
                    excluded: r.get::<_, i64>(5)? as u64,
                })
            })
            .in_catalogue(&self.path)?
            .collect::<rusqlite::Result<Vec<_>>>();
        rows.in_catalogue(&self.path)
    }

    /// Records that `fold.disc` is folded into group `group_id`'s accumulator.
    pub fn record_set_fold(&mut self, group_id: i64, fold: &SetFold) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO set_fold (group_id, disc_number, image_sha256, \
                 image_size, covered, excluded_start, excluded, folded_ns) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    group_id,
                    fold.disc,
                    fold.image_sha256.to_vec(),
                    fold.image_size as i64,
                    fold.covered as i64,
                    fold.excluded_start as i64,
                    fold.excluded as i64,
                    now_ns()
                ],
            )
            .in_catalogue(&self.path)?;
        Ok(())
    }

    /// Forgets every fold of group `group_id` (its accumulator is started again).
    pub fn clear_set_folds(&mut self, group_id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM set_fold WHERE group_id = ?1", [group_id])
            .in_catalogue(&self.path)?;
        Ok(())
    }

    /// The parity discs of group `group_id`, by index.
    pub fn set_parity_discs(&self, group_id: i64) -> Result<Vec<SetParityDisc>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT group_id, idx, label, state, image_name, image_size, image_sha256 \
                 FROM set_parity_disc WHERE group_id = ?1 ORDER BY idx",
            )
            .in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([group_id], |r| {
                Ok(SetParityDisc {
                    group_id: r.get(0)?,
                    index: r.get(1)?,
                    label: r.get(2)?,
                    written: r.get::<_, String>(3)? == "written",
                    image_name: r.get(4)?,
                    image_size: r.get::<_, Option<i64>>(5)?.map(|s| s as u64),
                    image_sha256: sha(r.get(6)?),
                })
            })
            .in_catalogue(&self.path)?
            .collect::<rusqlite::Result<Vec<_>>>();
        rows.in_catalogue(&self.path)
    }

    /// Records parity disc `index` of group `group_id` as written.
    pub fn mark_set_parity_written(
        &mut self,
        group_id: i64,
        index: u32,
        image_name: &str,
        image_size: u64,
        sha256: &[u8; 32],
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE set_parity_disc SET state = 'written', image_name = ?3, \
                 image_size = ?4, image_sha256 = ?5, written_ns = ?6 \
                 WHERE group_id = ?1 AND idx = ?2",
                params![
                    group_id,
                    index,
                    image_name,
                    image_size as i64,
                    sha256.to_vec(),
                    now_ns()
                ],
            )
            .in_catalogue(&self.path)?;
        Ok(())
    }
}

/// What a new plan does to the groups of the discs it replaces ([`Catalogue::settle_set_groups`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSettlement {
    /// Groups to forget: none of their members or parity discs is written.
    pub dropped: Vec<i64>,
    /// Groups to close at their written members: (row id, new last disc).
    pub closed: Vec<(i64, u32)>,
}

impl Catalogue {
    /// Applies `settlement` in one transaction.
    pub fn settle_set_groups(&mut self, settlement: &GroupSettlement) -> Result<()> {
        let tx = self.conn.transaction().in_catalogue(&self.path)?;
        for id in &settlement.dropped {
            tx.execute("DELETE FROM set_group WHERE id = ?1", [id])
                .in_catalogue(&self.path)?;
        }
        for (id, last) in &settlement.closed {
            tx.execute(
                "UPDATE set_group SET last_disc = ?2 WHERE id = ?1",
                params![id, last],
            )
            .in_catalogue(&self.path)?;
        }
        tx.commit().in_catalogue(&self.path)?;
        Ok(())
    }
}
