//! The catalogue as JSON: the shape of the original odarchive's catalogues, extended so that
//! it holds the whole catalogue — every snapshot, plan, disc and placement.
//!
//! ```text
//! {"version": 4, "generator": "odarchive 0.2.0", "hash_algorithm": "sha256",
//!  "set_id": "…", "created": NS, "tool_version": "…", "snapshot": ID,
//!  "snapshots": [{"id", "drive_path", "started", "finished", "state", "files", "directories",
//!                 "symlinks", "total_bytes", "unique_contents", "unique_bytes", "errors"}],
//!  "plans": [{"id", "created", "snapshot", "media", "capacity", "margin", "first_paths",
//!             "folders_split", "catalogue_size", "catalogue_gzip", "parity_percent"}],                  (export)
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

mod files;
mod writer;

use std::io::Write;

use self::writer::{Fail, JsonWriter};
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
    /// Only the contents whose hash starts with a byte below this one (`None`: all): a
    /// sample of about `n / 256` of every 256 contents, for estimating the size of the whole
    /// (hashes are uniform). The caller filters `new_parts` alike.
    pub sample_below: Option<u8>,
}

impl std::fmt::Debug for JsonScope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonScope")
            .field("form", &self.form)
            .field("snapshot", &self.snapshot)
            .field("max_plan", &self.max_plan)
            .field("below_disc", &self.below_disc)
            .field("sample_below", &self.sample_below)
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
            sample_below: None,
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
        sample_below,
    } = scope;
    let mut w = JsonWriter {
        catalogue,
        form,
        snapshot,
        max_plan,
        below_disc,
        new_discs,
        new_parts: new_parts.peekable(),
        sample_below,
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
