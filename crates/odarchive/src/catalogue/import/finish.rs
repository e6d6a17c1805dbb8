//! The end of an import: references left open while streaming are resolved, counters filled
//! in, and the result checked before the transaction commits.

use super::{Fail, HEAD_SNAPSHOT, ImportSummary, Importer, NO_PLAN, Res};
use crate::catalogue::InCatalogue;
use crate::catalogue::snapshot_info::count_uncounted;
use crate::hash::HashAlgorithm;

impl Importer<'_> {
    /// Resolves the references left open while streaming and checks the result.
    pub(super) fn finish(mut self) -> Res<ImportSummary> {
        let now = crate::time::now_ns();
        let created = match self.head.created {
            Some(c) => c,
            None => self.v01_snapshot_time()?.unwrap_or(now),
        };
        if self.legacy {
            self.v01_folders()?;
        }
        let head = self.resolve_head_snapshot(created, now)?;
        self.resolve_placeholder_plan(head, created)?;
        self.resolve_placement_discs()?;
        // Every row is in and no longer moves: the indexes left out are built now, before
        // the counts that use them.
        for sql in std::mem::take(&mut self.indexes) {
            self.tx.execute_batch(&sql).in_catalogue(self.catalogue)?;
        }
        self.fill_uncounted()?;
        let algorithm = self.checked_algorithm()?;
        self.update_archive(algorithm, created)?;
        let format = if self.legacy {
            "odarchive 0.1".to_owned()
        } else {
            format!("version {}", self.head.version.unwrap_or(0))
        };
        Ok(ImportSummary {
            format,
            hash_algorithm: algorithm,
            snapshots: self.count("SELECT count(*) FROM snapshot")? as u64,
            contents: self.counts.contents,
            entries: self.counts.entries,
            discs: self.count("SELECT count(*) FROM disc")? as u64,
            placements: self.counts.placements,
        })
    }

    fn exec(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Res<usize> {
        Ok(self.tx.execute(sql, params).in_catalogue(self.catalogue)?)
    }

    fn count(&self, sql: &str) -> Res<i64> {
        Ok(self
            .tx
            .query_row(sql, [], |r| r.get(0))
            .in_catalogue(self.catalogue)?)
    }

    /// The header's snapshot: the one named, else the newest listed, else a new one (made
    /// only when something is in it). Entries and discs left in the header's snapshot are put
    /// in it. `now` is the time of a legacy snapshot that names none.
    fn resolve_head_snapshot(&self, created: i64, now: i64) -> Res<i64> {
        let newest = self.count("SELECT coalesce(max(id), 0) FROM snapshot")?;
        let head = self.head.snapshot.unwrap_or(newest.max(1));
        let exists = self.count(&format!("SELECT count(*) FROM snapshot WHERE id = {head}"))?;
        let uses_head = self.count(&format!(
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
            self.exec(
                "INSERT INTO snapshot (id, drive_path, started_ns, finished_ns, state) \
                 VALUES (?1, ?2, ?3, ?3, 'complete')",
                &[&head, &drive, &started],
            )?;
        }
        self.exec(
            "UPDATE entry SET first_snapshot = ?1, last_snapshot = ?1 WHERE first_snapshot = ?2",
            &[&head, &HEAD_SNAPSHOT],
        )?;
        self.exec(
            "UPDATE disc SET snapshot = ?1 WHERE snapshot = ?2",
            &[&head, &HEAD_SNAPSHOT],
        )?;
        Ok(head)
    }

    /// Discs that name no plan belong to a placeholder plan of snapshot `head`.
    fn resolve_placeholder_plan(&self, head: i64, created: i64) -> Res<()> {
        let planless = self.count(&format!(
            "SELECT count(*) FROM disc WHERE plan_id = {NO_PLAN}"
        ))?;
        if planless == 0 {
            return Ok(());
        }
        let plan = self.count("SELECT coalesce(max(id), 0) + 1 FROM plan")?;
        let media = if self.legacy {
            crate::legacy::MEDIA
        } else {
            "from a disc"
        };
        self.exec(
            "INSERT INTO plan (id, created_ns, snapshot, media, capacity, margin, first_paths, \
             folders_split, catalogue_size, catalogue_gzip) \
             VALUES (?1, ?2, ?3, ?4, 0, 0, '[]', 0, 0, 0)",
            &[&plan, &created, &head, &media],
        )?;
        self.exec(
            "UPDATE disc SET plan_id = ?1 WHERE plan_id = ?2",
            &[&plan, &NO_PLAN],
        )?;
        Ok(())
    }

    /// Placements named their disc by number: gives them the disc's row, and refuses parts on
    /// unlisted discs and entries in unlisted snapshots.
    fn resolve_placement_discs(&self) -> Res<()> {
        self.exec(
            "UPDATE placement SET disc_id = coalesce( \
             (SELECT d.id FROM disc d WHERE d.number = -placement.disc_id), 0) \
             WHERE disc_id < 0",
            &[],
        )?;
        let orphans = self.count("SELECT count(*) FROM placement WHERE disc_id = 0")?;
        if orphans > 0 {
            return Err(Fail::Bad(format!(
                "{orphans} parts are on discs the catalogue does not list"
            )));
        }
        let dangling = self.count(
            "SELECT count(*) FROM entry WHERE first_snapshot NOT IN (SELECT id FROM snapshot) \
             OR last_snapshot NOT IN (SELECT id FROM snapshot)",
        )?;
        if dangling > 0 {
            return Err(Fail::Bad(format!(
                "{dangling} entries name snapshots the catalogue does not list"
            )));
        }
        Ok(())
    }

    /// Counts what the document did not: the snapshot counters `info` shows (none in odarchive
    /// 0.1's documents, not all of them in versions 3 and 4) and the disc counters of odarchive
    /// 0.1 discs.
    fn fill_uncounted(&self) -> Res<()> {
        // An import fills an empty catalogue: every snapshot here is one it brought.
        let ids: Vec<i64> = self
            .tx
            .prepare("SELECT id FROM snapshot ORDER BY id")
            .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
            .in_catalogue(self.catalogue)?;
        count_uncounted(self.tx, &ids).in_catalogue(self.catalogue)?;
        if self.legacy {
            self.exec(
                "UPDATE disc SET files = (SELECT count(*) FROM placement p WHERE p.disc_id = disc.id), \
                 bytes = (SELECT coalesce(sum(length), 0) FROM placement p WHERE p.disc_id = disc.id)",
                &[],
            )?;
        }
        Ok(())
    }

    /// The document's hash algorithm (named, or told by the length of its hashes), checked
    /// against every content and part hash.
    fn checked_algorithm(&mut self) -> Res<HashAlgorithm> {
        let algorithm = match (self.head.hash_algorithm.take(), self.hash_len) {
            (Some(a), _) => HashAlgorithm::from_name(&a)
                .ok_or_else(|| Fail::Bad(format!("unknown hash algorithm {a:?}")))?,
            (None, Some(64)) => HashAlgorithm::Sha512,
            (None, _) => HashAlgorithm::Sha256,
        };
        let expected_len = algorithm.len();
        let wrong_parts = self.count(&format!(
            "SELECT count(*) FROM placement WHERE length(part_hash) != {expected_len}"
        ))?;
        if self.hash_len.is_some_and(|n| n != expected_len) || wrong_parts > 0 {
            return Err(Fail::Bad(format!(
                "content or part hashes are not {algorithm} hashes"
            )));
        }
        Ok(algorithm)
    }

    /// The archive row takes the document's algorithm, creation time, set and tool version.
    fn update_archive(&self, algorithm: HashAlgorithm, created: i64) -> Res<()> {
        self.exec(
            "UPDATE archive SET hash_algorithm = ?1, created_ns = ?2",
            &[&algorithm, &created],
        )?;
        if let Some(set_id) = &self.head.set_id {
            self.exec("UPDATE archive SET set_id = ?1", &[set_id])?;
        }
        // A disc of the archive's own set is stored without a set id.
        self.exec(
            "UPDATE disc SET set_id = NULL WHERE set_id = (SELECT set_id FROM archive)",
            &[],
        )?;
        if let Some(tool) = &self.head.tool_version {
            self.exec("UPDATE archive SET tool_version = ?1", &[tool])?;
        }
        Ok(())
    }
}
