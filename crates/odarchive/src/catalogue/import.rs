//! Reading catalogue JSON back into a catalogue: the exported catalogue
//! (`odarchive export-json`), the catalogue file every disc carries (so a set of discs can be
//! verified and restored when the local catalogue is lost), and the catalogues of the original
//! odarchive 0.1.
//!
//! The document is read as a stream: each content, path and placement is inserted as it is
//! parsed, inside one transaction, so that memory does not grow with the catalogue and a
//! failure leaves the catalogue as it was. Keys may come in any order; references between them
//! (disc numbers, snapshot ids) are resolved once the whole document is read.
//!
//! ## odarchive 0.1 catalogues
//!
//! `{"version": 2, "files": {"<SHA-512 hex>": {"filenames": {"/DATA/a/b.jpg": null, …},
//! "size": N, "mtime": "2019-05-04T13:02:11", "disc_num": 0}}}`. Paths are the paths on the
//! disc (`/DATA/` and the drive path); the file is stored on disc `disc_num` (counted from 0)
//! under its first name; `mtime` is the local time of the machine that made the catalogue,
//! without a zone ([`ImportOptions::timezone`] says which). They become one snapshot, one
//! disc per `disc_num` (number `disc_num + 1`), SHA-512 contents, mode 0644.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::marker::PhantomData;
use std::path::Path;

use rusqlite::{Transaction, params};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::json::{JSON_VERSION, JsonDisc, parse_json_path};
use super::{Catalogue, EntryKind, InCatalogue};
use crate::error::{Error, Result};
use crate::hash::{ContentHash, HashAlgorithm};

/// How to read a catalogue JSON.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The time zone of odarchive 0.1's zone-less modification times: an IANA name
    /// (`Europe/London`) or a fixed offset (`+01:00`). `None`: this machine's zone.
    pub timezone: Option<String>,
    /// The JSON comes from a disc: discs it lists without a state are taken as written.
    pub from_disc: bool,
}

/// What an import brought in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// The JSON shape: `odarchive 0.1` or the version number of ours.
    pub format: String,
    /// Its hash algorithm.
    pub hash_algorithm: String,
    /// Snapshots.
    pub snapshots: u64,
    /// Unique contents.
    pub contents: u64,
    /// Entry rows (versions of paths).
    pub entries: u64,
    /// Discs.
    pub discs: u64,
    /// Files or parts on discs.
    pub placements: u64,
}

impl Catalogue {
    /// Fills this catalogue, which must hold no snapshot yet, from catalogue JSON read from
    /// `json` (`what` names it in errors). One transaction: all or nothing.
    pub fn import_json(
        &mut self,
        json: impl Read,
        what: &Path,
        options: &ImportOptions,
    ) -> Result<ImportSummary> {
        let corrupt = |reason: String| Error::Corrupt {
            path: what.to_path_buf(),
            reason,
        };
        let has_snapshots: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM snapshot)", [], |r| r.get(0))
            .in_catalogue(&self.path)?;
        if has_snapshots {
            return Err(Error::NotEmpty {
                path: self.path.clone(),
                input: what.to_path_buf(),
            });
        }
        let timezone = match &options.timezone {
            None => jiff::tz::TimeZone::system(),
            Some(name) => parse_timezone(name).ok_or_else(|| Error::BadTimezone(name.clone()))?,
        };
        let path = self.path.clone();
        let tx = self.conn.transaction().in_catalogue(&path)?;
        // References (disc numbers, the header's snapshot) are resolved after the whole
        // document is read; foreign keys are checked at the commit.
        tx.pragma_update(None, "defer_foreign_keys", true)
            .in_catalogue(&path)?;
        let mut imp = Importer {
            tx: &tx,
            catalogue: &path,
            options,
            timezone,
            head: Head::default(),
            legacy_discs: HashMap::new(),
            hash_len: None,
            legacy: false,
            failed: None,
            counts: Counts::default(),
        };
        let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(json));
        let parsed = DocSeed { imp: &mut imp }
            .deserialize(&mut de)
            .and_then(|()| de.end());
        if let Some(e) = imp.failed.take() {
            return Err(e);
        }
        parsed.map_err(|e| corrupt(format!("catalogue JSON: {e}")))?;
        let summary = imp.finish().map_err(|e| match e {
            Fail::Db(e) => e,
            Fail::Bad(reason) => corrupt(reason),
        })?;
        tx.commit().in_catalogue(&path)?;
        Ok(summary)
    }

    /// Fills this empty catalogue from the catalogue file found on a disc.
    pub fn import_disc_json(&mut self, json: &[u8], what: &str) -> Result<ImportSummary> {
        let options = ImportOptions {
            timezone: None,
            from_disc: true,
        };
        self.import_json(json, Path::new(what), &options)
    }
}

/// A time zone by IANA name or as a fixed offset `±HH:MM`.
fn parse_timezone(name: &str) -> Option<jiff::tz::TimeZone> {
    if let Ok(tz) = jiff::tz::TimeZone::get(name) {
        return Some(tz);
    }
    let (sign, rest) = match name.as_bytes().first()? {
        b'+' => (1, &name[1..]),
        b'-' => (-1, &name[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let seconds = sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60);
    let offset = jiff::tz::Offset::from_seconds(seconds).ok()?;
    Some(jiff::tz::TimeZone::fixed(offset))
}

/// Why an import stopped: the database, or the document.
enum Fail {
    Db(Error),
    Bad(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Db(e)
    }
}

type Res<T> = std::result::Result<T, Fail>;

/// Header fields, which may come anywhere in the document.
#[derive(Default)]
struct Head {
    version: Option<u32>,
    hash_algorithm: Option<String>,
    set_id: Option<String>,
    created: Option<i64>,
    tool_version: Option<String>,
    snapshot: Option<i64>,
}

#[derive(Default)]
struct Counts {
    contents: u64,
    entries: u64,
    placements: u64,
}

struct Importer<'a> {
    tx: &'a Transaction<'a>,
    catalogue: &'a Path,
    options: &'a ImportOptions,
    timezone: jiff::tz::TimeZone,
    head: Head,
    /// odarchive 0.1: `disc_num` → disc row id.
    legacy_discs: HashMap<i64, i64>,
    /// Length of the content hashes seen so far.
    hash_len: Option<usize>,
    /// The document is an odarchive 0.1 catalogue.
    legacy: bool,
    /// The error that stopped the parser (serde errors carry text only).
    failed: Option<Error>,
    counts: Counts,
}

/// A snapshot id that is not known until the whole document is read: the header's snapshot.
const HEAD_SNAPSHOT: i64 = -1;
/// A plan id to fill in at the end: a placeholder plan for discs that name none.
const NO_PLAN: i64 = -1;

#[derive(Deserialize)]
struct SnapIn {
    id: i64,
    drive_path: String,
    started: i64,
    finished: Option<i64>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    files: Option<i64>,
    #[serde(default)]
    directories: Option<i64>,
    #[serde(default)]
    symlinks: Option<i64>,
    #[serde(default)]
    total_bytes: Option<i64>,
    #[serde(default)]
    unique_contents: Option<i64>,
    #[serde(default)]
    unique_bytes: Option<i64>,
    #[serde(default)]
    errors: Option<i64>,
}

#[derive(Deserialize)]
struct PlanIn {
    id: i64,
    created: i64,
    snapshot: i64,
    media: String,
    capacity: u64,
    margin: u64,
    first_paths: Vec<String>,
    folders_split: u64,
    catalogue_size: u64,
    catalogue_gzip: bool,
}

#[derive(Deserialize)]
struct ErrorIn {
    snapshot: i64,
    path: String,
    cause: String,
    at: i64,
}

/// A modification time: ns since the epoch (ours) or a zone-less local date-time (0.1).
#[derive(Deserialize)]
#[serde(untagged)]
enum Mtime {
    Ns(i64),
    Local(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
struct VersionIn {
    #[serde(default)]
    mtime: Option<Mtime>,
    #[serde(default)]
    mode: Option<u32>,
    #[serde(default)]
    snapshots: Option<[i64; 2]>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    dev: Option<i64>,
    #[serde(default)]
    inode: Option<i64>,
    #[serde(default)]
    uid: Option<u32>,
    #[serde(default)]
    gid: Option<u32>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

#[derive(Deserialize)]
struct PartIn {
    part: u32,
    #[serde(default)]
    parts: Option<u32>,
    disc: u32,
    offset: u64,
    length: u64,
    /// Version 4: the part's hash (parts only).
    #[serde(default)]
    hash: Option<String>,
    /// Version 3: the stored bytes' SHA-256 (also for whole contents).
    #[serde(default)]
    sha256: Option<String>,
    path: String,
    iso_path: String,
    #[serde(default)]
    entry_path: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct FileIn {
    size: u64,
    #[serde(default)]
    mtime: Option<Mtime>,
    filenames: Ordered<Option<OneOrMany<VersionIn>>>,
    #[serde(default)]
    disc_num: Option<i64>,
    #[serde(default)]
    parts: Vec<PartIn>,
}

/// A JSON object read as its members in document order (odarchive 0.1 stored a file under
/// the first of its names).
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// The whole document, read key by key.
struct DocSeed<'i, 'a> {
    imp: &'i mut Importer<'a>,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a catalogue object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let imp = self.imp;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => {
                    let v: u32 = map.next_value()?;
                    if v > JSON_VERSION {
                        return Err(de::Error::custom(format!(
                            "catalogue JSON version {v} is newer than this odarchive reads \
                             ({JSON_VERSION}); use a newer odarchive"
                        )));
                    }
                    imp.head.version = Some(v);
                }
                "hash_algorithm" => imp.head.hash_algorithm = Some(map.next_value()?),
                "set_id" => imp.head.set_id = Some(map.next_value()?),
                "created" => imp.head.created = Some(map.next_value()?),
                "tool_version" => imp.head.tool_version = Some(map.next_value()?),
                "snapshot" => imp.head.snapshot = Some(map.next_value()?),
                "snapshots" => {
                    let v: Vec<SnapIn> = map.next_value()?;
                    imp.guard(|imp| imp.snapshots(v))?;
                }
                "plans" => {
                    let v: Vec<PlanIn> = map.next_value()?;
                    imp.guard(|imp| imp.plans(v))?;
                }
                "discs" => {
                    let v: Vec<JsonDisc> = map.next_value()?;
                    imp.guard(|imp| imp.discs(v))?;
                }
                "errors" => {
                    let v: Vec<ErrorIn> = map.next_value()?;
                    imp.guard(|imp| imp.errors(v))?;
                }
                "files" => map.next_value_seed(Stream {
                    imp: &mut *imp,
                    value: PhantomData,
                    each: |imp: &mut Importer<'_>, k: String, v: FileIn| imp.file(&k, v),
                })?,
                "unhashed" => map.next_value_seed(Stream {
                    imp: &mut *imp,
                    value: PhantomData,
                    each: |imp: &mut Importer<'_>, k: String, v: OneOrMany<VersionIn>| {
                        imp.versions(EntryKind::File, &k, v.into_vec())
                    },
                })?,
                "directories" => map.next_value_seed(Stream {
                    imp: &mut *imp,
                    value: PhantomData,
                    each: |imp: &mut Importer<'_>, k: String, v: OneOrMany<VersionIn>| {
                        imp.versions(EntryKind::Directory, &k, v.into_vec())
                    },
                })?,
                "symlinks" => map.next_value_seed(Stream {
                    imp: &mut *imp,
                    value: PhantomData,
                    each: |imp: &mut Importer<'_>, k: String, v: OneOrMany<VersionIn>| {
                        imp.versions(EntryKind::Symlink, &k, v.into_vec())
                    },
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// An object whose members are handled one at a time as they are parsed.
struct Stream<'i, 'a, F, V> {
    imp: &'i mut Importer<'a>,
    each: F,
    value: PhantomData<fn() -> V>,
}

impl<'de, 'a, F, V> DeserializeSeed<'de> for Stream<'_, 'a, F, V>
where
    F: FnMut(&mut Importer<'a>, String, V) -> Res<()>,
    V: Deserialize<'de>,
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'a, F, V> Visitor<'de> for Stream<'_, 'a, F, V>
where
    F: FnMut(&mut Importer<'a>, String, V) -> Res<()>,
    V: Deserialize<'de>,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let value: V = map.next_value()?;
            let each = &mut self.each;
            self.imp.guard(|imp| each(imp, key, value))?;
        }
        Ok(())
    }
}

impl<'a> Importer<'a> {
    /// Runs `f`; a failure is kept (with its type) and the parser stopped.
    fn guard<E: de::Error>(&mut self, f: impl FnOnce(&mut Self) -> Res<()>) -> Result<(), E> {
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

    fn path(&self, text: &str) -> Res<Vec<u8>> {
        parse_json_path(text).ok_or_else(|| Fail::Bad(format!("bad path {text:?}")))
    }

    fn snapshots(&mut self, snaps: Vec<SnapIn>) -> Res<()> {
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
                     directories, symlinks, total_bytes, unique_contents, unique_bytes, errors) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
                        s.errors
                    ],
                )
                .in_catalogue(self.catalogue)?;
        }
        Ok(())
    }

    fn plans(&mut self, plans: Vec<PlanIn>) -> Res<()> {
        for p in plans {
            let first = serde_json::to_string(&p.first_paths)
                .map_err(|e| Fail::Bad(format!("plan {}: {e}", p.id)))?;
            self.tx
                .execute(
                    "INSERT INTO plan (id, created_ns, snapshot, media, capacity, margin, \
                     first_paths, folders_split, catalogue_size, catalogue_gzip) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
                        p.catalogue_gzip
                    ],
                )
                .in_catalogue(self.catalogue)?;
        }
        Ok(())
    }

    fn discs(&mut self, discs: Vec<JsonDisc>) -> Res<()> {
        for d in discs {
            let default_state = if self.options.from_disc {
                "written"
            } else {
                "planned"
            };
            let r = d.record.as_ref();
            let state = r.map_or(default_state, |r| r.state.as_str());
            if !["planned", "written", "verified"].contains(&state) {
                return Err(Fail::Bad(format!(
                    "disc {}: unknown state {state:?}",
                    d.number
                )));
            }
            let image_sha = match r.and_then(|r| r.image_sha256.as_deref()) {
                None => None,
                Some(h) => Some(
                    crate::unhex(h)
                        .filter(|h| h.len() == 32)
                        .ok_or_else(|| Fail::Bad(format!("disc {}: bad image hash", d.number)))?,
                ),
            };
            self.tx
                .execute(
                    "INSERT INTO disc (number, plan_id, snapshot, capacity, margin, media, label, \
                     state, image_size, files, bytes, image_name, image_sha256, written_ns, \
                     verified_ns, set_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                    params![
                        d.number,
                        r.map_or(NO_PLAN, |r| r.plan),
                        r.map_or(HEAD_SNAPSHOT, |r| r.snapshot),
                        r.map_or(0, |r| r.capacity as i64),
                        r.map_or(0, |r| r.margin as i64),
                        r.map_or("", |r| r.media.as_str()),
                        d.label,
                        state,
                        d.image_size as i64,
                        d.files as i64,
                        d.bytes as i64,
                        r.and_then(|r| r.image_name.clone()),
                        image_sha,
                        r.and_then(|r| r.written),
                        r.and_then(|r| r.verified),
                        d.set_id
                    ],
                )
                .in_catalogue(self.catalogue)?;
        }
        Ok(())
    }

    fn errors(&mut self, errors: Vec<ErrorIn>) -> Res<()> {
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

    fn mtime(&self, m: &Mtime) -> Res<i64> {
        match m {
            Mtime::Ns(ns) => Ok(*ns),
            Mtime::Local(text) => {
                let civil: jiff::civil::DateTime = text
                    .parse()
                    .map_err(|e| Fail::Bad(format!("bad modification time {text:?}: {e}")))?;
                let zoned = civil
                    .to_zoned(self.timezone.clone())
                    .map_err(|e| Fail::Bad(format!("modification time {text:?}: {e}")))?;
                i64::try_from(zoned.timestamp().as_nanosecond())
                    .map_err(|_| Fail::Bad(format!("modification time {text:?} out of range")))
            }
        }
    }

    fn insert_entry(
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

    fn versions(&mut self, kind: EntryKind, name: &str, versions: Vec<VersionIn>) -> Res<()> {
        let path = self.path(name)?;
        for v in &versions {
            self.insert_entry(&path, kind, None, 0, v, 0)?;
        }
        Ok(())
    }

    fn file(&mut self, key: &str, file: FileIn) -> Res<()> {
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
        let legacy = self.head.version.is_some_and(|v| v <= 2)
            || file.disc_num.is_some()
            || matches!(file.mtime, Some(Mtime::Local(_)))
            || file.filenames.0.iter().any(|(_, v)| v.is_none());
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
                let on_disc = name.trim_start_matches('/');
                let rel = on_disc
                    .strip_prefix("DATA/")
                    .or_else(|| on_disc.strip_prefix("Data/"))
                    .unwrap_or(on_disc);
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
        if let Some(n) = file.disc_num {
            // odarchive 0.1: the whole file, on one disc, under its first name.
            let disc = self.legacy_disc(n)?;
            self.placement(
                content,
                disc,
                0,
                1,
                0,
                file.size,
                None,
                &first_path,
                &stored_as,
                &stored_as,
                "",
            )?;
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
    fn placement(
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

    /// The disc row of odarchive 0.1's disc `n` (counted from 0), made on first use.
    fn legacy_disc(&mut self, n: i64) -> Res<i64> {
        if let Some(&id) = self.legacy_discs.get(&n) {
            return Ok(id);
        }
        let number = n
            .checked_add(1)
            .filter(|&k| (1..=i64::from(u32::MAX)).contains(&k))
            .ok_or_else(|| Fail::Bad(format!("bad disc_num {n}")))?;
        self.tx
            .execute(
                "INSERT INTO disc (number, plan_id, snapshot, capacity, margin, media, label, \
                 state, image_size, files, bytes) \
                 VALUES (?1, ?2, ?3, 0, 0, 'odarchive 0.1', ?4, 'written', 0, 0, 0)",
                params![
                    number,
                    NO_PLAN,
                    HEAD_SNAPSHOT,
                    format!("odarchive 0.1 disc_num {n}")
                ],
            )
            .in_catalogue(self.catalogue)?;
        let id = self.tx.last_insert_rowid();
        self.legacy_discs.insert(n, id);
        Ok(id)
    }

    /// Resolves the references left open while streaming and checks the result.
    fn finish(mut self) -> Res<ImportSummary> {
        let tx = self.tx;
        let cat = self.catalogue;
        let exec = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Res<usize> {
            Ok(tx.execute(sql, p).in_catalogue(cat)?)
        };
        let count =
            |sql: &str| -> Res<i64> { Ok(tx.query_row(sql, [], |r| r.get(0)).in_catalogue(cat)?) };
        let now = crate::time::now_ns();
        let created = self.head.created.unwrap_or(now);
        // The header's snapshot: the one named, else the newest listed, else a new one.
        let newest = count("SELECT coalesce(max(id), 0) FROM snapshot")?;
        let head = self.head.snapshot.unwrap_or(newest.max(1));
        let exists = count(&format!("SELECT count(*) FROM snapshot WHERE id = {head}"))?;
        let uses_head = count(&format!(
            "SELECT (SELECT count(*) FROM entry WHERE first_snapshot = {HEAD_SNAPSHOT}) + \
             (SELECT count(*) FROM disc WHERE snapshot = {HEAD_SNAPSHOT})"
        ))?;
        if exists == 0 && uses_head > 0 {
            let drive: &[u8] = b"";
            let started = if self.legacy { now } else { created };
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
                "odarchive 0.1"
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalogue file as the first discs of this odarchive carried it (version 3: one
    /// snapshot, no version ranges, a `sha256` on every part).
    #[test]
    fn version_3_disc_catalogues_still_import() {
        let h = |b: u8| crate::hex(&[b; 32]);
        let doc = serde_json::json!({
            "version": 3, "generator": "odarchive 0.1.0", "hash_algorithm": "sha256",
            "set_id": "0123456789abcdef0123456789abcdef", "created": 5, "snapshot": 2,
            "snapshots": [{"id": 2, "drive_path": "/drive", "started": 3, "finished": 4}],
            "discs": [{"number": 1, "label": "ODA_01234567_001", "image_size": 4096,
                       "files": 2, "bytes": 30}],
            "files": {
                h(1): {"size": 10, "mtime": 7, "filenames": {"a.txt": {"mtime": 7, "mode": 420},
                                                             "b.txt": {"mtime": 8, "mode": 384}},
                       "discs": [1], "parts": [{"part": 0, "disc": 1, "offset": 0, "length": 10,
                       "sha256": h(1), "path": "Data/a.txt", "iso_path": "DATA/A.TXT;1"}]},
                h(2): {"size": 20, "mtime": 9, "filenames": {"big": {"mtime": 9, "mode": 420}},
                       "discs": [1], "parts": [{"part": 1, "disc": 1, "offset": 0, "length": 20,
                       "sha256": h(3), "path": "Data/big.part001", "iso_path": "DATA/BIG.PAR;1"}]}
            },
            "directories": {"d": {"mtime": 1, "mode": 493}},
            "symlinks": {"l": {"target": "a.txt", "mtime": 2, "mode": 511}}
        });
        let dir = tempfile::tempdir().unwrap();
        let mut cat = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let bytes = serde_json::to_vec(&doc).unwrap();
        let summary = cat.import_disc_json(&bytes, "disc").unwrap();
        assert_eq!(summary.format, "version 3");
        assert_eq!(
            (summary.contents, summary.entries, summary.discs),
            (2, 5, 1)
        );
        let snaps = cat.snapshots().unwrap();
        assert_eq!(snaps.iter().map(|s| s.id).collect::<Vec<_>>(), [2]);
        let mut entries = Vec::new();
        cat.for_each_entry(2, |e| {
            entries.push((e.path, e.mode, e.link_target));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            entries.len(),
            5,
            "every entry is in snapshot 2: {entries:?}"
        );
        assert!(entries.contains(&(b"l".to_vec(), 511, Some(b"a.txt".to_vec()))));
        let placements = cat.placements_on(1).unwrap();
        assert_eq!(placements.len(), 2);
        let part = placements.iter().find(|p| p.part == 1).unwrap();
        assert_eq!(part.part_hash, Some(ContentHash::from([3u8; 32])));
        let whole = placements.iter().find(|p| p.part == 0).unwrap();
        assert_eq!(
            (whole.part_hash, whole.entry_path.as_slice()),
            (None, &b"a.txt"[..])
        );
        assert_eq!(cat.discs().unwrap()[0].state.as_str(), "written");
        assert_eq!(
            cat.archive().unwrap().set_id,
            "0123456789abcdef0123456789abcdef"
        );
    }
}
