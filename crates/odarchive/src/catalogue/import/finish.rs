//! The end of an import: references left open while streaming are resolved, counters filled
//! in, and the result checked before the transaction commits.

use std::path::Path;

use rusqlite::Transaction;

use super::{Fail, HEAD_SNAPSHOT, ImportSummary, Importer, NO_PLAN, Res};
use crate::catalogue::InCatalogue;
use crate::hash::HashAlgorithm;

impl Importer<'_> {
    /// Resolves the references left open while streaming and checks the result.
    pub(super) fn finish(mut self) -> Res<ImportSummary> {
        let tx = self.tx;
        let cat = self.catalogue;
        let exec = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Res<usize> {
            Ok(tx.execute(sql, p).in_catalogue(cat)?)
        };
        let count =
            |sql: &str| -> Res<i64> { Ok(tx.query_row(sql, [], |r| r.get(0)).in_catalogue(cat)?) };
        let now = crate::time::now_ns();
        let created = match self.head.created {
            Some(c) => c,
            None => self.v01_snapshot_time()?.unwrap_or(now),
        };
        // The header's snapshot: the one named, else the newest listed, else a new one.
        let newest = count("SELECT coalesce(max(id), 0) FROM snapshot")?;
        let head = self.head.snapshot.unwrap_or(newest.max(1));
        let exists = count(&format!("SELECT count(*) FROM snapshot WHERE id = {head}"))?;
        let uses_head = count(&format!(
            "SELECT (SELECT count(*) FROM entry WHERE first_snapshot = {HEAD_SNAPSHOT}) + \
             (SELECT count(*) FROM disc WHERE snapshot = {HEAD_SNAPSHOT})"
        ))?;
        if exists == 0 && uses_head > 0 {
            let (drive, started) = if self.legacy {
                let time = self.v01_snapshot_time()?.unwrap_or(now);
                (self.v01_drive_path()?, time)
            } else {
                (Vec::new(), created)
            };
            exec(
                "INSERT INTO snapshot (id, drive_path, started_ns, finished_ns, state) \
                 VALUES (?1, ?2, ?3, ?3, 'complete')",
                &[&head, &drive, &started],
            )?;
        }
        exec(
            "UPDATE entry SET first_snapshot = ?1, last_snapshot = ?1 WHERE first_snapshot = ?2",
            &[&head, &HEAD_SNAPSHOT],
        )?;
        exec(
            "UPDATE disc SET snapshot = ?1 WHERE snapshot = ?2",
            &[&head, &HEAD_SNAPSHOT],
        )?;
        // Discs that name no plan belong to a placeholder plan.
        if count(&format!(
            "SELECT count(*) FROM disc WHERE plan_id = {NO_PLAN}"
        ))? > 0
        {
            let plan = count("SELECT coalesce(max(id), 0) + 1 FROM plan")?;
            let media = if self.legacy {
                crate::legacy::MEDIA
            } else {
                "from a disc"
            };
            exec(
                "INSERT INTO plan (id, created_ns, snapshot, media, capacity, margin, first_paths, \
                 folders_split, catalogue_size, catalogue_gzip) \
                 VALUES (?1, ?2, ?3, ?4, 0, 0, '[]', 0, 0, 0)",
                &[&plan, &created, &head, &media],
            )?;
            exec(
                "UPDATE disc SET plan_id = ?1 WHERE plan_id = ?2",
                &[&plan, &NO_PLAN],
            )?;
        }
        // Placements named their disc by number.
        exec(
            "UPDATE placement SET disc_id = coalesce( \
             (SELECT d.id FROM disc d WHERE d.number = -placement.disc_id), 0) \
             WHERE disc_id < 0",
            &[],
        )?;
        let orphans = count("SELECT count(*) FROM placement WHERE disc_id = 0")?;
        if orphans > 0 {
            return Err(Fail::Bad(format!(
                "{orphans} parts are on discs the catalogue does not list"
            )));
        }
        let dangling = count(
            "SELECT count(*) FROM entry WHERE first_snapshot NOT IN (SELECT id FROM snapshot) \
             OR last_snapshot NOT IN (SELECT id FROM snapshot)",
        )?;
        if dangling > 0 {
            return Err(Fail::Bad(format!(
                "{dangling} entries name snapshots the catalogue does not list"
            )));
        }
        // Counters of snapshots the document did not count (odarchive 0.1, version 3).
        let uncounted = ids(
            tx,
            cat,
            "SELECT id FROM snapshot WHERE files IS NULL AND state = 'complete'",
        )?;
        for id in uncounted {
            let info = crate::info::of_snapshot(tx, id).in_catalogue(cat)?;
            exec(
                "UPDATE snapshot SET files = ?2, directories = ?3, symlinks = ?4, total_bytes = ?5, \
                 unique_contents = ?6, unique_bytes = ?7, errors = ?8 WHERE id = ?1",
                &[
                    &id,
                    &(info.files as i64),
                    &(info.directories as i64),
                    &(info.symlinks as i64),
                    &(info.total_bytes as i64),
                    &(info.unique_contents as i64),
                    &(info.unique_bytes as i64),
                    &(info.errors as i64),
                ],
            )?;
        }
        // Disc counters of odarchive 0.1 discs, which it did not record.
        if self.legacy {
            exec(
                "UPDATE disc SET files = (SELECT count(*) FROM placement p WHERE p.disc_id = disc.id), \
                 bytes = (SELECT coalesce(sum(length), 0) FROM placement p WHERE p.disc_id = disc.id)",
                &[],
            )?;
        }
        let algorithm = match (self.head.hash_algorithm.take(), self.hash_len) {
            (Some(a), _) => a,
            (None, Some(64)) => HashAlgorithm::Sha512.name().to_owned(),
            (None, _) => HashAlgorithm::Sha256.name().to_owned(),
        };
        let expected_len = HashAlgorithm::from_name(&algorithm)
            .ok_or_else(|| Fail::Bad(format!("unknown hash algorithm {algorithm:?}")))?
            .len();
        let wrong_parts = count(&format!(
            "SELECT count(*) FROM placement WHERE length(part_hash) != {expected_len}"
        ))?;
        if self.hash_len.is_some_and(|n| n != expected_len) || wrong_parts > 0 {
            return Err(Fail::Bad(format!(
                "content or part hashes are not {algorithm} hashes"
            )));
        }
        exec(
            "UPDATE archive SET hash_algorithm = ?1, created_ns = ?2",
            &[&algorithm, &created],
        )?;
        if let Some(set_id) = &self.head.set_id {
            exec("UPDATE archive SET set_id = ?1", &[set_id])?;
        }
        // A disc of the archive's own set is stored without a set id.
        exec(
            "UPDATE disc SET set_id = NULL WHERE set_id = (SELECT set_id FROM archive)",
            &[],
        )?;
        if let Some(tool) = &self.head.tool_version {
            exec("UPDATE archive SET tool_version = ?1", &[tool])?;
        }
        let format = if self.legacy {
            "odarchive 0.1".to_owned()
        } else {
            format!("version {}", self.head.version.unwrap_or(0))
        };
        Ok(ImportSummary {
            format,
            hash_algorithm: algorithm,
            snapshots: count("SELECT count(*) FROM snapshot")? as u64,
            contents: self.counts.contents,
            entries: self.counts.entries,
            discs: count("SELECT count(*) FROM disc")? as u64,
            placements: self.counts.placements,
        })
    }
}

/// The ids a one-column query gives.
fn ids(tx: &Transaction<'_>, catalogue: &Path, sql: &str) -> Res<Vec<i64>> {
    let mut stmt = tx.prepare(sql).in_catalogue(catalogue)?;
    let rows = stmt
        .query_map([], |r| r.get(0))
        .in_catalogue(catalogue)?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .in_catalogue(catalogue)?;
    Ok(rows)
}
