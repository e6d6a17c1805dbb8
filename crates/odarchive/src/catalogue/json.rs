//! The catalogue as JSON: the shape of the original odarchive's catalogues, extended so that
//! it holds the whole catalogue — every snapshot, plan, disc and placement.
//!
//! ```text
//! {"version": 4, "generator": "odarchive 0.2.0", "hash_algorithm": "sha256",
//!  "set_id": "…", "created": NS, "tool_version": "…", "snapshot": ID,
//!  "snapshots": [{"id", "drive_path", "started", "finished", "state", "files", "directories",
//!                 "symlinks", "total_bytes", "unique_contents", "unique_bytes", "errors"}],
//!  "plans": [{"id", "created", "snapshot", "media", "capacity", "margin", "first_paths",
//!             "folders_split", "catalogue_size", "catalogue_gzip"}],                  (export)
//!  "discs": [{"number", "label", "set_id"?, "image_size", "files", "bytes",
//!             "plan", "snapshot", "media", "capacity", "margin", "state", "image_name",
//!             "image_sha256", "written", "verified"}],          (the second line: export)
//!  "files": {"<hex hash>": {"size": N, "mtime": NS,
//!            "filenames": {"<path>": VERSION or [VERSION, …]},
//!            "discs": [N, …],
//!            "parts": [{"part", "parts", "disc", "offset", "length", "hash"?, "path",
//!                       "iso_path", "entry_path" (export), "name" (export, when not "path")}]}},
//!  "unhashed": {"<path>": VERSION or [VERSION, …]},
//!  "directories": {"<path>": VERSION or [VERSION, …]},
//!  "symlinks": {"<path>": VERSION or [VERSION, …]},
//!  "errors": [{"snapshot", "path", "cause", "at"}]}                                   (export)
//!
//! VERSION = {"mtime", "mode", "snapshots": [FIRST, LAST], "size" (unhashed; export: all
//!            but files), "target" (symlinks), "dev", "inode" (export),
//!            "uid", "gid", "user", "group" (where recorded)}
//! ```
//!
//! - `version` 4 is this shape. Version 3 (the first discs of this odarchive) is the same
//!   without the version ranges, plans and export fields; versions 1 and 2 are the original
//!   odarchive 0.1's catalogues. [`super::import`] reads all of them.
//! - Paths are relative to the drive root. A path that is valid UTF-8 (and does not start with
//!   `bytes:`) is written as it is; any other is `bytes:` followed by the hex of its bytes.
//! - Times (`mtime`, `created`, ...) are integer nanoseconds since 1970-01-01 UTC.
//! - A path has one VERSION object per stretch of snapshots `FIRST..=LAST` in which it had
//!   that content and those attributes; a path whose attributes changed while its content did
//!   not lists an array of them.
//! - `parts` has one element per file on a disc: `part` 0 is the whole content (its hash is
//!   the key), parts are 1-based with their own `hash`, in the catalogue's algorithm. `path` is
//!   the file's path relative to the disc root (UDF view), `iso_path` the same file in the ISO
//!   9660 view.
//! - `unhashed` lists files that could not be read when scanned (they have no content).
//!
//! Two forms: [`Form::Export`] is the whole catalogue (`odarchive export-json`), and importing
//! it gives an equal catalogue. [`Form::Disc`] is what every disc carries: everything up to
//! the disc's plan and snapshot, without the facts that change after the disc is made (disc
//! states and image hashes, inode numbers, scan errors), so that writing a disc again gives
//! the same bytes.
//!
//! The writer streams: every table is read in key order by its own query, contents and their
//! placements side by side, so memory does not grow with the number of files.

use std::io::{self, Write};
use std::iter::Peekable;

use rusqlite::Row;

use super::{Catalogue, DiscRecord, InCatalogue};
use crate::error::{Error, Result};

/// Version number of this JSON shape.
pub const JSON_VERSION: u32 = 4;

/// Which catalogue JSON to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The whole catalogue.
    Export,
    /// The catalogue file on a disc: stable once the disc's plan is made.
    Disc,
}

/// A disc as the JSON lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JsonDisc {
    /// Disc number.
    pub number: u32,
    /// Volume label.
    pub label: String,
    /// The archive set of a disc merged from another catalogue (absent: this archive's set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_id: Option<String>,
    /// Exact image size in bytes.
    pub image_size: u64,
    /// Data files on it.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Everything else about it ([`Form::Export`] only).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub record: Option<JsonDiscRecord>,
}

/// The facts about a disc that only the exported catalogue holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JsonDiscRecord {
    /// The plan that made it.
    pub plan: i64,
    /// The snapshot it holds contents of.
    pub snapshot: i64,
    /// The medium as given.
    pub media: String,
    /// Capacity, bytes.
    pub capacity: u64,
    /// Margin, bytes.
    pub margin: u64,
    /// `planned`, `written` or `verified`.
    pub state: String,
    /// Image file name once written.
    pub image_name: Option<String>,
    /// SHA-256 of the image, hex.
    pub image_sha256: Option<String>,
    /// When written, ns.
    pub written: Option<i64>,
    /// When last verified, ns.
    pub verified: Option<i64>,
}

impl JsonDisc {
    /// The disc as a disc's own catalogue lists it; `own_set` is the archive's set id.
    pub fn planned(d: &DiscRecord, own_set: &str) -> JsonDisc {
        JsonDisc {
            number: d.number,
            label: d.label.clone(),
            set_id: (d.set_id != own_set).then(|| d.set_id.clone()),
            image_size: d.image_size,
            files: d.files,
            bytes: d.bytes,
            record: None,
        }
    }

    /// The disc with everything the catalogue knows of it.
    pub fn full(d: &DiscRecord, own_set: &str) -> JsonDisc {
        JsonDisc {
            record: Some(JsonDiscRecord {
                plan: d.plan_id,
                snapshot: d.snapshot,
                media: d.media.clone(),
                capacity: d.capacity,
                margin: d.margin,
                state: d.state.as_str().to_owned(),
                image_name: d.image_name.clone(),
                image_sha256: d.image_sha256.map(|h| crate::hex(&h)),
                written: d.written_ns,
                verified: d.verified_ns,
            }),
            ..JsonDisc::planned(d, own_set)
        }
    }
}

/// One stored file of a content, as the JSON lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JsonPart {
    /// 0 for the whole content, else 1-based.
    pub part: u32,
    /// How many parts the content is split into (1 for a whole content).
    pub parts: u32,
    /// The disc number.
    pub disc: u32,
    /// Where the part starts in the content.
    pub offset: u64,
    /// Its length.
    pub length: u64,
    /// The part's own hash, hex (parts only; a whole content's hash is its key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Path relative to the disc root (UDF view).
    pub path: String,
    /// Path in the ISO 9660 view.
    pub iso_path: String,
    /// The catalogue path whose name the file is stored under ([`Form::Export`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_path: Option<String>,
    /// The name given to the image writer, when the disc had to shorten it
    /// ([`Form::Export`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A path as the JSON writes it: UTF-8 as is, otherwise `bytes:` and hex.
pub fn json_path(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) if !s.starts_with("bytes:") => s.to_owned(),
        _ => format!("bytes:{}", crate::hex(raw)),
    }
}

/// The inverse of [`json_path`].
pub fn parse_json_path(text: &str) -> Option<Vec<u8>> {
    match text.strip_prefix("bytes:") {
        Some(hex) => crate::unhex(hex),
        None => Some(text.as_bytes().to_vec()),
    }
}

/// Contents placed by a plan not stored yet, as `(content hash, part)`, ordered by hash and
/// then disc number.
pub type NewParts<'a> = Box<dyn Iterator<Item = (Vec<u8>, JsonPart)> + 'a>;

/// What to write.
pub struct JsonScope<'a> {
    /// Which form.
    pub form: Form,
    /// The newest snapshot to include: entries of later snapshots are left out, version
    /// ranges end here.
    pub snapshot: i64,
    /// Stored discs (and their placements) to include: those of plans up to this id and
    /// numbered below `below_disc`.
    pub max_plan: i64,
    /// See `max_plan`.
    pub below_disc: u32,
    /// Discs not stored yet (a plan being sized), listed after the stored ones.
    pub new_discs: &'a [JsonDisc],
    /// Their placements.
    pub new_parts: NewParts<'a>,
}

impl std::fmt::Debug for JsonScope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonScope")
            .field("form", &self.form)
            .field("snapshot", &self.snapshot)
            .field("max_plan", &self.max_plan)
            .field("below_disc", &self.below_disc)
            .finish_non_exhaustive()
    }
}

impl Catalogue {
    /// Writes the whole catalogue as JSON ([`Form::Export`]) to `out`; `out_name` names it in
    /// errors.
    pub fn export_json<W: Write>(&self, out: W, out_name: &std::path::Path) -> Result<W> {
        let snapshot = self
            .snapshots()?
            .last()
            .map_or(0, |s| s.id)
            .max(self.max_snapshot_in_entries()?);
        let scope = JsonScope {
            form: Form::Export,
            snapshot,
            max_plan: i64::MAX,
            below_disc: u32::MAX,
            new_discs: &[],
            new_parts: Box::new(std::iter::empty()),
        };
        write_catalogue_json(self, scope, out, out_name)
    }

    fn max_snapshot_in_entries(&self) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT coalesce(max(last_snapshot), 0) FROM entry",
                [],
                |r| r.get(0),
            )
            .in_catalogue(&self.path)
    }
}

/// Writes the catalogue JSON described by `scope` to `out`. `out_name` names the output in
/// errors.
pub fn write_catalogue_json<W: Write>(
    catalogue: &Catalogue,
    scope: JsonScope<'_>,
    out: W,
    out_name: &std::path::Path,
) -> Result<W> {
    let JsonScope {
        form,
        snapshot,
        max_plan,
        below_disc,
        new_discs,
        new_parts,
    } = scope;
    let mut w = JsonWriter {
        catalogue,
        form,
        snapshot,
        max_plan,
        below_disc,
        new_discs,
        new_parts: new_parts.peekable(),
        o: out,
    };
    match w.write() {
        Ok(()) => Ok(w.o),
        Err(Fail::Db(e)) => Err(e),
        Err(Fail::Io(source)) => Err(Error::Output {
            path: out_name.to_path_buf(),
            source,
        }),
    }
}

enum Fail {
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

type Res<T> = std::result::Result<T, Fail>;

struct JsonWriter<'a, W> {
    catalogue: &'a Catalogue,
    form: Form,
    snapshot: i64,
    max_plan: i64,
    below_disc: u32,
    new_discs: &'a [JsonDisc],
    new_parts: Peekable<NewParts<'a>>,
    o: W,
}

/// One version of a path, read from an `entry` row.
struct Version {
    path: Vec<u8>,
    mtime: i64,
    mode: i64,
    first: i64,
    last: i64,
    size: i64,
    dev: i64,
    inode: i64,
    target: Option<Vec<u8>>,
    owner: Option<super::Owner>,
}

/// The columns [`Version::from_row`] reads, from `entry e`, after `skip` others.
const VERSION_COLUMNS: &str = "e.path, e.mtime_ns, e.mode, e.first_snapshot, \
     min(e.last_snapshot, ?1), e.size, e.dev, e.inode, e.link_target, \
     e.uid, e.gid, e.user_name, e.group_name";

impl Version {
    fn from_row(r: &Row<'_>, skip: usize) -> rusqlite::Result<Version> {
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
            owner: super::entries::owner_at(r, skip + 9)?,
        })
    }
}

/// Which optional fields a kind of entry writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum VersionKind {
    File,
    Unhashed,
    Directory,
    Symlink,
}

impl<W: Write> JsonWriter<'_, W> {
    fn raw(&mut self, s: &str) -> io::Result<()> {
        self.o.write_all(s.as_bytes())
    }

    fn val<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Res<()> {
        serde_json::to_writer(&mut self.o, v)?;
        Ok(())
    }

    fn export(&self) -> bool {
        self.form == Form::Export
    }

    fn write(&mut self) -> Res<()> {
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
            hash_algorithm: &archive.hash_algorithm,
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
            .connection()
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

    /// `files`: every content with a version in the scope, its names and where it is stored.
    /// Entries and placements are two queries in content hash order, walked side by side.
    fn files(&mut self) -> Res<()> {
        let catalogue = self.catalogue;
        let path = catalogue.path();
        let mut names = catalogue
            .connection()
            .prepare(&format!(
                "SELECT c.hash, c.size, {VERSION_COLUMNS} FROM content c \
                 JOIN entry e ON e.content_id = c.id \
                 WHERE e.kind = 1 AND e.first_snapshot <= ?1 \
                 ORDER BY c.hash, e.path, e.first_snapshot"
            ))
            .in_catalogue(path)?;
        let mut names = names.query([self.snapshot]).in_catalogue(path)?;
        let mut stored = catalogue
            .connection()
            .prepare(
                "SELECT c.hash, p.part, p.parts, d.number, p.offset, p.length, p.part_hash, \
                 p.disc_path, p.iso_path, p.entry_path, p.name_path \
                 FROM placement p JOIN content c ON c.id = p.content_id \
                 JOIN disc d ON d.id = p.disc_id \
                 WHERE d.plan_id <= ?1 AND d.number < ?2 \
                 ORDER BY c.hash, d.number, p.part",
            )
            .in_catalogue(path)?;
        let export = self.export();
        let stored = stored
            .query_map(
                (self.max_plan, self.below_disc),
                |r| -> rusqlite::Result<(Vec<u8>, JsonPart)> {
                    let disc_path: String = r.get(7)?;
                    let name_path: String = r.get(10)?;
                    let entry_path: Vec<u8> = r.get(9)?;
                    let part_hash: Option<Vec<u8>> = r.get(6)?;
                    Ok((
                        r.get(0)?,
                        JsonPart {
                            part: r.get(1)?,
                            parts: r.get(2)?,
                            disc: r.get(3)?,
                            offset: r.get::<_, i64>(4)? as u64,
                            length: r.get::<_, i64>(5)? as u64,
                            hash: part_hash.map(|h| crate::hex(&h)),
                            iso_path: r.get(8)?,
                            entry_path: export.then(|| json_path(&entry_path)),
                            name: (export && name_path != disc_path).then_some(name_path),
                            path: disc_path,
                        },
                    ))
                },
            )
            .in_catalogue(path)?;
        let mut stored = stored.peekable();
        let mut current: Option<Vec<u8>> = None;
        let mut group: Vec<Version> = Vec::new();
        let mut first_content = true;
        self.raw(",\"files\":{")?;
        while let Some(r) = names.next().in_catalogue(path)? {
            let hash: Vec<u8> = r.get(0).in_catalogue(path)?;
            let v = Version::from_row(r, 2).in_catalogue(path)?;
            if current.as_deref() != Some(&hash[..]) {
                if let Some(prev) = current.take() {
                    self.version_group(VersionKind::File, &mut group)?;
                    self.close_content(&prev, &mut stored)?;
                }
                let size: i64 = r.get(1).in_catalogue(path)?;
                self.raw(if first_content { "" } else { "," })?;
                first_content = false;
                self.val(&crate::hex(&hash))?;
                self.raw(&format!(
                    ":{{\"size\":{size},\"mtime\":{},\"filenames\":{{",
                    v.mtime
                ))?;
                current = Some(hash);
            } else if group.first().is_some_and(|g| g.path != v.path) {
                self.version_group(VersionKind::File, &mut group)?;
                self.raw(",")?;
            }
            group.push(v);
        }
        if let Some(prev) = current {
            self.version_group(VersionKind::File, &mut group)?;
            self.close_content(&prev, &mut stored)?;
        }
        self.raw("}")?;
        Ok(())
    }

    /// Ends a content's `filenames` and writes its discs and parts: the stored ones, then the
    /// new plan's.
    fn close_content<I>(&mut self, hash: &[u8], stored: &mut Peekable<I>) -> Res<()>
    where
        I: Iterator<Item = rusqlite::Result<(Vec<u8>, JsonPart)>>,
    {
        let path = self.catalogue.path();
        let mut parts = Vec::new();
        // Placements of contents outside the scope (a later snapshot's) are passed over.
        while let Some(next) = stored.peek() {
            let below = match next {
                Ok((h, _)) => h.as_slice() <= hash,
                Err(_) => true,
            };
            if !below {
                break;
            }
            let (h, part) = stored.next().expect("peeked").in_catalogue(path)?;
            if h == hash {
                parts.push(part);
            }
        }
        while let Some((h, _)) = self.new_parts.peek() {
            if h.as_slice() > hash {
                break;
            }
            let (h, part) = self.new_parts.next().expect("peeked");
            if h == hash {
                parts.push(part);
            }
        }
        let mut discs: Vec<u32> = parts.iter().map(|p| p.disc).collect();
        discs.dedup();
        self.raw("},\"discs\":")?;
        self.val(&discs)?;
        self.raw(",\"parts\":")?;
        self.val(&parts)?;
        self.raw("}")?;
        Ok(())
    }

    /// Writes the versions of one path, collected in `group`, as `"path": VERSION` or
    /// `"path": [VERSION, …]`, and empties `group`.
    fn version_group(&mut self, kind: VersionKind, group: &mut Vec<Version>) -> Res<()> {
        let Some(first) = group.first() else {
            return Ok(());
        };
        self.val(&json_path(&first.path))?;
        self.raw(":")?;
        let many = group.len() > 1;
        if many {
            self.raw("[")?;
        }
        // The fields in name order, as the shape has always listed them.
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            dev: Option<i64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            gid: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            group: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            inode: Option<i64>,
            mode: i64,
            mtime: i64,
            #[serde(skip_serializing_if = "Option::is_none")]
            size: Option<i64>,
            snapshots: [i64; 2],
            #[serde(skip_serializing_if = "Option::is_none")]
            target: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            uid: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            user: Option<&'a str>,
        }
        let export = self.export();
        let with_size = kind == VersionKind::Unhashed || (export && kind != VersionKind::File);
        for (i, v) in group.iter().enumerate() {
            let out = Out {
                dev: export.then_some(v.dev),
                gid: v.owner.as_ref().map(|o| o.gid),
                group: v.owner.as_ref().and_then(|o| o.group.as_deref()),
                inode: export.then_some(v.inode),
                mode: v.mode,
                mtime: v.mtime,
                size: with_size.then_some(v.size),
                snapshots: [v.first, v.last],
                target: (kind == VersionKind::Symlink)
                    .then(|| json_path(v.target.as_deref().unwrap_or_default())),
                uid: v.owner.as_ref().map(|o| o.uid),
                user: v.owner.as_ref().and_then(|o| o.user.as_deref()),
            };
            self.raw(if i == 0 { "" } else { "," })?;
            self.val(&out)?;
        }
        if many {
            self.raw("]")?;
        }
        group.clear();
        Ok(())
    }

    /// Entries without content (`filter` on `entry e`), grouped by path.
    fn versions(&mut self, kind: VersionKind, filter: &str) -> Res<()> {
        let catalogue = self.catalogue;
        let path = catalogue.path();
        let mut stmt = catalogue
            .connection()
            .prepare(&format!(
                "SELECT {VERSION_COLUMNS} FROM entry e {filter} AND e.first_snapshot <= ?1 \
                 ORDER BY e.path, e.first_snapshot"
            ))
            .in_catalogue(path)?;
        let mut rows = stmt.query([self.snapshot]).in_catalogue(path)?;
        let mut group: Vec<Version> = Vec::new();
        while let Some(r) = rows.next().in_catalogue(path)? {
            let v = Version::from_row(r, 0).in_catalogue(path)?;
            if group.first().is_some_and(|g| g.path != v.path) {
                self.version_group(kind, &mut group)?;
                self.raw(",")?;
            }
            group.push(v);
        }
        self.version_group(kind, &mut group)
    }

    /// `errors`: what went wrong with which path in which scan.
    fn errors(&mut self) -> Res<()> {
        let catalogue = self.catalogue;
        let path = catalogue.path();
        let mut stmt = catalogue
            .connection()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for raw in [&b"a/b"[..], b"caf\xc3\xa9", b"bad\xff", b"bytes:x", b""] {
            assert_eq!(parse_json_path(&json_path(raw)).unwrap(), raw);
        }
        assert_eq!(json_path(b"bad\xff"), "bytes:626164ff");
    }
}
