//! The writer of the catalogue JSON: its head, snapshots, plans, discs and scan errors (the
//! `files` and per-kind version sections are in `files.rs`).

use std::io::{self, Write};
use std::iter::Peekable;

use rusqlite::Row;

use super::{Form, JSON_VERSION, JsonDisc, NewParts, json_path};
use crate::catalogue::{Catalogue, InCatalogue};
use crate::error::Error;

pub(super) enum Fail {
    Io(io::Error),
    Db(Error),
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Self {
        Fail::Io(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Db(e)
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Self {
        Fail::Io(io::Error::other(e))
    }
}

pub(super) type Res<T> = std::result::Result<T, Fail>;

pub(super) struct JsonWriter<'a, W> {
    pub(super) catalogue: &'a Catalogue,
    pub(super) form: Form,
    pub(super) snapshot: i64,
    pub(super) max_plan: i64,
    pub(super) below_disc: u32,
    pub(super) new_discs: &'a [JsonDisc],
    pub(super) new_parts: Peekable<NewParts<'a>>,
    pub(super) sample_below: Option<u8>,
    pub(super) o: W,
}

/// One version of a path, read from an `entry` row.
pub(super) struct Version {
    pub(super) path: Vec<u8>,
    pub(super) mtime: i64,
    pub(super) mode: i64,
    pub(super) first: i64,
    pub(super) last: i64,
    pub(super) size: i64,
    pub(super) dev: i64,
    pub(super) inode: i64,
    pub(super) target: Option<Vec<u8>>,
    pub(super) owner: Option<crate::catalogue::Owner>,
}

/// The columns [`Version::from_row`] reads, from `entry e`, after `skip` others.
pub(super) const VERSION_COLUMNS: &str = "e.path, e.mtime_ns, e.mode, e.first_snapshot, \
     min(e.last_snapshot, ?1), e.size, e.dev, e.inode, e.link_target, \
     e.uid, e.gid, e.user_name, e.group_name";

impl Version {
    pub(super) fn from_row(r: &Row<'_>, skip: usize) -> rusqlite::Result<Version> {
        Ok(Version {
            path: r.get(skip)?,
            mtime: r.get(skip + 1)?,
            mode: r.get(skip + 2)?,
            first: r.get(skip + 3)?,
            last: r.get(skip + 4)?,
            size: r.get(skip + 5)?,
            dev: r.get(skip + 6)?,
            inode: r.get(skip + 7)?,
            target: r.get(skip + 8)?,
            owner: crate::catalogue::entries::owner_at(r, skip + 9)?,
        })
    }
}

/// Which optional fields a kind of entry writes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum VersionKind {
    File,
    Unhashed,
    Directory,
    Symlink,
}

impl<W: Write> JsonWriter<'_, W> {
    pub(super) fn raw(&mut self, s: &str) -> io::Result<()> {
        self.o.write_all(s.as_bytes())
    }

    pub(super) fn val<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Res<()> {
        serde_json::to_writer(&mut self.o, v)?;
        Ok(())
    }

    pub(super) fn export(&self) -> bool {
        self.form == Form::Export
    }

    pub(super) fn write(&mut self) -> Res<()> {
        self.head()?;
        self.snapshots()?;
        if self.export() {
            self.plans()?;
        }
        self.discs()?;
        self.files()?;
        self.raw(",\"unhashed\":{")?;
        self.versions(
            VersionKind::Unhashed,
            "WHERE e.kind = 1 AND e.content_id IS NULL",
        )?;
        self.raw("},\"directories\":{")?;
        self.versions(VersionKind::Directory, "WHERE e.kind = 2")?;
        self.raw("},\"symlinks\":{")?;
        self.versions(VersionKind::Symlink, "WHERE e.kind = 3")?;
        self.raw("}")?;
        if self.export() {
            self.errors()?;
        }
        self.raw("}")?;
        Ok(())
    }

    fn head(&mut self) -> Res<()> {
        let archive = self.catalogue.archive()?;
        #[derive(serde::Serialize)]
        struct Head<'a> {
            version: u32,
            generator: String,
            hash_algorithm: &'a str,
            set_id: &'a str,
            created: i64,
            #[serde(skip_serializing_if = "Option::is_none")]
            tool_version: Option<&'a str>,
            snapshot: i64,
        }
        let head = Head {
            version: JSON_VERSION,
            generator: crate::generator(),
            hash_algorithm: archive.hash_algorithm.name(),
            set_id: &archive.set_id,
            created: archive.created_ns,
            tool_version: self.export().then_some(archive.tool_version.as_str()),
            snapshot: self.snapshot,
        };
        let head = serde_json::to_string(&head)?;
        // Leave the object open: the rest follows.
        self.raw(&head[..head.len() - 1])?;
        Ok(())
    }

    fn snapshots(&mut self) -> Res<()> {
        let catalogue = self.catalogue;
        let path = catalogue.path();
        let mut stmt = catalogue
            .conn
            .prepare(
                "SELECT id, drive_path, started_ns, finished_ns, state, files, directories, \
                 symlinks, total_bytes, unique_contents, unique_bytes, errors, root_mtime_ns \
                 FROM snapshot WHERE id <= ?1 ORDER BY id",
            )
            .in_catalogue(path)?;
        let mut rows = stmt.query([self.snapshot]).in_catalogue(path)?;
        self.raw(",\"snapshots\":[")?;
        let mut first = true;
        while let Some(r) = rows.next().in_catalogue(path)? {
            let drive: Vec<u8> = r.get(1).in_catalogue(path)?;
            let counter = |i: usize| r.get::<_, Option<i64>>(i).in_catalogue(path);
            let mut v = serde_json::json!({
                "id": r.get::<_, i64>(0).in_catalogue(path)?,
                "drive_path": json_path(&drive),
                "started": r.get::<_, i64>(2).in_catalogue(path)?,
                "finished": r.get::<_, Option<i64>>(3).in_catalogue(path)?,
                "state": r.get::<_, String>(4).in_catalogue(path)?,
                "files": counter(5)?,
                "directories": counter(6)?,
                "symlinks": counter(7)?,
                "total_bytes": counter(8)?,
                "unique_contents": counter(9)?,
                "unique_bytes": counter(10)?,
                "errors": counter(11)?,
            });
            // Only where the scan recorded it, so catalogues from before it keep their bytes.
            if let Some(t) = counter(12)? {
                v["root_mtime"] = t.into();
            }
            self.raw(if first { "" } else { "," })?;
            first = false;
            self.val(&v)?;
        }
        self.raw("]")?;
        Ok(())
    }

    fn plans(&mut self) -> Res<()> {
        self.raw(",\"plans\":[")?;
        for (i, p) in self
            .catalogue
            .plans_up_to(self.max_plan)?
            .into_iter()
            .enumerate()
        {
            let v = serde_json::json!({
                "id": p.id,
                "created": p.created_ns,
                "snapshot": p.snapshot,
                "media": p.media,
                "capacity": p.capacity,
                "margin": p.margin,
                "first_paths": p.first_paths,
                "folders_split": p.folders_split,
                "catalogue_size": p.catalogue_size,
                "catalogue_gzip": p.catalogue_gzip,
                "parity_percent": p.parity_percent,
            });
            self.raw(if i == 0 { "" } else { "," })?;
            self.val(&v)?;
        }
        self.raw("]")?;
        Ok(())
    }

    fn discs(&mut self) -> Res<()> {
        let own_set = self.catalogue.archive()?.set_id;
        let mut discs: Vec<JsonDisc> = self
            .catalogue
            .discs()?
            .iter()
            .filter(|d| d.plan_id <= self.max_plan && d.number < self.below_disc)
            .map(|d| {
                if self.export() {
                    JsonDisc::full(d, &own_set)
                } else {
                    JsonDisc::planned(d, &own_set)
                }
            })
            .collect();
        discs.extend(self.new_discs.iter().cloned());
        self.raw(",\"discs\":")?;
        self.val(&discs)?;
        Ok(())
    }

    /// `errors`: what went wrong with which path in which scan.
    fn errors(&mut self) -> Res<()> {
        let catalogue = self.catalogue;
        let path = catalogue.path();
        let mut stmt = catalogue
            .conn
            .prepare(
                "SELECT snapshot, path, cause, at_ns FROM scan_error WHERE snapshot <= ?1 \
                 ORDER BY id",
            )
            .in_catalogue(path)?;
        let mut rows = stmt.query([self.snapshot]).in_catalogue(path)?;
        self.raw(",\"errors\":[")?;
        let mut first = true;
        while let Some(r) = rows.next().in_catalogue(path)? {
            let raw: Vec<u8> = r.get(1).in_catalogue(path)?;
            let v = serde_json::json!({
                "snapshot": r.get::<_, i64>(0).in_catalogue(path)?,
                "path": json_path(&raw),
                "cause": r.get::<_, String>(2).in_catalogue(path)?,
                "at": r.get::<_, i64>(3).in_catalogue(path)?,
            });
            self.raw(if first { "" } else { "," })?;
            first = false;
            self.val(&v)?;
        }
        self.raw("]")?;
        Ok(())
    }
}
