//! Rows of an import: each snapshot, plan, disc, scan error, content, path version and
//! placement of the document, inserted as the parser reaches it.

use rusqlite::params;
use serde::de;

use super::stream::{ErrorIn, FileIn, Mtime, OneOrMany, PlanIn, SnapIn, VersionIn};
use super::{Fail, HEAD_SNAPSHOT, Importer, NO_PLAN, Res, v01};
use crate::catalogue::discs::insert_disc;
use crate::catalogue::json::{JsonDisc, parse_json_path};
use crate::catalogue::{DiscRecord, DiscState, EntryKind, InCatalogue};
use crate::hash::ContentHash;

impl Importer<'_> {
    /// Runs `f`; a failure is kept (with its type) and the parser stopped.
    pub(super) fn guard<E: de::Error>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Res<()>,
    ) -> Result<(), E> {
        match f(self) {
            Ok(()) => Ok(()),
            Err(Fail::Bad(reason)) => Err(E::custom(reason)),
            Err(Fail::Db(e)) => {
                let text = e.to_string();
                self.failed = Some(e);
                Err(E::custom(text))
            }
        }
    }

    pub(super) fn path(&self, text: &str) -> Res<Vec<u8>> {
        parse_json_path(text).ok_or_else(|| Fail::Bad(format!("bad path {text:?}")))
    }

    pub(super) fn snapshots(&mut self, snaps: Vec<SnapIn>) -> Res<()> {
        for s in snaps {
            let drive = self.path(&s.drive_path)?;
            let state = match s.state.as_deref() {
                None | Some("complete") => "complete",
                Some("scanning") => "scanning",
                Some(other) => return Err(Fail::Bad(format!("unknown snapshot state {other:?}"))),
            };
            self.tx
                .execute(
                    "INSERT INTO snapshot (id, drive_path, started_ns, finished_ns, state, files, \
                     directories, symlinks, total_bytes, unique_contents, unique_bytes, errors, \
                     root_mtime_ns) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                    params![
                        s.id,
                        drive,
                        s.started,
                        s.finished,
                        state,
                        s.files,
                        s.directories,
                        s.symlinks,
                        s.total_bytes,
                        s.unique_contents,
                        s.unique_bytes,
                        s.errors,
                        s.root_mtime
                    ],
                )
                .in_catalogue(self.catalogue)?;
        }
        Ok(())
    }

    pub(super) fn plans(&mut self, plans: Vec<PlanIn>) -> Res<()> {
        for p in plans {
            let first = serde_json::to_string(&p.first_paths)
                .map_err(|e| Fail::Bad(format!("plan {}: {e}", p.id)))?;
            self.tx
                .execute(
                    "INSERT INTO plan (id, created_ns, snapshot, media, capacity, margin, \
                     first_paths, folders_split, catalogue_size, catalogue_gzip, \
                     parity_percent) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        p.id,
                        p.created,
                        p.snapshot,
                        p.media,
                        p.capacity as i64,
                        p.margin as i64,
                        first,
                        p.folders_split as i64,
                        p.catalogue_size as i64,
                        p.catalogue_gzip,
                        p.parity_percent
                    ],
                )
                .in_catalogue(self.catalogue)?;
        }
        Ok(())
    }

    pub(super) fn discs(&mut self, discs: Vec<JsonDisc>) -> Res<()> {
        for d in discs {
            let default_state = if self.options.from_disc {
                "written"
            } else {
                "planned"
            };
            let r = d.record.as_ref();
            let state = r.map_or(default_state, |r| r.state.as_str());
            let state = DiscState::parse(state)
                .ok_or_else(|| Fail::Bad(format!("disc {}: unknown state {state:?}", d.number)))?;
            let image_sha256 = match r.and_then(|r| r.image_sha256.as_deref()) {
                None => None,
                Some(h) => Some(
                    crate::unhex(h)
                        .and_then(|h| <[u8; 32]>::try_from(h).ok())
                        .ok_or_else(|| Fail::Bad(format!("disc {}: bad image hash", d.number)))?,
                ),
            };
            let disc = DiscRecord {
                id: 0,
                number: d.number,
                plan_id: r.map_or(NO_PLAN, |r| r.plan),
                snapshot: r.map_or(HEAD_SNAPSHOT, |r| r.snapshot),
                capacity: r.map_or(0, |r| r.capacity),
                margin: r.map_or(0, |r| r.margin),
                media: r.map_or_else(String::new, |r| r.media.clone()),
                label: d.label,
                state,
                image_size: d.image_size,
                files: d.files,
                bytes: d.bytes,
                image_name: r.and_then(|r| r.image_name.clone()),
                image_sha256,
                written_ns: r.and_then(|r| r.written),
                verified_ns: r.and_then(|r| r.verified),
                set_id: String::new(),
            };
            insert_disc(self.tx, &disc, d.set_id.as_deref()).in_catalogue(self.catalogue)?;
        }
        Ok(())
    }

    pub(super) fn errors(&mut self, errors: Vec<ErrorIn>) -> Res<()> {
        for e in errors {
            let path = self.path(&e.path)?;
            self.tx
                .execute(
                    "INSERT INTO scan_error (snapshot, path, cause, at_ns) VALUES (?1, ?2, ?3, ?4)",
                    params![e.snapshot, path, e.cause, e.at],
                )
                .in_catalogue(self.catalogue)?;
        }
        Ok(())
    }

    pub(super) fn mtime(&self, m: &Mtime) -> Res<i64> {
        match m {
            Mtime::Ns(ns) => Ok(*ns),
            Mtime::Local(text) => self.local_time(text),
        }
    }

    pub(super) fn insert_entry(
        &mut self,
        path: &[u8],
        kind: EntryKind,
        content: Option<i64>,
        size: u64,
        v: &VersionIn,
        default_mtime: i64,
    ) -> Res<()> {
        let mtime = match &v.mtime {
            Some(m) => self.mtime(m)?,
            None => default_mtime,
        };
        let target = match (&v.target, kind) {
            (Some(t), _) => Some(self.path(t)?),
            (None, EntryKind::Symlink) => Some(Vec::new()),
            (None, _) => None,
        };
        let size = match kind {
            EntryKind::File => v.size.unwrap_or(size),
            EntryKind::Directory => v.size.unwrap_or(0),
            EntryKind::Symlink => v
                .size
                .unwrap_or(target.as_ref().map_or(0, |t| t.len() as u64)),
        };
        let mode = v.mode.unwrap_or(match kind {
            EntryKind::File => 0o644,
            EntryKind::Directory => 0o755,
            EntryKind::Symlink => 0o777,
        });
        let [first, last] = v.snapshots.unwrap_or([HEAD_SNAPSHOT, HEAD_SNAPSHOT]);
        if first > last {
            return Err(Fail::Bad(format!(
                "{}: snapshot range {first}..{last} is backwards",
                String::from_utf8_lossy(path)
            )));
        }
        self.tx
            .prepare_cached(
                "INSERT INTO entry (path, kind, content_id, size, mtime_ns, mode, link_target, \
                 dev, inode, first_snapshot, last_snapshot, uid, gid, user_name, group_name) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    path,
                    kind.code(),
                    content,
                    size as i64,
                    mtime,
                    mode,
                    target,
                    v.dev.unwrap_or(0),
                    v.inode.unwrap_or(0),
                    first,
                    last,
                    v.uid,
                    v.gid,
                    v.user,
                    v.group
                ])
            })
            .in_catalogue(self.catalogue)?;
        self.counts.entries += 1;
        Ok(())
    }

    pub(super) fn versions(
        &mut self,
        kind: EntryKind,
        name: &str,
        versions: Vec<VersionIn>,
    ) -> Res<()> {
        let path = self.path(name)?;
        for v in &versions {
            self.insert_entry(&path, kind, None, 0, v, 0)?;
        }
        Ok(())
    }

    pub(super) fn file(&mut self, key: &str, file: FileIn) -> Res<()> {
        let hash = ContentHash::from_hex(key)
            .ok_or_else(|| Fail::Bad(format!("bad content hash {key:?}")))?;
        match self.hash_len {
            None => self.hash_len = Some(hash.len()),
            Some(n) if n != hash.len() => {
                return Err(Fail::Bad(format!(
                    "content hash {key:?} is not as long as the others"
                )));
            }
            Some(_) => {}
        }
        let legacy = v01::is_v01_file(&self.head, &file);
        self.legacy |= legacy;
        self.tx
            .prepare_cached("INSERT INTO content (hash, size) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![hash, file.size as i64]))
            .in_catalogue(self.catalogue)?;
        let content = self.tx.last_insert_rowid();
        self.counts.contents += 1;
        let default_mtime = match &file.mtime {
            Some(m) => self.mtime(m)?,
            None => 0,
        };
        let mut first_name: Option<(String, Vec<u8>)> = None;
        for (name, versions) in &file.filenames.0 {
            let (stored_as, path) = if legacy {
                let (on_disc, rel) = v01::split_data_path(name);
                (on_disc.to_owned(), self.path(rel)?)
            } else {
                (String::new(), self.path(name)?)
            };
            first_name.get_or_insert_with(|| (stored_as, path.clone()));
            let empty = [VersionIn {
                mtime: None,
                mode: None,
                snapshots: None,
                size: None,
                target: None,
                dev: None,
                inode: None,
                uid: None,
                gid: None,
                user: None,
                group: None,
            }];
            let versions: &[VersionIn] = match versions {
                None => &empty,
                Some(OneOrMany::One(v)) => std::slice::from_ref(v),
                Some(OneOrMany::Many(v)) => v,
            };
            for v in versions {
                self.insert_entry(
                    &path,
                    EntryKind::File,
                    Some(content),
                    file.size,
                    v,
                    default_mtime,
                )?;
            }
        }
        let Some((stored_as, first_path)) = first_name else {
            return Err(Fail::Bad(format!("content {key} has no file names")));
        };
        if legacy {
            self.v01_placement(content, &file, &first_path, &stored_as)?;
        }
        let parts = file.parts.iter().filter(|p| p.part > 0).count().max(1) as u32;
        for p in &file.parts {
            let part_hash = match (p.part, p.hash.as_deref().or(p.sha256.as_deref())) {
                (0, _) => None,
                (_, Some(h)) => Some(
                    ContentHash::from_hex(h)
                        .ok_or_else(|| Fail::Bad(format!("bad part hash {h:?}")))?,
                ),
                (_, None) => {
                    return Err(Fail::Bad(format!("part {} of {key} has no hash", p.part)));
                }
            };
            let entry_path = match &p.entry_path {
                Some(e) => self.path(e)?,
                None => first_path.clone(),
            };
            let name = p.name.as_deref().unwrap_or(&p.path);
            // The disc number stands in for the disc row until the discs are known.
            self.placement(
                content,
                -i64::from(p.disc),
                p.part,
                p.parts.unwrap_or(parts),
                p.offset,
                p.length,
                part_hash,
                &entry_path,
                name,
                &p.path,
                &p.iso_path,
            )?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn placement(
        &mut self,
        content: i64,
        disc: i64,
        part: u32,
        parts: u32,
        offset: u64,
        length: u64,
        part_hash: Option<ContentHash>,
        entry_path: &[u8],
        name_path: &str,
        disc_path: &str,
        iso_path: &str,
    ) -> Res<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO placement (content_id, disc_id, part, parts, offset, length, \
                 part_hash, entry_path, name_path, disc_path, iso_path) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    content,
                    disc,
                    part,
                    parts,
                    offset as i64,
                    length as i64,
                    part_hash,
                    entry_path,
                    name_path,
                    disc_path,
                    iso_path
                ])
            })
            .in_catalogue(self.catalogue)?;
        self.counts.placements += 1;
        Ok(())
    }
}
