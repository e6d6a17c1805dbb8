//! Reading the catalogue JSON that every disc carries back into a catalogue, so that a set of
//! discs can be verified and restored when the local catalogue is lost.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Deserialize;

use super::json::parse_json_path;
use super::{Catalogue, InCatalogue};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Doc {
    version: u32,
    hash_algorithm: String,
    set_id: String,
    created: i64,
    snapshot: i64,
    #[serde(default)]
    snapshots: Vec<Snap>,
    #[serde(default)]
    discs: Vec<Disc>,
    #[serde(default)]
    files: BTreeMap<String, File>,
    #[serde(default)]
    directories: BTreeMap<String, Attr>,
    #[serde(default)]
    symlinks: BTreeMap<String, Link>,
}

#[derive(Deserialize)]
struct Snap {
    id: i64,
    drive_path: String,
    started: i64,
    finished: Option<i64>,
}

#[derive(Deserialize)]
struct Disc {
    number: u32,
    label: String,
    image_size: u64,
    files: u64,
    bytes: u64,
}

#[derive(Deserialize)]
struct File {
    size: u64,
    filenames: BTreeMap<String, Attr>,
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Attr {
    mtime: i64,
    mode: u32,
}

#[derive(Deserialize)]
struct Link {
    target: String,
    mtime: i64,
    mode: u32,
}

#[derive(Deserialize)]
struct Part {
    part: u32,
    disc: u32,
    offset: u64,
    length: u64,
    sha256: String,
    path: String,
    iso_path: String,
}

/// The newest catalogue JSON version this build reads.
const NEWEST_JSON: u32 = super::json::JSON_VERSION;

impl Catalogue {
    /// Fills this catalogue, which must hold no snapshot yet, from the catalogue JSON found on
    /// a disc (`what` names that disc in errors). One transaction: all or nothing.
    pub fn import_disc_json(&mut self, json: &[u8], what: &str) -> Result<()> {
        let corrupt = |reason: String| Error::Corrupt {
            path: std::path::PathBuf::from(what),
            reason,
        };
        let doc: Doc =
            serde_json::from_slice(json).map_err(|e| corrupt(format!("catalogue JSON: {e}")))?;
        if doc.version > NEWEST_JSON {
            return Err(corrupt(format!(
                "catalogue JSON version {} is newer than this odarchive reads ({NEWEST_JSON})",
                doc.version
            )));
        }
        if !self.snapshots()?.is_empty() {
            return Err(corrupt("the catalogue to fill is not empty".into()));
        }
        let alg = crate::hash::HashAlgorithm::from_name(&doc.hash_algorithm)
            .ok_or_else(|| corrupt(format!("unknown hash algorithm {:?}", doc.hash_algorithm)))?;
        let path = self.path.clone();
        let tx = self.conn.transaction().in_catalogue(&path)?;
        tx.execute(
            "UPDATE archive SET set_id = ?1, hash_algorithm = ?2, created_ns = ?3",
            params![doc.set_id, doc.hash_algorithm, doc.created],
        )
        .in_catalogue(&path)?;
        let mut snapshots = doc.snapshots;
        if !snapshots.iter().any(|s| s.id == doc.snapshot) {
            snapshots.push(Snap {
                id: doc.snapshot,
                drive_path: String::new(),
                started: doc.created,
                finished: Some(doc.created),
            });
        }
        for s in &snapshots {
            let drive = parse_json_path(&s.drive_path).unwrap_or_default();
            tx.execute(
                "INSERT INTO snapshot (id, drive_path, started_ns, finished_ns, state) VALUES (?1, ?2, ?3, ?4, 'complete')",
                params![s.id, drive, s.started, s.finished.unwrap_or(s.started)],
            )
            .in_catalogue(&path)?;
        }
        tx.execute(
            "INSERT INTO plan (id, created_ns, snapshot, media, capacity, margin, first_paths, folders_split, catalogue_size, catalogue_gzip) \
             VALUES (1, ?1, ?2, 'from a disc', 0, 0, '[]', 0, 0, 0)",
            params![doc.created, doc.snapshot],
        )
        .in_catalogue(&path)?;
        let mut disc_ids: BTreeMap<u32, i64> = BTreeMap::new();
        for d in &doc.discs {
            tx.execute(
                "INSERT INTO disc (number, plan_id, snapshot, capacity, margin, media, label, state, image_size, files, bytes) \
                 VALUES (?1, 1, ?2, 0, 0, '', ?3, 'written', ?4, ?5, ?6)",
                params![d.number, doc.snapshot, d.label, d.image_size as i64, d.files as i64, d.bytes as i64],
            )
            .in_catalogue(&path)?;
            disc_ids.insert(d.number, tx.last_insert_rowid());
        }
        let entry_sql = "INSERT INTO entry (path, kind, content_id, size, mtime_ns, mode, link_target, dev, inode, first_snapshot, last_snapshot) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, ?8, ?8)";
        for (hex, file) in &doc.files {
            let hash = crate::unhex(hex)
                .filter(|h| h.len() == alg.len())
                .ok_or_else(|| corrupt(format!("bad content hash {hex:?}")))?;
            tx.execute(
                "INSERT INTO content (hash, size) VALUES (?1, ?2)",
                params![hash, file.size as i64],
            )
            .in_catalogue(&path)?;
            let content = tx.last_insert_rowid();
            let mut first_name: Option<Vec<u8>> = None;
            for (name, attr) in &file.filenames {
                let raw =
                    parse_json_path(name).ok_or_else(|| corrupt(format!("bad path {name:?}")))?;
                first_name.get_or_insert_with(|| raw.clone());
                tx.execute(
                    entry_sql,
                    params![
                        raw,
                        1,
                        content,
                        file.size as i64,
                        attr.mtime,
                        attr.mode,
                        None::<Vec<u8>>,
                        doc.snapshot
                    ],
                )
                .in_catalogue(&path)?;
            }
            let parts = file.parts.iter().filter(|p| p.part > 0).count().max(1) as u32;
            for p in &file.parts {
                let disc = *disc_ids
                    .get(&p.disc)
                    .ok_or_else(|| corrupt(format!("part on unknown disc {}", p.disc)))?;
                let sha = crate::unhex(&p.sha256)
                    .filter(|h| h.len() == alg.len())
                    .ok_or_else(|| corrupt(format!("bad part hash {:?}", p.sha256)))?;
                let part_sha = (p.part > 0).then_some(sha);
                tx.execute(
                    "INSERT INTO placement (content_id, disc_id, part, parts, offset, length, part_hash, entry_path, name_path, disc_path, iso_path) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
                    params![content, disc, p.part, parts, p.offset as i64, p.length as i64, part_sha, first_name.clone().unwrap_or_default(), p.path, p.iso_path],
                )
                .in_catalogue(&path)?;
            }
        }
        for (name, attr) in &doc.directories {
            let raw = parse_json_path(name).ok_or_else(|| corrupt(format!("bad path {name:?}")))?;
            tx.execute(
                entry_sql,
                params![
                    raw,
                    2,
                    None::<i64>,
                    0,
                    attr.mtime,
                    attr.mode,
                    None::<Vec<u8>>,
                    doc.snapshot
                ],
            )
            .in_catalogue(&path)?;
        }
        for (name, link) in &doc.symlinks {
            let raw = parse_json_path(name).ok_or_else(|| corrupt(format!("bad path {name:?}")))?;
            let target = parse_json_path(&link.target)
                .ok_or_else(|| corrupt(format!("bad link target {:?}", link.target)))?;
            tx.execute(
                entry_sql,
                params![
                    raw,
                    3,
                    None::<i64>,
                    target.len() as i64,
                    link.mtime,
                    link.mode,
                    target,
                    doc.snapshot
                ],
            )
            .in_catalogue(&path)?;
        }
        tx.commit().in_catalogue(&path)?;
        Ok(())
    }
}
