//! Bringing another catalogue, and the discs it describes, into this one (`odarchive merge`):
//! several small first backups, each with its own catalogue and disc set, coalesced into one
//! catalogue that restores, verifies and plans with the discs of all of them.
//!
//! What is copied, in one transaction (all or nothing):
//!
//! - snapshots, with new ids after this catalogue's, in the other's order; an entry's range
//!   `first_snapshot..=last_snapshot` so maps onto a contiguous range of new ids, and the
//!   scan's rule (an entry is extended only when its last snapshot is the one just before)
//!   stays true;
//! - contents by hash (one already here is shared, not copied), entries and scan errors;
//! - the written (and verified) discs with their plans and placements. A disc keeps its number
//!   when it is free here, else it gets the next one after the highest; it keeps its own set
//!   id, label, state and image hash, so it is recognised by its label like any disc here.
//!   Discs the other catalogue only planned are left out: they exist nowhere yet (plan here).
//!
//! Jobs are not copied. Nothing is merged when a conflict is found; every conflict is listed
//! in [`Error::MergeRefused`]: a label that names different discs here and there, a set both
//! catalogues extended on their own, a snapshot both hold (a copy of this catalogue, or one
//! merged before), an unfinished scan, or another hash algorithm.
//!
//! The other catalogue is read through SQLite's `ATTACH` (read only), so rows are copied by
//! SQL without passing through memory: the cost grows with the rows, memory does not.

use std::collections::{BTreeSet, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rusqlite::{Transaction, params};

use super::discs::DISC_FIELDS;
use super::{Catalogue, DiscRecord, DiscState, InCatalogue, Snapshot, SnapshotState};
use crate::error::{Error, Result};

/// What [`Catalogue::merge`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MergeReport {
    /// The catalogue merged in.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub other: PathBuf,
    /// Its archive set id.
    pub other_set_id: String,
    /// Its snapshots: their id there and here.
    pub snapshots: Vec<MergedSnapshot>,
    /// Entry rows copied.
    pub entries: u64,
    /// Scan error rows copied.
    pub scan_errors: u64,
    /// Contents new to this catalogue.
    pub contents_new: u64,
    /// Contents this catalogue already had (stored once, shared).
    pub contents_shared: u64,
    /// Discs brought in, by number here.
    pub discs: Vec<MergedDisc>,
    /// Discs of the other catalogue that this one already holds (same label, set, size and
    /// image hash): not copied.
    pub discs_already_here: Vec<String>,
    /// Discs the other catalogue had only planned: not brought in.
    pub planned_discs_left: u64,
}

/// A snapshot brought in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MergedSnapshot {
    /// Its id in the other catalogue.
    pub from: i64,
    /// Its id here.
    pub id: i64,
}

/// A disc brought in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MergedDisc {
    /// Its number in the other catalogue.
    pub from: u32,
    /// Its number here.
    pub number: u32,
    /// Its label (unchanged; it is on the disc).
    pub label: String,
    /// The archive set it belongs to.
    pub set_id: String,
    /// Written or verified.
    pub state: DiscState,
}

impl MergedDisc {
    /// Whether it has another number here than in its own catalogue.
    pub fn renumbered(&self) -> bool {
        self.from != self.number
    }
}

/// Where the other catalogue is attached on this one's connection while merging.
const SCHEMA: &str = "merge_other";

impl Catalogue {
    /// Brings `other` (another catalogue, open read-only is enough) and the discs it describes
    /// into this one, in one transaction. Refuses with [`Error::MergeRefused`], changing
    /// nothing, when `other` is this catalogue, uses another hash algorithm, or conflicts with
    /// this one (see the [module docs](self)).
    pub fn merge(&mut self, other: &Catalogue) -> Result<MergeReport> {
        let refuse = |reasons: Vec<String>| Error::MergeRefused {
            catalogue: self.path.clone(),
            other: other.path.clone(),
            reasons,
        };
        if same_file(&self.path, &other.path) {
            return Err(refuse(vec![
                "it is this catalogue itself: a catalogue cannot be merged into itself".into(),
            ]));
        }
        let ours = self.archive()?;
        let theirs = other.archive()?;
        let our_snapshots = self.snapshots()?;
        let their_snapshots = other.snapshots()?;
        let our_discs = self.discs()?;
        let their_discs = other.discs()?;

        let mut reasons = Vec::new();
        if ours.hash_algorithm != theirs.hash_algorithm {
            reasons.push(format!(
                "{} hashes contents with {}, but {} with {}",
                self.path.display(),
                ours.hash_algorithm,
                other.path.display(),
                theirs.hash_algorithm
            ));
        }
        if ours.set_id == theirs.set_id {
            reasons.push(format!(
                "both are archive set {}: {} is a copy of this catalogue or was made from \
                 its discs",
                ours.set_id,
                other.path.display()
            ));
        }
        reasons.extend(unfinished(&our_snapshots, "here", "run that scan again"));
        reasons.extend(unfinished(
            &their_snapshots,
            "in the other catalogue",
            "finish it there",
        ));
        reasons.extend(shared_snapshots(&our_snapshots, &their_snapshots));
        let plan = DiscPlan::new(&ours.set_id, &our_discs, &their_discs);
        reasons.extend(plan.conflicts.iter().cloned());
        if !reasons.is_empty() {
            return Err(refuse(reasons));
        }

        let path = self.path.clone();
        self.conn
            .execute(
                &format!("ATTACH DATABASE ?1 AS {SCHEMA}"),
                [read_only_uri(&other.path)],
            )
            .in_catalogue(&path)?;
        let result = self.copy_in(&their_snapshots, &plan, &path);
        let detached = self
            .conn
            .execute(&format!("DETACH DATABASE {SCHEMA}"), [])
            .in_catalogue(&path);
        let counts = result?;
        detached?;

        Ok(MergeReport {
            other: other.path.clone(),
            other_set_id: theirs.set_id,
            snapshots: counts.snapshots,
            entries: counts.entries,
            scan_errors: counts.scan_errors,
            contents_new: counts.contents_new,
            contents_shared: counts.contents_total - counts.contents_new,
            discs: plan.merged,
            discs_already_here: plan.already_here,
            planned_discs_left: plan.planned_left,
        })
    }

    /// The copy itself, with the other catalogue attached as [`SCHEMA`].
    fn copy_in(&mut self, snapshots: &[Snapshot], plan: &DiscPlan, path: &Path) -> Result<Counts> {
        let tx = self.conn.transaction().in_catalogue(path)?;
        tx.execute_batch(
            "CREATE TEMP TABLE merge_snapshot (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
             CREATE TEMP TABLE merge_plan (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
             CREATE TEMP TABLE merge_disc (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);",
        )
        .in_catalogue(path)?;
        let merged = copy_snapshots(&tx, snapshots, path)?;
        let (contents_total, contents_new) = copy_contents(&tx, path)?;
        let (entries, scan_errors) = copy_entries(&tx, path)?;
        // Snapshots completed before schema 9 there carry no `info` counters of their own.
        let ids: Vec<i64> = merged.iter().map(|m| m.id).collect();
        super::snapshot_info::count_uncounted(&tx, &ids).in_catalogue(path)?;
        copy_plans_and_discs(&tx, plan, path)?;
        copy_placements(&tx, path)?;
        tx.execute_batch(
            "DROP TABLE temp.merge_snapshot;
             DROP TABLE temp.merge_plan;
             DROP TABLE temp.merge_disc;",
        )
        .in_catalogue(path)?;
        tx.commit().in_catalogue(path)?;
        Ok(Counts {
            snapshots: merged,
            entries,
            scan_errors,
            contents_new,
            contents_total,
        })
    }
}

/// The content row here of the other catalogue's content id in `column`.
fn content_here(column: &str) -> String {
    format!(
        "(SELECT m.id FROM main.content m WHERE m.hash = \
         (SELECT o.hash FROM {SCHEMA}.content o WHERE o.id = {column}))"
    )
}

/// Copies the other's `snapshots`, numbered after ours, and maps their ids
/// (`merge_snapshot`).
fn copy_snapshots(
    tx: &Transaction<'_>,
    snapshots: &[Snapshot],
    path: &Path,
) -> Result<Vec<MergedSnapshot>> {
    let first_new: i64 = tx
        .query_row(
            "SELECT coalesce(max(id), 0) + 1 FROM main.snapshot",
            [],
            |r| r.get(0),
        )
        .in_catalogue(path)?;
    let mut merged = Vec::with_capacity(snapshots.len());
    for (s, id) in snapshots.iter().zip(first_new..) {
        tx.execute(
            &format!(
                "INSERT INTO main.snapshot (id, drive_path, started_ns, finished_ns, state, \
                 files, directories, symlinks, total_bytes, unique_contents, unique_bytes, \
                 errors, root_mtime_ns, unhashed_files, largest_path, largest_size) \
                 SELECT ?2, drive_path, started_ns, finished_ns, state, files, directories, \
                 symlinks, total_bytes, unique_contents, unique_bytes, errors, root_mtime_ns, \
                 unhashed_files, largest_path, largest_size \
                 FROM {SCHEMA}.snapshot WHERE id = ?1"
            ),
            (s.id, id),
        )
        .in_catalogue(path)?;
        tx.execute("INSERT INTO merge_snapshot VALUES (?1, ?2)", (s.id, id))
            .in_catalogue(path)?;
        merged.push(MergedSnapshot { from: s.id, id });
    }

    Ok(merged)
}

/// Copies the contents not here yet; returns how many the other has, and how many were new.
fn copy_contents(tx: &Transaction<'_>, path: &Path) -> Result<(u64, u64)> {
    let contents_total: i64 = tx
        .query_row(&format!("SELECT count(*) FROM {SCHEMA}.content"), [], |r| {
            r.get(0)
        })
        .in_catalogue(path)?;
    let contents_new = tx
        .execute(
            &format!(
                "INSERT INTO main.content (hash, size) SELECT o.hash, o.size \
                 FROM {SCHEMA}.content o \
                 WHERE NOT EXISTS (SELECT 1 FROM main.content m WHERE m.hash = o.hash) \
                 ORDER BY o.id"
            ),
            [],
        )
        .in_catalogue(path)?;
    Ok((contents_total as u64, contents_new as u64))
}

/// Copies every entry and scan error, in the mapped snapshots; returns how many of each.
fn copy_entries(tx: &Transaction<'_>, path: &Path) -> Result<(u64, u64)> {
    let entries = tx
        .execute(
            &format!(
                "INSERT INTO main.entry (path, kind, content_id, size, mtime_ns, mode, \
                 link_target, dev, inode, first_snapshot, last_snapshot, uid, gid, user_name, \
                 group_name) \
                 SELECT e.path, e.kind, {}, e.size, e.mtime_ns, e.mode, e.link_target, \
                 e.dev, e.inode, f.new, l.new, e.uid, e.gid, e.user_name, e.group_name \
                 FROM {SCHEMA}.entry e \
                 JOIN merge_snapshot f ON f.old = e.first_snapshot \
                 JOIN merge_snapshot l ON l.old = e.last_snapshot ORDER BY e.id",
                content_here("e.content_id")
            ),
            [],
        )
        .in_catalogue(path)?;
    check_all_copied(tx, "entry", entries, path)?;
    let scan_errors = tx
        .execute(
            &format!(
                "INSERT INTO main.scan_error (snapshot, path, cause, at_ns) \
                 SELECT s.new, e.path, e.cause, e.at_ns FROM {SCHEMA}.scan_error e \
                 JOIN merge_snapshot s ON s.old = e.snapshot ORDER BY e.id"
            ),
            [],
        )
        .in_catalogue(path)?;
    check_all_copied(tx, "scan_error", scan_errors, path)?;

    Ok((entries as u64, scan_errors as u64))
}

/// Copies the plans of the discs `plan` copies, then those discs under their new numbers,
/// and maps their ids (`merge_plan`, `merge_disc`).
fn copy_plans_and_discs(tx: &Transaction<'_>, plan: &DiscPlan, path: &Path) -> Result<()> {
    let plans: BTreeSet<i64> = plan.copies.iter().map(|c| c.plan_id).collect();
    for old in plans {
        let copied = tx
            .execute(
                &format!(
                    "INSERT INTO main.plan (created_ns, snapshot, media, capacity, margin, \
                     first_paths, folders_split, catalogue_size, catalogue_gzip) \
                     SELECT p.created_ns, s.new, p.media, p.capacity, p.margin, \
                     p.first_paths, p.folders_split, p.catalogue_size, p.catalogue_gzip \
                     FROM {SCHEMA}.plan p JOIN merge_snapshot s ON s.old = p.snapshot \
                     WHERE p.id = ?1"
                ),
                [old],
            )
            .in_catalogue(path)?;
        if copied != 1 {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!("the merged catalogue's plan {old} is missing"),
            });
        }
        let new = tx.last_insert_rowid();
        tx.execute("INSERT INTO merge_plan VALUES (?1, ?2)", (old, new))
            .in_catalogue(path)?;
    }
    for c in &plan.copies {
        tx.execute(
            &format!(
                "INSERT INTO main.disc ({DISC_FIELDS}) \
                 SELECT ?2, p.new, s.new, d.capacity, d.margin, d.media, d.label, d.state, \
                 d.image_size, d.files, d.bytes, d.image_name, d.image_sha256, \
                 d.written_ns, d.verified_ns, ?3 \
                 FROM {SCHEMA}.disc d JOIN merge_plan p ON p.old = d.plan_id \
                 JOIN merge_snapshot s ON s.old = d.snapshot WHERE d.id = ?1"
            ),
            params![c.old_id, c.number, c.set_id],
        )
        .in_catalogue(path)?;
        let new = tx.last_insert_rowid();
        tx.execute("INSERT INTO merge_disc VALUES (?1, ?2)", (c.old_id, new))
            .in_catalogue(path)?;
    }
    Ok(())
}

/// Copies the placements on the copied discs.
fn copy_placements(tx: &Transaction<'_>, path: &Path) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO main.placement (content_id, disc_id, part, parts, offset, length, \
             part_hash, entry_path, name_path, disc_path, iso_path) \
             SELECT {}, d.new, p.part, p.parts, p.offset, p.length, p.part_hash, \
             p.entry_path, p.name_path, p.disc_path, p.iso_path \
             FROM {SCHEMA}.placement p JOIN merge_disc d ON d.old = p.disc_id ORDER BY p.id",
            content_here("p.content_id")
        ),
        [],
    )
    .in_catalogue(path)?;
    Ok(())
}

/// Rows copied.
struct Counts {
    snapshots: Vec<MergedSnapshot>,
    entries: u64,
    scan_errors: u64,
    contents_new: u64,
    contents_total: u64,
}

/// Every row of the other's `table` must have been copied; a row left out refers to a
/// snapshot the other catalogue does not have.
fn check_all_copied(tx: &Transaction<'_>, table: &str, copied: usize, path: &Path) -> Result<()> {
    let there: i64 = tx
        .query_row(&format!("SELECT count(*) FROM {SCHEMA}.{table}"), [], |r| {
            r.get(0)
        })
        .in_catalogue(path)?;
    if there as usize != copied {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "{} of the merged catalogue's {table} rows refer to snapshots it does not have",
                there as usize - copied.min(there as usize)
            ),
        });
    }
    Ok(())
}

/// Which of the other's discs come in, under which number, and the conflicts.
#[derive(Debug, Default)]
struct DiscPlan {
    copies: Vec<DiscCopy>,
    merged: Vec<MergedDisc>,
    already_here: Vec<String>,
    planned_left: u64,
    conflicts: Vec<String>,
}

#[derive(Debug)]
struct DiscCopy {
    old_id: i64,
    plan_id: i64,
    number: u32,
    set_id: String,
}

impl DiscPlan {
    fn new(our_set: &str, ours: &[DiscRecord], theirs: &[DiscRecord]) -> DiscPlan {
        let mut plan = DiscPlan::default();
        let by_label: HashMap<&str, &DiscRecord> =
            ours.iter().map(|d| (d.label.as_str(), d)).collect();
        let mut sets: BTreeSet<&str> = ours.iter().map(|d| d.set_id.as_str()).collect();
        sets.insert(our_set);
        let mut used: BTreeSet<u32> = ours.iter().map(|d| d.number).collect();
        for d in theirs {
            if d.state == DiscState::Planned {
                plan.planned_left += 1;
                continue;
            }
            if let Some(here) = by_label.get(d.label.as_str()) {
                if same_disc(here, d) {
                    plan.already_here.push(d.label.clone());
                } else {
                    plan.conflicts.push(format!(
                        "label {} names disc {} here and disc {} there, and they are not the \
                         same disc ({})",
                        d.label,
                        here.number,
                        d.number,
                        difference(here, d)
                    ));
                }
                continue;
            }
            if sets.contains(d.set_id.as_str()) {
                plan.conflicts.push(format!(
                    "disc {} there ({}) is of set {}, which this catalogue holds discs of too: \
                     both catalogues extended that set on their own",
                    d.number, d.label, d.set_id
                ));
                continue;
            }
            let number = if used.contains(&d.number) {
                used.last().map_or(1, |n| n + 1)
            } else {
                d.number
            };
            used.insert(number);
            plan.copies.push(DiscCopy {
                old_id: d.id,
                plan_id: d.plan_id,
                number,
                set_id: d.set_id.clone(),
            });
            plan.merged.push(MergedDisc {
                from: d.number,
                number,
                label: d.label.clone(),
                set_id: d.set_id.clone(),
                state: d.state,
            });
        }
        plan
    }
}

/// The same physical disc: same label and set, same image size, and the same image hash where
/// both catalogues recorded one; ours must be written too.
fn same_disc(here: &DiscRecord, there: &DiscRecord) -> bool {
    here.state != DiscState::Planned
        && here.label == there.label
        && here.set_id == there.set_id
        && here.image_size == there.image_size
        && match (here.image_sha256, there.image_sha256) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

fn difference(here: &DiscRecord, there: &DiscRecord) -> String {
    if here.set_id != there.set_id {
        format!("sets {} and {}", here.set_id, there.set_id)
    } else if here.state == DiscState::Planned {
        "only planned here".into()
    } else if here.image_size != there.image_size {
        format!(
            "images of {} and {} bytes",
            here.image_size, there.image_size
        )
    } else {
        "different image SHA-256".into()
    }
}

fn unfinished(snapshots: &[Snapshot], where_: &str, fix: &str) -> Vec<String> {
    snapshots
        .iter()
        .filter(|s| s.state == SnapshotState::Scanning)
        .map(|s| {
            format!(
                "snapshot {} {where_} (drive {}) is an unfinished scan: {fix} first",
                s.id,
                s.drive_path.display()
            )
        })
        .collect()
}

fn shared_snapshots(ours: &[Snapshot], theirs: &[Snapshot]) -> Option<String> {
    let shared: Vec<(i64, i64)> = theirs
        .iter()
        .filter_map(|t| {
            ours.iter()
                .find(|o| o.drive_path == t.drive_path && o.started_ns == t.started_ns)
                .map(|o| (o.id, t.id))
        })
        .collect();
    let &(here, there) = shared.first()?;
    Some(format!(
        "{} of its snapshots are already here (snapshot {there} there is snapshot {here} here: \
         same drive, same start): it is a copy of this catalogue, or was merged into it before",
        shared.len()
    ))
}

/// Whether two paths name the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => a == b,
    }
}

/// An SQLite URI that opens `path` read only: every byte outside the unreserved set is
/// percent-encoded, so any file name works.
fn read_only_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for &b in absolute.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro");
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_escape_everything_but_unreserved_bytes() {
        let uri = read_only_uri(Path::new("/a b/c?d#e%f/\u{e9}.db"));
        assert_eq!(uri, "file:/a%20b/c%3Fd%23e%25f/%C3%A9.db?mode=ro");
    }
}
