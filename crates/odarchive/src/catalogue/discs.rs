//! The `disc` table: each disc of the set, and in which state it is. Its columns are
//! spelled out here once: [`DISC_FIELDS`] for every insert, [`disc_from_row`] for every read.

use rusqlite::{Connection, Row, params};

use super::{Catalogue, InCatalogue};
use crate::error::Result;
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

    /// The state stored as `s`; `None` for a text this build does not know.
    pub(super) fn parse(s: &str) -> Option<DiscState> {
        Some(match s {
            "planned" => DiscState::Planned,
            "written" => DiscState::Written,
            "verified" => DiscState::Verified,
            _ => return None,
        })
    }
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

fn hex_opt<S: serde::Serializer>(
    h: &Option<[u8; 32]>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.serialize_str(&crate::hex(h)),
        None => s.serialize_none(),
    }
}

/// The stored columns of a disc row but its id, in the order [`insert_disc`] writes them and
/// [`disc_from_row`] reads them (after the id).
pub(super) const DISC_FIELDS: &str = "number, plan_id, snapshot, capacity, margin, media, \
     label, state, image_size, files, bytes, image_name, image_sha256, written_ns, verified_ns, \
     set_id";

/// What [`disc_from_row`] reads from `disc`: the id, [`DISC_FIELDS`], and the archive's own
/// set id (that of a disc stored without one).
fn disc_select() -> String {
    format!("SELECT id, {DISC_FIELDS}, (SELECT set_id FROM archive) FROM disc")
}

fn disc_from_row(r: &Row<'_>) -> rusqlite::Result<DiscRecord> {
    let sha: Option<Vec<u8>> = r.get(13)?;
    let set_id: Option<String> = r.get(16)?;
    Ok(DiscRecord {
        id: r.get(0)?,
        number: r.get(1)?,
        plan_id: r.get(2)?,
        snapshot: r.get(3)?,
        capacity: r.get::<_, i64>(4)? as u64,
        margin: r.get::<_, i64>(5)? as u64,
        media: r.get(6)?,
        label: r.get(7)?,
        state: r.get(8)?,
        image_size: r.get::<_, i64>(9)? as u64,
        files: r.get::<_, i64>(10)? as u64,
        bytes: r.get::<_, i64>(11)? as u64,
        image_name: r.get(12)?,
        image_sha256: super::values::image_sha256_from(sha, 13)?,
        written_ns: r.get(14)?,
        verified_ns: r.get(15)?,
        set_id: match set_id {
            Some(set) => set,
            None => r.get(17)?,
        },
    })
}

/// Inserts disc `d` (its `id` and `set_id` ignored) with set id `set_id`, `None` for the
/// archive's own set. Returns the new row's id.
pub(super) fn insert_disc(
    conn: &Connection,
    d: &DiscRecord,
    set_id: Option<&str>,
) -> rusqlite::Result<i64> {
    let sql = format!(
        "INSERT INTO disc ({DISC_FIELDS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    );
    conn.prepare_cached(&sql)?.execute(params![
        d.number,
        d.plan_id,
        d.snapshot,
        d.capacity as i64,
        d.margin as i64,
        d.media,
        d.label,
        d.state,
        d.image_size as i64,
        d.files as i64,
        d.bytes as i64,
        d.image_name,
        d.image_sha256.map(|h| h.to_vec()),
        d.written_ns,
        d.verified_ns,
        set_id,
    ])?;
    Ok(conn.last_insert_rowid())
}

impl Catalogue {
    /// Every disc, by number.
    pub fn discs(&self) -> Result<Vec<DiscRecord>> {
        let sql = format!("{} ORDER BY number", disc_select());
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let rows = stmt.query_map([], disc_from_row).in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }

    /// Records that disc `number` was written as `image_name` with this SHA-256, and where
    /// each of its files lies (`extents`: disc path and first sector, see
    /// [`Catalogue::extent_of`]), in one transaction.
    pub fn mark_written(
        &mut self,
        number: u32,
        image_name: &str,
        sha256: &[u8; 32],
        extents: &[(String, u32)],
    ) -> Result<()> {
        let tx = self.conn.transaction().in_catalogue(&self.path)?;
        tx.execute(
            "UPDATE disc SET state = 'written', image_name = ?2, image_sha256 = ?3, \
             written_ns = ?4 WHERE number = ?1",
            params![number, image_name, sha256.to_vec(), now_ns()],
        )
        .in_catalogue(&self.path)?;
        super::placements::record_sectors(&tx, number, extents).in_catalogue(&self.path)?;
        tx.commit().in_catalogue(&self.path)
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
}
